//! Webhook backlog benchmark: how fast deliveries catch up after a receiver outage and after a
//! crash, against the receiver's own speed (the anchor: one event at a time, an endpoint can
//! receive at most 1 / its answer time a second).
//!
//! `cargo bench --bench backlog` (SQLite) or with `COSELL_BENCH_DATABASE_URL=postgres://…/postgres`.
//! `BENCH_ROUNDS` (3) rounds, each running every scenario once, interleaved; medians printed.
//! `BENCH_BINARIES=label=path,label=path` runs several builds side by side, interleaved.
//! `BENCH_EVENTS` (1,000) events a backlog, `BENCH_PARTNERS` (100) x 10 endpoints for the
//! many-endpoint scenario. The server runs as a separate process with the default delivery
//! settings (16 slots, 4 a party, 1 s poll) and `--webhook-retry-schedule 1s,…`; everything
//! shares the machine's cores.
//!
//! Scenarios:
//! - **outage, instant receiver**: one endpoint, the receiver answers 503 while the backlog is
//!   written, then answers at once; catch-up time from the moment it is back, and events a
//!   second from its first to its last delivery.
//! - **outage, 5 ms receiver**: the same with a receiver that takes 5 ms per event (at most
//!   200 a second).
//! - **outage, 1,000 endpoints**: 100 partners with 10 endpoints each, 10 claims each written
//!   during the outage: 10,000 deliveries.
//! - **kill -9 mid-drain**: a 5 ms receiver draining a backlog, the server killed after 200
//!   deliveries and started again on the same database: time from the restart (its first
//!   answer on /healthz) to the first delivery, and every event delivered at least once.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use cosell::auth::PrincipalKind;
use serde_json::{json, Value};

mod common;
use common::gql;

const SECRET: &str = "bench-secret-for-the-backlog-benchmark-01";
const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A receiver that can be down (503) and answers after `delay_ms`; it records every 2xx
/// delivery (endpoint path, outbox cursor, when) and how long it took to answer each.
#[derive(Clone)]
struct Receiver {
    base: String,
    down: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    got: Arc<Mutex<Vec<(String, i64, Instant)>>>,
    service_ms: Arc<Mutex<Vec<f64>>>,
}

