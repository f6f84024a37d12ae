//! The events outbox: append-only, written in the transaction of the change it records. Who
//! hears of each event is kept twice: as the `audience` list on the row (for events that arrive
//! live) and as one `event_audiences` row per party (for indexed reads), written together.

use chrono::Utc;
use entity::event;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::Value;

use crate::auth::scope::{Audience, Events, Heard};
use crate::auth::Principal;

pub mod payload;
mod topic;

pub use payload::Payload;
pub use topic::Topic;

/// One event to append.
pub struct NewEvent {
    pub topic: Topic,
    /// Who hears of it: from the read rule of what it is about (`scope::heard`).
    pub audience: Vec<Audience>,
    /// Global id of the object the event is about.
    pub subject_id: String,
    /// Only ever made from a [`Payload`] type (see [`NewEvent::new`]).
    payload: Value,
}

impl NewEvent {
    /// An event of `topic` about `subject_id`, heard by `heard`: the audience the read rule of
    /// the topic's subject gives (or a part of it).
    pub fn new(topic: Topic, heard: Heard, subject_id: String, payload: &impl Payload) -> Self {
        debug_assert_eq!(
            heard.subject(),
            topic.subject(),
            "{} is about another kind of data than its audience",
            topic.name()
        );
        Self {
            topic,
            audience: heard.parties().to_vec(),
            subject_id,
            payload: payload.to_json(),
        }
    }
}

/// The advisory lock that makes outbox relays take turns on PostgreSQL. Writers never take it.
const RELAY_LOCK: i64 = 7_346_011;
/// The advisory lock that makes instances prune the outbox one at a time.
const PRUNE_LOCK: i64 = 7_346_012;
/// Queue rows moved into the outbox per relay transaction.
const RELAY_BATCH: u64 = 1_000;

/// Appends `ev` caused by `actor` on `conn` (a transaction of the change).
///
/// Readers resume from the last event id they saw, so ids must become visible in order: a
/// reader that has seen id N must never later see a smaller id appear. On SQLite there is one
/// writer at a time, which gives that order, and the event goes straight into `events`.
///
/// On PostgreSQL many transactions write at once and a sequence hands out ids at insert, not
/// at commit, so ids alone would not be commit-ordered. Instead of serialising every writer on
/// a lock held until commit, the event goes into `event_queue` in the writer's transaction
/// (still one transaction with the change: rolled back together) and [`relay`] moves committed
/// queue rows into `events`, assigning ids there. Relays take turns on an advisory lock held
/// only for their own short transaction, so each relay's ids are all larger than the previous
/// relay's and become visible together at its commit: the order readers need, while writers
/// run in parallel and take no program-wide lock at all.
pub(crate) async fn append<C: ConnectionTrait>(
    conn: &C,
    actor: &Principal,
    ev: NewEvent,
) -> Result<(), DbErr> {
    append_all(conn, actor, vec![ev]).await
}

/// Appends several events of one change in one statement, in the order given.
pub(crate) async fn append_all<C: ConnectionTrait>(
    conn: &C,
    actor: &Principal,
    evs: Vec<NewEvent>,
) -> Result<(), DbErr> {
    if evs.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let mut sql = String::from(
            "INSERT INTO event_queue (topic, audience, subject_id, actor, payload, created_at) VALUES ",
        );
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(evs.len() * 6);
        for (i, ev) in evs.into_iter().enumerate() {
            let b = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            values.extend([
                ev.topic.name().into(),
                tags(&ev.audience).into(),
                ev.subject_id.into(),
                actor.subject.clone().into(),
                ev.payload.into(),
                now.into(),
            ]);
        }
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await?;
        return Ok(());
    }
    // Boxed: this future sits inside every write's, and an unboxed one made theirs large.
    Box::pin(append_sqlite(conn, actor, evs, now)).await
}

