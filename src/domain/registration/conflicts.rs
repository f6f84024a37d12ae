//! The conflict rules that are plain decisions: which claims count, when a direct-team deal
//! overlaps a proposed one, and what a vendor's resolution of a conflict does to the claims it
//! names. The data layer reads the rows and carries the decisions out.

use entity::enums::{ConflictResolution, OpportunityStage, RegistrationStatus as S};

use super::names_match;
use crate::error::{AppError, AppResult};

/// The claims a new submission is compared with: sent and not yet decided against.
pub const OPEN_CLAIMS: [S; 4] = [S::Submitted, S::UnderReview, S::NeedsInfo, S::Approved];

/// Claims that make a deal a partner's, not the direct team's: open ones, and won ones.
pub const HOLDS_DEAL: [S; 5] = [
    S::Submitted,
    S::UnderReview,
    S::NeedsInfo,
    S::Approved,
    S::Won,
];

/// The stages in which a direct-team deal overlaps a partner's proposal: past QUALIFICATION
/// and still open.
pub const LATE_STAGES: [OpportunityStage; 3] = [
    OpportunityStage::Solution,
    OpportunityStage::Proposal,
    OpportunityStage::Negotiation,
];

/// Whether an account is the customer a proposed deal names: the same domain, or a
/// near-identical company name.
pub fn same_customer(
    proposed_domain: &str,
    proposed_name: &str,
    account_domain: &str,
    account_name: &str,
) -> bool {
    account_domain == proposed_domain || names_match(account_name, proposed_name)
}

/// What a resolution needs to know of a claim in the conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimState {
    pub id: i64,
    pub partner_id: i64,
    pub status: S,
}

/// One of the two claims a conflict names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The claim the conflict holds in review.
    Held,
    /// The claim it collided with, if any.
    Other,
}

/// One thing a resolution does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Reject(Side),
    /// Approve the claim unless another open conflict still holds it (the data layer checks
    /// that when it carries the step out); `co_sell` when others keep their claims alongside.
    Approve {
        side: Side,
        co_sell: bool,
    },
}

/// A resolution's decision: the winner to record and the steps, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub winner: Option<i64>,
    pub steps: Vec<Step>,
}

fn undecided(s: S) -> bool {
    matches!(s, S::Submitted | S::UnderReview)
}

