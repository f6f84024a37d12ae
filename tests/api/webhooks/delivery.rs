//! Deliveries: signed with the endpoint's secret (and the previous one during a rotation),
//! logged, retried in order, and the endpoint disabled when the schedule runs out.

use super::*;

#[tokio::test]
async fn deliveries_are_signed_logged_and_a_rotated_secret_overlaps() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let rx = Receiver::start().await;
    let (ep, secret) = register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner."], "description": "CRM sync" }),
    )
    .await;
    assert_eq!(ep["status"], "ACTIVE");
    assert_eq!(ep["view"], "VENDOR");
    assert!(secret.starts_with("whsec_"));
    let partner = app.create_partner("Signed Partner").await;
    let got = rx.until(10, "partner.created", |g| !g.is_empty()).await;
    let d = &got[0];
    assert!(
        verifies(d, &secret),
        "the signature verifies with the secret"
    );
    assert_eq!(d.headers["content-type"], "application/json");
    assert_eq!(d.json["type"], "partner.created");
    assert_eq!(d.json["data"]["subjectId"], partner);
    // The id is the event's global id, the one `node(id:)` and `events` give.
    let events = app
        .ok(
            &app.vendor,
            "query($a: ID) { events(after: $a) { id cursor topic } }",
            json!({ "a": null }),
        )
        .await;
    let ev = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "partner.created")
        .unwrap()
        .clone();
    assert_eq!(d.id(), ev["id"].as_str().unwrap());
    assert_eq!(d.json["data"]["cursor"], ev["cursor"]);
    let ts: i64 = d.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    // The delivery log: its row is written once the receiver's answer is read, a moment after
    // the receiver saw the request.
    let mut log = app.ok(&app.vendor, LOG, json!({ "e": ep["id"] })).await;
    for _ in 0..100 {
        if log["webhookDeliveries"][0].is_object() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log = app.ok(&app.vendor, LOG, json!({ "e": ep["id"] })).await;
    }
    let entry = &log["webhookDeliveries"][0];
    assert_eq!(entry["succeeded"], true, "{log}");
    assert_eq!(entry["responseCode"], 200);
    assert_eq!(entry["attempt"], 1);
    assert_eq!(entry["eventCursor"], ev["cursor"]);
    // Rotation: both secrets sign during the overlap.
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) { secret endpoint { version previousSecretExpiresAt } } }",
            json!({ "i": { "id": ep["id"], "expectedVersion": ep["version"], "overlapHours": 1 } }),
        )
        .await;
    let fresh = d["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(fresh, secret);
    assert!(!d["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"].is_null());
    app.create_partner("Second Partner").await;
    let got = rx.until(10, "a second delivery", |g| g.len() >= 2).await;
    assert!(verifies(&got[1], &fresh) && verifies(&got[1], &secret));
    // The secret is never readable afterwards, nor in any event.
    let all = app
        .ok(&app.vendor, "{ events(first: 100) { payload } }", json!({}))
        .await;
    assert!(
        !all.to_string().contains(&fresh[6..]),
        "no secret in events"
    );
}

#[tokio::test]
async fn failures_are_retried_in_order_then_the_endpoint_is_disabled_and_its_owner_told() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1, 1])).await;
    let rx = Receiver::start().await;
    let (ep, _) = register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner.created"] }),
    )
    .await;
    // 500, then a timeout (the receiver is slower than the 1 s allowed), then success.
    rx.answer(&[Answer::Status(500), Answer::Slow(2_500)]);
    let first = app.create_partner("First").await;
    let second = app.create_partner("Second").await;
    let got = rx
        .until(20, "both events after two failures", |g| {
            g.iter()
                .filter(|d| d.json["data"]["subjectId"] == second)
                .count()
                == 1
                && g.len() >= 4
        })
        .await;
    // The first event three times (the same id each time), then the second: in order.
    let subjects: Vec<Value> = got
        .iter()
        .map(|d| d.json["data"]["subjectId"].clone())
        .collect();
    assert_eq!(
        subjects,
        vec![json!(first), json!(first), json!(first), json!(second)]
    );
    assert_eq!(got[0].id(), got[2].id());
    let log = app.ok(&app.vendor, LOG, json!({ "e": ep["id"] })).await;
    let log = log["webhookDeliveries"].as_array().unwrap().clone();
    let mine: Vec<(i64, bool, Value)> = log
        .iter()
        .rev()
        .map(|e| {
            (
                e["attempt"].as_i64().unwrap(),
                e["succeeded"].as_bool().unwrap(),
                e["responseCode"].clone(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        vec![
            (1, false, json!(500)),
            (2, false, Value::Null),
            (3, true, json!(200)),
            (1, true, json!(200))
        ]
    );
    assert!(
        log[2]["error"].as_str().unwrap().contains("no answer"),
        "{:?}",
        log[2]
    );
    // Now it keeps failing: after the schedule (two waits) it is disabled and the vendor hears.
    let now = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    rx.otherwise(Some(Answer::Status(503)));
    let third = app.create_partner("Third").await;
    rx.until(20, "three failed attempts", |g| {
        g.iter()
            .filter(|d| d.json["data"]["subjectId"] == third)
            .count()
            == 3
    })
    .await;
    let mut disabled = Value::Null;
    for _ in 0..100 {
        let d = app.ok(&app.vendor, ENDPOINTS, json!({})).await;
        disabled = d["webhookEndpoints"][0].clone();
        if disabled["status"] == "DISABLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(disabled["status"], "DISABLED", "{disabled}");
    assert!(
        disabled["disabledReason"].as_str().unwrap().contains("503"),
        "{disabled}"
    );
    // The event is written with the status; on PostgreSQL the events query may show it a
    // moment after the status reads DISABLED.
    let told_of = |told: &Value| {
        told["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["topic"] == "webhook.endpoint_disabled" && e["subjectId"] == ep["id"])
    };
    let mut told = Value::Null;
    for _ in 0..100 {
        told = app
            .ok(
                &app.vendor,
                "query($a: ID) { events(after: $a) { topic subjectId } }",
                json!({ "a": now.to_string() }),
            )
            .await;
        if told_of(&told) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(told_of(&told), "{told}");
    // Nothing more is sent while disabled; turned on again, the pending event is delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = rx.got().len();
    assert_eq!(before, 7);
    rx.otherwise(None);
    app.ok(
        &app.vendor,
        "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { endpoint { status } } }",
        json!({ "i": { "id": ep["id"], "expectedVersion": disabled["version"], "enabled": true } }),
    )
    .await;
    let got = rx
        .until(10, "the pending event after re-enabling", |g| g.len() == 8)
        .await;
    assert_eq!(got[7].json["data"]["subjectId"], third);
}
