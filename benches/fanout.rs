//! Realtime fan-out: how long one approval takes to reach every subscriber entitled to it, how
//! many statements that costs, and what open subscriptions cost the server in memory.
//!
//! Each build under test runs as separate `cosell serve` processes (so the memory figures are
//! the server's alone) on a fresh database: SQLite, or PostgreSQL with
//! `COSELL_BENCH_DATABASE_URL=postgres://…/postgres` (a database `cosell_fanout_bench` is made
//! next to it). The subscribers are a mix: the vendor's users and apps, the users and apps of
//! `BENCH_PARTNERS` partners, on three subscription fields (`registrationStatusChanged`,
//! `events`, `opportunityChanged`) with nested objects. Each round a partner's registration is
//! approved: the vendor's subscribers and that partner's hear of it, no other partner's.
//!
//! `BENCH_SUBSCRIPTIONS` per instance (10,000), `BENCH_INSTANCES` (1; PostgreSQL only),
//! `BENCH_SUBSCRIPTIONS_PER_CONNECTION` (1), `BENCH_ROUNDS` (20), `BENCH_REPEAT` (1),
//! `BENCH_BINARIES=label=path,...` to compare builds side by side, interleaved. It raises its
//! own open-file limit to the hard limit. It prints figures; it asserts nothing but that no
//! subscriber hears of another partner's approval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosell::auth::jwt::{self, Claims, OneOrMany};
use cosell::auth::PrincipalKind;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::{gql, median, metric, Process};

const SECRET: &str = "bench-secret-for-the-fanout-benchmark-0123";
const SCOPES: &str =
    "registrations:read opportunities:read accounts:read partners:read events:read";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Who a subscription belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Who {
    Vendor,
    VendorApp,
    Partner(usize),
    PartnerApp(usize),
}

impl Who {
    /// Whether it hears of partner `p`'s approval on `field`.
    fn hears(self, p: usize, field: usize) -> bool {
        match self {
            Who::Vendor | Who::VendorApp => true,
            // opportunity.created is the vendor's alone.
            Who::Partner(q) | Who::PartnerApp(q) => q == p && field != 2,
        }
    }

    fn partner(self) -> Option<usize> {
        match self {
            Who::Partner(q) | Who::PartnerApp(q) => Some(q),
            _ => None,
        }
    }
}

const FIELDS: [&str; 3] = [
    "subscription { registrationStatusChanged(status: [APPROVED]) { event { id topic } registration { id status role partner { name } opportunity { name stage account { name } } } } }",
    "subscription { events(topics: [\"registration.approved\"]) { id topic subjectId } }",
    "subscription { opportunityChanged { event { id topic } opportunity { id name stage amount { amount currency } account { name domain } } } }",
];

fn token(who: Who, partner_ids: &[String]) -> String {
    let now = jwt::now();
    let (kind, role, partner) = match who {
        Who::Vendor => (PrincipalKind::Vendor, Some("ADMIN"), None),
        Who::VendorApp => (PrincipalKind::App, None, None),
        Who::Partner(p) => (PrincipalKind::Partner, Some("PARTNER_ADMIN"), Some(p)),
        Who::PartnerApp(p) => (PrincipalKind::App, None, Some(p)),
    };
    let claims = Claims {
        sub: format!("bench-{who:?}"),
        kind,
        role: role.map(str::to_string),
        partner_id: partner.map(|p| partner_ids[p].clone()),
        scope: (kind == PrincipalKind::App).then(|| OneOrMany::One(SCOPES.into())),
        scp: None,
        exp: now + 3 * 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: "cosell".into(),
        aud: OneOrMany::One("cosell-api".into()),
    };
    jwt::mint_hs256(&claims, SECRET).unwrap()
}

/// Raises this process's open-file limit to its hard limit (the servers it starts inherit it).
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    lim.rlim_cur
}

/// One subscription's arrivals: (subscription, when).
type Arrivals = tokio::sync::mpsc::UnboundedSender<(usize, Instant)>;

struct Subscription {
    who: Who,
    field: usize,
    instance: usize,
}

