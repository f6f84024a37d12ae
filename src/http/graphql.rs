//! `GET` and `POST /graphql`, following the GraphQL-over-HTTP specification.
//!
//! Order of checks: media type, request shape, authentication, rate limit, then for each
//! operation the document checks and the schema's validation, all before any resolver runs.

use std::collections::HashMap;

use async_graphql::parser::types::OperationType;
use axum::body::{to_bytes, Body};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::auth::authenticate;
use super::execute::{self, Outcome};
use super::limits;
use super::persisted::Submitted;
use super::prepare::{prepare, refusal_json};
use super::response::{self, body, error, errors_only, Answer, MediaType};
use super::scan;
use super::sse;
use super::RequestId;
use crate::error::{code, AppError};
use crate::AppState;

/// One GraphQL-over-HTTP request's parameters.
type Params = Submitted;

fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    errors_only(
        StatusCode::BAD_REQUEST,
        media,
        vec![error(code::BAD_REQUEST, message)],
    )
}

/// A request must carry a document or name a persisted one.
fn with_document(p: Params) -> Result<Params, String> {
    if p.query.is_none() && p.reference.is_none() {
        return Err("the request has no `query` (nor a persisted document's id)".into());
    }
    Ok(p)
}

fn params_from_json(v: &Value) -> Result<Params, String> {
    let obj = v.as_object().ok_or("each request must be a JSON object")?;
    Submitted::from_json(obj).and_then(with_document)
}

