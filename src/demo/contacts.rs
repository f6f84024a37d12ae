//! Demo contact networks: a well-threaded deal three parties share, a single-threaded one, and
//! one whose only contact retired.

use chrono::{Days, NaiveDate, Utc};
use entity::enums::{BuyingRole, ContactStatus, EngagementKind, Sentiment};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::auth::{PartnerRole, Party, Principal, PrincipalKind};
use crate::db::accounts;
use crate::db::contacts::{engagements, network::ThreadingWindow, writes};
use crate::error::{AppError, AppResult};
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
    if entity::contact::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let book = Book {
        db,
        window: ThreadingWindow(90),
        today: Utc::now().date_naive(),
    };
    load_globex(&book, vendor, partners).await?;
    load_stark(&book, vendor).await?;
    load_acme(&book, vendor).await
}

/// Globex: well threaded, known by the vendor, Contoso and Fabrikam.
async fn load_globex(
    book: &Book<'_>,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    let contoso = partner_principal(partners, 1);
    let fabrikam = partner_principal(partners, 2);
    for (who, name, dept, role) in [
        (
            vendor,
            "Grace Chen (CFO)",
            "Finance",
            BuyingRole::EconomicBuyer,
        ),
        (
            vendor,
            "Hank Miller (COO)",
            "Executive",
            BuyingRole::ExecutiveSponsor,
        ),
        (
            &contoso,
            "Ines Duarte (Head of Data)",
            "IT",
            BuyingRole::Champion,
        ),
        (
            &fabrikam,
            "Jon Park (BI lead)",
            "Analytics",
            BuyingRole::TechnicalEvaluator,
        ),
        (
            vendor,
            "Kim Lee (Procurement)",
            "Procurement",
            BuyingRole::Procurement,
        ),
    ] {
        let c = book.add(who, "globex.com", name, dept, role, true).await?;
        let notes = "Good meeting; next step agreed.";
        book.touch(who, c.id, 6, Sentiment::Positive, notes).await?;
    }
    Ok(())
}

/// Stark Robotics: single-threaded through one engineer.
async fn load_stark(book: &Book<'_>, vendor: &Principal) -> AppResult<()> {
    let c = book
        .add(
            vendor,
            "stark-robotics.io",
            "Sam Ortiz (robotics engineer)",
            "Engineering",
            BuyingRole::Champion,
            false,
        )
        .await?;
    let notes = "Only Sam answers our emails.";
    book.touch(vendor, c.id, 20, Sentiment::Neutral, notes)
        .await?;
    Ok(())
}

/// Acme's production line: the only contact, the plant manager, retired.
async fn load_acme(book: &Book<'_>, vendor: &Principal) -> AppResult<()> {
    let paula = book
        .add(
            vendor,
            "acme-manufacturing.com",
            "Paula Weber (plant manager)",
            "Operations",
            BuyingRole::Champion,
            true,
        )
        .await?;
    let notes = "Paula loves the line design.";
    book.touch(vendor, paula.id, 40, Sentiment::Positive, notes)
        .await?;
    let mark = writes::MarkContact {
        id: ids::encode(Kind::Contact, paula.id),
        expected_version: paula.version,
        status: ContactStatus::LeftCompany,
        successor_id: None,
    };
    writes::mark(book.db, &vendor.grant()?, mark, book.window).await?;
    Ok(())
}

/// Writes the demo's contacts and their meetings.
struct Book<'a> {
    db: &'a DatabaseConnection,
    window: ThreadingWindow,
    /// Meetings are dated back from this day.
    today: NaiveDate,
}

impl Book<'_> {
    /// Adds `name` at the account of `domain` as `who`, with an email made of the first name.
    async fn add(
        &self,
        who: &Principal,
        domain: &str,
        name: &str,
        dept: &str,
        role: BuyingRole,
        shared: bool,
    ) -> AppResult<entity::contact::Model> {
        let account = accounts::find_by_domain(self.db, domain)
            .await?
            .ok_or(AppError::NotFound("Account"))?;
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
            buying_role: Some(role),
            shared: Some(shared),
        };
        let input = writes::CreateContact {
            account_id: ids::encode(Kind::Account, account.id),
            contact: fields,
        };
        writes::create(self.db, &who.grant()?, input, self.window).await
    }

    /// Records a meeting `who` had with `contact` `days` ago.
    async fn touch(
        &self,
        who: &Principal,
        contact: i64,
        days: u64,
        sentiment: Sentiment,
        notes: &str,
    ) -> AppResult<()> {
        let today = self.today;
        let input = engagements::RecordEngagement {
            contact_id: ids::encode(Kind::Contact, contact),
            kind: EngagementKind::Meeting,
            occurred_on: today.checked_sub_days(Days::new(days)).unwrap_or(today),
            sentiment,
            opportunity_id: None,
            notes: Some(notes.into()),
        };
        engagements::record(self.db, &who.grant()?, input, self.window).await?;
        Ok(())
    }
}
