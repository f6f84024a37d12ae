//! `cosell seed`: a large, consistent partner program for measuring at realistic size.
//!
//! Partners, accounts (with their name keys), opportunities across every stage with the stage
//! history that led there, registrations in every status, and each account's contact network:
//! contacts across departments, levels and buying roles (some left or moved), the links between
//! them, the engagements of the parties on its deals over the last 180 days, and the threading
//! score of every open deal. Rows are written with multi-row inserts into an empty database.
//! The program keeps the rules the API keeps: no partner twice on a deal, at most one claim per
//! exclusive role (RESELLER, DISTRIBUTOR) on a deal, a partner's contacts and engagements only
//! at accounts of deals it is on, no engagement in the future, an org chart without cycles.
//! Seeded rows carry no events and no registration history. The same inputs give the same
//! program (fixed pseudo-random sequences).
//!
//! Proportions per account (20,000 accounts give about 300,000 contacts, 140,000 links and
//! 100,000 engagements): 8 to 22 contacts (15 on average), about 7 links, 0 to 10 engagements
//! (5 on average); about 3.5 stage history rows per opportunity.

mod history;
mod names;
mod network;
mod people;
mod program;

use chrono::Utc;
use entity::partner;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::error::{AppError, AppResult};

pub use names::account_name;
pub use network::Network;

/// The size of the program to write. The contact networks follow from the accounts.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub partners: u64,
    pub accounts: u64,
    pub opportunities: u64,
    pub registrations: u64,
}

/// What a seed wrote.
#[derive(Clone, Copy, Debug)]
pub struct Seeded {
    /// The program; registrations are capped at eight per opportunity.
    pub size: Size,
    /// The contact networks.
    pub network: Network,
    /// Stage history rows.
    pub stage_changes: u64,
}

/// Rows per insert statement (well under both databases' bound-parameter limits).
const BATCH: u64 = 1_000;
/// Registrations per deal, at most: one per partner slot below.
const SLOTS: u64 = 8;

/// xorshift64*: a small, fixed pseudo-random sequence.
struct Rng(u64);

impl Rng {
    /// A sequence of its own for `key` (an account, say), so that what is drawn for one key
    /// does not depend on what was drawn before it.
    fn keyed(key: u64) -> Self {
        // splitmix64 of the key: well-spread, never zero in practice (xorshift needs non-zero).
        let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

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

/// Writes `size` into `db`, which must hold no partners yet. Returns what was written.
pub async fn run(db: &DatabaseConnection, size: Size) -> AppResult<Seeded> {
    check(db, size).await?;
    let registrations = size.registrations.min(size.opportunities * SLOTS);
    let now = Utc::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    program::write_partners(db, size.partners, now).await?;
    program::write_accounts(db, size.accounts, now).await?;
    let (deals, stage_changes) = program::write_opportunities(db, size, now, &mut rng).await?;
    let parties =
        program::write_registrations(db, size, registrations, &deals, now, &mut rng).await?;
    let network = network::write(db, size.accounts, &deals, &parties, now).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        catch_up_sequences(db).await?;
    }
    assess_threading(db).await?;
    // The tallies the triggers wrote in many small rows, folded as the server's job would.
    crate::db::opportunities::fold_tally(db).await?;
    crate::db::registrations::fold_tally(db).await?;
    crate::db::contacts::fold_tally(db).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Folding left the tallies' tables mostly empty pages, which would be read whole.
        db.execute_unprepared(
            "VACUUM (FULL, ANALYZE) opportunity_tally, registration_tally, decision_tally, contact_tally, partner_shared_tally",
        )
        .await?;
        // Every other table vacuumed as autovacuum would have done in a running program: a
        // fresh load has no visibility map, so index-only scans would read the heap.
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
    }
    Ok(Seeded {
        size: Size {
            registrations,
            ..size
        },
        network,
        stage_changes,
    })
}

/// Keeps every seeded deal's threading assessment, as the server would have (with the default
/// window; a server started with another one assesses them again in its sweep).
async fn assess_threading(db: &DatabaseConnection) -> AppResult<()> {
    use crate::db::contacts::network::{kept, ThreadingWindow};
    let window =
        ThreadingWindow(crate::config::ProgramArgs::default().threading_window_days as i64);
    kept::track_untracked(db).await?;
    while kept::assess_due(db, window).await? > 0 {}
    Ok(())
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

/// The tables the seed writes ids into, whose sequences must continue after them.
const WITH_IDS: [&str; 8] = [
    "partners",
    "accounts",
    "opportunities",
    "opportunity_stage_changes",
    "registrations",
    "contacts",
    "contact_links",
    "engagements",
];

/// PostgreSQL only: explicit ids leave the sequences behind, so later inserts continue after
/// the seed; then fresh planner statistics.
async fn catch_up_sequences(db: &DatabaseConnection) -> AppResult<()> {
    for table in WITH_IDS {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
        ))
        .await?;
    }
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}
