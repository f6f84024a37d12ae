//! Conflict detection at submission, and the vendor's resolution.

use std::collections::HashMap;

use chrono::Utc;
use entity::collaboration_rule::Model as Rule;
use entity::conflict::{ActiveModel, Column, Entity, Model};
use entity::enums::{ConflictKind, ConflictResolution, ConflictStatus};
use entity::registration::{self, Model as Registration};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};

use super::lifecycle;
use crate::auth::scope;
use crate::auth::{Principal, Resource};
use crate::db::events::payload::{self, ConflictSnapshot};
use crate::db::events::{self, NewEvent};
use crate::db::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::domain::registration::conflicts::{same_customer, HOLDS_DEAL, LATE_STAGES, OPEN_CLAIMS};
use crate::domain::registration::{collisions, Claim};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// A conflict found at submission, before it is stored.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: ConflictKind,
    pub other_registration_id: Option<i64>,
    pub opportunity_id: Option<i64>,
}

impl Found {
    /// The API name of the conflict's kind (for messages and events).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ConflictKind::DuplicateRegistration => "DUPLICATE_REGISTRATION",
            ConflictKind::ExclusiveRoleTaken => "EXCLUSIVE_ROLE_TAKEN",
            ConflictKind::DirectDealOverlap => "DIRECT_DEAL_OVERLAP",
        }
    }
}

/// Claims on the same deal as `reg`: the same opportunity when it names one, otherwise the
/// same customer domain.
fn same_deal(reg: &Registration) -> Condition {
    match reg.opportunity_id {
        Some(o) => Condition::any()
            .add(registration::Column::OpportunityId.eq(o))
            .add(
                Condition::all()
                    .add(registration::Column::OpportunityId.is_null())
                    .add(registration::Column::AccountDomain.eq(reg.account_domain.clone())),
            ),
        None => {
            Condition::all().add(registration::Column::AccountDomain.eq(reg.account_domain.clone()))
        }
    }
}

/// Finds what `reg` (just SUBMITTED) overlaps. Runs under the deal lock, so concurrent
/// submissions see each other.
pub async fn detect(
    txn: &DatabaseTransaction,
    reg: &Registration,
    rule: &Rule,
) -> AppResult<Vec<Found>> {
    let mut found = Vec::new();
    let others = registration::Entity::find()
        .filter(registration::Column::Id.ne(reg.id))
        .filter(registration::Column::Status.is_in(OPEN_CLAIMS))
        .filter(same_deal(reg))
        .order_by_asc(registration::Column::Id)
        .all(txn)
        .await?;
    let claim = |r: &Registration| Claim {
        id: r.id,
        partner_id: r.partner_id,
        role: r.role,
    };
    let by_id = |id: i64| others.iter().find(|o| o.id == id);
    let hit = collisions(
        &claim(reg),
        &others.iter().map(claim).collect::<Vec<_>>(),
        rule.exclusive,
    );
    if let Some(dup) = hit.duplicate_of.and_then(by_id) {
        found.push(Found {
            kind: ConflictKind::DuplicateRegistration,
            other_registration_id: Some(dup.id),
            opportunity_id: dup.opportunity_id.or(reg.opportunity_id),
        });
    }
    if let Some(taken) = hit.exclusive_role_taken_by.and_then(by_id) {
        found.push(Found {
            kind: ConflictKind::ExclusiveRoleTaken,
            other_registration_id: Some(taken.id),
            opportunity_id: taken.opportunity_id.or(reg.opportunity_id),
        });
    }
    if reg.opportunity_id.is_none() {
        if let Some(opp) = direct_overlap(txn, reg).await? {
            found.push(Found {
                kind: ConflictKind::DirectDealOverlap,
                other_registration_id: None,
                opportunity_id: Some(opp),
            });
        }
    }
    Ok(found)
}

/// An open opportunity past QUALIFICATION that the direct team owns (no partner claims it) at
/// an account with the same domain or a near-identical name.
///
/// Every read is driven by an index, so nothing of other customers is read whatever the size
/// of the program: the accounts with the domain (unique index) and those sharing a name key
/// with the proposed name (`account_name_keys`), of which the name rule ([`names_match`])
/// keeps the near-identical ones; then the first late-stage opportunity at those accounts
/// (opportunities' account index) that no claim holds (registrations' opportunity index).
async fn direct_overlap(txn: &DatabaseTransaction, reg: &Registration) -> AppResult<Option<i64>> {
    use entity::{account, account_name_key, opportunity};
    let name = reg.account_name.as_deref().unwrap_or("");
    let select = || {
        account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::Domain)
            .column(account::Column::Name)
    };
    let mut accounts: Vec<(i64, String, String)> = select()
        .filter(account::Column::Domain.eq(reg.account_domain.clone()))
        .into_tuple()
        .all(txn)
        .await?;
    let keys = crate::domain::registration::name_keys(name);
    if !keys.is_empty() {
        let by_name = Query::select()
            .column(account_name_key::Column::AccountId)
            .from(account_name_key::Entity)
            .and_where(Expr::col(account_name_key::Column::Key).is_in(keys))
            .to_owned();
        accounts.extend(
            select()
                .filter(account::Column::Id.in_subquery(by_name))
                .into_tuple::<(i64, String, String)>()
                .all(txn)
                .await?,
        );
    }
    let mut matched: Vec<i64> = accounts
        .into_iter()
        .filter(|(_, domain, account_name)| {
            same_customer(&reg.account_domain, name, domain, account_name)
        })
        .map(|(id, _, _)| id)
        .collect();
    matched.sort_unstable();
    matched.dedup();
    if matched.is_empty() {
        return Ok(None);
    }
    let claimed = Query::select()
        .expr(Expr::val(1))
        .from(registration::Entity)
        .and_where(
            Expr::col((registration::Entity, registration::Column::OpportunityId))
                .equals((opportunity::Entity, opportunity::Column::Id)),
        )
        .and_where(
            Expr::col((registration::Entity, registration::Column::Status)).is_in(HOLDS_DEAL),
        )
        .to_owned();
    let first: Option<i64> = opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::AccountId.is_in(matched))
        .filter(opportunity::Column::Stage.is_in(LATE_STAGES))
        .filter(Expr::exists(claimed).not())
        .order_by_asc(opportunity::Column::Id)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(first)
}

