//! Several instances: each event delivered once, only the endpoints an event is for woken, and
//! a delivery cut off by a crash made again.

use super::*;

#[tokio::test]
async fn two_instances_deliver_each_event_once() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let sibling = spawn_sibling(&app, |s| s.webhooks = settings(&[1])).await;
    let rx = Receiver::start().await;
    register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner.created"] }),
    )
    .await;
    // Writes through both instances, slow answers so both dispatchers are busy at once.
    rx.otherwise(Some(Answer::Slow(20)));
    let mut made = Vec::new();
    for i in 0..15 {
        made.push(app.create_partner(&format!("Via first {i}")).await);
        made.push(sibling.create_partner(&format!("Via second {i}")).await);
    }
    rx.until(30, "30 deliveries", |g| g.len() >= 30).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = rx.got();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for d in &got {
        *seen.entry(d.id()).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "an event was delivered twice: {seen:?}"
    );
    assert_eq!(got.len(), 30);
    let cursors: Vec<i64> = got.iter().map(Delivery::cursor).collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "in outbox order: {cursors:?}"
    );
}

/// `cosell_webhook_endpoints_claimed_total` now.
async fn claimed(app: &TestApp) -> i64 {
    app.metric("cosell_webhook_endpoints_claimed_total")
        .await
        .expect("the claims metric") as i64
}

#[tokio::test]
async fn an_event_wakes_only_the_endpoints_it_is_for() {
    let app = spawn_app_with(|s| {
        s.webhooks = WebhookArgs {
            webhook_sweep_seconds: 3_600,
            ..settings(&[1])
        }
    })
    .await;
    let rx = Receiver::start().await;
    let mut members = Vec::new();
    for i in 0..25 {
        let m = app.partner(&format!("Partner {i}")).await;
        register(
            &app,
            &m.token,
            json!({ "url": rx.url, "topics": ["registration."] }),
        )
        .await;
        members.push(m);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = claimed(&app).await;
    let reg = submit(&app, &members[7].token, "one-of-many.example").await;
    rx.until(10, "partner 7's claim", |g| {
        g.iter().any(|d| d.json["data"]["subjectId"] == reg["id"])
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let woken = claimed(&app).await - before;
    assert!(
        (1..=3).contains(&woken),
        "one partner's event leased {woken} of 25 endpoints"
    );
    assert!(
        rx.got()
            .iter()
            .all(|d| d.json["data"]["subjectId"] == reg["id"]),
        "only partner 7's endpoint received anything"
    );
}

#[tokio::test]
async fn a_delivery_cut_off_by_a_crash_is_made_again_by_another_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(&dir).await;
    let rx = Receiver::start().await;
    // Instance one, a real process, delivers with a 2 s timeout.
    let one = Process::start(&url, &["--webhook-timeout-ms", "2000"]);
    let call = |q: &'static str, v: Value| one.call(q, v);
    call(
        CREATE,
        json!({ "i": { "url": rx.url, "topics": ["partner.created"] } }),
    )
    .await;
    // The receiver takes the first delivery and never answers; the instance dies meanwhile.
    rx.answer(&[Answer::Hang]);
    let hung = rx.hung.notified();
    call(
        "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
        json!({ "i": { "name": "Mid-delivery", "tier": "GOLD" } }),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(10), hung)
        .await
        .expect("the delivery started");
    one.kill();
    // Another instance takes the endpoint over once the dead one's lease runs out.
    let two = spawn_app_on(&url, |s| {
        s.webhooks = WebhookArgs {
            webhook_timeout_ms: 2_000,
            ..settings(&[1])
        };
    })
    .await;
    let got = rx
        .until(30, "the delivery made again", |g| g.len() >= 2)
        .await;
    assert_eq!(
        got[0].id(),
        got[1].id(),
        "the same event, by the same webhook-id"
    );
    let eps = two.ok(&two.vendor, ENDPOINTS, json!({})).await;
    let ep = eps["webhookEndpoints"][0]["id"].clone();
    let mut log = Value::Null;
    for _ in 0..50 {
        log = two.ok(&two.vendor, LOG, json!({ "e": ep })).await;
        if log["webhookDeliveries"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log["webhookDeliveries"][0]["succeeded"], true, "{log}");
}
