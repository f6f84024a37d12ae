//! What a claim may ask for: the roles that may take each decision, idempotent submission,
//! and naming a deal the partner already sees.

use cosell::ids::{encode, Kind};
use serde_json::json;

use super::*;
use crate::helpers::*;

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
