//! Registrations: a partner's claims on deals. Reads are scoped (a partner sees its own claims
//! only); writes go through the lifecycle in `lifecycle`, conflicts live in `conflicts`.

pub mod bulk;
pub mod conflicts;
pub mod decisions;
pub mod figures;
pub mod lifecycle;
pub mod protection;
pub mod submission;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::partner;
use entity::registration::{Column, Entity, Model};
use entity::registration_transition as transition;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
};

use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::scope;
use crate::auth::{Principal, Resource};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// The registrations `principal` may see: all for the vendor, its own for a partner.
pub fn scope(principal: &Principal) -> Condition {
    scope::condition::<scope::Registrations>(principal)
}

pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

pub use crate::auth::scope::{deals_of_partner, SEES_DEAL};

/// How many deals partner `partner_id` is on: the count of its opportunity list when nothing
/// filters it, read from the partner's claims alone (an index-only scan), not from the deals.
pub async fn count_deals(db: &DatabaseConnection, partner_id: i64) -> AppResult<u64> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
    let q = Query::select()
        .expr_as(
            Func::count_distinct(Expr::col(Column::OpportunityId)),
            sea_orm::sea_query::Alias::new("n"),
        )
        .from(Entity)
        .and_where(Expr::col(Column::PartnerId).eq(partner_id))
        .cond_where(scope::deal_claims())
        .to_owned();
    let row = db.query_one(&q).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n as u64)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Registrations)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Registration"))
}

pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let q = visible(principal).filter(Column::Id.is_in(ids.to_vec()));
    let rows: Vec<Model> = crate::db::rows::all(db, &q).await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The long free-text columns of a registration. Lists of claims leave them out (a page of
/// deals with their claims would otherwise carry every justification and note of every
/// claim); [`load_texts`] reads them for the claims whose texts a query asks for.
const TEXTS: [Column; 5] = [
    Column::Justification,
    Column::PrivateNotes,
    Column::InfoRequest,
    Column::ExtensionReason,
    Column::DecisionReason,
];

/// A registration's long free-text fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, sea_orm::FromQueryResult)]
pub struct Texts {
    pub id: i64,
    pub justification: String,
    pub private_notes: Option<String>,
    pub info_request: Option<String>,
    pub extension_reason: Option<String>,
    pub decision_reason: Option<String>,
}

impl Texts {
    /// The texts of a whole row.
    pub fn of(m: &Model) -> Self {
        Self {
            id: m.id,
            justification: m.justification.clone(),
            private_notes: m.private_notes.clone(),
            info_request: m.info_request.clone(),
            extension_reason: m.extension_reason.clone(),
            decision_reason: m.decision_reason.clone(),
        }
    }
}

/// The texts of the visible registrations among `ids`.
pub async fn load_texts(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Texts>> {
    let rows = visible(principal)
        .select_only()
        .column(Column::Id)
        .columns(TEXTS)
        .filter(Column::Id.is_in(ids.to_vec()))
        .into_model::<Texts>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|t| (t.id, t)).collect())
}

