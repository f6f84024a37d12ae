//! The demo data set: a small but realistic partner program, loaded idempotently by
//! `cosell serve --demo`, and the ready-to-use tokens printed for it. The contact networks are
//! in `contacts`.

mod contacts;

use std::net::SocketAddr;

use chrono::{Days, Utc};
use entity::enums::{OpportunityStage, PartnerTier};
use sea_orm::DatabaseConnection;

use self::contacts::{load_contacts, partner_principal};
use crate::auth::jwt::{self, Claims};
use crate::auth::{Principal, PrincipalKind, VendorRole};
use crate::config::JwtArgs;
use crate::db::registrations::lifecycle::{self, RegistrationDraft, SubmitRegistration};
use crate::db::{accounts, opportunities, partners};
use crate::error::AppResult;
use crate::ids::{self, Kind};
use entity::enums::RegistrationRole;
use sea_orm::{EntityTrait, PaginatorTrait};

/// What the demo loader made or found.
pub struct Loaded {
    /// (id, name) of the partners the printed tokens are for.
    pub partners: Vec<(i64, String)>,
    pub opportunities: usize,
    pub registrations: usize,
}

const PARTNERS: &[(&str, PartnerTier, &[&str])] = &[
    (
        "Northwind Resellers",
        PartnerTier::Gold,
        &["Software resale", "CRM licensing"],
    ),
    (
        "Contoso Cloud Integration",
        PartnerTier::Platinum,
        &["Cloud integration", "Data migration"],
    ),
    (
        "Fabrikam BI Consulting",
        PartnerTier::Silver,
        &["Business intelligence", "Dashboards"],
    ),
    (
        "Tailspin Distribution",
        PartnerTier::Gold,
        &["Distribution", "Logistics"],
    ),
    (
        "Litware Automation",
        PartnerTier::Registered,
        &["Industrial automation", "Robotics"],
    ),
];

const ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    (
        "Acme Manufacturing",
        "acme-manufacturing.com",
        "Manufacturing",
        "EMEA",
    ),
    ("Globex Retail", "globex.com", "Retail", "NA"),
    (
        "Initech Financial",
        "initech.com",
        "Financial services",
        "NA",
    ),
    (
        "Umbrella Health",
        "umbrella-health.com",
        "Healthcare",
        "EMEA",
    ),
    ("Stark Robotics", "stark-robotics.io", "Industrial", "APAC"),
];

/// (account domain, name, stages walked through, amount in minor units, currency, days to close,
/// owner, products)
type Deal = (
    &'static str,
    &'static str,
    &'static [OpportunityStage],
    i64,
    &'static str,
    u64,
    &'static str,
    &'static [&'static str],
);

const DEALS: &[Deal] = {
    use OpportunityStage::*;
    &[
        (
            "acme-manufacturing.com",
            "CRM roll-out, 800 seats",
            &[Prospecting, Qualification, Solution, Proposal],
            48_000_000,
            "EUR",
            45,
            "maria.lopez@vendor.example",
            &["CRM Enterprise", "BI Add-on"],
        ),
        (
            "acme-manufacturing.com",
            "Production line automation",
            &[Prospecting, Qualification, Solution],
            125_000_000,
            "EUR",
            120,
            "maria.lopez@vendor.example",
            &["Automation Suite"],
        ),
        (
            "globex.com",
            "Store analytics platform",
            &[Prospecting, Qualification],
            18_500_000,
            "USD",
            75,
            "james.chen@vendor.example",
            &["BI Cloud"],
        ),
        (
            "globex.com",
            "POS integration",
            &[
                Prospecting,
                Qualification,
                Solution,
                Proposal,
                Negotiation,
                ClosedWon,
            ],
            9_200_000,
            "USD",
            10,
            "james.chen@vendor.example",
            &["Integration Hub"],
        ),
        (
            "initech.com",
            "Risk dashboard",
            &[Prospecting, Qualification, Solution, Proposal, Negotiation],
            31_000_000,
            "USD",
            20,
            "james.chen@vendor.example",
            &["BI Cloud", "Data Connectors"],
        ),
        (
            "initech.com",
            "Legacy CRM replacement",
            &[Prospecting, Qualification, ClosedLost],
            22_000_000,
            "USD",
            5,
            "ana.silva@vendor.example",
            &["CRM Enterprise"],
        ),
        (
            "umbrella-health.com",
            "Patient engagement CRM",
            &[Prospecting],
            64_000_000,
            "GBP",
            150,
            "ana.silva@vendor.example",
            &["CRM Enterprise", "Compliance Pack"],
        ),
        (
            "stark-robotics.io",
            "Robot fleet telemetry",
            &[Prospecting, Qualification, Solution, Proposal],
            2_750_000_000,
            "JPY",
            60,
            "kenji.sato@vendor.example",
            &["IoT Edge", "Automation Suite"],
        ),
    ]
};

