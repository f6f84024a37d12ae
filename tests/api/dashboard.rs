//! The dashboard page (deals, their customers, the claims on them and who holds them) costs
//! the same statements however many rows it returns and however many requests run at once.

use serde_json::{json, Value};

use crate::helpers::*;

const DASHBOARD: &str = "query($n: Int) { opportunities(first: $n) { nodes { id name stage
  amount { amount currency } account { name domain } registrations { status role partner { name } } } } }";
const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }";
const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }";

/// Twelve deals at twelve customers; one partner resells every deal, another refers every
/// other one.
async fn program(app: &TestApp) -> (String, String) {
    let (a, b) = (
        app.create_partner("Northwind").await,
        app.create_partner("Contoso").await,
    );
    for c in 0..12 {
        let domain = format!("customer{c}.example");
        let account = app.create_account(&format!("Customer {c}"), &domain).await;
        let opp = app
            .create_opportunity(&account, json!({ "name": format!("Deal {c}") }))
            .await;
        let mut claims = vec![(&a, "RESELLER")];
        if c % 2 == 0 {
            claims.push((&b, "REFERRAL"));
        }
        for (partner, role) in claims {
            let draft = json!({ "accountDomain": domain, "accountName": format!("Customer {c}"),
                "dealName": format!("Deal {c}"), "role": role, "justification": "ours" });
            let r = app
                .ok(
                    &partner_token(partner),
                    SUBMIT,
                    json!({ "i": { "draft": draft } }),
                )
                .await;
            let r = &r["submitRegistration"]["registration"];
            app.ok(
                &app.vendor,
                APPROVE,
                json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": opp["id"] } }),
            )
            .await;
        }
    }
    (a, b)
}

async fn dashboard(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    let page = app.ok(token, DASHBOARD, json!({ "n": n })).await;
    page["opportunities"]["nodes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_dashboard_costs_the_same_statements_for_any_page_size_and_under_load() {
    // A partner's status is read again after this: not within the test.
    let app = spawn_app_with(|s| s.realtime.partner_status_cache_ms = 600_000).await;
    let (a, _) = program(&app).await;
    for token in [app.vendor.clone(), partner_token(&a)] {
        // Warm: the first request of a server may read what later ones find cached.
        dashboard(&app, &token, 1).await;
        let (small, rows) = app.count_statements(dashboard(&app, &token, 2)).await;
        assert_eq!(rows.len(), 2);
        let (one, rows) = app.count_statements(dashboard(&app, &token, 12)).await;
        assert_eq!(rows.len(), 12);
        assert!(rows.iter().all(|o| o["account"]["name"].is_string()));
        let claims: usize = rows
            .iter()
            .map(|o| o["registrations"].as_array().unwrap().len())
            .sum();
        assert!(claims >= 12, "{rows:?}");
        assert_eq!(small, one, "statements must not grow with rows");
        // the page with its accounts, the claims with their partners: one statement per level
        // (a partner's status was read by the first request and is known for a moment)
        assert_eq!(one, 2, "statements of one dashboard");
        // 32 at once: each costs what one alone costs, never a batch split in two.
        let (all, pages) = app
            .count_statements(futures_util::future::join_all(
                (0..32).map(|_| dashboard(&app, &token, 12)),
            ))
            .await;
        assert!(pages.iter().all(|p| p == &rows));
        assert_eq!(all, 32 * one, "32 dashboards at once");
    }
}

#[tokio::test]
async fn a_partner_s_count_of_its_deals_agrees_with_the_deals_it_sees() {
    let app = spawn_app().await;
    let (a, b) = program(&app).await;
    const COUNT: &str = "query($f: OpportunityFilter) { opportunities(first: 100, filter: $f) {
      totalCount nodes { id } } }";
    for (partner, deals) in [(&a, 12), (&b, 6)] {
        let token = partner_token(partner);
        // Without a filter the count is read from the partner's claims; with one, from the
        // deals: both agree with the list.
        for filter in [json!(null), json!({})] {
            let page = app.ok(&token, COUNT, json!({ "f": filter })).await;
            assert_eq!(page["opportunities"]["totalCount"], deals, "{filter}");
            assert_eq!(
                page["opportunities"]["nodes"].as_array().unwrap().len(),
                deals
            );
        }
    }
    // A withdrawn claim takes the deal out of the count as out of the list.
    let token = partner_token(&b);
    let mine = app
        .ok(
            &token,
            "{ registrations(first: 1) { nodes { id version } } }",
            json!({}),
        )
        .await;
    let r = &mine["registrations"]["nodes"][0];
    app.ok(
        &token,
        "mutation($i: RegistrationDecisionInput!) { withdrawRegistration(input: $i) { registration { status } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"] } }),
    )
    .await;
    let page = app.ok(&token, COUNT, json!({ "f": null })).await;
    assert_eq!(page["opportunities"]["totalCount"], 5);
    assert_eq!(page["opportunities"]["nodes"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn the_vendor_s_counts_by_stage_follow_new_deals_and_stage_moves() {
    let app = spawn_app().await;
    const COUNT: &str = "query($f: OpportunityFilter) { opportunities(first: 100, filter: $f) {
      totalCount nodes { id } } }";
    const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id } } }";
    let account = app.create_account("Globex", "globex.example").await;
    let mut deals = vec![];
    for d in 0..40 {
        deals.push(
            app.create_opportunity(&account, json!({ "name": format!("Deal {d}") }))
                .await,
        );
    }
    for d in &deals[..15] {
        app.ok(
            &app.vendor,
            MOVE,
            json!({ "i": { "id": d["id"], "expectedVersion": 1, "stage": "QUALIFICATION" } }),
        )
        .await;
    }
    let check = |expected: [(serde_json::Value, u64); 4]| {
        let app = &app;
        async move {
            for (filter, n) in expected {
                let page = app.ok(&app.vendor, COUNT, json!({ "f": filter })).await;
                assert_eq!(page["opportunities"]["totalCount"], n, "{filter}");
                assert_eq!(
                    page["opportunities"]["nodes"].as_array().unwrap().len() as u64,
                    n
                );
            }
        }
    };
    let expected = || {
        [
            (json!(null), 40),
            (json!({ "stageIn": ["PROSPECTING"] }), 25),
            (json!({ "stageIn": ["QUALIFICATION", "SOLUTION"] }), 15),
            (json!({ "stageIn": [] }), 0),
        ]
    };
    check(expected()).await;
    // Folding the tally changes no count.
    cosell::db::opportunities::fold_tally(&app.db)
        .await
        .unwrap();
    assert!(app.scalar("SELECT COUNT(*) FROM opportunity_tally").await <= 7);
    check(expected()).await;
}

