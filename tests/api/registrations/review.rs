//! The vendor's review queue, its SLA, bulk decisions and the program figures.

use std::time::Duration;

use cosell::ids::{encode, Kind};
use sea_orm::EntityTrait;
use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn the_review_queue_lists_waiting_claims_oldest_first_with_filters() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = submit(&app, &q, proposed("b.example.com", "REFERRAL", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A duplicate claim, held by a conflict.
    let c = submit(&app, &p, proposed("a.example.com", "INFLUENCER", 1)).await;
    assert_eq!(c["status"], "UNDER_REVIEW");
    // Neither a draft nor a decided claim waits.
    reg_op(
        &app,
        &partner_token(&p),
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("d.example.com", "SERVICES", 1),
    )
    .await;
    let e = submit(&app, &q, proposed("e.example.com", "SERVICES", 1)).await;
    approve(&app, &e, json!({ "createOpportunity": true })).await;

    const QUEUE: &str = "query($f: RegistrationFilter) { reviewQueue(filter: $f) { totalCount nodes { id status } } }";
    let ids = |d: &Value| -> Vec<Value> {
        d["reviewQueue"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect()
    };
    let d = app.ok(&app.vendor, QUEUE, json!({})).await;
    assert_eq!(ids(&d), [a["id"].clone(), b["id"].clone(), c["id"].clone()]);
    assert_eq!(d["reviewQueue"]["totalCount"], 3);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "partnerId": q } }))
        .await;
    assert_eq!(ids(&d), [b["id"].clone()]);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "role": "INFLUENCER" } }))
        .await;
    assert_eq!(ids(&d), [c["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "hasOpenConflict": true } }),
        )
        .await;
    assert_eq!(ids(&d), [c["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "hasOpenConflict": false } }),
        )
        .await;
    assert_eq!(ids(&d), [a["id"].clone(), b["id"].clone()]);
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { submittedAt } }",
            json!({ "id": b["id"] }),
        )
        .await;
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "submittedBefore": d["registration"]["submittedAt"] } }),
        )
        .await;
    assert_eq!(ids(&d), [a["id"].clone()]);
    // With the default 48-hour SLA nothing is late yet.
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "slaBreached": true } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 0);
    let d = app
        .ok(&app.vendor, QUEUE, json!({ "f": { "slaBreached": false } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 3);
    let d = app
        .ok(
            &app.vendor,
            QUEUE,
            json!({ "f": { "statusIn": ["APPROVED"] } }),
        )
        .await;
    assert_eq!(ids(&d), [e["id"].clone()]);
}

#[tokio::test]
async fn with_a_zero_hour_sla_every_waiting_claim_is_breached() {
    let app = spawn_app_with(|s| s.program.review_sla_hours = 0).await;
    let p = app.create_partner("Northwind").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    let b = submit(&app, &p, proposed("b.example.com", "SERVICES", 1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let d = app
        .ok(&app.vendor, "{ late: reviewQueue(filter: { slaBreached: true }) { totalCount nodes { id } } onTime: reviewQueue(filter: { slaBreached: false }) { totalCount } }", json!({}))
        .await;
    assert_eq!(d["late"]["totalCount"], 2);
    assert_eq!(
        d["late"]["nodes"],
        json!([{ "id": a["id"] }, { "id": b["id"] }])
    );
    assert_eq!(d["onTime"]["totalCount"], 0);
}

#[tokio::test]
async fn bulk_decisions_report_each_item_and_a_stale_one_fails_alone() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let mut regs = Vec::new();
    for d in ["a.example.com", "b.example.com", "c.example.com"] {
        regs.push(submit(&app, &p, proposed(d, "SERVICES", 1)).await);
    }
    const BULK: &str = "mutation($d: BulkDecision!, $items: [BulkItemInput!]!, $r: String) { bulkDecideRegistrations(input: { decision: $d, items: $items, reason: $r }) { results { id ok errorCode errorMessage status version } } }";
    let items = json!([
        { "id": regs[0]["id"], "expectedVersion": regs[0]["version"] },
        { "id": regs[1]["id"], "expectedVersion": 99 },
        { "id": regs[2]["id"], "expectedVersion": regs[2]["version"] },
        { "id": encode(Kind::Registration, 999), "expectedVersion": 1 },
    ]);
    let d = app
        .ok(
            &app.vendor,
            BULK,
            json!({ "d": "APPROVE", "items": items, "r": "Quarter push" }),
        )
        .await;
    let out = d["bulkDecideRegistrations"]["results"].as_array().unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["ok"], true);
    assert_eq!(out[0]["status"], "APPROVED");
    assert_eq!(out[0]["id"], regs[0]["id"]);
    assert_eq!(out[1]["ok"], false);
    assert_eq!(out[1]["errorCode"], "VERSION_MISMATCH");
    assert!(out[1]["status"].is_null());
    assert_eq!(out[2]["ok"], true);
    assert_eq!(out[3]["errorCode"], "NOT_FOUND");
    let d = app
        .ok(
            &app.vendor,
            "{ registrations { nodes { status opportunity { id } decision { reason } } } }",
            json!({}),
        )
        .await;
    let nodes = d["registrations"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["status"], "APPROVED");
    assert!(
        nodes[0]["opportunity"]["id"].is_string(),
        "bulk approval creates the deal"
    );
    assert_eq!(nodes[0]["decision"]["reason"], "Quarter push");
    assert_eq!(nodes[1]["status"], "SUBMITTED");
    assert_eq!(nodes[2]["status"], "APPROVED");

    // Rejection needs the shared reason; each item fails on its own.
    let items = json!([{ "id": regs[1]["id"], "expectedVersion": regs[1]["version"] }]);
    let d = app
        .ok(&app.vendor, BULK, json!({ "d": "REJECT", "items": items }))
        .await;
    assert_eq!(
        d["bulkDecideRegistrations"]["results"][0]["errorCode"],
        "BAD_USER_INPUT"
    );
    let d = app
        .ok(
            &app.vendor,
            BULK,
            json!({ "d": "REJECT", "items": items, "r": "Duplicate lead" }),
        )
        .await;
    assert_eq!(
        d["bulkDecideRegistrations"]["results"][0]["status"],
        "REJECTED"
    );
    let body = app
        .gql(
            &vendor_token("SALES"),
            BULK,
            json!({ "d": "REJECT", "items": items, "r": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(
            &app.vendor,
            BULK,
            json!({ "d": "REJECT", "items": [], "r": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

const FIGURES: &str =
    "{ programFigures { overall { submitted approved rejected approvalRate medianHoursToDecision }
  byRole { role figures { submitted approved } } byStatus { status count } } }";

#[tokio::test]
async fn program_figures_count_decisions_by_role_and_status() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let a = submit(&app, &p, proposed("a.example.com", "SERVICES", 1)).await;
    approve(&app, &a, json!({ "createOpportunity": true })).await;
    let b = submit(&app, &p, proposed("b.example.com", "REFERRAL", 1)).await;
    reg_op(
        &app,
        &app.vendor,
        "rejectRegistration",
        "RegistrationDecisionInput",
        json!({ "id": b["id"], "expectedVersion": b["version"], "reason": "No" }),
    )
    .await;
    submit(&app, &p, proposed("c.example.com", "SERVICES", 1)).await;
    reg_op(
        &app,
        &partner_token(&p),
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("d.example.com", "SERVICES", 1),
    )
    .await;
    let d = app.ok(&app.vendor, FIGURES, json!({})).await;
    let f = &d["programFigures"];
    assert_eq!(f["overall"]["submitted"], 3, "drafts excluded");
    assert_eq!(f["overall"]["approved"], 1);
    assert_eq!(f["overall"]["rejected"], 1);
    assert_eq!(f["overall"]["approvalRate"], 0.5);
    assert!(f["overall"]["medianHoursToDecision"].as_f64().unwrap() < 0.1);
    assert_eq!(f["byRole"].as_array().unwrap().len(), 2);
    let services = f["byRole"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "SERVICES")
        .unwrap();
    assert_eq!(
        services["figures"],
        json!({ "submitted": 2, "approved": 1 })
    );
    let referral = f["byRole"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "REFERRAL")
        .unwrap();
    assert_eq!(
        referral["figures"],
        json!({ "submitted": 1, "approved": 0 })
    );
    let statuses = f["byStatus"].as_array().unwrap();
    assert_eq!(statuses.len(), 10, "every status listed");
    let count = |s: &str| {
        statuses.iter().find(|x| x["status"] == s).unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (
            count("APPROVED"),
            count("REJECTED"),
            count("SUBMITTED"),
            count("DRAFT"),
            count("WON")
        ),
        (1, 1, 1, 1, 0)
    );
    // The decision times kept with the claims are those of their timestamps, and the median is
    // theirs; a window holding every claim gives the same figures as none.
    let rows = entity::registration::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let mut hours = Vec::new();
    for r in &rows {
        let took = r
            .submitted_at
            .zip(r.decided_at)
            .map(|(s, d)| (d - s).num_seconds());
        assert_eq!(r.decision_seconds, took, "claim {}", r.id);
        hours.extend(took.map(|s| s as f64 / 3600.0));
    }
    assert_eq!(hours.len(), 2);
    let median = (hours[0] + hours[1]) / 2.0;
    assert_eq!(
        f["overall"]["medianHoursToDecision"].as_f64().unwrap(),
        (median * 100.0).round() / 100.0
    );
    let windowed = app
        .ok(
            &app.vendor,
            "query($from: DateTime) { programFigures(from: $from) { overall { submitted approved
               rejected approvalRate medianHoursToDecision } byRole { role figures { submitted
               approved } } byStatus { status count } } }",
            json!({ "from": "2000-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(windowed, d);
}

#[tokio::test]
async fn a_draft_withdrawn_before_submission_is_not_counted_as_submitted() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let draft = reg_op(
        &app,
        &t,
        "createRegistrationDraft",
        "RegistrationDraftInput",
        proposed("a.example.com", "SERVICES", 1),
    )
    .await;
    reg_op(
        &app,
        &t,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": draft["id"], "expectedVersion": draft["version"] }),
    )
    .await;
    let d = app
        .ok(
            &t,
            "{ programFigures { overall { submitted } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["programFigures"]["overall"]["submitted"], 0,
        "DecisionFigures.submitted is 'registrations submitted at least once (drafts excluded)'"
    );
}
