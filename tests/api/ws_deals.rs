//! Deal-level subscriptions: the shared state of a deal reaches the partners on it (and only
//! its shared fields), attribution is announced when the deal is won with each partner seeing
//! its own row, and app tokens hear only what their scopes allow.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws::*;

const DEALS: &str =
    "subscription($o: ID, $after: ID) { opportunityChanged(opportunityId: $o, after: $after) {
  event { id: cursor topic subjectId payload } opportunity { id name stage forecastNotes probability } } }";
const WON: &str = "subscription($after: ID) { attributionFinalized(after: $after) {
  event { topic subjectId payload } opportunity { id attribution { finalized rows { party shareBps partner { id } } } } } }";
const STATUS: &str = "subscription($after: ID) { registrationStatusChanged(after: $after) { event { topic } registration { id } } }";

/// A deal with partner `p` approved on it; returns the opportunity's id and version.
async fn deal_with(app: &TestApp, p: &str, domain: &str) -> (String, i64) {
    let d = app
        .ok(&partner_token(p), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version status } } }",
            json!({ "i": { "draft": { "accountDomain": domain, "accountName": domain, "dealName": "Deal", "role": "SERVICES",
                   "amount": 1000000, "currency": "USD", "justification": "x" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    let d = app
        .ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { opportunity { id version } } } }",
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } }))
        .await;
    let o = &d["approveRegistration"]["registration"]["opportunity"];
    (
        o["id"].as_str().unwrap().to_string(),
        o["version"].as_i64().unwrap(),
    )
}

async fn update(app: &TestApp, id: &str, version: i64, fields: Value) -> i64 {
    let mut input = fields;
    input["id"] = json!(id);
    input["expectedVersion"] = json!(version);
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version } } }",
        json!({ "i": input }))
        .await["updateOpportunity"]["opportunity"]["version"]
        .as_i64()
        .unwrap()
}

fn change(m: &Value) -> &Value {
    &m["data"]["opportunityChanged"]
}

#[tokio::test]
async fn partners_on_a_deal_hear_of_its_shared_state_and_nothing_internal() {
    let app = spawn_app().await;
    let (a, c) = (
        app.create_partner("On the deal").await,
        app.create_partner("Elsewhere").await,
    );
    let (opp, v) = deal_with(&app, &a, "shared-state.example").await;
    let now = app.now().await;
    let mut on = app.ws_as(&partner_token(&a)).await;
    on.subscribe("d", DEALS, json!({ "o": opp, "after": now }))
        .await;
    let mut off = app.ws_as(&partner_token(&c)).await;
    off.subscribe("d", DEALS, json!({ "after": now })).await;
    let mut vendor = app.ws_as(&app.vendor).await;
    vendor
        .subscribe("d", DEALS, json!({ "o": opp, "after": now }))
        .await;

    // An internal-only change: the vendor hears it, the partner does not.
    let v = update(
        &app,
        &opp,
        v,
        json!({ "forecastNotes": "board says yes", "probability": 80 }),
    )
    .await;
    let m = vendor.next_payload("d").await;
    assert_eq!(change(&m)["event"]["topic"], "opportunity.updated");
    assert_eq!(change(&m)["opportunity"]["forecastNotes"], "board says yes");
    // A shared change: both hear it; the partner sees the shared state only.
    update(&app, &opp, v, json!({ "name": "Deal, renamed" })).await;
    let m = on.next_payload("d").await;
    assert_eq!(change(&m)["event"]["topic"], "opportunity.updated");
    assert_eq!(change(&m)["opportunity"]["name"], "Deal, renamed");
    assert!(change(&m)["opportunity"]["forecastNotes"].is_null());
    assert!(change(&m)["opportunity"]["probability"].is_null());
    assert!(!m.to_string().contains("board says yes"), "{m}");
    assert_eq!(
        change(&vendor.next_payload("d").await)["opportunity"]["name"],
        "Deal, renamed"
    );
    // A partner not on the deal hears nothing of it.
    assert!(off.silent_for(Duration::from_millis(300)).await.is_ok());
    // Filtering by an opportunity the partner may not see answers like an unknown one: nothing.
    off.subscribe("foreign", DEALS, json!({ "o": opp })).await;
    assert!(off.silent_for(Duration::from_millis(200)).await.is_ok());
}

