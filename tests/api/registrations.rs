//! Deal registrations: the lifecycle and its history, roles, idempotent submission, the
//! auto-approval policy, closing and expiring protection, the review queue, bulk decisions and
//! the statement cost of a nested page.

use std::time::Duration;

use cosell::ids::{decode, encode, Kind};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) const REG: &str = "id status version opportunity { id } protectionExpiresAt infoRequest
     conflicts { id kind status } decision { decidedBy automatic reason }";

pub(crate) fn m(name: &str, input: &str) -> String {
    format!("mutation($i: {input}!) {{ {name}(input: $i) {{ registration {{ {REG} }} }} }}")
}

pub(crate) const RULE: &str = "mutation($i: UpdateCollaborationRuleInput!) { updateCollaborationRule(input: $i) { role version autoApprove autoApproveMinTier autoApproveMaxAmount } }";
pub(crate) const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id version stage } } }";

/// A proposed deal at `domain`.
pub(crate) fn proposed(domain: &str, role: &str, amount: i64) -> Value {
    json!({
        "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": format!("Deal at {domain}"),
        "role": role, "justification": "We run the buyer's IT.", "amount": amount, "currency": "USD",
    })
}

/// Runs a registration mutation as `token` and returns its registration, or panics.
pub(crate) async fn reg_op(
    app: &TestApp,
    token: &str,
    name: &str,
    input_type: &str,
    input: Value,
) -> Value {
    let d = app
        .ok(token, &m(name, input_type), json!({ "i": input }))
        .await;
    d[name]["registration"].clone()
}

/// Runs a registration mutation and returns the whole body (errors included).
pub(crate) async fn reg_try(
    app: &TestApp,
    token: &str,
    name: &str,
    input_type: &str,
    input: Value,
) -> Value {
    app.gql(token, &m(name, input_type), json!({ "i": input }))
        .await
}

pub(crate) async fn submit(app: &TestApp, partner: &str, draft: Value) -> Value {
    reg_op(
        app,
        &partner_token(partner),
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": draft }),
    )
    .await
}

pub(crate) async fn approve(app: &TestApp, reg: &Value, extra: Value) -> Value {
    let mut input = json!({ "id": reg["id"], "expectedVersion": reg["version"] });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    reg_op(
        app,
        &app.vendor,
        "approveRegistration",
        "ApproveRegistrationInput",
        input,
    )
    .await
}

