//! The approval rules that are plain decisions: which opportunity an approval links a claim to,
//! whether another partner's claim holds an exclusive role that blocks the approval, and which
//! deal a conflict's resolution approves a held proposal on. The data layer reads the rows and
//! carries the decisions out.

use entity::enums::{RegistrationRole, RegistrationStatus as S};

use super::conflicts::Side;
use crate::error::{AppError, AppResult};

/// The statuses in which a claim holds its role on its deal (the roles filled on it).
pub const HOLDS_ROLE: [S; 2] = [S::Approved, S::Won];

/// Where an approval puts a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The opportunity the claim already names.
    Named(i64),
    /// An existing opportunity the approver chose for a proposed deal (the data layer checks
    /// that it exists).
    Chosen(i64),
    /// A new opportunity (and account, if its domain is new) made from the proposed deal.
    Create,
}

/// Where approving a claim that names opportunity `named` (`None`: a proposed deal) puts it,
/// given the approver's choice of opportunity `chosen` and whether it asked to create one.
/// A claim on an opportunity stays on it; a proposed deal needs a choice or `create`.
pub fn link(named: Option<i64>, chosen: Option<i64>, create: bool) -> AppResult<Link> {
    match (named, chosen) {
        (Some(o), None) => Ok(Link::Named(o)),
        (Some(o), Some(c)) if o == c => Ok(Link::Named(o)),
        (Some(_), Some(_)) => Err(AppError::bad_field(
            "opportunityId",
            "the registration already names another opportunity",
        )),
        (None, Some(c)) => Ok(Link::Chosen(c)),
        (None, None) if create => Ok(Link::Create),
        (None, None) => Err(AppError::bad_field(
            "opportunityId",
            "this registration proposes a new deal: pass opportunityId to link it, or createOpportunity: true",
        )),
    }
}

/// What the exclusive-role check needs to know of a claim on the deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleClaim {
    pub partner_id: i64,
    pub role: RegistrationRole,
    pub status: S,
}

/// Whether approving `candidate` must look for another holder of its role at all: only when
/// the role is exclusive and the approval is not a co-selling one.
pub fn checks_holders(exclusive: bool, co_sell: bool) -> bool {
    exclusive && !co_sell
}

/// Refuses approving `candidate` on a deal whose `claims` include another partner's claim
/// holding the same role ([`HOLDS_ROLE`]), when that role is `exclusive` and the approval is
/// not a co-selling one. Claims of the candidate's own partner never block it.
pub fn check_exclusive(
    candidate: &RoleClaim,
    exclusive: bool,
    co_sell: bool,
    claims: &[RoleClaim],
) -> AppResult<()> {
    if !checks_holders(exclusive, co_sell) {
        return Ok(());
    }
    let held = claims.iter().any(|c| {
        c.role == candidate.role
            && c.partner_id != candidate.partner_id
            && HOLDS_ROLE.contains(&c.status)
    });
    if held {
        return Err(AppError::Conflict(format!(
            "the exclusive role {} on this opportunity is already held by another partner",
            candidate.role.as_str()
        )));
    }
    Ok(())
}

/// The opportunities a conflict's resolution may approve a claim on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResolutionDeals {
    /// The opportunity the vendor named with the resolution.
    pub chosen: Option<i64>,
    /// The opportunity the held claim names.
    pub held: Option<i64>,
    /// The opportunity the other claim names.
    pub other: Option<i64>,
    /// The opportunity the conflict names.
    pub conflict: Option<i64>,
}

/// The opportunity a resolution approving the claim on `side` links it to ([`link`]'s
/// `chosen`): for a held proposed deal, the vendor's choice, else the other claim's deal, else
/// the conflict's; a claim that names its opportunity (and the other side, always) keeps its
/// own, or becomes a new one.
pub fn resolution_link(side: Side, deals: ResolutionDeals) -> Option<i64> {
    match side {
        Side::Held if deals.held.is_none() => deals.chosen.or(deals.other).or(deals.conflict),
        Side::Held | Side::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::enums::RegistrationRole as R;

    #[test]
    fn the_link_table() {
        use Link::*;
        let rows = [
            (Some(1), None, false, Some(Named(1))),
            (Some(1), None, true, Some(Named(1))),
            (Some(1), Some(1), false, Some(Named(1))),
            (Some(1), Some(2), false, None),
            (Some(1), Some(2), true, None),
            (None, Some(2), false, Some(Chosen(2))),
            (None, Some(2), true, Some(Chosen(2))),
            (None, None, true, Some(Create)),
            (None, None, false, None),
        ];
        for (named, chosen, create, want) in rows {
            assert_eq!(
                link(named, chosen, create).ok(),
                want,
                "{named:?} {chosen:?} {create}"
            );
        }
    }

    fn claim(partner_id: i64, role: R, status: S) -> RoleClaim {
        RoleClaim {
            partner_id,
            role,
            status,
        }
    }

    #[test]
    fn an_exclusive_role_held_by_another_partner_blocks_approval() {
        let me = claim(1, R::Reseller, S::UnderReview);
        // (exclusive, co_sell, claims on the deal, blocked)
        let rows: Vec<(bool, bool, Vec<RoleClaim>, bool)> = vec![
            (true, false, vec![], false),
            (true, false, vec![claim(2, R::Reseller, S::Approved)], true),
            (true, false, vec![claim(2, R::Reseller, S::Won)], true),
            (true, true, vec![claim(2, R::Reseller, S::Approved)], false),
            (
                false,
                false,
                vec![claim(2, R::Reseller, S::Approved)],
                false,
            ),
            (true, false, vec![claim(1, R::Reseller, S::Approved)], false),
            (true, false, vec![claim(2, R::Referral, S::Approved)], false),
            (
                true,
                false,
                vec![claim(2, R::Reseller, S::Submitted)],
                false,
            ),
            (true, false, vec![claim(2, R::Reseller, S::Lost)], false),
            (true, false, vec![claim(2, R::Reseller, S::Rejected)], false),
        ];
        for (exclusive, co_sell, claims, blocked) in rows {
            let r = check_exclusive(&me, exclusive, co_sell, &claims);
            assert_eq!(r.is_err(), blocked, "{exclusive} {co_sell} {claims:?}");
        }
    }

    #[test]
    fn only_an_exclusive_non_co_selling_approval_looks_for_holders() {
        for (exclusive, co_sell, want) in [
            (true, false, true),
            (true, true, false),
            (false, false, false),
            (false, true, false),
        ] {
            assert_eq!(checks_holders(exclusive, co_sell), want);
        }
    }

    #[test]
    fn a_resolution_keeps_the_deal_a_claim_names_and_otherwise_prefers_the_vendors_choice() {
        let d = |chosen, held, other, conflict| ResolutionDeals {
            chosen,
            held,
            other,
            conflict,
        };
        let rows = [
            (Side::Held, d(Some(1), None, Some(2), Some(3)), Some(1)),
            (Side::Held, d(None, None, Some(2), Some(3)), Some(2)),
            (Side::Held, d(None, None, None, Some(3)), Some(3)),
            (Side::Held, d(None, None, None, None), None),
            (Side::Held, d(Some(1), Some(4), Some(2), Some(3)), None),
            (Side::Other, d(Some(1), None, Some(2), Some(3)), None),
            (Side::Other, d(None, None, None, None), None),
        ];
        for (side, deals, want) in rows {
            assert_eq!(resolution_link(side, deals), want, "{side:?} {deals:?}");
        }
    }
}
