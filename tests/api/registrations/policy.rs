//! Collaboration rules: who changes them, the values they accept, and the auto-approval policy.

use serde_json::json;

use super::*;
use crate::helpers::*;

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
        d["updateCollaborationRule"]["rule"],
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
async fn only_admins_change_collaboration_rules_with_checked_values_that_take_effect() {
    let app = spawn_app().await;
    let north = app.partner("Northwind").await;
    let contoso = app.partner("Contoso").await;
    let exclusive = json!({ "i": { "role": "SERVICES", "expectedVersion": 1, "exclusive": true } });
    let body = app
        .gql(&vendor_token("CHANNEL_MANAGER"), RULE, exclusive.clone())
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app.gql(&north.token, RULE, exclusive.clone()).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .gql(&app.vendor, RULE, json!({ "i": { "role": "SERVICES", "expectedVersion": 1, "attributionWeightBps": 10001 } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let d = app.ok(&app.vendor, RULE, exclusive.clone()).await;
    assert_eq!(d["updateCollaborationRule"]["rule"]["version"], 2);
    assert_eq!(
        error_code(&app.gql(&app.vendor, RULE, exclusive).await),
        "VERSION_MISMATCH"
    );
    // Partners read the rules, and SERVICES is now exclusive: a second claim is held.
    let d = app
        .ok(
            &north.token,
            "{ collaborationRules { role exclusive } }",
            json!({}),
        )
        .await;
    let rules = d["collaborationRules"].as_array().unwrap();
    assert_eq!(rules.len(), 7);
    assert!(rules
        .iter()
        .any(|r| r["role"] == "SERVICES" && r["exclusive"] == true));
    submit(&app, &north.id, proposed("globex.com", "SERVICES", 1)).await;
    let held = submit(&app, &contoso.id, proposed("globex.com", "SERVICES", 1)).await;
    assert_eq!(held["status"], "UNDER_REVIEW");
    assert_eq!(held["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
}
