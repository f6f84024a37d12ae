//! One operation over either streaming transport, so that a scenario runs the same over an event
//! stream (`Accept: text/event-stream` on /graphql) and a WebSocket (graphql-transport-ws on
//! /graphql/ws): the event-stream client, and [`Transport`] and [`Sub`] over it and the
//! WebSocket client of `ws`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::ws::{Frame, Ws, TRANSPORT};

/// One event of an event stream.
#[derive(Debug, PartialEq)]
pub enum Event {
    Next(Value),
    Complete,
    /// The stream ended without `complete`.
    Cut,
}

/// An open event stream, read as a client reads it.
pub struct Sse {
    res: reqwest::Response,
    buffer: Vec<u8>,
}

impl TestApp {
    /// Opens a stream for one operation; the response when the server refused to open one.
    pub async fn sse(&self, token: Option<&str>, body: Value) -> Result<Sse, (StatusCode, Value)> {
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        if res.status() != StatusCode::OK {
            let status = res.status();
            return Err((status, res.json().await.expect("a JSON refusal")));
        }
        assert_eq!(
            res.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Ok(Sse::of(res))
    }
}

impl Sse {
    /// The stream of a response already received.
    pub fn of(res: reqwest::Response) -> Self {
        Self {
            res,
            buffer: Vec::new(),
        }
    }

    /// The next event (keep-alive comments skipped), waiting at most `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("UTF-8");
                let (mut event, mut data) = (None, String::new());
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match event.as_deref() {
                    None => continue,
                    Some("next") => {
                        return Some(Event::Next(serde_json::from_str(&data).expect("JSON")))
                    }
                    Some("complete") => return Some(Event::Complete),
                    Some(other) => panic!("unexpected event {other}"),
                }
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.res.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) | Ok(Err(_)) => return Some(Event::Cut),
            }
        }
    }

    pub async fn next(&mut self) -> Event {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    /// The next `next` event's result.
    pub async fn result(&mut self) -> Value {
        match self.next().await {
            Event::Next(v) => v,
            other => panic!("expected a result, got {other:?}"),
        }
    }
}

/// A streaming transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// An event stream: one operation per request.
    Sse,
    /// A graphql-transport-ws WebSocket, one operation on it here.
    Ws,
}

/// Both transports, for a test that runs its scenario over each.
pub const BOTH: [Transport; 2] = [Transport::Sse, Transport::Ws];

/// What an operation delivers next, read alike from either transport.
#[derive(Debug, PartialEq)]
pub enum Msg {
    /// A result (`next`): its payload.
    Next(Value),
    /// The operation refused before it ran (a WebSocket `error`): its errors.
    Error(Value),
    /// The end of the operation (`complete`).
    Complete,
    /// The connection ended: the WebSocket's close code and reason; an event stream cut without
    /// `complete` has neither.
    Closed(Option<u16>, String),
}

/// A connection refused before any operation ran: the status and body of an event stream's
/// request, or the WebSocket's close code and reason.
#[derive(Debug)]
pub enum Refused {
    Http(StatusCode, Value),
    Closed(u16, String),
}

/// One operation on its own connection.
pub enum Sub {
    Sse(Sse),
    Ws(Ws),
}

/// The id of a [`Sub`]'s operation on its WebSocket.
const OP: &str = "op";

