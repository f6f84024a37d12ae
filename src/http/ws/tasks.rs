//! A connection's background tasks: each running operation, and the writer that sends what
//! they queue.

use super::*;
use crate::auth::Principal;
use crate::pipeline::execute::Outcome;
use crate::pipeline::live::{Next, Start, Subscriber};
use crate::pipeline::operation::Ready;

/// One running operation of a connection.
pub(super) struct Op {
    pub(super) state: AppState,
    pub(super) principal: Principal,
    pub(super) proto: Proto,
    pub(super) id: String,
    pub(super) request_id: String,
    pub(super) out: mpsc::Sender<Out>,
    pub(super) slow: Arc<Notify>,
    pub(super) operations: Operations,
    pub(super) generation: u64,
}

impl Op {
    /// Queues a message; false when the connection is gone or the client stopped reading.
    async fn send(&self, text: String) -> bool {
        let wait = Duration::from_millis(self.state.realtime.ws_slow_consumer_ms);
        match self.out.send_timeout(Out::Text(text), wait).await {
            Ok(()) => true,
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                self.slow.notify_one();
                false
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }

    /// Runs the operation, then takes it out of the connection's operations before its last
    /// message (`complete`, or `error` when it was refused).
    ///
    /// `ready` comes boxed and each phase's future is boxed, so that a subscription's task
    /// holds only what it needs while it waits for events.
    pub(super) async fn run(self, ready: Box<Ready>) {
        let last = if ready.is_subscription() {
            let started = ready
                .subscribe(&self.state, &self.principal, &self.request_id)
                .await;
            match started {
                Start::Refused(errors) => Some(protocol::refused(&self.id, errors)),
                Start::Answered(payload) => self
                    .send(protocol::next_raw(self.proto, &self.id, &payload))
                    .await
                    .then(|| protocol::complete(&self.id)),
                Start::Live(sub) => self.follow(sub).await,
            }
        } else {
            Box::pin(self.answer(*ready)).await
        };
        self.operations.finished(&self.id, self.generation);
        if let Some(last) = last {
            self.send(last).await;
        }
    }

    /// Sends a subscription's results; its last message when it ends by itself.
    async fn follow(&self, mut sub: Subscriber) -> Option<String> {
        loop {
            let (payload, last) = match sub.next().await {
                Next::Result(p) => (p, false),
                Next::Last(p) => (p, true),
                Next::End => return Some(protocol::complete(&self.id)),
            };
            if !self
                .send(protocol::next_raw(self.proto, &self.id, &payload))
                .await
            {
                return None;
            }
            if last {
                return Some(protocol::complete(&self.id));
            }
        }
    }

    /// Runs a query or mutation and sends its result; its last message.
    async fn answer(&self, ready: Ready) -> Option<String> {
        let outcome = ready
            .execute(&self.state, &self.principal, &self.request_id)
            .await;
        let json = match outcome {
            Outcome::Ran {
                answer,
                request_error: true,
            } => {
                let errors = Value::Array(answer.errors().to_vec());
                return Some(protocol::refused(&self.id, errors));
            }
            other => other.into_answer().into_json(),
        };
        self.send(protocol::next(self.proto, &self.id, json))
            .await
            .then(|| protocol::complete(&self.id))
    }
}

/// Writes queued messages to the socket. An urgent close stops the data at once (even a write
/// the client is not reading) and sends the close frame if the socket takes it in time.
pub(super) async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Out>,
    mut urgent: watch::Receiver<Option<(u16, String)>>,
    grace: Duration,
) {
    let mut frame = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = signalled(&mut urgent) => break,
            next = queue.recv() => next,
        };
        match next {
            None => break,
            Some(Out::Close(code, reason)) => {
                frame = Some((code, reason));
                break;
            }
            Some(Out::Text(text)) => {
                tokio::select! {
                    sent = sink.send(Message::Text(text.into())) => if sent.is_err() { return },
                    _ = signalled(&mut urgent) => break,
                }
            }
        }
    }
    let frame = frame.or_else(|| urgent.borrow().clone());
    if let Some((code, reason)) = frame {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(grace, sink.send(close)).await;
    }
    let _ = tokio::time::timeout(grace, sink.close()).await;
}
