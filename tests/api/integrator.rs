//! What an integrator meets on the first day: answers in the order asked, and one spelling
//! of an internationalised customer domain.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn fields_come_back_in_the_order_the_query_asks_for_them() {
    let app = spawn_app().await;
    // README's first query: `viewer` before `opportunities`, and inside each the fields as
    // written, not sorted.
    let query = "{ viewer { subject kind } opportunities(first: 5) { totalCount pageInfo { hasNextPage } } }";
    let raw = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |needle: &str| {
        raw.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {raw}"))
    };
    assert!(at("\"viewer\"") < at("\"opportunities\""), "{raw}");
    assert!(at("\"subject\"") < at("\"kind\""), "{raw}");
    assert!(at("\"totalCount\"") < at("\"pageInfo\""), "{raw}");
    // Over WebSocket as well.
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("1", query, json!({})).await;
    let data = ws.next_payload("1").await["data"].clone();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&data), ["viewer", "opportunities"]);
    assert_eq!(keys(&data["viewer"]), ["subject", "kind"]);
    assert_eq!(keys(&data["opportunities"]), ["totalCount", "pageInfo"]);
}

const CREATE: &str =
    "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id domain } } }";

#[tokio::test]
async fn unicode_and_punycode_spellings_of_a_domain_are_one_customer() {
    let app = spawn_app().await;
    let made = app
        .ok(
            &app.vendor,
            CREATE,
            json!({ "i": { "name": "Bücher GmbH", "domain": "https://Bücher.de/" } }),
        )
        .await;
    let account = &made["createAccount"]["account"];
    assert_eq!(account["domain"], "xn--bcher-kva.de");
    let again = app
        .gql(
            &app.vendor,
            CREATE,
            json!({ "i": { "name": "Buecher", "domain": "xn--bcher-kva.de" } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    // A direct deal there in a late stage: a partner's claim spelled in Unicode overlaps it.
    let opp = app
        .create_opportunity(account["id"].as_str().unwrap(), json!({ "name": "Shop" }))
        .await;
    app.ok(
        &app.vendor,
        "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": opp["id"], "expectedVersion": 1, "stage": "PROPOSAL" } }),
    )
    .await;
    let partner = app.create_partner("Northwind").await;
    let r = app
        .ok(
            &partner_token(&partner),
            "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { accountDomain status conflicts { kind } } } }",
            json!({ "i": { "draft": { "accountDomain": "www.BÜCHER.de", "accountName": "Someone else",
                "dealName": "Web shop", "role": "SERVICES", "justification": "ours" } } }),
        )
        .await;
    let reg = &r["submitRegistration"]["registration"];
    assert_eq!(reg["accountDomain"], "xn--bcher-kva.de");
    assert_eq!(reg["status"], "UNDER_REVIEW");
    assert!(reg["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "DIRECT_DEAL_OVERLAP"));
}

#[tokio::test]
async fn domains_stored_in_unicode_are_respelled_in_ascii_by_the_migration() {
    use migration::MigratorTrait;
    let app = spawn_app().await;
    let ascii = app.create_account("Bücher", "bücher.de").await;
    let other = app.create_account("München", "münchen.example").await;
    // As an earlier version stored them: in Unicode, one of them with a claim.
    let backend = app.db.get_database_backend();
    for sql in [
        "UPDATE accounts SET domain = 'münchen.example' WHERE domain = 'xn--mnchen-3ya.example'",
        "INSERT INTO accounts (name, domain, version, created_at, updated_at) \
         VALUES ('Unicode twin', 'bücher.de', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    ] {
        app.db
            .execute_raw(sea_orm::Statement::from_string(backend, sql))
            .await
            .unwrap();
    }
    let steps = migration::Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name().ends_with("ascii_domains"))
        .unwrap() as u32;
    migration::Migrator::down(&app.db, Some(steps + 1))
        .await
        .unwrap();
    migration::Migrator::up(&app.db, None).await.unwrap();
    let domains: Value = app
        .ok(
            &app.vendor,
            "{ accounts(first: 10, orderBy: NAME_ASC) { nodes { id name domain } } }",
            json!({}),
        )
        .await;
    let by_name = |n: &str| {
        domains["accounts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("München")["domain"], "xn--mnchen-3ya.example");
    assert_eq!(by_name("München")["id"], json!(other));
    assert_eq!(by_name("Bücher")["domain"], "xn--bcher-kva.de");
    assert_eq!(by_name("Bücher")["id"], json!(ascii));
    // The ASCII spelling was taken: the twin keeps its own until someone merges them.
    assert_eq!(by_name("Unicode twin")["domain"], "bücher.de");
}

#[tokio::test]
async fn no_database_password_reaches_any_output() {
    let bin = env!("CARGO_BIN_EXE_cosell");
    let secret = "s3cret-pw-4711";
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(args);
        if let Some(url) = env {
            cmd.env("COSELL_DATABASE_URL", url);
        }
        let out = cmd.output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // A connection error names the database without its password.
    let unreachable = format!("postgres://app:{secret}@127.0.0.1:1/cosell");
    let said = run(&["migrate", "--database-url", &unreachable], None);
    assert!(
        said.contains("postgres://app:***@127.0.0.1:1/cosell"),
        "{said}"
    );
    let said = run(&["migrate"], Some(&unreachable));
    assert!(!said.contains(secret), "{said}");
    // Help shows where the value comes from, not the value.
    let said = run(&["serve", "--help"], Some(&unreachable));
    assert!(
        said.contains("COSELL_DATABASE_URL") && !said.contains(secret),
        "{said}"
    );
    // A successful migration on PostgreSQL (which trusts local connections whatever the
    // password) says where it migrated, masked.
    let app = spawn_app().await;
    if app.database_url.starts_with("postgres") {
        if let Some(rest) = app.database_url.strip_prefix("postgres://postgres@") {
            let url = format!("postgres://postgres:{secret}@{rest}");
            let said = run(&["migrate", "--database-url", &url], None);
            assert!(said.contains("migrated postgres://postgres:***@"), "{said}");
            assert!(!said.contains(secret), "{said}");
        }
    }
}

#[tokio::test]
async fn a_portal_on_an_allowed_origin_passes_the_preflight_and_reads_the_answer() {
    let portal = "https://portal.example.com";
    let app = spawn_app_with(|s| s.http.cors_origins = vec![portal.into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, &app.url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight(portal).await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], portal);
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h.get("access-control-allow-credentials").is_none());
    // Another origin learns nothing it could use.
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // The call itself: the page may read the answer and the headers it needs.
    let answer = app
        .client
        .post(&app.url)
        .header("Origin", portal)
        .bearer_auth(&app.vendor)
        .json(&json!({ "query": "{ viewer { kind } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], portal);
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-request-id") && exposed.contains("ratelimit"));
}

#[tokio::test]
async fn without_an_allowed_origin_no_cors_header_is_sent() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(&app.url)
        .header("Origin", "https://portal.example.com")
        .bearer_auth(&app.vendor)
        .json(&json!({ "query": "{ viewer { kind } }" }))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    let app = spawn_app().await;
    let query = json!({ "query": "{ __schema { types { name description } } }" });
    for (accept, expected) in [
        ("br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        let r = app
            .client
            .post(&app.url)
            .header("Accept-Encoding", accept)
            .bearer_auth(&app.vendor)
            .json(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            expected,
            "{accept}"
        );
    }
}

#[tokio::test]
async fn an_operator_listens_by_host_name_and_reads_metrics_on_a_listener_of_its_own() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ops.db").display());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cosell"));
    for (k, _) in std::env::vars() {
        if k.starts_with("COSELL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args([
            "serve",
            "--listen",
            "localhost:0",
            "--metrics-listen",
            "localhost:0",
        ])
        .args(["--database-url", &db])
        .env("COSELL_JWT_SECRET", SECRET)
        .env("COSELL_DISABLE_INTROSPECTION", "yes")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let _guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut api, mut ops) = (None, None);
    let mut lines = Vec::new();
    while api.is_none() || ops.is_none() {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no listening lines in {lines:?}"));
        // Log lines written to a pipe carry no terminal colour codes.
        assert!(!line.contains('\u{1b}'), "{line:?}");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .map(str::to_string);
        if line.contains("cosell is listening") {
            api = addr;
        } else if line.contains("metrics are served here only") {
            ops = addr;
        }
        lines.push(line);
    }
    let (api, ops) = (api.unwrap(), ops.unwrap());
    let client = reqwest::Client::new();
    let on_api = client
        .get(format!("http://{api}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_api.status(), 404);
    let text = client
        .get(format!("http://{ops}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for metric in [
        "cosell_build_info{version=",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "cosell_sql_statements_total ",
    ] {
        assert!(text.contains(metric), "{metric} in {text}");
    }
    // `yes` in the environment turned introspection off.
    let token = token_for(
        cosell::auth::PrincipalKind::Vendor,
        Some("ADMIN"),
        None,
        None,
    );
    let r: Value = client
        .post(format!("http://{api}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": "{ __schema { queryType { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["errors"].is_array(), "{r}");
}
