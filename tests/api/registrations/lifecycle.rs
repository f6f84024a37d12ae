//! A claim's lifecycle: drafts, submission, decisions, information requests and withdrawal.

use serde_json::json;

use super::*;
use crate::helpers::*;

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
        .ok(&cm, "mutation($id: ID!, $v: Int!) { startRegistrationReview(input: { id: $id, expectedVersion: $v }) { registration { status version } } }",
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
        .gql(&app.vendor, "mutation($id: ID!, $v: Int!) { startRegistrationReview(input: { id: $id, expectedVersion: $v }) { registration { id } } }",
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
        .ok(&app.vendor, "mutation($id: ID!, $v: Int!) { startRegistrationReview(input: { id: $id, expectedVersion: $v }) { registration { version } } }",
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
