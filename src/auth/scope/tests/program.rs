//! Generated programs: every kind of row the rules read, drawn from a fixed random sequence,
//! and written to a database.

use chrono::{DateTime, NaiveDate, Utc};
use entity::attribution;
use entity::enums::*;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable};
use serde_json::json;

use super::*;
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
pub(super) struct Program {
    pub(super) partners: Vec<partner::Model>,
    pub(super) accounts: Vec<account::Model>,
    pub(super) deals: Vec<opportunity::Model>,
    pub(super) claims: Vec<registration::Model>,
    pub(super) contacts: Vec<contact::Model>,
    pub(super) engagements: Vec<engagement::Model>,
    pub(super) conflicts: Vec<conflict::Model>,
    pub(super) invitations: Vec<invitation::Model>,
    pub(super) endpoints: Vec<webhook_endpoint::Model>,
    pub(super) versions: Vec<attribution::version::Model>,
    pub(super) shares: Vec<attribution::row::Model>,
    /// Each event's audience, in the order written.
    pub(super) audiences: Vec<Vec<Audience>>,
}

/// How many partners a program has (a partner with the next id has nothing).
pub(super) const PARTNERS: i64 = 5;

/// The generator: the random sequence, and the one moment and day every row is stamped with.
struct Gen {
    rng: Rng,
    now: DateTime<Utc>,
    day: NaiveDate,
}

/// The program of `seed`: the same rows on every run.
pub(super) fn generate(seed: u64) -> Program {
    let mut g = Gen {
        rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        now: Utc::now(),
        day: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
    };
    // Drawn in this order, which fixes each seed's program.
    let (partners, accounts) = (g.partners(), g.accounts());
    let deals = g.deals(accounts.len());
    let claims = g.claims(deals.len());
    let contacts = g.contacts(accounts.len());
    let engagements = g.engagements(&contacts);
    let conflicts = g.conflicts(claims.len());
    let invitations = g.invitations();
    let endpoints = g.endpoints();
    let audiences = g.audiences();
    let (versions, shares) = g.attribution(deals.len());
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
        versions,
        shares,
        audiences,
    }
}

