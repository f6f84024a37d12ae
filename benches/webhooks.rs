//! Webhook benchmark: how long an event takes to reach its endpoints, and what a program with
//! hundreds of partner endpoints costs per event. Run with `cargo bench --bench webhooks`
//! (`COSELL_BENCH_DATABASE_URL=postgres://…/postgres` for PostgreSQL; `BENCH_PARTNERS`,
//! `BENCH_EVENTS`, `BENCH_WRITERS`, `BENCH_INSTANCES` to size it). Each partner registers an
//! endpoint for its own view and the vendor one for everything, all on a receiver inside the
//! benchmark; writers submit registrations as random partners; every delivery is timed from
//! the moment the submission's answer came back (its commit) to its arrival. It prints figures;
//! it asserts nothing but that every delivery arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use cosell::auth::PrincipalKind;
use serde_json::json;

mod common;
use common::{gql, metric};

const SECRET: &str = "bench-secret-for-the-webhook-benchmark-01";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Arrivals: (endpoint path, webhook-id) -> when.
type Arrivals = Arc<Mutex<HashMap<(String, String), Instant>>>;

async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let a = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook/{who}",
        axum::routing::post(
            move |axum::extract::Path(who): axum::extract::Path<String>, headers: HeaderMap| {
                let a = a.clone();
                async move {
                    let id = headers["webhook-id"].to_str().unwrap_or("").to_string();
                    a.lock()
                        .unwrap()
                        .entry((who, id))
                        .or_insert_with(Instant::now);
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), arrivals)
}

