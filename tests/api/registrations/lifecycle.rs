//! A claim's lifecycle: drafts, submission, decisions, information requests, withdrawal,
//! roles, idempotent submission, naming a deal, and closing the deal won or lost.

use cosell::ids::{encode, Kind};
use sea_orm::ConnectionTrait;
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

#[tokio::test]
async fn a_proposed_deal_needs_a_deal_to_be_approved_and_a_won_claim_is_final() {
    let app = spawn_app().await;
    let p = app.partner("Northwind").await;
    let r = submit(&app, &p.id, proposed("acme.com", "RESELLER", 500_000)).await;
    let body = reg_try(
        &app,
        &app.vendor,
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": r["id"], "expectedVersion": r["version"] }),
    )
    .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a proposed deal needs opportunityId or createOpportunity: {body}"
    );
    let a = approve(&app, &r, json!({ "createOpportunity": true })).await;
    app.ok(
        &app.vendor,
        MOVE,
        json!({ "i": { "id": a["opportunity"]["id"], "expectedVersion": 1, "stage": "CLOSED_WON" } }),
    )
    .await;
    let won = app
        .ok(
            &p.token,
            "query($id: ID!) { registration(id: $id) { status version } }",
            json!({ "id": r["id"] }),
        )
        .await["registration"]
        .clone();
    assert_eq!(won["status"], "WON");
    let body = reg_try(
        &app,
        &p.token,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": r["id"], "expectedVersion": won["version"] }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WON"),
        "{body}"
    );
    // One event per step the history records, in order; the review an approval starts on its
    // own is part of the approval's event.
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT topic FROM events WHERE topic LIKE 'registration.%' ORDER BY id",
        ))
        .await
        .unwrap();
    let topics: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert_eq!(
        topics,
        [
            "registration.draft",
            "registration.submitted",
            "registration.approved",
            "registration.won"
        ]
    );
}
