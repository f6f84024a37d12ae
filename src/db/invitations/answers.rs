//! Answers to invitations: the partner's acceptance or refusal, the vendor's withdrawal, and
//! the expiry sweep.

use super::*;

/// Reads an invitation for a change by `principal`: a partner's own, or any for the vendor.
/// One it may not see is NOT_FOUND, as one that does not exist.
async fn load_for_write(
    txn: &DatabaseTransaction,
    principal: &Principal,
    id: &str,
) -> AppResult<Model> {
    let id = ids::decode_field(id, Kind::Invitation, "id")?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Invitation"))
}

/// Refuses a change to an invitation that is no longer OPEN (or whose time ran out).
fn still_open(m: &Model, now: DateTime<Utc>) -> AppResult<()> {
    if m.status != InvitationStatus::Open {
        return Err(AppError::Conflict(format!(
            "the invitation is {}; only an OPEN invitation can be answered or withdrawn",
            m.status.as_str()
        )));
    }
    if m.expires_at <= now {
        return Err(AppError::Conflict(
            "the invitation expired: ask the vendor for a new one".into(),
        ));
    }
    Ok(())
}

/// Moves `m` out of OPEN under its version: the row is held until the transaction ends.
async fn close(
    txn: &DatabaseTransaction,
    m: &Model,
    expected: i32,
    status: InvitationStatus,
    apply: impl FnOnce(&mut ActiveModel),
) -> AppResult<Model> {
    let now = Utc::now();
    let mut c = ActiveModel {
        status: Set(status),
        closed_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut c);
    crate::db::update_versioned(
        txn,
        "Invitation",
        c,
        Column::Id,
        Column::Version,
        m.id,
        expected,
    )
    .await
}

/// An answer to an invitation.
#[derive(Debug)]
pub struct Answer {
    /// The invitation's global ID, decoded here.
    pub id: String,
    pub expected_version: i32,
    /// Accepting: the registration's justification (default: the invitation's). Declining:
    /// the reason, required. Withdrawing: the reason, optional.
    pub text: Option<String>,
}

/// For the invited partner (a `ClaimDeals` grant): accepts, in one transaction; returns the
/// invitation ACCEPTED and its registration in the proposed role, made through the lifecycle.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn accept(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: Answer,
) -> AppResult<(Model, entity::registration::Model)> {
    let principal = grant.principal();
    let partner_id = grant.partner_id();
    let note = text::optional("justification", input.text.as_deref(), 4000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    // The deal's row, shared, before the invitation's: a close of the deal waits for this
    // acceptance (and then closes its claim with the others), or this one sees it closed.
    let opp = entity::opportunity::Entity::find_by_id(inv.opportunity_id);
    let opp = if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        opp.lock_shared()
    } else {
        opp
    };
    let opp = opp
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    if matches!(
        opp.stage,
        OpportunityStage::ClosedWon | OpportunityStage::ClosedLost
    ) {
        return Err(AppError::Conflict(
            "the deal closed since the invitation was made: it can no longer be joined".into(),
        ));
    }
    // Then the invitation's row: a withdrawal or the expiry racing this one waits, then finds
    // the version moved on.
    let accepted = close(&txn, &inv, inv.version, InvitationStatus::Accepted, |_| {}).await?;
    let justification = note.unwrap_or_else(|| {
        format!(
            "Accepted the vendor's invitation{}",
            inv.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )
    });
    let justification: String = justification.chars().take(4000).collect();
    let reg = crate::db::registrations::submission::accept_invitation_in(
        &txn,
        principal,
        partner_id,
        &inv,
        opp,
        justification,
    )
    .await?;
    let c = ActiveModel {
        registration_id: Set(Some(reg.id)),
        ..Default::default()
    };
    let accepted = crate::db::update_versioned(
        &txn,
        "Invitation",
        c,
        Column::Id,
        Column::Version,
        accepted.id,
        accepted.version,
    )
    .await?;
    events::append(&txn, principal, event(&accepted, None)).await?;
    txn.commit().await?;
    Ok((accepted, reg))
}

