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

/// A deal's claims asked only by who, role and status read their summary columns; asked for
/// more, the whole rows. Both ways (even in one query, through aliases and fragments) answer
/// the same claims with the same values, scoped to the caller.
#[tokio::test]
async fn a_deals_claims_read_by_summary_or_whole_answer_alike_and_stay_scoped() {
    let app = spawn_app().await;
    let p = app.partner("Northwind").await;
    let q = app.partner("Contoso").await;
    for i in 0..3 {
        app.approved_deal(
            &format!("s{i}.example.com"),
            &[(&p, "RESELLER"), (&q, "SERVICES")],
        )
        .await;
    }
    const SUMMARY: &str = "{ opportunities(first: 10) { nodes { registrations { id status role partner { name } __typename } } } }";
    const BOTH: &str = "{ opportunities(first: 10) { nodes {
        short: registrations { ...Who }
        whole: registrations { ...Who accountDomain dealName privateNotes createdAt version } } } }
      fragment Who on Registration { id status role partner { name } }";
    let (summary_statements, s) = app
        .count_statements(app.ok(&app.vendor, SUMMARY, json!({})))
        .await;
    let (both_statements, b) = app
        .count_statements(app.ok(&app.vendor, BOTH, json!({})))
        .await;
    assert_eq!(
        both_statements,
        summary_statements + 2,
        "the whole rows and their texts (privateNotes) are two statements more"
    );
    let s_nodes = s["opportunities"]["nodes"].as_array().unwrap();
    let b_nodes = b["opportunities"]["nodes"].as_array().unwrap();
    assert_eq!(s_nodes.len(), 3);
    for (sn, bn) in s_nodes.iter().zip(b_nodes) {
        let summary = sn["registrations"].as_array().unwrap();
        let short = bn["short"].as_array().unwrap();
        let whole = bn["whole"].as_array().unwrap();
        assert_eq!(summary.len(), 2, "{sn}");
        for ((a, b), w) in summary.iter().zip(short).zip(whole) {
            for k in ["id", "status", "role", "partner"] {
                assert_eq!(a[k], b[k], "{k}");
                assert_eq!(a[k], w[k], "{k}");
            }
            assert_eq!(a["__typename"], "Registration");
            assert_eq!(a["status"], "APPROVED");
            // The whole rows carry their real values, not the summary's placeholders.
            assert!(w["accountDomain"]
                .as_str()
                .unwrap()
                .ends_with(".example.com"));
            assert!(w["dealName"].as_str().unwrap().starts_with("Deal at"));
            assert!(w["privateNotes"].as_str().unwrap().starts_with("Notes of"));
            assert!(!w["createdAt"].as_str().unwrap().starts_with("1970"));
            assert!(w["version"].as_i64().unwrap() >= 1);
        }
    }

    // A partner reads its own claims only, by summary as by whole rows.
    for doc in [SUMMARY, BOTH] {
        let d = app.ok(&p.token, doc, json!({})).await;
        let text = d.to_string();
        assert!(text.contains("Northwind"), "{text}");
        assert!(!text.contains("Contoso"), "{text}");
        for n in d["opportunities"]["nodes"].as_array().unwrap() {
            for key in ["registrations", "short", "whole"] {
                if let Some(regs) = n[key].as_array() {
                    assert_eq!(regs.len(), 1, "{n}");
                }
            }
        }
    }
}