/// Opens `subs` (indices into `all`, one principal) on one connection to `addr`; each `next`
/// message is reported with its arrival time. Returns the task reading the connection.
async fn connect(
    addr: String,
    token: String,
    subs: Vec<usize>,
    all: Arc<Vec<Subscription>>,
    arrivals: Arrivals,
    failures: Arc<AtomicUsize>,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .ok()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        match tokio_tungstenite::connect_async_with_config(req, Some(config), false).await {
            Ok(ok) => ok,
            Err(_) => {
                failures.fetch_add(subs.len(), Ordering::Relaxed);
                return None;
            }
        };
    let init = json!({ "type": "connection_init", "payload": { "token": token } });
    ws.send(Message::Text(init.to_string().into())).await.ok()?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => {
            if failures.fetch_add(subs.len(), Ordering::Relaxed) == 0 {
                eprintln!("a connection was refused: {other:?}");
            }
            return None;
        }
    }
    for &s in &subs {
        let msg = json!({ "type": "subscribe", "id": s.to_string(),
            "payload": { "query": FIELDS[all[s].field] } });
        ws.send(Message::Text(msg.to_string().into())).await.ok()?;
    }
    Some(tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            let at = Instant::now();
            // `{"type":"next","id":"<n>",...}`: the id without parsing the rest.
            let id = t
                .split_once("\"id\":\"")
                .and_then(|(_, r)| r.split_once('"'))
                .and_then(|(id, _)| id.parse::<usize>().ok());
            match id {
                Some(id) if t.starts_with("{\"type\":\"next\"") && !t.contains("\"errors\"") => {
                    let _ = arrivals.send((id, at));
                }
                Some(_) if failures.fetch_add(1, Ordering::Relaxed) == 0 => {
                    eprintln!("a subscription failed: {t}");
                }
                _ => {}
            }
        }
    }))
}

/// One run's figures.
#[derive(Default, Clone)]
struct Run {
    deliveries: usize,
    lost: usize,
    unexpected: usize,
    failed: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Statements per approval beyond the approval's own, summed over instances.
    fanout_statements: f64,
    /// Server RSS per open subscription (KiB), averaged over instances.
    kib_per_subscription: f64,
    /// Server RSS after every connection closed, against before they opened (%).
    after_close_pct: f64,
    open_secs: f64,
    /// Per approval and instance: outbox reads by the tail and by subscribers catching up.
    tail_reads: f64,
    catch_up_reads: f64,
    /// Answers worked out per approval, summed over instances.
    resolved: f64,
    /// Server RSS (MiB, summed over instances): before subscribing, open, after closing.
    rss_mib: (f64, f64, f64),
    /// The anonymous part of it (heap and stacks).
    anon_mib: (f64, f64, f64),
}

const TAIL_READS: &str = "cosell_realtime_outbox_reads_total{reader=\"tail\"}";
const CATCH_UP_READS: &str = "cosell_realtime_outbox_reads_total{reader=\"catch_up\"}";
const RESOLVED: &str = "cosell_subscription_answers_total{kind=\"resolved\"}";

async fn statements(servers: &[Process], client: &reqwest::Client) -> f64 {
    let mut sum = 0.0;
    for s in servers {
        sum += s.statements(client).await;
    }
    sum
}

fn rss_kib(servers: &[Process]) -> Vec<f64> {
    servers.iter().map(|s| s.rss_mib().0 * 1024.0).collect()
}

/// Anonymous resident memory (heap, stacks; not the binary's code) in KiB, summed.
fn anon_kib(servers: &[Process]) -> f64 {
    servers
        .iter()
        .map(|s| {
            std::fs::read_to_string(format!("/proc/{}/status", s.child.id()))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum()
}

/// Submits a registration as partner `p` and approves it; returns when the approval was sent.
async fn approve(
    client: &reqwest::Client,
    api: &str,
    partner_token: &str,
    vendor: &str,
    n: usize,
) -> Instant {
    let d = gql(client, api, partner_token, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
        json!({ "i": { "draft": { "accountDomain": format!("fanout-{n}.example"), "accountName": format!("Fanout {n}"),
               "dealName": "Deal", "role": "SERVICES", "justification": "benchmark" } } })).await;
    let r = &d["submitRegistration"]["registration"];
    let sent = Instant::now();
    gql(client, api, vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } })).await;
    sent
}

