//! Who hears of a change is who reads it: each rule's audience against the parties whose
//! principals its in-memory form admits, and every topic's subject has such a rule.

use std::collections::BTreeSet;

use super::*;

/// The principals of `party` that could read a row: its people, and an app of it with every
/// scope named `app` (the app that owns the row, for rows apps own).
fn party_principals(party: Audience, app: Option<&str>) -> Vec<Principal> {
    let party = match party {
        Audience::Vendor => Party::Vendor,
        Audience::Partner(p) => Party::Partner(p),
    };
    let people = match party {
        Party::Vendor => Principal::vendor("admin", VendorRole::Admin),
        Party::Partner(p) => Principal::partner("rep", p),
    };
    let mut out = vec![people];
    out.push(Principal {
        subject: app.unwrap_or("app").into(),
        kind: PrincipalKind::App,
        party,
        vendor_role: None,
        partner_role: None,
        scopes: Some(
            crate::auth::principal::KNOWN_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    });
    out
}

/// The app that owns an endpoint.
fn owning_app(e: &webhook_endpoint::Model) -> Option<&str> {
    e.owner_app.as_deref()
}

/// Rows no app owns.
fn no_app<T>(_: &T) -> Option<&str> {
    None
}

/// Every party of a generated program.
fn parties() -> Vec<Audience> {
    let mut out = vec![Audience::Vendor];
    out.extend((1..=PARTNERS + 1).map(Audience::Partner));
    out
}

/// Rule `R`'s audience for each row, as writers get it from the database, against the parties
/// whose principals read the row: the same, or fewer when the rule says why (never more).
async fn audiences_agree<R>(
    db: &DatabaseConnection,
    rows: &[R::Row],
    facts: &Facts<'_>,
    app_of: fn(&R::Row) -> Option<&str>,
) -> usize
where
    R: Rule,
{
    let mut narrower = 0;
    for row in rows {
        let heard: BTreeSet<Audience> = heard::<R, _>(db, row)
            .await
            .unwrap()
            .parties()
            .iter()
            .copied()
            .collect();
        let readers: BTreeSet<Audience> = parties()
            .into_iter()
            .filter(|party| {
                party_principals(*party, app_of(row))
                    .iter()
                    .any(|who| R::admits(R::view(who), row, facts))
            })
            .collect();
        assert!(
            heard.is_subset(&readers),
            "{:?}: heard by {heard:?}, read by {readers:?}",
            R::SUBJECT
        );
        if heard != readers {
            assert!(
                R::NARROWER.is_some(),
                "{:?}: heard by {heard:?}, read by {readers:?}, and the rule does not say why",
                R::SUBJECT
            );
            narrower += 1;
        }
    }
    narrower
}

#[tokio::test]
async fn each_rule_s_audience_is_its_readers() {
    for seed in 1..=6 {
        let (_dir, db, p) = written(seed, "heard.db").await;
        let facts = Facts {
            claims: &p.claims,
            deals: &p.deals,
        };
        assert_eq!(
            audiences_agree::<Partners>(&db, &p.partners, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<Registrations>(&db, &p.claims, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<Opportunities>(&db, &p.deals, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<Engagements>(&db, &p.engagements, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<Conflicts>(&db, &p.conflicts, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<Invitations>(&db, &p.invitations, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<WebhookEndpoints>(&db, &p.endpoints, &facts, owning_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<AttributionRows>(&db, &p.shares, &facts, no_app).await,
            0
        );
        assert_eq!(
            audiences_agree::<AttributionVersions>(&db, &p.versions, &facts, no_app).await,
            0
        );
        // The two rules that say why their audience is narrower (partners on an account's
        // deals read it, and shared contacts there, without hearing of their changes).
        audiences_agree::<Accounts>(&db, &p.accounts, &facts, no_app).await;
        audiences_agree::<Contacts>(&db, &p.contacts, &facts, no_app).await;
    }
}

#[test]
fn every_topic_s_subject_has_a_rule_whose_audience_is_checked() {
    use crate::db::events::Topic;
    // The rules `each_rule_s_audience_is_its_readers` checks, by the kind of data they read.
    let checked = [
        Partners::SUBJECT,
        Registrations::SUBJECT,
        Opportunities::SUBJECT,
        Accounts::SUBJECT,
        Contacts::SUBJECT,
        Engagements::SUBJECT,
        Conflicts::SUBJECT,
        Invitations::SUBJECT,
        WebhookEndpoints::SUBJECT,
        AttributionRows::SUBJECT,
    ];
    for topic in Topic::all() {
        // The program's terms are the vendor's: their events go to the vendor alone
        // (`Heard::vendor`), whoever reads the terms.
        if topic.subject() == Subject::Program {
            continue;
        }
        assert!(
            checked.contains(&topic.subject()),
            "{}: its subject {:?} has no audience check",
            topic.name(),
            topic.subject()
        );
    }
}
