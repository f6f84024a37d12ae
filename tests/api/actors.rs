//! Who acted, as each reader sees it: every field that names a person who acted goes through
//! one projection (`auth::actor`). Partners read `vendor` in place of the vendor's people and
//! their own people as they are; the vendor reads everyone as recorded.

use serde_json::{json, Value};

use crate::helpers::*;

const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version status conflicts { id } } } }";

/// Every field of the schema that names who acted, for one claim and its deal.
const ACTORS: &str = "query($r: ID!, $o: ID!) {
  registration(id: $r) { decision { decidedBy } history { toStatus actor } conflicts { resolvedBy } }
  opportunity(id: $o) { stageHistory { toStage changedBy } attribution { history { finalizedBy } } }
}";
const INVITED_BY: &str = "{ invitations(first: 10) { nodes { invitedBy } } }";

fn draft(role: &str) -> Value {
    json!({ "draft": { "accountDomain": "actors.example", "accountName": "Actors Ltd", "dealName": "Actors deal",
        "role": role, "justification": "We know the buyer.", "amount": 1_000_000, "currency": "USD" } })
}

/// Every string in `v`.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The values of every `key` field in `v`.
fn fields(v: &Value, key: &str) -> Vec<Value> {
    match v {
        Value::Array(a) => a.iter().flat_map(|x| fields(x, key)).collect(),
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, x)| {
                if k == key {
                    vec![x.clone()]
                } else {
                    fields(x, key)
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn partners_read_vendor_in_place_of_the_vendor_s_people_in_every_field_that_names_one() {
    let app = spawn_app().await;
    let (acme, bolt, cobalt) = (
        app.partner("Acme").await,
        app.partner("Bolt").await,
        app.partner("Cobalt").await,
    );
    let manager = vendor_token("CHANNEL_MANAGER");
    // Acme's claim: a question from a channel manager, an answer, an approval by the ADMIN.
    let d = app
        .ok(&acme.token, SUBMIT, json!({ "i": draft("RESELLER") }))
        .await;
    let claim = d["submitRegistration"]["registration"].clone();
    let asked = app
        .ok(
            &manager,
            "mutation($i: RegistrationDecisionInput!) { requestRegistrationInfo(input: $i) { registration { version } } }",
            json!({ "i": { "id": claim["id"], "expectedVersion": claim["version"], "reason": "Who is the buyer?" } }),
        )
        .await;
    let answered = app
        .ok(
            &acme.token,
            "mutation($i: AnswerInfoRequestInput!) { answerInfoRequest(input: $i) { registration { version } } }",
            json!({ "i": { "id": claim["id"], "expectedVersion": asked["requestRegistrationInfo"]["registration"]["version"], "answer": "The CIO" } }),
        )
        .await;
    let approved = app
        .ok(
            &app.vendor,
            "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { opportunity { id } } } }",
            json!({ "i": { "id": claim["id"], "expectedVersion": answered["answerInfoRequest"]["registration"]["version"], "createOpportunity": true } }),
        )
        .await;
    let opp = approved["approveRegistration"]["registration"]["opportunity"]["id"].clone();
    // Bolt claims the same exclusive role: a conflict the vendor resolves.
    let d = app
        .ok(&bolt.token, SUBMIT, json!({ "i": draft("RESELLER") }))
        .await;
    let rival = d["submitRegistration"]["registration"].clone();
    app.ok(
        &app.vendor,
        "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { conflict { id } } }",
        json!({ "i": { "id": rival["conflicts"][0]["id"], "resolution": "REJECTED", "reason": "Acme holds it" } }),
    )
    .await;
    // Cobalt is invited; the deal moves and closes won (its attribution frozen).
    app.ok(
        &app.vendor,
        "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id } } }",
        json!({ "i": { "opportunityId": opp, "partnerIds": [cobalt.id], "role": "SERVICES",
            "share": { "fields": ["CUSTOMER_NAME"] } } }),
    )
    .await;
    let mv = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { version } } }";
    let d = app
        .ok(
            &manager,
            mv,
            json!({ "i": { "id": opp, "expectedVersion": 1, "stage": "QUALIFICATION" } }),
        )
        .await;
    let v = d["moveOpportunityStage"]["opportunity"]["version"].clone();
    app.ok(
        &manager,
        mv,
        json!({ "i": { "id": opp, "expectedVersion": v, "stage": "CLOSED_WON" } }),
    )
    .await;

    // The vendor reads who acted, as recorded.
    let vendor = app
        .ok(&app.vendor, ACTORS, json!({ "r": claim["id"], "o": opp }))
        .await;
    assert_eq!(
        vendor["registration"]["decision"]["decidedBy"],
        "admin@vendor.test"
    );
    let actors: Vec<Value> = fields(&vendor["registration"]["history"], "actor");
    assert!(actors.contains(&json!("channel_manager@vendor.test")));
    assert!(actors.contains(&json!(format!("user@{}", acme.id))));
    assert!(fields(&vendor["opportunity"]["stageHistory"], "changedBy")
        .contains(&json!("channel_manager@vendor.test")));
    let d = app
        .ok(&app.vendor, ACTORS, json!({ "r": rival["id"], "o": opp }))
        .await;
    assert_eq!(
        d["registration"]["conflicts"][0]["resolvedBy"],
        "admin@vendor.test"
    );
    let d = app.ok(&app.vendor, INVITED_BY, json!({})).await;
    assert_eq!(
        d["invitations"]["nodes"][0]["invitedBy"],
        "admin@vendor.test"
    );

    // Partners: no vendor subject anywhere; `vendor` in every field that names one.
    let acme_view = app
        .ok(&acme.token, ACTORS, json!({ "r": claim["id"], "o": opp }))
        .await;
    let bolt_view = app
        .gql(&bolt.token, ACTORS, json!({ "r": rival["id"], "o": opp }))
        .await;
    let cobalt_view = app.ok(&cobalt.token, INVITED_BY, json!({})).await;
    for view in [&acme_view, &bolt_view, &cobalt_view] {
        assert!(
            !strings(view).iter().any(|s| s.contains("@vendor.test")),
            "a vendor user named to a partner: {view}"
        );
    }
    assert_eq!(acme_view["registration"]["decision"]["decidedBy"], "vendor");
    let history = acme_view["registration"]["history"].as_array().unwrap();
    for h in history {
        let expected = match h["toStatus"].as_str().unwrap() {
            "DRAFT" | "SUBMITTED" => json!(format!("user@{}", acme.id)),
            _ => json!("vendor"),
        };
        assert_eq!(h["actor"], expected, "{h}");
    }
    let changes = fields(&acme_view["opportunity"]["stageHistory"], "changedBy");
    assert!(
        !changes.is_empty() && changes.iter().all(|c| c == "vendor"),
        "{changes:?}"
    );
    let frozen = fields(&acme_view["opportunity"]["attribution"], "finalizedBy");
    assert!(frozen.iter().all(|c| c == "vendor"), "{frozen:?}");
    assert_eq!(
        bolt_view["data"]["registration"]["conflicts"][0]["resolvedBy"], "vendor",
        "{bolt_view}"
    );
    assert_eq!(
        bolt_view["data"]["registration"]["decision"]["decidedBy"],
        "vendor"
    );
    assert_eq!(
        cobalt_view["invitations"]["nodes"][0]["invitedBy"],
        "vendor"
    );
}

#[tokio::test]
async fn a_partner_reads_its_own_withdrawal_as_its_own() {
    let app = spawn_app().await;
    let (acme, bolt) = (app.partner("Acme").await, app.partner("Bolt").await);
    app.ok(&acme.token, SUBMIT, json!({ "i": draft("RESELLER") }))
        .await;
    let d = app
        .ok(&bolt.token, SUBMIT, json!({ "i": draft("RESELLER") }))
        .await;
    let rival = d["submitRegistration"]["registration"].clone();
    app.ok(
        &bolt.token,
        "mutation($i: RegistrationDecisionInput!) { withdrawRegistration(input: $i) { registration { id } } }",
        json!({ "i": { "id": rival["id"], "expectedVersion": rival["version"] } }),
    )
    .await;
    let q = "query($r: ID!) { registration(id: $r) { history { toStatus actor } conflicts { resolvedBy } } }";
    let d = app.ok(&bolt.token, q, json!({ "r": rival["id"] })).await;
    let own = json!(format!("user@{}", bolt.id));
    assert_eq!(d["registration"]["conflicts"][0]["resolvedBy"], own);
    // Its own steps by its own person; the hold by conflict detection, an automatic step.
    let actors = fields(&d["registration"]["history"], "actor");
    assert!(
        actors
            .iter()
            .all(|a| *a == own || a == "system:conflict-detection"),
        "{actors:?}"
    );
    assert!(actors.iter().filter(|a| **a == own).count() >= 2);
}