/// Stores the conflicts that hold `reg`, with their events. The events go to the vendor and
/// to `reg`'s partner; they never name the other partner.
pub async fn raise(
    txn: &DatabaseTransaction,
    reg: &Registration,
    found: Vec<Found>,
) -> AppResult<Vec<Model>> {
    let detector = Principal::system(lifecycle::DETECTOR);
    let mut out = Vec::new();
    for f in found {
        let c = ActiveModel {
            kind: Set(f.kind),
            registration_id: Set(reg.id),
            other_registration_id: Set(f.other_registration_id),
            opportunity_id: Set(f.opportunity_id),
            status: Set(ConflictStatus::Open),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        events::append(
            txn,
            &detector,
            NewEvent::new(
                events::Topic::ConflictRaised,
                scope::heard::<scope::Conflicts, _>(txn, &c).await?,
                ids::encode(Kind::Conflict, c.id),
                &payload::ConflictChanged {
                    conflict: ConflictSnapshot::of(&c),
                    reason: None,
                },
            ),
        )
        .await?;
        out.push(c);
    }
    Ok(out)
}

/// Registration ids held by an open conflict.
pub fn open_conflict_registrations() -> SelectStatement {
    Query::select()
        .column(Column::RegistrationId)
        .from(Entity)
        .and_where(Expr::col(Column::Status).eq(ConflictStatus::Open))
        .to_owned()
}

/// The open conflicts holding registration `registration_id`, read in the transaction (the data
/// layer's writes, which decide on them).
pub async fn open_for(txn: &DatabaseTransaction, registration_id: i64) -> AppResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::RegistrationId.eq(registration_id))
        .filter(Column::Status.eq(ConflictStatus::Open))
        .all(txn)
        .await?)
}

/// Closes every open conflict holding a registration that is leaving review.
pub(in crate::db) async fn close_all_for(
    txn: &DatabaseTransaction,
    actor: &Principal,
    registration_id: i64,
    resolution: Option<ConflictResolution>,
    reason: &str,
) -> AppResult<()> {
    for c in open_for(txn, registration_id).await? {
        close(txn, actor, &c, resolution, None, reason).await?;
    }
    Ok(())
}

/// Resolves open conflict `c` as `actor` with `resolution` (and `winner`), with its event;
/// refused when someone resolved it first.
pub(super) async fn close(
    txn: &DatabaseTransaction,
    actor: &Principal,
    c: &Model,
    resolution: Option<ConflictResolution>,
    winner: Option<i64>,
    reason: &str,
) -> AppResult<Model> {
    let res = Entity::update_many()
        .set(ActiveModel {
            status: Set(ConflictStatus::Resolved),
            resolution: Set(resolution),
            winner_registration_id: Set(winner),
            resolved_by: Set(Some(actor.subject.clone())),
            resolved_by_partner_id: Set(actor.partner_id()),
            resolution_reason: Set(Some(reason.to_string())),
            resolved_at: Set(Some(Utc::now())),
            ..Default::default()
        })
        .filter(Column::Id.eq(c.id))
        .filter(Column::Status.eq(ConflictStatus::Open))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the conflict is already resolved".into(),
        ));
    }
    let after = Entity::find_by_id(c.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Conflict"))?;
    events::append(
        txn,
        actor,
        NewEvent::new(
            events::Topic::ConflictResolved,
            scope::heard::<scope::Conflicts, _>(txn, &after).await?,
            ids::encode(Kind::Conflict, c.id),
            &payload::ConflictChanged {
                conflict: ConflictSnapshot::of(&after),
                reason: Some(reason.to_string()),
            },
        ),
    )
    .await?;
    Ok(after)
}

/// The conflicts `principal` may see: those on the registrations it may see.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Conflicts>(principal)
}

/// The conflicts `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// One conflict `principal` may see (any caller with `registrations:read`); an invisible id is
/// NOT_FOUND.
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Registrations)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Conflict"))
}

/// The visible conflicts among `ids`, by id (any caller; DataLoaders batch it).
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The visible conflicts of each registration among `ids`.
pub async fn load_by_registration(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<Model>>> {
    let rows = visible(principal)
        .filter(Column::RegistrationId.is_in(ids.to_vec()))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<Model>> = HashMap::new();
    for r in rows {
        out.entry(r.registration_id).or_default().push(r);
    }
    Ok(out)
}

/// A page of the conflicts `principal` may see, optionally in one status, with the query behind it
/// (any caller with `registrations:read`).
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    status: Option<ConflictStatus>,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Registrations)?;
    let mut q = visible(principal);
    if let Some(s) = status {
        q = q.filter(Column::Status.eq(s));
    }
    let ord = Ordering {
        name: "conflicts:CreatedAsc".into(),
        column: None,
        id: Column::Id,
        desc: false,
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, |_| SortKey::Id, |m| m.id).await?;
    Ok((page, q))
}
