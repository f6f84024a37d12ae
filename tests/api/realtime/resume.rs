//! Resuming: a reconnect with `after` gets what it missed with no gap or duplicate over either
//! transport, and a cursor older than the retention period answers CURSOR_EXPIRED.

use super::*;
use crate::transport::*;

#[tokio::test]
async fn a_reconnect_with_after_gets_what_it_missed_in_order_with_no_gap_or_duplicate() {
    for t in BOTH {
        reconnect_with_after(t).await;
    }
}

/// A subscriber over `t` reads, drops and comes back with `after` while two writers race.
async fn reconnect_with_after(t: Transport) {
    eprintln!("over {t:?}");
    let app = spawn_app().await;
    let mut sub = app.open(t, &app.vendor, EVENTS, json!({})).await;
    // Two writers race while the subscriber reads, drops and comes back.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (url, token) = (app.url.clone(), app.vendor.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0..20 {
                    let body = json!({ "query": "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                                       "variables": { "i": { "name": format!("P{w}-{i}"), "tier": "SILVER" } } });
                    let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert!(r.status().is_success());
                }
            })
        })
        .collect();
    let mut received: Vec<i64> = Vec::new();
    while received.len() < 7 {
        let p = sub.result().await;
        received.push(p["data"]["events"]["id"].as_str().unwrap().parse().unwrap());
    }
    drop(sub); // the connection drops while events are still being written
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = json!({ "after": received.last().unwrap().to_string() });
    let mut sub = app.open(t, &app.vendor, EVENTS, after).await;
    for w in writers {
        w.await.unwrap();
    }
    let total = app.scalar("SELECT COUNT(*) FROM events").await;
    let first = received[0];
    let expected = app
        .scalar(&format!("SELECT COUNT(*) FROM events WHERE id >= {first}"))
        .await;
    while (received.len() as i64) < expected {
        let m = match sub.next_within(Duration::from_secs(10)).await {
            Some(Msg::Next(m)) => m,
            other => {
                // Say where the stream stopped: a gap (an event after the last one received
                // that never came) or a slow relay (the outbox still short of `expected`).
                let last = *received.last().unwrap();
                let now = app
                    .scalar(&format!("SELECT COUNT(*) FROM events WHERE id >= {first}"))
                    .await;
                let next = app
                    .scalar(&format!("SELECT MIN(id) FROM events WHERE id > {last}"))
                    .await;
                panic!("{t:?}: stuck after {last} ({} of {expected} received; outbox now {now}, next id {next}): {other:?}", received.len());
            }
        };
        received.push(m["data"]["events"]["id"].as_str().unwrap().parse().unwrap());
    }
    assert!(
        sub.silent_for(Duration::from_millis(300)).await.is_ok(),
        "{t:?}: nothing beyond the outbox"
    );
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "{t:?}: in order, no duplicate: {received:?}"
    );
    let stored: Vec<i64> = {
        let d = app
            .ok(
                &app.vendor,
                "query($a: ID) { events(after: $a, first: 100) { id: cursor } }",
                json!({ "a": (first - 1).to_string() }),
            )
            .await;
        d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(received, stored, "{t:?}: exactly the outbox, no gap");
    assert!(total >= 40);
}

#[tokio::test]
async fn retention_prunes_old_events_and_an_older_cursor_answers_cursor_expired() {
    let app = spawn_app().await;
    for i in 0..6 {
        app.create_partner(&format!("Old {i}")).await;
    }
    let old = app.scalar("SELECT MAX(id) FROM events").await;
    for i in 0..2 {
        app.create_partner(&format!("New {i}")).await;
    }
    // Age the first events past the retention period, then start an instance whose retention
    // job prunes them at start-up.
    let aged = if app.database_url.starts_with("postgres") {
        format!("UPDATE events SET created_at = now() - interval '40 days' WHERE id <= {old}")
    } else {
        format!("UPDATE events SET created_at = '2020-01-01 00:00:00+00:00' WHERE id <= {old}")
    };
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, &aged)
        .await
        .unwrap();
    let _pruner = spawn_sibling(&app, |s| s.realtime.outbox_retention_days = 30).await;
    let mut left = 0;
    for _ in 0..100 {
        left = app
            .scalar(&format!("SELECT COUNT(*) FROM events WHERE id <= {old}"))
            .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "aged events pruned");
    assert!(
        app.scalar("SELECT COUNT(*) FROM events").await >= 2,
        "newer ones kept"
    );

    let stale = (old - 2).to_string();
    let q = "query($a: ID) { events(after: $a) { id: cursor } }";
    let body = app.gql(&app.vendor, q, json!({ "a": stale })).await;
    assert_eq!(error_code(&body), "CURSOR_EXPIRED", "{body}");
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("e", EVENTS, json!({ "after": stale })).await;
    let p = ws.next_payload("e").await;
    assert_eq!(error_code(&p), "CURSOR_EXPIRED", "{p}");
    // Resuming from the last pruned id loses nothing, and works.
    ws.subscribe("ok", EVENTS, json!({ "after": old.to_string() }))
        .await;
    let mut first = None;
    while first.is_none() {
        let m = ws.recv().await;
        if m["id"] == "ok" {
            first = Some(m);
        }
    }
    let first = first.unwrap();
    assert_eq!(
        first["payload"]["data"]["events"]["topic"], "partner.created",
        "{first}"
    );
}
