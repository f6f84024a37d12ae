//! Attribution in the GraphQL schema: each deal's split, the program settings, incentive
//! rates, corrections and partner statements.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use entity::attribution::{rate, settings, version};
use entity::enums::{AttributionModel, PartnerTier, RegistrationRole};

use super::contact::PartyView;
use super::inputs::attribution::{
    CorrectAttributionInput, SetAttributionModelInput, SetIncentiveRateInput,
    UpdateAttributionSettingsInput,
};
use super::opportunity::{Money, Opportunity, OpportunityPayload};
use super::partner::Partner;
use super::{db, loaders, principal};
use crate::db::attribution::{self as data, Line, Split};
use crate::db::contacts::network;
use crate::domain::threading::PartyTag;
use crate::ids::{self, Kind};
use crate::scalars::{DateTime, MinorUnits};

fn money_of(amount: i64, currency: &str) -> Money {
    Money::new(amount, currency)
}

/// One party's part of a deal's credit and incentive.
pub struct AttributionRow(pub Line);

/// One party's part of a deal's credit and incentive.
#[Object]
impl AttributionRow {
    /// VENDOR (the direct team), YOU, or PARTNER (vendor view).
    async fn party(&self, ctx: &Context<'_>) -> PartyView {
        network::seen(
            principal(ctx),
            self.0
                .partner_id
                .map(PartyTag::Partner)
                .unwrap_or(PartyTag::Vendor),
        )
        .view
        .into()
    }
    /// The partner; null for the direct team.
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        match self.0.partner_id {
            Some(p) => Ok(loaders(ctx).partners.load_one(p).await?.map(Partner)),
            None => Ok(None),
        }
    }
    /// The partner's role on the deal (its highest-weighted one).
    async fn role(&self) -> Option<RegistrationRole> {
        self.0.role
    }
    /// The share in basis points; all shares of a deal sum to exactly 10000.
    async fn share_bps(&self) -> u32 {
        self.0.share_bps
    }
    /// The attributed amount; all amounts of a deal sum to exactly its amount.
    async fn amount(&self) -> Money {
        money_of(self.0.amount_minor, &self.0.currency)
    }
    /// The incentive rate of the partner's tier and role, in basis points.
    async fn incentive_rate_bps(&self) -> u32 {
        self.0.incentive_rate_bps
    }
    /// The incentive owed: amount times rate, rounded down to the minor unit.
    async fn incentive(&self) -> Money {
        money_of(self.0.incentive_minor, &self.0.currency)
    }
}

/// How a deal's credit is split. Partners see only their own row.
pub struct Attribution(pub Split);

/// How a deal's credit is split: a live preview while the deal is open, frozen when it is won.
/// Partners see only their own row, never another partner's share or a total.
#[Object]
impl Attribution {
    /// The model used.
    async fn model(&self) -> AttributionModel {
        self.0.model
    }
    /// True once the deal is won and the split frozen.
    async fn finalized(&self) -> bool {
        self.0.version.is_some()
    }
    /// The frozen version number (corrections add versions); null while a preview.
    async fn version(&self) -> Option<i32> {
        self.0.version
    }
    /// When the current version was frozen.
    async fn finalized_at(&self) -> Option<DateTime> {
        self.0.finalized_at.map(DateTime)
    }
    /// The rows you may see.
    async fn rows(&self) -> Vec<AttributionRow> {
        self.0.lines.iter().cloned().map(AttributionRow).collect()
    }
    /// Every frozen version, newest first, with who froze or corrected it and why (vendor only;
    /// empty for partners).
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<AttributionVersion>> {
        Ok(
            data::versions(db(ctx), principal(ctx), self.0.opportunity_id)
                .await?
                .into_iter()
                .map(AttributionVersion)
                .collect(),
        )
    }
}

/// A frozen version of a won deal's split.
pub struct AttributionVersion(pub version::Model);

