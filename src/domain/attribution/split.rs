//! A deal's split: who is on it, the model, and each party's share, money and incentive.
//!
//! Parties come in a fixed order, the direct team first and then partners by id; that order
//! breaks ties in the largest-remainder rounding (the earlier party wins a tied remainder), so
//! the same deal always splits the same way whatever order its rows were read in.

use std::collections::HashMap;

use entity::enums::{AttributionModel, EngagementKind, PartnerTier, RegistrationRole};
use serde::{Deserialize, Serialize};

use super::{allocate, incentive, shares_bps, WHOLE};
use crate::error::AppResult;

/// One line of a split: a partner (or the direct team, `partner_id: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub partner_id: Option<i64>,
    pub role: Option<RegistrationRole>,
    pub share_bps: u32,
    pub amount_minor: i64,
    pub currency: String,
    pub incentive_rate_bps: u32,
    pub incentive_minor: i64,
}

/// A share the vendor set by hand (MANUAL model), stored with the deal's choice.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ManualShare {
    pub partner_id: Option<i64>,
    pub bps: u32,
}

/// The program's terms a split depends on.
#[derive(Debug, Clone)]
pub struct Terms {
    pub default_model: AttributionModel,
    pub include_direct_team: bool,
    pub direct_team_weight_bps: i32,
    /// Each role's weight in ROLE_WEIGHTED (the collaboration rules).
    pub role_weights: HashMap<RegistrationRole, i32>,
    /// Incentive rates in basis points by tier and role.
    pub rates: HashMap<(PartnerTier, RegistrationRole), i32>,
}

/// A partner on a deal: its tier and the roles it holds there (APPROVED or WON claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyOnDeal {
    pub partner_id: i64,
    pub tier: PartnerTier,
    pub roles: Vec<RegistrationRole>,
}

