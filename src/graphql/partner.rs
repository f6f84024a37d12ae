//! Partner organisations in the GraphQL schema.

use async_graphql::{Context, Object, Result, ID};
use entity::enums::{PartnerStatus, PartnerTier};
use entity::partner::Model;

use super::connection::{self, connection, TotalCount};
use super::inputs::partner::{CreatePartnerInput, PartnerFilter, PartnerOrder, UpdatePartnerInput};
use super::{db, page_limits, principal};
use crate::db::partners as data;
use crate::ids::{self, Kind};
use crate::scalars::DateTime;

/// An organisation in the vendor's partner program. Partners see only their own organisation.
///
/// The row is shared with the request's loaders, not copied for each place it answers.
#[derive(Clone)]
pub struct Partner(pub std::sync::Arc<Model>);

impl From<Model> for Partner {
    fn from(m: Model) -> Self {
        Self(std::sync::Arc::new(m))
    }
}

impl From<std::sync::Arc<Model>> for Partner {
    fn from(m: std::sync::Arc<Model>) -> Self {
        Self(m)
    }
}

/// An organisation in the vendor's partner program. Partners see only their own organisation.
#[Object]
impl Partner {
    /// Opaque global ID; also the `partner_id` claim of this partner's tokens.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Partner, self.0.id).into()
    }
    /// Display name, unique in the program.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Program tier.
    async fn tier(&self) -> PartnerTier {
        self.0.tier
    }
    /// ACTIVE, or SUSPENDED (its tokens are refused).
    async fn status(&self) -> PartnerStatus {
        self.0.status
    }
    /// What the partner is good at.
    async fn specialisations(&self) -> Vec<String> {
        serde_json::from_value(self.0.specialisations.clone()).unwrap_or_default()
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when changing the partner.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the partner joined the program.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the partner was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

connection!(PartnerConnection, PartnerEdge, Partner, Model);

/// The result of a partner change.
#[derive(async_graphql::SimpleObject)]
pub struct PartnerPayload {
    /// The partner as it is after the change.
    pub partner: Partner,
}

#[derive(Default)]
pub struct PartnerQuery;

#[Object]
impl PartnerQuery {
    /// Partners in the program: all of them for the vendor, your own organisation for a partner.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn partners(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only partners matching all of these filters.")] filter: Option<
            PartnerFilter,
        >,
        #[graphql(desc = "Sort order; NAME_ASC by default.")] order_by: Option<PartnerOrder>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<PartnerConnection> {
        let args = connection::page_args(first, after, last, before);
        let (page, q) = data::list(
            db(ctx),
            principal(ctx),
            filter.map(Into::into).unwrap_or_default(),
            order_by.map(Into::into).unwrap_or_default(),
            &args,
            page_limits(ctx),
        )
        .await?;
        Ok(PartnerConnection::new(page, TotalCount::of(db(ctx), q)))
    }

    /// One partner by ID. An unknown ID and one you may not see both answer NOT_FOUND.
    async fn partner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner's ID.")] id: ID,
    ) -> Result<Partner> {
        let id = ids::decode_field(&id, Kind::Partner, "id")?;
        Ok(data::get(db(ctx), principal(ctx), id).await?.into())
    }
}

#[derive(Default)]
pub struct PartnerMutation;

#[Object]
impl PartnerMutation {
    /// Adds a partner to the program (vendor ADMIN or CHANNEL_MANAGER).
    async fn create_partner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new partner.")] input: CreatePartnerInput,
    ) -> Result<PartnerPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let m = crate::graphql::write(
            ctx,
            async move { data::create(&db, &p, input.into()).await },
        )
        .await?;
        Ok(PartnerPayload { partner: m.into() })
    }

    /// Changes a partner, e.g. its tier, or suspends it (vendor ADMIN or CHANNEL_MANAGER).
    async fn update_partner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdatePartnerInput,
    ) -> Result<PartnerPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let hub = ctx
            .data_unchecked::<std::sync::Arc<crate::realtime::Hub>>()
            .clone();
        let m = crate::graphql::write(ctx, async move {
            let m = data::update(&db, &p, input.into()).await?;
            // A suspension holds on this instance from the moment it commits; other instances
            // hear of it through its event.
            hub.active_partners().forget(m.id);
            Ok(m)
        })
        .await?;
        Ok(PartnerPayload { partner: m.into() })
    }
}
