//! The demo data set: a small but realistic partner program, loaded idempotently by
//! `cosell serve --demo`, and the ready-to-use tokens printed for it. The registrations, contact
//! networks and invitations are in their own modules.

mod contacts;
mod invitations;
mod registrations;

use std::net::SocketAddr;

use chrono::{Days, Utc};
use entity::enums::{OpportunityStage, PartnerTier};
use sea_orm::DatabaseConnection;

use self::contacts::load_contacts;
use self::invitations::load_invitations;
use self::registrations::load_registrations;
use crate::auth::jwt::{self, Claims};
use crate::auth::{Principal, PrincipalKind, VendorRole};
use crate::config::JwtArgs;
use crate::db::{accounts, opportunities, partners};
use crate::error::AppResult;
use crate::ids::{self, Kind};

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