/// [`append_all`] on SQLite: straight into `events`, with who hears of each.
async fn append_sqlite<C: ConnectionTrait>(
    conn: &C,
    actor: &Principal,
    evs: Vec<NewEvent>,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut audiences = Vec::new();
    for ev in evs {
        let heard: Vec<String> = ev.audience.iter().map(|a| a.tag()).collect();
        let row = event::Entity::insert(event::ActiveModel {
            topic: Set(ev.topic.name().to_string()),
            audience: Set(tags(&ev.audience)),
            subject_id: Set(ev.subject_id),
            actor: Set(actor.subject.clone()),
            payload: Set(ev.payload),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(conn)
        .await?;
        audiences.extend(heard.into_iter().map(|t| (t, row.last_insert_id)));
    }
    insert_audiences(conn, audiences).await
}

/// Records who hears of each event (one row per audience tag), for indexed reads.
async fn insert_audiences<C: ConnectionTrait>(
    conn: &C,
    mut rows: Vec<(String, i64)>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Alias, Query};
    rows.sort();
    rows.dedup();
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = Query::insert();
    q.into_table(Alias::new("event_audiences"))
        .columns([Alias::new("party"), Alias::new("event_id")]);
    for (party, id) in rows {
        q.values_panic([party.into(), id.into()]);
    }
    conn.execute(&q).await?;
    Ok(())
}

/// Moves every committed `event_queue` row into `events`, in queue order (PostgreSQL; nothing
/// to do on SQLite). Any instance may call it at any time: relays wait for each other on the
/// relay lock, and one that finds the queue empty commits at once. Returns the rows moved.
pub async fn relay(db: &sea_orm::DatabaseConnection) -> Result<u64, DbErr> {
    use sea_orm::TransactionTrait;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(0);
    }
    let mut moved = 0;
    loop {
        let txn = db.begin().await?;
        // A relay that cannot have the lock in time gives up; the next one moves the rows.
        txn.execute_unprepared("SET LOCAL lock_timeout = '5s'")
            .await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({RELAY_LOCK})"))
            .await?;
        // This statement's snapshot starts after the lock: it sees every row committed before,
        // and no other relay runs until this one commits.
        // One statement moves the rows, assigns their ids in queue order and records who hears
        // of each; it answers how many events it moved.
        let n: i64 = txn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!(
                    "WITH moved AS (
                       DELETE FROM event_queue
                       WHERE id IN (SELECT id FROM event_queue ORDER BY id LIMIT {RELAY_BATCH})
                       RETURNING id, topic, audience, subject_id, actor, payload, created_at
                     ),
                     relayed AS (
                       INSERT INTO events (topic, audience, subject_id, actor, payload, created_at)
                       SELECT topic, audience, subject_id, actor, payload, created_at
                       FROM moved ORDER BY id
                       RETURNING id, audience
                     ),
                     heard AS (
                       INSERT INTO event_audiences (party, event_id)
                       SELECT DISTINCT json_array_elements_text(audience), id FROM relayed
                     )
                     SELECT COUNT(*) AS n FROM relayed"
                ),
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        let n = n as u64;
        txn.commit().await?;
        moved += n;
        if n < RELAY_BATCH {
            return Ok(moved);
        }
    }
}

/// The audience as stored on the event row: the parties' tags.
fn tags(audience: &[Audience]) -> Value {
    Value::from(audience.iter().map(|a| a.tag()).collect::<Vec<_>>())
}

/// Whether `principal`'s party is in the audience of `ev`: its tag (`vendor`, `partner:<id>`)
/// is in the list. The vendor is in the audience of nearly everything, but not of the events
/// written for partners alone (a stage move as partners may hear of it, without its reason).
/// The same rule as the SQL scope of [`visible_after`], for events that arrive live rather
/// than from a query.
pub fn audience_includes(principal: &Principal, ev: &event::Model) -> bool {
    Events::admits(Audience::of(principal), ev)
}

