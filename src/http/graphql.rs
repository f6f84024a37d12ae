//! `GET` and `POST /graphql`, following the GraphQL-over-HTTP specification.
//!
//! Order of checks: media type, request shape, authentication, rate limit, then for each
//! operation the document checks and the schema's validation, all before any resolver runs.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use async_graphql::parser::types::OperationType;
use async_graphql::Variables;
use axum::body::{to_bytes, Body};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::auth::authenticate;
use super::limits::{self, Checks};
use super::response::{self, body, error, errors_only, MediaType};
use super::RequestId;
use crate::db::contacts::network::ThreadingWindow;
use crate::error::{code, AppError};
use crate::graphql::loaders::Loaders;
use crate::AppState;

/// One GraphQL-over-HTTP request's parameters.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Map<String, Value>,
}

fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    errors_only(
        StatusCode::BAD_REQUEST,
        media,
        vec![error(code::BAD_REQUEST, message)],
    )
}

fn params_from_json(v: &Value) -> Result<Params, String> {
    let obj = v.as_object().ok_or("each request must be a JSON object")?;
    let query = match obj.get("query") {
        Some(Value::String(q)) => q.clone(),
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("the request has no `query`".into()),
    };
    let operation_name = match obj.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let map_param = |name: &str| match obj.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(format!("`{name}` must be an object or null")),
    };
    map_param("extensions")?;
    Ok(Params {
        query,
        operation_name,
        variables: map_param("variables")?,
    })
}

fn params_from_query_string(q: &HashMap<String, String>) -> Result<Params, String> {
    let query = q
        .get("query")
        .cloned()
        .ok_or("the request has no `query` parameter")?;
    let json_param = |name: &str| -> Result<Map<String, Value>, String> {
        match q.get(name).map(|s| s.trim()) {
            None | Some("") | Some("null") => Ok(Map::new()),
            Some(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(format!("`{name}` must be a JSON-encoded object")),
            },
        }
    };
    json_param("extensions")?;
    Ok(Params {
        query,
        operation_name: q.get("operationName").filter(|s| !s.is_empty()).cloned(),
        variables: json_param("variables")?,
    })
}

