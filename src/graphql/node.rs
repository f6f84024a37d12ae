//! The Relay `Node` interface with `node(id:)` and `nodes(ids:)`.

use async_graphql::{Context, Interface, Object, Result, ID};

use super::account::Account;
use super::contact::{Contact, Engagement};
use super::events::Event;
use super::loaders;
use super::opportunity::Opportunity;
use super::partner::Partner;
use super::registration::{Conflict, Registration};
use crate::error::AppError;
use crate::ids::{self, Kind};

/// An object with a global ID that `node(id:)` can fetch again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global ID."))]
pub enum Node {
    Partner(Partner),
    Account(Account),
    Opportunity(Opportunity),
    Registration(Registration),
    Conflict(Conflict),
    Contact(Contact),
    Engagement(Engagement),
    Event(Event),
    WebhookEndpoint(super::webhook::WebhookEndpoint),
    Invitation(super::invitation::Invitation),
}

/// The object `id` names; a malformed id names `field` in `extensions.field`.
async fn fetch(ctx: &Context<'_>, id: &str, field: &'static str) -> Result<Option<Node>> {
    let l = loaders(ctx);
    Ok(match ids::decode(id).map_err(|e| e.at(field))? {
        (Kind::Partner, n) => l
            .partners
            .load_one(n)
            .await?
            .map(|m| Node::Partner(m.into())),
        (Kind::Account, n) => l
            .accounts
            .load_one(n)
            .await?
            .map(|m| Node::Account(m.into())),
        (Kind::Opportunity, n) => l
            .opportunities
            .load_one(n)
            .await?
            .map(|m| Node::Opportunity(m.into())),
        (Kind::Registration, n) => l
            .registrations
            .load_one(n)
            .await?
            .map(|m| Node::Registration(m.into())),
        (Kind::Conflict, n) => conflict(ctx, n).await?.map(|m| Node::Conflict(m.into())),
        (Kind::Contact, n) => l
            .contacts
            .load_one(n)
            .await?
            .map(|m| Node::Contact(m.into())),
        (Kind::Engagement, n) => {
            crate::db::contacts::engagements::load(super::db(ctx), super::principal(ctx), &[n])
                .await?
                .into_values()
                .next()
                .map(|m| Node::Engagement(Engagement(m)))
        }
        (Kind::Event, n) => {
            crate::db::events::visible_one(super::db(ctx), super::principal(ctx), n)
                .await?
                .map(|m| Node::Event(Event::from(&m)))
        }
        (Kind::WebhookEndpoint, n) => {
            crate::db::webhooks::visible(super::db(ctx), super::principal(ctx), n)
                .await?
                .map(|m| Node::WebhookEndpoint(m.into()))
        }
        (Kind::Invitation, n) => {
            crate::db::invitations::load(super::db(ctx), super::principal(ctx), &[n])
                .await?
                .into_values()
                .next()
                .map(|m| Node::Invitation(m.into()))
        }
        (Kind::StageChange, _) => None,
    })
}

async fn conflict(ctx: &Context<'_>, id: i64) -> Result<Option<entity::conflict::Model>> {
    let found =
        crate::db::registrations::conflicts::load(super::db(ctx), super::principal(ctx), &[id])
            .await?;
    Ok(found.into_values().next())
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID. Null when it does not exist or you may not see it
    /// (the two are indistinguishable); a string that is not a cosell ID is BAD_USER_INPUT.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID.")] id: ID,
    ) -> Result<Option<Node>> {
        fetch(ctx, &id, "id").await
    }

    /// Fetches up to 100 objects by global ID, in the order asked; null for each one that does
    /// not exist or that you may not see.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 global IDs.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(AppError::bad_field("ids", "nodes takes at most 100 IDs").into());
        }
        let lookups = ids.iter().map(|id| fetch(ctx, id, "ids"));
        futures_util::future::try_join_all(lookups).await
    }
}
