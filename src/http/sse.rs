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

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::admit::{credential, denied};
use super::response::MediaType;
use crate::error::code;
use crate::pipeline::answer::error;
use crate::pipeline::execute::Outcome;
use crate::pipeline::live::{Next, Start, Subscriber};
use crate::pipeline::operation::{self, Method};
use crate::pipeline::persisted::Submitted;
use crate::pipeline::session::{admit_session, Rate, Session};
use crate::realtime::until_true;
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

/// Opens the event stream of one operation, after the same admission as any request.
pub async fn open(
    state: &AppState,
    request_id: &str,
    headers: &HeaderMap,
    submitted: Submitted,
    method: Method,
) -> Response {
    let session = match admit_session(state, credential(headers), Rate::Check).await {
        Ok(session) => session,
        Err(denial) => return denied(denial, MediaType::Json),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(state.realtime.ws_send_buffer as usize);
    let stream = Stream {
        state: state.clone(),
        request_id: request_id.to_string(),
        session,
        out: tx,
    };
    state.metrics.sse_opened();
    tokio::spawn(stream.run(submitted, method));
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
    session: Session,
    out: mpsc::Sender<Bytes>,
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

    async fn run(mut self, submitted: Submitted, method: Method) {
        let end = self.operation(submitted, method).await;
        if matches!(end, End::Complete) {
            self.send(Bytes::from_static(COMPLETE)).await;
        }
        self.state.metrics.sse_closed();
        self.state.gate.touch();
    }

    /// Sends one result and completes; cut when the client is gone.
    async fn last(&self, bytes: Bytes) -> End {
        if self.send(bytes).await {
            End::Complete
        } else {
            End::Cut
        }
    }

    async fn operation(&mut self, submitted: Submitted, method: Method) -> End {
        let state = self.state.clone();
        let principal = self.session.principal.clone();
        let ready = match operation::serve(&state, &principal, submitted, method).await {
            Ok(ready) => ready,
            Err(refused) => {
                self.errors(refused.errors()).await;
                return End::Complete;
            }
        };
        if !ready.is_subscription() {
            let outcome = ready.execute(&state, &principal, &self.request_id);
            let answer = tokio::select! {
                outcome = outcome => match outcome {
                    Outcome::Ran { answer, .. }
                    | Outcome::Panicked(answer)
                    | Outcome::TimedOut(answer) => answer,
                },
                _ = self.out.closed() => return End::Cut,
            };
            return self.last(next_event(&answer)).await;
        }
        match ready.subscribe(&state, &principal, &self.request_id).await {
            Start::Refused(errors) => {
                self.errors(errors).await;
                End::Complete
            }
            Start::Answered(payload) => self.last(next_raw(&payload)).await,
            Start::Live(sub) => Box::pin(self.follow(sub)).await,
        }
    }

    /// Streams a subscription's results until it, the token, the partner's access, the client
    /// or the server ends.
    async fn follow(&mut self, mut sub: Subscriber) -> End {
        let state = self.state.clone();
        let ka = Duration::from_secs(state.realtime.ws_keepalive_seconds.max(1));
        let mut keepalive = tokio::time::interval_at(Instant::now() + ka, ka);
        let mut shutting_down = state.hub.closing();
        let expires_at = self.session.expires_at;
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
                _ = sleep_until(expires_at) => {
                    state.metrics.error(code::UNAUTHENTICATED);
                    self.errors(json!([error(
                        code::UNAUTHENTICATED,
                        "the token expired; subscribe again with a fresh one and after: <last event id>",
                    )]))
                    .await;
                    return End::Complete;
                }
                () = self.session.partner_changed() => {
                    if let Err(denial) = Box::pin(self.session.still_allowed(&state)).await {
                        self.errors(json!([error(denial.code(), denial.message())])).await;
                        return End::Complete;
                    }
                }
                _ = self.out.closed() => return End::Cut,
                _ = until_true(&mut shutting_down) => return End::Cut,
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
