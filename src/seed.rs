//! `cosell seed`: a large, consistent partner program for measuring at realistic size.
//!
//! Partners, accounts (with their name keys), opportunities across every stage, and
//! registrations in every status, written with multi-row inserts into an empty database. The
//! program keeps the rules conflict detection relies on: no partner twice on a deal, and at
//! most one claim per exclusive role (RESELLER, DISTRIBUTOR) on a deal. Seeded rows carry no
//! history and no events. The same inputs give the same program (a fixed pseudo-random
//! sequence).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{
    OpportunityStage, PartnerStatus, PartnerTier, RegistrationRole, RegistrationStatus,
};
use entity::{account, account_name_key, opportunity, partner, registration};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set};
use serde_json::json;

use crate::error::{AppError, AppResult};

/// The size of the program to write.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub partners: u64,
    pub accounts: u64,
    pub opportunities: u64,
    pub registrations: u64,
}

/// Rows per insert statement (well under both databases' bound-parameter limits).
const BATCH: u64 = 1_000;
/// Registrations per deal, at most: one per partner slot below.
const SLOTS: u64 = 8;

/// xorshift64*: a small, fixed pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: [&str; 16] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Dynamic",
    "Northern",
    "Pacific",
];
const NOUNS: [&str; 8] = [
    "Logistics",
    "Foods",
    "Health",
    "Systems",
    "Energy",
    "Retail",
    "Robotics",
    "Media",
];
const REGIONS: [&str; 4] = ["EMEA", "NA", "APAC", "LATAM"];

/// The name of seeded account `id`, e.g. "Globex Foods 17".
pub fn account_name(id: u64) -> String {
    let w = WORDS[(id % 16) as usize];
    let n = NOUNS[((id / 16) % 8) as usize];
    format!("{w} {n} {id}")
}

/// Writes `size` into `db`, which must hold no partners yet. Returns what was written.
pub async fn run(db: &DatabaseConnection, size: Size) -> AppResult<Size> {
    check(db, size).await?;
    let registrations = size.registrations.min(size.opportunities * SLOTS);
    let now = Utc::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    write_partners(db, size.partners, now).await?;
    write_accounts(db, size.accounts, now).await?;
    let deals = write_opportunities(db, size, now, &mut rng).await?;
    write_registrations(db, size, registrations, &deals, now, &mut rng).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        catch_up_sequences(db).await?;
    }
    Ok(Size {
        registrations,
        ..size
    })
}

/// Refuses a database that already holds a program, and a size too small for the partner slots.
async fn check(db: &DatabaseConnection, size: Size) -> AppResult<()> {
    if partner::Entity::find().count(db).await? > 0 {
        return Err(AppError::bad_input(
            "the database already holds a program; seed a new, empty one",
        ));
    }
    if size.partners < SLOTS || size.accounts == 0 || size.opportunities == 0 {
        return Err(AppError::bad_input(format!(
            "seed at least {SLOTS} partners, one account and one opportunity"
        )));
    }
    Ok(())
}