/// Loads the demo data; running it again changes nothing.
pub async fn load(db: &DatabaseConnection) -> AppResult<Loaded> {
    let loader = Principal::vendor("demo-loader", VendorRole::Admin);
    let mut partner_ids = Vec::new();
    for (name, tier, specs) in PARTNERS {
        let p = match partners::find_by_name(db, name).await? {
            Some(p) => p,
            None => {
                let input = partners::CreatePartner {
                    name: name.to_string(),
                    tier: Some(*tier),
                    specialisations: specs.iter().map(|s| s.to_string()).collect(),
                };
                partners::create(db, &loader.grant()?, input).await?
            }
        };
        partner_ids.push((p.id, p.name));
    }
    for (name, domain, industry, region) in ACCOUNTS {
        if accounts::find_by_domain(db, domain).await?.is_none() {
            let input = accounts::CreateAccount {
                name: name.to_string(),
                domain: domain.to_string(),
                industry: Some(industry.to_string()),
                region: Some(region.to_string()),
            };
            accounts::create(db, &loader.grant()?, input).await?;
        }
    }
    let today = Utc::now().date_naive();
    for (domain, name, stages, amount, currency, days, owner, products) in DEALS {
        let Some(account) = accounts::find_by_domain(db, domain).await? else {
            continue;
        };
        if opportunities::find_by_name(db, account.id, name)
            .await?
            .is_some()
        {
            continue;
        }
        let input = opportunities::CreateOpportunity {
            account_id: ids::encode(Kind::Account, account.id),
            name: name.to_string(),
            stage: Some(stages[0]),
            amount: *amount,
            currency: currency.to_string(),
            expected_close_date: today.checked_add_days(Days::new(*days)).unwrap_or(today),
            owner: Some(owner.to_string()),
            region: None,
            products: products.iter().map(|s| s.to_string()).collect(),
            forecast_notes: Some(
                "Demo deal: forecast commentary is visible to vendor staff only.".into(),
            ),
            probability: Some(10 * stages.len() as i32),
        };
        let mut opp = opportunities::create(db, &loader.grant()?, input).await?;
        for stage in &stages[1..] {
            let id = ids::encode(Kind::Opportunity, opp.id);
            opp = opportunities::move_stage(
                db,
                &loader.grant()?,
                &id,
                opp.version,
                *stage,
                Some("demo history"),
            )
            .await?;
        }
    }
    let registrations = load_registrations(db, &loader, &partner_ids).await?;
    load_contacts(db, &loader, &partner_ids).await?;
    load_invitations(db, &loader, &partner_ids).await?;
    Ok(Loaded {
        partners: partner_ids,
        opportunities: DEALS.len(),
        registrations,
    })
}

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

