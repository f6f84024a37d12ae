//! Serving one operation, whatever carries it: the persisted document resolved, the checks
//! made before execution, a mutation over GET refused, the document registered, then a
//! [`Ready`] operation that executes once or streams.

use async_graphql::parser::types::OperationType;
use serde_json::Value;
use tokio::time::Instant;

use super::answer::{error, refusal_json};
use super::execute::{self, Outcome};
use super::live::{self, Start};
use super::persisted::{Operation, Submitted};
use super::prepare::{prepare, Prepared};
use crate::auth::Principal;
use crate::error::code;
use crate::AppState;

/// How the operation arrived: a GET request may not change anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    /// POST, or a WebSocket message.
    Post,
}

/// Why an operation was refused before it ran.
pub enum Refused {
    /// A check refused the document: the response, with `errors`.
    Checks(Value),
    /// A mutation over GET.
    MutationOverGet,
}

impl Refused {
    /// The refusal's `errors`, for a transport that answers it as a result (HTTP answers a
    /// mutation over GET with 405 instead).
    pub fn errors(self) -> Value {
        match self {
            Self::Checks(mut refusal) => refusal["errors"].take(),
            Self::MutationOverGet => serde_json::json!([error(
                code::BAD_REQUEST,
                "mutations are only accepted over POST"
            )]),
        }
    }
}

/// An operation that passed every check, ready to execute or to stream.
pub struct Ready {
    /// As the client sent it, kept so that a write that collided can be prepared again.
    pub operation: Operation,
    pub prepared: Prepared,
    pub deadline: Instant,
}

/// Resolves, checks and registers `submitted` for `principal`, within the request timeout.
pub async fn serve(
    state: &AppState,
    principal: &Principal,
    submitted: Submitted,
    method: Method,
) -> Result<Ready, Refused> {
    let resolved = state
        .documents
        .resolve(&state.db, submitted)
        .await
        .map_err(|refusal| Refused::Checks(refusal_json(&state.metrics, refusal)))?;
    let operation = resolved.operation;
    let deadline = Instant::now() + state.limits.request_timeout();
    let prepared = prepare(state, principal, &operation, deadline)
        .await
        .map_err(Refused::Checks)?;
    if method == Method::Get && prepared.ty == Some(OperationType::Mutation) {
        return Err(Refused::MutationOverGet);
    }
    if let Some(hash) = resolved.register {
        state
            .documents
            .register(&state.db, hash, &operation.query)
            .await;
    }
    Ok(Ready {
        operation,
        prepared,
        deadline,
    })
}

impl Ready {
    /// Whether it is a subscription, which streams instead of answering once.
    pub fn is_subscription(&self) -> bool {
        self.prepared.ty == Some(OperationType::Subscription)
    }

    /// Runs a query or mutation to its answer.
    pub async fn execute(
        self,
        state: &AppState,
        principal: &Principal,
        request_id: &str,
    ) -> Outcome {
        let Ready {
            operation,
            prepared,
            deadline,
        } = self;
        execute::run(state, principal, request_id, &operation, prepared, deadline).await
    }

    /// Starts a subscription; the document's text is its group's business from here on.
    pub async fn subscribe(
        self,
        state: &AppState,
        principal: &Principal,
        request_id: &str,
    ) -> Start {
        Box::pin(live::start(state, principal, self.prepared, request_id)).await
    }
}
