//! Submission benchmark: `submitRegistration` latency and statements as the program grows.
//!
//! For each size in `BENCH_SIZES` (registrations; default 10000,100000,1000000) it seeds a
//! fresh database with `cosell seed`'s generator (200 partners, one opportunity per five
//! registrations, one account per ten opportunities), starts a server on it and submits
//! `BENCH_SUBMITS` (300) proposed deals one at a time from rotating partners: a third at an
//! existing customer's domain, a third under a name one edit away from an existing customer's,
//! a third at a new customer. Every submission runs conflict detection (duplicate, exclusive
//! role, direct-deal overlap by domain and by name). Then the same number again from 16
//! clients at once. Run with `COSELL_BENCH_DATABASE_URL=postgres://…/postgres cargo bench
//! --bench submit` (each size gets a database of its own, dropped afterwards); without it, on
//! SQLite files. It prints a table; it asserts nothing.

use std::time::Instant;

use cosell::auth::PrincipalKind;
use cosell::db::{self, StatementCounter};
use cosell::ids::{encode, Kind};
use serde_json::{json, Value};

mod common;

const SECRET: &str = "bench-secret-for-the-submit-benchmark-0123";
const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id status } } }";

fn partner_token(id: u64) -> String {
    let partner = encode(Kind::Partner, id as i64);
    common::token(
        SECRET,
        PrincipalKind::Partner,
        "PARTNER_ADMIN",
        Some(&partner),
    )
}

/// The `n`-th proposed deal of a run: at a seeded customer's domain, under a name one edit from
/// a seeded customer's, or at a new customer.
fn draft(n: u64, run: &str, accounts: u64) -> Value {
    let acct = 1 + (n * 7_919) % accounts;
    let (domain, name) = match n % 3 {
        0 => (
            format!("account{acct}.example.com"),
            format!("Renamed {acct}"),
        ),
        1 => (format!("{run}-near{n}.example.org"), near_name(acct)),
        _ => (
            format!("{run}-new{n}.example.org"),
            format!("Newco {run} {n}"),
        ),
    };
    json!({
        "draft": {
            "accountDomain": domain, "accountName": name, "dealName": format!("Deal {run} {n}"),
            "role": if n % 5 == 0 { "RESELLER" } else { "REFERRAL" },
            "justification": "Benchmark claim.", "amount": 100000, "currency": "USD",
        }
    })
}

/// A seeded customer's name with one letter left out.
fn near_name(acct: u64) -> String {
    let mut name = cosell::seed::account_name(acct);
    name.remove(1);
    name
}

struct Timing {
    latencies: Vec<f64>,
    statements: u64,
    wall: f64,
}

async fn submits(
    client: &reqwest::Client,
    url: &str,
    counter: &StatementCounter,
    run: &str,
    n: u64,
    clients: u64,
    accounts: u64,
) -> Timing {
    let before = counter.get();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, run) = (client.clone(), url.to_string(), run.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (c..n).step_by(clients as usize) {
                let token = partner_token(1 + i % 200);
                let body =
                    json!({ "query": SUBMIT, "variables": { "i": draft(i, &run, accounts) } });
                let t = Instant::now();
                let reply: Value = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                out.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(reply.get("errors").is_none(), "{reply}");
            }
            out
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    Timing {
        latencies,
        statements: counter.get() - before,
        wall: started.elapsed().as_secs_f64(),
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let n: u64 = std::env::var("BENCH_SUBMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "cosell submission benchmark: {n} submissions per size and mode, {}, {} cores, release build",
        if base.is_some() { "PostgreSQL" } else { "SQLite" },
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!();
    println!("| registrations | opportunities | seed s | mode | submits/s | p50 ms | p99 ms | statements per submit |");
    println!("|---|---|---|---|---|---|---|---|");
    for size in sizes {
        let name = format!("cosell_bench_submit_{size}");
        let url = common::fresh_database(base.as_deref(), &name, dir.path()).await;
        let counter = StatementCounter::default();
        let conn = db::connect(&url, 20, counter.clone()).await.unwrap();
        db::migrate(&conn).await.unwrap();
        let opportunities = (size / 5).max(1);
        let accounts = (opportunities / 10).max(1);
        let seeded = Instant::now();
        cosell::seed::run(
            &conn,
            cosell::seed::Size {
                partners: 200,
                accounts,
                opportunities,
                registrations: size,
            },
        )
        .await
        .unwrap();
        let seed_s = seeded.elapsed().as_secs_f64();
        let server = common::serve(conn.clone(), counter.clone(), SECRET).await;
        let url_http = server.url.clone();
        let client = reqwest::Client::new();
        for (mode, clients) in [("1 client", 1u64), ("16 clients", 16)] {
            let run = format!("s{size}c{clients}");
            let t = submits(&client, &url_http, &counter, &run, n, clients, accounts).await;
            println!(
                "| {size} | {opportunities} | {seed_s:.0} | {mode} | {:.0} | {:.1} | {:.1} | {:.1} |",
                n as f64 / t.wall,
                common::percentile(&t.latencies, 0.5),
                common::percentile(&t.latencies, 0.99),
                t.statements as f64 / n as f64
            );
        }
        let _ = server.stop.send(());
        let _ = server.task.await;
        conn.close().await.ok();
        common::drop_database(base.as_deref(), &name).await;
    }
}
