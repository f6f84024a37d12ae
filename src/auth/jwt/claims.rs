//! The claims cosell reads from a token, read one by one so that a malformed claim is named in
//! the error, with the spellings identity providers use: `aud` and `scope` as one string or a
//! list (RFC 7519 allows a list for `aud`; Okta and Entra ID send `scp`), NumericDates with a
//! fraction. A claim that appears twice in the payload is refused: two readers of the token
//! could take different values from it.

use std::collections::HashSet;

use base64::Engine;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::principal::PrincipalKind;

/// A claim sent either as one string or as a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values; a single string is split on whitespace when `split` is set (scopes).
    pub fn values(&self, split: bool) -> Vec<&str> {
        match self {
            OneOrMany::One(s) if split => s.split_whitespace().collect(),
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

impl From<String> for OneOrMany {
    fn from(s: String) -> Self {
        OneOrMany::One(s)
    }
}

impl From<&str> for OneOrMany {
    fn from(s: &str) -> Self {
        OneOrMany::One(s.to_string())
    }
}

/// The claims cosell reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// `vendor`, `partner` or `app`.
    pub kind: PrincipalKind,
    /// Vendor role (ADMIN, CHANNEL_MANAGER, SALES) or partner role (PARTNER_ADMIN, PARTNER_REP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The partner's ID (as the API shows it) for partner principals and apps acting for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// App scopes: space-separated, or a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<OneOrMany>,
    /// App scopes as Okta and Entra ID name them; read together with `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<OneOrMany>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    pub iss: String,
    /// One audience or several.
    pub aud: OneOrMany,
}

impl Claims {
    /// Every app scope the token carries, from `scope` and `scp`.
    pub fn scopes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in [&self.scope, &self.scp].into_iter().flatten() {
            out.extend(s.values(true));
        }
        out
    }

    /// Reads the claims of a verified payload, naming the first claim that is missing or of
    /// the wrong type.
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, String> {
        let kind = match map.get("kind") {
            None | Some(Value::Null) => return Err(missing("kind")),
            Some(v) => serde_json::from_value::<PrincipalKind>(v.clone()).map_err(|_| {
                "the token's `kind` claim must be \"vendor\", \"partner\" or \"app\"".to_string()
            })?,
        };
        Ok(Self {
            sub: text(map, "sub")?.ok_or_else(|| missing("sub"))?,
            kind,
            role: text(map, "role")?,
            partner_id: match map.get("partner_id") {
                // A numeric row id is a partner reference too.
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => text(map, "partner_id")?,
            },
            scope: texts(map, "scope")?,
            scp: texts(map, "scp")?,
            exp: seconds(map, "exp")?.ok_or_else(|| missing("exp"))?,
            nbf: seconds(map, "nbf")?,
            iat: seconds(map, "iat")?,
            iss: text(map, "iss")?.ok_or_else(|| missing("iss"))?,
            aud: texts(map, "aud")?.ok_or_else(|| missing("aud"))?,
        })
    }
}

fn missing(name: &str) -> String {
    format!("the token lacks the required `{name}` claim")
}

fn text(map: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("the token's `{name}` claim must be a string")),
    }
}

fn texts(map: &Map<String, Value>, name: &str) -> Result<Option<OneOrMany>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(OneOrMany::One(s.clone()))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|v| Some(OneOrMany::Many(v)))
            .ok_or_else(|| list_error(name)),
        Some(_) => Err(list_error(name)),
    }
}

fn list_error(name: &str) -> String {
    format!("the token's `{name}` claim must be a string or a list of strings")
}

/// A NumericDate: seconds since 1970-01-01T00:00:00Z, a fraction allowed (RFC 7519, 2).
fn seconds(map: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| seconds_error(name)),
        Some(_) => Err(seconds_error(name)),
    }
}

/// The error for a time claim that is not a NumericDate.
pub fn seconds_error(name: &str) -> String {
    format!("the token's `{name}` claim must be a number of seconds since 1970 (a NumericDate)")
}

/// Why a registered claim the verifier needs (`sub`, `iss`, `aud`, `exp`, `nbf`) could not be
/// read: absent, or present with the wrong type.
pub fn unreadable(token: &str, name: &str) -> String {
    let present = payload_bytes(token)
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
        .is_some_and(|m| m.get(name).is_some_and(|v| !v.is_null()));
    match name {
        _ if !present => missing(name),
        "exp" | "nbf" | "iat" => seconds_error(name),
        "aud" => list_error(name),
        _ => format!("the token's `{name}` claim must be a string"),
    }
}

fn payload_bytes(token: &str) -> Option<Vec<u8>> {
    let payload = token.split('.').nth(1)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
}

/// The first claim named twice in the token's payload, if any; `None` also when the payload
/// cannot be read (the caller reports that).
pub fn repeated_claim(token: &str) -> Option<String> {
    let bytes = payload_bytes(token)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    serde::Deserializer::deserialize_map(&mut de, FirstRepeat).ok()?
}

struct FirstRepeat;

impl<'de> Visitor<'de> for FirstRepeat {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Read to the end: the deserializer checks the object closes after the visitor.
        let mut seen = HashSet::new();
        let mut first = None;
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if !seen.insert(key.clone()) && first.is_none() {
                first = Some(key);
            }
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests;