pub(crate) async fn history(app: &TestApp, id: &Value) -> Vec<(String, String, String)> {
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { history { fromStatus toStatus actor reason at } } }",
            json!({ "id": id }),
        )
        .await;
    d["registration"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["at"].is_string());
            (
                h["fromStatus"].as_str().unwrap_or("-").to_string(),
                h["toStatus"].as_str().unwrap().to_string(),
                h["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn steps(h: &[(String, String, String)]) -> Vec<String> {
    h.iter().map(|(f, t, _)| format!("{f}>{t}")).collect()
}

pub(crate) fn num(gid: &Value) -> i64 {
    decode(gid.as_str().unwrap()).unwrap().1
}

/// Moves every registration's protection window into the past (or one's, with `id`).
pub(crate) async fn expire_window(app: &TestApp, id: Option<i64>) {
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let sql = match (pg, id) {
        (true, Some(_)) => "UPDATE registrations SET protection_expires_at = $1 WHERE id = $2",
        (false, Some(_)) => "UPDATE registrations SET protection_expires_at = ? WHERE id = ?",
        (true, None) => "UPDATE registrations SET protection_expires_at = $1",
        (false, None) => "UPDATE registrations SET protection_expires_at = ?",
    };
    let mut values: Vec<sea_orm::Value> = vec![past.into()];
    if let Some(i) = id {
        values.push(i.into());
    }
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_draft_is_edited_submitted_reviewed_and_approved_with_its_history() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let draft = reg_op(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("acme.com", "SYSTEM_INTEGRATOR", 250_000),
    )
    .await;
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["version"], 1);

    let mut edited = proposed("https://WWW.Acme.com/", "SYSTEM_INTEGRATOR", 300_000);
    edited["justification"] = json!("New pitch");
    let d = app
        .ok(&t, "mutation($i: UpdateRegistrationDraftInput!) { updateRegistrationDraft(input: $i) { registration { version accountDomain justification amount { amount } } } }",
            json!({ "i": { "id": draft["id"], "expectedVersion": 1, "draft": edited } }))
        .await;
    let r = &d["updateRegistrationDraft"]["registration"];
    assert_eq!(r["accountDomain"], "acme.com");
    assert_eq!(r["justification"], "New pitch");
    assert_eq!(r["amount"]["amount"], 300_000);
    assert_eq!(r["version"], 2);

    // A stale version is refused.
    let stale = reg_try(
        &app,
        &t,
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "id": draft["id"], "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(error_code(&stale), "VERSION_MISMATCH", "{stale}");

    let sub = reg_op(
        &app,
        &t,
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "id": draft["id"], "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(sub["status"], "SUBMITTED");
    assert!(sub["conflicts"].as_array().unwrap().is_empty());
    // Only a DRAFT can be edited.
    let body = app
        .gql(&t, "mutation($i: UpdateRegistrationDraftInput!) { updateRegistrationDraft(input: $i) { registration { id } } }",
            json!({ "i": { "id": draft["id"], "expectedVersion": sub["version"], "draft": proposed("acme.com", "SYSTEM_INTEGRATOR", 1) } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");

    let cm = vendor_token("CHANNEL_MANAGER");
    let d = app
        .ok(&cm, "mutation($id: ID!, $v: Int!) { startRegistrationReview(id: $id, expectedVersion: $v) { registration { status version } } }",
            json!({ "id": sub["id"], "v": sub["version"] }))
        .await;
    let reviewed = &d["startRegistrationReview"]["registration"];
    assert_eq!(reviewed["status"], "UNDER_REVIEW");

    // A proposed deal needs createOpportunity or opportunityId.
    let body = reg_try(
        &app,
        &cm,
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": sub["id"], "expectedVersion": reviewed["version"] }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    let before = chrono::Utc::now();
    let approved = reg_op(
        &app,
        &cm,
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": sub["id"], "expectedVersion": reviewed["version"], "createOpportunity": true, "reason": "Known partner" }),
    )
    .await;
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["decision"]["automatic"], false);
    assert_eq!(
        approved["decision"]["decidedBy"],
        "channel_manager@vendor.test"
    );
    assert_eq!(approved["decision"]["reason"], "Known partner");
    let until =
        chrono::DateTime::parse_from_rfc3339(approved["protectionExpiresAt"].as_str().unwrap())
            .unwrap();
    let days = (until.with_timezone(&chrono::Utc) - before).num_hours() as f64 / 24.0;
    assert!(
        (119.9..=120.1).contains(&days),
        "SYSTEM_INTEGRATOR protects 120 days, got {days}"
    );
    let opp = approved["opportunity"]["id"].clone();
    assert!(opp.is_string());
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { name stage amount { amount } account { domain name } registrations { id } rolesFilled } }",
            json!({ "id": opp }),
        )
        .await;
    assert_eq!(d["opportunity"]["name"], "Deal at https://WWW.Acme.com/");
    assert_eq!(d["opportunity"]["stage"], "PROSPECTING");
    assert_eq!(d["opportunity"]["amount"]["amount"], 300_000);
    assert_eq!(d["opportunity"]["account"]["domain"], "acme.com");
    assert_eq!(
        d["opportunity"]["registrations"],
        json!([{ "id": sub["id"] }])
    );
    assert_eq!(
        d["opportunity"]["rolesFilled"],
        json!(["SYSTEM_INTEGRATOR"])
    );

    let h = history(&app, &sub["id"]).await;
    assert_eq!(
        steps(&h),
        [
            "->DRAFT",
            "DRAFT>SUBMITTED",
            "SUBMITTED>UNDER_REVIEW",
            "UNDER_REVIEW>APPROVED"
        ]
    );
    assert_eq!(h[0].2, format!("user@{p}"));
    assert_eq!(h[3].2, "channel_manager@vendor.test");
    for topic in [
        "registration.draft",
        "registration.submitted",
        "registration.under_review",
        "registration.approved",
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM events WHERE topic = '{topic}'"
            ))
            .await,
            1,
            "{topic}"
        );
    }
}

#[tokio::test]
async fn a_decision_on_a_submitted_registration_records_both_steps_and_others_are_refused() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1_000)).await;
    let b = submit(&app, &p, proposed("b.example.com", "SERVICES", 1_000)).await;
    assert_eq!(a["status"], "SUBMITTED");

    let approved = approve(&app, &a, json!({ "createOpportunity": true })).await;
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(
        steps(&history(&app, &a["id"]).await),
        [
            "->DRAFT",
            "DRAFT>SUBMITTED",
            "SUBMITTED>UNDER_REVIEW",
            "UNDER_REVIEW>APPROVED"
        ]
    );

    // Rejecting needs a reason.
    let body = reg_try(
        &app,
        &app.vendor,
        "rejectRegistration",
        "RegistrationDecisionInput",
        json!({ "id": b["id"], "expectedVersion": b["version"] }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let rejected = reg_op(
        &app,
        &app.vendor,
        "rejectRegistration",
        "RegistrationDecisionInput",
        json!({ "id": b["id"], "expectedVersion": b["version"], "reason": "Not qualified" }),
    )
    .await;
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["decision"]["reason"], "Not qualified");
    let h = history(&app, &b["id"]).await;
    assert_eq!(
        steps(&h),
        [
            "->DRAFT",
            "DRAFT>SUBMITTED",
            "SUBMITTED>UNDER_REVIEW",
            "UNDER_REVIEW>REJECTED"
        ]
    );

    // Refused transitions answer CONFLICT naming the current status.
    let cases = [
        (
            &rejected,
            "approveRegistration",
            "ApproveRegistrationInput",
            json!({ "createOpportunity": true }),
            "REJECTED",
        ),
        (
            &rejected,
            "withdrawRegistration",
            "RegistrationDecisionInput",
            json!({}),
            "REJECTED",
        ),
        (
            &approved,
            "approveRegistration",
            "ApproveRegistrationInput",
            json!({}),
            "APPROVED",
        ),
        (
            &approved,
            "requestRegistrationInfo",
            "RegistrationDecisionInput",
            json!({ "reason": "why?" }),
            "APPROVED",
        ),
        (
            &approved,
            "rejectRegistration",
            "RegistrationDecisionInput",
            json!({ "reason": "no" }),
            "APPROVED",
        ),
    ];
    for (reg, name, ty, extra, status) in cases {
        let mut input = json!({ "id": reg["id"], "expectedVersion": reg["version"] });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let token = if name == "withdrawRegistration" {
            partner_token(&p)
        } else {
            app.vendor.clone()
        };
        let body = reg_try(&app, &token, name, ty, input).await;
        assert_eq!(error_code(&body), "CONFLICT", "{name}: {body}");
        let msg = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("the registration is {status}")),
            "{name}: {msg}"
        );
    }
    let body = app
        .gql(&app.vendor, "mutation($id: ID!, $v: Int!) { startRegistrationReview(id: $id, expectedVersion: $v) { registration { id } } }",
            json!({ "id": approved["id"], "v": approved["version"] }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("APPROVED"));
}