#[tokio::test]
async fn claims_on_a_page_of_deals_bring_their_texts_only_when_asked_in_one_statement() {
    let app = spawn_app().await;
    let (a, _) = program(&app).await;
    const TEXTS: &str = "query($n: Int) { opportunities(first: $n) { nodes { registrations {
      id justification privateNotes infoRequest decision { reason } } } } }";
    const ONE: &str = "query($id: ID!) { registration(id: $id) { justification privateNotes
      infoRequest decision { reason } } }";
    for token in [app.vendor.clone(), partner_token(&a)] {
        app.ok(&token, TEXTS, json!({ "n": 1 })).await;
        let (small, _) = app
            .count_statements(app.ok(&token, TEXTS, json!({ "n": 2 })))
            .await;
        let (large, page) = app
            .count_statements(app.ok(&token, TEXTS, json!({ "n": 12 })))
            .await;
        // page, registrations, their texts
        assert_eq!((small, large), (3, 3));
        let claims: Vec<Value> = page["opportunities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| o["registrations"].as_array().unwrap().clone())
            .collect();
        assert!(!claims.is_empty());
        for c in claims {
            assert_eq!(c["justification"], "ours");
            let alone = app.ok(&token, ONE, json!({ "id": c["id"] })).await;
            for f in ["justification", "privateNotes", "infoRequest", "decision"] {
                assert_eq!(c[f], alone["registration"][f], "{f}");
            }
        }
    }
}

/// A page of deals reads the product list and the forecast notes only when its selection asks
/// for one of them (through `nodes`, `edges`, fragments or aliases); a page asking for neither
/// answers the same rows, cursors and all, and still hides the notes from partners.
#[tokio::test]
async fn a_page_reads_products_and_forecast_notes_only_when_asked_and_answers_alike() {
    let app = spawn_app().await;
    let p = app.partner("Northwind").await;
    for (n, domain) in ["one.example", "two.example", "three.example"]
        .iter()
        .enumerate()
    {
        let deal = app.approved_deal(domain, &[(&p, "RESELLER")]).await;
        let u = app
            .ok(
                &app.vendor,
                "query($id: ID!) { node(id: $id) { ... on Opportunity { version } } }",
                json!({ "id": deal.opportunity }),
            )
            .await;
        app.ok(
            &app.vendor,
            "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
            json!({ "i": { "id": deal.opportunity, "expectedVersion": u["node"]["version"],
                "amount": 1000 * (n + 1), "products": [format!("Product {n}"), "Platform"],
                "forecastNotes": format!("Notes {n}") } }),
        )
        .await;
    }
    const PAGES: &str = "query($after: String) {
      short: opportunities(first: 2, orderBy: AMOUNT_DESC, after: $after) {
        nodes { id name stage amount { amount } } pageInfo { endCursor hasNextPage } }
      long: opportunities(first: 2, orderBy: AMOUNT_DESC, after: $after) {
        nodes { id name stage amount { amount } products notes: forecastNotes } pageInfo { endCursor hasNextPage } }
      spread: opportunities(first: 2, orderBy: AMOUNT_DESC, after: $after) {
        edges { node { id ...Products } } }
    }
    fragment Products on Opportunity { products }";
    for (who, token) in [("vendor", &app.vendor), ("partner", &p.token)] {
        let mut after = Value::Null;
        let mut seen = 0;
        loop {
            let d = app.ok(token, PAGES, json!({ "after": after })).await;
            let (short, long) = (&d["short"], &d["long"]);
            assert_eq!(short["pageInfo"], long["pageInfo"], "{who}: same cursors");
            let long_nodes = long["nodes"].as_array().unwrap();
            for (i, s) in short["nodes"].as_array().unwrap().iter().enumerate() {
                let l = &long_nodes[i];
                for f in ["id", "name", "stage", "amount"] {
                    assert_eq!(s[f], l[f], "{who}: {f}");
                }
                assert!(s.get("products").is_none());
                let n = l["name"].as_str().unwrap();
                assert_eq!(l["products"][1], "Platform", "{who}: {n}: {l}");
                assert_eq!(d["spread"]["edges"][i]["node"]["products"], l["products"]);
                assert_eq!(d["spread"]["edges"][i]["node"]["id"], l["id"]);
                if who == "vendor" {
                    assert!(l["notes"].as_str().unwrap().starts_with("Notes "), "{l}");
                } else {
                    assert_eq!(l["notes"], Value::Null, "partners never see the notes");
                }
                seen += 1;
            }
            if short["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = short["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, 3, "{who}: every deal once, across pages");
    }
}

