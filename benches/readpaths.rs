//! Every read path at scale: each root query field of the schema, with the arguments a portal
//! uses, as the vendor (an ADMIN; a CHANNEL_MANAGER for the review queue) and as a partner (the
//! one with the most claims, or `BENCH_PARTNER`), against a database already seeded by
//! `cosell seed`.
//!
//! Part one: one `cosell serve` with ONE database connection, requests sent one at a time:
//! `BENCH_WARMUP` (3) rounds, then `BENCH_ROUNDS` (50) timed rounds, each round asking every
//! case once (so the machine's noise spreads over all of them). Prints, per case, p50 and p99
//! of the client-side latency and the SQL statements per request (the median of the change in
//! `cosell_sql_statements_total` around each request); rows over 50 ms p99 are marked.
//! `BENCH_ONLY` (a substring of the field or label) narrows the cases.
//!
//! Part two: the dashboard (first page of 50 deals) with and without each deal's threading, at
//! `BENCH_CONCURRENCY` (16) closed-loop clients against a server with `BENCH_POOL` (10)
//! connections, `BENCH_CONCURRENT_ROUNDS` (3) rounds of `BENCH_CONCURRENT_WARMUP` (2) s warm-up
//! and `BENCH_SECONDS` (10) s measured, alternating; prints the medians and the ratio.
//! `BENCH_SECONDS=0` skips it.
//!
//! Database: `BENCH_DATABASE_URL` (postgres://postgres@127.0.0.1:5432/cosell_scale), which the
//! benchmark only reads. Server: `BENCH_COSELL_BIN` (this build's binary) with
//! `BENCH_COSELL_ARGS`; the expiry sweep is off (`--expiry-interval-seconds 0`: the seed has
//! nothing to expire, and the sweep would hold the one connection between requests), and in
//! part one the request timeout is 300 s, so that the slowest paths are timed, not abandoned
//! (a request that fails anyway is timed and counted in the `failed` column).
//!
//! ```sh
//! cosell seed --database-url postgres://postgres@127.0.0.1:5432/cosell_scale \
//!   --partners 200 --accounts 20000 --opportunities 200000 --registrations 1000000
//! cargo bench --bench readpaths
//! ```

#[path = "readpaths/cases.rs"]
mod cases;
mod common;

use std::time::{Duration, Instant};

use cases::{Caller, Case};
use common::Process;
use cosell::auth::PrincipalKind;
use cosell::ids::{encode, Kind};
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-for-the-read-path-benchmark-0123";
/// p99 above this is a known gap.
const TARGET_MS: f64 = 50.0;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The tokens of the three callers.
struct Tokens {
    vendor: String,
    channel_manager: String,
    partner: String,
}

impl Tokens {
    fn new(partner: i64) -> Self {
        let global = encode(Kind::Partner, partner);
        Self {
            vendor: common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None),
            channel_manager: common::token(SECRET, PrincipalKind::Vendor, "CHANNEL_MANAGER", None),
            partner: common::token(
                SECRET,
                PrincipalKind::Partner,
                "PARTNER_ADMIN",
                Some(&global),
            ),
        }
    }

    fn of(&self, caller: Caller) -> &str {
        match caller {
            Caller::Vendor => &self.vendor,
            Caller::ChannelManager => &self.channel_manager,
            Caller::Partner => &self.partner,
        }
    }
}

/// Sends `case` once; fails unless it answered as expected (data, or NOT_FOUND for an id that
/// was not seeded).
async fn send(client: &reqwest::Client, url: &str, token: &str, case: &Case) -> Result<(), String> {
    let body: Value = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": case.document, "variables": case.variables }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let code = body["errors"][0]["extensions"]["code"].as_str();
    match (code, case.missing) {
        (None, false) => Ok(()),
        (Some("NOT_FOUND"), true) => Ok(()),
        _ => Err(format!("{} as {}: {body}", case.label, case.caller.label())),
    }
}

/// What the timed rounds gave for one case.
struct Timing {
    latencies: Vec<f64>,
    statements: Vec<f64>,
    failed: u64,
    /// The first failure's answer.
    error: Option<String>,
}

