//! `/graphql/ws`: GraphQL over WebSocket, for subscriptions (queries and mutations work too).
//!
//! The connection state machine is ours rather than async-graphql's stock handler so that the
//! close codes are the ones the graphql-transport-ws specification defines (4400, 4401, 4406,
//! 4408, 4409, 4429), the token is checked at `connection_init`, the connection ends when the
//! token expires, and a client that does not read cannot make the server buffer without bound.

pub mod protocol;
mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::{sleep_until, Instant};

use self::protocol::{close, Incoming, Proto};
use super::RequestId;
use crate::error::code;
use crate::pipeline::answer::error;
use crate::pipeline::operation::{self, Method};
use crate::pipeline::persisted::Submitted;
use crate::pipeline::session::{admit_session, Denial, Rate, Session};
use crate::realtime::until_true;
use crate::AppState;

use self::tasks::{write, Op};

/// What the writer task sends.
enum Out {
    Text(String),
    /// Close after what is queued before it.
    Close(u16, String),
}

/// Upgrades to a WebSocket with one of the two subprotocols; any other closes with 4406.
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let ws = ws
        .protocols([protocol::TRANSPORT, protocol::LEGACY])
        // GraphQL messages are small: a 2 KiB read buffer (instead of 128 KiB) keeps an idle
        // connection cheap (the buffer is filled to its size on every read, so all of it is
        // resident); larger messages still pass, in more reads.
        .read_buffer_size(2 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(state.limits.max_body_bytes)
        .max_frame_size(state.limits.max_body_bytes);
    let proto = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Proto::from_name);
    let header_token = super::admit::header_token(&headers);
    ws.on_upgrade(move |socket| async move {
        match proto {
            Some(proto) => Connection::run(state, socket, proto, header_token, rid.0).await,
            None => {
                let mut socket = socket;
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: close::SUBPROTOCOL_NOT_ACCEPTABLE,
                        reason:
                            "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws"
                                .into(),
                    })))
                    .await;
            }
        }
    })
}

struct Connection {
    state: AppState,
    proto: Proto,
    request_id: String,
    header_token: Option<String>,
    out: mpsc::Sender<Out>,
    /// Urgent close (slow consumer, shutdown): the writer stops sending data and closes.
    urgent: watch::Sender<Option<(u16, String)>>,
    init_received: bool,
    /// The admitted session, from `connection_init` on.
    session: Option<Session>,
    operations: Operations,
    generation: u64,
    /// Raised by an operation whose client stopped reading: the main loop closes with 1013.
    slow: Arc<Notify>,
}

/// The running operations of a connection by id, each with its generation (an id can be used
/// again once its operation ended). An operation takes itself out before its last message,
/// so a client that reuses the id on `complete` finds it free.
#[derive(Clone, Default)]
pub(super) struct Operations(Arc<std::sync::Mutex<HashMap<String, (u64, AbortHandle)>>>);

impl Operations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, AbortHandle)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes operation `id` of `generation` out (when it is still the one under that id).
    pub(super) fn finished(&self, id: &str, generation: u64) {
        let mut ops = self.lock();
        if ops.get(id).is_some_and(|(g, _)| *g == generation) {
            ops.remove(id);
        }
    }

    /// Stops operation `id`, if it runs.
    fn abort(&self, id: &str) {
        if let Some((_, task)) = self.lock().remove(id) {
            task.abort();
        }
    }

    fn abort_all(&self) {
        for (_, (_, task)) in self.lock().drain() {
            task.abort();
        }
    }
}

/// How the main loop ends.
type Closing = Option<(u16, String)>;

impl Connection {
    async fn run(
        state: AppState,
        socket: WebSocket,
        proto: Proto,
        header_token: Option<String>,
        request_id: String,
    ) {
        let (sink, mut stream) = socket.split();
        let capacity = state.realtime.ws_send_buffer as usize;
        let (out, out_rx) = mpsc::channel(capacity);
        let (urgent, urgent_rx) = watch::channel(None);
        // How long a closing connection may take to flush its close frame.
        let grace = Duration::from_millis(state.realtime.ws_close_grace_ms);
        let writer = tokio::spawn(write(sink, out_rx, urgent_rx, grace));
        let slow = Arc::new(Notify::new());
        let mut conn = Connection {
            proto,
            request_id,
            header_token,
            out,
            urgent,
            init_received: false,
            session: None,
            operations: Operations::default(),
            generation: 0,
            slow: slow.clone(),
            state,
        };
        conn.state.metrics.ws_opened();
        // The upgrade request's buffers were just freed: trim once opening quietens down.
        conn.state.gate.touch();
        let closing = conn.serve(&mut stream, &slow).await;
        conn.operations.abort_all();
        let Connection {
            out, urgent, state, ..
        } = conn;
        // Boxed: the closing handshake's future would otherwise size the connection's task.
        Box::pin(Self::close(state, out, urgent, writer, closing, grace)).await;
    }

