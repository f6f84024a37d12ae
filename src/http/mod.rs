//! HTTP: the router, request ids, metrics and the small endpoints around `/graphql`, and the
//! three framings of the one request pipeline (`crate::pipeline`): GraphQL over HTTP
//! ([`graphql`]), Server-Sent Events ([`sse`]) and WebSocket ([`ws`]). Each only turns the
//! pipeline's denials, refusals, answers and streams into its own status codes, close codes
//! and messages.

pub mod admit;
pub mod cors;
pub mod graphiql;
pub mod graphql;
pub mod response;
pub mod sse;
pub mod ws;

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tracing::Instrument;

use crate::AppState;

/// The id of one HTTP request, echoed in `x-request-id` and attached to every log line.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn router(state: AppState) -> Router {
    let mut plain = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{name}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.http.metrics_listen.is_none() {
        plain = plain.route("/metrics", get(metrics));
    }
    // Answers are compressed when the client accepts it; the WebSocket upgrade is not an
    // answer with a body and stays out of it.
    let plain = plain.layer(tower_http::compression::CompressionLayer::new());
    let mut app = Router::new()
        .route("/graphql/ws", get(ws::upgrade))
        .merge(plain)
        .fallback(not_found);
    if let Some(cors) = cors::layer(&state.http.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        request_context,
    ))
    .with_state(state)
}

/// `/metrics` alone, for the operators' listener (`--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then(|| s.to_string())
}

/// Requests slower than this are logged at INFO whatever their status.
const SLOW_REQUEST: std::time::Duration = std::time::Duration::from_secs(1);

/// Gives each request an id and a tracing span, and records its status and latency.
async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(valid_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    crate::telemetry::continue_trace(&span, req.headers());
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.request(&route, status, elapsed);
    // Every request is counted in the metrics; the log keeps what someone may need to look
    // at (failures and slow requests), so that a busy instance does not spend its time
    // formatting a line per request. `RUST_LOG=cosell=debug` logs every one.
    let elapsed_ms = elapsed.as_millis() as u64;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request finished");
        } else if status >= 400 || elapsed >= SLOW_REQUEST {
            tracing::info!(status, elapsed_ms, "request finished");
        } else {
            tracing::debug!(status, elapsed_ms, "request finished");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    // A database that does not answer within a second is as good as gone for readiness.
    let ping = tokio::time::timeout(Duration::from_secs(1), crate::db::ping(&state.db)).await;
    match ping.unwrap_or_else(|_| Err(sea_orm::DbErr::Custom("no answer within 1 s".into()))) {
        Ok(()) => Json(json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render() + &crate::pipeline::live::render_metrics(&state),
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "errors": [{ "message": "no such endpoint; GraphQL is served at /graphql", "extensions": { "code": "NOT_FOUND" } }] })))
        .into_response()
}
