//! GraphQL-over-HTTP responses: media type negotiation, status codes and error bodies in which
//! every error carries `extensions.code` and no internal detail.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{code, INTERNAL_MESSAGE};
use crate::metrics::Metrics;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of the response body, as negotiated from `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: the legacy type; well-formed requests get 200 whatever happened.
    Json,
    /// `application/graphql-response+json`: request errors get 4xx and no `data` key.
    GraphqlResponse,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json; charset=utf-8",
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }
}

/// Picks the response media type: the supported type with the highest `q`; `*/*`, `application/*`
/// and a missing `Accept` mean `application/json`. `None` when nothing acceptable is supported.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let mut best: Option<(f32, u8, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let mt = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        // Specific types beat wildcards at equal q.
        let (rank, chosen) = match mt.as_str() {
            GRAPHQL_RESPONSE_JSON => (3, MediaType::GraphqlResponse),
            "application/json" => (2, MediaType::Json),
            "application/*" | "*/*" => (1, MediaType::Json),
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        if best.is_none_or(|(bq, br, _)| q > bq || (q == bq && rank > br)) {
            best = Some((q, rank, chosen));
        }
    }
    best.map(|(_, _, m)| m)
}

/// One error object.
pub fn error(code: &str, message: impl Into<String>) -> Value {
    let message = crate::error::clip_message(&message.into());
    json!({ "message": message, "extensions": { "code": code } })
}

/// A response with only `errors` and the given status.
pub fn errors_only(status: StatusCode, media: MediaType, errors: Vec<Value>) -> Response {
    body(status, media, &json!({ "errors": errors }))
}

pub fn body<T: Serialize + ?Sized>(status: StatusCode, media: MediaType, value: &T) -> Response {
    // Straight into bytes: `to_string` would go through `fmt::Write` a token at a time.
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    res
}

/// The response to one operation.
pub enum Answer {
    /// Made by the server itself (a refusal, a timeout): a JSON object.
    Json(Value),
    /// An execution's result: `data` as the executor made it, written in query order when the
    /// body is written.
    Executed {
        data: Option<async_graphql::Value>,
        plan: super::order::Plan,
        errors: Vec<Value>,
        extensions: Option<Value>,
    },
}

impl Answer {
    /// The response's errors.
    pub fn errors(&self) -> &[Value] {
        match self {
            Self::Json(v) => v["errors"].as_array().map_or(&[], Vec::as_slice),
            Self::Executed { errors, .. } => errors,
        }
    }

    /// Whether any error carries `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.errors()
            .iter()
            .any(|e| e["extensions"]["code"] == code)
    }

    /// Whether it holds no data and only SERVICE_UNAVAILABLE errors: nothing could be read or
    /// written because the database is unreachable.
    pub fn only_unavailable(&self) -> bool {
        let data_empty = match self {
            Self::Json(v) => match &v["data"] {
                Value::Null => true,
                Value::Object(fields) => fields.values().all(Value::is_null),
                _ => false,
            },
            Self::Executed { data, .. } => match data {
                None | Some(async_graphql::Value::Null) => true,
                Some(async_graphql::Value::Object(fields)) => fields
                    .values()
                    .all(|v| matches!(v, async_graphql::Value::Null)),
                Some(_) => false,
            },
        };
        let errors = self.errors();
        data_empty
            && !errors.is_empty()
            && errors
                .iter()
                .all(|e| e["extensions"]["code"] == code::SERVICE_UNAVAILABLE)
    }

    /// The response as a JSON value (for a WebSocket message).
    pub fn into_json(self) -> Value {
        match self {
            Self::Json(v) => v,
            executed => serde_json::to_value(&executed).unwrap_or(Value::Null),
        }
    }
}

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Json(v) => v.serialize(s),
            Self::Executed {
                data,
                plan,
                errors,
                extensions,
            } => {
                let mut map = s.serialize_map(None)?;
                if let Some(data) = data {
                    map.serialize_entry("data", &super::order::Ordered::new(data, plan))?;
                }
                if !errors.is_empty() {
                    map.serialize_entry("errors", errors)?;
                }
                if let Some(extensions) = extensions {
                    map.serialize_entry("extensions", extensions)?;
                }
                map.end()
            }
        }
    }
}

/// Turns one executed GraphQL response into its answer. Returns it and whether the request
/// failed before execution (a "request error": no `data` key).
pub fn graphql_result(
    resp: async_graphql::Response,
    request_id: &str,
    metrics: &Metrics,
    shape: &super::order::Shape,
) -> (Answer, bool) {
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    let errors: Vec<Value> = resp
        .errors
        .into_iter()
        .map(|e| {
            normalise(
                serde_json::to_value(&e).unwrap_or_else(|_| json!({})),
                request_error,
                request_id,
            )
        })
        .collect();
    for e in &errors {
        metrics.error(e["extensions"]["code"].as_str().unwrap_or(code::INTERNAL));
    }
    let answer = Answer::Executed {
        data: (!request_error).then_some(resp.data),
        plan: if request_error {
            Default::default()
        } else {
            shape.plan()
        },
        errors,
        extensions: (!resp.extensions.is_empty())
            .then(|| serde_json::to_value(&resp.extensions).unwrap_or(Value::Null)),
    };
    (answer, request_error)
}

/// Gives an error a code when the library raised it without one, and hides internal detail.
fn normalise(mut e: Value, request_error: bool, request_id: &str) -> Value {
    let mut message = crate::error::clip_message(e["message"].as_str().unwrap_or_default());
    if let Some(hint) = message
        .strip_suffix('"')
        .and_then(|m| m.rsplit_once("expected type \""))
        .and_then(|(_, ty)| crate::scalars::format_hint(ty))
    {
        message = format!("{message}: {hint}");
    }
    e["message"] = Value::String(message.clone());
    let existing = e
        .pointer("/extensions/code")
        .and_then(Value::as_str)
        .map(str::to_string);
    let limit = if message.starts_with("Query is too complex") {
        Some("max-complexity")
    } else if message.starts_with("The number of directives") {
        Some("max-directives")
    } else if message.starts_with("The recursion depth") {
        Some("max-nesting")
    } else {
        None
    };
    let code = existing.unwrap_or_else(|| {
        if request_error {
            if limit.is_some() {
                code::LIMIT_EXCEEDED
            } else {
                code::GRAPHQL_VALIDATION_FAILED
            }
        } else if message.starts_with("Failed to parse")
            || message.starts_with("Invalid value")
            || message.starts_with("Expected input type")
            || (message.starts_with("Variable ") && message.ends_with(" is not defined."))
        {
            code::BAD_USER_INPUT
        } else {
            tracing::error!(error = %message, "unclassified GraphQL error");
            e["message"] = Value::String(INTERNAL_MESSAGE.into());
            code::INTERNAL
        }
        .to_string()
    });
    if !e["extensions"].is_object() {
        e["extensions"] = json!({});
    }
    if code == code::INTERNAL {
        e["extensions"]["requestId"] = Value::String(request_id.to_string());
    }
    if let (Some(limit), true) = (limit, code == code::LIMIT_EXCEEDED) {
        e["extensions"]["limit"] = Value::from(limit);
    }
    e["extensions"]["code"] = Value::String(code);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Option<MediaType> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        negotiate(&h)
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(accept("application/json"), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json;q=0.5"),
            Some(MediaType::Json)
        );
        assert_eq!(accept("text/html"), None);
    }
}