/// What resolving a conflict on `held` (against `other`) with `resolution` does.
///
/// - REJECTED: the held claim is rejected.
/// - CO_SELL_ALLOWED: the held claim is approved alongside the others.
/// - WINNER_CHOSEN, the held claim wins: the other is rejected if still undecided, and the held
///   one approved; refused when the other is already APPROVED for another partner (choose it,
///   allow co-selling, or reject instead).
/// - WINNER_CHOSEN, the other claim wins: the held one is rejected, and the other approved if
///   still undecided.
pub fn plan(
    resolution: ConflictResolution,
    winner: Option<i64>,
    held: &ClaimState,
    other: Option<&ClaimState>,
) -> AppResult<Plan> {
    use Side::*;
    let steps = match resolution {
        ConflictResolution::Rejected => vec![Step::Reject(Held)],
        ConflictResolution::CoSellAllowed => vec![Step::Approve {
            side: Held,
            co_sell: true,
        }],
        ConflictResolution::WinnerChosen => {
            let winner = winner.ok_or_else(|| {
                AppError::bad_field(
                    "winnerRegistrationId",
                    "WINNER_CHOSEN needs winnerRegistrationId",
                )
            })?;
            if winner == held.id {
                let mut steps = Vec::new();
                if let Some(o) = other {
                    if undecided(o.status) {
                        steps.push(Step::Reject(Other));
                    } else if o.status == S::Approved && o.partner_id != held.partner_id {
                        return Err(AppError::Conflict(
                            "the other registration is already APPROVED: choose it as the winner, allow co-selling, or reject".into(),
                        ));
                    }
                }
                steps.push(Step::Approve {
                    side: Held,
                    co_sell: false,
                });
                steps
            } else if Some(winner) == other.map(|o| o.id) {
                let mut steps = vec![Step::Reject(Held)];
                if other.is_some_and(|o| undecided(o.status)) {
                    steps.push(Step::Approve {
                        side: Other,
                        co_sell: false,
                    });
                }
                steps
            } else {
                return Err(AppError::bad_field(
                    "winnerRegistrationId",
                    "the winner must be one of the conflict's registrations",
                ));
            }
        }
    };
    let winner = (resolution == ConflictResolution::WinnerChosen)
        .then_some(winner)
        .flatten();
    Ok(Plan { winner, steps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConflictResolution::*;
    use Side::*;

    fn claim(id: i64, partner_id: i64, status: S) -> ClaimState {
        ClaimState {
            id,
            partner_id,
            status,
        }
    }

    #[test]
    fn rejecting_or_co_selling_touches_the_held_claim_only() {
        let held = claim(1, 10, S::UnderReview);
        let other = claim(2, 20, S::Approved);
        assert_eq!(
            plan(Rejected, None, &held, Some(&other)).unwrap().steps,
            [Step::Reject(Held)]
        );
        let co = plan(CoSellAllowed, Some(2), &held, Some(&other)).unwrap();
        assert_eq!(
            co.steps,
            [Step::Approve {
                side: Held,
                co_sell: true
            }]
        );
        assert_eq!(co.winner, None, "only WINNER_CHOSEN records a winner");
    }

    #[test]
    fn the_held_claim_winning_rejects_an_undecided_rival_and_refuses_an_approved_one() {
        let held = claim(1, 10, S::UnderReview);
        let p = plan(
            WinnerChosen,
            Some(1),
            &held,
            Some(&claim(2, 20, S::Submitted)),
        )
        .unwrap();
        assert_eq!(p.winner, Some(1));
        assert_eq!(
            p.steps,
            [
                Step::Reject(Other),
                Step::Approve {
                    side: Held,
                    co_sell: false
                }
            ]
        );
        let refused = plan(
            WinnerChosen,
            Some(1),
            &held,
            Some(&claim(2, 20, S::Approved)),
        );
        assert_eq!(refused.unwrap_err().code(), crate::error::code::CONFLICT);
        // The same partner's approved claim (a duplicate) does not stand in the way.
        let dup = plan(
            WinnerChosen,
            Some(1),
            &held,
            Some(&claim(2, 10, S::Approved)),
        )
        .unwrap();
        assert_eq!(
            dup.steps,
            [Step::Approve {
                side: Held,
                co_sell: false
            }]
        );
        // Nothing to collide with (a direct-deal overlap): the held claim is approved.
        let alone = plan(WinnerChosen, Some(1), &held, None).unwrap();
        assert_eq!(
            alone.steps,
            [Step::Approve {
                side: Held,
                co_sell: false
            }]
        );
    }

    #[test]
    fn the_other_claim_winning_rejects_the_held_one_and_approves_the_winner_if_undecided() {
        let held = claim(1, 10, S::UnderReview);
        let p = plan(
            WinnerChosen,
            Some(2),
            &held,
            Some(&claim(2, 20, S::Submitted)),
        )
        .unwrap();
        assert_eq!(
            p.steps,
            [
                Step::Reject(Held),
                Step::Approve {
                    side: Other,
                    co_sell: false
                }
            ]
        );
        let p = plan(
            WinnerChosen,
            Some(2),
            &held,
            Some(&claim(2, 20, S::Approved)),
        )
        .unwrap();
        assert_eq!(p.steps, [Step::Reject(Held)]);
    }

    #[test]
    fn a_winner_must_be_named_and_be_one_of_the_two() {
        let held = claim(1, 10, S::UnderReview);
        for winner in [None, Some(99)] {
            let e = plan(
                WinnerChosen,
                winner,
                &held,
                Some(&claim(2, 20, S::Submitted)),
            );
            assert_eq!(e.unwrap_err().code(), crate::error::code::BAD_USER_INPUT);
        }
    }

    #[test]
    fn a_customer_is_the_same_by_domain_or_near_identical_name() {
        assert!(same_customer(
            "acme.com",
            "Acme",
            "acme.com",
            "Something Else"
        ));
        assert!(same_customer(
            "acme-mfg.com",
            "Globex Corp",
            "globex.io",
            "Globex"
        ));
        assert!(!same_customer("acme.com", "Acme", "initech.com", "Initech"));
    }
}
