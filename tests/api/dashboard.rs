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
    let (a, b) = (app.create_partner("Northwind").await, app.create_partner("Contoso").await);
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
                .ok(&partner_token(partner), SUBMIT, json!({ "i": { "draft": draft } }))
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
    let app = spawn_app().await;
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
        // page, accounts, registrations, partners: one statement per level (a partner's
        // status was read by the first request and is known for a moment)
        assert_eq!(one, 4, "statements of one dashboard");
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