/// Opens `connections` (instance, principal, subscriptions), 64 at a time.
async fn open(
    addrs: &[String],
    connections: Vec<(usize, Who, Vec<usize>)>,
    all: &Arc<Vec<Subscription>>,
    partner_ids: &[String],
    tx: Arrivals,
    failures: Arc<AtomicUsize>,
) -> Vec<Option<tokio::task::JoinHandle<()>>> {
    futures_util::stream::iter(connections)
        .map(|(instance, who, subs)| {
            connect(
                addrs[instance].clone(),
                token(who, partner_ids),
                subs,
                all.clone(),
                tx.clone(),
                failures.clone(),
            )
        })
        .buffer_unordered(64)
        .collect()
        .await
}

/// Waits until the servers count `n` open WebSocket connections between them.
async fn wait_connections(servers: &[Process], client: &reqwest::Client, n: usize) {
    loop {
        let mut open = 0.0;
        for s in servers {
            open += metric(client, &s.base, "cosell_ws_connections").await;
        }
        if open as usize == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    binary: &str,
    base: Option<&str>,
    per_instance: usize,
    instances: usize,
    per_conn: usize,
    partners: usize,
    rounds: usize,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(base, "cosell_fanout_bench", dir.path()).await;
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(
            Process::start(
                binary,
                &url,
                SECRET,
                &["--ws-max-connections-per-principal", "1000000"],
            )
            .await,
        );
    }
    let client = reqwest::Client::new();
    let api = |i: usize| format!("{}/graphql", servers[i % servers.len()].base);
    let vendor = token(Who::Vendor, &[]);
    let mut partner_ids = Vec::new();
    for p in 0..partners {
        let d = gql(
            &client,
            &api(0),
            &vendor,
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
            json!({ "i": { "name": format!("Fanout partner {p}"), "tier": "GOLD" } }),
        )
        .await;
        partner_ids.push(
            d["createPartner"]["partner"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let partner_tokens: Vec<String> = (0..partners)
        .map(|p| token(Who::Partner(p), &partner_ids))
        .collect();

    // The approval's own statements, with nobody subscribed.
    let mut n = 0;
    let before = statements(&servers, &client).await;
    for _ in 0..3 {
        let p = n % partners;
        approve(&client, &api(n), &partner_tokens[p], &vendor, n).await;
        n += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let own = (statements(&servers, &client).await - before) / 3.0;

    // The subscriptions: per instance, 10% the vendor's users, 10% the vendor's apps, 70%
    // partners' users and 10% their apps, on the three fields in turn.
    let mut all = Vec::new();
    for instance in 0..instances {
        for k in 0..per_instance {
            let p = (k / 10) % partners;
            let who = match k % 10 {
                0 => Who::Vendor,
                1 => Who::VendorApp,
                9 => Who::PartnerApp(p),
                _ => Who::Partner(p),
            };
            all.push(Subscription {
                who,
                field: k % 3,
                instance,
            });
        }
    }
    let all = Arc::new(all);
    let mut by_principal: HashMap<(usize, Who), Vec<usize>> = HashMap::new();
    for (i, s) in all.iter().enumerate() {
        by_principal.entry((s.instance, s.who)).or_default().push(i);
    }
    let mut connections = Vec::new();
    let mut by_principal: Vec<_> = by_principal.into_iter().collect();
    by_principal.sort_by_key(|((instance, who), _)| (*instance, format!("{who:?}")));
    for ((instance, who), subs) in by_principal {
        for chunk in subs.chunks(per_conn) {
            connections.push((instance, who, chunk.to_vec()));
        }
    }
    let addrs: Vec<String> = servers
        .iter()
        .map(|s| s.base.trim_start_matches("http://").to_string())
        .collect();
    // Warm-up: a few hundred subscriptions open, hear a few approvals and close, so that what
    // a serving instance has in place anyway is there before the figures are taken: the code
    // subscriptions run, paged in, and each pool connection's prepared statements.
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let few: Vec<_> = connections
            .iter()
            .step_by(connections.len().div_ceil(300))
            .cloned()
            .collect();
        let readers = open(&addrs, few, &all, &partner_ids, tx, Arc::default()).await;
        wait_connections(&servers, &client, readers.iter().flatten().count()).await;
        for _ in 0..5 {
            let p = n % partners;
            approve(&client, &api(n), &partner_tokens[p], &vendor, n).await;
            n += 1;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        while rx.try_recv().is_ok() {}
        for r in readers.into_iter().flatten() {
            r.abort();
        }
        wait_connections(&servers, &client, 0).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let rss_before = rss_kib(&servers);
    let anon_before = anon_kib(&servers);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let failures = Arc::new(AtomicUsize::new(0));
    let opened = Instant::now();
    let readers = open(
        &addrs,
        connections,
        &all,
        &partner_ids,
        tx,
        failures.clone(),
    )
    .await;
    // Every subscription is live once the servers count every connection and a moment passed.
    wait_connections(&servers, &client, readers.iter().flatten().count()).await;
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open = rss_kib(&servers);
    let anon_open = anon_kib(&servers);

    let mut latencies = Vec::new();
    let (mut lost, mut unexpected) = (0, 0);
    let mut fanout = Vec::new();
    let counters = |servers: &[Process]| {
        let client = client.clone();
        let servers: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        async move {
            let mut v = [0.0; 3];
            for base in &servers {
                for (i, name) in [TAIL_READS, CATCH_UP_READS, RESOLVED].iter().enumerate() {
                    v[i] += metric(&client, base, name).await;
                }
            }
            v
        }
    };
    let counted_from = counters(&servers).await;
    for _ in 0..rounds {
        let p = n % partners;
        let expected: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].who.hears(p, all[i].field))
            .collect();
        let before = statements(&servers, &client).await;
        let sent = approve(&client, &api(n), &partner_tokens[p], &vendor, n).await;
        n += 1;
        let mut heard = vec![false; all.len()];
        let mut count = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while count < expected.len() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((i, at))) => {
                    if !all[i].who.hears(p, all[i].field) || heard[i] {
                        assert!(
                            all[i].who.partner().is_none_or(|q| q == p),
                            "a partner heard of another partner's approval"
                        );
                        unexpected += 1;
                        continue;
                    }
                    heard[i] = true;
                    count += 1;
                    latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
                }
                _ => break,
            }
        }
        lost += expected.len() - count;
        // Anything else for this approval arrives within moments.
        tokio::time::sleep(Duration::from_millis(300)).await;
        while let Ok((i, _)) = rx.try_recv() {
            assert!(
                all[i].who.partner().is_none_or(|q| q == p),
                "a partner heard of another partner's approval"
            );
            unexpected += 1;
        }
        fanout.push(statements(&servers, &client).await - before - own);
    }

    let counted = counters(&servers).await;
    let per_approval = |i: usize| (counted[i] - counted_from[i]) / rounds.max(1) as f64;
    for r in readers.into_iter().flatten() {
        r.abort();
    }
    wait_connections(&servers, &client, 0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(&servers);
    let anon_after = anon_kib(&servers);

    if let Ok(hold) = std::env::var("BENCH_HOLD_SECONDS") {
        // Time to inspect the servers (e.g. /proc/<pid>/smaps) once every connection closed.
        eprintln!(
            "holding servers {:?} for {hold} s",
            servers.iter().map(|s| s.child.id()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_secs(hold.parse().unwrap_or(60))).await;
    }
    drop(servers);
    common::drop_database(base, "cosell_fanout_bench").await;

    latencies.sort_by(f64::total_cmp);
    let per_sub: Vec<f64> = rss_open
        .iter()
        .zip(&rss_before)
        .map(|(o, b)| (o - b) / per_instance as f64)
        .collect();
    let after: Vec<f64> = rss_after
        .iter()
        .zip(&rss_before)
        .map(|(a, b)| (a - b) / b * 100.0)
        .collect();
    Run {
        deliveries: latencies.len(),
        lost,
        unexpected,
        failed: failures.load(Ordering::Relaxed),
        p50_ms: common::percentile(&latencies, 0.5),
        p99_ms: common::percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        fanout_statements: median(&fanout),
        kib_per_subscription: per_sub.iter().sum::<f64>() / per_sub.len() as f64,
        after_close_pct: after.iter().copied().fold(f64::MIN, f64::max),
        open_secs,
        tail_reads: per_approval(0) / instances as f64,
        catch_up_reads: per_approval(1) / instances as f64,
        resolved: per_approval(2),
        rss_mib: (
            rss_before.iter().sum::<f64>() / 1024.0,
            rss_open.iter().sum::<f64>() / 1024.0,
            rss_after.iter().sum::<f64>() / 1024.0,
        ),
        anon_mib: (
            anon_before / 1024.0,
            anon_open / 1024.0,
            anon_after / 1024.0,
        ),
    }
}

#[tokio::main]
async fn main() {
    let limit = raise_fd_limit();
    let per_instance = env("BENCH_SUBSCRIPTIONS", 10_000);
    let per_conn = env("BENCH_SUBSCRIPTIONS_PER_CONNECTION", 1).max(1);
    let rounds = env("BENCH_ROUNDS", 20);
    let repeat = env("BENCH_REPEAT", 1).max(1);
    let partners = env("BENCH_PARTNERS", 50).max(1);
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    // SQLite is one instance's database.
    let instances = if base.is_some() {
        env("BENCH_INSTANCES", 1).max(1)
    } else {
        1
    };
    let binaries = common::binaries();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "fan-out on {} — {} instance(s) x {} subscriptions ({} per connection), {} partners, {} approvals per run, {} run(s) per build, interleaved",
        if base.is_some() { "PostgreSQL" } else { "SQLite" },
        instances,
        per_instance,
        per_conn,
        partners,
        rounds,
        repeat
    );
    println!(
        "machine: {} x {cpu}; client and servers on the same machine; open-file limit {limit}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut runs: HashMap<String, Vec<Run>> = HashMap::new();
    for _ in 0..repeat {
        for (label, path) in &binaries {
            let r = run(
                path,
                base.as_deref(),
                per_instance,
                instances,
                per_conn,
                partners,
                rounds,
            )
            .await;
            runs.entry(label.clone()).or_default().push(r);
        }
    }
    println!();
    println!("| build | deliveries | lost | unexpected | failed to open | p50 ms | p99 ms | max ms | statements per approval fanned out | answers resolved per approval | outbox reads per approval and instance (tail / catch-up) | server KiB per subscription | RSS after close vs before | RSS MiB before / open / after | anonymous MiB before / open / after | open s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, _) in &binaries {
        let rs = &runs[label];
        let med = |f: fn(&Run) -> f64| median(&rs.iter().map(f).collect::<Vec<_>>());
        println!(
            "| {label} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} / {:.1} | {:.1} | {:+.0}% | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} | {:.1} |",
            rs.iter().map(|r| r.deliveries).sum::<usize>(),
            rs.iter().map(|r| r.lost).sum::<usize>(),
            rs.iter().map(|r| r.unexpected).sum::<usize>(),
            rs.iter().map(|r| r.failed).sum::<usize>(),
            med(|r| r.p50_ms),
            med(|r| r.p99_ms),
            med(|r| r.max_ms),
            med(|r| r.fanout_statements),
            med(|r| r.resolved),
            med(|r| r.tail_reads),
            med(|r| r.catch_up_reads),
            med(|r| r.kib_per_subscription),
            med(|r| r.after_close_pct),
            med(|r| r.rss_mib.0),
            med(|r| r.rss_mib.1),
            med(|r| r.rss_mib.2),
            med(|r| r.anon_mib.0),
            med(|r| r.anon_mib.1),
            med(|r| r.anon_mib.2),
            med(|r| r.open_secs),
        );
    }
}
