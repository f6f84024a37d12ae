//! Preparing one operation, over HTTP and WebSocket alike: the checks made before validation
//! (off the async workers, within the request's deadline) and the request built from them.

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::Variables;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::answer::{error, refusal_json, timeout_json};
use super::limits::{self, Checks};
use super::persisted::Operation;
use super::{context, document, scan};
use crate::config::LimitArgs;
use crate::error::code;
use crate::AppState;

/// A document that passed every check before validation.
struct Checked {
    query: String,
    doc: ExecutableDocument,
    ty: Option<OperationType>,
    /// The operation selects one root field (and no fragment at the root).
    one_field: bool,
    variables: Map<String, Value>,
}

/// The checks made before validation, in order of cost: the linear scan of the text, the
/// parse, the expanded size of the document, aliases and page sizes, the variables' nesting.
fn check(
    limits: &LimitArgs,
    query: String,
    operation_name: Option<&str>,
    variables: Map<String, Value>,
) -> Result<Checked, limits::Refusal> {
    scan::document(&query, &limits.into())?;
    let doc = limits::parse(&query)?;
    document::measure(&doc, &limits.into())?;
    Checks {
        max_aliases: limits.max_aliases,
        max_page_size: limits.max_page_size,
        variables: &variables,
    }
    .run(&doc)?;
    if variables
        .values()
        .any(|v| value_depth(v) > limits.max_nesting)
    {
        return Err(scan::limit_refusal(
            "max-nesting",
            limits.max_nesting,
            format!(
                "a variable nests arrays and objects deeper than {} levels",
                limits.max_nesting
            ),
            None,
        ));
    }
    limits::required_variables(&doc, operation_name, &variables)?;
    if limits.disable_introspection {
        limits::refuse_introspection(&doc, operation_name)?;
    }
    let ty = limits::operation_type(&doc, operation_name);
    let one_field = limits::root_selections(&doc, operation_name) == Some(1);
    Ok(Checked {
        query,
        doc,
        ty,
        one_field,
        variables,
    })
}

/// The nesting of arrays and objects in `v`, walked without recursion.
fn value_depth(v: &Value) -> usize {
    let mut stack = vec![(v, 0usize)];
    let mut deepest = 0;
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        deepest = deepest.max(d + 1);
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
}

/// An operation that passed every check, ready to execute.
pub struct Prepared {
    pub request: async_graphql::Request,
    /// Query, mutation or subscription (`None` when the document names no such operation).
    pub ty: Option<OperationType>,
    /// The operation selects one root field (and no fragment at the root).
    pub one_field: bool,
    /// What the answer is ordered by.
    pub shape: super::order::Shape,
}

/// Checks `op` (off the async workers, within `deadline`) and builds its request with the
/// principal, the parsed document and fresh per-request loaders. The refusal is a response
/// body.
pub async fn prepare(
    state: &AppState,
    principal: &crate::auth::Principal,
    op: &Operation,
    deadline: Instant,
) -> Result<Prepared, Value> {
    let limits = state.limits.clone();
    let (query, name, variables) = (
        op.query.clone(),
        op.operation_name.clone(),
        op.variables.clone(),
    );
    // The work grows with the document and with nested variables; plain scalar variables
    // (ids, page sizes, short strings) add next to nothing.
    let scalars = variables.len() <= 16
        && variables.values().all(|v| match v {
            Value::Array(_) | Value::Object(_) => false,
            Value::String(s) => s.len() <= 1024,
            _ => true,
        });
    let size = if scalars { query.len() } else { usize::MAX };
    let work = state.gate.compute_sized(size, move || {
        check(&limits, query, name.as_deref(), variables)
    });
    let checked = match tokio::time::timeout_at(deadline, work).await {
        Ok(Some(Ok(checked))) => checked,
        Ok(Some(Err(refusal))) => return Err(refusal_json(&state.metrics, refusal)),
        Ok(None) => {
            state.metrics.error(code::INTERNAL);
            return Err(serde_json::json!({
                "errors": [error(code::INTERNAL, crate::error::INTERNAL_MESSAGE)]
            }));
        }
        Err(_) => {
            return Err(timeout_json(
                &state.metrics,
                state.limits.request_timeout_ms,
            ))
        }
    };
    let shape = super::order::Shape::new(
        std::sync::Arc::new(checked.doc.clone()),
        op.operation_name.clone(),
    );
    let request = context::request(
        state,
        principal,
        checked.query,
        Variables::from_json(Value::Object(checked.variables)),
        checked.doc,
        op.operation_name.clone(),
        // Only a query reads one moment: a mutation changes rows between its root fields, a
        // subscription reads each event's objects as they are then.
        checked.ty == Some(OperationType::Query),
    );
    Ok(Prepared {
        request,
        ty: checked.ty,
        one_field: checked.one_field,
        shape,
    })
}