/// Multi-partner deals in several states, with a live conflict to resolve. Loaded once.
async fn load_registrations(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<usize> {
    let existing = entity::registration::Entity::find().count(db).await?;
    if existing > 0 {
        return Ok(existing as usize);
    }
    let as_partner = |i: usize| partner_principal(partners, i);
    let submit = |i: usize, d: RegistrationDraft| {
        let p = as_partner(i);
        async move {
            let input = SubmitRegistration {
                id: None,
                expected_version: None,
                draft: Some(d),
                idempotency_key: None,
            };
            lifecycle::submit(db, &p.grant()?, input).await
        }
    };
    let store_opp = match accounts::find_by_domain(db, "globex.com").await? {
        Some(a) => opportunities::find_by_name(db, a.id, "Store analytics platform").await?,
        None => None,
    };
    // A multi-partner deal: Contoso integrates and Fabrikam builds the dashboards.
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
        let reg = submit(
            i,
            draft(
                "globex.com",
                "Globex Retail",
                "Store analytics",
                role,
                18_500_000,
                why,
            ),
        )
        .await?;
        let input = lifecycle::ApproveRegistration {
            id: ids::encode(Kind::Registration, reg.id),
            expected_version: reg.version,
            opportunity_id: store_opp
                .as_ref()
                .map(|o| ids::encode(Kind::Opportunity, o.id)),
            create_opportunity: true,
            reason: Some("Known partners on this account".into()),
        };
        lifecycle::approve(db, &vendor.grant()?, input).await?;
    }
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
    submit(0, acme).await?;
    // Waiting in the review queue.
    let umbrella = draft(
        "umbrella-health.com",
        "Umbrella Health",
        "Patient CRM distribution",
        RegistrationRole::Distributor,
        64_000_000,
        "We supply Umbrella's three regional resellers.",
    );
    submit(3, umbrella).await?;
    // Sent back for more information.
    let initech = draft(
        "soylent-foods.com",
        "Soylent Foods",
        "Bottling line automation",
        RegistrationRole::SystemIntegrator,
        5_000_000,
        "Workshop held with Soylent plant operations.",
    );
    let litware = submit(4, initech).await?;
    let ask = lifecycle::RegistrationDecision {
        id: ids::encode(Kind::Registration, litware.id),
        expected_version: litware.version,
        reason: Some("Who is your sponsor at Soylent, and what is the timeline?".into()),
    };
    lifecycle::request_info(db, &vendor.grant()?, ask).await?;
    // A draft still being written.
    let wayne = draft(
        "wayne-enterprises.com",
        "Wayne Enterprises",
        "Cloud migration",
        RegistrationRole::SystemIntegrator,
        90_000_000,
        "Early talks with Wayne's IT director.",
    );
    lifecycle::create_draft(db, &as_partner(1).grant()?, wayne).await?;
    Ok(entity::registration::Entity::find().count(db).await? as usize)
}

/// Vendor referrals: one invitation open for the first partner (its token is printed, so it
/// can accept it), one accepted and one declined. Loaded once.
async fn load_invitations(
    db: &DatabaseConnection,
    vendor: &Principal,
    partners: &[(i64, String)],
) -> AppResult<()> {
    use crate::db::invitations::{self, Answer, InvitePartners, Lead, Share};
    use entity::enums::SharedField;
    if entity::invitation::Entity::find().count(db).await? > 0 || partners.len() < 3 {
        return Ok(());
    }
    let lead = |domain: &str, account: &str, deal: &str, amount: i64| Lead {
        account_domain: domain.into(),
        account_name: account.into(),
        deal_name: deal.into(),
        amount: Some(amount),
        currency: Some("USD".into()),
        expected_close_date: None,
    };
    let share = Share {
        fields: vec![
            SharedField::CustomerName,
            SharedField::DealName,
            SharedField::Amount,
            SharedField::Stage,
        ],
        contact_ids: vec![],
    };
    let now = Utc::now();
    let invite = |l: Lead, partner: i64, role: RegistrationRole, message: &str| InvitePartners {
        opportunity_id: None,
        lead: Some(l),
        partner_ids: vec![partner],
        role,
        message: Some(message.into()),
        share: share.clone(),
        expires_at: now + chrono::Duration::days(14),
        idempotency_key: None,
    };
    let grant = vendor.grant()?;
    invitations::invite(
        db,
        &grant,
        invite(
            lead(
                "initech.example",
                "Initech",
                "Initech CRM rollout",
                45_000_000,
            ),
            partners[0].0,
            RegistrationRole::Services,
            "We need an implementation partner for a 400-seat rollout in Q3.",
        ),
    )
    .await?;
    let accepted = invitations::invite(
        db,
        &grant,
        invite(
            lead("hooli.example", "Hooli", "Hooli analytics", 120_000_000),
            partners[2].0,
            RegistrationRole::SystemIntegrator,
            "Hooli asked for an integrator with data-platform experience.",
        ),
    )
    .await?;
    let declined = invitations::invite(
        db,
        &grant,
        invite(
            lead(
                "vandelay.example",
                "Vandelay Industries",
                "Vandelay import desk",
                8_000_000,
            ),
            partners[1].0,
            RegistrationRole::Influencer,
            "Your team knows their CFO: would you help us in?",
        ),
    )
    .await?;
    let as_partner = |i: usize| partner_principal(partners, i);
    for inv in accepted {
        let answer = Answer {
            id: ids::encode(Kind::Invitation, inv.id),
            expected_version: inv.version,
            text: Some("We delivered Hooli's last data platform; glad to join.".into()),
        };
        invitations::accept(db, &as_partner(2).grant()?, answer).await?;
    }
    for inv in declined {
        let answer = Answer {
            id: ids::encode(Kind::Invitation, inv.id),
            expected_version: inv.version,
            text: Some("No capacity in that region this quarter.".into()),
        };
        invitations::decline(db, &as_partner(1).grant()?, answer).await?;
    }
    Ok(())
}