#[tokio::test]
async fn needs_info_goes_back_to_the_partner_and_an_answer_resubmits() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let r = submit(&app, &p, proposed("acme.com", "REFERRAL", 5_000)).await;
    let body = reg_try(
        &app,
        &app.vendor,
        "requestRegistrationInfo",
        "RegistrationDecisionInput",
        json!({ "id": r["id"], "expectedVersion": r["version"] }),
    )
    .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "the question is required"
    );
    let asked = reg_op(
        &app,
        &app.vendor,
        "requestRegistrationInfo",
        "RegistrationDecisionInput",
        json!({ "id": r["id"], "expectedVersion": r["version"], "reason": "Who is the buyer?" }),
    )
    .await;
    assert_eq!(asked["status"], "NEEDS_INFO");
    assert_eq!(asked["infoRequest"], "Who is the buyer?");
    let d = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status infoRequest } }",
            json!({ "id": r["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["infoRequest"], "Who is the buyer?");

    // The vendor cannot answer; a stale version is refused.
    let body = reg_try(
        &app,
        &app.vendor,
        "answerInfoRequest",
        "AnswerInfoRequestInput",
        json!({ "id": r["id"], "expectedVersion": asked["version"], "answer": "x" }),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = reg_try(
        &app,
        &t,
        "answerInfoRequest",
        "AnswerInfoRequestInput",
        json!({ "id": r["id"], "expectedVersion": r["version"], "answer": "x" }),
    )
    .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");

    let d = app
        .ok(&t, "mutation($i: AnswerInfoRequestInput!) { answerInfoRequest(input: $i) { registration { status version infoRequest justification } } }",
            json!({ "i": { "id": r["id"], "expectedVersion": asked["version"], "answer": "The CIO, Jane", "justification": "Jane is our champion" } }))
        .await;
    let answered = &d["answerInfoRequest"]["registration"];
    assert_eq!(answered["status"], "SUBMITTED");
    assert!(answered["infoRequest"].is_null());
    assert_eq!(answered["justification"], "Jane is our champion");

    let d = app
        .ok(&app.vendor, "query($id: ID!) { registration(id: $id) { history { fromStatus toStatus reason actor } } }", json!({ "id": r["id"] }))
        .await;
    let h = d["registration"]["history"].as_array().unwrap();
    assert_eq!(h.len(), 4);
    assert_eq!(
        h[2],
        json!({ "fromStatus": "SUBMITTED", "toStatus": "NEEDS_INFO", "reason": "Who is the buyer?", "actor": "admin@vendor.test" })
    );
    assert_eq!(
        h[3],
        json!({ "fromStatus": "NEEDS_INFO", "toStatus": "SUBMITTED", "reason": "The CIO, Jane", "actor": format!("user@{p}") })
    );

    // NEEDS_INFO only from SUBMITTED.
    let d = app
        .ok(&app.vendor, "mutation($id: ID!, $v: Int!) { startRegistrationReview(id: $id, expectedVersion: $v) { registration { version } } }",
            json!({ "id": r["id"], "v": answered["version"] }))
        .await;
    let body = reg_try(
        &app,
        &app.vendor,
        "requestRegistrationInfo",
        "RegistrationDecisionInput",
        json!({ "id": r["id"], "expectedVersion": d["startRegistrationReview"]["registration"]["version"], "reason": "More?" }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("UNDER_REVIEW"));
}

#[tokio::test]
async fn a_partner_withdraws_any_open_registration_and_withdrawn_is_final() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let draft = reg_op(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("a.example.com", "SERVICES", 1),
    )
    .await;
    let submitted = submit(&app, &p, proposed("b.example.com", "SERVICES", 1)).await;
    let approved = approve(
        &app,
        &submit(&app, &p, proposed("c.example.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    for r in [&draft, &submitted, &approved] {
        let w = reg_op(
            &app,
            &t,
            "withdrawRegistration",
            "RegistrationDecisionInput",
            json!({ "id": r["id"], "expectedVersion": r["version"], "reason": "Customer went quiet" }),
        )
        .await;
        assert_eq!(w["status"], "WITHDRAWN");
        let body = reg_try(
            &app,
            &t,
            "withdrawRegistration",
            "RegistrationDecisionInput",
            json!({ "id": w["id"], "expectedVersion": w["version"] }),
        )
        .await;
        assert_eq!(error_code(&body), "CONFLICT");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WITHDRAWN"));
        let h = history(&app, &r["id"]).await;
        assert_eq!(h.last().unwrap().1, "WITHDRAWN");
    }
    // Withdrawn claims no longer fill a role.
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { rolesFilled } }",
            json!({ "id": approved["opportunity"]["id"] }),
        )
        .await;
    assert_eq!(d["opportunity"]["rolesFilled"], json!([]));
}

#[tokio::test]
async fn roles_are_enforced_on_every_mutation() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let r = submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await;
    let id_v = json!({ "id": r["id"], "expectedVersion": r["version"], "reason": "r" });
    for role in ["SALES"] {
        let t = vendor_token(role);
        for (name, ty, input) in [
            (
                "approveRegistration",
                "ApproveRegistrationInput",
                json!({ "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true }),
            ),
            (
                "rejectRegistration",
                "RegistrationDecisionInput",
                id_v.clone(),
            ),
            (
                "requestRegistrationInfo",
                "RegistrationDecisionInput",
                id_v.clone(),
            ),
        ] {
            let body = reg_try(&app, &t, name, ty, input).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{role} {name}: {body}");
        }
    }
    // The vendor does not register; a partner does not decide.
    let body = reg_try(
        &app,
        &app.vendor,
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": proposed("x.example.com", "SERVICES", 1) }),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = reg_try(
        &app,
        &partner_token(&p),
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true }),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // Rules: ADMIN only.
    for t in [vendor_token("CHANNEL_MANAGER"), partner_token(&p)] {
        let body = app
            .gql(
                &t,
                RULE,
                json!({ "i": { "role": "SERVICES", "expectedVersion": 1, "autoApprove": true } }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    let body = app
        .gql(
            &app.vendor,
            RULE,
            json!({ "i": { "role": "SERVICES", "expectedVersion": 7, "autoApprove": true } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH", "{body}");
    // Nothing changed.
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { status version } }",
            json!({ "id": r["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "SUBMITTED");
    assert_eq!(d["registration"]["version"], r["version"]);
    // The review queue is the vendor's.
    let body = app
        .gql(
            &partner_token(&p),
            "{ reviewQueue { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_registration_and_refuses_another_request() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let send = |partner: String, key: &'static str, domain: &'static str| {
        let app = &app;
        async move {
            reg_op(
                app,
                &partner_token(&partner),
                "submitRegistration",
                "SubmitRegistrationInput",
                json!({ "draft": proposed(domain, "SERVICES", 10), "idempotencyKey": key }),
            )
            .await
        }
    };
    let first = send(p.clone(), "key-1", "acme.com").await;
    let again = send(p.clone(), "key-1", "acme.com").await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["version"], again["version"]);
    // The same key with another request is refused, not answered with the first result.
    let changed = reg_try(
        &app,
        &partner_token(&p),
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": proposed("globex.com", "SERVICES", 10), "idempotencyKey": "key-1" }),
    )
    .await;
    assert_eq!(error_code(&changed), "IDEMPOTENCY_KEY_REUSED", "{changed}");
    assert!(changed["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("key-1"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM registrations").await,
        1,
        "no second row"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.submitted'")
            .await,
        1
    );
    // Keys are per partner.
    let other = send(q, "key-1", "initech.com").await;
    assert_ne!(other["id"], first["id"]);
    let fresh = send(p, "key-2", "umbrella.com").await;
    assert_ne!(fresh["id"], first["id"]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM registrations").await, 3);
}

#[tokio::test]
async fn a_partner_names_only_an_opportunity_it_already_sees() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let acct = app.create_account("Acme", "acme.com").await;
    let hidden = app
        .create_opportunity(&acct, json!({ "name": "Direct" }))
        .await;
    let mut claim = proposed("ignored.com", "SERVICES", 1);
    claim["opportunityId"] = hidden["id"].clone();
    let body = reg_try(
        &app,
        &t,
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": claim }),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let unknown = reg_try(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        json!({ "opportunityId": encode(Kind::Opportunity, 999), "role": "SERVICES", "justification": "x" }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM registrations").await, 0);

    // Once it holds a registration on a deal, it may register another role there.
    let r = submit(&app, &p, proposed("globex.com", "SERVICES", 1)).await;
    let approved = approve(&app, &r, json!({ "createOpportunity": true })).await;
    let opp = approved["opportunity"]["id"].clone();
    let d = app
        .ok(&t, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { status accountDomain dealName opportunity { id } conflicts { kind } } } }",
            json!({ "i": { "draft": { "opportunityId": opp, "role": "INFLUENCER", "justification": "We advise them too" } } }))
        .await;
    let r2 = &d["submitRegistration"]["registration"];
    assert_eq!(r2["opportunity"]["id"], opp);
    assert_eq!(r2["accountDomain"], "globex.com");
    assert_eq!(r2["dealName"], "Deal at globex.com");
    // The same partner twice on one deal, even in another role, is a duplicate claim.
    assert_eq!(r2["status"], "UNDER_REVIEW");
    assert_eq!(
        r2["conflicts"],
        json!([{ "kind": "DUPLICATE_REGISTRATION" }])
    );

    // A proposed deal needs its domain, name and deal name.
    let body = reg_try(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        json!({ "role": "SERVICES", "justification": "x", "accountName": "Acme" }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = reg_try(&app, &t, "createRegistrationDraft", "RegistrationDraftInput",
        json!({ "role": "SERVICES", "justification": "x", "accountDomain": "acme.com", "accountName": "Acme", "dealName": "D", "amount": 5 })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "amount without currency"
    );
}

async fn make_partner(app: &TestApp, name: &str, tier: &str) -> String {
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id tier } } }",
            json!({ "i": { "name": name, "tier": tier } }),
        )
        .await;
    d["createPartner"]["partner"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_auto_approval_policy_approves_at_once_within_tier_and_amount() {
    let app = spawn_app().await;
    let d = app
        .ok(&app.vendor, RULE, json!({ "i": { "role": "SERVICES", "expectedVersion": 1, "autoApprove": true, "autoApproveMinTier": "GOLD", "autoApproveMaxAmount": 100_000 } }))
        .await;
    assert_eq!(
        d["updateCollaborationRule"],
        json!({ "role": "SERVICES", "version": 2, "autoApprove": true, "autoApproveMinTier": "GOLD", "autoApproveMaxAmount": 100_000 })
    );
    let gold = app.create_partner("Gold Co").await;
    let platinum = make_partner(&app, "Platinum Co", "PLATINUM").await;
    let silver = make_partner(&app, "Silver Co", "SILVER").await;

    let r = submit(&app, &gold, proposed("a.example.com", "SERVICES", 100_000)).await;
    assert_eq!(r["status"], "APPROVED", "{r}");
    assert_eq!(r["decision"]["automatic"], true);
    assert_eq!(r["decision"]["decidedBy"], "policy:auto-approval");
    assert!(r["protectionExpiresAt"].is_string());
    let opp = r["opportunity"]["id"].clone();
    assert!(opp.is_string(), "a proposed deal gets its opportunity");
    let d = app
        .ok(&app.vendor, "query($id: ID!) { opportunity(id: $id) { owner account { domain } registrations { id } } }", json!({ "id": opp }))
        .await;
    assert_eq!(d["opportunity"]["account"]["domain"], "a.example.com");
    assert_eq!(
        steps(&history(&app, &r["id"]).await),
        ["->DRAFT", "DRAFT>SUBMITTED", "SUBMITTED>APPROVED"]
    );
    assert_eq!(history(&app, &r["id"]).await[2].2, "policy:auto-approval");

    let r = submit(&app, &platinum, proposed("b.example.com", "SERVICES", 5)).await;
    assert_eq!(r["status"], "APPROVED");
    for (who, draft, why) in [
        (
            &silver,
            proposed("c.example.com", "SERVICES", 5),
            "tier under GOLD",
        ),
        (
            &gold,
            proposed("d.example.com", "SERVICES", 100_001),
            "amount over the cap",
        ),
        (
            &gold,
            proposed("e.example.com", "ISV", 5),
            "another role's rule",
        ),
    ] {
        let r = submit(&app, who, draft).await;
        assert_eq!(r["status"], "SUBMITTED", "{why}");
        assert!(r["decision"].is_null());
        assert!(r["opportunity"].is_null());
    }
    let mut no_amount = proposed("f.example.com", "SERVICES", 0);
    no_amount.as_object_mut().unwrap().remove("amount");
    no_amount.as_object_mut().unwrap().remove("currency");
    assert_eq!(
        submit(&app, &gold, no_amount).await["status"],
        "SUBMITTED",
        "an unknown amount is not under the cap"
    );
    // Clearing the cap and the tier lets everyone through.
    app.ok(&app.vendor, RULE, json!({ "i": { "role": "SERVICES", "expectedVersion": 2, "clearAutoApproveMinTier": true, "clearAutoApproveMaxAmount": true } }))
        .await;
    let r = submit(
        &app,
        &silver,
        proposed("g.example.com", "SERVICES", 10_000_000),
    )
    .await;
    assert_eq!(r["status"], "APPROVED");
}

#[tokio::test]
async fn closing_the_opportunity_turns_approved_claims_won_or_lost() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let mut opps = Vec::new();
    for (domain, stage) in [
        ("won.example.com", "CLOSED_WON"),
        ("lost.example.com", "CLOSED_LOST"),
    ] {
        let a = approve(
            &app,
            &submit(&app, &p, proposed(domain, "SERVICES", 1)).await,
            json!({ "createOpportunity": true }),
        )
        .await;
        let opp = a["opportunity"]["id"].clone();
        // A second partner's open (not approved) claim on the same deal stays as it is.
        let open = submit(&app, &q, proposed(domain, "INFLUENCER", 1)).await;
        assert_eq!(open["status"], "SUBMITTED");
        let d = app
            .ok(
                &app.vendor,
                MOVE,
                json!({ "i": { "id": opp, "expectedVersion": 1, "stage": stage } }),
            )
            .await;
        assert_eq!(d["moveOpportunityStage"]["opportunity"]["stage"], stage);
        opps.push((a, open, stage));
    }
    for (a, open, stage) in opps {
        let d = app
            .ok(&app.vendor, "query($a: ID!, $b: ID!) { a: registration(id: $a) { status protectionExpiresAt opportunity { rolesFilled } } b: registration(id: $b) { status } }",
                json!({ "a": a["id"], "b": open["id"] }))
            .await;
        let want = if stage == "CLOSED_WON" { "WON" } else { "LOST" };
        assert_eq!(d["a"]["status"], want);
        assert_eq!(d["b"]["status"], "SUBMITTED");
        let h = history(&app, &a["id"]).await;
        assert_eq!(h.last().unwrap().1, want);
        assert_eq!(h.last().unwrap().0, "APPROVED");
        let filled = if want == "WON" {
            json!(["SERVICES"])
        } else {
            json!([])
        };
        assert_eq!(d["a"]["opportunity"]["rolesFilled"], filled);
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.won'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.lost'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_sweeps_expire_each_registration_once() {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 0).await;
    let p = app.create_partner("Northwind").await;
    let mut regs = Vec::new();
    for d in [
        "a.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
    ] {
        regs.push(
            approve(
                &app,
                &submit(&app, &p, proposed(d, "SERVICES", 1)).await,
                json!({ "createOpportunity": true }),
            )
            .await,
        );
    }
    // Nothing is due yet.
    assert_eq!(
        cosell::db::registrations::lifecycle::expire_due(&app.db)
            .await
            .unwrap(),
        0
    );
    for r in &regs[..3] {
        expire_window(&app, Some(num(&r["id"]))).await;
    }
    let (a, b) = tokio::join!(
        cosell::db::registrations::lifecycle::expire_due(&app.db),
        cosell::db::registrations::lifecycle::expire_due(&app.db)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 3);
    // Called directly, not through a request: move the queued events into the outbox as the
    // hub does (PostgreSQL; nothing to do on SQLite).
    cosell::db::events::relay(&app.db).await.unwrap();
    for (i, r) in regs.iter().enumerate() {
        let events = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM events WHERE topic = 'registration.expired' AND subject_id = '{}'",
                r["id"].as_str().unwrap()
            ))
            .await;
        let d = app
            .ok(
                &app.vendor,
                "query($id: ID!) { registration(id: $id) { status } }",
                json!({ "id": r["id"] }),
            )
            .await;
        if i < 3 {
            assert_eq!(events, 1);
            assert_eq!(d["registration"]["status"], "EXPIRED");
            let h = history(&app, &r["id"]).await;
            assert_eq!(
                h.iter().filter(|s| s.1 == "EXPIRED").count(),
                1,
                "one transition"
            );
            assert_eq!(h.last().unwrap().2, "system:protection-expiry");
        } else {
            assert_eq!(events, 0);
            assert_eq!(d["registration"]["status"], "APPROVED");
        }
    }
    assert_eq!(
        cosell::db::registrations::lifecycle::expire_due(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_background_job_expires_a_passed_window() {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 1).await;
    let p = app.create_partner("Northwind").await;
    let r = approve(
        &app,
        &submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    let keep = approve(
        &app,
        &submit(&app, &p, proposed("globex.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    expire_window(&app, Some(num(&r["id"]))).await;
    let t = partner_token(&p);
    let mut status = String::new();
    for _ in 0..50 {
        let d = app
            .ok(
                &t,
                "query($id: ID!) { registration(id: $id) { status } }",
                json!({ "id": r["id"] }),
            )
            .await;
        status = d["registration"]["status"].as_str().unwrap().to_string();
        if status == "EXPIRED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, "EXPIRED");
    let d = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status } }",
            json!({ "id": keep["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "APPROVED");
}

#[tokio::test]
async fn protection_extensions_are_requested_by_the_partner_and_granted_by_the_vendor() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let open = submit(&app, &p, proposed("open.example.com", "SERVICES", 1)).await;
    let r = approve(
        &app,
        &submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    const REQ: &str = "mutation($i: ProtectionExtensionInput!) { requestProtectionExtension(input: $i) { registration { version protectionExpiresAt extensionRequest { days reason } } } }";
    const EXT: &str = "mutation($i: ProtectionExtensionInput!) { extendRegistrationProtection(input: $i) { registration { version protectionExpiresAt extensionRequest { days } } } }";
    let body = app
        .gql(
            &t,
            REQ,
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 30 } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a partner gives a reason"
    );
    let body = app.gql(&t, REQ, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 366, "reason": "x" } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.gql(&t, REQ, json!({ "i": { "id": open["id"], "expectedVersion": open["version"], "days": 30, "reason": "x" } })).await;
    assert_eq!(error_code(&body), "CONFLICT", "only APPROVED registrations");
    let d = app.ok(&t, REQ, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 30, "reason": "Long procurement" } })).await;
    let asked = &d["requestProtectionExtension"]["registration"];
    assert_eq!(
        asked["extensionRequest"],
        json!({ "days": 30, "reason": "Long procurement" })
    );
    assert_eq!(asked["protectionExpiresAt"], r["protectionExpiresAt"]);

    let body = app
        .gql(
            &vendor_token("SALES"),
            EXT,
            json!({ "i": { "id": r["id"], "expectedVersion": asked["version"], "days": 30 } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let d = app
        .ok(
            &app.vendor,
            EXT,
            json!({ "i": { "id": r["id"], "expectedVersion": asked["version"], "days": 30 } }),
        )
        .await;
    let ext = &d["extendRegistrationProtection"]["registration"];
    assert!(ext["extensionRequest"].is_null());
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (parse(&ext["protectionExpiresAt"]) - parse(&r["protectionExpiresAt"])).num_days(),
        30
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.protection_extended'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_review_queue_lists_waiting_claims_oldest_first_with_filters() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = submit(&app, &q, proposed("b.example.com", "REFERRAL", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A duplicate claim, held by a conflict.
    let c = submit(&app, &p, proposed("a.example.com", "INFLUENCER", 1)).await;
    assert_eq!(c["status"], "UNDER_REVIEW");
    // Neither a draft nor a decided claim waits.
    reg_op(
        &app,
        &partner_token(&p),
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("d.example.com", "SERVICES", 1),
    )
    .await;
    let e = submit(&app, &q, proposed("e.example.com", "SERVICES", 1)).await;
    approve(&app, &e, json!({ "createOpportunity": true })).await;

    const QUEUE: &str = "query($f: RegistrationFilter) { reviewQueue(filter: $f) { totalCount nodes { id status } } }";
    let ids = |d: &Value| -> Vec<Value> {
        d["reviewQueue"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect()
    };
    let d = app.ok(&app.vendor, QUEUE, json!({})).await;
    assert_eq!(ids(&d), [a["id"].clone(), b["id"].clone(), c["id"].clone()]);
    assert_eq!(d["reviewQueue"]["totalCount"], 3);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "partnerId": q } }))
        .await;
    assert_eq!(ids(&d), [b["id"].clone()]);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "role": "INFLUENCER" } }))
        .await;
    assert_eq!(ids(&d), [c["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "hasOpenConflict": true } }),
        )
        .await;
    assert_eq!(ids(&d), [c["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "hasOpenConflict": false } }),
        )
        .await;
    assert_eq!(ids(&d), [a["id"].clone(), b["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { submittedAt } }",
            json!({ "id": b["id"] }),
        )
        .await;
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "submittedBefore": d["registration"]["submittedAt"] } }),
        )
        .await;
    assert_eq!(ids(&d), [a["id"].clone()]);
    // With the default 48-hour SLA nothing is late yet.
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "slaBreached": true } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 0);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "slaBreached": false } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 3);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "statusIn": ["APPROVED"] } }),
        )
        .await;
    assert_eq!(ids(&d), [e["id"].clone()]);
}

