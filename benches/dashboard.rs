//! The dashboard read: cosell against PostGraphile 5 on the same tables with the same partner
//! visibility (row-level security), and against the floor of its own SQL replayed by pgbench.
//!
//! The dashboard is the first page of opportunities with each one's amount, account and
//! registrations (with their partner's name), as a partner (round-robin over
//! `BENCH_PARTNER_COUNT` (16) partners with a typical number of deals) and as the vendor. For
//! each workload and each of `BENCH_CONCURRENCY` (16,64) closed-loop clients, cosell,
//! PostGraphile and pgbench take turns for `BENCH_ROUNDS` (3) rounds of `BENCH_WARMUP` (3) s
//! warm-up and `BENCH_SECONDS` (15) s measured, and the medians are printed with the ratios.
//! Then, once and at the first concurrency for `BENCH_VARIANT_SECONDS` (5) s, pages of 10, 50
//! and 100 with and without `totalCount`. Between the two, cosell alone at
//! `BENCH_PACED_PERCENT` (70) % of its median peak for `BENCH_PACED_SECONDS` (15) s, an open
//! loop from 64 connections, for its latency below saturation. `BENCH_EXPLAIN=1` prints EXPLAIN
//! ANALYZE of each of cosell's statements first; `BENCH_ROUNDS=0 BENCH_VARIANT_SECONDS=0`
//! stops after that.
//!
//! Database: `BENCH_DATABASE_URL` (postgres://postgres@127.0.0.1:5432/cosell_dashboard; plain
//! text for all three systems unless `PGSSLMODE` says otherwise),
//! seeded by `cosell seed` at `BENCH_SEED` (200,20000,200000,400000: partners, accounts,
//! opportunities, registrations) unless it already holds exactly that. Servers: cosell is
//! `BENCH_COSELL_BIN` (this build's release binary) with `BENCH_COSELL_ARGS`; PostGraphile is
//! `dashboard/postgraphile` under `BENCH_NODE` (node), installed with `npm ci` when missing.
//! Both have pools of `BENCH_POOL` (10) connections. See dashboard/README.md.

#[path = "dashboard/check.rs"]
mod check;
mod common;
#[path = "dashboard/floor.rs"]
mod floor;
#[path = "dashboard/load.rs"]
mod load;
#[path = "dashboard/setup.rs"]
mod setup;

use std::collections::HashMap;
use std::time::Duration;

use cosell::auth::PrincipalKind;
use cosell::ids::{encode, Kind};
use load::{Figures, Request};
use setup::Server;

const SECRET: &str = "bench-secret-for-the-dashboard-benchmark-0123";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// The dashboard in cosell's schema: opportunities in id order (its default, CREATED_ASC).
fn cosell_document(first: u64, total: bool) -> String {
    format!(
        "{{ opportunities(first: {first}) {{ {} nodes {{ id name stage amount {{ amount currency }} \
         account {{ name domain }} registrations {{ status role partner {{ name }} }} }} }} }}",
        if total { "totalCount" } else { "" }
    )
}

/// The same in PostGraphile's: primary key order on both levels.
fn postgraphile_document(first: u64, total: bool) -> String {
    format!(
        "{{ allOpportunities(first: {first}, orderBy: PRIMARY_KEY_ASC) {{ {} nodes {{ rowId name stage \
         amountMinor currency accountByAccountId {{ name domain }} \
         registrationsByOpportunityId(orderBy: PRIMARY_KEY_ASC) {{ nodes {{ status role \
         partnerByPartnerId {{ name }} }} }} }} }} }}",
        if total { "totalCount" } else { "" }
    )
}

/// One kind of caller: its name and, per caller, (label, cosell credentials, PostGraphile's).
struct Workload {
    name: &'static str,
    callers: Vec<(String, String, Option<String>)>,
}

