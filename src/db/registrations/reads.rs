//! Scoped reads of registrations: one claim, claims by id, by opportunity, their texts, the
//! roles held on deals and the claims' history.

use std::collections::HashMap;

use entity::enums::RegistrationRole;
use entity::registration::{Column, Entity, Model};
use entity::registration_transition as transition;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
};

use crate::auth::scope;
use crate::auth::{Principal, Resource};
use crate::domain::registration::approval::HOLDS_ROLE;
use crate::error::{AppError, AppResult};

/// The registrations `principal` may see: all for the vendor, its own for a partner.
pub fn scope(principal: &Principal) -> Condition {
    scope::condition::<scope::Registrations>(principal)
}

/// The registrations `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

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

/// One registration `principal` may see (any caller with `registrations:read`); an invisible id is
/// NOT_FOUND.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Registrations)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Registration"))
}

/// The visible registrations among `ids`, by id (any caller; DataLoaders batch it).
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

/// The roles held (APPROVED or WON) on each visible opportunity among `ids`, whoever holds
/// them: the shared deal state, which names roles but never partners.
pub async fn load_roles_filled(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<RegistrationRole>>> {
    let visible_opps = crate::db::opportunities::visible(principal)
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
        .filter(Column::Status.is_in(HOLDS_ROLE))
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