/// A page of deals reads their accounts in its own statement, and its claims their partners
/// in theirs, each under its own scope: an app that may read deals but not accounts (or claims
/// but not partners) gets through the page exactly what it gets through a single deal, and each
/// partner's page shows the accounts of its own deals and its own claims only.
#[tokio::test]
async fn a_page_s_accounts_and_claimants_read_with_it_follow_their_own_scopes() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Northwind").await, app.partner("Contoso").await);
    let one = app
        .approved_deal("one.example", &[(&a, "RESELLER"), (&b, "REFERRAL")])
        .await;
    app.approved_deal("two.example", &[(&b, "RESELLER")]).await;
    const PAGE: &str = "{ opportunities(first: 10) { nodes { id account { id domain }
      registrations { role partner { id name } } } } }";
    const SINGLE: &str = "query($id: ID!) { node(id: $id) { ... on Opportunity { id
      account { id domain } registrations { role partner { id name } } } } }";
    let claims = |d: &Value| -> Vec<String> {
        d["opportunities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| o["registrations"].as_array().unwrap().clone())
            .map(|r| format!("{} {}", r["partner"]["name"].as_str().unwrap(), r["role"]))
            .collect()
    };

    for (who, token, domains, claimed) in [
        (
            "vendor",
            &app.vendor,
            vec!["one.example", "two.example"],
            vec![
                "Northwind \"RESELLER\"",
                "Contoso \"REFERRAL\"",
                "Contoso \"RESELLER\"",
            ],
        ),
        (
            "Northwind",
            &a.token,
            vec!["one.example"],
            vec!["Northwind \"RESELLER\""],
        ),
        (
            "Contoso",
            &b.token,
            vec!["one.example", "two.example"],
            vec!["Contoso \"REFERRAL\"", "Contoso \"RESELLER\""],
        ),
    ] {
        let (n, d) = app.count_statements(app.ok(token, PAGE, json!({}))).await;
        let seen: Vec<&str> = d["opportunities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["account"]["domain"].as_str().unwrap())
            .collect();
        assert_eq!(seen, domains, "{who}");
        assert_eq!(claims(&d), claimed, "{who}");
        assert!(
            n <= 3,
            "{who}: the page with its accounts, the claims with their partners: {n}"
        );
    }

    for scopes in [
        "opportunities:read registrations:read",
        "opportunities:read accounts:read registrations:read",
        "opportunities:read accounts:read registrations:read partners:read",
    ] {
        let reader = app_token(scopes, None);
        let page = app.gql(&reader, PAGE, json!({})).await;
        let single = app
            .gql(&reader, SINGLE, json!({ "id": one.opportunity }))
            .await;
        let via_page = &page["data"]["opportunities"]["nodes"][0];
        assert_eq!(via_page["id"], one.opportunity, "{scopes}: {page}");
        assert_eq!(
            via_page["account"], single["data"]["node"]["account"],
            "{scopes}"
        );
        assert_eq!(
            via_page["registrations"], single["data"]["node"]["registrations"],
            "{scopes}"
        );
        let codes = |body: &Value| -> Vec<Value> {
            let mut c: Vec<Value> = body["errors"]
                .as_array()
                .map(|e| e.iter().map(|e| e["extensions"]["code"].clone()).collect())
                .unwrap_or_default();
            c.dedup();
            c
        };
        assert_eq!(codes(&page), codes(&single), "{scopes}: {page} / {single}");
        if scopes.contains("accounts:read") {
            assert_eq!(via_page["account"]["domain"], "one.example", "{page}");
        } else {
            assert_eq!(via_page["account"], Value::Null, "{page}");
        }
        if scopes.contains("partners:read") {
            assert_eq!(via_page["registrations"][0]["partner"]["name"], "Northwind");
            assert!(page.get("errors").is_none(), "{page}");
        } else {
            // A claim's partner the caller may not read answers null, both ways.
            assert_eq!(
                via_page["registrations"][0]["partner"],
                Value::Null,
                "{page}"
            );
        }
    }
}