/// The visible registrations on each of the opportunities `ids`, without their texts (the
/// text fields are empty; see [`TEXTS`]).
pub async fn load_by_opportunity(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<Model>>> {
    use sea_orm::sea_query::Expr;
    use sea_orm::IdenStatic;
    use sea_orm::Iterable;
    let deferred: Vec<&str> = TEXTS.iter().map(|c| c.as_str()).collect();
    let mut q = visible(principal)
        .select_only()
        .columns(Column::iter().filter(|c| !deferred.contains(&c.as_str())));
    for c in TEXTS {
        let blank = if c.as_str() == Column::Justification.as_str() {
            Expr::val("")
        } else {
            Expr::cust("NULL")
        };
        q = q.column_as(blank, c.as_str());
    }
    let q = q
        .filter(Column::OpportunityId.is_in(ids.to_vec()))
        .order_by_asc(Column::Id);
    let rows: Vec<Model> = crate::db::rows::all(db, &q).await?;
    let mut out: HashMap<i64, Vec<Model>> = HashMap::new();
    for r in rows {
        if let Some(o) = r.opportunity_id {
            out.entry(o).or_default().push(r);
        }
    }
    Ok(out)
}

/// The columns of a registration's summary: what a list of a deal's claims shows most often
/// (who claims it, in which role, where the claim stands).
pub const SUMMARY: [Column; 5] = [
    Column::Id,
    Column::PartnerId,
    Column::OpportunityId,
    Column::Role,
    Column::Status,
];

/// The visible registrations on each of the opportunities `ids`, reading the [`SUMMARY`]
/// columns only: a page of 50 deals' claims reads 5 columns instead of 22, which halves what
/// the server and the database spend on it. Every other field of the rows is a placeholder
/// (empty, zero, the epoch): only the GraphQL fields that read summary columns may answer from
/// them (`graphql::registration::summary_only` decides before they are read).
pub async fn load_summaries_by_opportunity(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<Model>>> {
    Ok(summaries(db, principal, ids, false).await?.0)
}

/// [`load_summaries_by_opportunity`] with the claims' partners read in the same statement, a
/// left join under the partners' own scope: each partner the caller may see, once.
pub async fn load_summaries_with_partners(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<(HashMap<i64, Vec<Model>>, Vec<partner::Model>)> {
    summaries(db, principal, ids, true).await
}

async fn summaries(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    with_partners: bool,
) -> AppResult<(HashMap<i64, Vec<Model>>, Vec<partner::Model>)> {
    use crate::db::rows::{join_scoped, joined_positions, ByPosition};
    use sea_orm::{ConnectionTrait, QueryTrait, RelationTrait};
    let mut q = visible(principal).select_only().columns(SUMMARY);
    if with_partners {
        q = join_scoped::<_, partner::Entity>(
            q,
            entity::registration::Relation::Partner.def(),
            crate::db::partners::scope(principal),
        );
    }
    let q = q
        .filter(Column::OpportunityId.is_in(ids.to_vec()))
        .order_by_asc(Column::Id);
    let rows = db.query_all_raw(q.build(db.get_database_backend())).await?;
    // The partner's columns follow the summary's five.
    let at = match (with_partners, rows.first()) {
        (true, Some(first)) => joined_positions::<partner::Model>(&first.column_names())?,
        _ => Vec::new(),
    };
    let placeholder = DateTime::<Utc>::UNIX_EPOCH;
    let mut out: HashMap<i64, Vec<Model>> = HashMap::new();
    let mut partners: HashMap<i64, partner::Model> = HashMap::new();
    for r in &rows {
        let row = Model {
            id: r.try_get_by_index(0)?,
            partner_id: r.try_get_by_index(1)?,
            opportunity_id: r.try_get_by_index(2)?,
            role: r.try_get_by_index(3)?,
            status: r.try_get_by_index(4)?,
            account_domain: String::new(),
            account_name: None,
            deal_name: None,
            amount_minor: None,
            currency: None,
            expected_close_date: None,
            justification: String::new(),
            private_notes: None,
            idempotency_key: None,
            idempotency_fingerprint: None,
            info_request: None,
            extension_requested_days: None,
            extension_reason: None,
            protection_expires_at: None,
            submitted_at: None,
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            auto_approved: false,
            version: 0,
            created_at: placeholder,
            updated_at: placeholder,
        };
        if !at.is_empty()
            && !partners.contains_key(&row.partner_id)
            && r.try_get_by_index::<Option<i64>>(at[0])?.is_some()
        {
            partners.insert(row.partner_id, partner::Model::read(r, &at)?);
        }
        if let Some(o) = row.opportunity_id {
            out.entry(o).or_default().push(row);
        }
    }
    Ok((out, partners.into_values().collect()))
}

/// The roles held (APPROVED or WON) on each visible opportunity among `ids`, whoever holds
/// them: the shared deal state, which names roles but never partners.
pub async fn load_roles_filled(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<RegistrationRole>>> {
    let visible_opps = super::opportunities::visible(principal)
        .select_only()
        .column(entity::opportunity::Column::Id)
        .into_query();
    let rows: Vec<(Option<i64>, RegistrationRole)> = Entity::find()
        .select_only()
        .column(Column::OpportunityId)
        .column(Column::Role)
        .distinct()
        .filter(Column::OpportunityId.is_in(ids.to_vec()))
        .filter(Column::OpportunityId.in_subquery(visible_opps))
        .filter(Column::Status.is_in([RegistrationStatus::Approved, RegistrationStatus::Won]))
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<RegistrationRole>> = HashMap::new();
    for (opp, role) in rows {
        if let Some(o) = opp {
            out.entry(o).or_default().push(role);
        }
    }
    for roles in out.values_mut() {
        roles.sort();
    }
    Ok(out)
}

/// Every transition of the visible registrations among `ids`, oldest first.
pub async fn load_history(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<transition::Model>>> {
    let visible_ids = visible(principal)
        .select_only()
        .column(Column::Id)
        .into_query();
    let rows = transition::Entity::find()
        .filter(transition::Column::RegistrationId.is_in(ids.to_vec()))
        .filter(transition::Column::RegistrationId.in_subquery(visible_ids))
        .order_by_asc(transition::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<transition::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.registration_id).or_default().push(r);
    }
    Ok(out)
}

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
