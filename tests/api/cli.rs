//! The `cosell` binary itself: token minting, schema check, migrate, and `serve --demo` end to end
//! with SIGTERM shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

pub fn cosell() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cosell"));
    for (k, _) in std::env::vars() {
        if k.starts_with("COSELL_") {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1");
    c
}

#[tokio::test]
async fn token_refuses_without_a_secret_and_mints_tokens_the_server_accepts() {
    let out = cosell().args(["token", "--vendor"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("COSELL_JWT_SECRET"));
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let out = cosell()
        .args([
            "token",
            "--partner",
            &p,
            "--role",
            "PARTNER_REP",
            "--ttl",
            "5m",
        ])
        .env("COSELL_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap();
    let d = app
        .ok(
            token,
            "{ viewer { kind partnerRole partner { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["viewer"],
        json!({ "kind": "PARTNER", "partnerRole": "PARTNER_REP", "partner": { "name": "Northwind" } })
    );
    let out = cosell()
        .args([
            "token",
            "--app",
            "marketplace",
            "--scope",
            "opportunities:read",
            "--jwt-secret",
            SECRET,
        ])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let d = app
        .ok(&token, "{ viewer { kind subject scopes } }", json!({}))
        .await;
    assert_eq!(
        d["viewer"],
        json!({ "kind": "APP", "subject": "app:marketplace", "scopes": ["opportunities:read"] })
    );
    let out = cosell()
        .args([
            "token",
            "--vendor",
            "--role",
            "CEO",
            "--insecure-dev-secret",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = cosell()
        .args(["token", "--vendor", "--insecure-dev-secret"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn schema_check_and_migrate() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    assert!(cosell()
        .args(["schema", "--check", schema])
        .status()
        .unwrap()
        .success());
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("stale.graphql");
    std::fs::write(&stale, "type Query { x: Int }").unwrap();
    let out = cosell()
        .args(["schema", "--check"])
        .arg(&stale)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cosell schema >"));
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = cosell()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Kills the server if a test fails before stopping it.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cosell serve --demo` on a free port and returns the child, its address and stdout.
fn start_demo(db_url: &str) -> (Server, String, String) {
    start_demo_with(db_url, &[])
}

/// [`start_demo`] with more flags.
fn start_demo_with(db_url: &str, extra: &[&str]) -> (Server, String, String) {
    let mut child = Server(
        cosell()
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--database-url",
                db_url,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let mut addr = None;
    let mut warned = false;
    for line in stderr.by_ref() {
        let line = line.unwrap();
        warned |= line.contains("NOT FIT FOR PRODUCTION");
        if line.contains("cosell is listening") {
            let v: Value = serde_json::from_str(&line).unwrap();
            addr = v["addr"].as_str().map(str::to_string);
            break;
        }
    }
    // Keep draining the log so the server never writes into a closed pipe.
    std::thread::spawn(move || stderr.for_each(drop));
    assert!(warned, "the development secret must be announced");
    let addr = addr.expect("listening line");
    let mut stdout = String::new();
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stdout.contains("Try:") && Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        stdout.push_str(&line);
    }
    std::thread::spawn(move || reader.lines().for_each(drop));
    (child, addr, stdout)
}

fn sigterm(child: &mut std::process::Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            return;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_demo_answers_a_nested_query_with_its_printed_tokens_and_loads_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let client = reqwest::Client::new();
    for run in 0..2 {
        let (mut child, addr, stdout) = start_demo(&url);
        assert!(
            stdout.contains(&format!("http://{addr}/graphiql")),
            "{stdout}"
        );
        let tokens: Vec<&str> = stdout.lines().filter(|l| l.starts_with("eyJ")).collect();
        assert_eq!(tokens.len(), 3, "vendor admin and two partners: {stdout}");
        let q = json!({ "query": "{ viewer { kind } opportunities(first: 20) { totalCount edges { node { name stage amount { decimal currency } account { name } stageHistory { toStage } } } } }" });
        let res: Value = client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(tokens[0])
            .json(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(res.get("errors").is_none(), "{res}");
        assert_eq!(
            res["data"]["opportunities"]["totalCount"], 11,
            "run {run}: the demo loads once (8 deals and 3 referred leads)"
        );
        let won = res["data"]["opportunities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["stage"] == "CLOSED_WON")
            .unwrap();
        assert_eq!(won["node"]["stageHistory"].as_array().unwrap().len(), 6);
        let res: Value = client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(tokens[1])
            .json(&json!({ "query": "{ viewer { kind partner { name } } invitations { nodes { status shared { customerName } } } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            res["data"]["viewer"]["partner"]["name"],
            "Northwind Resellers"
        );
        // An open referral waits for the printed partner to answer.
        assert_eq!(
            res["data"]["invitations"]["nodes"],
            json!([{ "status": "OPEN", "shared": { "customerName": "Initech" } }]),
            "{res}"
        );
        sigterm(&mut child.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_the_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(&dir).await;
    let start = |url: String| async move {
        let conn = cosell::db::connect(&url, 2, Default::default())
            .await
            .unwrap();
        cosell::db::migrate(&conn).await
    };
    let (a, b, c) = tokio::join!(start(url.clone()), start(url.clone()), start(url.clone()));
    assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
    if let Some((base, name)) = pg {
        let admin = sea_orm::Database::connect(&base).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        )
        .await
        .unwrap();
    }
}

/// A collector that keeps every span the server exports over OTLP/HTTP (protobuf).
async fn collector() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<Vec<(String, Span)>>,
) {
    use axum::body::Bytes;
    use prost::Message;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let tx = tx.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut spans = Vec::new();
                for r in req.resource_spans {
                    let service = r
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.as_ref())
                        .map(|v| format!("{:?}", v.value))
                        .unwrap_or_default();
                    for s in r.scope_spans.into_iter().flat_map(|s| s.spans) {
                        spans.push((service.clone(), s));
                    }
                }
                let _ = tx.send(spans);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

#[tokio::test]
async fn traces_reach_the_collector_with_sql_spans_and_continue_the_callers_trace() {
    let (endpoint, mut spans) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("traced.db").display());
    let (mut child, addr, stdout) = start_demo_with(&url, &["--otlp-endpoint", &endpoint]);
    let token = stdout
        .lines()
        .find(|l| l.starts_with("eyJ"))
        .unwrap()
        .to_string();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(
            &json!({ "query": "{ opportunities(first: 2) { nodes { name account { name } registrations { status } } } }" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(res.get("errors").is_none(), "{res}");
    // Spans leave in batches; stopping the server sends what is left.
    sigterm(&mut child.0);
    let mut all = Vec::new();
    while let Ok(Some(batch)) = tokio::time::timeout(Duration::from_secs(2), spans.recv()).await {
        all.extend(batch);
    }
    let ours: Vec<&Span> = all
        .iter()
        .map(|(_, s)| s)
        .filter(|s| hex(&s.trace_id) == trace_id)
        .collect();
    let request = ours
        .iter()
        .find(|s| s.name == "request")
        .unwrap_or_else(|| {
            panic!(
                "the request span joins the caller's trace: {:?}",
                names(&all)
            )
        });
    assert_eq!(hex(&request.parent_span_id), "00f067aa0ba902b7");
    let sql: Vec<&&Span> = ours
        .iter()
        .filter(|s| s.events.iter().any(|e| e.name == "sql"))
        .collect();
    assert!(
        sql.len() >= 2,
        "one span per statement, inside the request's trace: {:?}",
        names(&all)
    );
    let statements: Vec<String> = sql
        .iter()
        .map(|s| {
            s.events[0]
                .attributes
                .iter()
                .find(|a| a.key == "statement")
                .and_then(|a| a.value.as_ref())
                .map(|v| format!("{:?}", v.value))
                .unwrap_or_default()
        })
        .collect();
    assert!(statements[0].contains("SELECT"), "{statements:?}");
    // The page's row limit (2 and one more) is written into its statement, not bound, so that
    // PostgreSQL keeps one plan for it.
    assert!(
        statements.iter().any(|s| s.contains(" LIMIT 3")),
        "{statements:?}"
    );
    assert!(
        all.iter().all(|(service, _)| service.contains("cosell")),
        "service.name"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn names(spans: &[(String, Span)]) -> Vec<String> {
    spans
        .iter()
        .map(|(_, s)| format!("{} {}", s.name, hex(&s.trace_id)))
        .collect()
}
