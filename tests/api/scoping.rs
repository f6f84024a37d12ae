//! What a partner may see: the data-access queries are scoped, so every path agrees (lists,
//! counts, lookups, `node(id)`, `nodes(ids)`, errors).

use cosell::ids::{encode, Kind};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn partners_see_their_own_organisation_and_no_opportunity_yet() {
    let app = spawn_app().await;
    let north = app.create_partner("Northwind").await;
    let contoso = app.create_partner("Contoso").await;
    let fabrikam = app.create_partner("Fabrikam").await;
    let acct = app.create_account("Acme", "acme.com").await;
    let opp = app
        .create_opportunity(&acct, json!({ "name": "Secret deal" }))
        .await;
    let opp_id = opp["id"].as_str().unwrap();

    for (me, others) in [
        (&north, [&contoso, &fabrikam]),
        (&contoso, [&north, &fabrikam]),
    ] {
        let t = partner_token(me);
        let d = app
            .ok(&t, "{ partners { totalCount nodes { id } } opportunities { totalCount nodes { id } } accounts { totalCount } }", json!({}))
            .await;
        assert_eq!(d["partners"]["totalCount"], 1);
        assert_eq!(d["partners"]["nodes"][0]["id"], me.as_str());
        assert_eq!(d["opportunities"], json!({ "totalCount": 0, "nodes": [] }));
        assert_eq!(d["accounts"]["totalCount"], 0);

        let unknown_partner = encode(Kind::Partner, 999);
        let q = "query($id: ID!) { partner(id: $id) { name } }";
        let foreign = app.gql(&t, q, json!({ "id": others[0] })).await;
        let missing = app.gql(&t, q, json!({ "id": unknown_partner })).await;
        assert_eq!(error_code(&foreign), "NOT_FOUND");
        assert_eq!(
            foreign["errors"][0]["message"], missing["errors"][0]["message"],
            "a foreign id answers like a missing one"
        );
        assert!(foreign["data"].is_null());

        let q = "query($id: ID!) { opportunity(id: $id) { name } }";
        let foreign = app.gql(&t, q, json!({ "id": opp_id })).await;
        let missing = app
            .gql(&t, q, json!({ "id": encode(Kind::Opportunity, 999) }))
            .await;
        assert_eq!(error_code(&foreign), "NOT_FOUND");
        assert_eq!(foreign["errors"], missing["errors"]);

        let d = app
            .ok(&t, "query($ids: [ID!]!) { nodes(ids: $ids) { id } node(id: \"T3Bwb3J0dW5pdHk6MQ\") { id } }", json!({ "ids": [others[0], others[1], opp_id, acct, me] }))
            .await;
        assert_eq!(d["nodes"], json!([null, null, null, null, { "id": me }]));
        assert!(d["node"].is_null());
        let text = app
            .gql(
                &t,
                "{ opportunities { nodes { name forecastNotes } } }",
                json!({}),
            )
            .await
            .to_string();
        assert!(!text.contains("Secret deal") && !text.contains("internal only"));
    }
}