impl Workload {
    fn cosell(&self, document: &str) -> Vec<Request> {
        self.callers
            .iter()
            .map(|(_, token, _)| {
                Request::new("authorization", &format!("Bearer {token}"), document)
            })
            .collect()
    }

    fn postgraphile(&self, document: &str) -> Vec<Request> {
        self.callers
            .iter()
            .map(|(_, _, partner)| match partner {
                Some(p) => Request::new("x-cosell-partner", p, document),
                // No partner header: the vendor role.
                None => Request::new("x-cosell-vendor", "1", document),
            })
            .collect()
    }
}

/// Who runs a turn.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum System {
    Cosell,
    PostGraphile,
    Floor,
}

impl System {
    fn label(self) -> &'static str {
        match self {
            System::Cosell => "cosell",
            System::PostGraphile => "PostGraphile",
            System::Floor => "floor (pgbench)",
        }
    }
}

fn cell(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.digits$}")
    }
}

fn row(label: &str, f: &Figures) -> String {
    format!(
        "{label} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(f.per_second, 0),
        cell(f.p50, 1),
        cell(f.p99, 1),
        cell(f.server_cpu, 2),
        cell(f.postgres_cpu, 2),
        cell(f.statements, 1),
        cell(f.rss_mib, 0),
        f.failed
    )
}

const HEADER: &str = "requests/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req | SQL statements/req | server RSS MiB | failed |";

