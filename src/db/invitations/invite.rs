//! Making invitations: checks, the lead that becomes a deal, the shared snapshot, and the
//! idempotency key.

use super::*;

/// For the vendor (an `InvitePartners` grant): invites each partner of `input` to the deal in
/// one transaction, one event per invitation; returns the invitations, one per partner in the
/// order of their ids (on a retry with the same key, those the first request made).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn invite(
    db: &DatabaseConnection,
    grant: &Grant<can::InvitePartners>,
    input: InvitePartners,
) -> AppResult<Vec<Model>> {
    let principal = grant.principal();
    let message = text::optional("message", input.message.as_deref(), 4000)?;
    let key = text::optional("idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    let mut partners = input.partner_ids.clone();
    partners.sort_unstable();
    partners.dedup();
    if partners.is_empty() || partners.len() > MAX_INVITEES {
        return Err(AppError::bad_field(
            "partnerIds",
            format!("invite 1 to {MAX_INVITEES} partners at a time"),
        ));
    }
    let now = Utc::now();
    if input.expires_at <= now {
        return Err(AppError::bad_field(
            "expiresAt",
            "expiresAt must be in the future",
        ));
    }
    if input.expires_at > now + Duration::days(MAX_DAYS_OPEN) {
        return Err(AppError::bad_field(
            "expiresAt",
            format!("an invitation stays open at most {MAX_DAYS_OPEN} days"),
        ));
    }
    if input.share.contact_ids.len() > MAX_SHARED_CONTACTS {
        return Err(AppError::bad_field(
            "share",
            format!("share at most {MAX_SHARED_CONTACTS} contacts"),
        ));
    }
    let print = fingerprint(&input, &partners);
    if let Some(k) = &key {
        if let Some(first) = by_key(db, principal, k, &print).await? {
            return first;
        }
    }
    let key = key.map(|k| (k, print.clone()));
    let result = invite_once(db, principal, &input, &partners, message, key.clone()).await;
    match (result, &key) {
        // A concurrent retry with the same key committed first: answer with its result.
        (Err(e @ AppError::Conflict(_)), Some((k, _))) => {
            match by_key(db, principal, k, &print).await? {
                Some(first) => first,
                None => Err(e),
            }
        }
        (other, _) => other,
    }
}

/// Makes the invitations of one request in one transaction: the deal (found, or created from
/// the lead), the checks of the partners, the rows and their events.
async fn invite_once(
    db: &DatabaseConnection,
    principal: &Principal,
    input: &InvitePartners,
    partners: &[i64],
    message: Option<String>,
    key: Option<(String, String)>,
) -> AppResult<Vec<Model>> {
    let (key, print) = key.unzip();
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let opp = open_deal(&txn, principal, input).await?;
    check_partners(&txn, partners).await?;
    check_not_parties(&txn, opp.id, partners).await?;
    let shared = snapshot(&txn, &opp, &input.share).await?.to_stored();
    let mut made = Vec::with_capacity(partners.len());
    for &p in partners {
        let m = ActiveModel {
            opportunity_id: Set(opp.id),
            partner_id: Set(p),
            role: Set(input.role),
            status: Set(InvitationStatus::Open),
            message: Set(message.clone()),
            shared: Set(shared.clone()),
            expires_at: Set(input.expires_at),
            invited_by: Set(principal.subject.clone()),
            decline_reason: Set(None),
            registration_id: Set(None),
            closed_at: Set(None),
            idempotency_key: Set(key.clone()),
            idempotency_fingerprint: Set(print.clone()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            AppError::unique_or(
                e,
                format!(
                    "the partner {} already has an open invitation to this deal",
                    ids::encode(Kind::Partner, p)
                ),
            )
        })?;
        made.push(m);
    }
    events::append_all(
        &txn,
        principal,
        made.iter().map(|m| event(m, None)).collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(made)
}

/// The deal of a request: the existing opportunity it names, or the one its lead creates;
/// refused when it is closed.
async fn open_deal(
    txn: &DatabaseTransaction,
    principal: &Principal,
    input: &InvitePartners,
) -> AppResult<entity::opportunity::Model> {
    let opp = match (input.opportunity_id, &input.lead) {
        (Some(id), None) => entity::opportunity::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or_else(|| {
                AppError::bad_field("opportunityId", "opportunityId names no opportunity")
            })?,
        (None, Some(lead)) => create_lead(txn, principal, lead.clone()).await?,
        _ => {
            return Err(AppError::bad_input(
                "give either `opportunityId` (an existing deal) or `lead` (a new one)",
            ))
        }
    };
    if matches!(
        opp.stage,
        OpportunityStage::ClosedWon | OpportunityStage::ClosedLost
    ) {
        return Err(AppError::Conflict(
            "the opportunity is closed: partners can no longer join it".into(),
        ));
    }
    Ok(opp)
}

/// Refuses partners that do not exist or are suspended.
async fn check_partners(txn: &DatabaseTransaction, partners: &[i64]) -> AppResult<()> {
    let found = entity::partner::Entity::find()
        .filter(entity::partner::Column::Id.is_in(partners.iter().copied()))
        .all(txn)
        .await?;
    for p in partners {
        match found.iter().find(|f| f.id == *p) {
            None => {
                return Err(AppError::bad_field(
                    "partnerIds",
                    format!("{} names no partner", ids::encode(Kind::Partner, *p)),
                ))
            }
            Some(f) if f.status != entity::enums::PartnerStatus::Active => {
                return Err(AppError::bad_field(
                    "partnerIds",
                    format!("the partner {} is suspended", f.name),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Refuses partners already on the deal (an approved claim): they need no invitation.
async fn check_not_parties(
    txn: &DatabaseTransaction,
    opportunity: i64,
    partners: &[i64],
) -> AppResult<()> {
    let parties: Vec<i64> = entity::registration::Entity::find()
        .select_only()
        .column(entity::registration::Column::PartnerId)
        .filter(entity::registration::Column::OpportunityId.eq(opportunity))
        .filter(entity::registration::Column::PartnerId.is_in(partners.iter().copied()))
        .filter(entity::registration::Column::Status.is_in([
            entity::enums::RegistrationStatus::Approved,
            entity::enums::RegistrationStatus::Won,
        ]))
        .into_tuple()
        .all(txn)
        .await?;
    match parties.first() {
        Some(p) => Err(AppError::bad_field(
            "partnerIds",
            format!(
                "the partner {} is already a party to this deal",
                ids::encode(Kind::Partner, *p)
            ),
        )),
        None => Ok(()),
    }
}

/// What an invitation request asks for, without its key and its default expiry: FNV-1a over
/// the deal, the partners, the role, the message and what is shared.
fn fingerprint(input: &InvitePartners, partners: &[i64]) -> String {
    let mut contacts = input.share.contact_ids.clone();
    contacts.sort_unstable();
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        input.opportunity_id,
        input.lead,
        partners,
        input.role,
        input.message,
        input.share.fields,
        contacts
    );
    text::fingerprint(&text)
}

/// The invitations an earlier request of this inviter with `key` made, if any; refused when
/// that request asked for something else.
async fn by_key(
    db: &DatabaseConnection,
    principal: &Principal,
    key: &str,
    print: &str,
) -> AppResult<Option<AppResult<Vec<Model>>>> {
    let rows = Entity::find()
        .filter(Column::InvitedBy.eq(principal.subject.as_str()))
        .filter(Column::IdempotencyKey.eq(key))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    if rows
        .iter()
        .any(|m| m.idempotency_fingerprint.as_deref() != Some(print))
    {
        return Ok(Some(Err(AppError::IdempotencyKeyReused(format!(
            "the idempotency key `{}` was used for another invitation; send a new key for a new request",
            crate::error::clip(key)
        )))));
    }
    Ok(Some(Ok(rows)))
}

/// Creates the account (if its domain is new) and the opportunity of a lead.
async fn create_lead(
    txn: &DatabaseTransaction,
    principal: &Principal,
    lead: Lead,
) -> AppResult<entity::opportunity::Model> {
    let domain = normalise_domain(&lead.account_domain)?;
    let name = text::required("accountName", &lead.account_name, 200)?;
    let deal = text::required("dealName", &lead.deal_name, 200)?;
    let (amount, currency) = match (lead.amount, lead.currency.as_deref()) {
        (Some(a), Some(c)) => (money::amount("amount", a)?, money::currency(c)?),
        (None, None) => (0, "USD".to_string()),
        _ => {
            return Err(AppError::bad_field(
                "currency",
                "give amount and currency together",
            ))
        }
    };
    let account = match crate::db::accounts::find_by_domain_in(txn, &domain).await? {
        Some(a) => a,
        None => crate::db::accounts::insert_in(txn, principal, name, domain, None, None).await?,
    };
    let fields = crate::db::opportunities::NewOpportunity {
        account_id: account.id,
        name: deal,
        stage: OpportunityStage::Prospecting,
        amount_minor: amount,
        currency,
        expected_close_date: lead
            .expected_close_date
            .unwrap_or_else(|| (Utc::now() + Duration::days(90)).date_naive()),
        owner: principal.subject.clone(),
        region: account.region.clone(),
        products: vec![],
        forecast_notes: None,
        probability: None,
    };
    crate::db::opportunities::insert_in(txn, principal, fields).await
}

/// What the invited partners read: only the fields the vendor chose, as they are now, and the
/// contacts it shares.
async fn snapshot(
    txn: &DatabaseTransaction,
    opp: &entity::opportunity::Model,
    share: &Share,
) -> AppResult<Snapshot> {
    let account = entity::account::Entity::find_by_id(opp.account_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("Account"))?;
    let mut out = Snapshot::of(&account, opp, &share.fields);
    if !share.contact_ids.is_empty() {
        let contacts = entity::contact::Entity::find()
            .filter(entity::contact::Column::Id.is_in(share.contact_ids.iter().copied()))
            .filter(entity::contact::Column::AccountId.eq(account.id))
            // What the vendor may pass on (the contacts rule's `shareable`), and only people
            // still reachable there.
            .filter(crate::auth::scope::Contacts::shareable())
            .filter(entity::contact::Column::Status.eq(entity::enums::ContactStatus::Active))
            .order_by_asc(entity::contact::Column::Id)
            .all(txn)
            .await?;
        if contacts.len() != {
            let mut c = share.contact_ids.clone();
            c.sort_unstable();
            c.dedup();
            c.len()
        } {
            return Err(AppError::bad_field(
                "share",
                "share only active contacts at the deal's account that are the vendor's own or were shared by their partner",
            ));
        }
        out.contacts = contacts.iter().map(SharedContact::from).collect();
    }
    Ok(out)
}
