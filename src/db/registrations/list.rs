//! Registration lists: filters, orders and the review SLA.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::{Column, Entity, Model};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, QueryFilter, Select};

use super::conflicts;
use super::reads::visible;
use crate::auth::{Principal, Resource};
use crate::db::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::error::AppResult;
use crate::ids::{self, Kind};

/// Filters for registration lists; all given filters must match.
#[derive(Default, Debug)]
pub struct RegistrationFilter {
    /// Only registrations in one of these statuses.
    pub status_in: Option<Vec<RegistrationStatus>>,
    /// Only this partner's registrations (vendor only; partners always see their own): its
    /// global ID, decoded here.
    pub partner_id: Option<String>,
    /// Only registrations in this role.
    pub role: Option<RegistrationRole>,
    /// Only registrations on this opportunity (its global ID, decoded here).
    pub opportunity_id: Option<String>,
    /// True: only registrations held by an open conflict; false: only those without one.
    pub has_open_conflict: Option<bool>,
    /// Only registrations submitted before this time (their age).
    pub submitted_before: Option<DateTime<Utc>>,
    /// True: only registrations waiting for review longer than the review SLA; false: only
    /// those within it.
    pub sla_breached: Option<bool>,
}

/// Orders of registration lists. The variant names are part of the cursors.
#[derive(Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum RegistrationOrder {
    /// Oldest created first.
    #[default]
    CreatedAsc,
    /// Newest created first.
    CreatedDesc,
    /// Longest waiting first (by submission time; drafts last).
    SubmittedAsc,
}

/// How long a submitted registration may wait for a decision.
#[derive(Debug, Clone, Copy)]
pub struct ReviewSla(pub Duration);

/// Statuses that wait on the vendor.
pub const AWAITING_VENDOR: [RegistrationStatus; 2] = [
    RegistrationStatus::Submitted,
    RegistrationStatus::UnderReview,
];

/// A page of the registrations `principal` may see, filtered and ordered, with the query behind it
/// (any caller with `registrations:read`).
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: RegistrationFilter,
    order: RegistrationOrder,
    sla: ReviewSla,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Registrations)?;
    let mut q = visible(principal);
    if let Some(s) = filter.status_in {
        q = q.filter(Column::Status.is_in(s));
    }
    if let Some(p) = &filter.partner_id {
        let id = match ids::decode(p).map_err(|e| e.at("partnerId"))? {
            (Kind::Partner, id) => id,
            _ => 0,
        };
        q = q.filter(Column::PartnerId.eq(id));
    }
    if let Some(r) = filter.role {
        q = q.filter(Column::Role.eq(r));
    }
    if let Some(o) = &filter.opportunity_id {
        let id = match ids::decode(o).map_err(|e| e.at("opportunityId"))? {
            (Kind::Opportunity, id) => id,
            _ => 0,
        };
        q = q.filter(Column::OpportunityId.eq(id));
    }
    if let Some(has) = filter.has_open_conflict {
        let held = conflicts::open_conflict_registrations();
        q = q.filter(if has {
            Column::Id.in_subquery(held)
        } else {
            Column::Id.not_in_subquery(held)
        });
    }
    if let Some(t) = filter.submitted_before {
        q = q.filter(Column::SubmittedAt.lt(t));
    }
    if let Some(breached) = filter.sla_breached {
        let cutoff = Utc::now() - sla.0;
        let late = Condition::all()
            .add(Column::Status.is_in(AWAITING_VENDOR))
            .add(Column::SubmittedAt.lt(cutoff));
        q = q.filter(if breached { late } else { late.not() });
    }
    let (column, desc, key): (Option<Column>, bool, fn(&Model) -> SortKey) = match order {
        RegistrationOrder::CreatedAsc => (None, false, |_| SortKey::Id),
        RegistrationOrder::CreatedDesc => (None, true, |_| SortKey::Id),
        RegistrationOrder::SubmittedAsc => {
            q = q.filter(Column::SubmittedAt.is_not_null());
            (Some(Column::SubmittedAt), false, |m| {
                SortKey::Time(m.submitted_at.unwrap_or_default())
            })
        }
    };
    let ord = Ordering {
        name: format!("registrations:{order:?}"),
        column,
        id: Column::Id,
        desc,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, key, |m| m.id).await?;
    Ok((page, q))
}
