//! `GET` and `POST /graphql`, following the GraphQL-over-HTTP specification.
//!
//! Order of checks: media type, request shape, authentication, rate limit, then for each
//! operation the document checks and the schema's validation, all before any resolver runs.

use std::collections::HashMap;

use axum::body::{to_bytes, Body};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};

use super::admit::{credential, denied, with_quota};
use super::response::{self, body, errors_only, MediaType};
use super::sse;
use super::RequestId;
use crate::error::code;
use crate::pipeline::answer::{error, limit_error, refusal_json, Answer};
use crate::pipeline::execute::Outcome;
use crate::pipeline::limits;
use crate::pipeline::operation::{self, Method, Refused};
use crate::pipeline::persisted::Submitted;
use crate::pipeline::scan;
use crate::pipeline::session::admit_request;
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
        return sse::open(&state, &rid.0, &headers, params, Method::Get).await;
    }
    run(
        &state,
        &rid,
        &headers,
        media,
        vec![params],
        false,
        Method::Get,
    )
    .await
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
    let (mut params, batch) = match read_body(&state, &headers, raw, media).await {
        Ok(read) => read,
        Err(res) => return res,
    };
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
        return sse::open(&state, &rid.0, &headers, one, Method::Post).await;
    }
    run(&state, &rid, &headers, media, params, batch, Method::Post).await
}

/// The operations of a POST body (one, or a batch), or the response refusing the body.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    raw: Body,
    media: MediaType,
) -> Result<(Vec<Params>, bool), Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(errors_only(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            vec![error(
                code::BAD_REQUEST,
                "send the request body as Content-Type: application/json",
            )],
        ));
    }
    let max = state.limits.max_body_bytes;
    let Ok(bytes) = to_bytes(raw, max).await else {
        return Err(errors_only(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            vec![error(
                code::LIMIT_EXCEEDED,
                format!("the request body exceeds {max} bytes"),
            )],
        ));
    };
    if scan::json_depth(&bytes, scan::MAX_JSON_DEPTH) > scan::MAX_JSON_DEPTH {
        state.metrics.error(code::LIMIT_EXCEEDED);
        let errors = vec![too_deep("the request body")];
        return Err(errors_only(StatusCode::BAD_REQUEST, media, errors));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| bad_request(media, "the request body is not valid JSON"))?;
    let (items, batch) = match value {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    if batch && items.is_empty() {
        return Err(bad_request(media, "a batch must hold at least one request"));
    }
    if items.len() > state.limits.max_batch {
        let max = state.limits.max_batch;
        return Err(errors_only(
            StatusCode::BAD_REQUEST,
            media,
            vec![error(
                code::LIMIT_EXCEEDED,
                format!("a batch may hold at most {max} operations"),
            )],
        ));
    }
    let params = items
        .iter()
        .map(params_from_json)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| bad_request(media, m))?;
    Ok((params, batch))
}

/// Admits the request, runs each of its operations and answers.
async fn run(
    state: &AppState,
    rid: &RequestId,
    headers: &HeaderMap,
    media: MediaType,
    params: Vec<Params>,
    batch: bool,
    method: Method,
) -> Response {
    let (principal, quota) = match admit_request(state, credential(headers)).await {
        Ok(admitted) => admitted,
        Err(denial) => return denied(denial, media),
    };
    let res = execute_all(state, rid, &principal, media, params, batch, method).await;
    with_quota(res, quota)
}

/// One operation's answer, whether it failed as a request, and its status alone.
type OneAnswer = (Answer, bool, StatusCode);

/// Serves one operation of a request; `None` when the whole request is refused (a mutation
/// over GET).
async fn serve_one(
    state: &AppState,
    rid: &RequestId,
    principal: &crate::auth::Principal,
    submitted: Params,
    method: Method,
) -> Option<OneAnswer> {
    let ready = match operation::serve(state, principal, submitted, method).await {
        Ok(ready) => ready,
        Err(Refused::MutationOverGet) => return None,
        Err(Refused::Checks(refusal)) => {
            let status = refusal_status(&refusal);
            return Some((Answer::Json(refusal), true, status));
        }
    };
    if ready.is_subscription() {
        let r = limits::Refusal {
            code: code::BAD_REQUEST,
            message: "subscriptions are served over WebSocket at /graphql/ws, or here as Server-Sent Events with `Accept: text/event-stream`".into(),
            line_col: None,
            limit: None,
        };
        let answer = Answer::Json(refusal_json(&state.metrics, r));
        return Some((answer, true, StatusCode::BAD_REQUEST));
    }
    Some(match ready.execute(state, principal, &rid.0).await {
        Outcome::Ran {
            answer,
            request_error: true,
        } => (answer, true, StatusCode::BAD_REQUEST),
        Outcome::Ran { answer, .. } => (answer, false, StatusCode::OK),
        Outcome::Panicked(answer) => (answer, true, StatusCode::INTERNAL_SERVER_ERROR),
        Outcome::TimedOut(answer) => (answer, true, StatusCode::GATEWAY_TIMEOUT),
    })
}

/// Runs each operation of an admitted request and answers.
async fn execute_all(
    state: &AppState,
    rid: &RequestId,
    principal: &crate::auth::Principal,
    media: MediaType,
    params: Vec<Params>,
    batch: bool,
    method: Method,
) -> Response {
    let mut results = Vec::with_capacity(params.len());
    for submitted in params {
        match serve_one(state, rid, principal, submitted, method).await {
            Some(result) => results.push(result),
            None => return method_not_allowed(media),
        }
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