/// Part one: every case, one at a time, on one connection.
async fn sequential(process: &Process, cases: &[Case], tokens: &Tokens) -> Vec<Timing> {
    let client = reqwest::Client::new();
    let url = format!("{}/graphql", process.base);
    let warmup = env_u64("BENCH_WARMUP", 3);
    let rounds = env_u64("BENCH_ROUNDS", 50).max(1);
    for round in 0..warmup {
        for c in cases {
            let started = Instant::now();
            send(&client, &url, tokens.of(c.caller), c)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if round == 0 && started.elapsed() > Duration::from_secs(1) {
                println!(
                    "  slow: {} as {} took {:.1} s",
                    c.label,
                    c.caller.label(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    let mut timings: Vec<Timing> = cases
        .iter()
        .map(|_| Timing {
            latencies: Vec::new(),
            statements: Vec::new(),
            failed: 0,
            error: None,
        })
        .collect();
    for _ in 0..rounds {
        for (c, t) in cases.iter().zip(&mut timings) {
            let before = process.statements(&client).await;
            let started = Instant::now();
            let answer = send(&client, &url, tokens.of(c.caller), c).await;
            t.latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            t.statements
                .push(process.statements(&client).await - before);
            if let Err(e) = answer {
                // Timed as it happened, and counted: the row shows how many failed.
                t.failed += 1;
                t.error.get_or_insert(e);
            }
        }
    }
    timings
}

fn print_sequential(cases: &[Case], timings: &[Timing]) {
    println!(
        "\n### Every root query field, 1 connection, sequential ({} timed rounds)\n",
        timings.first().map_or(0, |t| t.latencies.len())
    );
    println!("| field | caller | query | p50 ms | p99 ms | statements | failed | |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut over = Vec::new();
    for (c, t) in cases.iter().zip(timings) {
        let sorted = common::sorted(t.latencies.clone());
        let (p50, p99) = (
            common::percentile(&sorted, 0.5),
            common::percentile(&sorted, 0.99),
        );
        let slow = p99 > TARGET_MS;
        if slow {
            over.push(format!("`{}` ({})", c.label, c.caller.label()));
        }
        println!(
            "| {} | {} | `{}`{} | {p50:.1} | {} | {} | {} | {} |",
            c.field,
            c.caller.label(),
            c.label,
            if c.missing {
                " (none seeded: NOT_FOUND)"
            } else {
                ""
            },
            if slow {
                format!("**{p99:.1}**")
            } else {
                format!("{p99:.1}")
            },
            common::median(&t.statements),
            t.failed,
            if slow { "over 50 ms" } else { "" }
        );
        if let Some(e) = &t.error {
            println!("  first failure: {e}");
        }
    }
    println!(
        "\n{} of {} rows over {TARGET_MS} ms p99{}",
        over.len(),
        cases.len(),
        if over.is_empty() {
            String::new()
        } else {
            format!(": {}", over.join(", "))
        }
    );
}

/// What one closed-loop window gave.
struct Load {
    per_second: f64,
    p50: f64,
    p99: f64,
    statements: f64,
    cpu_ms: f64,
    failed: u64,
}

/// `clients` connections, each sending `document` as `token` again as soon as it is answered,
/// for `warmup` and then `window`.
async fn closed_loop(
    process: &Process,
    token: &str,
    document: &str,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Load {
    let url = format!("{}/graphql", process.base);
    let body = serde_json::to_vec(&json!({ "query": document })).unwrap();
    let start = Instant::now() + warmup;
    let end = start + window;
    let probe = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, body, token) = (url.clone(), body.clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut lat, mut failed) = (Vec::new(), 0u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let ok = match client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok_and(|b| {
                        b.starts_with(b"{\"data\"") && !b.windows(8).any(|w| w == b"\"errors\"")
                    }),
                    _ => false,
                };
                if sent >= start {
                    lat.push(sent.elapsed().as_secs_f64() * 1000.0);
                    failed += u64::from(!ok);
                }
            }
            (lat, failed)
        }));
    }
    tokio::time::sleep_until(start.into()).await;
    let (statements, cpu) = (process.statements(&probe).await, process.cpu_seconds());
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (lat, f) = t.await.unwrap();
        all.extend(lat);
        failed += f;
    }
    let n = all.len().max(1) as f64;
    let sorted = common::sorted(all);
    Load {
        per_second: n / window.as_secs_f64(),
        p50: common::percentile(&sorted, 0.5),
        p99: common::percentile(&sorted, 0.99),
        statements: (process.statements(&probe).await - statements) / n,
        cpu_ms: (process.cpu_seconds() - cpu) * 1000.0 / n,
        failed,
    }
}

