//! The review queue and the registration lists count exactly what they list, for every filter
//! a portal combines (partner, role, open conflict, SLA breach, statuses), whichever way the
//! count is made (the vendor's from the claim tally, corrected by the claims an SLA cutoff or
//! an open conflict sets apart; everyone else's from the rows).

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

/// Claims of two partners in several roles and statuses: waiting, held by a conflict, a
/// draft, approved, rejected and withdrawn. Returns the two partners' ids.
async fn program(app: &TestApp) -> (String, String) {
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    for (who, domain, role) in [
        (&p, "a.example.com", "SERVICES"),
        (&q, "b.example.com", "REFERRAL"),
        (&p, "c.example.com", "REFERRAL"),
        (&q, "d.example.com", "SERVICES"),
    ] {
        submit(app, who, proposed(domain, role, 1)).await;
    }
    // Held by a conflict (the same partner twice on one customer).
    let held = submit(app, &p, proposed("a.example.com", "INFLUENCER", 1)).await;
    assert_eq!(held["status"], "UNDER_REVIEW");
    reg_op(
        app,
        &partner_token(&q),
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("e.example.com", "SERVICES", 1),
    )
    .await;
    let approved = submit(app, &q, proposed("f.example.com", "SERVICES", 1)).await;
    approve(app, &approved, json!({ "createOpportunity": true })).await;
    for (who, domain, decision) in [
        (&p, "g.example.com", "rejectRegistration"),
        (&q, "h.example.com", "withdrawRegistration"),
    ] {
        let r = submit(app, who, proposed(domain, "SERVICES", 1)).await;
        let token = if decision == "rejectRegistration" {
            app.vendor.clone()
        } else {
            partner_token(who)
        };
        reg_op(
            app,
            &token,
            decision,
            "RegistrationDecisionInput",
            json!({ "id": r["id"], "expectedVersion": r["version"], "reason": "No." }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    (p, q)
}

/// Every combination of the filters a portal uses.
fn filters(p: &str, q: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for partner in [None, Some(p), Some(q)] {
        for role in [None, Some("SERVICES"), Some("INFLUENCER")] {
            for conflict in [None, Some(true), Some(false)] {
                for late in [None, Some(true), Some(false)] {
                    out.push(json!({
                        "partnerId": partner, "role": role,
                        "hasOpenConflict": conflict, "slaBreached": late,
                    }));
                }
            }
        }
    }
    out
}

/// Checks that `list`'s `totalCount` is the number of rows it lists (all on one page) for
/// `filter`, as `token`; returns that number.
async fn counted(app: &TestApp, token: &str, list: &str, filter: &Value) -> usize {
    let q = format!(
        "query($f: RegistrationFilter) {{ {list}(filter: $f, first: 100) {{ totalCount nodes {{ id }} pageInfo {{ hasNextPage }} }} }}"
    );
    let d = app.ok(token, &q, json!({ "f": filter })).await;
    let c = &d[list];
    assert_eq!(c["pageInfo"]["hasNextPage"], false);
    let n = c["nodes"].as_array().unwrap().len();
    assert_eq!(c["totalCount"], n, "{list} {filter}");
    n
}

async fn every_filter_counts_what_it_lists(app: &TestApp) -> Vec<usize> {
    let (p, q) = program(app).await;
    let mut sizes = Vec::new();
    for mut f in filters(&p, &q) {
        sizes.push(counted(app, &app.vendor, "reviewQueue", &f).await);
        for statuses in [
            json!(null),
            json!(["DRAFT", "WITHDRAWN", "SUBMITTED"]),
            json!(["APPROVED", "REJECTED", "UNDER_REVIEW"]),
        ] {
            f["statusIn"] = statuses;
            sizes.push(counted(app, &app.vendor, "registrations", &f).await);
        }
        // A partner counts its own claims.
        f["partnerId"] = Value::Null;
        counted(app, &partner_token(&p), "myRegistrations", &f).await;
    }
    sizes
}

#[tokio::test]
async fn every_queue_and_list_filter_counts_what_it_lists_within_the_sla() {
    let app = spawn_app().await;
    let sizes = every_filter_counts_what_it_lists(&app).await;
    assert_eq!(sizes[0], 5, "the whole queue");
    assert_eq!(sizes[1], 9, "every claim in `registrations`");
}

#[tokio::test]
async fn every_queue_and_list_filter_counts_what_it_lists_past_the_sla() {
    let app = spawn_app_with(|s| s.program.review_sla_hours = 0).await;
    let sizes = every_filter_counts_what_it_lists(&app).await;
    assert_eq!(sizes[0], 5, "the whole queue");
}