impl Gen {
    /// The partners, all active.
    fn partners(&self) -> Vec<partner::Model> {
        (1..=PARTNERS)
            .map(|id| partner::Model {
                id,
                name: format!("Partner {id}"),
                tier: PartnerTier::Gold,
                status: PartnerStatus::Active,
                specialisations: json!([]),
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// The customer accounts.
    fn accounts(&self) -> Vec<account::Model> {
        (1..=6)
            .map(|id| account::Model {
                id,
                name: format!("Account {id}"),
                domain: format!("a{id}.example"),
                industry: None,
                region: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// Deals at random accounts (of `accounts`), at random stages.
    fn deals(&mut self, accounts: usize) -> Vec<opportunity::Model> {
        let stages: Vec<OpportunityStage> = OpportunityStage::iter().collect();
        (1..=12)
            .map(|id| opportunity::Model {
                id,
                account_id: 1 + self.rng.below(accounts) as i64,
                name: format!("Deal {id}"),
                stage: self.rng.pick(&stages),
                amount_minor: 100,
                currency: "USD".into(),
                expected_close_date: self.day,
                owner: "owner@vendor.example".into(),
                region: None,
                products: json!([]),
                forecast_notes: None,
                probability: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
                closed_at: None,
            })
            .collect()
    }

    /// Claims by random partners in every role and status, most on one of `deals` deals.
    fn claims(&mut self, deals: usize) -> Vec<registration::Model> {
        let statuses: Vec<RegistrationStatus> = RegistrationStatus::iter().collect();
        let roles: Vec<RegistrationRole> = RegistrationRole::iter().collect();
        (1..=30)
            .map(|id| registration::Model {
                id,
                partner_id: 1 + self.rng.below(PARTNERS as usize) as i64,
                opportunity_id: (!self.rng.chance(15)).then(|| 1 + self.rng.below(deals) as i64),
                account_domain: "a1.example".into(),
                account_name: None,
                deal_name: None,
                amount_minor: None,
                currency: None,
                expected_close_date: None,
                role: self.rng.pick(&roles),
                status: self.rng.pick(&statuses),
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
                decision_seconds: None,
                auto_approved: false,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// Contacts at random accounts (of `accounts`), some sourced by a partner, some shared.
    fn contacts(&mut self, accounts: usize) -> Vec<contact::Model> {
        (1..=25)
            .map(|id| contact::Model {
                id,
                account_id: 1 + self.rng.below(accounts) as i64,
                name: format!("Contact {id}"),
                email: format!("c{id}@example.com"),
                email_key: format!("c{id}@example.com"),
                title: None,
                department: None,
                seniority: None,
                buying_role: None,
                status: ContactStatus::Active,
                successor_id: None,
                sourced_by_partner_id: self
                    .rng
                    .chance(60)
                    .then(|| 1 + self.rng.below(PARTNERS as usize) as i64),
                shared: self.rng.chance(50),
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// Engagements with random `contacts`, some by a partner.
    fn engagements(&mut self, contacts: &[contact::Model]) -> Vec<engagement::Model> {
        (1..=20)
            .map(|id| {
                let c = &contacts[self.rng.below(contacts.len())];
                engagement::Model {
                    id,
                    contact_id: c.id,
                    account_id: c.account_id,
                    partner_id: self
                        .rng
                        .chance(60)
                        .then(|| 1 + self.rng.below(PARTNERS as usize) as i64),
                    opportunity_id: None,
                    kind: EngagementKind::Call,
                    occurred_on: self.day,
                    sentiment: Sentiment::Neutral,
                    notes: None,
                    created_by: "someone".into(),
                    created_at: self.now,
                }
            })
            .collect()
    }

    /// Open conflicts on random claims (of `claims`).
    fn conflicts(&mut self, claims: usize) -> Vec<conflict::Model> {
        let kinds: Vec<ConflictKind> = ConflictKind::iter().collect();
        (1..=10)
            .map(|id| conflict::Model {
                id,
                kind: self.rng.pick(&kinds),
                registration_id: 1 + self.rng.below(claims) as i64,
                other_registration_id: None,
                opportunity_id: None,
                status: ConflictStatus::Open,
                resolution: None,
                winner_registration_id: None,
                resolved_by: None,
                resolved_by_partner_id: None,
                resolution_reason: None,
                resolved_at: None,
                created_at: self.now,
            })
            .collect()
    }

    /// One open invitation on each of the first deals, to a random partner.
    fn invitations(&mut self) -> Vec<invitation::Model> {
        let roles: Vec<RegistrationRole> = RegistrationRole::iter().collect();
        (1..=10)
            .map(|id| invitation::Model {
                id,
                // One invitation a deal: (deal, partner) is unique.
                opportunity_id: id,
                partner_id: 1 + self.rng.below(PARTNERS as usize) as i64,
                role: self.rng.pick(&roles),
                status: InvitationStatus::Open,
                message: None,
                shared: json!({}),
                expires_at: self.now,
                invited_by: "admin@vendor.example".into(),
                decline_reason: None,
                registration_id: None,
                closed_at: None,
                idempotency_key: None,
                idempotency_fingerprint: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// Webhook endpoints owned by the vendor or a partner, and by none, one or another app.
    fn endpoints(&mut self) -> Vec<webhook_endpoint::Model> {
        let apps = [None, Some("app"), Some("other-app")];
        (1..=16)
            .map(|id| webhook_endpoint::Model {
                id,
                url: "https://hooks.example.com/".into(),
                description: String::new(),
                topics: json!([]),
                owner_partner_id: self
                    .rng
                    .chance(70)
                    .then(|| 1 + self.rng.below(PARTNERS as usize) as i64),
                owner_app: self.rng.pick(&apps).map(str::to_string),
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
                next_attempt_at: self.now,
                failing_since: None,
                locked_by: None,
                locked_until: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            })
            .collect()
    }

    /// Events' audiences: any partners, and mostly the vendor.
    fn audiences(&mut self) -> Vec<Vec<Audience>> {
        (0..15)
            .map(|_| {
                let mut a: Vec<Audience> = (1..=PARTNERS)
                    .filter(|_| self.rng.chance(30))
                    .map(Audience::Partner)
                    .collect();
                if self.rng.chance(80) {
                    a.push(Audience::Vendor);
                }
                a
            })
            .collect()
    }
}

impl Gen {
    /// A frozen split on some deals (of `deals`): a version and a row for each of a few
    /// parties, partners or the vendor's own team.
    fn attribution(
        &mut self,
        deals: usize,
    ) -> (
        Vec<attribution::version::Model>,
        Vec<attribution::row::Model>,
    ) {
        let (mut versions, mut shares) = (vec![], vec![]);
        for deal in 1..=deals as i64 {
            if !self.rng.chance(40) {
                continue;
            }
            let version = versions.len() as i64 + 1;
            versions.push(attribution::version::Model {
                id: version,
                opportunity_id: deal,
                number: 1,
                model: AttributionModel::Equal,
                amount_minor: 100_000,
                currency: "USD".into(),
                current: true,
                finalized_at: self.now,
                finalized_by: "scope-test".into(),
                reason: None,
            });
            for _ in 0..1 + self.rng.below(3) {
                let partner_id = self
                    .rng
                    .chance(80)
                    .then(|| 1 + self.rng.below(PARTNERS as usize) as i64);
                shares.push(attribution::row::Model {
                    id: shares.len() as i64 + 1,
                    version_id: version,
                    opportunity_id: deal,
                    partner_id,
                    role: None,
                    share_bps: 5_000,
                    amount_minor: 50_000,
                    currency: "USD".into(),
                    incentive_rate_bps: 0,
                    incentive_minor: 0,
                    finalized_at: self.now,
                });
            }
        }
        (versions, shares)
    }
}

/// Inserts `rows` as they are, ids included.
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

/// Writes program `p` to `db`, its events with the audiences generated.
pub(super) async fn write(db: &DatabaseConnection, p: &Program) {
    insert_all(db, &p.partners).await;
    insert_all(db, &p.accounts).await;
    insert_all(db, &p.deals).await;
    insert_all(db, &p.claims).await;
    insert_all(db, &p.contacts).await;
    insert_all(db, &p.engagements).await;
    insert_all(db, &p.conflicts).await;
    insert_all(db, &p.invitations).await;
    insert_all(db, &p.endpoints).await;
    insert_all(db, &p.versions).await;
    insert_all(db, &p.shares).await;
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
                Heard::written(Subject::Account, a.clone()),
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
