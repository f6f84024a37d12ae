//! A seeded deal's stage history: the stages it went through to reach its current one, with
//! the times, as `opportunity_stage_changes` rows, and the times they give the deal itself.

use chrono::{DateTime, Duration, Utc};
use entity::enums::OpportunityStage;
use entity::opportunity_stage_change as stage_change;
use sea_orm::Set;

use super::Rng;

const OPEN: [OpportunityStage; 5] = [
    OpportunityStage::Prospecting,
    OpportunityStage::Qualification,
    OpportunityStage::Solution,
    OpportunityStage::Proposal,
    OpportunityStage::Negotiation,
];

const LOST_BECAUSE: [&str; 4] = [
    "Lost to a competitor",
    "No budget this year",
    "Project cancelled",
    "Went with the incumbent",
];

/// The stages a deal went through, in order, ending at `stage`: created in PROSPECTING, then
/// forward through the open stages (skipping one now and then), and for a closed deal from
/// NEGOTIATION (won) or from wherever it stalled (lost) to its close.
pub(super) fn path(stage: OpportunityStage, rng: &mut Rng) -> Vec<OpportunityStage> {
    let reached = match stage {
        OpportunityStage::ClosedWon => 4,
        OpportunityStage::ClosedLost => rng.below(5) as usize,
        open => OPEN.iter().position(|s| *s == open).unwrap_or(0),
    };
    let mut path = vec![OpportunityStage::Prospecting];
    for (i, s) in OPEN.iter().enumerate().take(reached + 1).skip(1) {
        // The stage it ends in is always there; one in five of those on the way is skipped.
        if i == reached || rng.below(5) > 0 {
            path.push(*s);
        }
    }
    if stage.is_closed() {
        path.push(stage);
    }
    path
}

/// When a deal's stages were entered: the first at `created`, the last at its last change
/// (within the last 19 days for a closed deal, after the claims on it were decided; anywhere
/// since its creation for an open one), the others evenly between.
pub(super) fn times(
    created: DateTime<Utc>,
    path: &[OpportunityStage],
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Vec<DateTime<Utc>> {
    if path.len() == 1 {
        return vec![created];
    }
    let closed = path.last().is_some_and(|s| s.is_closed());
    let last = if closed {
        now - Duration::minutes(60 + rng.below(19 * 24 * 60) as i64)
    } else {
        let span = (now - created).num_minutes().max(2) as u64;
        created + Duration::minutes((span / 5 + rng.below(span * 4 / 5)) as i64)
    };
    let steps = (path.len() - 1) as i32;
    (0..=steps)
        .map(|i| created + (last - created) * i / steps)
        .collect()
}

/// The history rows of deal `opportunity`, ids from `first_id`, moved by `owner`.
pub(super) fn rows(
    opportunity: i64,
    first_id: i64,
    path: &[OpportunityStage],
    at: &[DateTime<Utc>],
    owner: &str,
    rng: &mut Rng,
) -> Vec<stage_change::ActiveModel> {
    path.iter()
        .zip(at)
        .enumerate()
        .map(|(i, (stage, when))| {
            let reason = match stage {
                OpportunityStage::ClosedLost => {
                    Some(LOST_BECAUSE[rng.below(LOST_BECAUSE.len() as u64) as usize].to_string())
                }
                OpportunityStage::ClosedWon => Some("Contract signed".to_string()),
                _ => None,
            };
            stage_change::ActiveModel {
                id: Set(first_id + i as i64),
                opportunity_id: Set(opportunity),
                from_stage: Set(i.checked_sub(1).map(|p| path[p])),
                to_stage: Set(*stage),
                changed_by: Set(owner.to_string()),
                reason: Set(reason),
                changed_at: Set(*when),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_starts_at_prospecting_and_ends_at_the_stage() {
        let mut rng = Rng(7);
        let now = Utc::now();
        for stage in [
            OpportunityStage::Prospecting,
            OpportunityStage::Qualification,
            OpportunityStage::Solution,
            OpportunityStage::Proposal,
            OpportunityStage::Negotiation,
            OpportunityStage::ClosedWon,
            OpportunityStage::ClosedLost,
        ] {
            for _ in 0..200 {
                let p = path(stage, &mut rng);
                assert_eq!(p[0], OpportunityStage::Prospecting);
                assert_eq!(*p.last().unwrap(), stage);
                assert!(p.windows(2).all(|w| w[0] != w[1]));
                assert!(p[..p.len() - 1].iter().all(|s| !s.is_closed()));
                let created = now - Duration::days(40);
                let t = times(created, &p, now, &mut rng);
                assert_eq!(t.len(), p.len());
                assert_eq!(t[0], created);
                assert!(t.windows(2).all(|w| w[0] <= w[1]));
                assert!(*t.last().unwrap() < now);
            }
        }
    }
}