#[tokio::test]
async fn node_resolves_every_type_for_the_vendor_and_refuses_garbage() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let a = app.create_account("Acme", "acme.com").await;
    let o = app.create_opportunity(&a, json!({})).await;
    let d = app
        .ok(
            &app.vendor,
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
            json!({ "ids": [p, a, o["id"]] }),
        )
        .await;
    let types: Vec<&str> = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Partner", "Account", "Opportunity"]);
    let d = app
        .ok(&app.vendor, "query($id: ID!) { node(id: $id) { ... on Opportunity { name forecastNotes probability } } }", json!({ "id": o["id"] }))
        .await;
    assert_eq!(d["node"]["forecastNotes"], "internal only");
    let body = app
        .gql(
            &app.vendor,
            "{ node(id: \"definitely-not-an-id\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { id } }",
            json!({ "id": p }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "NOT_FOUND",
        "an id of another type is not an opportunity"
    );
    let many: Vec<String> = (1..=101).map(|i| encode(Kind::Partner, i)).collect();
    let body = app
        .gql(
            &app.vendor,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": many }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_app_acting_for_a_partner_sees_what_that_partner_sees() {
    let app = spawn_app().await;
    let north = app.create_partner("Northwind").await;
    app.create_partner("Contoso").await;
    let acct = app.create_account("Acme", "acme.com").await;
    app.create_opportunity(&acct, json!({})).await;
    let t = app_token("partners:read opportunities:read", Some(&north));
    let d = app
        .ok(
            &t,
            "{ viewer { partner { name } } partners { totalCount } opportunities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(d["viewer"]["partner"]["name"], "Northwind");
    assert_eq!(d["partners"]["totalCount"], 1);
    assert_eq!(d["opportunities"]["totalCount"], 0);
}

#[tokio::test]
async fn program_terms_need_the_registrations_scope_for_apps() {
    let app = spawn_app().await;
    let p = app.create_partner("Terms Reader").await;
    let reads = [
        ("collaborationRules", "{ collaborationRules { role } }"),
        (
            "attributionSettings",
            "{ attributionSettings { defaultModel } }",
        ),
        ("incentiveRates", "{ incentiveRates { tier } }"),
    ];
    let bare = app_token("", Some(&p));
    let vendor_app = app_token("opportunities:read", None);
    let allowed = app_token("registrations:read", Some(&p));
    for (field, q) in reads {
        for t in [&bare, &vendor_app] {
            let body = app.gql(t, q, json!({})).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{field}: {body}");
            assert!(body["data"][field].is_null(), "{field}: {body}");
        }
        for t in [&allowed, &partner_token(&p), &app.vendor] {
            let body = app.gql(t, q, json!({})).await;
            assert!(body.get("errors").is_none(), "{field}: {body}");
        }
    }
}

/// The id of the newest event in the outbox (the vendor sees them all), as a resume cursor.
async fn newest_event(app: &TestApp) -> serde_json::Value {
    let mut newest = serde_json::Value::Null;
    loop {
        let d = app
            .ok(
                &app.vendor,
                "query($a: ID) { events(after: $a, first: 100) { id: cursor } }",
                json!({ "a": newest }),
            )
            .await;
        match d["events"].as_array().unwrap().last() {
            Some(e) => newest = e["id"].clone(),
            None => return newest,
        }
    }
}

/// What `token` sees of deal `opp`: whether it is in its list, and its `opportunity(id)` answer.
async fn sight_of(app: &TestApp, token: &str, opp: &serde_json::Value) -> (i64, serde_json::Value) {
    let list = app
        .ok(token, "{ opportunities { totalCount } }", json!({}))
        .await;
    let one = app
        .gql(
            token,
            "query($id: ID!) { opportunity(id: $id) { name } node(id: $id) { id } }",
            json!({ "id": opp }),
        )
        .await;
    (list["opportunities"]["totalCount"].as_i64().unwrap(), one)
}

#[tokio::test]
async fn a_parked_draft_keeps_no_deal_in_sight_once_the_partners_claims_end() {
    use crate::registrations::{approve, proposed, reg_op, reg_try, submit};
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let first = submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await;
    let first = approve(&app, &first, json!({ "createOpportunity": true })).await;
    let opp = first["opportunity"]["id"].clone();
    // While its claim stands, it parks a draft on the deal and sends a second claim.
    let draft = reg_op(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        json!({ "opportunityId": opp, "role": "INFLUENCER", "justification": "Later" }),
    )
    .await;
    assert_eq!(draft["status"], "DRAFT");
    let second = reg_op(&app, &t, "submitRegistration", "SubmitRegistrationInput",
        json!({ "draft": { "opportunityId": opp, "role": "REFERRAL", "justification": "We referred them" } })).await;
    assert_eq!(second["status"], "UNDER_REVIEW");

    // Withdrawing the approved claim leaves the one under review: the deal stays in sight.
    reg_op(
        &app,
        &t,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": first["id"], "expectedVersion": first["version"] }),
    )
    .await;
    let (count, one) = sight_of(&app, &t, &opp).await;
    assert_eq!(count, 1);
    assert_eq!(one["data"]["opportunity"]["name"], "Deal at acme.com");

    // The vendor rejects that one: only the draft is left, and a draft is no claim.
    reg_op(&app, &app.vendor, "rejectRegistration", "RegistrationDecisionInput",
        json!({ "id": second["id"], "expectedVersion": second["version"], "reason": "Not involved" })).await;
    let cursor = newest_event(&app).await;
    let (count, one) = sight_of(&app, &t, &opp).await;
    let missing = sight_of(&app, &t, &json!(encode(Kind::Opportunity, 999)))
        .await
        .1;
    assert_eq!(count, 0);
    assert_eq!(error_code(&one), "NOT_FOUND", "{one}");
    assert_eq!(one["errors"][0]["message"], missing["errors"][0]["message"]);
    let mine = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status opportunity { id } } }",
            json!({ "id": draft["id"] }),
        )
        .await;
    assert_eq!(
        mine["registration"],
        json!({ "status": "DRAFT", "opportunity": null })
    );

    // Changes to the deal no longer reach it.
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": opp, "expectedVersion": 1, "name": "Acme renewal" } }))
        .await;
    let vendor_heard = app
        .ok(
            &app.vendor,
            "query($a: ID) { events(after: $a, first: 100) { topic } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(
        vendor_heard["events"],
        json!([{ "topic": "opportunity.updated" }])
    );
    let heard = app
        .ok(
            &t,
            "query($a: ID) { events(after: $a, first: 100) { topic } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(heard["events"], json!([]), "{heard}");

    // Nor can the draft be sent: it names a deal the partner no longer holds a claim on.
    let body = reg_try(
        &app,
        &t,
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "id": draft["id"], "expectedVersion": draft["version"] }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "id", "{body}");
    assert!(!body.to_string().contains("renewal"));
    let status = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status version } }",
            json!({ "id": draft["id"] }),
        )
        .await;
    assert_eq!(
        status["registration"],
        json!({ "status": "DRAFT", "version": draft["version"] })
    );
}