impl Receiver {
    async fn start() -> Self {
        let rx = Receiver {
            base: String::new(),
            down: Arc::default(),
            delay_ms: Arc::default(),
            got: Arc::default(),
            service_ms: Arc::default(),
        };
        let r = rx.clone();
        let app = axum::Router::new().route(
            "/hook/{who}",
            axum::routing::post(
                move |axum::extract::Path(who): axum::extract::Path<String>,
                      _: HeaderMap,
                      body: axum::body::Bytes| {
                    let r = r.clone();
                    async move {
                        if r.down.load(Ordering::SeqCst) {
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let started = Instant::now();
                        let delay = r.delay_ms.load(Ordering::SeqCst);
                        if delay > 0 {
                            // A thread's sleep is exact to tens of microseconds; the async
                            // timer's rounds up to the next millisecond.
                            let _ = tokio::task::spawn_blocking(move || {
                                std::thread::sleep(Duration::from_millis(delay))
                            })
                            .await;
                        }
                        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                        let cursor = v["data"]["cursor"]
                            .as_str()
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(0);
                        r.got.lock().unwrap().push((who, cursor, Instant::now()));
                        r.service_ms
                            .lock()
                            .unwrap()
                            .push(started.elapsed().as_secs_f64() * 1000.0);
                        StatusCode::OK
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            base: format!("http://{addr}/hook"),
            ..rx
        }
    }

    /// Distinct (endpoint, cursor) pairs delivered.
    fn distinct(&self) -> usize {
        let got = self.got.lock().unwrap();
        got.iter()
            .map(|(w, c, _)| (w.clone(), *c))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Waits (at most `secs`) until `n` distinct deliveries arrived; false on time-out.
    async fn until(&self, n: usize, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.distinct() < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

/// Runs `n` calls, `width` at a time.
async fn in_parallel<F, Fut>(n: usize, width: usize, call: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures_util::StreamExt;
    let mut pending = futures_util::stream::FuturesUnordered::new();
    for i in 0..n {
        pending.push(call(i));
        if pending.len() >= width {
            pending.next().await;
        }
    }
    while pending.next().await.is_some() {}
}

struct Setup {
    binary: String,
    base: Option<String>,
    dir: tempfile::TempDir,
    events: usize,
    partners: usize,
}

impl Setup {
    async fn server(&self, fresh: bool) -> (common::Process, String) {
        const DB: &str = "cosell_backlog_bench";
        let url = if fresh {
            for suffix in ["db", "db-wal", "db-shm"] {
                let _ = std::fs::remove_file(self.dir.path().join(format!("{DB}.{suffix}")));
            }
            common::fresh_database(self.base.as_deref(), DB, self.dir.path()).await
        } else {
            match &self.base {
                Some(b) => format!("{}/{DB}", b.rsplit_once('/').unwrap().0),
                None => format!(
                    "sqlite://{}",
                    self.dir.path().join(format!("{DB}.db")).display()
                ),
            }
        };
        let schedule = vec!["1s"; 30].join(",");
        let p = common::Process::start(
            &self.binary,
            &url,
            SECRET,
            &[
                "--webhook-allow-private-targets",
                "--webhook-allow-http",
                "--webhook-retry-schedule",
                &schedule,
            ],
        )
        .await;
        (p, url)
    }
}

/// One scenario's figures.
#[derive(Default, Clone)]
struct Figures {
    /// From the receiver's (or the server's) return to the last delivery, seconds.
    catch_up: f64,
    /// From the return to the first delivery, seconds.
    first: f64,
    /// Deliveries a second from the first to the last.
    rate: f64,
    /// Gaps between one endpoint's consecutive deliveries, ms (p50, p99).
    gap_p50: f64,
    gap_p99: f64,
    /// Database transactions committed per delivery (PostgreSQL only).
    commits: f64,
    /// The receiver's own answer time, ms (median): one event at a time it can take at most
    /// 1000 / this a second.
    service: f64,
    rss: f64,
    complete: bool,
}

async fn commits(base: &Option<String>) -> f64 {
    use sea_orm::ConnectionTrait;
    let Some(b) = base else { return f64::NAN };
    // Backends publish their counts at most once a second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let conn = sea_orm::Database::connect(b).await.unwrap();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT xact_commit FROM pg_stat_database WHERE datname = 'cosell_backlog_bench'",
        ))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .map_or(f64::NAN, |v| v as f64)
}

/// Figures for the deliveries in `rx` after `from`.
fn figures(rx: &Receiver, back: Instant) -> Figures {
    let got = rx.got.lock().unwrap().clone();
    let after: Vec<_> = got.iter().filter(|(_, _, at)| *at >= back).collect();
    let first = after.iter().map(|d| d.2).min().unwrap_or(back);
    let last = after.iter().map(|d| d.2).max().unwrap_or(back);
    let mut by: HashMap<&str, Vec<Instant>> = HashMap::new();
    for (w, _, at) in &after {
        by.entry(w.as_str()).or_default().push(*at);
    }
    let mut gaps = Vec::new();
    for v in by.values_mut() {
        v.sort();
        gaps.extend(v.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0));
    }
    let gaps = common::sorted(gaps);
    let service = common::median(&rx.service_ms.lock().unwrap());
    Figures {
        service,
        catch_up: (last - back).as_secs_f64(),
        first: (first - back).as_secs_f64(),
        rate: (after.len().saturating_sub(1)) as f64 / (last - first).as_secs_f64().max(1e-9),
        gap_p50: common::percentile(&gaps, 0.5),
        gap_p99: common::percentile(&gaps, 0.99),
        ..Figures::default()
    }
}

/// One endpoint, a backlog written while the receiver answers 503, then the receiver is back.
async fn outage(s: &Setup, delay_ms: u64) -> Figures {
    let (server, _) = s.server(true).await;
    let client = reqwest::Client::new();
    let api = format!("{}/graphql", server.base);
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    let rx = Receiver::start().await;
    rx.delay_ms.store(delay_ms, Ordering::SeqCst);
    rx.down.store(true, Ordering::SeqCst);
    gql(
        &client,
        &api,
        &vendor,
        CREATE,
        json!({ "i": { "url": format!("{}/one", rx.base), "topics": ["partner.created"] } }),
    )
    .await;
    in_parallel(s.events, 4, |i| {
        let (client, api, vendor) = (&client, &api, &vendor);
        async move {
            gql(
                client,
                api,
                vendor,
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                json!({ "i": { "name": format!("Backlog {i}"), "tier": "GOLD" } }),
            )
            .await;
        }
    })
    .await;
    let before = commits(&s.base).await;
    let back = Instant::now();
    rx.down.store(false, Ordering::SeqCst);
    let complete = rx.until(s.events, 300).await;
    let mut f = figures(&rx, back);
    f.commits = (commits(&s.base).await - before) / s.events as f64;
    f.rss = server.rss_mib().1;
    f.complete = complete;
    f
}

/// `partners` partners with 10 endpoints each; 10 claims each written during an outage.
async fn many(s: &Setup) -> Figures {
    let (server, _) = s.server(true).await;
    let client = reqwest::Client::new();
    let api = format!("{}/graphql", server.base);
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    let rx = Receiver::start().await;
    rx.down.store(true, Ordering::SeqCst);
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    in_parallel(s.partners, 4, |p| {
        let (client, api, vendor, rx, tokens) = (&client, &api, &vendor, &rx, tokens.clone());
        async move {
            let d = gql(client, api, vendor,
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                json!({ "i": { "name": format!("Bench partner {p}"), "tier": "GOLD" } })).await;
            let id = d["createPartner"]["partner"]["id"].as_str().unwrap().to_string();
            let token = common::token(SECRET, PrincipalKind::Partner, "PARTNER_ADMIN", Some(&id));
            for e in 0..10 {
                gql(client, api, &token, CREATE, json!({ "i": { "url": format!("{}/p{p}e{e}", rx.base), "topics": ["registration.submitted"] } })).await;
            }
            tokens.lock().unwrap().push(token);
        }
    })
    .await;
    let tokens = tokens.lock().unwrap().clone();
    in_parallel(tokens.len() * 10, 4, |n| {
        let (client, api, token) = (&client, &api, &tokens[n % tokens.len()]);
        async move {
            gql(client, api, token,
                "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id } } }",
                json!({ "i": { "draft": { "accountDomain": format!("bench-{n}.example"), "accountName": format!("Bench {n}"),
                    "dealName": "Bench deal", "role": "REFERRAL", "justification": "Benchmark traffic." } } })).await;
        }
    })
    .await;
    let total = tokens.len() * 10 * 10;
    let before = commits(&s.base).await;
    let back = Instant::now();
    rx.down.store(false, Ordering::SeqCst);
    let complete = rx.until(total, 600).await;
    let mut f = figures(&rx, back);
    f.commits = (commits(&s.base).await - before) / total as f64;
    f.rss = server.rss_mib().1;
    f.complete = complete;
    f
}

/// A 5 ms receiver draining a backlog; kill -9 after 200 deliveries; start again.
async fn crash(s: &Setup) -> Figures {
    let (server, _) = s.server(true).await;
    let client = reqwest::Client::new();
    let api = format!("{}/graphql", server.base);
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    let rx = Receiver::start().await;
    rx.delay_ms.store(5, Ordering::SeqCst);
    rx.down.store(true, Ordering::SeqCst);
    gql(
        &client,
        &api,
        &vendor,
        CREATE,
        json!({ "i": { "url": format!("{}/one", rx.base), "topics": ["partner.created"] } }),
    )
    .await;
    in_parallel(s.events, 4, |i| {
        let (client, api, vendor) = (&client, &api, &vendor);
        async move {
            gql(
                client,
                api,
                vendor,
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                json!({ "i": { "name": format!("Crash {i}"), "tier": "GOLD" } }),
            )
            .await;
        }
    })
    .await;
    rx.down.store(false, Ordering::SeqCst);
    rx.until(200.min(s.events / 2), 120).await;
    drop(server);
    let (again, _) = s.server(false).await;
    let back = Instant::now();
    let complete = rx.until(s.events, 300).await;
    let mut f = figures(&rx, back);
    f.rss = again.rss_mib().1;
    f.complete = complete;
    f
}

fn median(v: &[f64]) -> f64 {
    common::median(v)
}

#[tokio::main]
async fn main() {
    let rounds = env("BENCH_ROUNDS", 3).max(1);
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    let builds = common::binaries();
    let mut setups: Vec<Setup> = builds
        .iter()
        .map(|(_, binary)| Setup {
            binary: binary.clone(),
            dir: tempfile::tempdir().unwrap(),
            events: env("BENCH_EVENTS", 1_000),
            partners: env("BENCH_PARTNERS", 100),
            base: base.clone(),
        })
        .collect();
    let names = [
        "outage, instant receiver (1 endpoint)",
        "outage, 5 ms receiver (1 endpoint)",
        "outage, 1,000 endpoints",
        "kill -9 mid-drain, restart (5 ms receiver)",
    ];
    // runs[build][scenario]: one figure a round; builds interleaved within each round.
    let mut runs: Vec<Vec<Vec<Figures>>> = vec![vec![Vec::new(); names.len()]; builds.len()];
    for round in 0..rounds {
        for (b, setup) in setups.iter_mut().enumerate() {
            runs[b][0].push(outage(setup, 0).await);
            runs[b][1].push(outage(setup, 5).await);
            runs[b][2].push(many(setup).await);
            runs[b][3].push(crash(setup).await);
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let setup = &setups[0];
    let backend = if base.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "\nwebhook backlogs on {backend}: {} events a backlog, {} partners x 10 endpoints, {rounds} interleaved rounds (medians; every round's value in brackets)",
        setup.events, setup.partners
    );
    println!(
        "Machine: {}; {} build; server, database, receiver and writers share the cores\n",
        common::machine(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("| build | scenario | catch-up (s) | first delivery (s) | deliveries/s | vs the receiver's speed (its answer time) | gap p50 / p99 (ms) | commits per delivery | peak RSS (MiB) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, name) in names.iter().enumerate() {
        for (b, (label, _)) in builds.iter().enumerate() {
            let r = &runs[b][i];
            let col = |f: fn(&Figures) -> f64| r.iter().map(f).collect::<Vec<_>>();
            let rates = col(|f| f.rate);
            let service = median(&col(|f| f.service));
            let ratio = match i {
                1 | 3 => format!(
                    "{:.0} % of {:.0}/s ({service:.2} ms)",
                    median(&rates) * service / 10.0,
                    1000.0 / service
                ),
                _ => format!("answers at once ({service:.2} ms)"),
            };
            let list = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
            "| {label} | {name} | {:.1} [{}] | {:.2} [{}] | {:.0} [{}] | {ratio} | {:.1} / {:.1} | {:.2} | {:.0} |",
            median(&col(|f| f.catch_up)),
            list(&col(|f| f.catch_up)),
            median(&col(|f| f.first)),
            list(&col(|f| f.first)),
            median(&rates),
            list(&rates),
            median(&col(|f| f.gap_p50)),
            median(&col(|f| f.gap_p99)),
            median(&col(|f| f.commits)),
            median(&col(|f| f.rss)),
        );
            assert!(
                r.iter().all(|f| f.complete),
                "{label}, {name}: every delivery arrived"
            );
        }
    }
    common::drop_database(base.as_deref(), "cosell_backlog_bench").await;
}
