//! Contact networks over HTTP: contacts and their scoping with three partners, bulk upsert,
//! links, engagements, threading on hand-built deals, the relationship map and the risk report.

mod kept;
mod network;
mod pages;
mod visibility;
mod writes;

use serde_json::{json, Value};

use crate::helpers::*;

const CREATE: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version sourcedBy shared } } }";
const ENGAGE: &str =
    "mutation($i: RecordEngagementInput!) { recordEngagement(input: $i) { engagement { id party notes } } }";
const MARK: &str = "mutation($i: MarkContactInput!) { markContact(input: $i) { contact { status version successor { name } } } }";
const LINK: &str = "mutation($i: LinkContactsInput!) { linkContacts(input: $i) { link { kind } } }";
const UPSERT: &str = "mutation($i: UpsertContactsInput!) { upsertContacts(input: $i) { results { index outcome contactId errorCode } } }";

fn person(name: &str, email: &str, dept: &str, role: Option<&str>) -> Value {
    json!({ "name": name, "email": email, "department": dept, "buyingRole": role })
}

/// Upserts `contacts` at `acct` as `token`; the result of each item.
async fn upsert(
    app: &TestApp,
    token: &str,
    acct: &str,
    contacts: Value,
    allow_partial: bool,
) -> Vec<Value> {
    let d = app
        .ok(
            token,
            UPSERT,
            json!({ "i": { "accountId": acct, "contacts": contacts, "allowPartial": allow_partial } }),
        )
        .await;
    d["upsertContacts"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn contact(app: &TestApp, token: &str, account: &str, c: Value) -> String {
    let d = app
        .ok(
            token,
            CREATE,
            json!({ "i": { "accountId": account, "contact": c } }),
        )
        .await;
    d["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn engage(app: &TestApp, token: &str, contact: &str, days_ago: i64, notes: &str) {
    let on = (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .date_naive()
        .to_string();
    app.ok(token, ENGAGE, json!({ "i": { "contactId": contact, "kind": "MEETING", "occurredOn": on, "sentiment": "POSITIVE", "notes": notes } })).await;
}

/// A partner on a deal at a new account: (account id, opportunity id).
async fn partner_on_deal(app: &TestApp, partner: &str, domain: &str) -> (String, String) {
    let d = app
        .ok(&partner_token(partner), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": domain, "accountName": "Acme", "dealName": "Deal", "role": "SERVICES", "justification": "x", "amount": 1000000, "currency": "USD" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    let d = app
        .ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { opportunity { id account { id } } } } }",
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } }))
        .await;
    let o = &d["approveRegistration"]["registration"]["opportunity"];
    (
        o["account"]["id"].as_str().unwrap().to_string(),
        o["id"].as_str().unwrap().to_string(),
    )
}

async fn join_deal(app: &TestApp, partner: &str, opp: &str) {
    let d = app
        .ok(&partner_token(partner), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": "join.example", "accountName": "Join", "dealName": "Join", "role": "INFLUENCER", "justification": "x" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": opp } }))
        .await;
}
