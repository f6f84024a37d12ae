//! Per-item outcomes of the batch mutations (bulk registration decisions, contact upserts) as
//! GraphQL objects, built from the data layer's.

use async_graphql::{SimpleObject, ID};
use entity::enums::RegistrationStatus;

use crate::db::contacts::writes;
use crate::db::registrations::bulk;
use crate::ids::{self, Kind};

/// The result of a bulk decision.
#[derive(SimpleObject)]
pub struct BulkDecideRegistrationsPayload {
    /// One result per item, in the order sent.
    pub results: Vec<BulkItemResult>,
}

/// The result of a bulk contact upsert.
#[derive(SimpleObject)]
pub struct UpsertContactsPayload {
    /// One result per item, in the order sent.
    pub results: Vec<UpsertResult>,
}

/// The outcome of one item of a bulk call.
#[derive(SimpleObject)]
pub struct BulkItemResult {
    /// The registration ID as sent.
    pub id: ID,
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

impl From<bulk::BulkItemResult> for BulkItemResult {
    fn from(r: bulk::BulkItemResult) -> Self {
        Self {
            id: r.id.into(),
            ok: r.ok,
            error_code: r.error_code,
            error_message: r.error_message,
            status: r.status,
            version: r.version,
        }
    }
}

/// The outcome of one item of a bulk upsert.
#[derive(SimpleObject)]
pub struct UpsertResult {
    /// The item's position in the request, from 0.
    pub index: i32,
    /// CREATED, UPDATED, UNCHANGED, or FAILED.
    pub outcome: String,
    /// The contact's ID when it was written or matched.
    pub contact_id: Option<ID>,
    /// The error code when it failed.
    pub error_code: Option<String>,
    /// What went wrong.
    pub error_message: Option<String>,
}

impl From<writes::UpsertResult> for UpsertResult {
    fn from(r: writes::UpsertResult) -> Self {
        Self {
            index: r.index,
            outcome: r.outcome,
            contact_id: r.contact_id.map(|c| ids::encode(Kind::Contact, c).into()),
            error_code: r.error_code,
            error_message: r.error_message,
        }
    }
}
