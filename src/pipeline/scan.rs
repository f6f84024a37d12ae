//! Linear pre-scans of untrusted text, run before anything recursive or expensive touches it.
//!
//! The GraphQL parser and everything after it recurse on nesting, and their work grows with
//! the number of tokens, so a small hostile document could exhaust the stack or a core. These
//! scans look at each byte once, allocate nothing, and refuse a document or JSON body that is
//! nested too deep, has too many tokens or a name that is too long, before it is parsed.

use crate::error::code;

use super::limits::Refusal;

/// The deepest JSON a request body, a query-string parameter or a WebSocket message may have
/// to be read at all (the JSON parser's own bound is 128). Variables are held to the lower
/// `--max-nesting` once read, per operation.
pub const MAX_JSON_DEPTH: usize = 120;

/// What the document scan enforces.
#[derive(Clone, Copy, Debug)]
pub struct ScanLimits {
    pub max_document_bytes: usize,
    pub max_tokens: usize,
    pub max_nesting: usize,
    pub max_name_length: usize,
}

/// Tracks lines and columns for the refusal's location.
struct Cursor<'a> {
    text: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
}

impl Cursor<'_> {
    fn at(&self, i: usize) -> u8 {
        self.text.get(i).copied().unwrap_or(0)
    }

    fn position(&self, i: usize) -> (usize, usize) {
        let col = String::from_utf8_lossy(&self.text[self.line_start..i.min(self.text.len())])
            .chars()
            .count();
        (self.line, col + 1)
    }

    fn newline(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at + 1;
    }

    /// Skips a string that starts at `self.i` (on its opening quote).
    fn skip_string(&mut self) {
        let t = self.text;
        if self.at(self.i + 1) == b'"' && self.at(self.i + 2) == b'"' {
            // Block string: ends at the first `"""` not escaped as `\"""`.
            let mut j = self.i + 3;
            while j < t.len() {
                match t[j] {
                    b'\\' if t[j + 1..].starts_with(b"\"\"\"") => j += 4,
                    b'"' if t[j..].starts_with(b"\"\"\"") => {
                        self.i = j + 3;
                        return;
                    }
                    b'\n' => {
                        self.newline(j);
                        j += 1;
                    }
                    _ => j += 1,
                }
            }
            self.i = t.len();
            return;
        }
        let mut j = self.i + 1;
        while j < t.len() {
            match t[j] {
                b'\\' => j += 2,
                b'"' => {
                    self.i = j + 1;
                    return;
                }
                // An unterminated string; the parser reports it.
                b'\n' | b'\r' => {
                    self.i = j;
                    return;
                }
                _ => j += 1,
            }
        }
        self.i = t.len();
    }
}

pub fn limit_refusal(
    limit: &'static str,
    max: usize,
    message: String,
    at: Option<(usize, usize)>,
) -> Refusal {
    Refusal {
        code: code::LIMIT_EXCEEDED,
        message,
        line_col: at,
        limit: Some((limit, max)),
    }
}

/// Refuses a GraphQL document with more tokens, deeper bracket nesting (`{`, `[`, `(`) or
/// longer names than `limits` allow. Strings, block strings and comments are skipped, so
/// brackets inside them do not count.
pub fn document(text: &str, limits: &ScanLimits) -> Result<(), Refusal> {
    // The parser's work per byte is far above this scan's even for comments and strings, so a
    // large document costs CPU however few tokens it has.
    if text.len() > limits.max_document_bytes {
        return Err(limit_refusal(
            "max-document-bytes",
            limits.max_document_bytes,
            format!(
                "the document is {} bytes long; at most {} are allowed (send long values as variables)",
                text.len(),
                limits.max_document_bytes
            ),
            None,
        ));
    }
    let mut c = Cursor {
        text: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
    };
    let (mut tokens, mut depth) = (0usize, 0usize);
    while c.i < c.text.len() {
        let start = c.i;
        if !c.token(limits, &mut depth)? {
            continue;
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(limit_refusal(
                "max-tokens",
                limits.max_tokens,
                format!("the document has more than {} tokens", limits.max_tokens),
                Some(c.position(start)),
            ));
        }
    }
    Ok(())
}

