//! Attribution over HTTP: each model, exact sums, the freeze on CLOSED_WON, audited corrections,
//! incentives, statements, three partners' privacy and the statement count of a page of won deals.

use serde_json::{json, Value};

use crate::helpers::*;

const SPLIT: &str = "query($id: ID!) { opportunity(id: $id) { attribution { model finalized version
  rows { party partner { name } role shareBps amount { amount currency } incentiveRateBps incentive { amount } }
  history { number current reason } } } }";
const SET: &str = "mutation($i: SetAttributionModelInput!) { setAttributionModel(input: $i) { opportunity { attribution { model rows { shareBps amount { amount } } } } } }";

struct ThreePartnerDeal {
    opp: String,
    partners: Vec<String>,
}

/// Three partners on one 100,000.00 USD deal: RESELLER, SYSTEM_INTEGRATOR and SERVICES.
async fn three_partner_deal(app: &TestApp, domain: &str) -> ThreePartnerDeal {
    let mut members = Vec::new();
    for n in ["Reseller", "Integrator", "Services"] {
        members.push(app.partner(&format!("{n} {domain}")).await);
    }
    let roles = ["RESELLER", "SYSTEM_INTEGRATOR", "SERVICES"];
    let claims: Vec<(&Member, &str)> = members.iter().zip(roles).collect();
    let deal = app.approved_deal(domain, &claims).await;
    ThreePartnerDeal {
        opp: deal.opportunity,
        partners: members.into_iter().map(|m| m.id).collect(),
    }
}

fn column(split: &Value, f: &str) -> Vec<i64> {
    split["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            if f == "amount" {
                r["amount"]["amount"].as_i64().unwrap()
            } else {
                r[f].as_i64().unwrap()
            }
        })
        .collect()
}

