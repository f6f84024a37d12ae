//! Subscriptions end to end, over the WebSocket and, where the behaviour is the transport's
//! alike, over both transports: delivery, scoping, resuming, admission and ending.

mod admission;
mod delivery;
mod ending;
mod resume;
mod scoping;

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id status version } } }";
const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id status version opportunity { id } } } }";
const STATUS: &str = "subscription($o: ID, $s: [RegistrationStatus!], $after: ID) {
  registrationStatusChanged(opportunityId: $o, status: $s, after: $after) {
    event { id: cursor topic subjectId payload } registration { id status version privateNotes partner { id } } } }";
const EVENTS: &str =
    "subscription($after: ID) { events(after: $after) { id: cursor topic subjectId payload } }";
const CONFLICTS: &str = "subscription($after: ID) { conflictChanged(after: $after) { event { id: cursor topic subjectId payload } conflict { id kind status } } }";
const DEALS: &str = "subscription($after: ID) { opportunityChanged(after: $after) { event { id: cursor topic subjectId payload } opportunity { id name stage forecastNotes } } }";

fn draft(domain: &str, role: &str, notes: &str) -> Value {
    json!({ "accountDomain": domain, "accountName": format!("{domain} Inc"), "dealName": "Roll-out", "role": role,
            "amount": 500000, "currency": "USD", "justification": "We know the buyer.", "privateNotes": notes })
}

async fn submit(app: &TestApp, partner: &str, d: Value) -> Value {
    app.ok(
        &partner_token(partner),
        SUBMIT,
        json!({ "i": { "draft": d } }),
    )
    .await["submitRegistration"]["registration"]
        .clone()
}

async fn approve(app: &TestApp, reg: &Value) -> Value {
    app.ok(
        &app.vendor,
        APPROVE,
        json!({ "i": { "id": reg["id"], "expectedVersion": reg["version"], "createOpportunity": true } }),
    )
    .await["approveRegistration"]["registration"]
        .clone()
}

/// Makes reseller registrations wait for a vendor decision.
async fn manual_review(app: &TestApp) {
    app.ok(&app.vendor, "mutation($i: UpdateCollaborationRuleInput!) { updateCollaborationRule(input: $i) { rule { role } } }",
        json!({ "i": { "role": "RESELLER", "expectedVersion": 1, "autoApprove": false } }))
        .await;
}
