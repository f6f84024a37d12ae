//! Program-wide attribution configuration: the settings (default model, direct team) and the
//! incentive rates by tier and role.

use chrono::Utc;
use entity::attribution::{rate, settings};
use entity::enums::{AttributionModel, PartnerTier, RegistrationRole};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set,
};

use crate::auth::{can, Grant};
use crate::auth::{Principal, Resource};
use crate::error::{AppError, AppResult};

/// The attribution settings as `principal` may read them: every person; an app with
/// `registrations:read`, as for the attribution of the registrations they apply to.
pub async fn settings(
    db: &DatabaseConnection,
    principal: &Principal,
) -> AppResult<settings::Model> {
    principal.require_read(Resource::Registrations)?;
    settings_of(db).await
}

/// The program's attribution settings, read on `conn` (the data layer's own computations; callers
/// read them through the scoped `settings`).
pub async fn settings_of<C: ConnectionTrait>(conn: &C) -> AppResult<settings::Model> {
    settings::Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal("attribution settings missing".into()))
}

/// Sets the incentive rate of a tier and role (vendor ADMIN or CHANNEL_MANAGER).
#[derive(Debug)]
pub struct SetIncentiveRate {
    /// The partner tier.
    pub tier: PartnerTier,
    /// The role on the deal.
    pub role: RegistrationRole,
    /// The rate in basis points of the attributed amount (0 to 10000).
    pub rate_bps: i32,
}

/// Sets the incentive rate of a tier and role (vendor deciders, through the `SetProgramTerms`
/// grant); returns the stored rate.
pub async fn set_rate(
    db: &DatabaseConnection,
    _grant: &Grant<can::SetProgramTerms>,
    input: SetIncentiveRate,
) -> AppResult<rate::Model> {
    if !(0..=10_000).contains(&input.rate_bps) {
        return Err(AppError::bad_field("rateBps", "rateBps must be 0 to 10000"));
    }
    let txn = crate::db::begin_write(db).await?;
    let existing = rate::Entity::find_by_id((input.tier, input.role))
        .one(&txn)
        .await?;
    let m = rate::ActiveModel {
        tier: Set(input.tier),
        role: Set(input.role),
        rate_bps: Set(input.rate_bps),
        version: Set(existing.as_ref().map(|r| r.version + 1).unwrap_or(1)),
        updated_at: Set(Utc::now()),
    };
    let saved = if existing.is_some() {
        m.update(&txn).await?
    } else {
        m.insert(&txn).await?
    };
    txn.commit().await?;
    Ok(saved)
}

/// Every incentive rate, by tier then role (any caller with `registrations:read`: the program's
/// published terms).
pub async fn rates(db: &DatabaseConnection, principal: &Principal) -> AppResult<Vec<rate::Model>> {
    principal.require_read(Resource::Registrations)?;
    Ok(rate::Entity::find()
        .order_by_asc(rate::Column::Tier)
        .order_by_asc(rate::Column::Role)
        .all(db)
        .await?)
}

/// Program-wide attribution settings (vendor ADMIN).
#[derive(Debug)]
pub struct UpdateAttributionSettings {
    /// The version you read.
    pub expected_version: i32,
    /// The model of deals that set none.
    pub default_model: Option<AttributionModel>,
    /// Whether the vendor's direct team takes a share in ROLE_WEIGHTED, EQUAL and CONTRIBUTION.
    pub include_direct_team: Option<bool>,
    /// The direct team's weight in ROLE_WEIGHTED, in basis points (0 to 10000).
    pub direct_team_weight_bps: Option<i32>,
}

/// Changes the attribution settings (vendor ADMINs, through the `SetAttributionSettings` grant);
/// returns them as they now stand.
pub async fn update_settings(
    db: &DatabaseConnection,
    _grant: &Grant<can::SetAttributionSettings>,
    input: UpdateAttributionSettings,
) -> AppResult<settings::Model> {
    let mut c = <settings::ActiveModel as Default>::default();
    if let Some(m) = input.default_model {
        c.default_model = Set(m);
    }
    if let Some(d) = input.include_direct_team {
        c.include_direct_team = Set(d);
    }
    if let Some(w) = input.direct_team_weight_bps {
        if !(0..=10_000).contains(&w) {
            return Err(AppError::bad_field(
                "directTeamWeightBps",
                "directTeamWeightBps must be 0 to 10000",
            ));
        }
        c.direct_team_weight_bps = Set(w);
    }
    let txn = crate::db::begin_write(db).await?;
    let before = settings_of(&txn).await?;
    crate::db::check_version(
        "AttributionSettings",
        input.expected_version,
        before.version,
    )?;
    c.updated_at = Set(Utc::now());
    crate::db::update_versioned(
        &txn,
        "AttributionSettings",
        c,
        settings::Column::Id,
        settings::Column::Version,
        1,
        before.version,
    )
    .await?;
    let after = settings_of(&txn).await?;
    txn.commit().await?;
    Ok(after)
}