#[tokio::test]
async fn attribution_is_announced_when_a_deal_is_won_and_each_partner_sees_its_own_row() {
    let app = spawn_app().await;
    let (a, b) = (
        app.create_partner("Alpha").await,
        app.create_partner("Bravo").await,
    );
    let (opp, _) = deal_with(&app, &a, "won.example").await;
    // B joins the same deal in another role.
    let d = app
        .ok(&partner_token(&b), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": "won.example", "accountName": "won", "dealName": "Deal", "role": "REFERRAL", "justification": "x" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": opp } }))
        .await;
    let mut subs = Vec::new();
    let now = app.now().await;
    for t in [partner_token(&a), partner_token(&b), app.vendor.clone()] {
        let mut ws = app.ws_as(&t).await;
        ws.subscribe("w", WON, json!({ "after": now })).await;
        subs.push(ws);
    }
    let v = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { version } }",
            json!({ "id": opp }),
        )
        .await;
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": opp, "expectedVersion": v["opportunity"]["version"], "stage": "CLOSED_WON" } }))
        .await;
    let mut rows = Vec::new();
    for ws in subs.iter_mut() {
        let m = ws.next_payload("w").await;
        let won = &m["data"]["attributionFinalized"];
        assert_eq!(won["event"]["topic"], "attribution.finalized", "{m}");
        assert_eq!(won["opportunity"]["attribution"]["finalized"], true);
        rows.push(won["opportunity"]["attribution"]["rows"].clone());
    }
    // Each partner sees its own row only; the vendor sees every party's.
    for (i, p) in [&a, &b].into_iter().enumerate() {
        let partner_rows: Vec<&Value> = rows[i]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["party"] != "VENDOR")
            .collect();
        assert_eq!(partner_rows.len(), 1, "{}", rows[i]);
        assert_eq!(partner_rows[0]["partner"]["id"], p.as_str());
    }
    let text = rows[2].to_string();
    assert!(text.contains(a.as_str()) && text.contains(b.as_str()));

    // A correction is announced too, without its reason (which speaks of the others' shares).
    app.ok(&app.vendor, "mutation($i: CorrectAttributionInput!) { correctAttribution(input: $i) { opportunity { attribution { version } } } }",
        json!({ "i": { "opportunityId": opp, "expectedVersion": 1, "model": "EQUAL", "reason": "Bravo did most of the work" } }))
        .await;
    for ws in subs.iter_mut() {
        let m = ws.next_payload("w").await;
        assert_eq!(
            m["data"]["attributionFinalized"]["event"]["topic"],
            "attribution.corrected"
        );
        assert!(!m.to_string().contains("Bravo did most"), "{m}");
    }
}

#[tokio::test]
async fn app_tokens_hear_only_what_their_scopes_and_their_partner_allow() {
    let app = spawn_app().await;
    let (a, b) = (
        app.create_partner("Alpha").await,
        app.create_partner("Bravo").await,
    );
    let mut narrow = app.ws_as(&app_token("opportunities:read", Some(&a))).await;
    narrow.subscribe("r", STATUS, json!({})).await;
    let p = narrow.next_payload("r").await;
    assert_eq!(
        error_code(&p),
        "FORBIDDEN",
        "registrations need registrations:read"
    );
    assert_eq!(
        narrow.recv().await,
        json!({ "type": "complete", "id": "r" })
    );
    narrow
        .subscribe("e", "subscription { events { id: cursor } }", json!({}))
        .await;
    assert_eq!(error_code(&narrow.next_payload("e").await), "FORBIDDEN");
    narrow
        .subscribe(
            "t",
            "subscription { threadingRiskRaised { event { payload } } }",
            json!({}),
        )
        .await;
    let t = loop {
        let m = narrow.recv().await;
        if m["id"] == "t" {
            break m;
        }
    };
    assert_eq!(
        error_code(&t["payload"]),
        "FORBIDDEN",
        "threading needs contacts:read: {t}"
    );

    let mut scoped = app.ws_as(&app_token("registrations:read", Some(&a))).await;
    scoped
        .subscribe("r", STATUS, json!({ "after": app.now().await }))
        .await;
    let (b_deal, _) = deal_with(&app, &b, "bravo-only.example").await;
    deal_with(&app, &a, "alpha-app.example").await;
    let m = scoped.next_payload("r").await;
    let text = m.to_string();
    assert!(!text.contains(&b_deal), "nothing of B's deal: {text}");
    assert_eq!(
        m["data"]["registrationStatusChanged"]["event"]["topic"],
        "registration.submitted"
    );
    let mut heard = vec![m];
    while let Some(Frame::Json(m)) = scoped.recv_within(Duration::from_millis(300)).await {
        heard.push(m);
    }
    for m in &heard {
        assert!(!m.to_string().contains(b.as_str()), "never partner B: {m}");
    }
    assert!(heard.iter().any(
        |m| m["payload"]["data"]["registrationStatusChanged"]["event"]["topic"]
            == "registration.approved"
    ));
}
