//! The vendor's resolution of a conflict: the conflict is closed with its resolution, and the
//! claims it names are rejected or approved as the resolution's plan
//! (`domain::registration::conflicts::plan`) decides, on the deal
//! `domain::registration::approval::resolution_link` chooses.

use entity::conflict::{Entity, Model};
use entity::enums::{ConflictResolution, ConflictStatus};
use entity::registration::{self, Model as Registration};
use sea_orm::{DatabaseConnection, DatabaseTransaction, EntityTrait};

use super::conflicts::{close, open_for};
use super::decisions::{self, Approval};
use super::lifecycle;
use crate::auth::{can, Grant, Principal};
use crate::domain::registration::approval::{resolution_link, ResolutionDeals};
use crate::domain::registration::conflicts::{plan, ClaimState, Side, Step};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// A vendor's resolution of a conflict.
#[derive(Debug)]
pub struct ResolveConflict {
    /// The open conflict's global ID; it and the registration and opportunity IDs are decoded
    /// here.
    pub id: String,
    /// WINNER_CHOSEN (name the winner), CO_SELL_ALLOWED (approve the held registration
    /// alongside the others) or REJECTED (reject the held registration).
    pub resolution: ConflictResolution,
    /// With WINNER_CHOSEN: the held registration or the one it overlaps.
    pub winner_registration_id: Option<String>,
    /// For a held proposed deal that is approved: the opportunity it is (defaults to the one
    /// the conflict names).
    pub opportunity_id: Option<String>,
    /// Why, recorded on the conflict and in the registrations' history (1 to 2000 characters).
    pub reason: String,
    /// The held registration's version you read; when given, the resolution is refused with
    /// VERSION_MISMATCH if the registration changed since.
    pub expected_version: Option<i32>,
}

/// The open conflict a resolution closes and the claims it names, read under the deal lock.
struct Parties {
    conflict: Model,
    held: Registration,
    other: Option<Registration>,
}

impl Parties {
    /// The opportunities the resolution may approve a claim on.
    fn deals(&self, chosen: Option<i64>) -> ResolutionDeals {
        ResolutionDeals {
            chosen,
            held: self.held.opportunity_id,
            other: self.other.as_ref().and_then(|o| o.opportunity_id),
            conflict: self.conflict.opportunity_id,
        }
    }

    fn claim(&self, side: Side) -> AppResult<&Registration> {
        match side {
            Side::Held => Ok(&self.held),
            // The plan names the other claim only when there is one.
            Side::Other => self
                .other
                .as_ref()
                .ok_or(AppError::NotFound("Registration")),
        }
    }
}

/// Resolves a conflict (vendor deciders, through their grant): closes it and rejects or
/// approves its claims in one transaction; returns the resolved conflict.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn resolve(
    db: &DatabaseConnection,
    grant: &Grant<can::DecideRegistrations>,
    input: ResolveConflict,
) -> AppResult<Model> {
    let principal = grant.principal();
    let id = ids::decode_field(&input.id, Kind::Conflict, "id")?;
    let reason = text::required("reason", &input.reason, 2000)?;
    let chosen = match &input.opportunity_id {
        Some(o) => Some(ids::decode_field(o, Kind::Opportunity, "opportunityId")?),
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    let parties = read_parties(&txn, id, input.expected_version).await?;
    let winner = match &input.winner_registration_id {
        Some(w) => Some(ids::decode_field(
            w,
            Kind::Registration,
            "winnerRegistrationId",
        )?),
        None => None,
    };
    let decided = plan(
        input.resolution,
        winner,
        &state(&parties.held),
        parties.other.as_ref().map(state).as_ref(),
    )?;
    let resolved = close(
        &txn,
        principal,
        &parties.conflict,
        Some(input.resolution),
        decided.winner,
        &reason,
    )
    .await?;
    let deals = parties.deals(chosen);
    for step in decided.steps {
        carry_out(&txn, principal, &parties, step, deals, &reason).await?;
    }
    txn.commit().await?;
    Ok(resolved)
}

fn state(r: &Registration) -> ClaimState {
    ClaimState {
        id: r.id,
        partner_id: r.partner_id,
        status: r.status,
    }
}

/// Reads open conflict `id` and its claims, checks the held claim's version when one is
/// given, and takes the deal lock.
async fn read_parties(
    txn: &DatabaseTransaction,
    id: i64,
    expected_version: Option<i32>,
) -> AppResult<Parties> {
    let conflict = Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Conflict"))?;
    if conflict.status != ConflictStatus::Open {
        return Err(AppError::Conflict(
            "the conflict is already resolved".into(),
        ));
    }
    let held = registration::Entity::find_by_id(conflict.registration_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Registration"))?;
    if let Some(v) = expected_version {
        crate::db::check_version("Registration", v, held.version)?;
    }
    lifecycle::lock_deal(txn, &held.account_domain).await?;
    let other = match conflict.other_registration_id {
        Some(o) => registration::Entity::find_by_id(o).one(txn).await?,
        None => None,
    };
    Ok(Parties {
        conflict,
        held,
        other,
    })
}

/// Carries out one step of a resolution's plan.
async fn carry_out(
    txn: &DatabaseTransaction,
    actor: &Principal,
    parties: &Parties,
    step: Step,
    deals: ResolutionDeals,
    reason: &str,
) -> AppResult<()> {
    let (side, approve) = match step {
        Step::Reject(side) => (side, None),
        Step::Approve { side, co_sell } => (side, Some(co_sell)),
    };
    let claim = parties.claim(side)?;
    match approve {
        None => {
            decisions::reject_in(txn, actor, claim, reason.to_string()).await?;
        }
        // Another open conflict may still hold the claim: it stays in review until that one is
        // resolved too.
        Some(_) if !open_for(txn, claim.id).await?.is_empty() => {}
        Some(co_sell) => {
            let approval = Approval {
                link: resolution_link(side, deals),
                create: true,
                reason: Some(reason.to_string()),
                co_sell,
            };
            decisions::approve_in(txn, actor, claim, approval, false).await?;
        }
    }
    Ok(())
}
