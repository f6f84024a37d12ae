//! Custom scalars: calendar dates and money amounts that JSON clients read exactly.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use crate::domain::money::MAX_MINOR_UNITS;

/// What a value of one of these scalars looks like, for validation messages that only name the
/// type ("Invalid value for argument …, expected type \"Date\"").
pub fn format_hint(scalar: &str) -> Option<&'static str> {
    match scalar {
        "Date" => Some("a string in YYYY-MM-DD form"),
        "DateTime" => Some("an RFC 3339 string such as 2026-11-22T09:30:00Z"),
        "MinorUnits" => Some("a whole number of minor units from 0 to 9007199254740991"),
        _ => None,
    }
}

/// A calendar date in ISO 8601 form, `YYYY-MM-DD`, with no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date in ISO 8601 form, `YYYY-MM-DD`, with no time zone.
#[Scalar(
    name = "Date",
    specified_by_url = "https://scalars.graphql.org/andimarek/local-date"
)]
impl ScalarType for Date {
    // Checked at validation too, so a wrong literal or variable is refused before execution
    // with the argument named.
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!("`{s}` is not a date in YYYY-MM-DD form"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An amount of money in integer minor units of its currency (cents for USD, yen for JPY),
/// from 0 to 9007199254740991 (2^53 - 1), so every JSON client reads it exactly. Sent as a
/// JSON number; a string of digits is accepted as input too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinorUnits(pub i64);

/// An amount of money in integer minor units of its currency (cents for USD, yen for JPY),
/// from 0 to 9007199254740991 (2^53 - 1), so every JSON client reads it exactly. Sent as a
/// JSON number; a string of digits is accepted as input too.
#[Scalar(name = "MinorUnits")]
impl ScalarType for MinorUnits {
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn parse(value: Value) -> InputValueResult<Self> {
        let n = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => return Err(InputValueError::expected_type(value)),
        };
        match n {
            Some(n) if (0..=MAX_MINOR_UNITS).contains(&n) => Ok(MinorUnits(n)),
            _ => Err(InputValueError::custom(format!(
                "an amount must be a whole number of minor units from 0 to {MAX_MINOR_UNITS}"
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// A point in time in UTC, as an RFC 3339 string with millisecond precision, e.g.
/// `2026-11-22T09:30:00.000Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

/// A point in time in UTC, as an RFC 3339 string with millisecond precision, e.g.
/// `2026-11-22T09:30:00.000Z`.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://scalars.graphql.org/andimarek/date-time"
)]
impl ScalarType for DateTime {
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| DateTime(d.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!("`{s}` is not an RFC 3339 date-time"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}
