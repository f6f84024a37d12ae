//! Registration writes. Every transition goes through [`step`], which checks it against the
//! lifecycle, records it in the history, bumps the version (refusing a stale one) and appends
//! its event, all in the caller's transaction.

use chrono::{DateTime, SubsecRound, Utc};
use entity::enums::RegistrationStatus;
use entity::registration::{ActiveModel, Column, Entity, Model};
use entity::registration_transition as transition;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use crate::auth::scope::{self, Heard};
use crate::auth::Principal;
use crate::db::events::payload::{self, RegistrationSnapshot};
use crate::db::events::{self, NewEvent};
use crate::domain::registration::{transition as lifecycle, Action};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

pub const POLICY: &str = "policy:auto-approval";
pub const DETECTOR: &str = "system:conflict-detection";
pub const EXPIRY: &str = "system:protection-expiry";

/// Who hears of a change to claim `reg` (the registrations read rule's audience).
pub async fn audience<C: ConnectionTrait>(conn: &C, reg: &Model) -> AppResult<Heard> {
    Ok(scope::heard::<scope::Registrations, _>(conn, reg).await?)
}

/// Serialises claims on one customer: concurrent submissions and decisions for the same
/// account domain take turns, so conflict detection sees every earlier claim. SQLite writers
/// are already serialised by their IMMEDIATE transactions.
pub async fn lock_deal(txn: &DatabaseTransaction, domain: &str) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [format!("deal:{domain}").into()],
        ))
        .await?;
    }
    Ok(())
}

/// The time now as the databases keep it, in whole microseconds (PostgreSQL rounds finer
/// times), so what is computed from it here equals what is computed from the stored row.
pub(in crate::db) fn stored_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Records on `c` that `reg` was decided `at`: the time, and how long the decision took since
/// the submission (the whole seconds the program figures' medians are taken over).
pub(in crate::db) fn decided(c: &mut ActiveModel, reg: &Model, at: DateTime<Utc>) {
    c.decided_at = Set(Some(at));
    c.decision_seconds = Set(reg.submitted_at.map(|s| (at - s).num_seconds()));
}

/// Records on `c` that `reg` was submitted `at`, keeping the time of a decision already
/// recorded consistent with it.
pub(in crate::db) fn submitted(c: &mut ActiveModel, reg: &Model, at: DateTime<Utc>) {
    c.submitted_at = Set(Some(at));
    c.decision_seconds = Set(reg.decided_at.map(|d| (d - at).num_seconds()));
}

/// Applies `action` to `reg` as `actor`, with `changes` written alongside the new status.
pub(in crate::db) async fn step(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
    action: Action,
    reason: Option<String>,
    mut changes: ActiveModel,
) -> AppResult<Model> {
    let path = lifecycle(reg.status, action)?;
    let now = Utc::now();
    let mut from = reg.status;
    let mut rows = Vec::with_capacity(path.len());
    for to in &path {
        rows.push(transition::ActiveModel {
            registration_id: Set(reg.id),
            from_status: Set(Some(from)),
            to_status: Set(*to),
            actor: Set(actor.subject.clone()),
            actor_partner_id: Set(actor.partner_id()),
            reason: Set(reason.clone()),
            at: Set(now),
            ..Default::default()
        });
        from = *to;
    }
    // Every step of the path in one statement.
    if !rows.is_empty() {
        transition::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    changes.status = Set(from);
    changes.updated_at = Set(now);
    let after = crate::db::update_versioned(
        txn,
        "Registration",
        changes,
        Column::Id,
        Column::Version,
        reg.id,
        reg.version,
    )
    .await?;
    events::append(
        txn,
        actor,
        NewEvent::new(
            events::Topic::Registration(from),
            audience(txn, &after).await?,
            ids::encode(Kind::Registration, reg.id),
            &payload::RegistrationTransition {
                from: reg.status,
                to: from,
                path: path.clone(),
                reason: reason.clone(),
                registration: RegistrationSnapshot::of(&after),
            },
        ),
    )
    .await?;
    Ok(after)
}

/// An empty set of changes to a registration (the lifecycle's writers fill in theirs).
pub(super) fn changes() -> ActiveModel {
    <ActiveModel as Default>::default()
}

/// The registration with `id` that `principal` may act on, read inside the transaction. A
/// partner's foreign id answers like a missing one.
pub(super) async fn load_for_write(
    txn: &DatabaseTransaction,
    principal: &Principal,
    id: &str,
) -> AppResult<Model> {
    let id = ids::decode_field(id, Kind::Registration, "id")?;
    Entity::find()
        .filter(super::scope(principal))
        .filter(Column::Id.eq(id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Registration"))
}

/// Refuses with VERSION_MISMATCH when `reg` is not at version `expected` (the lifecycle's writers).
pub(super) fn check_version(reg: &Model, expected: i32) -> AppResult<()> {
    crate::db::check_version("Registration", expected, reg.version)
}

/// Moves the APPROVED registrations of an opportunity that just closed to WON or LOST, in the
/// stage change's transaction.
pub(in crate::db) async fn close_claims(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opportunity_id: i64,
    won: bool,
) -> AppResult<()> {
    let approved = Entity::find()
        .filter(Column::OpportunityId.eq(opportunity_id))
        .filter(Column::Status.eq(RegistrationStatus::Approved))
        .all(txn)
        .await?;
    let reason = Some(format!(
        "the opportunity closed {}",
        if won { "won" } else { "lost" }
    ));
    for reg in approved {
        step(
            txn,
            actor,
            &reg,
            if won { Action::Win } else { Action::Lose },
            reason.clone(),
            changes(),
        )
        .await?;
    }
    Ok(())
}