impl TestApp {
    /// Opens `query` with `variables` as `token` over `transport`; panics when refused.
    pub async fn open(
        &self,
        transport: Transport,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Sub {
        self.try_open(transport, token, query, variables)
            .await
            .unwrap_or_else(|r| panic!("{transport:?} refused: {r:?}"))
    }

    /// [`TestApp::open`], or how the server refused the connection.
    pub async fn try_open(
        &self,
        transport: Transport,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<Sub, Refused> {
        match transport {
            Transport::Sse => self
                .sse(
                    Some(token),
                    json!({ "query": query, "variables": variables }),
                )
                .await
                .map(Sub::Sse)
                .map_err(|(status, body)| Refused::Http(status, body)),
            Transport::Ws => {
                let mut ws = self.ws(TRANSPORT).await;
                ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
                    .await;
                loop {
                    match ws.recv_within(Duration::from_secs(10)).await {
                        Some(Frame::Json(m)) if m["type"] == "connection_ack" => break,
                        Some(Frame::Json(m)) if m["type"] == "ping" => continue,
                        Some(Frame::Closed(code, reason)) => {
                            return Err(Refused::Closed(code, reason))
                        }
                        other => panic!("expected connection_ack, got {other:?}"),
                    }
                }
                ws.subscribe(OP, query, variables).await;
                Ok(Sub::Ws(ws))
            }
        }
    }
}

impl Sub {
    /// The next message (keep-alives skipped) within `wait`; `None` when nothing came.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Msg> {
        match self {
            Sub::Sse(s) => s.next_within(wait).await.map(|e| match e {
                Event::Next(v) => Msg::Next(v),
                Event::Complete => Msg::Complete,
                Event::Cut => Msg::Closed(None, String::new()),
            }),
            Sub::Ws(ws) => {
                let until = tokio::time::Instant::now() + wait;
                loop {
                    let left = until.saturating_duration_since(tokio::time::Instant::now());
                    let m = match ws.recv_within(left).await? {
                        Frame::Closed(code, reason) => {
                            return Some(Msg::Closed(Some(code), reason))
                        }
                        Frame::Json(m) => m,
                    };
                    let ty = m["type"].as_str().unwrap_or_default();
                    if matches!(ty, "ping" | "pong" | "ka") {
                        continue;
                    }
                    assert_eq!(m["id"], OP, "{m}");
                    return Some(match ty {
                        "next" => Msg::Next(m["payload"].clone()),
                        "error" => Msg::Error(m["payload"].clone()),
                        "complete" => Msg::Complete,
                        _ => panic!("unexpected message {m}"),
                    });
                }
            }
        }
    }

    /// The next message; panics when nothing comes within 10 s.
    pub async fn next(&mut self) -> Msg {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The next result's payload; panics on anything else.
    pub async fn result(&mut self) -> Value {
        match self.next().await {
            Msg::Next(v) => v,
            other => panic!("expected a result, got {other:?}"),
        }
    }

    /// The operation completes next.
    pub async fn completes(&mut self) {
        assert_eq!(self.next().await, Msg::Complete);
    }

    /// The operation's refusal before it ran, as each transport frames it (an event stream: a
    /// result with errors, then `complete`; a WebSocket: `error`); its first error.
    pub async fn refused(&mut self) -> Value {
        match self {
            Sub::Sse(_) => {
                let r = self.result().await;
                assert!(r["errors"].is_array(), "{r}");
                self.completes().await;
                r["errors"][0].clone()
            }
            Sub::Ws(_) => match self.next().await {
                Msg::Error(errors) => errors[0].clone(),
                other => panic!("expected an error, got {other:?}"),
            },
        }
    }

    /// The server ends the operation refusing it, after any results: an event stream with a
    /// result whose error is `code` and whose message names `words`, then `complete`; a
    /// WebSocket by closing with `close` and a reason that names `words`.
    pub async fn ends_refused(&mut self, code: &str, close: u16, words: &str) {
        let sse = matches!(self, Sub::Sse(_));
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match (sse, self.next_within(left).await) {
                (_, Some(Msg::Next(r))) if r.get("data").is_some_and(|d| !d.is_null()) => {}
                (true, Some(Msg::Next(r))) => {
                    assert_eq!(r["errors"][0]["extensions"]["code"], code, "{r}");
                    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
                    assert!(message.contains(words), "{r}");
                    self.completes().await;
                    return;
                }
                (false, Some(Msg::Closed(Some(c), reason))) => {
                    assert_eq!(c, close, "{reason}");
                    assert!(reason.contains(words), "{reason}");
                    return;
                }
                (_, other) => panic!("expected the operation to be ended, got {other:?}"),
            }
        }
    }

    /// Results skipped, how the connection ended: see [`Msg::Closed`].
    pub async fn closed(&mut self) -> (Option<u16>, String) {
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Msg::Next(_)) => continue,
                Some(Msg::Closed(code, reason)) => return (code, reason),
                other => panic!("expected the connection to end, got {other:?}"),
            }
        }
    }

    /// Nothing arrives (but keep-alives) for `wait`.
    pub async fn silent_for(&mut self, wait: Duration) -> Result<(), Msg> {
        match self.next_within(wait).await {
            None => Ok(()),
            Some(m) => Err(m),
        }
    }
}
