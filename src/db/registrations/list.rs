//! Registration lists: filters, orders and the review SLA.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::{Column, Entity, Model};
use sea_orm::sea_query::{Alias, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, QueryFilter, Select};

use super::reads::visible;
use super::{conflicts, count};
use crate::auth::scope::{self, Rule, View};
use crate::auth::{Principal, Resource};
use crate::db::page::{self, Count, Ordering, Page, PageArgs, PageLimits, SortKey};
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

/// A [`RegistrationFilter`] with its ids decoded, and the one instant its SLA is measured at
/// (the page and its count agree on which claims are late).
#[derive(Clone, Debug)]
struct Narrowing {
    statuses: Option<Vec<RegistrationStatus>>,
    partner: Option<i64>,
    role: Option<RegistrationRole>,
    opportunity: Option<i64>,
    has_open_conflict: Option<bool>,
    submitted_before: Option<DateTime<Utc>>,
    sla_breached: Option<bool>,
    /// The list keeps submitted claims only (ordered by submission).
    submitted_only: bool,
    cutoff: DateTime<Utc>,
}

impl Narrowing {
    fn of(filter: RegistrationFilter, order: RegistrationOrder, sla: ReviewSla) -> AppResult<Self> {
        let id_of = |field: &'static str, global: &str, kind: Kind| -> AppResult<i64> {
            // A malformed ID is BAD_USER_INPUT; an ID of another type matches nothing.
            Ok(match ids::decode(global).map_err(|e| e.at(field))? {
                (k, id) if k == kind => id,
                _ => 0,
            })
        };
        Ok(Self {
            partner: match &filter.partner_id {
                Some(p) => Some(id_of("partnerId", p, Kind::Partner)?),
                None => None,
            },
            opportunity: match &filter.opportunity_id {
                Some(o) => Some(id_of("opportunityId", o, Kind::Opportunity)?),
                None => None,
            },
            statuses: filter.status_in,
            role: filter.role,
            has_open_conflict: filter.has_open_conflict,
            submitted_before: filter.submitted_before,
            sla_breached: filter.sla_breached,
            submitted_only: order == RegistrationOrder::SubmittedAsc,
            cutoff: Utc::now() - sla.0,
        })
    }

    /// Whether every status the list keeps waits on the vendor.
    fn awaiting_only(&self) -> bool {
        self.statuses
            .as_ref()
            .is_some_and(|s| s.iter().all(|s| AWAITING_VENDOR.contains(s)))
    }

    /// The registrations `principal` may see that match.
    fn query(&self, principal: &Principal) -> Select<Entity> {
        let mut q = visible(principal);
        if let Some(s) = &self.statuses {
            q = q.filter(Column::Status.is_in(s.clone()));
        }
        if let Some(p) = self.partner {
            q = q.filter(Column::PartnerId.eq(p));
        }
        if let Some(r) = self.role {
            q = q.filter(Column::Role.eq(r));
        }
        if let Some(o) = self.opportunity {
            q = q.filter(Column::OpportunityId.eq(o));
        }
        if let Some(has) = self.has_open_conflict {
            let held = conflicts::open_conflict_registrations();
            q = q.filter(if has {
                Column::Id.in_subquery(held)
            } else {
                Column::Id.not_in_subquery(held)
            });
        }
        if let Some(t) = self.submitted_before {
            q = q.filter(Column::SubmittedAt.lt(t));
        }
        if let Some(breached) = self.sla_breached {
            q = q.filter(self.late(breached));
        }
        if self.submitted_only {
            q = q.filter(Column::SubmittedAt.is_not_null());
        }
        q
    }

    /// Late claims (waiting, submitted before the cutoff), or (`false`) the others: not
    /// waiting, or submitted since. A list of waiting claims only (the review queue) reads
    /// the others as those submitted since, a range of the queue's index.
    fn late(&self, breached: bool) -> Condition {
        let waiting = Column::Status.is_in(AWAITING_VENDOR);
        if breached {
            Condition::all()
                .add(waiting)
                .add(Column::SubmittedAt.lt(self.cutoff))
        } else if self.awaiting_only() {
            Condition::all().add(Column::SubmittedAt.gte(self.cutoff))
        } else {
            Condition::any()
                .add(Column::Status.is_not_in(AWAITING_VENDOR))
                .add(Column::SubmittedAt.gte(self.cutoff))
        }
    }
}

/// A page of the registrations `principal` may see, filtered and ordered, and how its
/// `totalCount` is made (any caller with `registrations:read`).
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: RegistrationFilter,
    order: RegistrationOrder,
    sla: ReviewSla,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Count<Entity>)> {
    principal.require_read(Resource::Registrations)?;
    let narrowing = Narrowing::of(filter, order, sla)?;
    let q = narrowing.query(principal);
    let (column, desc, key): (Option<Column>, bool, fn(&Model) -> SortKey) = match order {
        RegistrationOrder::CreatedAsc => (None, false, |_| SortKey::Id),
        RegistrationOrder::CreatedDesc => (None, true, |_| SortKey::Id),
        RegistrationOrder::SubmittedAsc => (Some(Column::SubmittedAt), false, |m| {
            SortKey::Time(m.submitted_at.unwrap_or_default())
        }),
    };
    let ord = Ordering {
        name: format!("registrations:{order:?}"),
        column,
        id: Column::Id,
        desc,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, key, |m| m.id).await?;
    Ok((page, count_plan(principal, &narrowing, q)))
}

/// How the list `q` (what `n` narrows, for `principal`) is counted: from the tally for the
/// vendor, unless it narrows to one deal, an age or the claims an open conflict holds (a few
/// rows, counted from their indexes); every other caller counts its own rows.
fn count_plan(principal: &Principal, n: &Narrowing, q: Select<Entity>) -> Count<Entity> {
    let everything = scope::Registrations::view(principal) == View::Everything;
    if !everything
        || n.opportunity.is_some()
        || n.submitted_before.is_some()
        || n.has_open_conflict == Some(true)
    {
        return Count::Rows(q);
    }
    let statuses: Vec<RegistrationStatus> = n
        .statuses
        .clone()
        .unwrap_or_else(|| RegistrationStatus::ALL.to_vec());
    let (waiting, rest): (Vec<_>, Vec<_>) = statuses
        .into_iter()
        .partition(|s| AWAITING_VENDOR.contains(s));
    // The claims waiting since the cutoff (or earlier, when the list keeps every claim).
    let since = || {
        let recent = Narrowing {
            statuses: Some(waiting.clone()),
            has_open_conflict: None,
            sla_breached: None,
            ..n.clone()
        };
        recent
            .query(principal)
            .filter(Column::SubmittedAt.gte(n.cutoff))
    };
    let tally = |statuses: &[RegistrationStatus], submitted_only| {
        count::tally(statuses, n.partner, n.role, submitted_only)
    };
    let rows = count::rows;
    let mut total = match n.sla_breached {
        None => tally(&[waiting.as_slice(), &rest].concat(), n.submitted_only),
        // Late: waiting and submitted, less those submitted since the cutoff.
        Some(true) => tally(&waiting, true).sub(rows(since())),
        // On time: the rest, and the waiting claims submitted since the cutoff.
        Some(false) => tally(&rest, n.submitted_only).add(rows(since())),
    };
    if n.has_open_conflict == Some(false) {
        let held = Narrowing {
            has_open_conflict: Some(true),
            ..n.clone()
        };
        total = total.sub(rows(held.query(principal)));
    }
    Count::Statement(Query::select().expr_as(total, Alias::new("n")).to_owned())
}
