//! The database going away is an expected state: requests fail within about two seconds with
//! SERVICE_UNAVAILABLE (HTTP 503, `Retry-After`), partner tokens included, `/readyz` says so
//! within a second, and everything recovers on its own when the database returns. The test runs
//! a PostgreSQL of its own (initdb, pg_ctl) so that it can stop it; it runs in the PostgreSQL
//! pass of the suite, where those programs are installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::*;

/// A throw-away PostgreSQL cluster on a free port, stopped and removed on drop.
struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Runs a PostgreSQL program, as the `postgres` user when the suite runs as root (the server
/// refuses to run as root).
fn pg(bin: &Path, program: &str, args: &[&str]) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let exe = bin.join(program);
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    match cmd.args(args).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{program} did not run: {e}");
            false
        }
    }
}

impl PrivatePg {
    fn start() -> Option<Self> {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .next()?
            .ok()?;
        let bin = version.path().join("bin");
        let dir = tempfile::tempdir().ok()?;
        // The cluster belongs to the user that runs it.
        let _ = Command::new("chown")
            .args(["postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data");
        let d = data.to_str()?;
        if !pg(&bin, "initdb", &["-D", d, "-A", "trust", "-U", "postgres"]) {
            return None;
        }
        let mut me = Self {
            bin,
            data,
            port: 0,
            _dir: dir,
        };
        // A free port may be taken again before the server binds it: try a few.
        for _ in 0..3 {
            me.port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            if me.up() {
                return Some(me);
            }
            let log =
                std::fs::read_to_string(me._dir.path().join("server.log")).unwrap_or_default();
            eprintln!("the private PostgreSQL did not start: {log}");
        }
        None
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self._dir.path().display()
        );
        let log = self._dir.path().join("server.log");
        pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        )
    }

    fn down(&self) {
        pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.down();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_fast_with_503_and_recovers_on_its_own() {
    if std::env::var("COSELL_TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        return; // The PostgreSQL pass runs it.
    }
    let pg = PrivatePg::start().expect("a private PostgreSQL (initdb and pg_ctl)");
    let app = spawn_app_on(&pg.url(), |s| {
        s.acquire_timeout = cosell::db::DEFAULT_ACQUIRE_TIMEOUT;
    })
    .await;
    let p = app.create_partner("Outage").await;
    let partner = partner_token(&p);
    let list = json!({ "query": "{ partners { totalCount } }" });
    let who = json!({ "query": "{ viewer { kind } }" });

    // A subscription open through the outage stays open and hears the first change after it.
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe(
        "e",
        "subscription { events { id: cursor topic } }",
        json!({}),
    )
    .await;

    pg.down();
    for (token, body, what) in [
        (&app.vendor, &list, "a vendor read"),
        (&partner, &who, "a partner token (its partner is looked up)"),
        (
            &app.vendor,
            &json!({ "query": "mutation { createPartner(input: { name: \"Down\" }) { partner { id } } }" }),
            "a write",
        ),
    ] {
        let started = Instant::now();
        let r = app.post(Some(token), body.clone()).await;
        let took = started.elapsed();
        assert_eq!(r.status, 503, "{what}: {}", r.body);
        assert_eq!(r.code(), "SERVICE_UNAVAILABLE", "{what}");
        assert!(r.headers.contains_key("retry-after"), "{what}");
        // The default acquire timeout (1.5 s) and the answer: within the 2 s promised.
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    }
    let started = Instant::now();
    let ready = app
        .client
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(1_500));

    // Back again: no restart of cosell needed.
    assert!(pg.up(), "PostgreSQL restarts");
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.post(Some(&partner), who.clone()).await;
        if r.status == 200 {
            assert_eq!(r.body["data"]["viewer"]["kind"], "PARTNER");
            break;
        }
        assert!(Instant::now() < until, "not recovered: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let d = app
        .ok(&app.vendor, "{ partners { totalCount } }", json!({}))
        .await;
    assert_eq!(d["partners"]["totalCount"], 1);
    app.create_partner("After the outage").await;
    let p = ws.next_payload("e").await;
    assert_eq!(p["data"]["events"]["topic"], "partner.created", "{p}");
    let ready = app
        .client
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn postgresql_is_reached_over_tls_when_the_url_asks_for_it() {
    if std::env::var("COSELL_TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        return; // The PostgreSQL pass runs it.
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(&dir).await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let app = spawn_app_on(&format!("{url}{sep}sslmode=require"), |_| {}).await;
    let encrypted = app
        .scalar("SELECT CASE WHEN ssl THEN 1 ELSE 0 END::bigint FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await;
    assert_eq!(encrypted, 1, "the connection is encrypted");
    let d = app.ok(&app.vendor, "{ viewer { kind } }", json!({})).await;
    assert_eq!(d["viewer"]["kind"], "VENDOR");
}

/// A pooled connection the database ended while it sat idle (a restart, a failover, an
/// administrator) is tested on its way out of the pool and replaced: no request is handed it.
/// (Connections reused within `TEST_IF_IDLE_FOR` skip that test; one ended that recently had
/// just passed the test every connection takes when it returns to the pool.)
#[tokio::test]
async fn connections_the_database_ended_while_idle_are_replaced_before_a_request_gets_one() {
    let Ok(base) = std::env::var("COSELL_TEST_DATABASE_URL") else {
        return; // The PostgreSQL pass runs it.
    };
    if base.is_empty() {
        return;
    }
    let app = spawn_app().await;
    let read = json!({ "query": "{ partners { totalCount } }" });
    let burst = || async {
        let all = (0..10).map(|_| app.post(Some(&app.vendor), read.clone()));
        for r in futures_util::future::join_all(all).await {
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["data"]["partners"]["totalCount"], 0, "{}", r.body);
        }
    };
    // Every connection of the pool used, then left idle.
    burst().await;

    let database = app.database_url.rsplit_once('/').unwrap().1.to_string();
    let admin = sea_orm::Database::connect(&base).await.unwrap();
    let ended = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()) ended"
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    admin.close().await.ok();
    assert!(ended >= 1, "the pool's connections were ended");

    tokio::time::sleep(cosell::db::TEST_IF_IDLE_FOR * 3).await;
    burst().await;
}