fn method_not_allowed(media: MediaType) -> Response {
    let mut res = errors_only(
        StatusCode::METHOD_NOT_ALLOWED,
        media,
        vec![error(
            code::BAD_REQUEST,
            "mutations are only accepted over POST",
        )],
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

fn not_acceptable() -> Response {
    errors_only(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        vec![error(
            code::BAD_REQUEST,
            "accept application/graphql-response+json or application/json",
        )],
    )
}

pub async fn get(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(media) = response::negotiate(&headers) else {
        return not_acceptable();
    };
    let params = match query
        .map_err(|_| "the query string is malformed".to_string())
        .and_then(|Query(q)| params_from_query_string(&q))
    {
        Ok(p) => p,
        Err(m) => return bad_request(media, m),
    };
    run(&state, &rid, &headers, media, vec![params], false, true).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    let Some(media) = response::negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return errors_only(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            vec![error(
                code::BAD_REQUEST,
                "send the request body as Content-Type: application/json",
            )],
        );
    }
    let bytes = match to_bytes(raw, state.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return errors_only(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                vec![error(
                    code::LIMIT_EXCEEDED,
                    format!(
                        "the request body exceeds {} bytes",
                        state.limits.max_body_bytes
                    ),
                )],
            )
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return bad_request(media, "the request body is not valid JSON"),
    };
    let (items, batch) = match value {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    if batch && items.is_empty() {
        return bad_request(media, "a batch must hold at least one request");
    }
    if items.len() > state.limits.max_batch {
        return errors_only(
            StatusCode::BAD_REQUEST,
            media,
            vec![error(
                code::LIMIT_EXCEEDED,
                format!(
                    "a batch may hold at most {} operations",
                    state.limits.max_batch
                ),
            )],
        );
    }
    let mut params = Vec::with_capacity(items.len());
    for item in &items {
        match params_from_json(item) {
            Ok(p) => params.push(p),
            Err(m) => return bad_request(media, m),
        }
    }
    run(&state, &rid, &headers, media, params, batch, false).await
}

async fn run(
    state: &AppState,
    rid: &RequestId,
    headers: &HeaderMap,
    media: MediaType,
    params: Vec<Params>,
    batch: bool,
    is_get: bool,
) -> Response {
    let principal = match authenticate(state, headers).await {
        Ok(p) => p,
        Err(e) => {
            let (status, message) = match &e {
                AppError::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, m.clone()),
                other => {
                    tracing::error!(error = %other.message(), "authentication failed on an internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        crate::error::INTERNAL_MESSAGE.to_string(),
                    )
                }
            };
            state.metrics.error(e.code());
            let mut res = errors_only(status, media, vec![error(e.code(), message)]);
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
    };
    if let Err(wait) = state.rate_limiter.check(&principal.limit_key()) {
        state.metrics.error(code::RATE_LIMITED);
        let secs = wait.as_secs().max(1);
        let mut res = errors_only(
            StatusCode::TOO_MANY_REQUESTS,
            media,
            vec![error(
                code::RATE_LIMITED,
                format!("too many requests; retry in {secs} s"),
            )],
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    let mut results = Vec::with_capacity(params.len());
    for p in params {
        let (req, ty) = match prepare(state, &principal, p.query, p.operation_name, p.variables) {
            Ok(ready) => ready,
            Err(refusal) => {
                results.push((refusal, true, StatusCode::BAD_REQUEST));
                continue;
            }
        };
        if is_get && ty == Some(OperationType::Mutation) {
            return method_not_allowed(media);
        }
        if ty == Some(OperationType::Subscription) {
            let r = limits::Refusal {
                code: code::BAD_REQUEST,
                message: "subscriptions are served over WebSocket at /graphql/ws".into(),
                line_col: None,
            };
            results.push((refusal_json(state, r), true, StatusCode::BAD_REQUEST));
            continue;
        }
        let exec = AssertUnwindSafe(state.schema.execute(req)).catch_unwind();
        let (json, request_error, status) = match tokio::time::timeout(
            state.limits.request_timeout(),
            exec,
        )
        .await
        {
            Ok(Ok(resp)) => {
                let (json, req_err) = response::graphql_result(resp, &rid.0, &state.metrics);
                (
                    json,
                    req_err,
                    if req_err {
                        StatusCode::BAD_REQUEST
                    } else {
                        StatusCode::OK
                    },
                )
            }
            Ok(Err(_panic)) => {
                tracing::error!("a resolver panicked");
                state.metrics.error(code::INTERNAL);
                let mut e = error(code::INTERNAL, crate::error::INTERNAL_MESSAGE);
                e["extensions"]["requestId"] = Value::String(rid.0.clone());
                (
                    serde_json::json!({ "errors": [e] }),
                    true,
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = state.limits.request_timeout_ms,
                    "request timed out"
                );
                state.metrics.error(code::TIMEOUT);
                let msg = format!("the request took longer than {} ms and was abandoned; a change it had started commits or rolls back as a whole, so re-read before retrying", state.limits.request_timeout_ms);
                (
                    serde_json::json!({ "errors": [error(code::TIMEOUT, msg)] }),
                    true,
                    StatusCode::GATEWAY_TIMEOUT,
                )
            }
        };
        if ty == Some(OperationType::Mutation) {
            // A committed change's event goes out to this instance's subscribers now.
            state.hub.poke();
        }
        results.push((json, request_error, status));
    }
    if batch {
        let all: Vec<Value> = results.into_iter().map(|(j, _, _)| j).collect();
        return body(StatusCode::OK, media, Value::Array(all));
    }
    let (json, request_error, status) =
        results
            .pop()
            .unwrap_or((Value::Null, true, StatusCode::INTERNAL_SERVER_ERROR));
    let status = match media {
        MediaType::GraphqlResponse if request_error => status,
        MediaType::GraphqlResponse => StatusCode::OK,
        MediaType::Json if status == StatusCode::INTERNAL_SERVER_ERROR => status,
        MediaType::Json => StatusCode::OK,
    };
    body(status, media, json)
}

/// Parses and checks one operation and builds its request with the principal and fresh
/// per-request loaders. Over HTTP and WebSocket alike; the refusal is a response body.
pub fn prepare(
    state: &AppState,
    principal: &crate::auth::Principal,
    query: String,
    operation_name: Option<String>,
    variables: Map<String, Value>,
) -> Result<(async_graphql::Request, Option<OperationType>), Value> {
    let doc = limits::parse(&query).map_err(|r| refusal_json(state, r))?;
    let ty = limits::operation_type(&doc, operation_name.as_deref());
    let checks = Checks {
        max_aliases: state.limits.max_aliases,
        max_page_size: state.limits.max_page_size,
        variables: &variables,
    };
    checks.run(&doc).map_err(|r| refusal_json(state, r))?;
    let mut req = async_graphql::Request::new(query)
        .variables(Variables::from_json(Value::Object(variables)))
        .data(principal.clone())
        .data(Loaders::new(
            &state.db,
            principal,
            ThreadingWindow(state.program.threading_window_days as i64),
        ));
    if let Some(op) = operation_name {
        req = req.operation_name(op);
    }
    Ok((req, ty))
}

pub fn refusal_json(state: &AppState, r: limits::Refusal) -> Value {
    state.metrics.error(r.code);
    let mut e = error(r.code, r.message);
    if let Some((line, column)) = r.line_col {
        e["locations"] = serde_json::json!([{ "line": line, "column": column }]);
    }
    serde_json::json!({ "errors": [e] })
}
