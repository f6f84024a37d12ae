//! A connection's background tasks: each running operation, and the writer that sends what
//! they queue.

use super::*;

/// One running operation of a connection.
pub(super) struct Op {
    pub(super) state: AppState,
    pub(super) principal: Principal,
    pub(super) operation: Operation,
    pub(super) deadline: Instant,
    pub(super) proto: Proto,
    pub(super) id: String,
    pub(super) request_id: String,
    pub(super) out: mpsc::Sender<Out>,
    pub(super) slow: mpsc::Sender<()>,
}

impl Op {
    /// Queues a message; false when the connection is gone or the client stopped reading.
    async fn send(&self, text: String) -> bool {
        let wait = Duration::from_millis(self.state.realtime.ws_slow_consumer_ms);
        match self.out.send_timeout(Out::Text(text), wait).await {
            Ok(()) => true,
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                let _ = self.slow.try_send(());
                false
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }

    pub(super) async fn run(self, first: Prepared) {
        let metrics = &self.state.metrics;
        if first.ty == Some(OperationType::Subscription) {
            let shape = first.shape.clone();
            let mut stream = self.state.schema.execute_stream(first.request);
            let mut start = true;
            while let Some(resp) = stream.next().await {
                let (answer, request_error) =
                    graphql_result(resp, &self.request_id, metrics, &shape);
                if start && request_error {
                    let errors = Value::Array(answer.errors().to_vec());
                    self.send(protocol::refused(&self.id, errors)).await;
                    return;
                }
                let json = answer.into_json();
                start = false;
                if !self.send(protocol::next(self.proto, &self.id, json)).await {
                    return;
                }
            }
        } else {
            let (state, principal, rid) = (&self.state, &self.principal, &self.request_id);
            let outcome =
                execute::run(state, principal, rid, &self.operation, first, self.deadline).await;
            let json = match outcome {
                Outcome::Ran {
                    answer,
                    request_error: true,
                } => {
                    let errors = Value::Array(answer.errors().to_vec());
                    self.send(protocol::refused(&self.id, errors)).await;
                    return;
                }
                other => other.into_answer().into_json(),
            };
            if !self.send(protocol::next(self.proto, &self.id, json)).await {
                return;
            }
        }
        self.send(protocol::complete(&self.id)).await;
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
