//! Kept assessments: each opportunity's assessment as every reader shares it, one row per
//! opportunity in `threading_assessments`.
//!
//! A row holds on day `d` when it was made with today's window, on or before `d`, and `d` is
//! before its `valid_until` (the first day the calendar alone could change it, see
//! `domain::threading::valid_until`). Rows are kept holding by:
//!
//! - the writes that move an assessment (a contact created, changed or marked, contacts
//!   upserted, an engagement recorded), which assess the account's deals again in their own
//!   transaction under the account's threading lock;
//! - the sweep ([`assess_due`]), which assesses again the accounts whose rows stopped holding
//!   (a day passed, a deal is new, the window changed), instances taking turns per account;
//! - triggers, which copy a deal's stage and amount into its row.
//!
//! A read that finds a row not holding computes that deal afresh, so no read disagrees with a
//! fresh computation, whether or not the sweep ran.
//!
//! Lock order: a write takes the account's threading lock (`pg_advisory_xact_lock(7468,
//! account)`) after everything else it holds and before the rows of this table; the sweep
//! takes the locks of several accounts in ascending order, holding nothing else. Stage and
//! amount changes update the row through the trigger while holding the opportunity's row and
//! never take a threading lock.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use entity::enums::BuyingRole;
use entity::opportunity;
use entity::threading_assessment::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement, TransactionTrait,
};

use super::assess::{account_data, assess_one, visible_with_data};
use super::ThreadingWindow;
use crate::auth::{Principal, Resource};
use crate::db::events::{self, payload, NewEvent};
use crate::domain::threading::{risk_bits, risk_kinds, Assessment, PartyTag, Summary, RISKY_BELOW};
use crate::error::AppResult;
use crate::ids::{self, Kind};

/// The class of the advisory locks that make writers of one account's assessments take turns.
const THREADING_LOCK: i32 = 7468;
/// Who writes the events of a drop the sweep finds.
pub const SWEEPER: &str = "system:threading";

/// The day assessments are made for (UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `valid_until` of a row the calendar alone never changes.
fn never() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date")
}

/// `assessed_on` and `valid_until` of a row not assessed yet: it holds on no day.
fn not_yet() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// Whether kept row `row` holds on `today` for `window`.
pub fn holds(row: &Model, today: NaiveDate, window: ThreadingWindow) -> bool {
    holds_for(
        row.window_days,
        row.assessed_on,
        row.valid_until,
        today,
        window,
    )
}

/// [`holds`] from a row's window, day made and `valid_until`.
pub(super) fn holds_for(
    window_days: i32,
    assessed_on: NaiveDate,
    valid_until: NaiveDate,
    today: NaiveDate,
    window: ThreadingWindow,
) -> bool {
    i64::from(window_days) == window.0 && assessed_on <= today && today < valid_until
}

/// The rows that hold on `today` for `window`, as a condition.
pub(super) fn holding(today: NaiveDate, window: ThreadingWindow) -> Condition {
    Condition::all()
        .add(Column::WindowDays.eq(window.0 as i32))
        .add(Column::AssessedOn.lte(today))
        .add(Column::ValidUntil.gt(today))
}

fn role(name: &str) -> Option<BuyingRole> {
    BuyingRole::iter().find(|r| r.as_str() == name)
}

fn party(text: &str) -> Option<PartyTag> {
    match text {
        "vendor" => Some(PartyTag::Vendor),
        id => id.parse().ok().map(PartyTag::Partner),
    }
}

/// The summary a kept row holds.
pub fn summary_of(row: &Model) -> Summary {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    };
    Summary {
        score: u32::try_from(row.score).unwrap_or(0),
        engaged_contacts: usize::try_from(row.engaged_contacts).unwrap_or(0),
        buying_roles: list(&row.buying_roles)
            .iter()
            .filter_map(|r| role(r))
            .collect(),
        parties: list(&row.parties).iter().filter_map(|p| party(p)).collect(),
        last_engaged_on: row.last_engaged_on,
        risks: risk_kinds(row.risks),
    }
}

