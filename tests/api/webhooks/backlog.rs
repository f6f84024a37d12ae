//! Backlogs drain at the receiver's speed: after an outage, and after a crash mid-burst,
//! lease after lease without waiting for the sweep.

use super::*;

/// `n` `partner.created` events, written by 4 writers at once through `call`.
async fn burst<F, Fut>(n: usize, call: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut pending = futures_util::stream::FuturesUnordered::new();
    for i in 0..n {
        pending.push(call(i));
        if pending.len() >= 4 {
            futures_util::StreamExt::next(&mut pending).await;
        }
    }
    while futures_util::StreamExt::next(&mut pending).await.is_some() {}
}

/// The distinct events in `got` in order of first arrival, from index `from`.
fn first_arrivals(got: &[Delivery], from: usize) -> Vec<i64> {
    let mut seen = std::collections::BTreeSet::new();
    got[from..]
        .iter()
        .map(Delivery::cursor)
        .filter(|c| seen.insert(*c))
        .collect()
}

#[tokio::test]
async fn a_backlog_after_an_outage_drains_in_order_without_waiting_for_the_sweep() {
    // No sweep during the test: only the delivery's own progress may drain the backlog.
    let app = spawn_app_with(|s| {
        s.webhooks = WebhookArgs {
            webhook_sweep_seconds: 3_600,
            ..settings(&[1; 20])
        }
    })
    .await;
    let rx = Receiver::start().await;
    register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner.created"] }),
    )
    .await;
    // The receiver is down while 1,000 events are written.
    rx.otherwise(Some(Answer::Status(503)));
    burst(1_000, |i| {
        let app = &app;
        async move {
            app.create_partner(&format!("Backlog {i}")).await;
        }
    })
    .await;
    let from = rx.got().len();
    rx.otherwise(None);
    let back = std::time::Instant::now();
    let got = rx
        .until(60, "the whole backlog", |g| {
            first_arrivals(g, from.min(g.len())).len() >= 1_000
        })
        .await;
    let took = back.elapsed();
    let order = first_arrivals(&got, from);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "in outbox order: {order:?}"
    );
    // Ten leases of 100 events each, one after another: no wait for the (hour-long) sweep.
    assert!(took < Duration::from_secs(60), "drained in {took:?}");
    let delivered = app
        .metric("cosell_webhook_attempts_total{outcome=\"delivered\"}")
        .await
        .unwrap_or(0.0);
    assert!(delivered >= 1_000.0, "{delivered} delivered");
}

#[tokio::test]
async fn a_crash_mid_burst_loses_nothing_and_a_restarted_instance_resumes_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(&dir).await;
    let rx = Receiver::start().await;
    let one = Process::start(&url, &[]);
    one.call(
        CREATE,
        json!({ "i": { "url": rx.url, "topics": ["partner.created"] } }),
    )
    .await;
    // A slow receiver, so the burst is still being delivered when the instance dies.
    rx.otherwise(Some(Answer::Slow(20)));
    const EVENTS: usize = 300;
    burst(EVENTS, |i| {
        let f = one.call(
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
            json!({ "i": { "name": format!("Burst {i}"), "tier": "GOLD" } }),
        );
        async move {
            f.await;
        }
    })
    .await;
    rx.until(10, "the first deliveries", |g| g.len() >= 20)
        .await;
    one.kill();
    let at_kill = rx.got().len();
    assert!(at_kill < EVENTS, "the instance died mid-burst ({at_kill})");
    rx.otherwise(None);
    let restarted = std::time::Instant::now();
    let _two = Process::start(&url, &[]);
    let got = rx
        .until(60, "every event at least once", |g| {
            first_arrivals(g, 0).len() >= EVENTS
        })
        .await;
    // The dead instance's lease lapses within seconds; the new instance takes over then.
    let first_after = got[at_kill..]
        .iter()
        .map(|d| d.at)
        .min()
        .expect("deliveries after the restart");
    let waited = first_after.duration_since(restarted);
    assert!(
        waited < Duration::from_secs(8),
        "first delivery {waited:?} after the restart"
    );
    let order = first_arrivals(&got, 0);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "first arrivals in outbox order"
    );
}