/// A frozen version of a won deal's split.
#[Object]
impl AttributionVersion {
    /// 1 when the deal was won; higher for corrections.
    async fn number(&self) -> i32 {
        self.0.number
    }
    /// The model used.
    async fn model(&self) -> AttributionModel {
        self.0.model
    }
    /// Whether this is the version in force.
    async fn current(&self) -> bool {
        self.0.current
    }
    /// Who froze or corrected it: the vendor user's or app's token subject, or `system:*`;
    /// partners read `vendor` in place of the vendor's people.
    async fn finalized_by(&self, ctx: &Context<'_>) -> String {
        crate::auth::actor::seen_by_partner_id(super::principal(ctx), &self.0.finalized_by, None)
    }
    /// When.
    async fn finalized_at(&self) -> DateTime {
        DateTime(self.0.finalized_at)
    }
    /// Why, for corrections.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

/// The program's attribution settings.
pub struct AttributionSettings(pub settings::Model);

/// The result of an attribution settings change.
#[derive(SimpleObject)]
pub struct UpdateAttributionSettingsPayload {
    /// The settings as they are after the change.
    pub settings: AttributionSettings,
}

/// The result of an incentive rate change.
#[derive(SimpleObject)]
pub struct SetIncentiveRatePayload {
    /// The rate as it is after the change.
    pub rate: IncentiveRate,
}

/// The program's attribution settings.
#[Object]
impl AttributionSettings {
    /// The model of deals that set none.
    async fn default_model(&self) -> AttributionModel {
        self.0.default_model
    }
    /// Whether the direct team takes a share in ROLE_WEIGHTED, EQUAL and CONTRIBUTION.
    async fn include_direct_team(&self) -> bool {
        self.0.include_direct_team
    }
    /// The direct team's ROLE_WEIGHTED weight in basis points.
    async fn direct_team_weight_bps(&self) -> i32 {
        self.0.direct_team_weight_bps
    }
    /// Version; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// The incentive rate of a partner tier in a role.
#[derive(SimpleObject)]
pub struct IncentiveRate {
    /// The tier.
    pub tier: PartnerTier,
    /// The role.
    pub role: RegistrationRole,
    /// Basis points of the attributed amount.
    pub rate_bps: i32,
}

impl From<rate::Model> for IncentiveRate {
    fn from(r: rate::Model) -> Self {
        Self {
            tier: r.tier,
            role: r.role,
            rate_bps: r.rate_bps,
        }
    }
}

/// One deal on a partner statement.
pub struct StatementDeal(pub data::StatementLine);

/// One deal on a partner statement.
#[Object]
impl StatementDeal {
    /// The deal.
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        Ok(loaders(ctx)
            .opportunities
            .load_one(self.0.opportunity_id)
            .await?
            .map(Opportunity))
    }
    /// The partner's row of the deal's current split.
    async fn row(&self) -> AttributionRow {
        AttributionRow(Line {
            partner_id: self.0.row.partner_id,
            role: self.0.row.role,
            share_bps: self.0.row.share_bps as u32,
            amount_minor: self.0.row.amount_minor,
            currency: self.0.row.currency.clone(),
            incentive_rate_bps: self.0.row.incentive_rate_bps as u32,
            incentive_minor: self.0.row.incentive_minor,
        })
    }
    /// When the split was frozen.
    async fn finalized_at(&self) -> DateTime {
        DateTime(self.0.row.finalized_at)
    }
}

/// Totals of a statement in one currency.
#[derive(SimpleObject)]
pub struct CurrencyTotal {
    /// ISO 4217 currency.
    pub currency: String,
    /// Attributed revenue in minor units.
    pub attributed_minor: MinorUnits,
    /// Incentives owed in minor units.
    pub incentive_minor: MinorUnits,
    /// Deals counted.
    pub deals: i32,
}

impl From<data::CurrencyTotal> for CurrencyTotal {
    fn from(t: data::CurrencyTotal) -> Self {
        Self {
            currency: t.currency,
            attributed_minor: MinorUnits(t.attributed_minor),
            incentive_minor: MinorUnits(t.incentive_minor),
            deals: t.deals,
        }
    }
}

/// A partner's attributed revenue and incentives over a period.
pub struct PartnerStatement {
    partner_id: i64,
    deals: Vec<data::StatementLine>,
    totals: Vec<CurrencyTotal>,
}

/// A partner's attributed revenue and incentives over a period, by deal and per currency.
#[Object]
impl PartnerStatement {
    /// The partner.
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        Ok(loaders(ctx)
            .partners
            .load_one(self.partner_id)
            .await?
            .map(Partner))
    }
    /// Each won deal, oldest first.
    async fn deals(&self) -> Vec<StatementDeal> {
        self.deals.iter().cloned().map(StatementDeal).collect()
    }
    /// Totals per currency.
    async fn totals(&self) -> &[CurrencyTotal] {
        &self.totals
    }
}

