//! What the read-path benchmark asks: every root query field, with the arguments a portal
//! uses, as the vendor and as a partner, on ids picked from the seeded database.

use cosell::ids::{encode, Kind};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{json, Value};

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A vendor ADMIN.
    Vendor,
    /// A vendor CHANNEL_MANAGER (the review queue's user).
    ChannelManager,
    /// The picked partner's PARTNER_ADMIN.
    Partner,
}

impl Caller {
    pub fn label(self) -> &'static str {
        match self {
            Caller::Vendor => "vendor",
            Caller::ChannelManager => "channel manager",
            Caller::Partner => "partner",
        }
    }
}

/// One request to time.
pub struct Case {
    /// The root field it reads.
    pub field: &'static str,
    pub caller: Caller,
    /// How the table shows it.
    pub label: String,
    pub document: String,
    pub variables: Value,
    /// The id asked for does not exist (nothing of its kind was seeded): NOT_FOUND is the answer.
    pub missing: bool,
}

/// Ids the cases ask for, picked from the database.
pub struct Picks {
    pub partner: i64,
    /// The partner's claims, and the deals they let it see.
    pub partner_claims: i64,
    pub partner_deals: i64,
    /// An open deal the partner is on, its account, a contact there it sees, one of its claims.
    pub deal: i64,
    pub account: i64,
    pub contact: i64,
    pub registration: i64,
    /// 50 deals the partner is on, for `nodes`.
    pub deals: Vec<i64>,
    /// A conflict and a webhook endpoint, if any were made (the seed makes neither).
    pub conflict: Option<i64>,
    pub endpoint: Option<i64>,
}

async fn ints(db: &DatabaseConnection, sql: &str) -> Vec<i64> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .filter_map(|r| r.try_get_by_index::<i64>(0).ok())
        .collect()
}

async fn one(db: &DatabaseConnection, sql: &str) -> Option<i64> {
    ints(db, sql).await.first().copied()
}

/// Picks the partner with the most claims (or `BENCH_PARTNER`) and the ids to ask for.
pub async fn pick(db: &DatabaseConnection, partner: Option<i64>) -> Picks {
    let sees = cosell::db::registrations::SEES_DEAL
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let partner = match partner {
        Some(p) => p,
        None => one(
            db,
            "SELECT partner_id FROM registrations GROUP BY partner_id ORDER BY COUNT(*) DESC, partner_id LIMIT 1",
        )
        .await
        .expect("a seeded database: no registrations"),
    };
    let on =
        format!("partner_id = {partner} AND status IN ({sees}) AND opportunity_id IS NOT NULL");
    let deal = one(
        db,
        &format!(
            "SELECT MIN(r.opportunity_id) FROM registrations r JOIN opportunities o ON o.id = r.opportunity_id \
             WHERE r.{on} AND o.stage NOT IN ('CLOSED_WON', 'CLOSED_LOST')"
        ),
    )
    .await
    .expect("an open deal the partner is on");
    let account = one(
        db,
        &format!("SELECT account_id FROM opportunities WHERE id = {deal}"),
    )
    .await
    .unwrap();
    let contact = one(
        db,
        &format!(
            "SELECT MIN(id) FROM contacts WHERE account_id = {account} \
             AND (shared OR sourced_by_partner_id = {partner})"
        ),
    )
    .await
    .expect("a contact the partner sees at its deal's account (seed the contact networks)");
    Picks {
        partner,
        partner_claims: one(db, &format!("SELECT COUNT(*) FROM registrations WHERE partner_id = {partner}"))
            .await
            .unwrap_or(0),
        partner_deals: one(db, &format!("SELECT COUNT(DISTINCT opportunity_id) FROM registrations WHERE {on}"))
            .await
            .unwrap_or(0),
        deal,
        account,
        contact,
        registration: one(db, &format!("SELECT MAX(id) FROM registrations WHERE partner_id = {partner}"))
            .await
            .unwrap(),
        deals: ints(
            db,
            &format!("SELECT DISTINCT opportunity_id FROM registrations WHERE {on} ORDER BY opportunity_id LIMIT 50"),
        )
        .await,
        conflict: one(db, "SELECT MIN(id) FROM conflicts").await,
        endpoint: one(db, "SELECT MIN(id) FROM webhook_endpoints").await,
    }
}

/// The dashboard: the first page of deals with their accounts and claims, with or without
/// each deal's threading.
pub fn dashboard(threading: bool) -> String {
    format!(
        "{{ opportunities(first: 50) {{ nodes {{ id name stage amount {{ amount currency }} \
         account {{ name domain }} registrations {{ status role partner {{ name }} }}{} }} }} }}",
        if threading {
            " threading { score atRisk risks { kind } }"
        } else {
            ""
        }
    )
}

const DEAL_PAGE: &str = "query($id: ID!) { opportunity(id: $id) { name stage amount { amount currency } \
    expectedCloseDate products account { name domain } registrations { status role partner { name } } \
    rolesFilled stageHistory { fromStage toStage changedAt } \
    threading { score atRisk engagedContacts departments risks { kind evidence recommendation } } \
    attribution { model rows { shareBps role } } } }";

