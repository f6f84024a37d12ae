//! Opportunity rules: stage moves and field checks.

use entity::enums::OpportunityStage;

use crate::error::{AppError, AppResult};

/// What a stage move is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageMove {
    /// Between open stages, or from an open stage to a closed one.
    Advance,
    /// From a closed stage back to an open one: a vendor ADMIN's reopen.
    Reopen,
}

/// Decides whether `from -> to` may happen. `reopen` says the caller asked to reopen.
pub fn check_move(
    from: OpportunityStage,
    to: OpportunityStage,
    reopen: bool,
) -> AppResult<StageMove> {
    if from == to {
        return Err(AppError::bad_field(
            "stage",
            format!("the opportunity is already in stage {}", from.as_str()),
        ));
    }
    match (from.is_closed(), to.is_closed(), reopen) {
        (false, _, false) => Ok(StageMove::Advance),
        (false, _, true) => Err(AppError::bad_input(format!(
            "the opportunity is in open stage {}: only closed opportunities can be reopened",
            from.as_str()
        ))),
        (true, false, true) => Ok(StageMove::Reopen),
        (true, true, true) => Err(AppError::bad_field("stage", "reopening needs an open target stage")),
        (true, _, false) => Err(AppError::Conflict(format!(
            "the opportunity is {}: closed stages are final; a vendor ADMIN can reopen it with reopenOpportunity",
            from.as_str()
        ))),
    }
}

/// Checks a win probability in percent.
pub fn probability(p: Option<i32>) -> AppResult<Option<i32>> {
    match p {
        Some(v) if !(0..=100).contains(&v) => Err(AppError::bad_field(
            "probability",
            "probability must be 0 to 100",
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OpportunityStage::*;

    #[test]
    fn open_stages_move_freely_and_may_close() {
        assert_eq!(
            check_move(Prospecting, Proposal, false).unwrap(),
            StageMove::Advance
        );
        assert_eq!(
            check_move(Proposal, Qualification, false).unwrap(),
            StageMove::Advance
        );
        assert_eq!(
            check_move(Negotiation, ClosedWon, false).unwrap(),
            StageMove::Advance
        );
    }

    #[test]
    fn closed_is_final_unless_reopened() {
        assert_eq!(
            check_move(ClosedWon, Negotiation, false)
                .unwrap_err()
                .code(),
            "CONFLICT"
        );
        assert_eq!(
            check_move(ClosedWon, ClosedLost, false).unwrap_err().code(),
            "CONFLICT"
        );
        assert_eq!(
            check_move(ClosedLost, Proposal, true).unwrap(),
            StageMove::Reopen
        );
        assert!(check_move(ClosedLost, ClosedWon, true).is_err());
        assert!(check_move(Proposal, Proposal, false).is_err());
        assert!(check_move(Proposal, Solution, true).is_err());
    }
}