#[tokio::test]
async fn with_a_zero_hour_sla_every_waiting_claim_is_breached() {
    let app = spawn_app_with(|s| s.program.review_sla_hours = 0).await;
    let p = app.create_partner("Northwind").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    let b = submit(&app, &p, proposed("b.example.com", "SERVICES", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let d = app
        .ok(&app.vendor, "{ late: reviewQueue(filter: { slaBreached: true }) { totalCount nodes { id } } onTime: reviewQueue(filter: { slaBreached: false }) { totalCount } }", json!({}))
        .await;
    assert_eq!(d["late"]["totalCount"], 2);
    assert_eq!(
        d["late"]["nodes"],
        json!([{ "id": a["id"] }, { "id": b["id"] }])
    );
    assert_eq!(d["onTime"]["totalCount"], 0);
}

#[tokio::test]
async fn bulk_decisions_report_each_item_and_a_stale_one_fails_alone() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let mut regs = Vec::new();
    for d in ["a.example.com", "b.example.com", "c.example.com"] {
        regs.push(submit(&app, &p, proposed(d, "SERVICES", 1)).await);
    }
    const BULK: &str = "mutation($d: BulkDecision!, $items: [BulkItemInput!]!, $r: String) { bulkDecideRegistrations(decision: $d, items: $items, reason: $r) { id ok errorCode errorMessage status version } }";
    let items = json!([
        { "id": regs[0]["id"], "expectedVersion": regs[0]["version"] },
        { "id": regs[1]["id"], "expectedVersion": 99 },
        { "id": regs[2]["id"], "expectedVersion": regs[2]["version"] },
        { "id": encode(Kind::Registration, 999), "expectedVersion": 1 },
    ]);
    let d = app
        .ok(
            &app.vendor,
            BULK,
            json!({ "d": "APPROVE", "items": items, "r": "Quarter push" }),
        )
        .await;
    let out = d["bulkDecideRegistrations"].as_array().unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["ok"], true);
    assert_eq!(out[0]["status"], "APPROVED");
    assert_eq!(out[0]["id"], regs[0]["id"]);
    assert_eq!(out[1]["ok"], false);
    assert_eq!(out[1]["errorCode"], "VERSION_MISMATCH");
    assert!(out[1]["status"].is_null());
    assert_eq!(out[2]["ok"], true);
    assert_eq!(out[3]["errorCode"], "NOT_FOUND");
    let d = app
        .ok(
            &app.vendor,
            "{ registrations { nodes { status opportunity { id } decision { reason } } } }",
            json!({}),
        )
        .await;
    let nodes = d["registrations"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["status"], "APPROVED");
    assert!(
        nodes[0]["opportunity"]["id"].is_string(),
        "bulk approval creates the deal"
    );
    assert_eq!(nodes[0]["decision"]["reason"], "Quarter push");
    assert_eq!(nodes[1]["status"], "SUBMITTED");
    assert_eq!(nodes[2]["status"], "APPROVED");

    // Rejection needs the shared reason; each item fails on its own.
    let items = json!([{ "id": regs[1]["id"], "expectedVersion": regs[1]["version"] }]);
    let d = app
        .ok(&app.vendor, BULK, json!({ "d": "REJECT", "items": items }))
        .await;
    assert_eq!(
        d["bulkDecideRegistrations"][0]["errorCode"],
        "BAD_USER_INPUT"
    );
    let d = app
        .ok(
            &app.vendor,
            BULK,
            json!({ "d": "REJECT", "items": items, "r": "Duplicate lead" }),
        )
        .await;
    assert_eq!(d["bulkDecideRegistrations"][0]["status"], "REJECTED");
    let body = app
        .gql(
            &vendor_token("SALES"),
            BULK,
            json!({ "d": "REJECT", "items": items, "r": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(
            &app.vendor,
            BULK,
            json!({ "d": "REJECT", "items": [], "r": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

const NESTED: &str = "query($n: Int) { opportunities(first: $n) { nodes { name
  registrations { partner { name } history { toStatus } conflicts { kind } } rolesFilled } } }";

#[tokio::test]
async fn a_page_of_deals_with_registrations_costs_the_same_for_2_or_10() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    for i in 0..10 {
        let a = approve(
            &app,
            &submit(
                &app,
                &p,
                proposed(&format!("d{i}.example.com"), "SERVICES", 1),
            )
            .await,
            json!({ "createOpportunity": true }),
        )
        .await;
        // The same partner again on the same deal: a held duplicate with a conflict.
        let mut again = proposed("x.com", "SERVICES", 1);
        again["opportunityId"] = a["opportunity"]["id"].clone();
        let dup = submit(&app, &p, again).await;
        assert_eq!(dup["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
        // And another partner in another role.
        let other = submit(
            &app,
            &q,
            proposed(&format!("d{i}.example.com"), "INFLUENCER", 1),
        )
        .await;
        approve(
            &app,
            &other,
            json!({ "opportunityId": a["opportunity"]["id"] }),
        )
        .await;
    }
    let (small, d) = app
        .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 2 })))
        .await;
    assert_eq!(d["opportunities"]["nodes"].as_array().unwrap().len(), 2);
    let (large, d) = app
        .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 10 })))
        .await;
    let nodes = d["opportunities"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 10);
    for n in nodes {
        let regs = n["registrations"].as_array().unwrap();
        assert_eq!(regs.len(), 3, "{n}");
        assert_eq!(regs[1]["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
        assert_eq!(regs[2]["partner"]["name"], "Contoso");
        assert!(regs[0]["history"].as_array().unwrap().len() >= 4);
        assert_eq!(n["rolesFilled"], json!(["INFLUENCER", "SERVICES"]));
    }
    assert_eq!(
        small, large,
        "statements must not grow with rows ({small} vs {large})"
    );
}

const FIGURES: &str =
    "{ programFigures { overall { submitted approved rejected approvalRate medianHoursToDecision }
  byRole { role figures { submitted approved } } byStatus { status count } } }";

