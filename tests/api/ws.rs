//! A raw WebSocket client for `/graphql/ws`, speaking either subprotocol frame by frame, so
//! tests see exactly what the server sends, close codes included.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub const TRANSPORT: &str = "graphql-transport-ws";
pub const LEGACY: &str = "graphql-ws";

/// What the server sent next.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Closed(u16, String),
}

pub struct Ws {
    pub proto: &'static str,
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    /// Opens a WebSocket with `proto` as its subprotocol (and `bearer` as the Authorization
    /// header, if given).
    pub async fn ws_with(&self, proto: &'static str, bearer: Option<&str>) -> Ws {
        let mut req = self.ws_url().into_client_request().unwrap();
        if !proto.is_empty() {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(proto));
        }
        if let Some(t) = bearer {
            req.headers_mut().insert(
                "Authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("WebSocket handshake");
        Ws { proto, stream }
    }

    pub async fn ws(&self, proto: &'static str) -> Ws {
        self.ws_with(proto, None).await
    }

    /// The newest outbox id: as `after`, a subscription that is live before the test's next
    /// change (a subscription without `after` starts whenever the server gets to it).
    pub async fn now(&self) -> String {
        self.scalar("SELECT COALESCE(MAX(id), 0) FROM events")
            .await
            .to_string()
    }

    /// A graphql-transport-ws connection, initialised with `token`.
    pub async fn ws_as(&self, token: &str) -> Ws {
        let mut ws = self.ws(TRANSPORT).await;
        ws.init(token).await;
        ws
    }
}

impl Ws {
    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// The next frame within `wait`; `None` when nothing came.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            let msg = match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return None,
                Ok(m) => m,
            };
            return Some(match msg {
                None | Some(Err(_)) => Frame::Closed(1006, "connection dropped".into()),
                Some(Ok(Message::Text(t))) => Frame::Json(serde_json::from_str(&t).expect("JSON")),
                Some(Ok(Message::Close(c))) => match c {
                    Some(f) => Frame::Closed(f.code.into(), f.reason.to_string()),
                    None => Frame::Closed(1005, String::new()),
                },
                Some(Ok(_)) => continue,
            });
        }
    }

    /// The next message that is not a keep-alive; panics on a close or after 10 s.
    pub async fn recv(&mut self) -> Value {
        loop {
            match self.recv_within(Duration::from_secs(10)).await {
                Some(Frame::Json(v)) if matches!(v["type"].as_str(), Some("ping" | "ka")) => {
                    continue
                }
                Some(Frame::Json(v)) => return v,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Waits for the server to close; returns the close code and reason. Messages before the
    /// close are skipped.
    pub async fn closed(&mut self) -> (u16, String) {
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_within(left).await {
                Some(Frame::Closed(code, reason)) => return (code, reason),
                Some(Frame::Json(_)) => continue,
                None => panic!("the server did not close the connection"),
            }
        }
    }

    /// Sends `connection_init` with the token and expects `connection_ack`.
    pub async fn init(&mut self, token: &str) {
        self.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        let ack = self.recv().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
    }

    /// Starts an operation (`subscribe`, or `start` on the legacy protocol).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let ty = if self.proto == LEGACY {
            "start"
        } else {
            "subscribe"
        };
        self.send(
            json!({ "type": ty, "id": id, "payload": { "query": query, "variables": variables } }),
        )
        .await;
    }

    /// The next result's payload for operation `id`; panics on anything else.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        let m = self.recv().await;
        let want = if self.proto == LEGACY { "data" } else { "next" };
        assert_eq!(
            (m["type"].as_str(), m["id"].as_str()),
            (Some(want), Some(id)),
            "{m}"
        );
        m["payload"].clone()
    }

    /// Nothing arrives (but keep-alives) for `wait`.
    pub async fn silent_for(&mut self, wait: Duration) -> Result<(), Value> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.recv_within(left).await {
                None => return Ok(()),
                Some(Frame::Json(v)) if matches!(v["type"].as_str(), Some("ping" | "ka")) => {}
                Some(Frame::Json(v)) => return Err(v),
                Some(Frame::Closed(c, r)) => return Err(json!({ "closed": c, "reason": r })),
            }
        }
    }
}