#[tokio::test]
async fn partners_see_where_a_deal_moved_and_when_but_not_who_moved_it_or_why() {
    use crate::registrations::{approve, proposed, submit, MOVE};
    let app = spawn_app().await;
    let (p, q) = (
        app.create_partner("Northwind").await,
        app.create_partner("Contoso").await,
    );
    let reg = submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await;
    let reg = approve(&app, &reg, json!({ "createOpportunity": true })).await;
    let opp = reg["opportunity"]["id"].clone();
    let before = newest_event(&app).await;
    app.ok(&app.vendor, MOVE, json!({ "i": { "id": opp, "expectedVersion": 1, "stage": "QUALIFICATION", "reason": "Budget confirmed by the CFO" } }))
        .await;

    let history = "query($id: ID!) { opportunity(id: $id) { stageHistory { fromStage toStage changedBy reason changedAt } } }";
    let vendor = app.ok(&app.vendor, history, json!({ "id": opp })).await;
    let moved = &vendor["opportunity"]["stageHistory"][1];
    assert_eq!(moved["reason"], "Budget confirmed by the CFO");
    assert!(moved["changedBy"].is_string());
    let partner = app
        .ok(&partner_token(&p), history, json!({ "id": opp }))
        .await;
    let entries = partner["opportunity"]["stageHistory"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        // The vendor's people are `vendor` to partners (auth::actor); the reason is internal.
        assert!(e["changedBy"] == "vendor" && e["reason"].is_null(), "{e}");
        assert!(e["changedAt"].is_string());
    }
    assert_eq!(entries[1]["toStage"], "QUALIFICATION");

    // The vendor hears of the move once, with its reason; the partner on the deal once,
    // without; a partner not on it not at all.
    let events = "query($a: ID) { events(after: $a, first: 100) { topic payload } }";
    let heard = app.ok(&app.vendor, events, json!({ "a": before })).await;
    assert_eq!(heard["events"].as_array().unwrap().len(), 1, "{heard}");
    assert_eq!(
        heard["events"][0]["payload"]["reason"],
        "Budget confirmed by the CFO"
    );
    let heard = app
        .ok(&partner_token(&p), events, json!({ "a": before }))
        .await;
    let told = heard["events"].as_array().unwrap();
    assert_eq!(told.len(), 1, "{heard}");
    assert_eq!(told[0]["topic"], "opportunity.stage_changed");
    assert_eq!(told[0]["payload"]["to"], "QUALIFICATION");
    assert!(!heard.to_string().contains("CFO"), "{heard}");
    assert!(told[0]["payload"].get("reason").is_none());
    let heard = app
        .ok(&partner_token(&q), events, json!({ "a": before }))
        .await;
    assert_eq!(heard["events"], json!([]));
}
