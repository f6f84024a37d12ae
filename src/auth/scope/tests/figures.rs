//! Program figures read from the claim and decision tallies (and, with a window, from
//! aggregates in the database) equal the figures computed here from every claim the caller's
//! rule admits, for every kind of caller, after claims change in every way that moves the
//! tallies, and again after the tallies are folded.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel, ModelTrait};

use super::*;
use crate::db::registrations::figures::{self, DecisionFigures, ProgramFigures};
use crate::domain::registration::median;

#[tokio::test]
async fn figures_from_tallies_equal_figures_from_every_claim() {
    for seed in 1..=6 {
        let (_dir, db, mut p) = written(seed, "figures.db").await;
        decide(&db, &p, seed).await;
        p.claims = registration::Entity::find().all(&db).await.unwrap();
        figures_agree(&db, &p, seed, "decided").await;
        change(&db, &p, seed).await;
        p.claims = registration::Entity::find().all(&db).await.unwrap();
        figures_agree(&db, &p, seed, "changed").await;
        crate::db::registrations::count::fold_tally_above(&db, 0)
            .await
            .unwrap();
        figures_agree(&db, &p, seed, "folded").await;
    }
}

/// Gives claims decision times: some equal (a median between equal values, a span holding
/// many), some far apart (middles in different spans), some none.
async fn decide(db: &DatabaseConnection, p: &Program, seed: u64) {
    for (i, claim) in p.claims.iter().enumerate() {
        let k = (i as u64 + seed) % 9;
        let seconds = match k {
            0 => None,
            1 | 2 => Some(3600),
            3 => Some(0),
            _ => Some((k * k * 7_919 + i as u64 * 131) as i64 % 2_000_000),
        };
        let mut c = claim.clone().into_active_model();
        c.decision_seconds = Set(seconds);
        c.submitted_at = Set(seconds.map(|_| Utc::now()));
        // Created over ten days, so that a window can hold some claims and not others.
        c.created_at = Set(claim.created_at - Duration::days((i as i64 * 7 + seed as i64) % 10));
        c.update(db).await.unwrap();
    }
}

/// Changes claims in every way that moves the decision tally: status in and out of the
/// counted ones, partner, role, decision time, deletion.
async fn change(db: &DatabaseConnection, p: &Program, seed: u64) {
    let statuses = RegistrationStatus::ALL;
    let roles = RegistrationRole::ALL;
    for (i, claim) in p.claims.iter().enumerate() {
        let k = i + seed as usize;
        let mut c = claim.clone().into_active_model();
        match k % 6 {
            0 => c.status = Set(statuses[k % statuses.len()]),
            1 => c.partner_id = Set(1 + claim.partner_id % PARTNERS),
            2 => c.role = Set(roles[k % roles.len()]),
            3 => c.decision_seconds = Set(claim.decision_seconds.map(|s| s / 2 + 5_000)),
            4 => {
                claim.clone().delete(db).await.unwrap();
                continue;
            }
            _ => continue,
        }
        c.update(db).await.unwrap();
    }
}

/// Every caller's figures, from the tallies and from a window holding every claim, equal the
/// figures of the claims its rule admits; a window holding none gives none; a window holding
/// some gives the figures of those.
async fn figures_agree(db: &DatabaseConnection, p: &Program, seed: u64, when: &str) {
    let facts = Facts {
        claims: &p.claims,
        deals: &p.deals,
    };
    let early = Utc::now() - Duration::days(3650);
    let mut partial = 0;
    for who in callers() {
        let view = Registrations::view(&who);
        let got = figures::figures(db, &who, None, None).await;
        let windowed = figures::figures(db, &who, Some(early), None).await;
        let empty = figures::figures(db, &who, None, Some(early)).await;
        if view == View::Nothing {
            assert!(got.is_err() && windowed.is_err(), "seed {seed} {when}");
            continue;
        }
        let seen: Vec<&registration::Model> = p
            .claims
            .iter()
            .filter(|c| Registrations::admits(view, c, &facts))
            .collect();
        let want = expected(&seen);
        let ctx = format!("seed {seed} {when}, {:?}", who.party);
        assert_eq!(got.unwrap(), want, "{ctx}: tallies");
        assert_eq!(windowed.unwrap(), want, "{ctx}: window with every claim");
        assert_eq!(empty.unwrap(), expected(&[]), "{ctx}: window with none");
        // Windows holding some of the claims, by creation time.
        let newest = seen.iter().map(|c| c.created_at).max();
        for days in [(7, 2), (4, 0), (9, 6)] {
            let Some(newest) = newest else { break };
            let (from, to) = (
                newest - Duration::days(days.0) - Duration::hours(1),
                newest - Duration::days(days.1),
            );
            let inside: Vec<&registration::Model> = seen
                .iter()
                .copied()
                .filter(|c| c.created_at >= from && c.created_at < to)
                .collect();
            partial += usize::from(!inside.is_empty() && inside.len() < seen.len());
            let part = figures::figures(db, &who, Some(from), Some(to)).await;
            assert_eq!(
                part.unwrap(),
                expected(&inside),
                "{ctx}: window of days {days:?} ({} claims)",
                inside.len()
            );
        }
    }
    assert!(
        partial > 0,
        "seed {seed} {when}: some windows hold some claims, not all"
    );
}

/// The figures of `claims`, computed from each one.
fn expected(claims: &[&registration::Model]) -> ProgramFigures {
    #[derive(Default)]
    struct Acc {
        submitted: u64,
        approved: u64,
        rejected: u64,
        hours: Vec<f64>,
    }
    let mut by_status: BTreeMap<RegistrationStatus, u64> =
        RegistrationStatus::ALL.iter().map(|s| (*s, 0)).collect();
    let mut overall = Acc::default();
    let mut partners: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut roles: BTreeMap<RegistrationRole, Acc> = BTreeMap::new();
    for c in claims {
        *by_status.entry(c.status).or_default() += 1;
        let approved = matches!(
            c.status,
            RegistrationStatus::Approved
                | RegistrationStatus::Won
                | RegistrationStatus::Lost
                | RegistrationStatus::Expired
        );
        let rejected = c.status == RegistrationStatus::Rejected;
        for acc in [
            &mut overall,
            partners.entry(c.partner_id).or_default(),
            roles.entry(c.role).or_default(),
        ] {
            acc.submitted += c.submitted_at.is_some() as u64;
            acc.approved += approved as u64;
            acc.rejected += rejected as u64;
            if let (true, Some(s)) = (approved || rejected, c.decision_seconds) {
                acc.hours.push(s as f64 / 3600.0);
            }
        }
    }
    let finish = |mut a: Acc| {
        let decided = a.approved + a.rejected;
        DecisionFigures {
            submitted: a.submitted,
            approved: a.approved,
            rejected: a.rejected,
            approval_rate: (decided > 0).then(|| a.approved as f64 / decided as f64),
            median_hours_to_decision: median(&mut a.hours).map(|h| (h * 100.0).round() / 100.0),
        }
    };
    ProgramFigures {
        by_status: by_status
            .into_iter()
            .map(|(status, count)| figures::StatusCount { status, count })
            .collect(),
        overall: finish(overall),
        by_partner: partners
            .into_iter()
            .map(|(partner_id, a)| figures::PartnerFigures {
                partner_id,
                figures: finish(a),
            })
            .collect(),
        by_role: roles
            .into_iter()
            .map(|(role, a)| figures::RoleFigures {
                role,
                figures: finish(a),
            })
            .collect(),
    }
}