#[tokio::test]
async fn program_figures_count_decisions_by_role_and_status() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    approve(&app, &a, json!({ "createOpportunity": true })).await;
    let b = submit(&app, &p, proposed("b.example.com", "REFERRAL", 1)).await;
    reg_op(
        &app,
        &app.vendor,
        "rejectRegistration",
        "RegistrationDecisionInput",
        json!({ "id": b["id"], "expectedVersion": b["version"], "reason": "No" }),
    )
    .await;
    submit(&app, &p, proposed("c.example.com", "SERVICES", 1)).await;
    reg_op(
        &app,
        &partner_token(&p),
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("d.example.com", "SERVICES", 1),
    )
    .await;
    let d = app.ok(&app.vendor, FIGURES, json!({})).await;
    let f = &d["programFigures"];
    assert_eq!(f["overall"]["submitted"], 3, "drafts excluded");
    assert_eq!(f["overall"]["approved"], 1);
    assert_eq!(f["overall"]["rejected"], 1);
    assert_eq!(f["overall"]["approvalRate"], 0.5);
    assert!(f["overall"]["medianHoursToDecision"].as_f64().unwrap() < 0.1);
    assert_eq!(f["byRole"].as_array().unwrap().len(), 2);
    let services = f["byRole"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "SERVICES")
        .unwrap();
    assert_eq!(
        services["figures"],
        json!({ "submitted": 2, "approved": 1 })
    );
    let referral = f["byRole"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "REFERRAL")
        .unwrap();
    assert_eq!(
        referral["figures"],
        json!({ "submitted": 1, "approved": 0 })
    );
    let statuses = f["byStatus"].as_array().unwrap();
    assert_eq!(statuses.len(), 10, "every status listed");
    let count = |s: &str| {
        statuses.iter().find(|x| x["status"] == s).unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (
            count("APPROVED"),
            count("REJECTED"),
            count("SUBMITTED"),
            count("DRAFT"),
            count("WON")
        ),
        (1, 1, 1, 1, 0)
    );
}

#[tokio::test]
async fn a_draft_withdrawn_before_submission_is_not_counted_as_submitted() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let draft = reg_op(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("a.example.com", "SERVICES", 1),
    )
    .await;
    reg_op(
        &app,
        &t,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": draft["id"], "expectedVersion": draft["version"] }),
    )
    .await;
    let d = app
        .ok(
            &t,
            "{ programFigures { overall { submitted } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["programFigures"]["overall"]["submitted"], 0,
        "DecisionFigures.submitted is 'registrations submitted at least once (drafts excluded)'"
    );
}
