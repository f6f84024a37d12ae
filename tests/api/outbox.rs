//! Event ids become visible in order without a lock that serialises writers: with many writers
//! on two instances of one database, every subscriber, on either instance, receives exactly the
//! outbox, in id order, with no gap and no duplicate.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

const EVENTS: &str = "subscription($after: ID) { events(after: $after) { id: cursor topic } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_two_instances_reach_every_subscriber_in_outbox_order() {
    // On SQLite, instances hear of each other's events only by polling the outbox.
    let poll = |s: &mut Setup| s.realtime.outbox_poll_ms = 100;
    let a = spawn_app_with(poll).await;
    let b = spawn_sibling(&a, poll).await;
    let start = a.now().await;
    let mut subscribers = Vec::new();
    for app in [&a, &b] {
        for _ in 0..2 {
            let mut ws = app.ws_as(&app.vendor).await;
            ws.subscribe("e", EVENTS, json!({ "after": start })).await;
            subscribers.push(ws);
        }
    }
    // Eight writers, four through each instance, each creating partners one after another.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let url = if w % 2 == 0 { a.url.clone() } else { b.url.clone() };
            let token = a.vendor.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0..10 {
                    let body = json!({ "query": "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                                       "variables": { "i": { "name": format!("W{w}-{i}"), "tier": "SILVER" } } });
                    let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert!(r.status().is_success());
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let d = a
        .ok(
            &a.vendor,
            "query($a: ID) { events(after: $a, first: 100) { id: cursor } }",
            json!({ "a": start }),
        )
        .await;
    let stored: Vec<String> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored.len(), 80, "one event per partner created");
    for (n, ws) in subscribers.iter_mut().enumerate() {
        let mut received = Vec::new();
        while received.len() < stored.len() {
            match ws.recv_within(Duration::from_secs(20)).await {
                Some(crate::ws::Frame::Json(m)) if m["type"] == "next" => received.push(
                    m["payload"]["data"]["events"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ),
                Some(crate::ws::Frame::Json(m)) if m["type"] == "ping" => {}
                other => panic!(
                    "subscriber {n} stopped after {} of {} events ({other:?}); missing: {:?}",
                    received.len(),
                    stored.len(),
                    stored
                        .iter()
                        .filter(|s| !received.contains(s))
                        .collect::<Vec<_>>()
                ),
            }
        }
        assert_eq!(received, stored, "subscriber {n}");
        assert!(
            ws.silent_for(Duration::from_millis(200)).await.is_ok(),
            "subscriber {n}: nothing beyond the outbox"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_behind_a_burst_larger_than_the_broadcast_gets_every_event_in_order() {
    // A small broadcast so the burst overruns it; memory holds the burst (first run) or not
    // (second run, which catches up from the outbox).
    for recent in [16_384, 32] {
        burst_behind_the_broadcast(recent).await;
    }
}

async fn burst_behind_the_broadcast(recent: usize) {
    const UPSERT: &str =
        "mutation($i: UpsertContactsInput!) { upsertContacts(input: $i) { results { outcome } } }";
    let app = spawn_app_with(|s| {
        s.realtime.realtime_broadcast_capacity = 16;
        s.realtime.realtime_recent_events = recent;
    })
    .await;
    let acct = app.create_account("Burst", "burst.example.com").await;
    let start = app.now().await;
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("e", EVENTS, json!({ "after": start })).await;
    // 1,500 events in three bursts, many times what the broadcast holds: the tail sends a page
    // of events at once, faster than a subscriber's feed takes them, so the feed falls behind.
    for batch in 0..3 {
        let contacts: Vec<_> = (0..500)
            .map(|i| json!({ "name": format!("C{batch}-{i}"), "email": format!("c{batch}-{i}@burst.example.com") }))
            .collect();
        app.ok(
            &app.vendor,
            UPSERT,
            json!({ "i": { "accountId": acct, "contacts": contacts } }),
        )
        .await;
    }
    let total = app
        .scalar(&format!("SELECT COUNT(*) FROM events WHERE id > {start}"))
        .await;
    assert_eq!(total, 1_500);
    let mut received: Vec<i64> = Vec::new();
    while (received.len() as i64) < total {
        let p = ws.next_payload("e").await;
        received.push(p["data"]["events"]["id"].as_str().unwrap().parse().unwrap());
    }
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    let first = app
        .scalar(&format!("SELECT MIN(id) FROM events WHERE id > {start}"))
        .await;
    let last = app.scalar("SELECT MAX(id) FROM events").await;
    assert_eq!((received[0], *received.last().unwrap()), (first, last));
    assert!(ws.silent_for(Duration::from_millis(200)).await.is_ok());
}