/// The highest outbox id (0 when empty).
pub async fn last_id(db: &sea_orm::DatabaseConnection) -> crate::error::AppResult<i64> {
    use sea_orm::{EntityTrait, QuerySelect};
    let max: Option<Option<i64>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Id.max(), "max")
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Up to `limit` events after `after`, oldest first, for every audience: the instance's outbox
/// tail, which scopes each event per subscriber before it is sent.
pub async fn after(
    db: &sea_orm::DatabaseConnection,
    after: i64,
    limit: u64,
) -> crate::error::AppResult<Vec<event::Model>> {
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(event::Entity::find()
        .filter(event::Column::Id.gt(after))
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Refuses a resume cursor older than what the retention job has pruned: resuming from it
/// would skip events silently.
pub async fn check_cursor(
    db: &sea_orm::DatabaseConnection,
    after: i64,
) -> crate::error::AppResult<()> {
    use sea_orm::EntityTrait;
    let pruned = entity::event_retention::Entity::find_by_id(1)
        .one(db)
        .await?;
    match pruned {
        Some(p) if after < p.pruned_through => Err(crate::error::AppError::CursorExpired(format!(
            "events through id {} were pruned by the retention policy; `after: {after}` cannot resume without a gap. Re-read the current state, then subscribe from the newest event id",
            p.pruned_through
        ))),
        _ => Ok(()),
    }
}

/// Deletes events recorded before `cutoff`, oldest first by id, and records how far it pruned.
/// Returns how many were deleted.
pub async fn prune(
    db: &sea_orm::DatabaseConnection,
    cutoff: chrono::DateTime<Utc>,
) -> crate::error::AppResult<u64> {
    use entity::event_retention as retention;
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{EntityTrait, QueryFilter, QuerySelect};
    let txn = super::begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Instances prune one at a time, so the recorded watermark never moves back.
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PRUNE_LOCK})"))
            .await?;
    }
    let through: Option<Option<i64>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Id.max(), "max")
        .filter(event::Column::CreatedAt.lt(cutoff))
        .into_tuple()
        .one(&txn)
        .await?;
    let Some(through) = through.flatten() else {
        return Ok(0);
    };
    let deleted = event::Entity::delete_many()
        .filter(event::Column::Id.lte(through))
        .exec(&txn)
        .await?
        .rows_affected;
    {
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let q = Query::delete()
            .from_table(Alias::new("event_audiences"))
            .and_where(Expr::col(Alias::new("event_id")).lte(through))
            .to_owned();
        txn.execute(&q).await?;
    }
    retention::Entity::insert(retention::ActiveModel {
        id: Set(1),
        pruned_through: Set(through),
        pruned_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(retention::Column::Id)
            .update_columns([
                retention::Column::PrunedThrough,
                retention::Column::PrunedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(deleted)
}

/// The outbox events `principal` may see after `after`, oldest first: everything for the
/// vendor; for a partner, only events whose audience names it.
pub async fn visible_after(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
    after: i64,
    limit: u64,
) -> crate::error::AppResult<Vec<event::Model>> {
    // Event payloads span every resource, so apps need their own scope to read them.
    principal.require_read(crate::auth::Resource::Events)?;
    visible_after_unchecked(db, principal, after, limit).await
}

/// The event `id` if the principal hears of it (needs `events:read` for apps).
pub async fn visible_one(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
    id: i64,
) -> crate::error::AppResult<Option<event::Model>> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait};
    use sea_orm::{EntityTrait, QueryFilter};
    principal.require_read(crate::auth::Resource::Events)?;
    let heard = Events::heard_by(Audience::of(principal))
        .and_where(Expr::col(Alias::new("event_id")).eq(id))
        .to_owned();
    Ok(event::Entity::find()
        .filter(event::Column::Id.in_subquery(heard))
        .one(db)
        .await?)
}

/// [`visible_after`] without the `events:read` check, for typed subscriptions whose own scope
/// check was made (their events are filtered to one resource before anything is sent).
pub async fn visible_after_unchecked(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
    after: i64,
    limit: u64,
) -> crate::error::AppResult<Vec<event::Model>> {
    use sea_orm::sea_query::{Alias, Order};
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    // The reader's events through the (party, event id) index: nothing of other parties' events
    // is read, however many there are.
    let heard = Events::heard_by(Audience::of(principal))
        .and_where(Expr::col(Alias::new("event_id")).gt(after))
        .order_by(Alias::new("event_id"), Order::Asc)
        .limit(limit)
        .to_owned();
    let q = event::Entity::find().filter(event::Column::Id.in_subquery(heard));
    Ok(q.order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
