//! Bulk decisions: one transaction and one result per registration.

use entity::enums::RegistrationStatus;
use sea_orm::DatabaseConnection;

use super::decisions::{approve, reject, ApproveRegistration, RegistrationDecision};
use crate::auth::{can, Grant};
use crate::error::{code, AppError, AppResult};

/// The decision applied to every item of a bulk call.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum BulkDecision {
    /// Approve each registration (proposed deals get a new opportunity).
    Approve,
    /// Reject each registration with the shared reason.
    Reject,
}

/// One registration of a bulk call.
#[derive(Debug)]
pub struct BulkItem {
    /// The registration's global ID, decoded by each item's decision.
    pub id: String,
    /// The version you read.
    pub expected_version: i32,
}

/// The outcome of one item of a bulk call.
#[derive(Debug)]
pub struct BulkItemResult {
    /// The registration ID as sent.
    pub id: String,
    /// Whether this item succeeded; each item is its own transaction.
    pub ok: bool,
    /// The error code when it failed (e.g. VERSION_MISMATCH, CONFLICT, NOT_FOUND).
    pub error_code: Option<String>,
    /// What went wrong, when it failed.
    pub error_message: Option<String>,
    /// The registration's new status when it succeeded.
    pub status: Option<RegistrationStatus>,
    /// The registration's new version when it succeeded.
    pub version: Option<i32>,
}

/// Approves or rejects up to 100 registrations, each in its own transaction (vendor deciders,
/// through the `DecideRegistrations` grant); returns one result per item.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn bulk(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    decision: BulkDecision,
    items: Vec<BulkItem>,
    reason: Option<String>,
) -> AppResult<Vec<BulkItemResult>> {
    if items.is_empty() || items.len() > 100 {
        return Err(AppError::bad_field("items", "give 1 to 100 items"));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let r = match decision {
            BulkDecision::Approve => {
                let input = ApproveRegistration {
                    id: item.id.clone(),
                    expected_version: item.expected_version,
                    opportunity_id: None,
                    create_opportunity: true,
                    reason: reason.clone(),
                };
                approve(db, grant, input).await
            }
            BulkDecision::Reject => {
                let input = RegistrationDecision {
                    id: item.id.clone(),
                    expected_version: item.expected_version,
                    reason: reason.clone(),
                };
                reject(db, grant, input).await
            }
        };
        out.push(match r {
            Ok(m) => BulkItemResult {
                id: item.id,
                ok: true,
                error_code: None,
                error_message: None,
                status: Some(m.status),
                version: Some(m.version),
            },
            Err(e) => {
                let message = if e.code() == code::INTERNAL {
                    crate::error::INTERNAL_MESSAGE.to_string()
                } else {
                    e.message()
                };
                if e.code() == code::INTERNAL {
                    tracing::error!(error = %e.message(), "bulk item failed");
                }
                BulkItemResult {
                    id: item.id,
                    ok: false,
                    error_code: Some(e.code().into()),
                    error_message: Some(message),
                    status: None,
                    version: None,
                }
            }
        });
    }
    Ok(out)
}
