//! Fan-out benchmark: how long an approval takes to reach every subscriber that may see it,
//! and what open subscriptions cost in memory. Run with `cargo bench --bench fanout`
//! (`COSELL_BENCH_DATABASE_URL=postgres://…` for PostgreSQL; `BENCH_PARTNERS`,
//! `BENCH_CONNECTIONS_PER_PARTNER`, `BENCH_ROUNDS` to size it). It prints figures; it asserts
//! nothing.

use std::time::{Duration, Instant};

use cosell::auth::jwt::Verifier;
use cosell::auth::PrincipalKind;
use cosell::config::{LimitArgs, ProgramArgs, RealtimeArgs};
use cosell::db::{self, StatementCounter};
use cosell::AppState;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::gql;

const SECRET: &str = "bench-secret-for-the-fanout-benchmark-0123";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn token(kind: PrincipalKind, role: &str, partner: Option<&str>) -> String {
    common::token(SECRET, kind, role, partner)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let partners = env("BENCH_PARTNERS", 20);
    let per_partner = env("BENCH_CONNECTIONS_PER_PARTNER", 10);
    let rounds = env("BENCH_ROUNDS", 5);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("COSELL_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let conn = db::connect(&url, 10, StatementCounter::default())
        .await
        .unwrap();
    db::migrate(&conn).await.unwrap();
    let jwt_args = common::jwt_args(SECRET);
    let limits = LimitArgs {
        rate_limit_per_minute: 0,
        ..LimitArgs::default()
    };
    let realtime = RealtimeArgs {
        ws_max_connections_per_principal: per_partner.max(10),
        ..RealtimeArgs::default()
    };
    let state = AppState::new(
        conn,
        Verifier::from_config(&jwt_args, false).unwrap(),
        limits,
        ProgramArgs::default(),
        realtime,
        StatementCounter::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(cosell::serve(listener, state, std::future::pending()));
    let http = format!("http://{addr}/graphql");
    let client = reqwest::Client::new();
    let vendor = token(PrincipalKind::Vendor, "ADMIN", None);

    let mut ids = Vec::new();
    for i in 0..partners {
        let d = gql(
            &client,
            &http,
            &vendor,
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
            json!({ "i": { "name": format!("Bench partner {i}"), "tier": "GOLD" } }),
        )
        .await;
        ids.push(
            d["createPartner"]["partner"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }

    let rss_before = rss_kib();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    for (p, id) in ids.iter().enumerate() {
        let t = token(PrincipalKind::Partner, "PARTNER_ADMIN", Some(id));
        for _ in 0..per_partner {
            let mut req = format!("ws://{addr}/graphql/ws")
                .into_client_request()
                .unwrap();
            req.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("graphql-transport-ws"),
            );
            // Small client buffers, so the figure is mostly the server's.
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(0);
            let (mut ws, _) =
                tokio_tungstenite::connect_async_with_config(req, Some(config), false)
                    .await
                    .unwrap();
            ws.send(Message::Text(
                json!({ "type": "connection_init", "payload": { "token": t } })
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            ws.next().await.unwrap().unwrap();
            ws.send(Message::Text(json!({ "type": "subscribe", "id": "s", "payload": { "query":
                "subscription { registrationStatusChanged(status: [APPROVED]) { event { id } registration { id status } } }" } }).to_string().into()))
                .await
                .unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "next" {
                        let reg = v["payload"]["data"]["registrationStatusChanged"]["registration"]
                            ["id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        let _ = tx.send((p, reg, Instant::now()));
                    }
                }
            });
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = rss_kib();

    let mut latencies = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        for (p, id) in ids.iter().enumerate() {
            let t = token(PrincipalKind::Partner, "PARTNER_ADMIN", Some(id));
            let d = gql(&client, &http, &t, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
                json!({ "i": { "draft": { "accountDomain": format!("bench-{round}-{p}.example"), "accountName": "Bench",
                       "dealName": "Deal", "role": "SERVICES", "justification": "benchmark" } } })).await;
            let r = &d["submitRegistration"]["registration"];
            let reg = r["id"].as_str().unwrap().to_string();
            let sent = Instant::now();
            gql(&client, &http, &vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }",
                json!({ "i": { "id": reg, "expectedVersion": r["version"], "createOpportunity": true } })).await;
            let mut heard = 0;
            while heard < per_partner {
                let (who, got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await
                    .expect("delivery within 10 s")
                    .unwrap();
                assert_eq!(
                    (who, got.as_str()),
                    (p, reg.as_str()),
                    "only the partner's own approval"
                );
                latencies.push(at.duration_since(sent));
                heard += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "fan-out on {}",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "  subscribers: {} partners x {} connections = {}",
        partners,
        per_partner,
        partners * per_partner
    );
    println!(
        "  approvals: {} ({} deliveries) in {:.2?}",
        partners * rounds,
        latencies.len(),
        elapsed
    );
    println!(
        "  approve request sent -> delivered to each subscriber: p50 {:.2?}, p95 {:.2?}, max {:.2?}",
        pct(0.5),
        pct(0.95),
        latencies.last().unwrap()
    );
    println!(
        "  process RSS: {} KiB before subscribing, {} KiB with the subscriptions open ({} KiB each, client side included)",
        rss_before,
        rss_open,
        (rss_open.saturating_sub(rss_before)) / (partners * per_partner).max(1) as u64
    );
}
