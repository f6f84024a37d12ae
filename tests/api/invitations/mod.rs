//! Engagement invitations: the vendor invites partners to a deal; each invited partner sees its
//! own invitation and what was shared, and accepts (a registration through the lifecycle),
//! declines or lets it expire; races between answers, withdrawals and the expiry sweep.

mod accepting;
mod ending;
mod inviting;
mod reading;

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const INVITE: &str = "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id version status role partner { id } } } }";
const ACCEPT: &str = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { invitation { id status version registration { id } } registration { id status role decision { decidedBy } opportunity { id } } } }";
const DECLINE: &str = "mutation($i: DeclineInvitationInput!) { declineInvitation(input: $i) { invitation { id status declineReason version } } }";
const WITHDRAW: &str = "mutation($i: WithdrawInvitationInput!) { withdrawInvitation(input: $i) { invitation { id status version } } }";
const LIST: &str = "query($f: InvitationFilter) { invitations(filter: $f, first: 50) { totalCount nodes { id status role message invitedBy partner { id } opportunity { id name } shared { fields customerName customerDomain dealName stage amount { amount currency } contacts { name email } } } } }";
const NODE_STATUS: &str = "query($id: ID!) { node(id: $id) { ... on Invitation { status } } }";
const NODE: &str =
    "query($id: ID!) { node(id: $id) { ... on Invitation { id status shared { customerName } } } }";

struct Program {
    app: TestApp,
    opportunity: String,
    contact: String,
}

async fn program() -> Program {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 0).await;
    let account = app.create_account("Globex", "globex.example").await;
    let opp = app
        .create_opportunity(&account, json!({ "name": "Globex platform" }))
        .await;
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "accountId": account, "contact": { "name": "Hank Scorpio", "email": "hank@globex.example", "department": "IT" } } }),
        )
        .await;
    Program {
        opportunity: opp["id"].as_str().unwrap().to_string(),
        contact: d["createContact"]["contact"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        app,
    }
}

async fn invite(
    app: &TestApp,
    opportunity: &str,
    partners: &[&Member],
    key: Option<&str>,
) -> Vec<Value> {
    let d = app
        .ok(
            &app.vendor,
            INVITE,
            json!({ "i": {
                "opportunityId": opportunity,
                "partnerIds": partners.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
                "role": "SERVICES",
                "message": "Implementation partner wanted",
                "share": { "fields": ["CUSTOMER_NAME", "AMOUNT", "STAGE"] },
                "idempotencyKey": key,
            } }),
        )
        .await;
    d["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .clone()
}

fn answer(inv: &Value) -> Value {
    json!({ "id": inv["id"], "expectedVersion": inv["version"] })
}
