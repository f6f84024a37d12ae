//! GraphQL over Server-Sent Events: `POST` (or `GET`) `/graphql` with
//! `Accept: text/event-stream`, the graphql-sse protocol's "distinct connections" mode.
//!
//! Each request is one operation on its own stream: every result is an `event: next` with the
//! result in `data`, and `event: complete` ends it. A subscription streams until the client
//! closes the connection. The rules are the WebSocket's: the token is checked before the stream
//! opens and the stream ends when it expires; a suspended partner's stream ends at once; the
//! same connection limit per principal; a client that does not read is cut off instead of
//! buffered for; a server that shuts down ends streams without `complete`, so that clients
//! reconnect (with `after:` their last event). Refusals made before execution (the document's
//! checks, validation) arrive as a `next` event with `errors`, as the protocol requires;
//! refusals of the request itself (token, rate limit, malformed body) are plain JSON responses
//! with their status, before any stream opens.

use std::convert::Infallible;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::auth::authenticate_with_expiry;
use super::execute::{self, Outcome};
use super::live::{self, Next, Start};
use super::persisted::Submitted;
use super::prepare::{prepare, refusal_json};
use super::response::{error, errors_only, MediaType};
use super::ws::{partner_changed, until_true, Connections, Slot};
use crate::auth::Principal;
use crate::error::{code, AppError};
use crate::AppState;

/// The media type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// Whether the client asks for an event stream (`Accept: text/event-stream`).
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            essence.eq_ignore_ascii_case(EVENT_STREAM) && !refused
        })
}

