//! Protection windows of approved registrations: a partner's extension request, the vendor's
//! extension, and the sweep that expires windows that passed.

use chrono::{Duration, Utc};
use entity::enums::RegistrationStatus;
use entity::registration::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::lifecycle::{audience, changes, check_version, load_for_write, step, EXPIRY};
use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::events::payload::{self, ProtectionTerms, RegistrationSnapshot};
use crate::db::events::{self, NewEvent};
use crate::domain::registration::Action;
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// A change to an approved registration's protection window.
#[derive(Debug)]
pub struct ProtectionExtension {
    /// The APPROVED registration's global ID, decoded here.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
    /// Days to add (1 to 365), counted from the current end of the window (or from now, if it
    /// already passed).
    pub days: i32,
    /// Why (required when a partner asks; optional for the vendor).
    pub reason: Option<String>,
}

fn extension_days(days: i32) -> AppResult<i32> {
    if (1..=365).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::bad_field("days", "days must be 1 to 365"))
    }
}

async fn update_approved(
    txn: &DatabaseTransaction,
    actor: &Principal,
    reg: &Model,
    topic: events::Topic,
    c: ActiveModel,
    terms: ProtectionTerms,
) -> AppResult<Model> {
    if reg.status != RegistrationStatus::Approved {
        return Err(AppError::Conflict(format!(
            "the registration is {}; protection applies to APPROVED registrations",
            reg.status.as_str()
        )));
    }
    let mut c = c;
    c.updated_at = Set(Utc::now());
    let after = crate::db::update_versioned(
        txn,
        "Registration",
        c,
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
            topic,
            audience(txn, &after).await?,
            ids::encode(Kind::Registration, reg.id),
            &payload::ProtectionChange {
                change: terms,
                registration: RegistrationSnapshot::of(&after),
            },
        ),
    )
    .await?;
    Ok(after)
}

/// Asks for a longer protection window on an approved registration (the partner, through the
/// `ClaimDeals` grant); returns the registration.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_extension(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: ProtectionExtension,
) -> AppResult<Model> {
    let principal = grant.principal();
    let days = extension_days(input.days)?;
    let reason = text::required("reason", input.reason.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    let mut c = changes();
    c.extension_requested_days = Set(Some(days));
    c.extension_reason = Set(Some(reason.clone()));
    let after = update_approved(
        &txn,
        principal,
        &reg,
        events::Topic::RegistrationExtensionRequested,
        c,
        ProtectionTerms {
            days,
            until: None,
            reason: Some(reason),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Extends an approved registration's protection window (vendor deciders, through the
/// `DecideRegistrations` grant); returns the registration.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn extend_protection(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    input: ProtectionExtension,
) -> AppResult<Model> {
    let principal = grant.principal();
    let days = extension_days(input.days)?;
    let reason = text::optional("reason", input.reason.as_deref(), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let reg = load_for_write(&txn, principal, &input.id).await?;
    check_version(&reg, input.expected_version)?;
    let base = reg
        .protection_expires_at
        .unwrap_or_default()
        .max(Utc::now());
    let until = base + Duration::days(days as i64);
    let mut c = changes();
    c.protection_expires_at = Set(Some(until));
    c.extension_requested_days = Set(None);
    c.extension_reason = Set(None);
    let after = update_approved(
        &txn,
        principal,
        &reg,
        events::Topic::RegistrationProtectionExtended,
        c,
        ProtectionTerms {
            days,
            until: Some(until),
            reason,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Expires APPROVED registrations whose protection window has passed. Safe with several
/// instances sweeping at once: each expiry is guarded by the registration's version, so only
/// one sweep records it. Returns how many this sweep expired.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn expire_due(db: &DatabaseConnection) -> AppResult<usize> {
    let due: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(RegistrationStatus::Approved))
        .filter(Column::ProtectionExpiresAt.lt(Utc::now()))
        .order_by_asc(Column::ProtectionExpiresAt)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    let system = Principal::system(EXPIRY);
    let mut expired = 0;
    for id in due {
        let txn = crate::db::begin_write(db).await?;
        let Some(reg) = Entity::find_by_id(id).one(&txn).await? else {
            continue;
        };
        if reg.status != RegistrationStatus::Approved
            || reg.protection_expires_at.is_none_or(|t| t >= Utc::now())
        {
            continue;
        }
        match step(
            &txn,
            &system,
            &reg,
            Action::Expire,
            Some("the protection window passed".into()),
            changes(),
        )
        .await
        {
            Ok(_) => {
                txn.commit().await?;
                expired += 1;
            }
            // Another instance expired it first.
            Err(AppError::VersionMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}
