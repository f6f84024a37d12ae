//! The answer to one operation, whatever carries it: the errors the server writes itself
//! (every one with `extensions.code` and no internal detail), and an execution's result
//! turned into its response.

use serde::Serialize;
use serde_json::{json, Value};

use super::limits::Refusal;
use super::order::{Ordered, Plan, Shape};
use crate::error::{code, INTERNAL_MESSAGE};
use crate::metrics::Metrics;

/// One error object.
pub fn error(code: &str, message: impl Into<String>) -> Value {
    let message = crate::error::clip_message(&message.into());
    json!({ "message": message, "extensions": { "code": code } })
}

/// The response to one operation.
pub enum Answer {
    /// Made by the server itself (a refusal, a timeout): a JSON object.
    Json(Value),
    /// An execution's result: `data` as the executor made it, written in query order when the
    /// body is written.
    Executed {
        data: Option<async_graphql::Value>,
        plan: Plan,
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
                    map.serialize_entry("data", &Ordered::new(data, plan))?;
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
    shape: &Shape,
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

/// A LIMIT_EXCEEDED error naming the limit and its maximum.
pub fn limit_error(limit: &str, max: usize, message: String) -> Value {
    let mut e = error(code::LIMIT_EXCEEDED, message);
    e["extensions"]["limit"] = Value::from(limit);
    e["extensions"]["max"] = Value::from(max);
    e
}

/// The response to a document refused by a check made before execution, counted in `metrics`.
pub fn refusal_json(metrics: &Metrics, r: Refusal) -> Value {
    metrics.error(r.code);
    let mut e = match r.limit {
        Some((limit, max)) => limit_error(limit, max, r.message),
        None => error(r.code, r.message),
    };
    if let Some((line, column)) = r.line_col {
        e["locations"] = json!([{ "line": line, "column": column }]);
    }
    json!({ "errors": [e] })
}

/// The response of an operation abandoned at its deadline of `timeout_ms`.
pub fn timeout_json(metrics: &Metrics, timeout_ms: u64) -> Value {
    metrics.error(code::TIMEOUT);
    let msg = format!("the operation took longer than {timeout_ms} ms and was abandoned; a change it had started commits or rolls back as a whole, so re-read before retrying");
    json!({ "errors": [error(code::TIMEOUT, msg)] })
}