/// One `event: next` with `data` as its JSON.
fn next_event<T: Serialize + ?Sized>(data: &T) -> Bytes {
    let mut out = b"event: next\ndata: ".to_vec();
    // JSON escapes its newlines: the data is one line.
    if serde_json::to_writer(&mut out, data).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// [`next_event`] with data already written as JSON (shared by the subscribers of a group).
fn next_raw(data: &str) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 20);
    out.extend_from_slice(b"event: next\ndata: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

const COMPLETE: &[u8] = b"event: complete\ndata:\n\n";
/// A comment line: keeps proxies from closing an idle stream.
const KEEPALIVE: &[u8] = b":\n\n";

/// A refusal before any stream opened, as JSON with its status.
fn refused(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    errors_only(status, MediaType::Json, vec![error(code, message)])
}

/// Opens the event stream of one operation, after the same checks as any request.
pub async fn open(
    state: &AppState,
    request_id: &str,
    headers: &HeaderMap,
    submitted: Submitted,
    is_get: bool,
) -> Response {
    // Watched from before the partner's status is checked, so that a suspension committed
    // after the check still ends the stream.
    let Some(watching) = state.hub.partner_changes().await else {
        state.metrics.error(code::SERVICE_UNAVAILABLE);
        let mut res = refused(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SERVICE_UNAVAILABLE,
            "the server is starting; try again",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return res;
    };
    let (principal, exp) = match authenticate_with_expiry(state, headers).await {
        Ok(ok) => ok,
        Err(AppError::Unauthenticated(m)) => {
            state.metrics.error(code::UNAUTHENTICATED);
            let mut res = refused(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, m);
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
        Err(AppError::Unavailable(e)) => {
            tracing::warn!(error = %e, "authentication could not reach the database");
            state.metrics.error(code::SERVICE_UNAVAILABLE);
            let mut res = refused(
                StatusCode::SERVICE_UNAVAILABLE,
                code::SERVICE_UNAVAILABLE,
                crate::error::UNAVAILABLE_MESSAGE,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            return res;
        }
        Err(e) => {
            tracing::error!(error = %e.message(), "authentication failed on an internal error");
            state.metrics.error(code::INTERNAL);
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                crate::error::INTERNAL_MESSAGE,
            );
        }
    };
    if let Err(wait) = state.rate_limiter.check(&principal.limit_key()) {
        state.metrics.error(code::RATE_LIMITED);
        let secs = wait.as_secs().max(1);
        let mut res = refused(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            format!("too many requests; retry in {secs} s"),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    let max = state.realtime.ws_max_connections_per_principal;
    let Some(slot) = Connections::acquire(&state.connections, principal.limit_key(), max) else {
        state.metrics.error(code::LIMIT_EXCEEDED);
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            code::LIMIT_EXCEEDED,
            format!("too many open connections for this principal (limit {max}, WebSocket and event streams together); close one first"),
        );
    };
    let leeway = state.verifier.leeway_seconds();
    let left = (exp + leeway).saturating_sub(crate::auth::jwt::now());
    let (tx, rx) = mpsc::channel::<Bytes>(state.realtime.ws_send_buffer as usize);
    let stream = Stream {
        state: state.clone(),
        request_id: request_id.to_string(),
        partner_changes: principal.partner_id().map(|_| watching),
        principal,
        expires_at: Instant::now() + Duration::from_secs(left),
        out: tx,
        _slot: slot,
    };
    state.metrics.sse_opened();
    tokio::spawn(stream.run(submitted, is_get));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut res = Response::new(Body::from_stream(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx pass each event on at once instead of buffering the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// One open event stream.
struct Stream {
    state: AppState,
    request_id: String,
    principal: Principal,
    partner_changes: Option<tokio::sync::broadcast::Receiver<i64>>,
    expires_at: Instant,
    out: mpsc::Sender<Bytes>,
    _slot: Slot,
}

/// Why a subscription's stream stopped.
enum End {
    /// Its source ended, or it was refused with an event saying why: `complete` follows.
    Complete,
    /// The client left or does not read, or the server shuts down: no `complete`, so that a
    /// client reconnects.
    Cut,
}

impl Stream {
    /// Queues an event; false when the client is gone or has not read for the slow-consumer
    /// time.
    async fn send(&self, bytes: Bytes) -> bool {
        let wait = Duration::from_millis(self.state.realtime.ws_slow_consumer_ms);
        match self.out.send_timeout(bytes, wait).await {
            Ok(()) => true,
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                tracing::warn!("ending an event stream whose client does not read it");
                false
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }

    async fn errors(&self, errors: Value) -> bool {
        self.send(next_event(&json!({ "errors": errors }))).await
    }

    async fn run(mut self, submitted: Submitted, is_get: bool) {
        let end = self.operation(submitted, is_get).await;
        if matches!(end, End::Complete) {
            self.send(Bytes::from_static(COMPLETE)).await;
        }
        self.state.metrics.sse_closed();
        self.state.gate.touch();
    }

    async fn operation(&mut self, submitted: Submitted, is_get: bool) -> End {
        let state = self.state.clone();
        let resolved = match state.documents.resolve(&state.db, submitted).await {
            Ok(r) => r,
            Err(refusal) => {
                self.errors(refusal_json(&state, refusal)["errors"].clone())
                    .await;
                return End::Complete;
            }
        };
        let op = resolved.operation;
        let deadline = Instant::now() + state.limits.request_timeout();
        let prepared = prepare(
            &state,
            &self.principal,
            op.query.clone(),
            op.operation_name.clone(),
            op.variables.clone(),
            deadline,
        );
        let first = match prepared.await {
            Ok(p) => p,
            Err(refusal) => {
                self.errors(refusal["errors"].clone()).await;
                return End::Complete;
            }
        };
        if is_get && first.ty == Some(OperationType::Mutation) {
            self.errors(json!([error(
                code::BAD_REQUEST,
                "mutations are only accepted over POST"
            )]))
            .await;
            return End::Complete;
        }
        if let Some(hash) = resolved.register {
            state.documents.register(&state.db, hash, &op.query).await;
        }
        if first.ty != Some(OperationType::Subscription) {
            let outcome = execute::run(
                &state,
                &self.principal,
                &self.request_id,
                &op,
                first,
                deadline,
            );
            let answer = tokio::select! {
                outcome = outcome => match outcome {
                    Outcome::Ran { answer, .. }
                    | Outcome::Panicked(answer)
                    | Outcome::TimedOut(answer) => answer,
                },
                _ = self.out.closed() => return End::Cut,
            };
            return if self.send(next_event(&answer)).await {
                End::Complete
            } else {
                End::Cut
            };
        }
        let mut sub = match Box::pin(live::start(
            &state,
            &self.principal,
            first,
            &self.request_id,
        ))
        .await
        {
            Start::Refused(errors) => {
                self.errors(errors).await;
                return End::Complete;
            }
            Start::Answered(payload) => {
                return if self.send(next_raw(&payload)).await {
                    End::Complete
                } else {
                    End::Cut
                };
            }
            Start::Live(sub) => sub,
        };
        let ka = Duration::from_secs(state.realtime.ws_keepalive_seconds.max(1));
        let mut keepalive = tokio::time::interval_at(Instant::now() + ka, ka);
        let mut shutting_down = state.hub.closing();
        let mine = self.principal.partner_id();
        let mut partner_changes = self.partner_changes.take();
        loop {
            tokio::select! {
                next = sub.next() => {
                    let (payload, last) = match next {
                        Next::Result(p) => (p, false),
                        Next::Last(p) => (p, true),
                        Next::End => return End::Complete,
                    };
                    if !self.send(next_raw(&payload)).await {
                        return End::Cut;
                    }
                    if last {
                        return End::Complete;
                    }
                }
                _ = keepalive.tick(), if state.realtime.ws_keepalive_seconds > 0 => {
                    // A full queue already means traffic; the keep-alive is not needed then.
                    let _ = self.out.try_send(Bytes::from_static(KEEPALIVE));
                }
                _ = sleep_until(self.expires_at) => {
                    state.metrics.error(code::UNAUTHENTICATED);
                    self.errors(json!([error(
                        code::UNAUTHENTICATED,
                        "the token expired; subscribe again with a fresh one and after: <last event id>",
                    )]))
                    .await;
                    return End::Complete;
                }
                changed = partner_changed(&mut partner_changes) => {
                    // A lagging receiver may have missed its partner: check then too.
                    if changed.is_none_or(|id| Some(id) == mine) && !Box::pin(self.still_allowed()).await {
                        state.metrics.error(code::FORBIDDEN);
                        self.errors(json!([error(
                            code::FORBIDDEN,
                            "the token's partner is suspended",
                        )]))
                        .await;
                        return End::Complete;
                    }
                }
                _ = self.out.closed() => return End::Cut,
                _ = until_true(&mut shutting_down) => return End::Cut,
            }
        }
    }

    /// Whether the principal's partner (if any) is still active; a failed check keeps the
    /// stream, as on the WebSocket.
    async fn still_allowed(&self) -> bool {
        let Some(id) = self.principal.partner_id() else {
            return true;
        };
        match super::auth::partner_is_active(&self.state, id).await {
            Ok(active) => active,
            Err(e) => {
                tracing::warn!(error = %e.message(), "checking a streaming partner's status failed");
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn an_event_stream_is_asked_for_by_accept() {
        assert!(wanted(&accept("text/event-stream")));
        assert!(wanted(&accept("application/json, Text/Event-Stream;q=0.5")));
        assert!(!wanted(&accept("application/graphql-response+json")));
        assert!(!wanted(&accept("text/event-stream;q=0")));
        assert!(!wanted(&HeaderMap::new()));
    }

    #[test]
    fn events_are_one_data_line() {
        let e = next_event(&json!({ "data": { "s": "a\nb" } }));
        assert_eq!(
            &e[..],
            b"event: next\ndata: {\"data\":{\"s\":\"a\\nb\"}}\n\n".as_slice()
        );
    }
}
