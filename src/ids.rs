//! Opaque global ids: `base64url("<Type>:<row id>")`. Clients must treat them as opaque strings.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{AppError, AppResult};

/// The object types that carry a global id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Partner,
    Account,
    Opportunity,
    StageChange,
    Registration,
    Conflict,
    Contact,
    Engagement,
    Event,
    WebhookEndpoint,
    Invitation,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Partner => "Partner",
            Kind::Account => "Account",
            Kind::Opportunity => "Opportunity",
            Kind::StageChange => "OpportunityStageChange",
            Kind::Registration => "Registration",
            Kind::Conflict => "Conflict",
            Kind::Contact => "Contact",
            Kind::Engagement => "Engagement",
            Kind::Event => "Event",
            Kind::WebhookEndpoint => "WebhookEndpoint",
            Kind::Invitation => "Invitation",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        [
            Kind::Partner,
            Kind::Account,
            Kind::Opportunity,
            Kind::StageChange,
            Kind::Registration,
            Kind::Conflict,
            Kind::Contact,
            Kind::Engagement,
            Kind::Event,
            Kind::WebhookEndpoint,
            Kind::Invitation,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }
}

pub fn encode(kind: Kind, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name()))
}

/// Decodes any global id. A string that is not one is BAD_USER_INPUT.
pub fn decode(global: &str) -> AppResult<(Kind, i64)> {
    let bad = || AppError::bad_input(format!("`{}` is not a cosell ID", truncate(global)));
    let raw = URL_SAFE_NO_PAD
        .decode(global.trim_end_matches('='))
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (kind, id) = text.split_once(':').ok_or_else(bad)?;
    let kind = Kind::from_name(kind).ok_or_else(bad)?;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(bad)?;
    Ok((kind, id))
}

/// Decodes a global id that must name an object of `kind`. An id of another type is answered
/// like an unknown one: NOT_FOUND.
pub fn decode_as(global: &str, kind: Kind) -> AppResult<i64> {
    match decode(global)? {
        (k, id) if k == kind => Ok(id),
        _ => Err(AppError::NotFound(kind.name())),
    }
}

/// [`decode_as`] for an argument or input field: a string that is not a cosell ID names
/// `field` in `extensions.field`.
pub fn decode_field(global: &str, kind: Kind, field: &'static str) -> AppResult<i64> {
    decode_as(global, kind).map_err(|e| e.at(field))
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for k in [
            Kind::Partner,
            Kind::Account,
            Kind::Opportunity,
            Kind::StageChange,
            Kind::Registration,
            Kind::Conflict,
        ] {
            assert_eq!(decode(&encode(k, 9)).unwrap(), (k, 9));
        }
    }

    #[test]
    fn round_trip() {
        let g = encode(Kind::Opportunity, 42);
        assert_eq!(decode(&g).unwrap(), (Kind::Opportunity, 42));
        assert_eq!(decode_as(&g, Kind::Opportunity).unwrap(), 42);
    }

    #[test]
    fn foreign_kind_is_not_found_and_garbage_is_bad_input() {
        let g = encode(Kind::Partner, 7);
        assert_eq!(
            decode_as(&g, Kind::Opportunity).unwrap_err().code(),
            "NOT_FOUND"
        );
        assert_eq!(decode("not an id!").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode("Partner:-1"))
                .unwrap_err()
                .code(),
            "BAD_USER_INPUT"
        );
    }
}