#[tokio::main]
async fn main() {
    let partners = env("BENCH_PARTNERS", 200);
    let events = env("BENCH_EVENTS", 400);
    let writers = env("BENCH_WRITERS", 8);
    let instances = env("BENCH_INSTANCES", 2).max(1);
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(base.as_deref(), "cosell_webhooks_bench", dir.path()).await;
    let binary = env!("CARGO_BIN_EXE_cosell");
    let flags = [
        "--webhook-allow-private-targets",
        "--webhook-allow-http",
        "--webhook-poll-ms",
        "200",
    ];
    // SQLite is one instance's database.
    let instances = if base.is_some() { instances } else { 1 };
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(common::Process::start(binary, &url, SECRET, &flags).await);
    }
    let client = reqwest::Client::new();
    let api = |i: usize| format!("{}/graphql", servers[i % servers.len()].base);
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    let (hook, arrivals) = receiver().await;
    const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }";
    gql(
        &client,
        &api(0),
        &vendor,
        CREATE,
        json!({ "i": { "url": format!("{hook}/vendor"), "topics": ["registration."] } }),
    )
    .await;
    let mut tokens = Vec::new();
    for p in 0..partners {
        let d = gql(
            &client,
            &api(p),
            &vendor,
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
            json!({ "i": { "name": format!("Bench partner {p}"), "tier": "GOLD" } }),
        )
        .await;
        let id = d["createPartner"]["partner"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let token = common::token(SECRET, PrincipalKind::Partner, "PARTNER_ADMIN", Some(&id));
        gql(
            &client,
            &api(p),
            &token,
            CREATE,
            json!({ "i": { "url": format!("{hook}/p{p}"), "topics": ["registration."] } }),
        )
        .await;
        tokens.push(token);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let claimed_before = {
        let mut sum = 0.0;
        for s in &servers {
            sum += metric(&client, &s.base, "cosell_webhook_endpoints_claimed_total").await;
        }
        sum
    };
    let cpu_before: f64 = servers.iter().map(common::Process::cpu_seconds).sum();
    // Writers submit registrations as random partners: each submission is an event for the
    // vendor's endpoint and the submitting partner's.
    let sent: Arc<Mutex<Vec<(usize, String, Instant)>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (client, tokens, sent) = (client.clone(), tokens.clone(), sent.clone());
        let apis: Vec<String> = (0..servers.len()).map(api).collect();
        tasks.push(tokio::spawn(async move {
            let mut n = w;
            while n < events {
                let p = (n * 7919) % tokens.len();
                let d = gql(
                    &client,
                    &apis[n % apis.len()],
                    &tokens[p],
                    "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id } } }",
                    json!({ "i": { "draft": { "accountDomain": format!("bench-{n}.example"), "accountName": format!("Bench {n}"),
                        "dealName": "Bench deal", "role": "REFERRAL", "justification": "Benchmark traffic." } } }),
                )
                .await;
                let _ = d;
                sent.lock().unwrap().push((p, format!("bench-{n}.example"), Instant::now()));
                n += writers;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let write_secs = started.elapsed().as_secs_f64();
    // Wait for every delivery: each submission brings one or more registration events, each
    // for the vendor's endpoint and the partner's.
    let deadline = Instant::now() + Duration::from_secs(120);
    let sent = sent.lock().unwrap().clone();
    let expected_min = sent.len() * 2;
    loop {
        let n = arrivals.lock().unwrap().len();
        if n >= expected_min || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = servers
        .iter()
        .map(common::Process::cpu_seconds)
        .sum::<f64>()
        - cpu_before;
    let mut claimed = -claimed_before;
    let mut delivered = 0.0;
    for s in &servers {
        claimed += metric(&client, &s.base, "cosell_webhook_endpoints_claimed_total").await;
        delivered += metric(
            &client,
            &s.base,
            "cosell_webhook_attempts_total{outcome=\"delivered\"}",
        )
        .await;
    }
    // Latency: from the submission's answer to each arrival for that partner (matched by the
    // order of arrival per endpoint with the order of submissions per partner).
    let got = arrivals.lock().unwrap().clone();
    let mut by_endpoint: HashMap<String, Vec<Instant>> = HashMap::new();
    for ((who, _), at) in &got {
        by_endpoint.entry(who.clone()).or_default().push(*at);
    }
    for v in by_endpoint.values_mut() {
        v.sort();
    }
    let mut latencies = Vec::new();
    let mut per_partner: HashMap<usize, Vec<Instant>> = HashMap::new();
    for (p, _, at) in &sent {
        per_partner.entry(*p).or_default().push(*at);
    }
    for (p, submits) in &per_partner {
        let arrived = by_endpoint
            .get(&format!("p{p}"))
            .cloned()
            .unwrap_or_default();
        // Each submission's first event: the first arrival at or after its answer.
        let mut i = 0;
        for s in submits {
            while i < arrived.len() && arrived[i] < *s {
                i += 1;
            }
            if let Some(a) = arrived.get(i) {
                latencies.push(a.duration_since(*s).as_secs_f64() * 1000.0);
            }
        }
    }
    let lat = common::sorted(latencies);
    let missing = expected_min.saturating_sub(got.len());
    let backend = if base.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("\nwebhooks on {backend}: {instances} instance(s), {partners} partner endpoints + 1 vendor endpoint, {} submissions by {writers} writers, 2 cores shared by server(s), database, receiver and writers\n", sent.len());
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| submissions/s (writers) | {:.0} |",
        sent.len() as f64 / write_secs
    );
    println!(
        "| deliveries arrived | {} (at least {expected_min} expected; missing {missing}) |",
        got.len()
    );
    println!(
        "| delivery latency p50 / p99 / max (ms, answer to arrival) | {:.1} / {:.1} / {:.1} |",
        common::percentile(&lat, 0.5),
        common::percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "| endpoints leased per submission | {:.2} (of {}) |",
        claimed / sent.len() as f64,
        partners + 1
    );
    println!("| attempts delivered | {delivered:.0} |");
    println!(
        "| server CPU per delivery (ms) | {:.2} |",
        cpu * 1000.0 / got.len().max(1) as f64
    );
    for (i, s) in servers.iter().enumerate() {
        let (rss, hwm) = s.rss_mib();
        println!("| instance {i} RSS / peak (MiB) | {rss:.0} / {hwm:.0} |");
    }
    assert_eq!(missing, 0, "every delivery arrived");
    drop(servers);
    common::drop_database(base.as_deref(), "cosell_webhooks_bench").await;
}