    /// Reads and answers the client's messages until the connection must end: how it closes.
    async fn serve(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        slow: &Notify,
    ) -> Closing {
        let realtime = self.state.realtime.clone();
        let init_deadline = tokio::time::sleep(Duration::from_millis(realtime.ws_init_timeout_ms));
        tokio::pin!(init_deadline);
        let ka = Duration::from_secs(realtime.ws_keepalive_seconds.max(1));
        let mut keepalive = tokio::time::interval_at(Instant::now() + ka, ka);
        let mut shutting_down = self.state.hub.closing();
        let far = Instant::now() + Duration::from_secs(10 * 365 * 86_400);
        loop {
            let expiry = self.session.as_ref().map_or(far, |s| s.expires_at);
            tokio::select! {
                msg = stream.next() => match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(text))) => {
                        // Boxed, as below: rarely run, the futures of these steps would otherwise
                        // size every idle connection's task.
                        if let Err(c) = Box::pin(self.on_text(text.as_str())).await {
                            break c;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        break Some((close::BAD_REQUEST, "Invalid message received: binary frames are not supported".into()))
                    }
                    Some(Ok(_)) => {}
                },
                _ = &mut init_deadline, if !self.init_received => {
                    break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
                }
                () = partner_changed(&mut self.session) => {
                    if let Err(c) = Box::pin(self.still_allowed()).await {
                        break c;
                    }
                }
                _ = keepalive.tick(), if self.session.is_some() && realtime.ws_keepalive_seconds > 0 => {
                    if let Err(c) = Box::pin(self.still_allowed()).await {
                        break c;
                    }
                    // A full queue already means traffic; the keep-alive is not needed then.
                    let _ = self.out.try_send(Out::Text(protocol::keepalive(self.proto)));
                }
                _ = sleep_until(expiry), if self.session.is_some() => {
                    break Some((close::UNAUTHORIZED, "Unauthorized: the token expired; reconnect with a fresh one".into()));
                }
                _ = slow.notified() => {
                    tracing::warn!("closing a WebSocket whose client does not read its messages");
                    let reason = "slow consumer: messages were not read in time; reconnect with after: <last event id>";
                    let _ = self.urgent.send(Some((close::TRY_AGAIN_LATER, reason.into())));
                    break Some((close::TRY_AGAIN_LATER, reason.into()));
                }
                _ = until_true(&mut shutting_down) => {
                    let reason = "the server is restarting; reconnect with after: <last event id>";
                    let _ = self.urgent.send(Some((close::GOING_AWAY, reason.into())));
                    break Some((close::GOING_AWAY, reason.into()));
                }
            }
        }
    }

    /// Ends the connection: the close frame after what is queued (or at once when the close
    /// is urgent), then the writer, given `grace` to finish.
    async fn close(
        state: AppState,
        out: mpsc::Sender<Out>,
        urgent: watch::Sender<Option<(u16, String)>>,
        writer: JoinHandle<()>,
        closing: Closing,
        grace: Duration,
    ) {
        state
            .metrics
            .ws_closed(closing.as_ref().map_or(1005, |(code, _)| *code));
        match closing {
            // Already on its way through the urgent path.
            Some((code, _)) if urgent.borrow().as_ref().is_some_and(|(c, _)| *c == code) => {}
            Some((code, reason)) => {
                let frame = Out::Close(code, protocol::reason(&reason));
                if out.send_timeout(frame, grace).await.is_err() {
                    let _ = urgent.send(Some((code, protocol::reason(&reason))));
                }
            }
            None => {}
        }
        drop(out);
        let mut writer = writer;
        if tokio::time::timeout(grace * 2, &mut writer).await.is_err() {
            writer.abort();
        }
        // `urgent` lives until the writer is done: its end would read as a signal.
        drop(urgent);
        state.gate.touch();
    }

    /// Queues a message of the connection itself (ack, pong, refusals). A queue that stays full
    /// flags the client as slow and the main loop closes it; the `Result` only lets handlers
    /// end with `return self.send(..)`.
    async fn send(&self, text: String) -> Result<(), Closing> {
        match self
            .out
            .send_timeout(
                Out::Text(text),
                Duration::from_millis(self.state.realtime.ws_slow_consumer_ms),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(_) => {
                self.slow.notify_one();
                Ok(())
            }
        }
    }

    /// Handles one text frame; `Err` ends the connection with that close code.
    async fn on_text(&mut self, text: &str) -> Result<(), Closing> {
        let msg = protocol::parse(self.proto, text).map_err(|m| Some((close::BAD_REQUEST, m)))?;
        match msg {
            Incoming::Init(payload) => self.on_init(payload).await,
            Incoming::Ping => self.send(protocol::pong()).await,
            Incoming::Pong => Ok(()),
            Incoming::Terminate => Err(Some((close::NORMAL, "connection terminated".into()))),
            Incoming::Complete { id } => {
                self.operations.abort(&id);
                Ok(())
            }
            Incoming::Subscribe { id, payload } => self.on_subscribe(id, payload).await,
        }
    }

    async fn on_init(&mut self, payload: Option<Map<String, Value>>) -> Result<(), Closing> {
        if self.init_received {
            return Err(Some((
                close::TOO_MANY_INITS,
                "Too many initialisation requests".into(),
            )));
        }
        self.init_received = true;
        let refuse = |this: &Self, why: String| {
            this.state.metrics.error(code::UNAUTHENTICATED);
            if this.proto == Proto::Legacy {
                let _ = this
                    .out
                    .try_send(Out::Text(protocol::connection_error(&why)));
            }
            Err(Some((close::UNAUTHORIZED, format!("Unauthorized: {why}"))))
        };
        let token = match payload.as_ref().map(protocol::token_from_init) {
            Some(Err(why)) => return refuse(self, why),
            Some(Ok(t)) => t,
            None => None,
        }
        .or_else(|| self.header_token.clone());
        let Some(token) = token else {
            return refuse(
                self,
                "send {\"Authorization\": \"Bearer <JWT>\"} in the connection_init payload".into(),
            );
        };
        let session = match admit_session(&self.state, Ok(token), Rate::AtEachOperation).await {
            Ok(session) => session,
            Err(Denial::Unauthenticated(m)) => return refuse(self, m),
            Err(denial) => return Err(Some(Self::close_for(&denial))),
        };
        self.session = Some(session);
        self.send(protocol::ack(self.proto)).await?;
        if self.proto == Proto::Legacy {
            self.send(protocol::keepalive(self.proto)).await?;
        }
        Ok(())
    }

    /// The close code and reason of a denied connection. The database being unreachable or the
    /// server starting close with 1013, which a client's retry logic reconnects after (4401
    /// would make it give up).
    fn close_for(denial: &Denial) -> (u16, String) {
        let code = match denial {
            Denial::Unauthenticated(_) => close::UNAUTHORIZED,
            Denial::Unavailable | Denial::Starting => close::TRY_AGAIN_LATER,
            Denial::Internal => close::INTERNAL,
            Denial::RateLimited { .. } | Denial::TooManyConnections { .. } => close::POLICY,
            Denial::Suspended => close::FORBIDDEN,
        };
        let reason = match denial {
            Denial::Unauthenticated(m) => format!("Unauthorized: {m}"),
            Denial::Suspended => format!("Forbidden: {}", denial.message()),
            Denial::Internal => "internal error".into(),
            other => other.message(),
        };
        (code, reason)
    }

    /// A partner suspended while connected loses the connection, as its next HTTP request
    /// would be refused. Checked when its partner's record changes (the `partner.updated`
    /// event reaches every instance), at each operation and at each keep-alive.
    async fn still_allowed(&self) -> Result<(), Closing> {
        match &self.session {
            Some(session) => session
                .still_allowed(&self.state)
                .await
                .map_err(|denial| Some(Self::close_for(&denial))),
            None => Ok(()),
        }
    }

    async fn on_subscribe(&mut self, id: String, submitted: Submitted) -> Result<(), Closing> {
        let Some(session) = &self.session else {
            return Err(Some((close::UNAUTHORIZED, "Unauthorized".into())));
        };
        let principal = session.principal.clone();
        self.still_allowed().await?;
        if self.operations.lock().contains_key(&id) {
            return Err(Some((
                close::SUBSCRIBER_EXISTS,
                protocol::reason(&format!("Subscriber for {id} already exists")),
            )));
        }
        let max = self.state.realtime.ws_max_subscriptions;
        if self.operations.lock().len() >= max {
            self.state.metrics.error(code::LIMIT_EXCEEDED);
            let errors = json!([error(
                code::LIMIT_EXCEEDED,
                format!(
                    "a connection may run at most {max} operations at once; complete one first"
                ),
            )]);
            return self.send(protocol::refused(&id, errors)).await;
        }
        if let Err(denial) = session.check_rate(&self.state) {
            let errors = json!([error(denial.code(), denial.message())]);
            return self.send(protocol::refused(&id, errors)).await;
        }
        let ready = match operation::serve(&self.state, &principal, submitted, Method::Post).await {
            Ok(ready) => ready,
            Err(refused) => return self.send(protocol::refused(&id, refused.errors())).await,
        };
        self.generation += 1;
        let run = Op {
            state: self.state.clone(),
            principal,
            proto: self.proto,
            id: id.clone(),
            request_id: format!("{}/{id}", self.request_id),
            out: self.out.clone(),
            slow: self.slow.clone(),
            operations: self.operations.clone(),
            generation: self.generation,
        };
        // Under the lock: an operation that ends at once takes itself out after this.
        let mut operations = self.operations.lock();
        let task = tokio::spawn(run.run(Box::new(ready)));
        operations.insert(id, (self.generation, task.abort_handle()));
        Ok(())
    }
}

/// Completes when an urgent close is set; never when the sender is gone.
async fn signalled(rx: &mut watch::Receiver<Option<(u16, String)>>) {
    if rx.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Completes when the session's partner changed (see [`Session::partner_changed`]); never
/// before `connection_init` admitted one.
async fn partner_changed(session: &mut Option<Session>) {
    match session {
        Some(session) => session.partner_changed().await,
        None => std::future::pending().await,
    }
}