#[tokio::main]
async fn main() {
    // The three systems talk to PostgreSQL the same way: in plain text unless the caller sets
    // PGSSLMODE (sqlx, libpq's pgbench and node-postgres all read it). Left alone, cosell and
    // pgbench would negotiate TLS with a server that offers it and PostGraphile would not.
    if std::env::var_os("PGSSLMODE").is_none() {
        std::env::set_var("PGSSLMODE", "disable");
    }
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/cosell_dashboard".into());
    let seed = env_list("BENCH_SEED", "200,20000,200000,400000");
    let size = setup::Size {
        partners: seed[0] as i64,
        accounts: seed[1] as i64,
        opportunities: seed[2] as i64,
        registrations: seed[3] as i64,
    };
    let rounds = env_u64("BENCH_ROUNDS", 3);
    let warmup = Duration::from_secs(env_u64("BENCH_WARMUP", 3));
    let window = Duration::from_secs(env_u64("BENCH_SECONDS", 15));
    let variant_window = Duration::from_secs(env_u64("BENCH_VARIANT_SECONDS", 5));
    let concurrency: Vec<usize> = env_list("BENCH_CONCURRENCY", "16,64")
        .into_iter()
        .map(|c| c as usize)
        .collect();
    let first = env_u64("BENCH_FIRST", 50);
    let pool = env_u64("BENCH_POOL", 10) as u32;
    let binary =
        std::env::var("BENCH_COSELL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cosell").into());
    let extra: Vec<String> = std::env::var("BENCH_COSELL_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pool_env = [("COSELL_DATABASE_MAX_CONNECTIONS", pool.to_string())];

    setup::prepare_database(&binary, &url, size).await;
    let probe = cosell::db::connect(&url, 2, Default::default())
        .await
        .expect("connect to the benchmark database");
    setup::apply_rls(&probe).await;
    let picks = setup::pick_partners(&probe, env_u64("BENCH_PARTNER_COUNT", 16) as usize).await;
    let postmaster = setup::postmaster(&probe).await;
    println!("Machine: {}", setup::machine(&probe, size, pool).await);
    println!(
        "Partner workload: partners {:?}, on {} to {} deals each",
        picks.iter().map(|p| p.0).collect::<Vec<_>>(),
        picks.first().map_or(0, |p| p.1),
        picks.last().map_or(0, |p| p.1)
    );
    let workloads = [
        Workload {
            name: "partner",
            callers: picks
                .iter()
                .map(|(id, _)| {
                    let global = encode(Kind::Partner, *id);
                    let token =
                        common::token(SECRET, PrincipalKind::Partner, "PARTNER_REP", Some(&global));
                    (format!("partner {id}"), token, Some(id.to_string()))
                })
                .collect(),
        },
        Workload {
            name: "vendor",
            callers: vec![(
                "vendor".into(),
                common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None),
                None,
            )],
        },
    ];
    let work = tempfile::Builder::new()
        .prefix("cosell_dashboard")
        .tempdir()
        .unwrap();

    // The floor's scripts: one dashboard's statements per caller; and for EXPLAIN, the first
    // caller's dashboard with totalCount (the same statements and the count).
    let page = cosell_document(first, false);
    let counted = cosell_document(first, true);
    let mut groups: Vec<Vec<Request>> = workloads.iter().map(|w| w.cosell(&page)).collect();
    groups.extend(workloads.iter().map(|w| w.cosell(&counted)[..1].to_vec()));
    let captured = floor::capture(&binary, &url, SECRET, &extra, work.path(), &groups).await;
    let mut scripts = HashMap::new();
    for (w, statements) in workloads.iter().zip(&captured) {
        println!(
            "cosell's {} dashboard (first {first}): {} statements",
            w.name,
            statements[0].len()
        );
        scripts.insert(
            w.name,
            floor::write_scripts(work.path(), w.name, statements),
        );
    }
    if std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1") {
        println!("\n### EXPLAIN (ANALYZE, BUFFERS) of cosell's statements");
        for (w, statements) in workloads.iter().zip(&captured[workloads.len()..]) {
            let title = format!("{}: {} (first {first}, totalCount)", w.name, w.callers[0].0);
            floor::explain(&probe, &title, &statements[0]).await;
        }
    }
    if rounds == 0 && variant_window.is_zero() {
        return;
    }

    let cosell = Server::cosell(&binary, &url, SECRET, &extra, &pool_env).await;
    let postgraphile = Server::postgraphile(&url, pool, &work.path().join("postgraphile.log"));
    let mut pairs = Vec::new();
    for w in &workloads {
        for total in [false, true] {
            let ours = w.cosell(&cosell_document(first, total));
            let theirs = w.postgraphile(&postgraphile_document(first, total));
            for ((caller, ..), (a, b)) in w.callers.iter().zip(ours.into_iter().zip(theirs)) {
                pairs.push((format!("{caller}, totalCount {total}"), a, b));
            }
        }
    }
    let (opps, regs) = check::same_rows(&cosell, &postgraphile, &pairs).await;
    println!(
        "Rows checked identical on both servers: {} pages, {opps} opportunities, {regs} registrations (ids, name, stage, amount, account, registrations, totalCount)",
        pairs.len()
    );

    let pg = setup::parse_url(&url);
    let mut results: HashMap<(&str, usize, System), Vec<Figures>> = HashMap::new();
    if rounds > 0 {
        println!("\n### Each round\n");
        println!("| round | workload | clients | system | {HEADER}");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    }
    let systems = [System::Cosell, System::PostGraphile, System::Floor];
    for r in 0..rounds as usize {
        for w in &workloads {
            let ours = w.cosell(&page);
            let theirs = w.postgraphile(&postgraphile_document(first, false));
            for &c in &concurrency {
                for k in 0..systems.len() {
                    // Each round starts with the next system, so none always goes first.
                    let system = systems[(k + r) % systems.len()];
                    let f = match system {
                        System::Cosell => {
                            load::run(&cosell, &ours, c, warmup, window, &probe).await
                        }
                        System::PostGraphile => {
                            load::run(&postgraphile, &theirs, c, warmup, window, &probe).await
                        }
                        System::Floor => floor::run(
                            &pg,
                            &scripts[w.name],
                            c,
                            warmup,
                            window,
                            postmaster,
                            work.path(),
                        ),
                    };
                    println!(
                        "| {} | {} | {c} | {}",
                        r + 1,
                        w.name,
                        row(system.label(), &f)
                    );
                    results.entry((w.name, c, system)).or_default().push(f);
                }
            }
        }
    }

    if rounds > 0 {
        println!("\n### Medians of {rounds} rounds (first {first})\n");
        println!("| workload | clients | system | {HEADER} cosell/PostGraphile | cosell/floor |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let med = |v: &[Figures], f: fn(&Figures) -> f64| {
            common::median(&v.iter().map(f).collect::<Vec<_>>())
        };
        for w in &workloads {
            for &c in &concurrency {
                let rate = |s| med(&results[&(w.name, c, s)], |f| f.per_second);
                for s in systems {
                    let v = &results[&(w.name, c, s)];
                    let m = Figures {
                        per_second: rate(s),
                        p50: med(v, |f| f.p50),
                        p99: med(v, |f| f.p99),
                        server_cpu: med(v, |f| f.server_cpu),
                        postgres_cpu: med(v, |f| f.postgres_cpu),
                        statements: med(v, |f| f.statements),
                        rss_mib: med(v, |f| f.rss_mib),
                        failed: v.iter().map(|f| f.failed).sum(),
                    };
                    let ratios = if s == System::Cosell {
                        format!(
                            " {:.2} | {:.2} |",
                            m.per_second / rate(System::PostGraphile),
                            m.per_second / rate(System::Floor)
                        )
                    } else {
                        " | |".into()
                    };
                    println!("| {} | {c} | {}{ratios}", w.name, row(s.label(), &m));
                }
            }
        }
    }

    // Latency below saturation: an open loop at a share of the peak measured above.
    let paced_window = Duration::from_secs(env_u64("BENCH_PACED_SECONDS", 15));
    let percent = env_u64("BENCH_PACED_PERCENT", 70);
    if rounds > 0 && !paced_window.is_zero() {
        let c = concurrency.first().copied().unwrap_or(16);
        let connections = c.max(64);
        println!(
            "\n### cosell at {percent}% of its peak (open loop from {connections} connections, {} s)\n",
            paced_window.as_secs()
        );
        println!("| workload | peak req/s ({c} clients, median) | sent at req/s | answered req/s | p50 ms | p99 ms | server CPU ms/req | failed |");
        println!("|---|---|---|---|---|---|---|---|");
        for w in &workloads {
            let peak = common::median(
                &results[&(w.name, c, System::Cosell)]
                    .iter()
                    .map(|f| f.per_second)
                    .collect::<Vec<_>>(),
            );
            let rate = peak * percent as f64 / 100.0;
            let f = load::run_paced(
                &cosell,
                &w.cosell(&page),
                connections,
                rate,
                warmup,
                paced_window,
                &probe,
            )
            .await;
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                w.name,
                cell(peak, 0),
                cell(rate, 0),
                cell(f.per_second, 0),
                cell(f.p50, 1),
                cell(f.p99, 1),
                cell(f.server_cpu, 2),
                f.failed
            );
        }
    }

    if !variant_window.is_zero() {
        let c = concurrency.first().copied().unwrap_or(16);
        println!(
            "\n### Page size and totalCount ({c} clients, {} s, one round)\n",
            variant_window.as_secs()
        );
        println!("| workload | document | system | {HEADER}");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for w in &workloads {
            for n in [10, 50, 100] {
                for total in [false, true] {
                    let doc = format!("first {n}{}", if total { ", totalCount" } else { "" });
                    let ours = w.cosell(&cosell_document(n, total));
                    let theirs = w.postgraphile(&postgraphile_document(n, total));
                    let warm = Duration::from_secs(1);
                    let f = load::run(&cosell, &ours, c, warm, variant_window, &probe).await;
                    println!("| {} | {doc} | {}", w.name, row("cosell", &f));
                    let f =
                        load::run(&postgraphile, &theirs, c, warm, variant_window, &probe).await;
                    println!("| {} | {doc} | {}", w.name, row("PostGraphile", &f));
                }
            }
        }
    }
}
