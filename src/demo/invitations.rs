//! Demo referrals: the vendor's invitations to partners, one open, one accepted, one declined.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{RegistrationRole, SharedField};
use entity::invitation;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::contacts::partner_principal;
use crate::auth::Principal;
use crate::db::invitations::{self, Answer, InvitePartners, Lead, Share};
use crate::error::AppResult;
use crate::ids::{self, Kind};

/// Vendor referrals: one invitation open for the first partner (its token is printed, so it
/// can accept it), one accepted and one declined. Loaded once.
pub(super) async fn load_invitations(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    if invitation::Entity::find().count(db).await? > 0 || partners.len() < 3 {
        return Ok(());
    }
    let now = Utc::now();
    let grant = vendor.grant()?;
    let initech = lead(
        "initech.example",
        "Initech",
        "Initech CRM rollout",
        45_000_000,
    );
    let open = invite(
        initech,
        partners[0].0,
        RegistrationRole::Services,
        "We need an implementation partner for a 400-seat rollout in Q3.",
        now,
    );
    invitations::invite(db, &grant, open).await?;
    let hooli = lead("hooli.example", "Hooli", "Hooli analytics", 120_000_000);
    let to_accept = invite(
        hooli,
        partners[2].0,
        RegistrationRole::SystemIntegrator,
        "Hooli asked for an integrator with data-platform experience.",
        now,
    );
    let accepted = invitations::invite(db, &grant, to_accept).await?;
    let vandelay = lead(
        "vandelay.example",
        "Vandelay Industries",
        "Vandelay import desk",
        8_000_000,
    );
    let to_decline = invite(
        vandelay,
        partners[1].0,
        RegistrationRole::Influencer,
        "Your team knows their CFO: would you help us in?",
        now,
    );
    let declined = invitations::invite(db, &grant, to_decline).await?;
    let text = "We delivered Hooli's last data platform; glad to join.";
    for inv in accepted {
        let grant = partner_principal(partners, 2).grant()?;
        invitations::accept(db, &grant, answer(&inv, text)).await?;
    }
    let text = "No capacity in that region this quarter.";
    for inv in declined {
        let grant = partner_principal(partners, 1).grant()?;
        invitations::decline(db, &grant, answer(&inv, text)).await?;
    }
    Ok(())
}

/// A new deal in USD, with no close date yet.
fn lead(domain: &str, account: &str, deal: &str, amount: i64) -> Lead {
    Lead {
        account_domain: domain.into(),
        account_name: account.into(),
        deal_name: deal.into(),
        amount: Some(amount),
        currency: Some("USD".into()),
        expected_close_date: None,
    }
}

/// Invites `partner` to `lead` as `role`, sharing the customer, deal, amount and stage, open
/// for 14 days from `now`.
fn invite(
    lead: Lead,
    partner: i64,
    role: RegistrationRole,
    message: &str,
    now: DateTime<Utc>,
) -> InvitePartners {
    let share = Share {
        fields: vec![
            SharedField::CustomerName,
            SharedField::DealName,
            SharedField::Amount,
            SharedField::Stage,
        ],
        contact_ids: vec![],
    };
    InvitePartners {
        opportunity_id: None,
        lead: Some(lead),
        partner_ids: vec![partner],
        role,
        message: Some(message.into()),
        share,
        expires_at: now + Duration::days(14),
        idempotency_key: None,
    }
}

/// The invited partner's answer to `inv`, with its reason.
fn answer(inv: &invitation::Model, text: &str) -> Answer {
    Answer {
        id: ids::encode(Kind::Invitation, inv.id),
        expected_version: inv.version,
        text: Some(text.into()),
    }
}
