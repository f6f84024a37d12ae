//! The arithmetic of a split: the inputs read for a set of deals (settings, role weights,
//! incentive rates, parties, choices, engagements) and the split computed from them.

use std::collections::{HashMap, HashSet};

use entity::attribution::{choice, rate};
use entity::enums::{AttributionModel, PartnerTier};
use entity::{collaboration_rule, engagement, opportunity, partner, registration};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::settings_of;
use crate::domain::attribution::{engagement_weight, split, Deal, Line, PartyOnDeal, Terms};
use crate::domain::registration::approval::HOLDS_ROLE;
use crate::error::AppResult;

/// What the splits of a set of deals are computed from, read in a fixed number of statements.
pub(super) struct Inputs {
    terms: Terms,
    parties: HashMap<i64, Vec<PartyOnDeal>>,
    choices: HashMap<i64, choice::Model>,
    engagement_weights: HashMap<(i64, Option<i64>), u64>,
}

/// Reads the inputs of the splits of deals `opps` (the attribution module's own reads, for
/// deals the caller already may see).
pub(super) async fn inputs<C: ConnectionTrait>(conn: &C, opps: &[i64]) -> AppResult<Inputs> {
    let choices = choice::Entity::find()
        .filter(choice::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.opportunity_id, c))
        .collect();
    Ok(Inputs {
        terms: terms(conn).await?,
        parties: parties(conn, opps).await?,
        choices,
        engagement_weights: engagement_weights(conn, opps).await?,
    })
}

/// The program's terms: its attribution settings, role weights and incentive rates.
async fn terms<C: ConnectionTrait>(conn: &C) -> AppResult<Terms> {
    let settings = settings_of(conn).await?;
    let role_weights = collaboration_rule::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.role, r.attribution_weight_bps))
        .collect();
    let rates = rate::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| ((r.tier, r.role), r.rate_bps))
        .collect();
    Ok(Terms {
        default_model: settings.default_model,
        include_direct_team: settings.include_direct_team,
        direct_team_weight_bps: settings.direct_team_weight_bps,
        role_weights,
        rates,
    })
}

/// The partners on each of deals `opps`, with their tiers and the roles they hold there.
async fn parties<C: ConnectionTrait>(
    conn: &C,
    opps: &[i64],
) -> AppResult<HashMap<i64, Vec<PartyOnDeal>>> {
    let regs = registration::Entity::find()
        .filter(registration::Column::OpportunityId.is_in(opps.to_vec()))
        .filter(registration::Column::Status.is_in(HOLDS_ROLE))
        .order_by_asc(registration::Column::PartnerId)
        .all(conn)
        .await?;
    let partner_ids: Vec<i64> = regs
        .iter()
        .map(|r| r.partner_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let tiers: HashMap<i64, PartnerTier> = partner::Entity::find()
        .filter(partner::Column::Id.is_in(partner_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.tier))
        .collect();
    let mut parties: HashMap<i64, Vec<PartyOnDeal>> = HashMap::new();
    for r in regs {
        let Some(o) = r.opportunity_id else { continue };
        let list = parties.entry(o).or_default();
        match list.iter_mut().find(|p| p.partner_id == r.partner_id) {
            Some(p) => p.roles.push(r.role),
            None => list.push(PartyOnDeal {
                partner_id: r.partner_id,
                tier: tiers
                    .get(&r.partner_id)
                    .copied()
                    .unwrap_or(PartnerTier::Registered),
                roles: vec![r.role],
            }),
        }
    }
    Ok(parties)
}

/// The engagement weight of each party (a partner, or `None` for the vendor) on each of deals
/// `opps`.
async fn engagement_weights<C: ConnectionTrait>(
    conn: &C,
    opps: &[i64],
) -> AppResult<HashMap<(i64, Option<i64>), u64>> {
    let mut weights: HashMap<(i64, Option<i64>), u64> = HashMap::new();
    for e in engagement::Entity::find()
        .filter(engagement::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
    {
        if let Some(o) = e.opportunity_id {
            *weights.entry((o, e.partner_id)).or_default() += engagement_weight(e.kind);
        }
    }
    Ok(weights)
}

/// Computes the split of one open deal from the inputs.
pub(super) fn compute(
    inp: &Inputs,
    opp: &opportunity::Model,
) -> AppResult<(AttributionModel, Vec<Line>)> {
    let choice = inp.choices.get(&opp.id);
    let deal = Deal {
        amount_minor: opp.amount_minor,
        currency: opp.currency.clone(),
        model: choice.and_then(|c| c.model),
        manual_shares: choice
            .and_then(|c| c.manual_shares.clone())
            .and_then(|j| serde_json::from_value(j).ok())
            .unwrap_or_default(),
        parties: inp.parties.get(&opp.id).cloned().unwrap_or_default(),
        engagement: inp
            .engagement_weights
            .iter()
            .filter(|((o, _), _)| *o == opp.id)
            .map(|((_, party), w)| (*party, *w))
            .collect(),
    };
    split(&inp.terms, &deal)
}
