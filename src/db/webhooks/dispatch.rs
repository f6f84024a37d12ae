//! The dispatcher's side: leases on endpoints, the record of each attempt, and the delivery
//! log's pruning.

use super::*;

/// SQL with `$1`-style placeholders, written for the connection's database (numbered in
/// order of appearance, each used once: SQLite reads them as plain `?`).
fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    crate::db::persisted::statement(db, sql, values)
}

/// Which endpoints a claim takes.
pub enum Due<'a> {
    /// Every active endpoint behind the outbox's `head` (the sweep: catches up whatever no
    /// wake-up announced).
    Behind(i64),
    /// Endpoints whose failed attempt is due again, or whose lease lapsed unreleased.
    Retries,
    /// These endpoints, which have something to deliver.
    Ids(&'a [i64]),
}

/// How many endpoints a claim may take: at most `limit` in all, and no more of one party's
/// than `share` less what it already has in flight (`busy`, by owner: a partner, or `None` for
/// the vendor).
pub struct Room<'a> {
    pub share: usize,
    pub busy: &'a std::collections::HashMap<Option<i64>, usize>,
    pub limit: usize,
}

/// Leases up to `room` active, due endpoints to `instance` until `until`, and returns them,
/// each party's first due endpoint before anyone's second. An endpoint another instance holds
/// (or is claiming) is skipped: the UPDATE checks the lease again on the row it changes, so of
/// two instances claiming at once one gets it.
pub async fn claim(
    db: &DatabaseConnection,
    instance: &str,
    due: Due<'_>,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    room: Room<'_>,
) -> AppResult<Vec<Model>> {
    let mut values: Vec<sea_orm::Value> =
        vec![instance.into(), until.into(), now.into(), now.into()];
    let which = match due {
        Due::Behind(head) => {
            values.push(head.into());
            "cursor < $5".to_string()
        }
        // A failed attempt due again, or a lease its instance left to lapse (it died
        // mid-delivery): the pending event is sent again.
        Due::Retries => "(attempts > 0 OR locked_until IS NOT NULL)".to_string(),
        Due::Ids([]) => return Ok(Vec::new()),
        Due::Ids(ids) => {
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 5)).collect();
            values.extend(ids.iter().map(|i| sea_orm::Value::from(*i)));
            format!("id IN ({})", marks.join(", "))
        }
    };
    // Each party's room: its share less what it has in flight (numbers written into the
    // statement; they are bounded by the concurrency setting).
    let mut turns = room.share.to_string();
    if !room.busy.is_empty() {
        turns = String::from("CASE");
        for (party, n) in room.busy {
            let room = room.share.saturating_sub(*n);
            match party {
                None => turns.push_str(&format!(" WHEN owner_partner_id IS NULL THEN {room}")),
                Some(p) => {
                    values.push((*p).into());
                    turns.push_str(&format!(
                        " WHEN owner_partner_id = ${} THEN {room}",
                        values.len()
                    ));
                }
            }
        }
        turns.push_str(&format!(" ELSE {} END", room.share));
    }
    values.push(now.into());
    let lapsed = values.len();
    let sql = format!(
        "UPDATE webhook_endpoints SET locked_by = $1, locked_until = $2
         WHERE id IN (
           SELECT id FROM (
             SELECT id, next_attempt_at,
                    ROW_NUMBER() OVER (PARTITION BY owner_partner_id ORDER BY next_attempt_at, id) AS turn
             FROM webhook_endpoints
             WHERE status = 'ACTIVE' AND next_attempt_at <= $3
               AND (locked_until IS NULL OR locked_until < $4) AND {which}) AS due
           WHERE turn <= {turns}
           ORDER BY turn, next_attempt_at LIMIT {limit})
         AND (locked_until IS NULL OR locked_until < ${lapsed})
         RETURNING id",
        limit = room.limit,
    );
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids))
        .filter(Column::LockedBy.eq(instance))
        .all(db)
        .await?)
}

/// Extends `instance`'s leases on the endpoints `ids` it is delivering to (one statement
/// for all, every heartbeat).
pub async fn renew(
    db: &DatabaseConnection,
    instance: &str,
    ids: &[i64],
    until: DateTime<Utc>,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::LockedUntil, sea_orm::sea_query::Expr::value(until))
        .filter(Column::LockedBy.eq(instance))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every lease `instance` holds (it is shutting down): other instances claim the
