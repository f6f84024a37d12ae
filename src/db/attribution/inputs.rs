//! The arithmetic of a split: the inputs read for a set of deals (settings, role weights,
//! incentive rates, parties, choices, engagements) and the split computed from them.

use std::collections::{HashMap, HashSet};

use entity::attribution::{choice, rate, settings};
use entity::enums::{
    AttributionModel, EngagementKind, PartnerTier, RegistrationRole, RegistrationStatus,
};
use entity::{collaboration_rule, engagement, opportunity, partner, registration};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{settings_of, Line, ManualShare};
use crate::domain::attribution::{allocate, incentive, shares_bps};
use crate::error::AppResult;

struct PartyOnDeal {
    partner_id: i64,
    tier: PartnerTier,
    roles: Vec<RegistrationRole>,
}

/// Engagement weights for the CONTRIBUTION model.
pub fn engagement_weight(kind: EngagementKind) -> u64 {
    match kind {
        EngagementKind::Workshop => 4,
        EngagementKind::Meeting | EngagementKind::Demo => 3,
        EngagementKind::Call => 2,
        EngagementKind::Event | EngagementKind::Email => 1,
    }
}

pub(super) struct Inputs {
    settings: settings::Model,
    rules: HashMap<RegistrationRole, i32>,
    rates: HashMap<(PartnerTier, RegistrationRole), i32>,
    parties: HashMap<i64, Vec<PartyOnDeal>>,
    choices: HashMap<i64, choice::Model>,
    engagement_weights: HashMap<(i64, Option<i64>), u64>,
}

pub(super) async fn inputs<C: ConnectionTrait>(conn: &C, opps: &[i64]) -> AppResult<Inputs> {
    let settings = settings_of(conn).await?;
    let rules = collaboration_rule::Entity::find()
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
        settings,
        rules,
        rates,
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
    let model = choice
        .and_then(|c| c.model)
        .unwrap_or(inp.settings.default_model);
    let empty = vec![];
    let on_deal = inp.parties.get(&opp.id).unwrap_or(&empty);
    // Parties in a fixed order: the direct team first, then partners by id.
    let mut keys: Vec<(Option<i64>, Option<RegistrationRole>, PartnerTier)> = Vec::new();
    let direct = inp.settings.include_direct_team || model == AttributionModel::Manual;
    if direct {
        keys.push((None, None, PartnerTier::Registered));
    }
    for p in on_deal {
        let main_role = p.roles.iter().copied().max_by_key(|r| {
            (
                inp.rules.get(r).copied().unwrap_or(0),
                std::cmp::Reverse(*r),
            )
        });
        keys.push((Some(p.partner_id), main_role, p.tier));
    }
    let weights: Vec<u64> = match model {
        AttributionModel::Equal => vec![1; keys.len()],
        AttributionModel::RoleWeighted => keys
            .iter()
            .map(|(pid, _, _)| match pid {
                None => inp.settings.direct_team_weight_bps.max(0) as u64,
                Some(pid) => on_deal
                    .iter()
                    .find(|p| p.partner_id == *pid)
                    .map(|p| {
                        p.roles
                            .iter()
                            .map(|r| inp.rules.get(r).copied().unwrap_or(0).max(0) as u64)
                            .sum()
                    })
                    .unwrap_or(0),
            })
            .collect(),
        AttributionModel::Contribution => keys
            .iter()
            .map(|(pid, _, _)| {
                inp.engagement_weights
                    .get(&(opp.id, *pid))
                    .copied()
                    .unwrap_or(0)
            })
            .collect(),
        AttributionModel::Manual => {
            let manual: Vec<ManualShare> = choice
                .and_then(|c| c.manual_shares.clone())
                .and_then(|j| serde_json::from_value(j).ok())
                .unwrap_or_default();
            keys.iter()
                .map(|(pid, _, _)| {
                    manual
                        .iter()
                        .find(|m| m.partner_id == *pid)
                        .map(|m| m.bps as u64)
                        .unwrap_or(0)
                })
                .collect()
        }
    };
    if keys.is_empty() {
        return Ok((model, vec![]));
    }
    let shares = if model == AttributionModel::Manual && weights.iter().sum::<u64>() == 10_000 {
        weights.iter().map(|w| *w as u32).collect()
    } else {
        shares_bps(&weights)
    };
    let amounts = allocate(opp.amount_minor, &shares)?;
    Ok((
        model,
        keys.iter()
            .zip(shares)
            .zip(amounts)
            .map(|(((pid, role, tier), share), amount)| {
                let rate = match (pid, role) {
                    (Some(_), Some(r)) => {
                        inp.rates.get(&(*tier, *r)).copied().unwrap_or(0).max(0) as u32
                    }
                    _ => 0,
                };
                Line {
                    partner_id: *pid,
                    role: *role,
                    share_bps: share,
                    amount_minor: amount,
                    currency: opp.currency.clone(),
                    incentive_rate_bps: rate,
                    incentive_minor: incentive(amount, rate),
                }
            })
            .collect(),
    ))
}