#[tokio::test]
async fn every_model_splits_exactly_and_bad_manual_input_changes_nothing() {
    let app = spawn_app().await;
    let deal = three_partner_deal(&app, "acme.com").await;
    let d = app.ok(&app.vendor, SPLIT, json!({ "id": deal.opp })).await;
    let a = &d["opportunity"]["attribution"];
    assert_eq!(a["model"], "ROLE_WEIGHTED");
    assert_eq!(a["finalized"], false);
    // The README's worked example: weights 4000 / 2500 / 1000 of 100,000.00 USD.
    assert_eq!(column(a, "shareBps"), [5334, 3333, 1333]);
    assert_eq!(column(a, "amount"), [5_334_000, 3_333_000, 1_333_000]);
    let set = |model: &str, v: i64, shares: Value| json!({ "i": { "opportunityId": deal.opp, "expectedVersion": v, "model": model, "manualShares": shares } });
    let d = app.ok(&app.vendor, SET, set("EQUAL", 0, Value::Null)).await;
    assert_eq!(
        column(
            &d["setAttributionModel"]["opportunity"]["attribution"],
            "shareBps"
        ),
        [3334, 3333, 3333]
    );
    assert_eq!(
        column(
            &d["setAttributionModel"]["opportunity"]["attribution"],
            "amount"
        ),
        [3_334_000, 3_333_000, 3_333_000]
    );
    // CONTRIBUTION: a meeting (3) by the reseller, a call (2) by the integrator, nothing by services.
    let acct = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { account { id } } }",
            json!({ "id": deal.opp }),
        )
        .await["opportunity"]["account"]["id"]
        .clone();
    let c = app
        .ok(&app.vendor, "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "accountId": acct, "contact": { "name": "Carla", "email": "carla@acme.com", "shared": true } } }))
        .await["createContact"]["contact"]["id"]
        .clone();
    for (i, kind) in [(0, "MEETING"), (1, "CALL")] {
        app.ok(&partner_token(&deal.partners[i]), "mutation($i: RecordEngagementInput!) { recordEngagement(input: $i) { engagement { id } } }",
            json!({ "i": { "contactId": c, "kind": kind, "occurredOn": "2026-11-01", "sentiment": "POSITIVE", "opportunityId": deal.opp } }))
            .await;
    }
    let d = app
        .ok(&app.vendor, SET, set("CONTRIBUTION", 1, Value::Null))
        .await;
    assert_eq!(
        column(
            &d["setAttributionModel"]["opportunity"]["attribution"],
            "shareBps"
        ),
        [6000, 4000, 0]
    );
    let manual = json!([{ "partnerId": deal.partners[0], "bps": 5000 }, { "partnerId": deal.partners[1], "bps": 3000 }, { "partnerId": deal.partners[2], "bps": 2000 }]);
    let d = app.ok(&app.vendor, SET, set("MANUAL", 2, manual)).await;
    let m = &d["setAttributionModel"]["opportunity"]["attribution"];
    assert_eq!(
        column(m, "shareBps"),
        [0, 5000, 3000, 2000],
        "MANUAL lists the direct team too"
    );
    assert_eq!(column(m, "amount").iter().sum::<i64>(), 10_000_000);
    let outsider = app.create_partner("Outsider").await;
    for (bad, why) in [
        (
            json!([{ "partnerId": deal.partners[0], "bps": 9999 }]),
            "sum is not 10000",
        ),
        (
            json!([{ "partnerId": deal.partners[0], "bps": 10001 }, { "partnerId": deal.partners[1], "bps": -1 }]),
            "negative",
        ),
        (
            json!([{ "partnerId": outsider, "bps": 10000 }]),
            "not on the deal",
        ),
        (
            json!([{ "partnerId": "garbage", "bps": 10000 }]),
            "unknown party",
        ),
    ] {
        let body = app.gql(&app.vendor, SET, set("MANUAL", 3, bad)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{why}: {body}");
    }
    let d = app.ok(&app.vendor, SPLIT, json!({ "id": deal.opp })).await;
    assert_eq!(
        column(&d["opportunity"]["attribution"], "shareBps"),
        [0, 5000, 3000, 2000],
        "nothing changed"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, SET, set("EQUAL", 1, Value::Null))
                .await
        ),
        "VERSION_MISMATCH"
    );
    assert_eq!(
        error_code(
            &app.gql(&vendor_token("SALES"), SET, set("EQUAL", 3, Value::Null))
                .await
        ),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn a_won_deal_freezes_and_changes_only_by_an_audited_correction() {
    let app = spawn_app().await;
    let deal = three_partner_deal(&app, "acme.com").await;
    app.ok(
        &app.vendor,
        "mutation($i: SetIncentiveRateInput!) { setIncentiveRate(input: $i) { rate { rateBps } } }",
        json!({ "i": { "tier": "GOLD", "role": "RESELLER", "rateBps": 1000 } }),
    )
    .await;
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": deal.opp, "expectedVersion": 1, "stage": "CLOSED_WON" } }))
        .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'attribution.finalized'")
            .await,
        1
    );
    let d = app.ok(&app.vendor, SPLIT, json!({ "id": deal.opp })).await;
    let a = &d["opportunity"]["attribution"];
    assert_eq!(
        (a["finalized"].as_bool(), a["version"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(a["rows"][0]["incentiveRateBps"], 1000);
    assert_eq!(
        a["rows"][0]["incentive"]["amount"], 533_400,
        "10% of 53,340.00"
    );
    let body = app
        .gql(
            &app.vendor,
            SET,
            json!({ "i": { "opportunityId": deal.opp, "expectedVersion": 0, "model": "EQUAL" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "frozen");
    let fix = "mutation($i: CorrectAttributionInput!) { correctAttribution(input: $i) { opportunity { attribution { version model rows { shareBps } history { number current reason } } } } }";
    let input = |v: i64| json!({ "i": { "opportunityId": deal.opp, "expectedVersion": v, "model": "EQUAL", "reason": "Integrator did half the work" } });
    assert_eq!(
        error_code(
            &app.gql(&vendor_token("CHANNEL_MANAGER"), fix, input(1))
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&app.gql(&app.vendor, fix, input(7)).await),
        "VERSION_MISMATCH"
    );
    let d = app.ok(&app.vendor, fix, input(1)).await;
    let a = &d["correctAttribution"]["opportunity"]["attribution"];
    assert_eq!(a["version"], 2);
    assert_eq!(column(a, "shareBps"), [3334, 3333, 3333]);
    assert_eq!(
        a["history"],
        json!([
            { "number": 2, "current": true, "reason": "Integrator did half the work" },
            { "number": 1, "current": false, "reason": null },
        ])
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attribution_rows").await,
        6,
        "the old version's rows are kept"
    );
}

#[tokio::test]
async fn each_partner_sees_only_its_own_row_and_statement() {
    let app = spawn_app().await;
    let deal = three_partner_deal(&app, "acme.com").await;
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": deal.opp, "expectedVersion": 1, "stage": "CLOSED_WON" } }))
        .await;
    let expected = [5_334_000, 3_333_000, 1_333_000];
    for (i, p) in deal.partners.iter().enumerate() {
        let t = partner_token(p);
        let d = app.ok(&t, SPLIT, json!({ "id": deal.opp })).await;
        let a = &d["opportunity"]["attribution"];
        assert_eq!(a["rows"].as_array().unwrap().len(), 1, "only its own row");
        assert_eq!(a["rows"][0]["party"], "YOU");
        assert_eq!(column(a, "amount"), [expected[i]]);
        assert_eq!(a["history"], json!([]));
        let s = app.ok(&t, "{ partnerStatement { deals { row { amount { amount } } opportunity { name } } totals { currency attributedMinor incentiveMinor deals } } }", json!({})).await;
        assert_eq!(
            s["partnerStatement"]["totals"],
            json!([{ "currency": "USD", "attributedMinor": expected[i], "incentiveMinor": 0, "deals": 1 }])
        );
        let other = &deal.partners[(i + 1) % 3];
        let body = app
            .gql(
                &t,
                "query($p: ID) { partnerStatement(partnerId: $p) { totals { currency } } }",
                json!({ "p": other }),
            )
            .await;
        assert_eq!(
            error_code(&body),
            "NOT_FOUND",
            "another partner's statement"
        );
        let text = d.to_string();
        for (j, amount) in expected.iter().enumerate() {
            if j != i {
                assert!(
                    !text.contains(&amount.to_string()),
                    "partner {i} must not see partner {j}'s amount"
                );
            }
        }
    }
    let s = app.ok(&app.vendor, "query($p: ID) { partnerStatement(partnerId: $p, from: \"2000-01-01T00:00:00Z\") { totals { attributedMinor } } }", json!({ "p": deal.partners[0] })).await;
    assert_eq!(
        s["partnerStatement"]["totals"][0]["attributedMinor"],
        5_334_000
    );
    let s = app.ok(&app.vendor, "query($p: ID) { partnerStatement(partnerId: $p, to: \"2000-01-01T00:00:00Z\") { totals { attributedMinor } } }", json!({ "p": deal.partners[0] })).await;
    assert_eq!(s["partnerStatement"]["totals"], json!([]));
}

#[tokio::test]
async fn a_page_of_won_deals_with_their_rows_costs_a_fixed_number_of_statements() {
    let app = spawn_app().await;
    for i in 0..4 {
        let deal = three_partner_deal(&app, &format!("d{i}.example")).await;
        app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
            json!({ "i": { "id": deal.opp, "expectedVersion": 1, "stage": "CLOSED_WON" } }))
            .await;
    }
    let q = "query($n: Int) { opportunities(first: $n, filter: { stageIn: [CLOSED_WON] }) { nodes { name attribution { rows { shareBps partner { name tier } } } } } }";
    let (small, _) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 1 })))
        .await;
    let (large, d) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 4 })))
        .await;
    assert_eq!(d["opportunities"]["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(small, large, "statements must not grow with rows");
}
