//! The GraphQL schema, split by domain. Resolvers stay thin: they read the principal and the
//! per-request loaders from the context and call data access.

pub mod account;
pub mod attribution;
pub mod conflict;
pub mod connection;
pub mod contact;
pub mod events;
pub mod figures;
pub mod inputs;
pub mod invitation;
pub mod loaders;
pub mod node;
pub mod opportunity;
pub mod outcomes;
pub mod partner;
pub mod prefetch;
pub mod registration;
pub mod subscription;
pub mod threading;
pub mod viewer;
pub mod webhook;

use std::sync::Arc;

use async_graphql::{
    Context, MergedObject, MergedSubscription, SDLExportOptions, Schema, SchemaBuilder,
};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::config::{LimitArgs, ProgramArgs};
use crate::db::contacts::network::ThreadingWindow;
use crate::db::page::PageLimits;
use crate::db::registrations::ReviewSla;

/// The entry points for reading: who you are, any object by ID, and the lists you may see.
#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    node::NodeQuery,
    partner::PartnerQuery,
    account::AccountQuery,
    opportunity::OpportunityQuery,
    registration::RegistrationQuery,
    contact::ContactQuery,
    attribution::AttributionQuery,
    events::EventQuery,
    webhook::WebhookQuery,
    invitation::InvitationQuery,
);

/// The entry points for changing data. Each change is one transaction that also records its
/// event; updates take `expectedVersion` for optimistic concurrency.
#[derive(MergedObject, Default)]
pub struct Mutation(
    partner::PartnerMutation,
    account::AccountMutation,
    opportunity::OpportunityMutation,
    registration::RegistrationMutation,
    contact::ContactMutation,
    attribution::AttributionMutation,
    webhook::WebhookMutation,
    invitation::InvitationMutation,
);

/// Live events over `/graphql/ws`: each message is an outbox event plus the object it is
/// about as you may see it now. Pass `after` (the last event id you received) when you
/// reconnect to get what you missed first.
#[derive(MergedSubscription, Default)]
pub struct Subscription(subscription::RealtimeSubscription);

pub type CosellSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The served schema, with the database, the outbox hub and the configured limits.
pub fn build_schema(
    db: DatabaseConnection,
    hub: Arc<crate::realtime::Hub>,
    limits: &LimitArgs,
    program: &ProgramArgs,
) -> CosellSchema {
    let mut b = builder()
        .data(db)
        .data(hub)
        .data(ReviewSla(chrono::Duration::hours(
            program.review_sla_hours as i64,
        )))
        .data(ThreadingWindow(program.threading_window_days as i64))
        .data(PageLimits {
            default_size: limits.default_page_size,
            max_size: limits.max_page_size,
        })
        // Depth is measured before validation (src/http/document.rs), where introspection has
        // a rule of its own; the recursion bound backs up the same measure.
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives)
        .limit_recursive_depth(limits.max_nesting);
    if limits.disable_introspection {
        b = b.disable_introspection();
    }
    if limits.disable_suggestions {
        b = b.disable_suggestions();
    }
    b.finish()
}

/// The SDL, with sorted fields for stable diffs (`cosell schema`, `schema.graphql`).
pub fn sdl() -> String {
    builder().finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            .include_specified_by(),
    )
}

/// The caller; every request carries one (unauthenticated requests never reach the schema).
pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_unchecked::<Principal>()
}

pub fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// Runs a mutation's write to completion even if the request is abandoned (see
/// [`crate::db::shielded`]), and once it committed, relays its events into the outbox and wakes
/// this instance's subscribers, in the same task: an abandoned request's events go out at once
/// too, and the answer comes after its events are readable.
///
/// The write's future goes to the heap at once: a resolver then holds a pointer, not the
/// write's whole state, and nor do the schema's futures around it (in debug builds those are
/// laid out on the stack, and a mutation's state is tens of kilobytes).
pub fn write<F, T>(
    ctx: &Context<'_>,
    write: F,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::error::AppResult<T>> + Send>>
where
    F: std::future::Future<Output = crate::error::AppResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let hub = ctx.data_unchecked::<Arc<crate::realtime::Hub>>().clone();
    let write = Box::pin(write);
    Box::pin(crate::db::shielded(async move {
        let done = write.await;
        if done.is_ok() {
            hub.flush().await;
        }
        done
    }))
}

pub fn page_limits(ctx: &Context<'_>) -> PageLimits {
    *ctx.data_unchecked::<PageLimits>()
}

pub fn loaders<'a>(ctx: &Context<'a>) -> &'a loaders::Loaders {
    ctx.data_unchecked::<loaders::Loaders>()
}
