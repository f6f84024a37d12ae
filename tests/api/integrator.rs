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
    assert!(said.contains("postgres://app:***@127.0.0.1:1/cosell"), "{said}");
    let said = run(&["migrate"], Some(&unreachable));
    assert!(!said.contains(secret), "{said}");
    // Help shows where the value comes from, not the value.
    let said = run(&["serve", "--help"], Some(&unreachable));
    assert!(said.contains("COSELL_DATABASE_URL") && !said.contains(secret), "{said}");
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
