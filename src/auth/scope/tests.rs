//! The SQL and in-memory forms of every rule agree: generated programs written to a real SQLite
//! file, read back through each rule's condition for every kind of caller, and compared with
//! the in-memory rule applied to every row.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use entity::enums::*;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable, QueryFilter,
};
use serde_json::json;

use super::*;
use crate::auth::{Principal, PrincipalKind, VendorRole};
use crate::db::events::payload::{AccountChanged, AccountSnapshot};
use crate::db::events::{NewEvent, Topic};

/// xorshift64*: the same programs on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// One generated program, as rows.
struct Program {
    partners: Vec<partner::Model>,
    accounts: Vec<account::Model>,
    deals: Vec<opportunity::Model>,
    claims: Vec<registration::Model>,
    contacts: Vec<contact::Model>,
    engagements: Vec<engagement::Model>,
    conflicts: Vec<conflict::Model>,
    invitations: Vec<invitation::Model>,
    endpoints: Vec<webhook_endpoint::Model>,
    /// Each event's audience, in the order written.
    audiences: Vec<Vec<Audience>>,
}

const PARTNERS: i64 = 5;

fn generate(seed: u64) -> Program {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let now = Utc::now();
    let day = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
    let partners = (1..=PARTNERS)
        .map(|id| partner::Model {
            id,
            name: format!("Partner {id}"),
            tier: PartnerTier::Gold,
            status: PartnerStatus::Active,
            specialisations: json!([]),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let accounts: Vec<account::Model> = (1..=6)
        .map(|id| account::Model {
            id,
            name: format!("Account {id}"),
            domain: format!("a{id}.example"),
            industry: None,
            region: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let stages: Vec<OpportunityStage> = OpportunityStage::iter().collect();
    let deals: Vec<opportunity::Model> = (1..=12)
        .map(|id| opportunity::Model {
            id,
            account_id: 1 + rng.below(accounts.len()) as i64,
            name: format!("Deal {id}"),
            stage: rng.pick(&stages),
            amount_minor: 100,
            currency: "USD".into(),
            expected_close_date: day,
            owner: "owner@vendor.example".into(),
            region: None,
            products: json!([]),
            forecast_notes: None,
            probability: None,
            version: 1,
            created_at: now,
            updated_at: now,
            closed_at: None,
        })
        .collect();
    let statuses: Vec<RegistrationStatus> = RegistrationStatus::iter().collect();
    let roles: Vec<RegistrationRole> = RegistrationRole::iter().collect();
    let claims: Vec<registration::Model> = (1..=30)
        .map(|id| registration::Model {
            id,
            partner_id: 1 + rng.below(PARTNERS as usize) as i64,
            opportunity_id: (!rng.chance(15)).then(|| 1 + rng.below(deals.len()) as i64),
            account_domain: "a1.example".into(),
            account_name: None,
            deal_name: None,
            amount_minor: None,
            currency: None,
            expected_close_date: None,
            role: rng.pick(&roles),
            status: rng.pick(&statuses),
            justification: String::new(),
            private_notes: None,
            idempotency_key: None,
            idempotency_fingerprint: None,
            info_request: None,
            extension_requested_days: None,
            extension_reason: None,
            protection_expires_at: None,
            submitted_at: None,
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            auto_approved: false,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let contacts: Vec<contact::Model> = (1..=25)
        .map(|id| contact::Model {
            id,
            account_id: 1 + rng.below(accounts.len()) as i64,
            name: format!("Contact {id}"),
            email: format!("c{id}@example.com"),
            email_key: format!("c{id}@example.com"),
            title: None,
            department: None,
            seniority: None,
            buying_role: None,
            status: ContactStatus::Active,
            successor_id: None,
            sourced_by_partner_id: rng
                .chance(60)
                .then(|| 1 + rng.below(PARTNERS as usize) as i64),
            shared: rng.chance(50),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let engagements = (1..=20)
        .map(|id| {
            let c = &contacts[rng.below(contacts.len())];
            engagement::Model {
                id,
                contact_id: c.id,
                account_id: c.account_id,
                partner_id: rng
                    .chance(60)
                    .then(|| 1 + rng.below(PARTNERS as usize) as i64),
                opportunity_id: None,
                kind: EngagementKind::Call,
                occurred_on: day,
                sentiment: Sentiment::Neutral,
                notes: None,
                created_by: "someone".into(),
                created_at: now,
            }
        })
        .collect();
    let kinds: Vec<ConflictKind> = ConflictKind::iter().collect();
    let conflicts = (1..=10)
        .map(|id| conflict::Model {
            id,
            kind: rng.pick(&kinds),
            registration_id: 1 + rng.below(claims.len()) as i64,
            other_registration_id: None,
            opportunity_id: None,
            status: ConflictStatus::Open,
            resolution: None,
            winner_registration_id: None,
            resolved_by: None,
            resolved_by_partner_id: None,
            resolution_reason: None,
            resolved_at: None,
            created_at: now,
        })
        .collect();
    let invitations = (1..=10)
        .map(|id| invitation::Model {
            id,
            // One invitation a deal: (deal, partner) is unique.
            opportunity_id: id,
            partner_id: 1 + rng.below(PARTNERS as usize) as i64,
            role: rng.pick(&roles),
            status: InvitationStatus::Open,
            message: None,
            shared: json!({}),
            expires_at: now,
            invited_by: "admin@vendor.example".into(),
            decline_reason: None,
            registration_id: None,
            closed_at: None,
            idempotency_key: None,
            idempotency_fingerprint: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let apps = [None, Some("app"), Some("other-app")];
    let endpoints = (1..=16)
        .map(|id| webhook_endpoint::Model {
            id,
            url: "https://hooks.example.com/".into(),
            description: String::new(),
            topics: json!([]),
            owner_partner_id: rng
                .chance(70)
                .then(|| 1 + rng.below(PARTNERS as usize) as i64),
            owner_app: rng.pick(&apps).map(str::to_string),
            deliver_kind: WebhookView::Vendor,
            deliver_partner_id: None,
            deliver_scopes: None,
            status: WebhookEndpointStatus::Active,
            disabled_reason: None,
            secret: "whsec_x".into(),
            previous_secret: None,
            previous_secret_expires_at: None,
            cursor: 0,
            attempts: 0,
            next_attempt_at: now,
            failing_since: None,
            locked_by: None,
            locked_until: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let audiences = (0..15)
        .map(|_| {
            let mut a: Vec<Audience> = (1..=PARTNERS)
                .filter(|_| rng.chance(30))
                .map(Audience::Partner)
                .collect();
            if rng.chance(80) {
                a.push(Audience::Vendor);
            }
            a
        })
        .collect();
    Program {
        partners,
        accounts,
        deals,
        claims,
        contacts,
        engagements,
        conflicts,
        invitations,
        endpoints,
        audiences,
    }
}

async fn insert_all<M>(db: &DatabaseConnection, rows: &[M])
where
    M: IntoActiveModel<<<M as sea_orm::ModelTrait>::Entity as EntityTrait>::ActiveModel>
        + sea_orm::ModelTrait
        + Clone,
    <<M as sea_orm::ModelTrait>::Entity as EntityTrait>::ActiveModel: ActiveModelTrait + Send,
{
    for row in rows {
        let am = row.clone().into_active_model().reset_all();
        <M as sea_orm::ModelTrait>::Entity::insert(am)
            .exec(db)
            .await
            .unwrap();
    }
}

async fn write(db: &DatabaseConnection, p: &Program) {
    insert_all(db, &p.partners).await;
    insert_all(db, &p.accounts).await;
    insert_all(db, &p.deals).await;
    insert_all(db, &p.claims).await;
    insert_all(db, &p.contacts).await;
    insert_all(db, &p.engagements).await;
    insert_all(db, &p.conflicts).await;
    insert_all(db, &p.invitations).await;
    insert_all(db, &p.endpoints).await;
    let actor = Principal::system("scope-test");
    let events = p
        .audiences
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let account = AccountSnapshot::of(&p.accounts[i % p.accounts.len()]);
            NewEvent::new(
                Topic::AccountUpdated,
                // Any audience: the events rule is checked on what was written.
                Heard {
                    subject: Subject::Account,
                    parties: a.clone(),
                },
                format!("e{i}"),
                &AccountChanged {
                    before: None,
                    account,
                },
            )
        })
        .collect();
    crate::db::events::append_all(db, &actor, events)
        .await
        .unwrap();
}

/// Every kind of caller: the vendor, each partner, a partner with no claims, and apps whose
/// scopes cover some resources and not others.
fn callers() -> Vec<Principal> {
    let mut out = vec![Principal::vendor("admin", VendorRole::Admin)];
    for id in 1..=PARTNERS + 1 {
        out.push(Principal::partner(&format!("rep{id}"), id));
    }
    for (party, scopes) in [
        (Party::Vendor, vec!["opportunities:read", "contacts:read"]),
        (Party::Vendor, vec!["events:read"]),
        (
            Party::Partner(2),
            vec!["registrations:read", "accounts:read", "events:read"],
        ),
        (Party::Partner(3), vec![]),
    ] {
        out.push(Principal {
            subject: "app".into(),
            kind: PrincipalKind::App,
            party,
            vendor_role: None,
            partner_role: None,
            scopes: Some(scopes.into_iter().map(String::from).collect()),
        });
    }
    out
}

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

#[tokio::test]
async fn sql_and_in_memory_forms_agree_on_generated_programs() {
    let mut seen_partial = 0;
    for seed in 1..=12 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scope.db").display());
        let db = crate::db::connect(&url, 1, Default::default())
            .await
            .unwrap();
        crate::db::migrate(&db).await.unwrap();
        let p = generate(seed);
        write(&db, &p).await;
        let facts = Facts {
            claims: &p.claims,
            deals: &p.deals,
        };
        for who in callers() {
            let checks = [
                (
                    "partners",
                    both::<Partners>(&db, &who, &p.partners, &facts, |r| r.id).await,
                ),
                (
                    "registrations",
                    both::<Registrations>(&db, &who, &p.claims, &facts, |r| r.id).await,
                ),
                (
                    "opportunities",
                    both::<Opportunities>(&db, &who, &p.deals, &facts, |r| r.id).await,
                ),
                (
                    "accounts",
                    both::<Accounts>(&db, &who, &p.accounts, &facts, |r| r.id).await,
                ),
                (
                    "contacts",
                    both::<Contacts>(&db, &who, &p.contacts, &facts, |r| r.id).await,
                ),
                (
                    "engagements",
                    both::<Engagements>(&db, &who, &p.engagements, &facts, |r| r.id).await,
                ),
                (
                    "conflicts",
                    both::<Conflicts>(&db, &who, &p.conflicts, &facts, |r| r.id).await,
                ),
                (
                    "invitations",
                    both::<Invitations>(&db, &who, &p.invitations, &facts, |r| r.id).await,
                ),
                (
                    "webhook endpoints",
                    both::<WebhookEndpoints>(&db, &who, &p.endpoints, &facts, |r| r.id).await,
                ),
            ];
            for (rule, (read, computed)) in checks {
                assert_eq!(read, computed, "seed {seed}, {rule}, {who:?}");
                if !read.is_empty() && read.len() < 10 {
                    seen_partial += 1;
                }
            }
            let audience = Audience::of(&who);
            let read: BTreeSet<i64> = event::Entity::find()
                .filter(Events::condition(audience))
                .all(&db)
                .await
                .unwrap()
                .iter()
                .map(|e| e.id)
                .collect();
            let all = event::Entity::find().all(&db).await.unwrap();
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
    }
    // The programs are varied enough that callers see some rows and not others.
    shareable_contacts_agree().await;
    assert!(seen_partial > 100, "only {seen_partial} partial views");
}

/// What the vendor may pass on of the contacts: the SQL and in-memory forms agree.
async fn shareable_contacts_agree() {
    for seed in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("share.db").display());
        let db = crate::db::connect(&url, 1, Default::default())
            .await
            .unwrap();
        crate::db::migrate(&db).await.unwrap();
        let p = generate(seed);
        write(&db, &p).await;
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
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("heard.db").display());
        let db = crate::db::connect(&url, 1, Default::default())
            .await
            .unwrap();
        crate::db::migrate(&db).await.unwrap();
        let p = generate(seed);
        write(&db, &p).await;
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