const RELATIONSHIP_MAP: &str =
    "query($id: ID!) { relationshipMap(accountId: $id) { hiddenContacts \
    nodes { influence knownBy contact { name title department buyingRole status } } links { kind } \
    unengagedInfluencers { contact { name } } } }";

/// A case for several callers: (field, callers, label, document, variables, missing).
type Spec = (&'static str, Vec<Caller>, String, String, Value, bool);

/// Every case.
pub fn cases(p: &Picks) -> Vec<Case> {
    use Caller::*;
    let id = |k, v| json!({ "id": encode(k, v) });
    let both = [Vendor, Partner];
    let conflict = p.conflict.unwrap_or(1);
    let endpoint = p.endpoint.unwrap_or(1);
    let partner = encode(Kind::Partner, p.partner);
    let mut out: Vec<Spec> = vec![
        ("account", both.to_vec(), "account(id) { name domain contacts(first: 20) { totalCount nodes { name title } } }".into(),
         "query($id: ID!) { account(id: $id) { name domain industry region contacts(first: 20) { totalCount nodes { name title } } } }".into(),
         id(Kind::Account, p.account), false),
        ("accounts", both.to_vec(), "accounts(first: 50) { totalCount nodes { name domain } }".into(),
         "{ accounts(first: 50) { totalCount nodes { id name domain region } } }".into(), json!({}), false),
        ("attributionSettings", both.to_vec(), "attributionSettings".into(),
         "{ attributionSettings { defaultModel includeDirectTeam directTeamWeightBps version } }".into(), json!({}), false),
        ("collaborationRules", both.to_vec(), "collaborationRules".into(),
         "{ collaborationRules { role exclusive protectionDays attributionWeightBps autoApprove } }".into(), json!({}), false),
        ("conflict", both.to_vec(), "conflict(id)".into(),
         "query($id: ID!) { conflict(id: $id) { kind status registration { id status } } }".into(),
         id(Kind::Conflict, conflict), p.conflict.is_none()),
        ("conflicts", both.to_vec(), "conflicts(first: 50, status: OPEN) { totalCount nodes }".into(),
         "{ conflicts(first: 50, status: OPEN) { totalCount nodes { id kind createdAt registration { id } } } }".into(), json!({}), false),
        ("contact", both.to_vec(), "contact(id) { ... engagements }".into(),
         "query($id: ID!) { contact(id: $id) { name email title department buyingRole status engagements { kind occurredOn sentiment party } } }".into(),
         id(Kind::Contact, p.contact), false),
        ("contacts", both.to_vec(), "contacts(first: 50) { totalCount nodes { name } }".into(),
         "{ contacts(first: 50) { totalCount nodes { name } } }".into(), json!({}), false),
        ("events", both.to_vec(), "events(first: 50)".into(),
         "{ events(first: 50) { id topic subjectId createdAt } }".into(), json!({}), false),
        ("incentiveRates", both.to_vec(), "incentiveRates".into(),
         "{ incentiveRates { tier role rateBps } }".into(), json!({}), false),
        ("invitations", both.to_vec(), "invitations(first: 50) { totalCount nodes }".into(),
         "{ invitations(first: 50) { totalCount nodes { id status role expiresAt } } }".into(), json!({}), false),
        ("myRegistrations", vec![Partner], "myRegistrations(first: 50) { totalCount nodes }".into(),
         "{ myRegistrations(first: 50) { totalCount nodes { id status role opportunity { name } } } }".into(), json!({}), false),
        ("node", both.to_vec(), "node(id) { ... on Opportunity }".into(),
         "query($id: ID!) { node(id: $id) { id ... on Opportunity { name stage } } }".into(),
         id(Kind::Opportunity, p.deal), false),
        ("nodes", both.to_vec(), format!("nodes(ids: {} deals) {{ ... on Opportunity }}", p.deals.len()),
         "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Opportunity { name stage } } }".into(),
         json!({ "ids": p.deals.iter().map(|d| encode(Kind::Opportunity, *d)).collect::<Vec<_>>() }), false),
        ("opportunities", both.to_vec(), "dashboard: opportunities(first: 50)".into(), dashboard(false), json!({}), false),
        ("opportunities", both.to_vec(), "dashboard with threading { score atRisk risks { kind } }".into(), dashboard(true), json!({}), false),
        ("opportunities", both.to_vec(), "opportunities(first: 20, filter: { nameContains: \"analytics\" }) { totalCount nodes { name } }".into(),
         "{ opportunities(first: 20, filter: { nameContains: \"analytics\" }) { totalCount nodes { name } } }".into(), json!({}), false),
        ("opportunity", both.to_vec(), "opportunity(id): the deal page with threading".into(), DEAL_PAGE.into(),
         id(Kind::Opportunity, p.deal), false),
        ("partner", both.to_vec(), "partner(id)".into(),
         "query($id: ID!) { partner(id: $id) { name tier status specialisations } }".into(), id(Kind::Partner, p.partner), false),
        ("partnerStatement", vec![Vendor], "partnerStatement(partnerId)".into(),
         "query($p: ID) { partnerStatement(partnerId: $p) { totals { currency deals attributedMinor incentiveMinor } deals { finalizedAt row { shareBps } } } }".into(),
         json!({ "p": partner }), false),
        ("partnerStatement", vec![Partner], "partnerStatement".into(),
         "{ partnerStatement { totals { currency deals attributedMinor incentiveMinor } deals { finalizedAt row { shareBps } } } }".into(), json!({}), false),
        ("partners", both.to_vec(), "partners(first: 50) { totalCount nodes }".into(),
         "{ partners(first: 50) { totalCount nodes { id name tier status } } }".into(), json!({}), false),
        ("programFigures", both.to_vec(), "programFigures { overall { approvalRate medianHoursToDecision } byStatus { status count } }".into(),
         "{ programFigures { overall { approvalRate medianHoursToDecision } byStatus { status count } } }".into(), json!({}), false),
        ("programFigures", both.to_vec(), "programFigures(from: 2000-01-01) (a window holding every claim)".into(),
         "{ programFigures(from: \"2000-01-01T00:00:00Z\") { overall { approvalRate medianHoursToDecision } byStatus { status count } } }".into(), json!({}), false),
        ("registration", both.to_vec(), "registration(id) { ... history }".into(),
         "query($id: ID!) { registration(id: $id) { status role justification partner { name } opportunity { name stage } decision { decidedAt } history { toStatus at } } }".into(),
         id(Kind::Registration, p.registration), false),
        ("registrations", both.to_vec(), "registrations(first: 50) { totalCount nodes }".into(),
         "{ registrations(first: 50) { totalCount nodes { id status role createdAt opportunity { name } } } }".into(), json!({}), false),
        ("relationshipMap", both.to_vec(), "relationshipMap(accountId)".into(), RELATIONSHIP_MAP.into(),
         id(Kind::Account, p.account), false),
        ("reviewQueue", vec![ChannelManager], "reviewQueue(first: 50) { totalCount nodes { id } }".into(),
         "{ reviewQueue(first: 50) { totalCount nodes { id } } }".into(), json!({}), false),
        ("reviewQueue", vec![ChannelManager], "reviewQueue(first: 50, filter: { role: RESELLER }) { totalCount nodes { id } }".into(),
         "{ reviewQueue(first: 50, filter: { role: RESELLER }) { totalCount nodes { id } } }".into(), json!({}), false),
        ("reviewQueue", vec![ChannelManager], "reviewQueue(first: 50) { nodes { id } }".into(),
         "{ reviewQueue(first: 50) { nodes { id } } }".into(), json!({}), false),
        ("riskReport", vec![Vendor], "riskReport(first: 10) { opportunity { name } threading { score } }".into(),
         "{ riskReport(first: 10) { opportunity { name } threading { score } } }".into(), json!({}), false),
        ("riskReport", vec![Vendor], "riskReport(first: 10, risk: CHAMPION_LEFT, stageIn: [NEGOTIATION])".into(),
         "{ riskReport(first: 10, risk: CHAMPION_LEFT, stageIn: [NEGOTIATION]) { opportunity { name } threading { score } } }".into(), json!({}), false),
        ("riskReport", vec![Partner], "riskReport(first: 50) { opportunity { name } threading { score } }".into(),
         "{ riskReport(first: 50) { opportunity { name } threading { score } } }".into(), json!({}), false),
        ("viewer", both.to_vec(), "viewer".into(),
         "{ viewer { kind subject vendorRole partnerRole partner { name } } }".into(), json!({}), false),
        ("webhookDeliveries", both.to_vec(), "webhookDeliveries(endpointId, first: 20)".into(),
         "query($id: ID!) { webhookDeliveries(endpointId: $id, first: 20) { id topic succeeded createdAt } }".into(),
         id(Kind::WebhookEndpoint, endpoint), p.endpoint.is_none()),
        ("webhookEndpoints", both.to_vec(), "webhookEndpoints".into(),
         "{ webhookEndpoints { id url status topics } }".into(), json!({}), false),
    ];
    out.drain(..)
        .flat_map(|(field, callers, label, document, variables, missing)| {
            callers.into_iter().map(move |caller| Case {
                field,
                caller,
                label: label.clone(),
                document: document.clone(),
                variables: variables.clone(),
                missing,
            })
        })
        .collect()
}

/// The root fields of `type Query` in the checked-in schema.
pub fn query_fields() -> Vec<String> {
    let sdl = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql"),
    )
    .expect("read schema.graphql");
    let body = sdl
        .split("\ntype Query {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("type Query in schema.graphql");
    body.lines()
        // Fields sit one tab in; descriptions and arguments are in strings or deeper.
        .filter(|l| l.starts_with('\t') && !l.starts_with("\t\t"))
        .map(str::trim)
        .filter(|l| !l.starts_with("\"\"\"") && !l.is_empty())
        .filter_map(|l| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty() && l[name.len()..].starts_with(['(', ':'])).then_some(name)
        })
        .collect()
}

/// The rows in `table`.
pub async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    one(db, &format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap_or(0)
}
