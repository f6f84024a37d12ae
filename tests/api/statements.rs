//! No N+1: the statements a nested query runs depend on its depth, not on its rows.

use serde_json::json;

use crate::helpers::*;

const NESTED: &str = "query($n: Int) { opportunities(first: $n) { totalCount edges { node { name
  account { name domain } stageHistory { fromStage toStage } } } } }";

#[tokio::test]
async fn a_nested_page_costs_the_same_statements_for_2_or_40_rows() {
    let app = spawn_app().await;
    for a in 0..8 {
        let acct = app
            .create_account(&format!("Account {a}"), &format!("a{a}.example.com"))
            .await;
        for o in 0..5 {
            let opp = app
                .create_opportunity(&acct, json!({ "name": format!("Deal {a}-{o}") }))
                .await;
            app.ok(
                &app.vendor,
                "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id } } }",
                json!({ "i": { "id": opp["id"], "expectedVersion": 1, "stage": "QUALIFICATION" } }),
            )
            .await;
        }
    }
    // The fewest statements of three runs: on a loaded machine a loader's batch can close
    // before the last of its keys arrive (its dispatch waits a fixed delay), which splits one
    // batch in two; what this test holds is that the rows are batched at all.
    let mut small = u64::MAX;
    let mut large = u64::MAX;
    let mut d = serde_json::Value::Null;
    for _ in 0..3 {
        let (n, page) = app
            .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 2 })))
            .await;
        assert_eq!(page["opportunities"]["edges"].as_array().unwrap().len(), 2);
        small = small.min(n);
        let (n, page) = app
            .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 40 })))
            .await;
        large = large.min(n);
        d = page;
    }
    let edges = d["opportunities"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 40);
    assert!(edges
        .iter()
        .all(|e| e["node"]["stageHistory"].as_array().unwrap().len() == 2
            && e["node"]["account"]["name"].is_string()));
    assert_eq!(small, large, "statements must not grow with rows");
    // page + count + accounts batch + history batch
    assert!(large <= 4, "expected at most 4 statements, got {large}");
}
