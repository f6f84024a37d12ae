//! Demo registrations: a deal two partners share, a live conflict, and claims waiting in the
//! review queue, sent back for more information, or still being written.

use entity::enums::RegistrationRole;
use entity::registration;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::contacts::partner_principal;
use crate::auth::Principal;
use crate::db::registrations::{self, RegistrationDraft, SubmitRegistration};
use crate::db::{accounts, opportunities};
use crate::error::AppResult;
use crate::ids::{self, Kind};

/// Multi-partner deals in several states, with a live conflict to resolve. Loaded once.
pub(super) async fn load_registrations(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<usize> {
    let existing = registration::Entity::find().count(db).await?;
    if existing > 0 {
        return Ok(existing as usize);
    }
    load_shared_deal(db, vendor, partners).await?;
    load_open_claims(db, vendor, partners).await?;
    Ok(registration::Entity::find().count(db).await? as usize)
}

/// A multi-partner deal: Contoso integrates and Fabrikam builds the dashboards, both approved
/// onto Globex's store analytics deal.
async fn load_shared_deal(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    let store_opp = match accounts::find_by_domain(db, "globex.com").await? {
        Some(a) => opportunities::find_by_name(db, a.id, "Store analytics platform").await?,
        None => None,
    };
    for (i, role, why) in [
        (
            1,
            RegistrationRole::SystemIntegrator,
            "We run Globex's data platform and scoped the integration with their CIO.",
        ),
        (
            2,
            RegistrationRole::Services,
            "We built Globex's current store dashboards and will migrate them.",
        ),
    ] {
        let claim = draft(
            "globex.com",
            "Globex Retail",
            "Store analytics",
            role,
            18_500_000,
            why,
        );
        let reg = submit(db, partners, i, claim).await?;
        let input = registrations::ApproveRegistration {
            id: ids::encode(Kind::Registration, reg.id),
            expected_version: reg.version,
            opportunity_id: store_opp
                .as_ref()
                .map(|o| ids::encode(Kind::Opportunity, o.id)),
            create_opportunity: true,
            reason: Some("Known partners on this account".into()),
        };
        registrations::approve(db, &vendor.grant()?, input).await?;
    }
    Ok(())
}

/// Claims not yet decided: a live conflict, one in the review queue, one sent back for more
/// information and a draft.
async fn load_open_claims(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    // A live conflict: Northwind claims Acme's CRM roll-out, which the direct team is already
    // working past QUALIFICATION (DIRECT_DEAL_OVERLAP).
    let acme = draft(
        "acme-manufacturing.com",
        "ACME Manufacturing GmbH",
        "CRM for 800 seats",
        RegistrationRole::Reseller,
        48_000_000,
        "Acme's CFO asked us for a quote last month.",
    );
    submit(db, partners, 0, acme).await?;
    // Waiting in the review queue.
    let umbrella = draft(
        "umbrella-health.com",
        "Umbrella Health",
        "Patient CRM distribution",
        RegistrationRole::Distributor,
        64_000_000,
        "We supply Umbrella's three regional resellers.",
    );
    submit(db, partners, 3, umbrella).await?;
    // Sent back for more information.
    let initech = draft(
        "soylent-foods.com",
        "Soylent Foods",
        "Bottling line automation",
        RegistrationRole::SystemIntegrator,
        5_000_000,
        "Workshop held with Soylent plant operations.",
    );
    let litware = submit(db, partners, 4, initech).await?;
    let ask = registrations::RegistrationDecision {
        id: ids::encode(Kind::Registration, litware.id),
        expected_version: litware.version,
        reason: Some("Who is your sponsor at Soylent, and what is the timeline?".into()),
    };
    registrations::request_info(db, &vendor.grant()?, ask).await?;
    // A draft still being written.
    let wayne = draft(
        "wayne-enterprises.com",
        "Wayne Enterprises",
        "Cloud migration",
        RegistrationRole::SystemIntegrator,
        90_000_000,
        "Early talks with Wayne's IT director.",
    );
    let grant = partner_principal(partners, 1).grant()?;
    registrations::create_draft(db, &grant, wayne).await?;
    Ok(())
}

/// Submits `draft` as the admin of the `i`-th demo partner.
async fn submit(
    db: &DatabaseConnection,
    partners: &[(i64, String)],
    i: usize,
    draft: RegistrationDraft,
) -> AppResult<registration::Model> {
    let input = SubmitRegistration {
        id: None,
        expected_version: None,
        draft: Some(draft),
        idempotency_key: None,
    };
    registrations::submit(db, &partner_principal(partners, i).grant()?, input).await
}

/// A claim on a new deal in USD, with the partner's private notes.
fn draft(
    domain: &str,
    account: &str,
    deal: &str,
    role: RegistrationRole,
    amount: i64,
    why: &str,
) -> RegistrationDraft {
    RegistrationDraft {
        opportunity_id: None,
        account_domain: Some(domain.into()),
        account_name: Some(account.into()),
        deal_name: Some(deal.into()),
        amount: Some(amount),
        currency: Some("USD".into()),
        expected_close_date: None,
        role,
        justification: why.into(),
        private_notes: Some("Our own notes: only we and the vendor can read these.".into()),
    }
}
