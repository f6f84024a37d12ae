//! The tables the SQL forms read instead of joining every claim to its deal (each partner's
//! accounts, each account's shared contacts), and the claim tally the registration lists are
//! counted from, the contact tally the vendor's contact list is counted from and the deals'
//! kept names a name search is counted from, follow every change to the rows they are kept
//! from: claims changing partner, deal, role, status or submission, or deleted; deals moving
//! to another account or renamed; contacts shared, unshared, moved, given another source or
//! deleted. The rules' two forms still agree afterwards.

use std::collections::BTreeMap;

use chrono::Utc;
use entity::enums::{RegistrationRole, RegistrationStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait,
    Statement,
};

use super::agreement::{contact_count_agrees, rules_agree};
use super::*;

#[tokio::test]
async fn kept_tables_follow_every_change_to_claims_deals_and_contacts() {
    for seed in 1..=8 {
        let (_dir, db, mut p) = written(seed, "kept.db").await;
        change_claims(&db, &p, seed).await;
        change_deals_and_contacts(&db, &p, seed).await;
        p.claims = registration::Entity::find().all(&db).await.unwrap();
        p.deals = opportunity::Entity::find().all(&db).await.unwrap();
        p.contacts = contact::Entity::find().all(&db).await.unwrap();
        p.engagements = engagement::Entity::find().all(&db).await.unwrap();
        p.conflicts = conflict::Entity::find().all(&db).await.unwrap();
        for who in callers() {
            rules_agree(&db, &who, &p, seed).await;
            contact_count_agrees(&db, &who, &p, seed).await;
            names_agree(&db, &who, seed).await;
        }
        tally_agrees(&db, &p, seed).await;
        // Folded, the tally holds one row per key and the same sums.
        let folded = crate::db::registrations::count::fold_tally_above(&db, 0)
            .await
            .unwrap();
        assert!(folded > 0, "seed {seed}");
        tally_agrees(&db, &p, seed).await;
        let again = crate::db::registrations::count::fold_tally_above(&db, 0)
            .await
            .unwrap();
        assert_eq!(again, 0, "seed {seed}: one row per key");
        // Folded, the contact tally counts the same.
        assert!(
            crate::db::contacts::fold_tally_above(&db, 0).await.unwrap() > 0,
            "seed {seed}"
        );
        for who in callers() {
            contact_count_agrees(&db, &who, &p, seed).await;
        }
    }
}

/// Changes each claim in one of the ways that move the kept tables (or deletes it).
async fn change_claims(db: &DatabaseConnection, p: &Program, seed: u64) {
    let statuses = RegistrationStatus::ALL;
    let roles = RegistrationRole::ALL;
    for (i, claim) in p.claims.iter().enumerate() {
        let k = i + seed as usize;
        let mut c = claim.clone().into_active_model();
        match k % 7 {
            0 => c.status = Set(statuses[k % statuses.len()]),
            1 => c.partner_id = Set(1 + claim.partner_id % PARTNERS),
            2 => {
                c.opportunity_id = Set((k % 3 != 0).then(|| 1 + (k % p.deals.len()) as i64));
            }
            3 => c.submitted_at = Set(Some(Utc::now())),
            4 => c.role = Set(roles[k % roles.len()]),
            5 => {
                claim.clone().delete(db).await.unwrap();
                continue;
            }
            _ => {
                // Two changes at once, then back again: the kept rows end where they began.
                c.status = Set(statuses[(k + 1) % statuses.len()]);
                c.partner_id = Set(1 + claim.partner_id % PARTNERS);
                c.clone().update(db).await.unwrap();
                c.status = Set(claim.status);
                c.partner_id = Set(claim.partner_id);
            }
        }
        c.update(db).await.unwrap();
    }
}

/// Moves some deals to another account, and shares, unshares, moves or deletes contacts.
async fn change_deals_and_contacts(db: &DatabaseConnection, p: &Program, seed: u64) {
    let accounts = p.accounts.len() as i64;
    for deal in p.deals.iter().filter(|d| (d.id + seed as i64) % 3 == 0) {
        let mut d = deal.clone().into_active_model();
        d.account_id = Set(1 + deal.account_id % accounts);
        d.update(db).await.unwrap();
    }
    // Renamed deals: their kept names follow.
    for deal in p.deals.iter().filter(|d| (d.id + seed as i64) % 4 == 1) {
        let mut d = deal.clone().into_active_model();
        d.name = Set(format!("Renamed DEAL_{} at 100%", deal.id * 7));
        d.update(db).await.unwrap();
    }
    for contact in &p.contacts {
        let mut c = contact.clone().into_active_model();
        match (contact.id + seed as i64) % 5 {
            0 => c.shared = Set(!contact.shared),
            1 => c.account_id = Set(1 + contact.account_id % accounts),
            2 => {
                contact.clone().delete(db).await.unwrap();
                continue;
            }
            // Another source: the partner's own record becomes the vendor's, or the next
            // partner's (the tally is kept per source).
            3 => {
                c.sourced_by_partner_id = Set(match contact.sourced_by_partner_id {
                    Some(p) if p % 2 == 0 => None,
                    Some(p) => Some(1 + p % PARTNERS),
                    None => Some(1 + contact.id % PARTNERS),
                })
            }
            _ => {
                c.shared = Set(!contact.shared);
                c.account_id = Set(1 + contact.account_id % accounts);
            }
        }
        c.update(db).await.unwrap();
    }
}

/// A name search counted from the kept names (`opportunities::names`) counts what the list's
/// own query finds, for every caller and needle.
async fn names_agree(db: &DatabaseConnection, who: &Principal, seed: u64) {
    use sea_orm::{PaginatorTrait, QueryFilter};
    for needle in [
        "deal 1",
        "DEAL",
        "renamed deal_",
        "100%",
        "_1",
        "2",
        "nothing like it",
    ] {
        let listed = crate::db::opportunities::visible(who)
            .filter(
                crate::db::contains_ci(opportunity::Column::Name, "nameContains", needle).unwrap(),
            )
            .count(db)
            .await
            .unwrap();
        let kept = crate::db::opportunities::names(db, who, needle)
            .await
            .unwrap();
        assert_eq!(kept, listed, "seed {seed}, names with {needle:?}, {who:?}");
    }
}

/// The claim tally sums to the claims there are, key by key.
async fn tally_agrees(db: &DatabaseConnection, p: &Program, seed: u64) {
    type Key = (i64, String, String, bool);
    let mut counted: BTreeMap<Key, i64> = BTreeMap::new();
    for c in &p.claims {
        let key = (
            c.partner_id,
            c.role.as_str().to_string(),
            c.status.as_str().to_string(),
            c.submitted_at.is_some(),
        );
        *counted.entry(key).or_default() += 1;
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT partner_id, role, status, submitted, CAST(SUM(delta) AS BIGINT) AS n \
             FROM registration_tally GROUP BY partner_id, role, status, submitted \
             HAVING SUM(delta) <> 0",
        ))
        .await
        .unwrap();
    let mut tallied: BTreeMap<Key, i64> = BTreeMap::new();
    for r in rows {
        let key = (
            r.try_get("", "partner_id").unwrap(),
            r.try_get("", "role").unwrap(),
            r.try_get("", "status").unwrap(),
            r.try_get("", "submitted").unwrap(),
        );
        tallied.insert(key, r.try_get("", "n").unwrap());
    }
    assert_eq!(tallied, counted, "seed {seed}, claim tally");
}
