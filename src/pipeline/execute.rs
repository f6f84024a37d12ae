//! Running one query or mutation, over HTTP and WebSocket alike: the deadline, a resolver's
//! panic, and the write that gave way to a concurrent one and runs again. Subscriptions stream
//! instead (`live`); everything before execution is in `prepare`.

use async_graphql::parser::types::OperationType;
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;

use super::answer::{self, error, timeout_json, Answer};
use super::persisted::Operation;
use super::prepare::{prepare, Prepared};
use crate::auth::Principal;
use crate::error::code;
use crate::AppState;

/// How a query or mutation ended.
pub enum Outcome {
    /// It ran: the response, and whether it failed before execution (validation), which a
    /// transport may answer differently from a result with field errors.
    Ran { answer: Answer, request_error: bool },
    /// A resolver panicked: the response says INTERNAL and names the request id.
    Panicked(Answer),
    /// The deadline passed: the response says TIMEOUT. A write it had started commits or rolls
    /// back as a whole in its own task.
    TimedOut(Answer),
}

impl Outcome {
    /// The response.
    pub fn into_answer(self) -> Answer {
        match self {
            Self::Ran { answer, .. } | Self::Panicked(answer) | Self::TimedOut(answer) => answer,
        }
    }

    fn has_code(&self, code: &str) -> bool {
        match self {
            Self::Ran { answer, .. } | Self::Panicked(answer) | Self::TimedOut(answer) => {
                answer.has_code(code)
            }
        }
    }
}

/// Times a write that collided with a concurrent one is run again.
const WRITE_RETRIES: u32 = 3;

/// Runs the prepared `first` (made from `op`) within `deadline`.
///
/// A mutation of one root field whose transaction gave way to a concurrent one (a deadlock, a
/// serialisation failure) wrote nothing at all, so it runs again, at most [`WRITE_RETRIES`]
/// times after a short random pause, within the same deadline. With more root fields an
/// earlier one may have committed: the client sees WRITE_CONFLICT.
pub async fn run(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    op: &Operation,
    first: Prepared,
    deadline: Instant,
) -> Outcome {
    let retryable = first.ty == Some(OperationType::Mutation) && first.one_field;
    let shape = first.shape.clone();
    let mut outcome = once(state, request_id, first.request, &shape, deadline).await;
    let mut attempt = 0;
    while retryable && attempt < WRITE_RETRIES && outcome.has_code(code::WRITE_CONFLICT) {
        attempt += 1;
        tracing::info!(attempt, "a write collided with another; running it again");
        let pause = 5 + uuid::Uuid::new_v4().as_u128() % 20;
        tokio::time::sleep(std::time::Duration::from_millis(
            pause as u64 * attempt as u64,
        ))
        .await;
        outcome = match prepare(state, principal, op, deadline).await {
            Ok(p) => once(state, request_id, p.request, &shape, deadline).await,
            Err(refusal) => Outcome::Ran {
                answer: Answer::Json(refusal),
                request_error: true,
            },
        };
    }
    outcome
}

/// Runs one request within `deadline`, turning a panic or the deadline into its response.
async fn once(
    state: &AppState,
    request_id: &str,
    req: async_graphql::Request,
    shape: &super::order::Shape,
    deadline: Instant,
) -> Outcome {
    // Executed in a task of its own: resolvers run on a fresh stack, not at the bottom of the
    // HTTP stack's layers, and a panic ends that task only.
    let schema = state.schema.clone();
    let mut task = tokio::spawn(async move { schema.execute(req).await }.in_current_span());
    let joined = tokio::time::timeout_at(deadline, &mut task).await;
    if joined.is_err() {
        // Abandoned: nothing more is read; a write it started finishes in its own task.
        task.abort();
    }
    match joined {
        Ok(Ok(resp)) => {
            let (answer, request_error) =
                answer::graphql_result(resp, request_id, &state.metrics, shape);
            Outcome::Ran {
                answer,
                request_error,
            }
        }
        Ok(Err(_panic)) => {
            tracing::error!("a resolver panicked or its task was stopped");
            state.metrics.error(code::INTERNAL);
            let mut e = error(code::INTERNAL, crate::error::INTERNAL_MESSAGE);
            e["extensions"]["requestId"] = Value::String(request_id.to_string());
            Outcome::Panicked(Answer::Json(serde_json::json!({ "errors": [e] })))
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = state.limits.request_timeout_ms,
                "request timed out"
            );
            Outcome::TimedOut(Answer::Json(timeout_json(
                &state.metrics,
                state.limits.request_timeout_ms,
            )))
        }
    }
}
