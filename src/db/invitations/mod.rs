//! Engagement invitations: the vendor asks partners to join a deal in a role, showing each
//! only the fields it chooses; a partner accepts (a registration through the usual lifecycle),
//! declines, or lets the invitation expire; the vendor may withdraw an open one.
//!
//! Visibility: the vendor sees every invitation; a partner only those made to it, never another
//! invitee's, and of the deal only the `shared` snapshot until its acceptance makes it a party.
//! Every change is one transaction with its `invitation.*` event, heard by the vendor and the
//! invited partner alone.
//!
//! Locks: an answer, a withdrawal and the expiry sweep each take the invitation's row (a
//! version-guarded update), so two of them never both succeed. An acceptance first reads the
//! deal's row `FOR SHARE` (a close of the deal waits for it, or it sees the deal closed), then
//! takes the invitation's row, then the customer lock of the deal's domain, as every
//! registration does: deal row, invitation row, customer lock.

use std::collections::{BTreeMap, HashMap};

use super::events::payload::{InvitationChanged, InvitationSnapshot};
use super::events::{self, NewEvent, Topic};
use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::{can, Grant, Principal, Resource};
use crate::domain::{account::normalise_domain, money, text};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{InvitationStatus, OpportunityStage, RegistrationRole, SharedField};
use entity::invitation::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};

/// Written into cursors of the invitation list.
pub const ORDERING: &str = "invitations:id";
/// Partners one request may invite at most.
pub const MAX_INVITEES: usize = 50;
/// Contacts one invitation may share at most.
pub const MAX_SHARED_CONTACTS: usize = 20;
/// The longest an invitation may stay open.
pub const MAX_DAYS_OPEN: i64 = 90;
/// Who expires invitations in the history and events.
pub const EXPIRY: &str = "system:invitation-expiry";

/// For any reader acting as `principal`: returns the query of the invitations it may see (the
/// read rule `scope::Invitations`): all of them for the vendor, those made to it for a partner.
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(crate::auth::scope::condition::<
        crate::auth::scope::Invitations,
    >(principal))
}

/// For any reader acting as `principal` (`node`, subscriptions): returns the invitations among
/// `ids` it may see, by id; none without `registrations:read`.
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    if !principal.may_read(Resource::Registrations) || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Which invitations a list returns.
#[derive(Debug, Default, Clone)]
pub struct InvitationFilter {
    /// One partner's (the vendor's filter; a partner's list is its own anyway).
    pub partner_id: Option<i64>,
    /// Only these statuses.
    pub status_in: Option<Vec<InvitationStatus>>,
    /// One deal's.
    pub opportunity_id: Option<i64>,
    /// OPEN ones that expire before this time ("expiring soon").
    pub expiring_before: Option<DateTime<Utc>>,
}

/// For a reader with `registrations:read` (refused otherwise): returns a page of the
/// invitations `principal` may see, oldest first, and the filtered query for its count.
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: InvitationFilter,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Registrations)?;
    let mut q = visible(principal);
    if let Some(p) = filter.partner_id {
        q = q.filter(Column::PartnerId.eq(p));
    }
    if let Some(s) = filter.status_in {
        q = q.filter(Column::Status.is_in(s));
    }
    if let Some(o) = filter.opportunity_id {
        q = q.filter(Column::OpportunityId.eq(o));
    }
    if let Some(t) = filter.expiring_before {
        q = q
            .filter(Column::Status.eq(InvitationStatus::Open))
            .filter(Column::ExpiresAt.lt(t));
    }
    let ord = Ordering {
        name: ORDERING.into(),
        column: None,
        id: Column::Id,
        desc: false,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, |_| SortKey::Id, |m| m.id).await?;
    Ok((page, q))
}

/// A deal the vendor has not entered yet: it is created (with its account, if the domain is
/// new) together with the invitations.
#[derive(Debug, Clone)]
pub struct Lead {
    pub account_domain: String,
    pub account_name: String,
    pub deal_name: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
}

/// What the invited partners are shown of the deal before they accept.
#[derive(Debug, Clone, Default)]
pub struct Share {
    pub fields: Vec<SharedField>,
    /// Contacts at the deal's account (at most [`MAX_SHARED_CONTACTS`]): name, title and email.
    pub contact_ids: Vec<i64>,
}

/// The vendor's invitation of one or several partners to one deal.
#[derive(Debug, Clone)]
pub struct InvitePartners {
    /// The deal: an existing opportunity...
    pub opportunity_id: Option<i64>,
    /// ...or a lead that becomes one.
    pub lead: Option<Lead>,
    pub partner_ids: Vec<i64>,
    pub role: RegistrationRole,
    pub message: Option<String>,
    pub share: Share,
    pub expires_at: DateTime<Utc>,
    /// A retry with the same key returns the first request's invitations.
    pub idempotency_key: Option<String>,
}

fn event(m: &Model, reason: Option<String>) -> NewEvent {
    NewEvent::new(
        Topic::Invitation(m.status),
        crate::auth::scope::heard_by_row::<crate::auth::scope::Invitations>(m),
        ids::encode(Kind::Invitation, m.id),
        &InvitationChanged {
            invitation: InvitationSnapshot::of(m),
            reason,
        },
    )
}

mod answers;
mod figures;
mod invite;
mod snapshot;

pub use answers::{accept, decline, expire_due, withdraw, withdraw_for_closed_deal, Answer};
pub use figures::{figures, AnswerFigures, InvitationFigures};
pub use invite::invite;
pub use snapshot::{SharedContact, Snapshot};