impl Cursor<'_> {
    /// Moves past one token, or past white space or a comment (then `false`), refusing
    /// brackets nested deeper than the limit and names longer than it.
    fn token(&mut self, limits: &ScanLimits, depth: &mut usize) -> Result<bool, Refusal> {
        let t = self.text;
        let start = self.i;
        match t[self.i] {
            b'\n' => {
                self.newline(self.i);
                self.i += 1;
                return Ok(false);
            }
            b' ' | b'\t' | b'\r' | b',' => {
                self.i += 1;
                return Ok(false);
            }
            b'#' => {
                while self.i < t.len() && t[self.i] != b'\n' && t[self.i] != b'\r' {
                    self.i += 1;
                }
                return Ok(false);
            }
            b'"' => self.skip_string(),
            b'{' | b'[' | b'(' => {
                *depth += 1;
                if *depth > limits.max_nesting {
                    return Err(limit_refusal(
                        "max-nesting",
                        limits.max_nesting,
                        format!(
                            "the document nests brackets deeper than {} levels",
                            limits.max_nesting
                        ),
                        Some(self.position(start)),
                    ));
                }
                self.i += 1;
            }
            b'}' | b']' | b')' => {
                *depth = depth.saturating_sub(1);
                self.i += 1;
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => self.name(limits.max_name_length)?,
            b'-' | b'0'..=b'9' => {
                self.i += 1;
                while self.i < t.len()
                    && matches!(t[self.i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    self.i += 1;
                }
            }
            b'.' if t[self.i..].starts_with(b"...") => self.i += 3,
            // Punctuators, and anything the parser will refuse: one token each. A multi-byte
            // character is skipped whole.
            _ => {
                self.i += 1;
                while self.i < t.len() && (t[self.i] & 0xC0) == 0x80 {
                    self.i += 1;
                }
            }
        }
        Ok(true)
    }

    /// Moves past a name, refusing one longer than `max`.
    fn name(&mut self, max: usize) -> Result<(), Refusal> {
        let (t, start) = (self.text, self.i);
        while self.i < t.len() && (t[self.i] == b'_' || t[self.i].is_ascii_alphanumeric()) {
            self.i += 1;
        }
        if self.i - start > max {
            return Err(limit_refusal(
                "max-name-length",
                max,
                format!(
                    "a name in the document is {} characters long; at most {max} are allowed",
                    self.i - start,
                ),
                Some(self.position(start)),
            ));
        }
        Ok(())
    }
}

/// The deepest nesting of arrays and objects in JSON text, without parsing it. Stops counting
/// (and returns `max + 1`) as soon as `max` is passed.
pub fn json_depth(text: &[u8], max: usize) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > max {
                    return deepest;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

impl From<&crate::config::LimitArgs> for ScanLimits {
    fn from(l: &crate::config::LimitArgs) -> Self {
        ScanLimits {
            max_document_bytes: l.max_document_bytes,
            max_tokens: l.max_tokens,
            max_nesting: l.max_nesting,
            max_name_length: l.max_name_length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ScanLimits = ScanLimits {
        max_document_bytes: 200,
        max_tokens: 40,
        max_nesting: 4,
        max_name_length: 10,
    };

    fn refused(doc: &str) -> Option<&'static str> {
        document(doc, &L).err().map(|r| r.limit.unwrap().0)
    }

    #[test]
    fn refuses_a_long_document_however_few_tokens_it_has() {
        assert_eq!(refused(&format!("{{ a }} #{}", "x".repeat(150))), None);
        assert_eq!(
            refused(&format!("{{ a }} #{}", "x".repeat(250))),
            Some("max-document-bytes")
        );
        assert_eq!(
            refused(&format!("{{ a(s: \"{}\") }}", "x".repeat(250))),
            Some("max-document-bytes")
        );
    }

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        assert_eq!(refused("{ a { b { c { d } } } }"), None);
        assert_eq!(
            refused("{ a { b { c { d { e } } } } }"),
            Some("max-nesting")
        );
        assert_eq!(refused("{ a(x: [[[[1]]]]) }"), Some("max-nesting"));
        assert_eq!(refused("{ a(x: {b: {c: {d: 1}}}) }"), Some("max-nesting"));
        assert_eq!(refused("{ a(x: \"{{{{{{[[[[\") }"), None);
        assert_eq!(refused("{ a(x: \"\"\"{{{{{ \\\"\"\" [[[[[\"\"\") }"), None);
        assert_eq!(refused("# {{{{{{{{\n{ a }"), None);
        assert_eq!(refused("{ a(x: \"\\\"{{{{{\") }"), None);
    }

    #[test]
    fn counts_tokens_and_names() {
        let many = format!("{{ {} }}", "a ".repeat(39));
        assert_eq!(refused(&many), Some("max-tokens"));
        assert_eq!(refused(&format!("{{ {} }}", "a ".repeat(37))), None);
        assert_eq!(refused("{ abcdefghijk }"), Some("max-name-length"));
        assert_eq!(refused("{ abcdefghij }"), None);
        assert_eq!(refused("{ a(x: -1.5e+3, y: \"ü\") ...F }"), None);
    }

    #[test]
    fn reports_where() {
        let r = document("{\n  a { b { c { d {\n e } } } } }", &L).unwrap_err();
        assert_eq!(r.line_col, Some((2, 17)));
    }

    #[test]
    fn json_depth_skips_strings() {
        assert_eq!(json_depth(br#"{"a": [1, {"b": "[[[{{{"}]}"#, 10), 3);
        assert_eq!(json_depth(br#"{"a\"[[[": 1}"#, 10), 1);
        assert_eq!(json_depth(&b"[".repeat(1000), 5), 6);
    }
}
