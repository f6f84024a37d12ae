//! Flood benchmark: the hostile-document corpus (tests/api/corpus.rs) sent to a real `cosell`
//! process as fast as 50 clients can, while a prober (on a thread and runtime of its own) times
//! `/healthz` and `/readyz` every 5 ms.
//! Prints the refusals' throughput and latency, the probes' latency during the flood and when
//! idle, and the server's RSS before, at its peak and after each round. Run with
//! `cargo bench --bench flood` (`BENCH_ROUNDS`, `BENCH_REQUESTS` per round and
//! `BENCH_CONCURRENCY` to size it). `BENCH_BINARIES=label=path,label=path` floods several
//! builds side by side, their rounds interleaved, so a noisy machine treats them alike. It
//! prints figures; it asserts nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosell::auth::PrincipalKind;
use serde_json::{json, Value};

#[allow(dead_code)]
#[path = "../tests/api/corpus.rs"]
mod corpus;

mod common;

const SECRET: &str = "bench-secret-for-the-flood-benchmark-01234";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vendor_token() -> String {
    common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None)
}

/// A server on a SQLite file of its own.
struct Server {
    process: common::Process,
    _dir: tempfile::TempDir,
}

async fn start(binary: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flood.db").display());
    Server {
        process: common::Process::start(binary, &url, SECRET, &[]).await,
        _dir: dir,
    }
}

/// Times `/healthz` and `/readyz` every 5 ms until `stop`; returns their latencies in ms.
async fn probe(base: String, stop: Arc<AtomicBool>) -> (Vec<f64>, Vec<f64>) {
    let client = reqwest::Client::new();
    let (mut health, mut ready) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        for (path, out) in [("healthz", &mut health), ("readyz", &mut ready)] {
            let t = Instant::now();
            let ok = client
                .get(format!("{base}/{path}"))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            out.push(if ok {
                t.elapsed().as_secs_f64() * 1e3
            } else {
                f64::INFINITY
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (health, ready)
}

/// One build under test.
struct Build {
    label: String,
    server: Server,
    rss_before: f64,
    rss_after: Vec<f64>,
    throughput: Vec<f64>,
    health_p99: Vec<f64>,
}

/// One round: `requests` corpus documents at `concurrency` in flight, with probes. Prints a row.
async fn round(
    build: &mut Build,
    n: usize,
    bodies: &Arc<Vec<(String, String)>>,
    token: &str,
    requests: usize,
    concurrency: usize,
) {
    let client = reqwest::Client::new();
    let url = format!("{}/graphql", build.server.process.base);
    let stop = Arc::new(AtomicBool::new(false));
    // The prober runs on a thread and runtime of its own, as a health checker is a process of
    // its own: its timings are the server's, not the flood clients' scheduling.
    let prober = {
        let (base, stop) = (build.server.process.base.clone(), stop.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(probe(base, stop))
        })
    };
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token, bodies, next) = (
            client.clone(),
            url.clone(),
            token.to_string(),
            bodies.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut refused, mut other) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let (_, body) = &bodies[i % bodies.len()];
                let t = Instant::now();
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let code = match reply {
                    Ok(r) => r.json::<Value>().await.ok().and_then(|b| {
                        b["errors"][0]["extensions"]["code"]
                            .as_str()
                            .map(str::to_string)
                    }),
                    Err(_) => None,
                };
                match code.as_deref() {
                    Some("LIMIT_EXCEEDED") => refused.push(t.elapsed().as_secs_f64() * 1e3),
                    _ => other += 1,
                }
            }
            (refused, other)
        }));
    }
    let (mut refused, mut other) = (Vec::new(), 0);
    for w in workers {
        let (r, o) = w.await.unwrap();
        refused.extend(r);
        other += o;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (health, ready) = prober.join().unwrap();
    let (_, peak) = build.server.process.rss_mib();
    // The flood is over when its clients have gone: their connections' buffers are the
    // server's memory until then.
    drop(client);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, _) = build.server.process.rss_mib();
    let (refused, health, ready) = (
        common::sorted(refused),
        common::sorted(health),
        common::sorted(ready),
    );
    let throughput = refused.len() as f64 / elapsed;
    build.rss_after.push(after);
    build.throughput.push(throughput);
    build.health_p99.push(common::percentile(&health, 0.99));
    println!(
        "| {} | {n} | {throughput:.0} | {:.1} | {:.1} | {other} | {:.2} | {:.2} | {:.2} | {:.2} | {peak:.1} | {after:.1} |",
        build.label,
        common::percentile(&refused, 0.5),
        common::percentile(&refused, 0.99),
        common::percentile(&health, 0.5),
        common::percentile(&health, 0.99),
        health.last().copied().unwrap_or(f64::NAN),
        common::percentile(&ready, 0.99),
    );
}

#[tokio::main]
async fn main() {
    let rounds = env("BENCH_ROUNDS", 3);
    let requests = env("BENCH_REQUESTS", 2_000);
    let concurrency = env("BENCH_CONCURRENCY", 50);
    let binaries = common::binaries();
    let token = vendor_token();
    let bodies: Arc<Vec<(String, String)>> = Arc::new(
        corpus::corpus()
            .into_iter()
            .map(|c| {
                let body = json!({ "query": c.query, "variables": c.variables }).to_string();
                (c.name.to_string(), body)
            })
            .collect(),
    );
    println!(
        "cosell flood benchmark: {} corpus documents ({} KiB in all), {requests} requests a round \
         at {concurrency} in flight, {} cores, release build, SQLite",
        bodies.len(),
        bodies.iter().map(|(_, b)| b.len()).sum::<usize>() / 1024,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let client = reqwest::Client::new();
    let mut builds = Vec::new();
    for (label, path) in binaries {
        let server = start(&path).await;
        for _ in 0..50 {
            client
                .post(format!("{}/graphql", server.process.base))
                .bearer_auth(&token)
                .json(&json!({ "query": "{ viewer { kind } }" }))
                .send()
                .await
                .unwrap();
        }
        // Idle probes: the floor to compare with.
        let stop = Arc::new(AtomicBool::new(false));
        let idle = tokio::spawn(probe(server.process.base.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        let idle_health = common::sorted(idle.await.unwrap().0);
        let (rss_before, _) = server.process.rss_mib();
        println!(
            "{label}: idle /healthz p50 {:.2} ms, p99 {:.2} ms; RSS before the flood {rss_before:.1} MiB",
            common::percentile(&idle_health, 0.5),
            common::percentile(&idle_health, 0.99)
        );
        builds.push(Build {
            label,
            server,
            rss_before,
            rss_after: Vec::new(),
            throughput: Vec::new(),
            health_p99: Vec::new(),
        });
    }
    println!();
    println!("| build | round | refusals/s | refusal p50 ms | refusal p99 ms | other answers | /healthz p50 ms | /healthz p99 ms | /healthz max ms | /readyz p99 ms | RSS peak MiB | RSS after MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in 1..=rounds {
        for build in builds.iter_mut() {
            round(build, n, &bodies, &token, requests, concurrency).await;
        }
    }
    println!();
    println!("| build | median refusals/s | median /healthz p99 ms | RSS before MiB | RSS after the last round MiB | after / before |");
    println!("|---|---|---|---|---|---|");
    for b in &builds {
        let last = b.rss_after.last().copied().unwrap_or(b.rss_before);
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {last:.1} | {:.2} |",
            b.label,
            common::median(&b.throughput),
            common::median(&b.health_p99),
            b.rss_before,
            last / b.rss_before
        );
    }
}
