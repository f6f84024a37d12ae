//! A deal's threading assessment in the GraphQL schema: what every reader shares (read from the
//! kept rows) and what depends on the reader (evidence, departments), computed for the deals
//! whose page asks for it.

use async_graphql::{Context, Object, Result, SimpleObject};
use entity::enums::BuyingRole;

use super::contact::{PartyView, ThreadingRiskKind};
use super::partner::Partner;
use super::{loaders, principal};
use crate::db::contacts::network::{self, SeenParty};
use crate::domain::threading::{Assessment, Risk, RiskKind, Summary};

/// A named threading risk with its evidence and the next step.
pub struct ThreadingRisk {
    opportunity_id: i64,
    kind: RiskKind,
}

impl ThreadingRisk {
    /// This risk as the caller reads it, assessed afresh with the deal's other details.
    async fn read(&self, ctx: &Context<'_>) -> Result<Option<Risk>> {
        Ok(details(ctx, self.opportunity_id)
            .await?
            .and_then(|a| a.risks.into_iter().find(|r| r.kind == self.kind)))
    }
}

/// A named threading risk with its evidence and the next step.
#[Object]
impl ThreadingRisk {
    /// The risk.
    async fn kind(&self) -> ThreadingRiskKind {
        self.kind.into()
    }
    /// What in the data shows it (never naming contacts you cannot see).
    async fn evidence(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self
            .read(ctx)
            .await?
            .map(|r| r.evidence)
            .unwrap_or_default())
    }
    /// What to do about it.
    async fn recommendation(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self
            .read(ctx)
            .await?
            .map(|r| r.recommendation)
            .unwrap_or_default())
    }
}

/// Deal `id`'s assessment as the caller reads it, evidence included (batched per level).
async fn details(ctx: &Context<'_>, id: i64) -> Result<Option<Assessment>> {
    loaders(ctx).threading_details.load_one(id).await
}

/// Which party holds relationships on the deal.
#[derive(SimpleObject)]
pub struct PartyCoverage {
    /// The party, as you may see it.
    pub party: PartyView,
    /// The partner, when you may know which.
    pub partner: Option<Partner>,
}

/// How well a deal is multi-threaded.
pub struct ThreadingAssessment {
    opportunity_id: i64,
    s: Summary,
    parties: Vec<SeenParty>,
}

/// How well a deal is multi-threaded, from the account's contacts and the engagements of the
/// threading window, as it stands today. See the README for the formula.
#[Object]
impl ThreadingAssessment {
    /// 0 to 100; under 50 the deal is at risk.
    async fn score(&self) -> u32 {
        self.s.score
    }
    /// True when the score is under 50.
    async fn at_risk(&self) -> bool {
        self.s.at_risk()
    }
    /// Active contacts engaged in the window (every party's, counted).
    async fn engaged_contacts(&self) -> usize {
        self.s.engaged_contacts
    }
    /// Departments those contacts cover (those of contacts you may see; the score counts all).
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(details(ctx, self.opportunity_id)
            .await?
            .map(|a| a.departments)
            .unwrap_or_default())
    }
    /// Buying roles those contacts cover.
    async fn buying_roles(&self) -> &[BuyingRole] {
        &self.s.buying_roles
    }
    /// Parties holding relationships (other partners appear as ANOTHER_PARTNER to partners).
    async fn parties(&self, ctx: &Context<'_>) -> Result<Vec<PartyCoverage>> {
        let mut out = Vec::new();
        for p in &self.parties {
            let partner = match p.partner_id {
                Some(id) => loaders(ctx).partners.load_one(id).await?.map(Partner),
                None => None,
            };
            out.push(PartyCoverage {
                party: p.view.into(),
                partner,
            });
        }
        Ok(out)
    }
    /// Days since the last engagement; null when nobody engaged anyone.
    async fn days_since_last_engagement(&self) -> Option<i64> {
        self.s
            .days_since_last_engagement(chrono::Utc::now().date_naive())
    }
    /// The named risks.
    async fn risks(&self) -> Vec<ThreadingRisk> {
        self.s
            .risks
            .iter()
            .map(|k| ThreadingRisk {
                opportunity_id: self.opportunity_id,
                kind: *k,
            })
            .collect()
    }
}

/// Deal `opportunity_id`'s assessment, as `principal(ctx)` sees its parties.
pub fn assessment(ctx: &Context<'_>, opportunity_id: i64, s: Summary) -> ThreadingAssessment {
    let mut parties: Vec<SeenParty> = s
        .parties
        .iter()
        .map(|p| network::seen(principal(ctx), *p))
        .collect();
    parties.sort();
    parties.dedup();
    ThreadingAssessment {
        opportunity_id,
        s,
        parties,
    }
}
