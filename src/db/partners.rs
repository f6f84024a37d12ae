//! Partner organisations: scoped reads, vendor writes.

use std::collections::HashMap;

use chrono::Utc;
use entity::enums::{PartnerStatus, PartnerTier};
use entity::partner::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Select,
    Set,
};
use serde_json::json;

use super::events::{self, NewEvent, Topic};
use super::page::{self, Ordering, Page, PageArgs, PageLimits, SortKey};
use crate::auth::{can, Grant};
use crate::auth::{Principal, Resource};
use crate::db::events::payload::{self, PartnerSnapshot};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// The partners `principal` may see: all for the vendor, itself for a partner.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Partners>(principal)
}

/// The partners `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// Looks up one partner; unknown and invisible ids are the same NOT_FOUND.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(db: &DatabaseConnection, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Partners)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Partner"))
}

/// Batch lookup for DataLoaders: the visible subset of `ids`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let q = visible(principal).filter(Column::Id.is_in(ids.to_vec()));
    let rows: Vec<Model> = super::rows::all(db, &q).await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Filters for the partner list.
#[derive(Default, Debug)]
pub struct PartnerFilter {
    /// Only partners in one of these tiers.
    pub tier_in: Option<Vec<PartnerTier>>,
    /// Only partners with this status.
    pub status: Option<PartnerStatus>,
    /// Case-insensitive substring of the partner's name (at most 200 characters).
    pub name_contains: Option<String>,
}

/// Orders of the partner list. The variant names are part of the cursors.
#[derive(Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum PartnerOrder {
    /// Alphabetical by name.
    #[default]
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
}

/// One page of the partners `principal` may see, and the filtered query for `totalCount`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: PartnerFilter,
    order: PartnerOrder,
    args: &PageArgs,
    limits: PageLimits,
) -> AppResult<(Page<Model>, Select<Entity>)> {
    principal.require_read(Resource::Partners)?;
    let mut q = visible(principal);
    if let Some(tiers) = filter.tier_in {
        q = q.filter(Column::Tier.is_in(tiers));
    }
    if let Some(s) = filter.status {
        q = q.filter(Column::Status.eq(s));
    }
    if let Some(n) = filter.name_contains.as_deref() {
        q = q.filter(super::contains_ci(Column::Name, "nameContains", n)?);
    }
    let (column, desc) = match order {
        PartnerOrder::NameAsc => (Some(Column::Name), false),
        PartnerOrder::NameDesc => (Some(Column::Name), true),
        PartnerOrder::CreatedAsc => (None, false),
        PartnerOrder::CreatedDesc => (None, true),
    };
    let ord = Ordering {
        name: format!("partners:{order:?}"),
        column,
        id: Column::Id,
        desc,
    };
    let key = move |m: &Model| {
        if column.is_some() {
            SortKey::Text(m.name.clone())
        } else {
            SortKey::Id
        }
    };
    let page = page::fetch(db, q.clone(), &ord, args, limits, key, |m| m.id).await?;
    Ok((page, q))
}

/// A new partner organisation.
#[derive(Debug)]
pub struct CreatePartner {
    /// Display name, unique in the program (1 to 200 characters).
    pub name: String,
    /// Program tier; REGISTERED when omitted.
    pub tier: Option<PartnerTier>,
    /// What the partner is good at, e.g. "CRM migration" (at most 20 labels of 100 characters).
    pub specialisations: Vec<String>,
}

/// Changes to a partner. Omitted fields keep their value.
#[derive(Debug)]
pub struct UpdatePartner {
    /// The partner's global ID, decoded here.
    pub id: String,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<String>,
    /// New program tier.
    pub tier: Option<PartnerTier>,
    /// ACTIVE, or SUSPENDED to refuse the partner's tokens from now on.
    pub status: Option<PartnerStatus>,
    /// Replaces the specialisation labels.
    pub specialisations: Option<Vec<String>>,
}

const DUPLICATE: &str = "a partner with this name already exists";

/// Creates a partner (vendor deciders, through the `EditPartners` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    grant: &Grant<can::EditPartners>,
    input: CreatePartner,
) -> AppResult<Model> {
    let principal = grant.principal();
    let name = text::required("name", &input.name, 200)?;
    let specialisations = text::labels("specialisations", &input.specialisations, 20, 100)?;
    let txn = super::begin_write(db).await?;
    let now = Utc::now();
    let model = ActiveModel {
        name: Set(name),
        tier: Set(input.tier.unwrap_or(PartnerTier::Registered)),
        status: Set(PartnerStatus::Active),
        specialisations: Set(json!(specialisations)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::unique_or(e, DUPLICATE))?;
    let ev = NewEvent::new(
        Topic::PartnerCreated,
        crate::auth::scope::heard::<crate::auth::scope::Partners, _>(&txn, &model).await?,
        ids::encode(Kind::Partner, model.id),
        &payload::PartnerChanged {
            before: None,
            partner: PartnerSnapshot::of(&model),
        },
    );
    events::append(&txn, principal, ev).await?;
    txn.commit().await?;
    Ok(model)
}

/// Changes a partner (vendor deciders, through the `EditPartners` grant); returns it as it now
/// stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::EditPartners>,
    input: UpdatePartner,
) -> AppResult<Model> {
    let principal = grant.principal();
    let id = ids::decode_field(&input.id, Kind::Partner, "id")?;
    let mut changes = <ActiveModel as Default>::default();
    if let Some(n) = &input.name {
        changes.name = Set(text::required("name", n, 200)?);
    }
    if let Some(t) = input.tier {
        changes.tier = Set(t);
    }
    if let Some(s) = input.status {
        changes.status = Set(s);
    }
    if let Some(s) = &input.specialisations {
        changes.specialisations = Set(json!(text::labels("specialisations", s, 20, 100)?));
    }
    let txn = super::begin_write(db).await?;
    let before = Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Partner"))?;
    super::check_version("Partner", input.expected_version, before.version)?;
    changes.updated_at = Set(Utc::now());
    let after = super::update_versioned(
        &txn,
        "Partner",
        changes,
        Column::Id,
        Column::Version,
        id,
        before.version,
    )
    .await
    .map_err(|e| match e {
        AppError::Db(e) => AppError::unique_or(e, DUPLICATE),
        other => other,
    })?;
    let ev = NewEvent::new(
        Topic::PartnerUpdated,
        crate::auth::scope::heard::<crate::auth::scope::Partners, _>(&txn, &after).await?,
        ids::encode(Kind::Partner, id),
        &payload::PartnerChanged {
            before: Some(PartnerSnapshot::of(&before)),
            partner: PartnerSnapshot::of(&after),
        },
    );
    events::append(&txn, principal, ev).await?;
    txn.commit().await?;
    Ok(after)
}

/// Whether a partner exists and is ACTIVE (checked for every partner token).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn is_active(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    let row = Entity::find_by_id(id).one(db).await?;
    Ok(matches!(row, Some(p) if p.status == PartnerStatus::Active))
}

/// Finds a partner by its exact name (demo loading).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn find_by_name(db: &DatabaseConnection, name: &str) -> AppResult<Option<Model>> {
    Ok(Entity::find().filter(Column::Name.eq(name)).one(db).await?)
}