/// Partners 1..=`count`, active, their tier going round the four.
async fn write_partners(db: &DatabaseConnection, count: u64, now: DateTime<Utc>) -> AppResult<()> {
    let tiers = [
        PartnerTier::Registered,
        PartnerTier::Silver,
        PartnerTier::Gold,
        PartnerTier::Platinum,
    ];
    for start in (1..=count).step_by(BATCH as usize) {
        let rows = (start..(start + BATCH).min(count + 1)).map(|id| partner::ActiveModel {
            id: Set(id as i64),
            name: Set(format!("Partner {id:05}")),
            tier: Set(tiers[(id % 4) as usize]),
            status: Set(PartnerStatus::Active),
            specialisations: Set(json!(["CRM"])),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        partner::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// Accounts 1..=`count` ([`account_name`]) with their name keys.
async fn write_accounts(db: &DatabaseConnection, count: u64, now: DateTime<Utc>) -> AppResult<()> {
    for start in (1..=count).step_by(BATCH as usize) {
        let ids: Vec<u64> = (start..(start + BATCH).min(count + 1)).collect();
        let names: Vec<String> = ids.iter().map(|id| account_name(*id)).collect();
        let rows = ids
            .iter()
            .zip(&names)
            .map(|(id, name)| account::ActiveModel {
                id: Set(*id as i64),
                name: Set(name.clone()),
                domain: Set(format!("account{id}.example.com")),
                industry: Set(Some(NOUNS[(id % 8) as usize].to_string())),
                region: Set(Some(REGIONS[(id % 4) as usize].to_string())),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        account::Entity::insert_many(rows).exec(db).await?;
        let keys: Vec<account_name_key::ActiveModel> = ids
            .iter()
            .zip(&names)
            .flat_map(|(id, name)| {
                crate::domain::registration::name_keys(name)
                    .into_iter()
                    .map(move |key| account_name_key::ActiveModel {
                        key: Set(key),
                        account_id: Set(*id as i64),
                    })
            })
            .collect();
        for chunk in keys.chunks(BATCH as usize) {
            account_name_key::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Opportunities 1..=`size.opportunities` on random accounts and stages. Returns each deal's
/// account and stage, in id order, for its registrations.
async fn write_opportunities(
    db: &DatabaseConnection,
    size: Size,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> AppResult<Vec<(u64, OpportunityStage)>> {
    let stages = [
        OpportunityStage::Prospecting,
        OpportunityStage::Qualification,
        OpportunityStage::Solution,
        OpportunityStage::Proposal,
        OpportunityStage::Negotiation,
        OpportunityStage::ClosedWon,
        OpportunityStage::ClosedLost,
    ];
    let mut deals: Vec<(u64, OpportunityStage)> = Vec::with_capacity(size.opportunities as usize);
    let close = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap_or_default();
    for start in (1..=size.opportunities).step_by(BATCH as usize) {
        let mut rows = Vec::new();
        for id in start..(start + BATCH).min(size.opportunities + 1) {
            let acct = 1 + rng.below(size.accounts);
            let stage = stages[rng.below(stages.len() as u64) as usize];
            deals.push((acct, stage));
            rows.push(opportunity::ActiveModel {
                id: Set(id as i64),
                account_id: Set(acct as i64),
                name: Set(format!("Deal {id}")),
                stage: Set(stage),
                amount_minor: Set(100_000 + rng.below(10_000_000) as i64),
                currency: Set("USD".into()),
                expected_close_date: Set(close - Duration::days(rng.below(365) as i64)),
                owner: Set(format!("seller{}@vendor.example", id % 50)),
                region: Set(Some(REGIONS[(acct % 4) as usize].to_string())),
                products: Set(json!(["CRM"])),
                forecast_notes: Set(None),
                probability: Set(Some((rng.below(10) * 10) as i32)),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                closed_at: Set(None),
            });
        }
        opportunity::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(deals)
}

/// Registrations 1..=`count`, going round the `deals`; the k-th claim on a deal is by partner
/// slot k (distinct partners) and only slot 0 holds the exclusive RESELLER role.
async fn write_registrations(
    db: &DatabaseConnection,
    size: Size,
    count: u64,
    deals: &[(u64, OpportunityStage)],
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> AppResult<()> {
    let roles = [
        RegistrationRole::Reseller,
        RegistrationRole::Referral,
        RegistrationRole::Influencer,
        RegistrationRole::SystemIntegrator,
        RegistrationRole::Services,
        RegistrationRole::Isv,
        RegistrationRole::Referral,
        RegistrationRole::Services,
    ];
    let spread = size.partners / SLOTS;
    for start in (0..count).step_by(BATCH as usize) {
        let mut rows = Vec::new();
        for i in start..(start + BATCH).min(count) {
            let deal = i % size.opportunities;
            let slot = i / size.opportunities;
            let (acct, stage) = deals[deal as usize];
            let partner = 1 + (slot * spread + (deal * 7919) % spread) % size.partners;
            let status = claim_status(stage, rng);
            let decided = !matches!(
                status,
                RegistrationStatus::Submitted | RegistrationStatus::UnderReview
            );
            rows.push(registration::ActiveModel {
                id: Set(i as i64 + 1),
                partner_id: Set(partner as i64),
                opportunity_id: Set(Some(deal as i64 + 1)),
                account_domain: Set(format!("account{acct}.example.com")),
                role: Set(roles[slot as usize]),
                status: Set(status),
                justification: Set("Seeded claim.".into()),
                auto_approved: Set(false),
                submitted_at: Set(Some(now - Duration::days(30))),
                decided_at: Set(decided.then_some(now - Duration::days(20))),
                decided_by: Set(decided.then(|| "seed".to_string())),
                protection_expires_at: Set(
                    (status == RegistrationStatus::Approved).then_some(now + Duration::days(60))
                ),
                version: Set(2),
                created_at: Set(now - Duration::days(30)),
                updated_at: Set(now - Duration::days(20)),
                ..Default::default()
            });
        }
        registration::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// A random claim's status that fits its deal's `stage`: an approved claim on a closed deal is
/// won or lost with it, and an undecided one was withdrawn.
fn claim_status(stage: OpportunityStage, rng: &mut Rng) -> RegistrationStatus {
    let open = match rng.below(10) {
        0..=3 => RegistrationStatus::Approved,
        4 => RegistrationStatus::Submitted,
        5 => RegistrationStatus::UnderReview,
        6 => RegistrationStatus::Rejected,
        7 => RegistrationStatus::Withdrawn,
        _ => RegistrationStatus::Expired,
    };
    match (stage, open) {
        (OpportunityStage::ClosedWon, RegistrationStatus::Approved) => RegistrationStatus::Won,
        (OpportunityStage::ClosedLost, RegistrationStatus::Approved) => RegistrationStatus::Lost,
        (
            OpportunityStage::ClosedWon | OpportunityStage::ClosedLost,
            RegistrationStatus::Submitted | RegistrationStatus::UnderReview,
        ) => RegistrationStatus::Withdrawn,
        (_, s) => s,
    }
}

/// PostgreSQL only: explicit ids leave the sequences behind, so later inserts continue after
/// the seed; then fresh planner statistics.
async fn catch_up_sequences(db: &DatabaseConnection) -> AppResult<()> {
    for table in ["partners", "accounts", "opportunities", "registrations"] {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
        ))
        .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}