/// The row that keeps `a`, assessed for deal `o` on `today`.
fn row_of(
    o: &opportunity::Model,
    a: &Assessment,
    until: Option<NaiveDate>,
    today: NaiveDate,
    window: ThreadingWindow,
) -> Model {
    let s = a.summary(today);
    let parties: Vec<String> = s
        .parties
        .iter()
        .map(|p| match p {
            PartyTag::Vendor => "vendor".to_string(),
            PartyTag::Partner(id) => id.to_string(),
        })
        .collect();
    let roles: Vec<&str> = s.buying_roles.iter().map(|r| r.as_str()).collect();
    Model {
        opportunity_id: o.id,
        account_id: o.account_id,
        stage: o.stage,
        is_open: !o.stage.is_closed(),
        amount_minor: o.amount_minor,
        score: s.score as i32,
        risks: risk_bits(&s.risks),
        engaged_contacts: s.engaged_contacts as i32,
        buying_roles: roles.join(","),
        parties: parties.join(","),
        last_engaged_on: s.last_engaged_on,
        window_days: window.0 as i32,
        assessed_on: today,
        valid_until: until.unwrap_or_else(never),
        updated_at: Utc::now(),
    }
}

/// Whether `before` already keeps what `after` says (whichever day each was made on).
fn same(before: &Model, after: &Model) -> bool {
    let strip = |m: &Model| Model {
        stage: after.stage,
        is_open: after.is_open,
        amount_minor: after.amount_minor,
        assessed_on: after.assessed_on,
        updated_at: after.updated_at,
        ..m.clone()
    };
    strip(before) == strip(after) && before.assessed_on <= after.assessed_on
}

