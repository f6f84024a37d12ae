//! Each rule's SQL condition reads exactly the rows its in-memory form admits, for every kind
//! of caller, and the events rule matches the audiences written.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter};

use super::*;

/// Rule `R`'s rows for `principal`, read with the SQL form and computed with the in-memory one.
async fn both<R>(
    db: &DatabaseConnection,
    principal: &Principal,
    rows: &[R::Row],
    facts: &Facts<'_>,
    id: fn(&R::Row) -> i64,
) -> (BTreeSet<i64>, BTreeSet<i64>)
where
    R: Rule,
    R::Row: sea_orm::ModelTrait,
    <R::Row as sea_orm::ModelTrait>::Entity: EntityTrait<Model = R::Row>,
{
    let read = <R::Row as sea_orm::ModelTrait>::Entity::find()
        .filter(condition::<R>(principal))
        .all(db)
        .await
        .unwrap();
    let view = R::view(principal);
    let computed = rows
        .iter()
        .filter(|r| R::admits(view.clone(), r, facts))
        .map(id)
        .collect();
    (read.iter().map(id).collect(), computed)
}

/// Every row rule's two forms agree for `who` on program `p`; how many of them gave `who` a
/// partial view (some rows, not all).
pub(super) async fn rules_agree(
    db: &DatabaseConnection,
    who: &Principal,
    p: &Program,
    seed: u64,
) -> usize {
    let facts = Facts {
        claims: &p.claims,
        deals: &p.deals,
    };
    let checks = [
        (
            "partners",
            both::<Partners>(db, who, &p.partners, &facts, |r| r.id).await,
        ),
        (
            "registrations",
            both::<Registrations>(db, who, &p.claims, &facts, |r| r.id).await,
        ),
        (
            "opportunities",
            both::<Opportunities>(db, who, &p.deals, &facts, |r| r.id).await,
        ),
        (
            "accounts",
            both::<Accounts>(db, who, &p.accounts, &facts, |r| r.id).await,
        ),
        (
            "contacts",
            both::<Contacts>(db, who, &p.contacts, &facts, |r| r.id).await,
        ),
        (
            "engagements",
            both::<Engagements>(db, who, &p.engagements, &facts, |r| r.id).await,
        ),
        (
            "conflicts",
            both::<Conflicts>(db, who, &p.conflicts, &facts, |r| r.id).await,
        ),
        (
            "invitations",
            both::<Invitations>(db, who, &p.invitations, &facts, |r| r.id).await,
        ),
        (
            "webhook endpoints",
            both::<WebhookEndpoints>(db, who, &p.endpoints, &facts, |r| r.id).await,
        ),
        (
            "attribution rows",
            both::<AttributionRows>(db, who, &p.shares, &facts, |r| r.id).await,
        ),
        (
            "attribution versions",
            both::<AttributionVersions>(db, who, &p.versions, &facts, |r| r.id).await,
        ),
    ];
    // At the accounts a partner sees, the contacts rule needs no facts (a deal's network).
    let view = Contacts::view(who);
    for c in &p.contacts {
        let seen_account = match view {
            View::Partner(partner) => facts.on_account(partner, c.account_id),
            _ => true,
        };
        if seen_account {
            assert_eq!(
                Contacts::admits_at_seen_account(view, c),
                Contacts::admits(view, c, &facts),
                "seed {seed}, contact {} at a seen account, {who:?}",
                c.id
            );
        }
    }
    let mut partial = 0;
    for (rule, (read, computed)) in checks {
        assert_eq!(read, computed, "seed {seed}, {rule}, {who:?}");
        if !read.is_empty() && read.len() < 10 {
            partial += 1;
        }
    }
    partial
}

/// The events rule's two forms agree for `who`, and match the audiences program `p` wrote.
async fn events_agree(db: &DatabaseConnection, who: &Principal, p: &Program, seed: u64) {
    let audience = Audience::of(who);
    let read: BTreeSet<i64> = event::Entity::find()
        .filter(Events::condition(audience))
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let all = event::Entity::find().all(db).await.unwrap();
    let computed: BTreeSet<i64> = all
        .iter()
        .filter(|e| Events::admits(audience, e))
        .map(|e| e.id)
        .collect();
    assert_eq!(read, computed, "seed {seed}, events, {who:?}");
    // The stored audience is the one written, in the one spelling.
    for (e, written) in all.iter().zip(&p.audiences) {
        assert_eq!(
            Events::admits(audience, e),
            written.contains(&audience),
            "seed {seed}, event {}",
            e.id
        );
    }
}

#[tokio::test]
async fn sql_and_in_memory_forms_agree_on_generated_programs() {
    let mut seen_partial = 0;
    for seed in 1..=12 {
        let (_dir, db, p) = written(seed, "scope.db").await;
        for who in callers() {
            seen_partial += rules_agree(&db, &who, &p, seed).await;
            events_agree(&db, &who, &p, seed).await;
            contact_count_agrees(&db, &who, &p, seed).await;
        }
    }
    // The programs are varied enough that callers see some rows and not others.
    shareable_contacts_agree().await;
    assert!(seen_partial > 100, "only {seen_partial} partial views");
}

/// What the vendor may pass on of the contacts: the SQL and in-memory forms agree.
async fn shareable_contacts_agree() {
    for seed in 1..=4 {
        let (_dir, db, p) = written(seed, "share.db").await;
        let read: BTreeSet<i64> = contact::Entity::find()
            .filter(Contacts::shareable())
            .all(&db)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        let computed: BTreeSet<i64> = p
            .contacts
            .iter()
            .filter(|c| Contacts::is_shareable(c))
            .map(|c| c.id)
            .collect();
        assert_eq!(read, computed, "seed {seed}");
        assert!(!read.is_empty() && read.len() < p.contacts.len());
    }
}

/// A partner's whole contact list counted by [`Contacts::count`] holds as many contacts as the
/// in-memory rule admits.
pub(super) async fn contact_count_agrees(
    db: &DatabaseConnection,
    who: &Principal,
    p: &Program,
    seed: u64,
) {
    let view = Contacts::view(who);
    let Some(count) = Contacts::count(view) else {
        assert!(matches!(view, View::Nothing), "{who:?}");
        return;
    };
    let facts = Facts {
        claims: &p.claims,
        deals: &p.deals,
    };
    let computed = p
        .contacts
        .iter()
        .filter(|c| Contacts::admits(view, c, &facts))
        .count() as i64;
    let row = db.query_one(&count).await.unwrap().unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    assert_eq!(n, computed, "seed {seed}, contact count, {who:?}");
}