#[derive(Default)]
pub struct AttributionQuery;

#[Object]
impl AttributionQuery {
    /// The program's attribution settings.
    async fn attribution_settings(&self, ctx: &Context<'_>) -> Result<AttributionSettings> {
        Ok(AttributionSettings(
            data::settings(db(ctx), principal(ctx)).await?,
        ))
    }

    /// The incentive rates by tier and role (unset pairs earn 0).
    async fn incentive_rates(&self, ctx: &Context<'_>) -> Result<Vec<IncentiveRate>> {
        Ok(data::rates(db(ctx), principal(ctx))
            .await?
            .into_iter()
            .map(IncentiveRate::from)
            .collect())
    }

    /// A partner's statement: attributed revenue and incentives of deals frozen in the period.
    /// Partners get their own (omit `partnerId`); the vendor names the partner.
    async fn partner_statement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner (vendor); partners may omit it.")] partner_id: Option<ID>,
        #[graphql(desc = "Deals frozen at or after this time.")] from: Option<DateTime>,
        #[graphql(desc = "Deals frozen before this time.")] to: Option<DateTime>,
    ) -> Result<PartnerStatement> {
        let pid = match &partner_id {
            Some(p) => Some(ids::decode_field(p, Kind::Partner, "partnerId")?),
            None => None,
        };
        let (partner_id, deals, totals) = data::statement(
            db(ctx),
            principal(ctx),
            pid,
            from.map(|d| d.0),
            to.map(|d| d.0),
        )
        .await?;
        Ok(PartnerStatement {
            partner_id,
            deals,
            totals: totals.into_iter().map(Into::into).collect(),
        })
    }
}

#[derive(Default)]
pub struct AttributionMutation;

#[Object]
impl AttributionMutation {
    /// Vendor (CHANNEL_MANAGER, ADMIN): chooses an open deal's attribution model, and for
    /// MANUAL its shares (summing to exactly 10000, only parties on the deal).
    async fn set_attribution_model(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deal and its model.")] input: SetAttributionModelInput,
    ) -> Result<OpportunityPayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let c = crate::graphql::write(
            ctx,
            async move { data::set_model(&d, &p, input.into()).await },
        )
        .await?;
        let o = loaders(ctx)
            .opportunities
            .load_one(c.opportunity_id)
            .await?;
        let opportunity = o
            .map(Opportunity)
            .ok_or(crate::error::AppError::NotFound("Opportunity"))?;
        Ok(OpportunityPayload { opportunity })
    }

    /// Vendor ADMIN: corrects a won deal's frozen split; the old version is kept.
    async fn correct_attribution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deal, the version you read, the new model and why.")]
        input: CorrectAttributionInput,
    ) -> Result<OpportunityPayload> {
        let id = ids::decode_field(&input.opportunity_id, Kind::Opportunity, "opportunityId")?;
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        crate::graphql::write(
            ctx,
            async move { data::correct(&d, &p, input.into()).await },
        )
        .await?;
        let opportunity =
            Opportunity(crate::db::opportunities::get(db(ctx), principal(ctx), id).await?);
        Ok(OpportunityPayload { opportunity })
    }

    /// Vendor ADMIN: changes the program's attribution settings.
    async fn update_attribution_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdateAttributionSettingsInput,
    ) -> Result<UpdateAttributionSettingsPayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let settings = crate::graphql::write(ctx, async move {
            data::update_settings(&d, &p, input.into()).await
        })
        .await?;
        Ok(UpdateAttributionSettingsPayload {
            settings: AttributionSettings(settings),
        })
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): sets the incentive rate of a tier in a role.
    async fn set_incentive_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tier, role and rate.")] input: SetIncentiveRateInput,
    ) -> Result<SetIncentiveRatePayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let rate = crate::graphql::write(
            ctx,
            async move { data::set_rate(&d, &p, input.into()).await },
        )
        .await?;
        Ok(SetIncentiveRatePayload { rate: rate.into() })
    }
}

pub fn split(s: Split) -> Attribution {
    Attribution(s)
}