/// Writes `rows`, replacing the assessments they keep (never the stage and amount, which the
/// opportunity's own writes keep through the trigger).
async fn save<C: ConnectionTrait>(conn: &C, rows: Vec<Model>) -> AppResult<()> {
    for chunk in rows.chunks(500) {
        let active = chunk.iter().cloned().map(|m| ActiveModel {
            opportunity_id: Set(m.opportunity_id),
            account_id: Set(m.account_id),
            stage: Set(m.stage),
            is_open: Set(m.is_open),
            amount_minor: Set(m.amount_minor),
            score: Set(m.score),
            risks: Set(m.risks),
            engaged_contacts: Set(m.engaged_contacts),
            buying_roles: Set(m.buying_roles),
            parties: Set(m.parties),
            last_engaged_on: Set(m.last_engaged_on),
            window_days: Set(m.window_days),
            assessed_on: Set(m.assessed_on),
            valid_until: Set(m.valid_until),
            updated_at: Set(m.updated_at),
        });
        Entity::insert_many(active)
            .on_conflict(
                OnConflict::column(Column::OpportunityId)
                    .update_columns([
                        Column::Score,
                        Column::Risks,
                        Column::EngagedContacts,
                        Column::BuyingRoles,
                        Column::Parties,
                        Column::LastEngagedOn,
                        Column::WindowDays,
                        Column::AssessedOn,
                        Column::ValidUntil,
                        Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Makes the writers of `account`'s assessments take turns (PostgreSQL; SQLite writers
/// already do).
async fn lock_account(txn: &DatabaseTransaction, account: i64) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int4)",
            [THREADING_LOCK.into(), account.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A new deal's row, in its transaction: its stage and amount, assessed by the first read or
/// the next sweep.
pub(in crate::db) async fn track_new<C: ConnectionTrait>(
    conn: &C,
    o: &opportunity::Model,
) -> AppResult<()> {
    let row = Model {
        opportunity_id: o.id,
        account_id: o.account_id,
        stage: o.stage,
        is_open: !o.stage.is_closed(),
        amount_minor: o.amount_minor,
        score: 0,
        risks: 0,
        engaged_contacts: 0,
        buying_roles: String::new(),
        parties: String::new(),
        last_engaged_on: None,
        window_days: 0,
        assessed_on: not_yet(),
        valid_until: not_yet(),
        updated_at: Utc::now(),
    };
    save(conn, vec![row]).await
}

/// Assesses every deal at `accounts` afresh and keeps what changed, in the caller's
/// transaction, after taking the accounts' threading locks in ascending order. Writes
/// `threading.risk_raised` for each open deal whose kept score fell under the threshold.
/// Returns how many rows changed.
async fn reassess(
    txn: &DatabaseTransaction,
    actor: &Principal,
    accounts: &[i64],
    window: ThreadingWindow,
) -> AppResult<usize> {
    let mut accounts = accounts.to_vec();
    accounts.sort_unstable();
    accounts.dedup();
    for a in &accounts {
        lock_account(txn, *a).await?;
    }
    let opps = opportunity::Entity::find()
        .filter(opportunity::Column::AccountId.is_in(accounts.clone()))
        .all(txn)
        .await?;
    if opps.is_empty() {
        return Ok(0);
    }
    let previous: HashMap<i64, Model> = Entity::find()
        .filter(Column::AccountId.is_in(accounts.clone()))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| (m.opportunity_id, m))
        .collect();
    let data = account_data(txn, &accounts).await?;
    let today = today();
    let system = Principal::system(SWEEPER);
    let mut rows = Vec::new();
    for o in &opps {
        let Some(d) = data.get(&o.account_id) else {
            continue;
        };
        let (a, until) = assess_one(&system, d, o.id, window, today);
        let row = row_of(o, &a, until, today, window);
        let before = previous.get(&o.id);
        if before.is_some_and(|b| same(b, &row)) {
            continue;
        }
        let was_safe = before.is_some_and(|b| b.window_days != 0 && b.score as u32 >= RISKY_BELOW);
        if !o.stage.is_closed() && was_safe && a.score < RISKY_BELOW {
            raised(txn, actor, o, &a).await?;
        }
        rows.push(row);
    }
    let changed = rows.len();
    save(txn, rows).await?;
    Ok(changed)
}

/// `threading.risk_raised` for deal `o`, to whoever hears of the deal.
async fn raised(
    txn: &DatabaseTransaction,
    actor: &Principal,
    o: &opportunity::Model,
    a: &Assessment,
) -> AppResult<()> {
    let audience =
        crate::auth::scope::heard::<crate::auth::scope::Opportunities, _>(txn, o).await?;
    let risks = a.risks.iter().map(|r| r.kind.api_name().into()).collect();
    events::append(
        txn,
        actor,
        NewEvent::new(
            events::Topic::ThreadingRiskRaised,
            audience,
            ids::encode(Kind::Opportunity, o.id),
            &payload::ThreadingRiskRaised {
                score: a.score,
                risks,
            },
        ),
    )
    .await?;
    Ok(())
}

/// Assesses the deals at `account_id` again after a change, in its transaction, and writes
/// `threading.risk_raised` for each open one whose score fell under the risky threshold.
pub(in crate::db) async fn refresh_scores(
    txn: &DatabaseTransaction,
    actor: &Principal,
    account_id: i64,
    window: ThreadingWindow,
) -> AppResult<()> {
    reassess(txn, actor, &[account_id], window).await?;
    Ok(())
}

/// Accounts assessed per sweep transaction.
const SWEEP_BATCH: u64 = 50;

/// One pass of the sweep: assesses again the accounts (up to a batch) whose kept rows stopped
/// holding today, in one transaction. Instances sweeping together take turns per account and
/// find the second time that nothing changed, so each drop is told once. Returns how many
/// accounts it assessed (0 when none is due).
pub async fn assess_due(db: &DatabaseConnection, window: ThreadingWindow) -> AppResult<usize> {
    let today = today();
    // The due rows in the order of the `valid_until` index, so that a tick with nothing due
    // reads one index entry; their accounts are taken in ascending order (the lock order).
    let rows: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::AccountId)
        .filter(Column::ValidUntil.lte(today))
        .order_by_asc(Column::ValidUntil)
        .limit(SWEEP_BATCH * 20)
        .into_tuple()
        .all(db)
        .await?;
    let mut due: Vec<i64> = rows;
    due.sort_unstable();
    due.dedup();
    due.truncate(SWEEP_BATCH as usize);
    if due.is_empty() {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    reassess(&txn, &Principal::system(SWEEPER), &due, window).await?;
    txn.commit().await?;
    Ok(due.len())
}

/// Makes the rows assessed with another window than `window` due, so the sweep assesses them
/// again (a restart with a changed `--threading-window-days`); reads never use them meanwhile.
pub async fn expire_other_windows(
    db: &DatabaseConnection,
    window: ThreadingWindow,
) -> AppResult<u64> {
    let r = Entity::update_many()
        .col_expr(
            Column::ValidUntil,
            sea_orm::sea_query::Expr::value(not_yet()),
        )
        .filter(Column::WindowDays.ne(window.0 as i32))
        .filter(Column::ValidUntil.gt(not_yet()))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Gives every deal without a row one, not assessed yet (deals from before rows were kept, or
/// written by `cosell seed`): one statement. On PostgreSQL the deals without a row are found
/// by a hash anti-join: a table with no rows yet looks cheapest to scan once per deal, and the
/// insert then grows the very table each deal's scan reads (minutes at 200,000 deals).
pub async fn track_untracked(db: &DatabaseConnection) -> AppResult<u64> {
    let pg = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let sql = format!(
        "INSERT INTO threading_assessments (opportunity_id, account_id, stage, is_open,
           amount_minor, score, risks, engaged_contacts, buying_roles, parties,
           last_engaged_on, window_days, assessed_on, valid_until, updated_at)
         SELECT o.id, o.account_id, o.stage, o.stage NOT IN ('CLOSED_WON', 'CLOSED_LOST'),
           o.amount_minor, 0, 0, 0, '', '', NULL, 0, {p1}, {p1}, {p2}
         FROM opportunities o
         WHERE NOT EXISTS (SELECT 1 FROM threading_assessments t WHERE t.opportunity_id = o.id)",
        p1 = if pg { "$1" } else { "?1" },
        p2 = if pg { "$2" } else { "?2" },
    );
    let txn = db.begin().await?;
    if pg {
        txn.execute_unprepared("SET LOCAL enable_nestloop = off")
            .await?;
    }
    let r = txn
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [not_yet().into(), Utc::now().into()],
        ))
        .await?;
    txn.commit().await?;
    Ok(r.rows_affected())
}

/// Whether `principal` may read threading assessments: they describe the contact network, so
/// an app needs the contacts scope (the deal's own rule applies besides).
pub fn may_read_assessments(principal: &Principal) -> bool {
    principal.may_read(Resource::Contacts)
}

/// The shared part of the assessments of the visible opportunities among `ids`, holding
/// today: one statement when every kept row holds; deals whose row does not are assessed
/// afresh (four more).
pub async fn summaries(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    window: ThreadingWindow,
) -> AppResult<HashMap<i64, Summary>> {
    if !may_read_assessments(principal) || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let visible = crate::db::opportunities::visible(principal)
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::Id.is_in(ids.to_vec()))
        .into_query();
    let rows: Vec<Model> = crate::db::rows::all(
        db,
        &Entity::find().filter(Column::OpportunityId.in_subquery(visible)),
    )
    .await?;
    summaries_of_kept(db, principal, ids, rows, window).await
}

/// The summaries of deals `ids` from their kept `rows`, read under the deals' rule (by
/// [`summaries`], or with a page of deals the caller sees): a row that holds today gives its
/// summary; the deals whose row does not hold, or that have none, are assessed afresh.
pub async fn summaries_of_kept(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    rows: Vec<Model>,
    window: ThreadingWindow,
) -> AppResult<HashMap<i64, Summary>> {
    if !may_read_assessments(principal) || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let today = today();
    let found: HashSet<i64> = rows.iter().map(|r| r.opportunity_id).collect();
    let mut out = HashMap::new();
    let mut afresh: Vec<i64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
    for r in rows {
        if holds(&r, today, window) {
            out.insert(r.opportunity_id, summary_of(&r));
        } else {
            afresh.push(r.opportunity_id);
        }
    }
    if !afresh.is_empty() {
        out.extend(assess_afresh(db, principal, &afresh, window, today).await?);
    }
    Ok(out)
}

/// Summaries of the visible opportunities among `ids`, assessed afresh for `today`.
pub(super) async fn assess_afresh(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    window: ThreadingWindow,
    today: NaiveDate,
) -> AppResult<HashMap<i64, Summary>> {
    let (opps, data) = visible_with_data(db, principal, ids).await?;
    Ok(opps
        .iter()
        .filter_map(|o| {
            let d = data.get(&o.account_id)?;
            Some((
                o.id,
                assess_one(principal, d, o.id, window, today)
                    .0
                    .summary(today),
            ))
        })
        .collect())
}
