//! Writes to one deal's split: the model (and MANUAL shares) of an open deal, the freeze when
//! it closes won, and an ADMIN's audited correction afterwards.

use std::collections::HashSet;

use chrono::Utc;
use entity::attribution::{choice, row, version};
use entity::enums::{AttributionModel, OpportunityStage, RegistrationStatus};
use entity::{opportunity, registration};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set,
};

use super::{compute, inputs};
use crate::auth::scope;
use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::events::payload;
use crate::db::events::{self, NewEvent};
use crate::domain::attribution::check_shares;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

async fn freeze(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opp: &opportunity::Model,
    number: i32,
    reason: Option<String>,
) -> AppResult<version::Model> {
    let inp = inputs(txn, &[opp.id]).await?;
    let (model, lines) = compute(&inp, opp)?;
    let now = Utc::now();
    let v = version::ActiveModel {
        opportunity_id: Set(opp.id),
        number: Set(number),
        model: Set(model),
        amount_minor: Set(opp.amount_minor),
        currency: Set(opp.currency.clone()),
        current: Set(true),
        finalized_at: Set(now),
        finalized_by: Set(actor.subject.clone()),
        reason: Set(reason.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for l in &lines {
        row::ActiveModel {
            version_id: Set(v.id),
            opportunity_id: Set(opp.id),
            partner_id: Set(l.partner_id),
            role: Set(l.role),
            share_bps: Set(l.share_bps as i32),
            amount_minor: Set(l.amount_minor),
            currency: Set(l.currency.clone()),
            incentive_rate_bps: Set(l.incentive_rate_bps as i32),
            incentive_minor: Set(l.incentive_minor),
            finalized_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let audience = scope::heard::<scope::Opportunities, _>(txn, opp).await?;
    events::append(
        txn,
        actor,
        // Neither shares nor the correction's reason (which speaks of other parties' shares)
        // are in the event: it goes to every partner on the deal, who read their own line
        // from the API; the vendor reads the reason from the version history.
        NewEvent::new(
            if number == 1 {
                events::Topic::AttributionFinalized
            } else {
                events::Topic::AttributionCorrected
            },
            audience,
            ids::encode(Kind::Opportunity, opp.id),
            &payload::AttributionFrozen {
                version: number,
                model,
            },
        ),
    )
    .await?;
    Ok(v)
}

/// Freezes the split when a deal closes won (in the stage change's transaction). A deal won
/// again after a reopen keeps its first frozen version; corrections change it.
pub(in crate::db) async fn finalize_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opp: &opportunity::Model,
) -> AppResult<()> {
    let existing = version::Entity::find()
        .filter(version::Column::OpportunityId.eq(opp.id))
        .one(txn)
        .await?;
    if existing.is_none() {
        freeze(txn, actor, opp, 1, None).await?;
    }
    Ok(())
}

/// A share set by the vendor for the MANUAL model.
#[derive(Debug, Clone)]
pub struct ManualShare {
    /// The partner's global ID, decoded here; none for the vendor's direct team.
    pub partner_id: Option<String>,
    /// Its share in basis points (0 to 10000); all shares sum to exactly 10000.
    pub bps: i32,
}

/// The model (and for MANUAL the shares) of one open deal.
#[derive(Debug)]
pub struct SetAttributionModel {
    /// The opportunity (open; a won deal changes only through [`correct`]): its global ID,
    /// decoded here.
    pub opportunity_id: String,
    /// The version of the deal's attribution choice you read (0 when none was set).
    pub expected_version: i32,
    /// The model; null returns to the program default.
    pub model: Option<AttributionModel>,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShare>>,
}

async fn check_manual(
    txn: &DatabaseTransaction,
    opp_id: i64,
    shares: &[ManualShare],
) -> AppResult<serde_json::Value> {
    let on_deal: HashSet<i64> = registration::Entity::find()
        .filter(registration::Column::OpportunityId.eq(opp_id))
        .filter(
            registration::Column::Status
                .is_in([RegistrationStatus::Approved, RegistrationStatus::Won]),
        )
        .all(txn)
        .await?
        .into_iter()
        .map(|r| r.partner_id)
        .collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for s in shares {
        if !(0..=10_000).contains(&s.bps) {
            return Err(AppError::bad_field(
                "manualShares",
                "each share must be 0 to 10000 basis points",
            ));
        }
        let pid = match &s.partner_id {
            Some(p) => {
                let id = ids::decode_as(p, Kind::Partner).map_err(|_| {
                    AppError::bad_field("manualShares", "a share names an unknown party")
                })?;
                if !on_deal.contains(&id) {
                    return Err(AppError::bad_field(
                        "manualShares",
                        "a share names a partner that is not on the deal",
                    ));
                }
                Some(id)
            }
            None => None,
        };
        if !seen.insert(pid) {
            return Err(AppError::bad_field("manualShares", "a party appears twice"));
        }
        out.push(crate::domain::attribution::ManualShare {
            partner_id: pid,
            bps: s.bps as u32,
        });
    }
    check_shares(&out.iter().map(|s| s.bps).collect::<Vec<_>>())
        .map_err(|e| AppError::bad_field("manualShares", e.message()))?;
    Ok(serde_json::to_value(out).unwrap_or_default())
}

/// Chooses a deal's attribution model and manual shares (vendor deciders, through the
/// `ChooseAttribution` grant); returns the stored choice.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_model(
    db: &DatabaseConnection,
    _grant: &Grant<can::ChooseAttribution>,
    input: SetAttributionModel,
) -> AppResult<choice::Model> {
    let opp_id = ids::decode_field(&input.opportunity_id, Kind::Opportunity, "opportunityId")?;
    let txn = crate::db::begin_write(db).await?;
    let opp = opportunity::Entity::find_by_id(opp_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    if opp.stage == OpportunityStage::ClosedWon {
        return Err(AppError::Conflict(
            "the deal is won and its split frozen: an ADMIN changes it with correctAttribution"
                .into(),
        ));
    }
    let manual = match (input.model, &input.manual_shares) {
        (Some(AttributionModel::Manual), Some(s)) => Some(check_manual(&txn, opp_id, s).await?),
        (Some(AttributionModel::Manual), None) => {
            return Err(AppError::bad_field(
                "manualShares",
                "MANUAL needs manualShares",
            ))
        }
        (_, Some(_)) => {
            return Err(AppError::bad_field(
                "manualShares",
                "manualShares go with the MANUAL model",
            ))
        }
        _ => None,
    };
    let existing = choice::Entity::find_by_id(opp_id).one(&txn).await?;
    let current = existing.as_ref().map(|c| c.version).unwrap_or(0);
    crate::db::check_version("AttributionChoice", input.expected_version, current)?;
    let m = choice::ActiveModel {
        opportunity_id: Set(opp_id),
        model: Set(input.model),
        manual_shares: Set(manual),
        version: Set(current + 1),
        updated_at: Set(Utc::now()),
    };
    let saved = match existing {
        Some(_) => {
            let res = choice::Entity::update_many()
                .set(m)
                .filter(choice::Column::OpportunityId.eq(opp_id))
                .filter(choice::Column::Version.eq(current))
                .exec(&txn)
                .await?;
            if res.rows_affected != 1 {
                return Err(AppError::VersionMismatch {
                    kind: "AttributionChoice",
                    expected: current,
                    current: current + 1,
                });
            }
            choice::Entity::find_by_id(opp_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("Opportunity"))?
        }
        None => m.insert(&txn).await.map_err(|e| {
            AppError::unique_or(e, "the attribution choice changed meanwhile: re-read it")
        })?,
    };
    txn.commit().await?;
    Ok(saved)
}

/// An ADMIN's audited correction of a won deal's frozen split.
#[derive(Debug)]
pub struct CorrectAttribution {
    /// The won opportunity's global ID, decoded here.
    pub opportunity_id: String,
    /// The frozen version number you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// The model of the corrected split.
    pub model: AttributionModel,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShare>>,
    /// Why (required, kept with the new version).
    pub reason: String,
}

/// Corrects a won deal's frozen split (vendor ADMINs, through the `CorrectFinalAttribution` grant);
/// returns the new version's number.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn correct(
    db: &DatabaseConnection,
    grant: &Grant<can::CorrectFinalAttribution>,
    input: CorrectAttribution,
) -> AppResult<i32> {
    let principal = grant.principal();
    let reason = crate::domain::text::required("reason", &input.reason, 2000)?;
    let opp_id = ids::decode_field(&input.opportunity_id, Kind::Opportunity, "opportunityId")?;
    let txn = crate::db::begin_write(db).await?;
    let opp = opportunity::Entity::find_by_id(opp_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    let current = version::Entity::find()
        .filter(version::Column::OpportunityId.eq(opp_id))
        .filter(version::Column::Current.eq(true))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "the split is not finalized yet: set the model with setAttributionModel".into(),
            )
        })?;
    crate::db::check_version("Attribution", input.expected_version, current.number)?;
    let manual = match (&input.model, &input.manual_shares) {
        (AttributionModel::Manual, Some(s)) => Some(check_manual(&txn, opp_id, s).await?),
        (AttributionModel::Manual, None) => {
            return Err(AppError::bad_field(
                "manualShares",
                "MANUAL needs manualShares",
            ))
        }
        _ => None,
    };
    let res = version::Entity::update_many()
        .set(version::ActiveModel {
            current: Set(false),
            ..Default::default()
        })
        .filter(version::Column::Id.eq(current.id))
        .filter(version::Column::Current.eq(true))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::VersionMismatch {
            kind: "Attribution",
            expected: input.expected_version,
            current: current.number + 1,
        });
    }
    // The correction's inputs: the chosen model (and shares) become the deal's choice.
    let existing = choice::Entity::find_by_id(opp_id).one(&txn).await?;
    let c = choice::ActiveModel {
        opportunity_id: Set(opp_id),
        model: Set(Some(input.model)),
        manual_shares: Set(manual),
        version: Set(existing.as_ref().map(|c| c.version).unwrap_or(0) + 1),
        updated_at: Set(Utc::now()),
    };
    match existing {
        Some(_) => {
            c.update(&txn).await?;
        }
        None => {
            c.insert(&txn).await?;
        }
    }
    let v = freeze(&txn, principal, &opp, current.number + 1, Some(reason)).await?;
    txn.commit().await?;
    Ok(v.number)
}