fn params_from_query_string(q: &HashMap<String, String>) -> Result<Params, String> {
    let json_param = |name: &str| -> Result<Map<String, Value>, String> {
        match q.get(name).map(|s| s.trim()) {
            None | Some("") | Some("null") => Ok(Map::new()),
            Some(s)
                if scan::json_depth(s.as_bytes(), scan::MAX_JSON_DEPTH) > scan::MAX_JSON_DEPTH =>
            {
                Err(format!(
                    "`{name}` nests arrays and objects deeper than {} levels",
                    scan::MAX_JSON_DEPTH
                ))
            }
            Some(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(format!("`{name}` must be a JSON-encoded object")),
            },
        }
    };
    Submitted::from_query_string(q, json_param).and_then(with_document)
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

/// 503 with `Retry-After` when the instance already works on `--max-in-flight` requests.
fn overloaded(state: &AppState, media: MediaType) -> Response {
    state.metrics.error(code::OVERLOADED);
    let mut res = errors_only(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        vec![error(
            code::OVERLOADED,
            "the server is at its limit of requests in progress; retry in a second",
        )],
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// 503 with `Retry-After` when the database cannot be reached.
fn unavailable(media: MediaType) -> Response {
    let mut res = errors_only(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        vec![error(
            code::SERVICE_UNAVAILABLE,
            crate::error::UNAVAILABLE_MESSAGE,
        )],
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    res
}

pub(super) fn limit_error(limit: &str, max: usize, message: String) -> Value {
    let mut e = error(code::LIMIT_EXCEEDED, message);
    e["extensions"]["limit"] = Value::from(limit);
    e["extensions"]["max"] = Value::from(max);
    e
}

fn too_deep(what: &str) -> Value {
    limit_error(
        "json-depth",
        scan::MAX_JSON_DEPTH,
        format!(
            "{what} nests arrays and objects deeper than {} levels",
            scan::MAX_JSON_DEPTH
        ),
    )
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
    let stream = sse::wanted(&headers);
    let Some(media) = response::negotiate(&headers).or(stream.then_some(MediaType::Json)) else {
        return not_acceptable();
    };
    let Some(_admitted) = state.gate.admit() else {
        return overloaded(&state, media);
    };
    let params = match query
        .map_err(|_| "the query string is malformed".to_string())
        .and_then(|Query(q)| params_from_query_string(&q))
    {
        Ok(p) => p,
        Err(m) => return bad_request(media, m),
    };
    if stream {
        return sse::open(&state, &rid.0, &headers, params, true).await;
    }
    run(&state, &rid, &headers, media, vec![params], false, true).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    let stream = sse::wanted(&headers);
    let Some(media) = response::negotiate(&headers).or(stream.then_some(MediaType::Json)) else {
        return not_acceptable();
    };
    let Some(_admitted) = state.gate.admit() else {
        return overloaded(&state, media);
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
    if scan::json_depth(&bytes, scan::MAX_JSON_DEPTH) > scan::MAX_JSON_DEPTH {
        state.metrics.error(code::LIMIT_EXCEEDED);
        return errors_only(
            StatusCode::BAD_REQUEST,
            media,
            vec![too_deep("the request body")],
        );
    }
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
    if stream {
        if batch {
            return bad_request(
                media,
                "an event stream carries one operation: send one request object, not a batch",
            );
        }
        let Some(one) = params.pop() else {
            return bad_request(media, "the request holds no operation");
        };
        return sse::open(&state, &rid.0, &headers, one, false).await;
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
                AppError::Unavailable(err) => {
                    tracing::warn!(error = %err, "authentication could not reach the database");
                    state.metrics.error(e.code());
                    return unavailable(media);
                }
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
    let quota = match state.rate_limiter.take(&principal.limit_key()) {
        Ok(quota) => quota,
        Err((wait, quota)) => {
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
            return with_quota(res, quota);
        }
    };
    let res = execute_all(state, rid, &principal, media, params, batch, is_get).await;
    with_quota(res, quota)
}

/// Adds the caller's standing against its rate limit to a response.
fn with_quota(mut res: Response, quota: Option<crate::ratelimit::Quota>) -> Response {
    for (name, value) in quota.iter().flat_map(|q| q.headers()) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(name, v);
        }
    }
    res
}

/// Runs each operation of an admitted request and answers.
async fn execute_all(
    state: &AppState,
    rid: &RequestId,
    principal: &crate::auth::Principal,
    media: MediaType,
    params: Vec<Params>,
    batch: bool,
    is_get: bool,
) -> Response {
    let deadline = Instant::now() + state.limits.request_timeout();
    let mut results = Vec::with_capacity(params.len());
    for submitted in params {
        let resolved = match state.documents.resolve(&state.db, submitted).await {
            Ok(r) => r,
            Err(refusal) => {
                let refusal = refusal_json(state, refusal);
                let status = refusal_status(&refusal);
                results.push((Answer::Json(refusal), true, status));
                continue;
            }
        };
        let op = resolved.operation;
        let prepared = prepare(
            state,
            principal,
            op.query.clone(),
            op.operation_name.clone(),
            op.variables.clone(),
            deadline,
        );
        let first = match prepared.await {
            Ok(ready) => ready,
            Err(refusal) => {
                let status = refusal_status(&refusal);
                results.push((Answer::Json(refusal), true, status));
                continue;
            }
        };
        if is_get && first.ty == Some(OperationType::Mutation) {
            return method_not_allowed(media);
        }
        if let Some(hash) = resolved.register {
            state.documents.register(&state.db, hash, &op.query).await;
        }
        if first.ty == Some(OperationType::Subscription) {
            let r = limits::Refusal {
                code: code::BAD_REQUEST,
                message: "subscriptions are served over WebSocket at /graphql/ws, or here as Server-Sent Events with `Accept: text/event-stream`".into(),
                line_col: None,
                limit: None,
            };
            results.push((
                Answer::Json(refusal_json(state, r)),
                true,
                StatusCode::BAD_REQUEST,
            ));
            continue;
        }
        results.push(
            match execute::run(state, principal, &rid.0, &op, first, deadline).await {
                Outcome::Ran {
                    answer,
                    request_error: true,
                } => (answer, true, StatusCode::BAD_REQUEST),
                Outcome::Ran { answer, .. } => (answer, false, StatusCode::OK),
                Outcome::Panicked(answer) => (answer, true, StatusCode::INTERNAL_SERVER_ERROR),
                Outcome::TimedOut(answer) => (answer, true, StatusCode::GATEWAY_TIMEOUT),
            },
        );
    }
    if batch {
        let all: Vec<Answer> = results.into_iter().map(|(a, _, _)| a).collect();
        return body(StatusCode::OK, media, &all);
    }
    let (answer, request_error, status) = results.pop().unwrap_or((
        Answer::Json(Value::Null),
        true,
        StatusCode::INTERNAL_SERVER_ERROR,
    ));
    // Nothing could be read or written because the database is unreachable: a retryable 503,
    // whatever the media type.
    if answer.only_unavailable() {
        let mut res = body(StatusCode::SERVICE_UNAVAILABLE, media, &answer);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return res;
    }
    let status = match media {
        MediaType::GraphqlResponse if request_error => status,
        MediaType::GraphqlResponse => StatusCode::OK,
        MediaType::Json if status == StatusCode::INTERNAL_SERVER_ERROR => status,
        MediaType::Json => StatusCode::OK,
    };
    body(status, media, &answer)
}

/// The HTTP status of a refusal made before execution.
fn refusal_status(refusal: &Value) -> StatusCode {
    match refusal["errors"][0]["extensions"]["code"].as_str() {
        Some(code::TIMEOUT) => StatusCode::GATEWAY_TIMEOUT,
        Some(code::INTERNAL) => StatusCode::INTERNAL_SERVER_ERROR,
        Some(code::SERVICE_UNAVAILABLE) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}
