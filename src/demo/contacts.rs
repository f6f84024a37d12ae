//! Demo contact networks: a well-threaded deal three parties share, a single-threaded one, and
//! one whose only contact retired.

use chrono::{Days, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::auth::{PartnerRole, Party, Principal, PrincipalKind};
use crate::db::accounts;
use crate::error::AppResult;
use crate::ids::{self, Kind};

pub(super) fn partner_principal(partners: &[(i64, String)], i: usize) -> Principal {
    Principal {
        subject: format!("demo-user@partner-{}", partners[i].0),
        kind: PrincipalKind::Partner,
        party: Party::Partner(partners[i].0),
        vendor_role: None,
        partner_role: Some(PartnerRole::PartnerAdmin),
        scopes: None,
    }
}

/// Contact networks: a well-threaded deal, a single-threaded one, and one whose only contact
/// (the plant manager) retired. Loaded once.
pub(super) async fn load_contacts(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    use crate::db::contacts::{engagements, network::ThreadingWindow, writes};
    use entity::enums::{BuyingRole, ContactStatus, EngagementKind, Sentiment};
    if entity::contact::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let window = ThreadingWindow(90);
    let today = Utc::now().date_naive();
    let add = |who: Principal,
               domain: &'static str,
               name: &'static str,
               dept: &'static str,
               role: Option<BuyingRole>,
               shared: bool| async move {
        let account = accounts::find_by_domain(db, domain)
            .await?
            .ok_or(crate::error::AppError::NotFound("Account"))?;
        let email = format!(
            "{}@{domain}",
            name.split_whitespace()
                .next()
                .unwrap_or(name)
                .to_lowercase()
        );
        let fields = writes::ContactFields {
            name: name.into(),
            email,
            title: None,
            department: Some(dept.into()),
            seniority: None,
            buying_role: role,
            shared: Some(shared),
        };
        let input = writes::CreateContact {
            account_id: ids::encode(Kind::Account, account.id),
            contact: fields,
        };
        writes::create(db, &who.grant()?, input).await
    };
    let touch = |who: Principal,
                 contact: i64,
                 days: u64,
                 sentiment: Sentiment,
                 notes: &'static str| async move {
        let input = engagements::RecordEngagement {
            contact_id: ids::encode(Kind::Contact, contact),
            kind: EngagementKind::Meeting,
            occurred_on: today.checked_sub_days(Days::new(days)).unwrap_or(today),
            sentiment,
            opportunity_id: None,
            notes: Some(notes.into()),
        };
        engagements::record(db, &who.grant()?, input, window).await
    };
    // Globex: well threaded, known by the vendor, Contoso and Fabrikam.
    let contoso = partner_principal(partners, 1);
    let fabrikam = partner_principal(partners, 2);
    for (who, name, dept, role) in [
        (
            vendor.clone(),
            "Grace Chen (CFO)",
            "Finance",
            Some(BuyingRole::EconomicBuyer),
        ),
        (
            vendor.clone(),
            "Hank Miller (COO)",
            "Executive",
            Some(BuyingRole::ExecutiveSponsor),
        ),
        (
            contoso.clone(),
            "Ines Duarte (Head of Data)",
            "IT",
            Some(BuyingRole::Champion),
        ),
        (
            fabrikam.clone(),
            "Jon Park (BI lead)",
            "Analytics",
            Some(BuyingRole::TechnicalEvaluator),
        ),
        (
            vendor.clone(),
            "Kim Lee (Procurement)",
            "Procurement",
            Some(BuyingRole::Procurement),
        ),
    ] {
        let c = add(who.clone(), "globex.com", name, dept, role, true).await?;
        touch(
            who,
            c.id,
            6,
            Sentiment::Positive,
            "Good meeting; next step agreed.",
        )
        .await?;
    }
    // Stark Robotics: single-threaded through one engineer.
    let c = add(
        vendor.clone(),
        "stark-robotics.io",
        "Sam Ortiz (robotics engineer)",
        "Engineering",
        Some(BuyingRole::Champion),
        false,
    )
    .await?;
    touch(
        vendor.clone(),
        c.id,
        20,
        Sentiment::Neutral,
        "Only Sam answers our emails.",
    )
    .await?;
    // Acme's production line: the only contact, the plant manager, retired.
    let paula = add(
        vendor.clone(),
        "acme-manufacturing.com",
        "Paula Weber (plant manager)",
        "Operations",
        Some(BuyingRole::Champion),
        true,
    )
    .await?;
    touch(
        vendor.clone(),
        paula.id,
        40,
        Sentiment::Positive,
        "Paula loves the line design.",
    )
    .await?;
    let mark = writes::MarkContact {
        id: ids::encode(Kind::Contact, paula.id),
        expected_version: paula.version,
        status: ContactStatus::LeftCompany,
        successor_id: None,
    };
    writes::mark(db, &vendor.grant()?, mark, window).await?;
    Ok(())
}