/// For the invited partner (a `ClaimDeals` grant): declines, with its reason; returns the
/// invitation DECLINED.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn decline(
    db: &DatabaseConnection,
    grant: &Grant<can::ClaimDeals>,
    input: Answer,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::required("reason", input.text.as_deref().unwrap_or(""), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    let r = reason.clone();
    let declined = close(&txn, &inv, inv.version, InvitationStatus::Declined, |c| {
        c.decline_reason = Set(Some(r))
    })
    .await?;
    events::append(&txn, principal, event(&declined, Some(reason))).await?;
    txn.commit().await?;
    Ok(declined)
}

/// For the vendor (an `InvitePartners` grant): takes back an open invitation; returns it
/// WITHDRAWN.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn withdraw(
    db: &DatabaseConnection,
    grant: &Grant<can::InvitePartners>,
    input: Answer,
) -> AppResult<Model> {
    let principal = grant.principal();
    let reason = text::optional("reason", input.text.as_deref(), 2000)?;
    let txn = crate::db::begin_write(db).await?;
    let inv = load_for_write(&txn, principal, &input.id).await?;
    crate::db::check_version("Invitation", input.expected_version, inv.version)?;
    still_open(&inv, Utc::now())?;
    let withdrawn = close(&txn, &inv, inv.version, InvitationStatus::Withdrawn, |_| {}).await?;
    events::append(&txn, principal, event(&withdrawn, reason)).await?;
    txn.commit().await?;
    Ok(withdrawn)
}

/// For the writer that closes deal `opportunity`, in its transaction: withdraws the deal's OPEN
/// invitations and returns how many. A partner cannot join a closed deal, so it hears now
/// rather than at the expiry. The caller has updated the deal's row, so this follows the lock
/// order (deal, then its invitations); one answered meanwhile (a decline) keeps its answer.
pub async fn withdraw_for_closed_deal(
    txn: &DatabaseTransaction,
    principal: &Principal,
    opportunity: i64,
    stage: OpportunityStage,
) -> AppResult<usize> {
    let open = Entity::find()
        .filter(Column::OpportunityId.eq(opportunity))
        .filter(Column::Status.eq(InvitationStatus::Open))
        .order_by_asc(Column::Id)
        .all(txn)
        .await?;
    let mut withdrawn = 0;
    for inv in open {
        match close(txn, &inv, inv.version, InvitationStatus::Withdrawn, |_| {}).await {
            Ok(m) => {
                let reason = format!("the deal closed ({})", stage.as_str());
                events::append(txn, principal, event(&m, Some(reason))).await?;
                withdrawn += 1;
            }
            Err(AppError::VersionMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(withdrawn)
}

/// For the background expiry job: expires the OPEN invitations whose time ran out, each in its
/// own transaction under its version, so instances sweeping together expire each once. Returns
/// how many it expired.
pub async fn expire_due(db: &DatabaseConnection) -> AppResult<usize> {
    let now = Utc::now();
    let due: Vec<(i64, i32)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Version)
        .filter(Column::Status.eq(InvitationStatus::Open))
        .filter(Column::ExpiresAt.lte(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    let system = Principal::system(EXPIRY);
    let mut expired = 0;
    for (id, version) in due {
        let txn = crate::db::begin_write(db).await?;
        let Some(inv) = Entity::find_by_id(id).one(&txn).await? else {
            continue;
        };
        if inv.status != InvitationStatus::Open || inv.expires_at > now {
            continue;
        }
        match close(&txn, &inv, version, InvitationStatus::Expired, |_| {}).await {
            Ok(m) => {
                events::append(&txn, &system, event(&m, None)).await?;
                txn.commit().await?;
                expired += 1;
            }
            // Answered, withdrawn or expired by another instance meanwhile.
            Err(AppError::VersionMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}