fn token(
    secret: &str,
    jwt_cfg: &JwtArgs,
    sub: &str,
    kind: PrincipalKind,
    role: &str,
    partner: Option<i64>,
) -> String {
    let now = jwt::now();
    let claims = Claims {
        sub: sub.into(),
        kind,
        role: Some(role.into()),
        partner_id: partner.map(|id| ids::encode(Kind::Partner, id)),
        scope: None,
        scp: None,
        exp: now + 24 * 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: jwt_cfg.jwt_issuer.clone(),
        aud: jwt_cfg.jwt_audience.clone().into(),
    };
    jwt::mint_hs256(&claims, secret).unwrap_or_else(|e| format!("(cannot sign: {e})"))
}

/// Prints where to go and the tokens to use (valid for 24 hours).
pub fn print_welcome(loaded: &Loaded, secret: Option<&str>, jwt_cfg: &JwtArgs, addr: SocketAddr) {
    println!();
    println!(
        "cosell demo is ready: {} partners, {} opportunities, {} registrations (one held by a conflict).",
        loaded.partners.len(),
        loaded.opportunities,
        loaded.registrations
    );
    println!("  GraphiQL: http://{addr}/graphiql");
    println!("  GraphiQL asks for a token first: paste one of these.");
    println!();
    let Some(secret) = secret else {
        println!("  Tokens are not printed: this server verifies RS256/ES256 tokens from your identity provider.");
        return;
    };
    println!("Vendor admin (ada@vendor.example), valid 24h:");
    println!(
        "{}",
        token(
            secret,
            jwt_cfg,
            "ada@vendor.example",
            PrincipalKind::Vendor,
            "ADMIN",
            None
        )
    );
    for (i, (id, name)) in loaded.partners.iter().take(2).enumerate() {
        let (role, sub) = if i == 0 {
            ("PARTNER_ADMIN", "admin@northwind.example")
        } else {
            ("PARTNER_REP", "rep@contoso.example")
        };
        println!();
        println!(
            "Partner {role} at {name} (partner ID {}), valid 24h:",
            ids::encode(Kind::Partner, *id)
        );
        println!(
            "{}",
            token(
                secret,
                jwt_cfg,
                sub,
                PrincipalKind::Partner,
                role,
                Some(*id)
            )
        );
    }
    println!();
    println!("Try: {{ opportunities(first: 5) {{ totalCount edges {{ node {{ name stage amount {{ decimal currency }} account {{ name }} rolesFilled registrations {{ role status }} }} }} }} }}");
    println!("And (vendor): {{ reviewQueue {{ nodes {{ id role status accountDomain conflicts {{ id kind status }} }} }} }}");
    println!("And (partner): {{ invitations {{ nodes {{ id version status role message shared {{ customerName dealName amount {{ decimal currency }} }} }} }} }}");
    println!("And: {{ riskReport {{ opportunity {{ name amount {{ decimal currency }} }} threading {{ score risks {{ kind evidence recommendation }} }} }} }}");
    println!();
}
