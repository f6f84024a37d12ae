//! Fair shares: one party's receivers that accept connections and never answer hold at most its
//! share of the delivery slots; everyone else's deliveries go on at once.

use super::*;

/// A host that accepts connections, reads what comes and never answers; it counts the most
/// connections open at once.
async fn tarpit() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = most.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (open, most) = (open.clone(), most.clone());
            most.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // Until the client gives up and closes its side.
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_partner_s_hanging_receivers_do_not_delay_another_partner_or_the_vendor() {
    // The production timeout (10 s) and slots (16, 4 a party).
    let app = spawn_app_with(|s| {
        s.webhooks = WebhookArgs {
            webhook_timeout_ms: 10_000,
            ..settings(&[5])
        }
    })
    .await;
    let (hostile, neighbour) = (app.partner("Tarpit").await, app.partner("Neighbour").await);
    let (pit, most_open) = tarpit().await;
    for i in 0..20 {
        register(
            &app,
            &hostile.token,
            json!({ "url": format!("{pit}/hook{i}"), "topics": ["registration."] }),
        )
        .await;
    }
    let rx = Receiver::start().await;
    register(
        &app,
        &neighbour.token,
        json!({ "url": rx.url, "topics": ["registration.submitted"] }),
    )
    .await;
    let vendor_rx = Receiver::start().await;
    register(
        &app,
        &app.vendor,
        json!({ "url": vendor_rx.url, "topics": ["registration.submitted"] }),
    )
    .await;
    // The hostile partner's claims: an event for each of its 20 hanging endpoints.
    for i in 0..3 {
        submit(&app, &hostile.token, &format!("tarpit-{i}.example")).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The neighbour's claims, while the tarpit holds its share.
    let mut latencies = Vec::new();
    for i in 0..15 {
        let reg = submit(&app, &neighbour.token, &format!("neighbour-{i}.example")).await;
        let answered = std::time::Instant::now();
        for r in [&rx, &vendor_rx] {
            let got = r
                .until(5, "the neighbour's claim", |g| {
                    g.iter().any(|d| d.json["data"]["subjectId"] == reg["id"])
                })
                .await;
            let d = got
                .iter()
                .find(|d| d.json["data"]["subjectId"] == reg["id"])
                .unwrap();
            latencies.push(d.at.saturating_duration_since(answered));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    let worst = *latencies.last().unwrap();
    assert!(
        worst < Duration::from_secs(1),
        "deliveries beside a tarpit took up to {worst:?}: {latencies:?}"
    );
    // The tarpit held at most its party's share of the slots at any moment.
    let most = most_open.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=4).contains(&most),
        "{most} connections to the tarpit at once"
    );
}