/// One deal as the split needs it.
#[derive(Debug, Clone, Default)]
pub struct Deal {
    pub amount_minor: i64,
    pub currency: String,
    /// The model chosen for this deal, if the vendor chose one.
    pub model: Option<AttributionModel>,
    pub manual_shares: Vec<ManualShare>,
    pub parties: Vec<PartyOnDeal>,
    /// Engagement weight per party (`None`: the vendor's own touches), for CONTRIBUTION.
    pub engagement: HashMap<Option<i64>, u64>,
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

/// Splits `deal` under `terms`: the model used and a line per party.
pub fn split(terms: &Terms, deal: &Deal) -> AppResult<(AttributionModel, Vec<Line>)> {
    let model = deal.model.unwrap_or(terms.default_model);
    let weight_of = |r: &RegistrationRole| terms.role_weights.get(r).copied().unwrap_or(0);
    let mut parties: Vec<&PartyOnDeal> = deal.parties.iter().collect();
    parties.sort_by_key(|p| p.partner_id);
    // (party, the role its line is paid in, its tier)
    let mut keys: Vec<(Option<i64>, Option<RegistrationRole>, PartnerTier)> = Vec::new();
    if terms.include_direct_team || model == AttributionModel::Manual {
        keys.push((None, None, PartnerTier::Registered));
    }
    for p in &parties {
        // The heaviest role; of equally heavy ones, the first the schema lists.
        let main_role = p
            .roles
            .iter()
            .copied()
            .max_by_key(|r| (weight_of(r), std::cmp::Reverse(*r)));
        keys.push((Some(p.partner_id), main_role, p.tier));
    }
    if keys.is_empty() {
        return Ok((model, vec![]));
    }
    let weights: Vec<u64> = match model {
        AttributionModel::Equal => vec![1; keys.len()],
        AttributionModel::RoleWeighted => keys
            .iter()
            .map(|(pid, _, _)| match pid {
                None => terms.direct_team_weight_bps.max(0) as u64,
                Some(pid) => parties
                    .iter()
                    .find(|p| p.partner_id == *pid)
                    .map(|p| p.roles.iter().map(|r| weight_of(r).max(0) as u64).sum())
                    .unwrap_or(0),
            })
            .collect(),
        AttributionModel::Contribution => keys
            .iter()
            .map(|(pid, _, _)| deal.engagement.get(pid).copied().unwrap_or(0))
            .collect(),
        AttributionModel::Manual => keys
            .iter()
            .map(|(pid, _, _)| {
                deal.manual_shares
                    .iter()
                    .find(|m| m.partner_id == *pid)
                    .map(|m| m.bps as u64)
                    .unwrap_or(0)
            })
            .collect(),
    };
    let shares = if model == AttributionModel::Manual && weights.iter().sum::<u64>() == WHOLE as u64
    {
        weights.iter().map(|w| *w as u32).collect()
    } else {
        shares_bps(&weights)
    };
    let amounts = allocate(deal.amount_minor, &shares)?;
    let lines = keys
        .iter()
        .zip(shares)
        .zip(amounts)
        .map(|(((pid, role, tier), share), amount)| {
            let rate = match (pid, role) {
                (Some(_), Some(r)) => terms.rates.get(&(*tier, *r)).copied().unwrap_or(0).max(0),
                _ => 0,
            } as u32;
            Line {
                partner_id: *pid,
                role: *role,
                share_bps: share,
                amount_minor: amount,
                currency: deal.currency.clone(),
                incentive_rate_bps: rate,
                incentive_minor: incentive(amount, rate),
            }
        })
        .collect();
    Ok((model, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationRole::*;

    fn terms() -> Terms {
        Terms {
            default_model: AttributionModel::RoleWeighted,
            include_direct_team: false,
            direct_team_weight_bps: 2_000,
            role_weights: [
                (Reseller, 5_000),
                (SystemIntegrator, 3_000),
                (Referral, 3_000),
            ]
            .into_iter()
            .collect(),
            rates: [((PartnerTier::Gold, Reseller), 1_000)]
                .into_iter()
                .collect(),
        }
    }

    fn party(partner_id: i64, roles: Vec<RegistrationRole>) -> PartyOnDeal {
        PartyOnDeal {
            partner_id,
            tier: PartnerTier::Gold,
            roles,
        }
    }

    fn deal(parties: Vec<PartyOnDeal>) -> Deal {
        Deal {
            amount_minor: 100_001,
            currency: "EUR".into(),
            parties,
            ..Default::default()
        }
    }

    #[test]
    fn role_weights_split_the_deal_and_every_cent_is_allocated() {
        let (model, lines) = split(
            &terms(),
            &deal(vec![
                party(7, vec![Reseller]),
                party(3, vec![SystemIntegrator]),
            ]),
        )
        .unwrap();
        assert_eq!(model, AttributionModel::RoleWeighted);
        // Partners by id, whatever order they came in.
        assert_eq!(
            lines.iter().map(|l| l.partner_id).collect::<Vec<_>>(),
            [Some(3), Some(7)]
        );
        assert_eq!(
            lines.iter().map(|l| l.share_bps).collect::<Vec<_>>(),
            [3_750, 6_250]
        );
        assert_eq!(lines.iter().map(|l| l.amount_minor).sum::<i64>(), 100_001);
        // The reseller line earns its tier's rate; the integrator has none configured.
        assert_eq!(lines[1].incentive_rate_bps, 1_000);
        assert_eq!(lines[1].incentive_minor, lines[1].amount_minor / 10);
        assert_eq!(lines[0].incentive_minor, 0);
    }

    #[test]
    fn ties_go_to_the_earlier_party_and_a_partner_is_paid_in_its_heaviest_role() {
        let mut t = terms();
        t.default_model = AttributionModel::Equal;
        t.include_direct_team = true;
        let (_, lines) = split(
            &t,
            &deal(vec![
                party(9, vec![Referral, SystemIntegrator]),
                party(2, vec![Reseller]),
            ]),
        )
        .unwrap();
        // Three parties, 10,000 bps: the direct team (first) takes the odd basis point.
        assert_eq!(
            lines.iter().map(|l| l.share_bps).collect::<Vec<_>>(),
            [3_334, 3_333, 3_333]
        );
        assert_eq!(lines[0].partner_id, None);
        // Equally heavy roles: REFERRAL is listed before SYSTEM_INTEGRATOR in the schema.
        assert_eq!(lines[2].role, Some(Referral));
    }

    #[test]
    fn manual_shares_that_sum_to_the_whole_are_kept_as_given() {
        let mut d = deal(vec![party(4, vec![Reseller])]);
        d.model = Some(AttributionModel::Manual);
        d.manual_shares = vec![
            ManualShare {
                partner_id: None,
                bps: 1_234,
            },
            ManualShare {
                partner_id: Some(4),
                bps: 8_766,
            },
        ];
        let (model, lines) = split(&terms(), &d).unwrap();
        assert_eq!(model, AttributionModel::Manual);
        assert_eq!(
            lines.iter().map(|l| l.share_bps).collect::<Vec<_>>(),
            [1_234, 8_766]
        );
    }

    #[test]
    fn contribution_follows_engagements_and_a_deal_with_nobody_has_no_lines() {
        let mut d = deal(vec![party(1, vec![Referral]), party(2, vec![Reseller])]);
        d.model = Some(AttributionModel::Contribution);
        d.engagement = [(Some(1), 3), (Some(2), 1)].into_iter().collect();
        let (_, lines) = split(&terms(), &d).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.share_bps).collect::<Vec<_>>(),
            [7_500, 2_500]
        );
        assert!(split(&terms(), &deal(vec![])).unwrap().1.is_empty());
    }
}
