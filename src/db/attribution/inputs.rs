//! The arithmetic of a split: the inputs read for a set of deals (settings, role weights,
//! incentive rates, parties, choices, engagements) and the split computed from them.

use std::collections::{HashMap, HashSet};

use entity::attribution::{choice, rate};
use entity::enums::{AttributionModel, PartnerTier, RegistrationStatus};
use entity::{collaboration_rule, engagement, opportunity, partner, registration};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::settings_of;
use crate::domain::attribution::{engagement_weight, split, Deal, Line, PartyOnDeal, Terms};
use crate::error::AppResult;

/// What the splits of a set of deals are computed from, read in a fixed number of statements.
pub(super) struct Inputs {
    terms: Terms,
    parties: HashMap<i64, Vec<PartyOnDeal>>,
    choices: HashMap<i64, choice::Model>,
    engagement_weights: HashMap<(i64, Option<i64>), u64>,
}

pub(super) async fn inputs<C: ConnectionTrait>(conn: &C, opps: &[i64]) -> AppResult<Inputs> {
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
    let regs = registration::Entity::find()
        .filter(registration::Column::OpportunityId.is_in(opps.to_vec()))
        .filter(
            registration::Column::Status
                .is_in([RegistrationStatus::Approved, RegistrationStatus::Won]),
        )
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
    let choices = choice::Entity::find()
        .filter(choice::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.opportunity_id, c))
        .collect();
    let mut engagement_weights: HashMap<(i64, Option<i64>), u64> = HashMap::new();
    for e in engagement::Entity::find()
        .filter(engagement::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
    {
        if let Some(o) = e.opportunity_id {
            *engagement_weights.entry((o, e.partner_id)).or_default() += engagement_weight(e.kind);
        }
    }
    Ok(Inputs {
        terms: Terms {
            default_model: settings.default_model,
            include_direct_team: settings.include_direct_team,
            direct_team_weight_bps: settings.direct_team_weight_bps,
            role_weights,
            rates,
        },
        parties,
        choices,
        engagement_weights,
    })
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
