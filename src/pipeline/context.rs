//! The one place a GraphQL request gets its context: the principal, the webhook settings and
//! fresh per-request loaders. Queries, mutations and each event of a subscription group are
//! built here, so that every resolver finds the same data whichever path ran it.

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Variables;

use crate::auth::Principal;
use crate::db::contacts::network::ThreadingWindow;
use crate::graphql::loaders::Loaders;
use crate::AppState;

/// The request for `doc` (already parsed and checked) run by `principal`. `one_moment`: its
/// reads may share one snapshot (a query, or one event's objects); a mutation changes rows
/// between its root fields.
pub fn request(
    state: &AppState,
    principal: &Principal,
    query: String,
    variables: Variables,
    doc: ExecutableDocument,
    operation_name: Option<String>,
    one_moment: bool,
) -> async_graphql::Request {
    let mut req = async_graphql::Request::new(query)
        .variables(variables)
        .data(principal.clone())
        .data(state.webhooks.clone())
        .data(Loaders::new(
            &state.db,
            principal,
            ThreadingWindow(state.program.threading_window_days as i64),
            one_moment,
        ));
    req.set_parsed_query(doc);
    if let Some(op) = operation_name {
        req = req.operation_name(op);
    }
    req
}
