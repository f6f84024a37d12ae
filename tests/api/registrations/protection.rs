//! Protection windows: expiry by concurrent sweeps and by the background job, and extensions.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_sweeps_expire_each_registration_once() {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 0).await;
    let p = app.create_partner("Northwind").await;
    let mut regs = Vec::new();
    for d in [
        "a.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
    ] {
        regs.push(
            approve(
                &app,
                &submit(&app, &p, proposed(d, "SERVICES", 1)).await,
                json!({ "createOpportunity": true }),
            )
            .await,
        );
    }
    // Nothing is due yet.
    assert_eq!(
        cosell::db::registrations::expire_due(&app.db)
            .await
            .unwrap(),
        0
    );
    for r in &regs[..3] {
        expire_window(&app, Some(num(&r["id"]))).await;
    }
    let (a, b) = tokio::join!(
        cosell::db::registrations::expire_due(&app.db),
        cosell::db::registrations::expire_due(&app.db)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 3);
    // Called directly, not through a request: move the queued events into the outbox as the
    // hub does (PostgreSQL; nothing to do on SQLite).
    cosell::db::events::relay(&app.db).await.unwrap();
    for (i, r) in regs.iter().enumerate() {
        let events = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM events WHERE topic = 'registration.expired' AND subject_id = '{}'",
                r["id"].as_str().unwrap()
            ))
            .await;
        let d = app
            .ok(
                &app.vendor,
                "query($id: ID!) { registration(id: $id) { status } }",
                json!({ "id": r["id"] }),
            )
            .await;
        if i < 3 {
            assert_eq!(events, 1);
            assert_eq!(d["registration"]["status"], "EXPIRED");
            let h = history(&app, &r["id"]).await;
            assert_eq!(
                h.iter().filter(|s| s.1 == "EXPIRED").count(),
                1,
                "one transition"
            );
            assert_eq!(h.last().unwrap().2, "system:protection-expiry");
        } else {
            assert_eq!(events, 0);
            assert_eq!(d["registration"]["status"], "APPROVED");
        }
    }
    assert_eq!(
        cosell::db::registrations::expire_due(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_background_job_expires_a_passed_window() {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 1).await;
    let p = app.create_partner("Northwind").await;
    let r = approve(
        &app,
        &submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    let keep = approve(
        &app,
        &submit(&app, &p, proposed("globex.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    expire_window(&app, Some(num(&r["id"]))).await;
    let t = partner_token(&p);
    let mut status = String::new();
    for _ in 0..50 {
        let d = app
            .ok(
                &t,
                "query($id: ID!) { registration(id: $id) { status } }",
                json!({ "id": r["id"] }),
            )
            .await;
        status = d["registration"]["status"].as_str().unwrap().to_string();
        if status == "EXPIRED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, "EXPIRED");
    let d = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status } }",
            json!({ "id": keep["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "APPROVED");
}

#[tokio::test]
async fn protection_extensions_are_requested_by_the_partner_and_granted_by_the_vendor() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let open = submit(&app, &p, proposed("open.example.com", "SERVICES", 1)).await;
    let r = approve(
        &app,
        &submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    const REQ: &str = "mutation($i: ProtectionExtensionInput!) { requestProtectionExtension(input: $i) { registration { version protectionExpiresAt extensionRequest { days reason } } } }";
    const EXT: &str = "mutation($i: ProtectionExtensionInput!) { extendRegistrationProtection(input: $i) { registration { version protectionExpiresAt extensionRequest { days } } } }";
    let body = app
        .gql(
            &t,
            REQ,
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 30 } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a partner gives a reason"
    );
    let body = app.gql(&t, REQ, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 366, "reason": "x" } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.gql(&t, REQ, json!({ "i": { "id": open["id"], "expectedVersion": open["version"], "days": 30, "reason": "x" } })).await;
    assert_eq!(error_code(&body), "CONFLICT", "only APPROVED registrations");
    let d = app.ok(&t, REQ, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "days": 30, "reason": "Long procurement" } })).await;
    let asked = &d["requestProtectionExtension"]["registration"];
    assert_eq!(
        asked["extensionRequest"],
        json!({ "days": 30, "reason": "Long procurement" })
    );
    assert_eq!(asked["protectionExpiresAt"], r["protectionExpiresAt"]);

    let body = app
        .gql(
            &vendor_token("SALES"),
            EXT,
            json!({ "i": { "id": r["id"], "expectedVersion": asked["version"], "days": 30 } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let d = app
        .ok(
            &app.vendor,
            EXT,
            json!({ "i": { "id": r["id"], "expectedVersion": asked["version"], "days": 30 } }),
        )
        .await;
    let ext = &d["extendRegistrationProtection"]["registration"];
    assert!(ext["extensionRequest"].is_null());
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (parse(&ext["protectionExpiresAt"]) - parse(&r["protectionExpiresAt"])).num_days(),
        30
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.protection_extended'")
            .await,
        1
    );
}
