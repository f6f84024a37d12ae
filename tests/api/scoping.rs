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
