//! The statement cost of a page of deals with their claims, histories and conflicts.

use serde_json::json;

use super::*;
use crate::helpers::*;

const NESTED: &str = "query($n: Int) { opportunities(first: $n) { nodes { name
  registrations { partner { name } history { toStatus } conflicts { kind } } rolesFilled } } }";

#[tokio::test]
async fn a_page_of_deals_with_registrations_costs_the_same_for_2_or_10() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    for i in 0..10 {
        let a = approve(
            &app,
            &submit(
                &app,
                &p,
                proposed(&format!("d{i}.example.com"), "SERVICES", 1),
            )
            .await,
            json!({ "createOpportunity": true }),
        )
        .await;
        // The same partner again on the same deal: a held duplicate with a conflict.
        let mut again = proposed("x.com", "SERVICES", 1);
        again["opportunityId"] = a["opportunity"]["id"].clone();
        let dup = submit(&app, &p, again).await;
        assert_eq!(dup["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
        // And another partner in another role.
        let other = submit(
            &app,
            &q,
            proposed(&format!("d{i}.example.com"), "INFLUENCER", 1),
        )
        .await;
        approve(
            &app,
            &other,
            json!({ "opportunityId": a["opportunity"]["id"] }),
        )
        .await;
    }
    let (small, d) = app
        .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 2 })))
        .await;
    assert_eq!(d["opportunities"]["nodes"].as_array().unwrap().len(), 2);
    let (large, d) = app
        .count_statements(app.ok(&app.vendor, NESTED, json!({ "n": 10 })))
        .await;
    let nodes = d["opportunities"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 10);
    for n in nodes {
        let regs = n["registrations"].as_array().unwrap();
        assert_eq!(regs.len(), 3, "{n}");
        assert_eq!(regs[1]["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
        assert_eq!(regs[2]["partner"]["name"], "Contoso");
        assert!(regs[0]["history"].as_array().unwrap().len() >= 4);
        assert_eq!(n["rolesFilled"], json!(["INFLUENCER", "SERVICES"]));
    }
    assert_eq!(
        small, large,
        "statements must not grow with rows ({small} vs {large})"
    );
}