/// Part two: the dashboard with and without threading under concurrent load.
async fn concurrent(binary: &str, url: &str, extra: &[String], tokens: &Tokens) {
    let window = Duration::from_secs(env_u64("BENCH_SECONDS", 10));
    if window.is_zero() {
        return;
    }
    let clients = env_u64("BENCH_CONCURRENCY", 16) as usize;
    let pool = env_u64("BENCH_POOL", 10).to_string();
    let warmup = Duration::from_secs(env_u64("BENCH_CONCURRENT_WARMUP", 2));
    let rounds = env_u64("BENCH_CONCURRENT_ROUNDS", 3).max(1);
    let mut args: Vec<&str> = vec!["--database-max-connections", &pool];
    args.extend(["--expiry-interval-seconds", "0"]);
    args.extend(extra.iter().map(String::as_str));
    let process = Process::start(binary, url, SECRET, &args).await;
    println!(
        "\n### The dashboard with and without threading, {clients} clients, pool of {pool}, medians of {rounds} rounds of {} s\n",
        window.as_secs()
    );
    println!("| caller | document | requests/s | p50 ms | p99 ms | statements/request | server CPU ms/request | failed | with / without |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for caller in [Caller::Partner, Caller::Vendor] {
        let mut runs: [Vec<Load>; 2] = [Vec::new(), Vec::new()];
        for r in 0..rounds {
            for k in 0..2 {
                // Alternate which goes first.
                let threading = (k + r as usize) % 2 == 1;
                let doc = cases::dashboard(threading);
                let load =
                    closed_loop(&process, tokens.of(caller), &doc, clients, warmup, window).await;
                runs[usize::from(threading)].push(load);
            }
        }
        let med =
            |v: &[Load], f: fn(&Load) -> f64| common::median(&v.iter().map(f).collect::<Vec<_>>());
        let without = med(&runs[0], |l| l.per_second);
        for (threading, v) in runs.iter().enumerate() {
            let rate = med(v, |l| l.per_second);
            println!(
                "| {} | {} | {rate:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {} |",
                caller.label(),
                if threading == 1 {
                    "with threading"
                } else {
                    "without"
                },
                med(v, |l| l.p50),
                med(v, |l| l.p99),
                med(v, |l| l.statements),
                med(v, |l| l.cpu_ms),
                v.iter().map(|l| l.failed).sum::<u64>(),
                if threading == 1 {
                    format!("**{:.2}x**", rate / without)
                } else {
                    String::new()
                }
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/cosell_scale".into());
    let binary =
        std::env::var("BENCH_COSELL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cosell").into());
    let extra: Vec<String> = std::env::var("BENCH_COSELL_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let probe = cosell::db::connect(&url, 1, Default::default())
        .await
        .expect("connect to the benchmark database");
    let picks = cases::pick(
        &probe,
        std::env::var("BENCH_PARTNER")
            .ok()
            .and_then(|p| p.parse().ok()),
    )
    .await;
    let size = |t: &'static str| {
        let probe = probe.clone();
        async move { cases::count(&probe, t).await }
    };
    println!(
        "Ran on: {}; load average at start {}",
        common::machine(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "Binary: {binary} ({})",
        std::fs::metadata(&binary)
            .and_then(|m| m.modified())
            .map(|t| chrono::DateTime::<chrono::Utc>::from(t)
                .format("built %Y-%m-%d %H:%M UTC")
                .to_string())
            .unwrap_or_default()
    );
    println!(
        "Database: {} partners, {} accounts, {} opportunities, {} registrations, {} contacts, {} contact links, {} engagements",
        size("partners").await,
        size("accounts").await,
        size("opportunities").await,
        size("registrations").await,
        size("contacts").await,
        size("contact_links").await,
        size("engagements").await,
    );
    println!(
        "Partner: {} ({} claims, on {} deals); deal {}, account {}",
        picks.partner, picks.partner_claims, picks.partner_deals, picks.deal, picks.account
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let all = cases::cases(&picks);
    let covered: std::collections::BTreeSet<&str> = all.iter().map(|c| c.field).collect();
    let missing: Vec<String> = cases::query_fields()
        .into_iter()
        .filter(|f| !covered.contains(f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "root query fields without a case: {missing:?}"
    );
    let cases: Vec<Case> = all
        .into_iter()
        .filter(|c| only.is_empty() || c.field.contains(&only) || c.label.contains(&only))
        .collect();
    let tokens = Tokens::new(picks.partner);
    let mut args: Vec<&str> = vec![
        "--database-max-connections",
        "1",
        "--expiry-interval-seconds",
        "0",
    ];
    args.extend(extra.iter().map(String::as_str));
    let process = Process::start(&binary, &url, SECRET, &args).await;
    let timings = sequential(&process, &cases, &tokens).await;
    print_sequential(&cases, &timings);
    drop(process);
    concurrent(&binary, &url, &extra, &tokens).await;
}
