//! Small input checks shared by the domain rules.

use crate::error::{AppError, AppResult};

/// Trims `value` and checks it is non-empty and at most `max` characters.
pub fn required(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::bad_field(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if v.chars().count() > max {
        return Err(AppError::bad_field(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// Like [`required`] for an optional value; blank becomes `None`.
pub fn optional(field: &'static str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

/// Trims each label, drops duplicates and blanks, and bounds the list.
pub fn labels(
    field: &'static str,
    values: &[String],
    max_items: usize,
    max_len: usize,
) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim();
        if v.is_empty() || out.iter().any(|o| o.eq_ignore_ascii_case(v)) {
            continue;
        }
        out.push(required(field, v, max_len)?);
    }
    if out.len() > max_items {
        return Err(AppError::bad_field(
            field,
            format!("{field} may hold at most {max_items} entries"),
        ));
    }
    Ok(out)
}

/// A request's fingerprint for idempotency keys: FNV-1a (64 bits) of `text`, in hex. Stored
/// with what the request made, so it must stay the same across versions.
pub fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}