/// endpoints at their next poll.
pub async fn release_all(db: &DatabaseConnection, instance: &str) -> AppResult<()> {
    Entity::update_many()
        .col_expr(
            Column::LockedUntil,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(Column::LockedBy.eq(instance))
        .filter(Column::LockedUntil.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Lets `instance`'s lease on endpoint `id` lapse now (its delivery stopped on an error): the
/// next poll claims it again.
pub async fn lapse(db: &DatabaseConnection, id: i64, instance: &str) -> AppResult<()> {
    Entity::update_many()
        .col_expr(
            Column::LockedUntil,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::LockedBy.eq(instance))
        .filter(Column::LockedUntil.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Every active endpoint (the dispatcher's directory of who hears what).
pub async fn active(db: &DatabaseConnection) -> AppResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::Status.eq(Status::Active))
        .all(db)
        .await?)
}

/// The endpoint's row while `instance` holds its lease and its owner has not changed it since
/// it was claimed (an owner's change ends the lease: a replay or a pause wins over the
/// delivery in flight, whose outcome is then not recorded and whose event is sent again).
fn held(endpoint: &Model, instance: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.eq(endpoint.id))
        .add(Column::LockedBy.eq(instance))
        .add(Column::Version.eq(endpoint.version))
}

/// How one attempt went.
pub struct Outcome {
    pub event_id: i64,
    pub topic: String,
    pub attempt: i32,
    pub response_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

impl Outcome {
    /// Whether the attempt was delivered (the dispatcher, on an attempt's outcome).
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// What becomes of the endpoint after an attempt.
pub enum Next {
    /// Delivered: the cursor moves past the event, and the lease runs until this time.
    Delivered(DateTime<Utc>),
    /// Failed: try again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed for the last time: the endpoint is disabled and its owner hears of it.
    Disable(String),
}

/// Records one attempt in the log and moves the endpoint on, in one transaction; false when
/// the lease was lost meanwhile (nothing is written then).
pub async fn settle(
    db: &DatabaseConnection,
    endpoint: &Model,
    instance: &str,
    outcome: &Outcome,
    next: Next,
) -> AppResult<bool> {
    let disabling = matches!(next, Next::Disable(_));
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres && !disabling {
        return settle_in_one_statement(db, endpoint, instance, outcome, next).await;
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    if disabling && db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // It appends an event: durable, as every event is (the dispatcher's pool commits
        // asynchronously otherwise).
        txn.execute_unprepared("SET LOCAL synchronous_commit = on")
            .await?;
    }
    let mut changes = <ActiveModel as Default>::default();
    let mut disabled = None;
    match &next {
        Next::Delivered(until) => {
            changes.cursor = Set(outcome.event_id);
            changes.locked_until = Set(Some(*until));
            changes.attempts = Set(0);
            changes.failing_since = Set(None);
        }
        Next::RetryAt(at) => {
            changes.attempts = Set(outcome.attempt);
            changes.next_attempt_at = Set(*at);
            changes.failing_since = Set(Some(endpoint.failing_since.unwrap_or(now)));
            changes.locked_by = Set(None);
            changes.locked_until = Set(None);
        }
        Next::Disable(reason) => {
            changes.attempts = Set(outcome.attempt);
            changes.status = Set(Status::Disabled);
            changes.disabled_reason = Set(Some(reason.clone()));
            changes.locked_by = Set(None);
            changes.locked_until = Set(None);
            changes.version = Set(endpoint.version + 1);
            changes.updated_at = Set(now);
            disabled = Some(reason.clone());
        }
    }
    let updated = Entity::update_many()
        .set(changes)
        .filter(held(endpoint, instance))
        .exec_with_returning(&txn)
        .await?;
    let Some(row) = updated.into_iter().next() else {
        return Ok(false);
    };
    attempt::ActiveModel {
        endpoint_id: Set(endpoint.id),
        event_id: Set(outcome.event_id),
        topic: Set(outcome.topic.clone()),
        attempt: Set(outcome.attempt),
        succeeded: Set(outcome.succeeded()),
        response_code: Set(outcome.response_code),
        latency_ms: Set(outcome.latency_ms),
        error: Set(outcome.error.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if disabled.is_some() {
        let system = Principal::system("webhooks");
        events::append(&txn, &system, changed(Topic::WebhookEndpointDisabled, &row)).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// [`settle`] without an event to write, on PostgreSQL: the endpoint's update and the log row
/// in one statement (one round trip, its own transaction), the log row written only when the
/// update found the endpoint under this lease.
async fn settle_in_one_statement(
    db: &DatabaseConnection,
    endpoint: &Model,
    instance: &str,
    outcome: &Outcome,
    next: Next,
) -> AppResult<bool> {
    let now = Utc::now();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut bind = |v: sea_orm::Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let set = match next {
        Next::Delivered(until) => format!(
            "cursor = {}, attempts = 0, failing_since = NULL, locked_until = {}",
            bind(outcome.event_id.into()),
            bind(until.into())
        ),
        Next::RetryAt(at) => format!(
            "attempts = {}, next_attempt_at = {}, failing_since = COALESCE(failing_since, {}), \
             locked_by = NULL, locked_until = NULL",
            bind(outcome.attempt.into()),
            bind(at.into()),
            bind(now.into())
        ),
        Next::Disable(_) => unreachable!("a disabling settle writes its event in a transaction"),
    };
    let sql = format!(
        "WITH moved AS (
           UPDATE webhook_endpoints SET {set}
           WHERE id = {} AND locked_by = {} AND version = {} RETURNING id)
         INSERT INTO webhook_attempts
           (endpoint_id, event_id, topic, attempt, succeeded, response_code, latency_ms, error, created_at)
         SELECT id, {}, {}, {}, {}, {}, {}, {}, {} FROM moved
         RETURNING id",
        bind(endpoint.id.into()),
        bind(instance.into()),
        bind(endpoint.version.into()),
        bind(outcome.event_id.into()),
        bind(outcome.topic.clone().into()),
        bind(outcome.attempt.into()),
        bind(outcome.succeeded().into()),
        bind(outcome.response_code.into()),
        bind(outcome.latency_ms.into()),
        bind(outcome.error.clone().into()),
        bind(now.into()),
    );
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    Ok(!rows.is_empty())
}

/// Ends `instance`'s lease with the endpoint at `cursor` (everything up to it settled); the
/// next delivery waits until `next_at`.
pub async fn release(
    db: &DatabaseConnection,
    endpoint: &Model,
    instance: &str,
    cursor: i64,
    next_at: DateTime<Utc>,
) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::Cursor, sea_orm::sea_query::Expr::value(cursor))
        .col_expr(
            Column::NextAttemptAt,
            sea_orm::sea_query::Expr::value(next_at),
        )
        .col_expr(
            Column::LockedBy,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .col_expr(
            Column::LockedUntil,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(held(endpoint, instance))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes log rows older than `cutoff` (with the outbox's retention).
pub async fn prune_attempts(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> AppResult<u64> {
    Ok(attempt::Entity::delete_many()
        .filter(attempt::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
