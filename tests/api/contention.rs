//! Writers racing on one customer: no deadlock, no INTERNAL, exactly one winner where only one
//! may win. These were the races that deadlocked on PostgreSQL while every outbox writer took a
//! program-wide lock.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::registrations::{proposed, reg_try};

fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_approving_while_ten_partners_submit_on_one_customer_never_fails() {
    let app = spawn_app().await;
    let mut partners = Vec::new();
    for i in 0..10 {
        partners.push(app.create_partner(&format!("Crowd {i}")).await);
    }
    for run in 0..10 {
        let domain = format!("crowd{run}.example.com");
        // A first claim the vendor will approve while the others come in.
        let first = reg_try(
            &app,
            &partner_token(&partners[0]),
            "submitRegistration",
            "SubmitRegistrationInput",
            json!({ "draft": proposed(&domain, "SERVICES", 1_000) }),
        )
        .await;
        let first = first["data"]["submitRegistration"]["registration"].clone();
        let approve = {
            let app = &app;
            let input = json!({ "id": first["id"], "expectedVersion": first["version"], "createOpportunity": true });
            async move {
                reg_try(
                    app,
                    &app.vendor,
                    "approveRegistration",
                    "ApproveRegistrationInput",
                    input,
                )
                .await
            }
        };
        let submits = partners[1..].iter().map(|p| {
            let app = &app;
            let draft = proposed(&domain, "REFERRAL", 500);
            async move {
                reg_try(
                    app,
                    &partner_token(p),
                    "submitRegistration",
                    "SubmitRegistrationInput",
                    json!({ "draft": draft }),
                )
                .await
            }
        });
        let (approved, submitted) = tokio::join!(approve, futures_util::future::join_all(submits));
        assert!(approved.get("errors").is_none(), "run {run}: {approved}");
        for s in &submitted {
            assert!(s.get("errors").is_none(), "run {run}: {s}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_decisions_on_one_registration_have_exactly_one_winner() {
    let app = spawn_app().await;
    let p = app.create_partner("Contested").await;
    let reg = reg_try(
        &app,
        &partner_token(&p),
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": proposed("contested.example.com", "SERVICES", 1_000) }),
    )
    .await;
    let reg = reg["data"]["submitRegistration"]["registration"].clone();
    let racers = (0..50).map(|i| {
        let app = &app;
        let reg = reg.clone();
        async move {
            if i % 2 == 0 {
                reg_try(
                    app,
                    &app.vendor,
                    "approveRegistration",
                    "ApproveRegistrationInput",
                    json!({ "id": reg["id"], "expectedVersion": reg["version"], "createOpportunity": true }),
                )
                .await
            } else {
                reg_try(
                    app,
                    &app.vendor,
                    "rejectRegistration",
                    "RegistrationDecisionInput",
                    json!({ "id": reg["id"], "expectedVersion": reg["version"], "reason": "not ours" }),
                )
                .await
            }
        }
    });
    let results = futures_util::future::join_all(racers).await;
    let winners = results.iter().filter(|b| b.get("errors").is_none()).count();
    let stale = results
        .iter()
        .filter(|b| code(b) == Some("VERSION_MISMATCH"))
        .count();
    let others: Vec<&Value> = results
        .iter()
        .filter(|b| b.get("errors").is_some() && code(b) != Some("VERSION_MISMATCH"))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    assert_eq!((winners, stale), (1, 49));
    // One decision, one opportunity at most, one event for it.
    let decided = app
        .scalar("SELECT COUNT(*) FROM registration_transitions WHERE to_status IN ('APPROVED', 'REJECTED')")
        .await;
    assert_eq!(decided, 1);
    assert!(app.scalar("SELECT COUNT(*) FROM opportunities").await <= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_loses_a_deadlock_is_run_again_by_the_server() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return; // SQLite has one writer at a time: no deadlock to lose.
    }
    let p = app.create_partner("Deadlocked").await;
    let reg = reg_try(
        &app,
        &partner_token(&p),
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": proposed("deadlock.example.com", "SERVICES", 1_000) }),
    )
    .await;
    let reg = reg["data"]["submitRegistration"]["registration"].clone();
    let row = cosell::ids::decode_as(reg["id"].as_str().unwrap(), cosell::ids::Kind::Registration)
        .unwrap();
    // This transaction holds the registration row, then asks for the customer lock that the
    // approval holds while it waits for the row: a deadlock. Its own deadlock check waits
    // longer, so PostgreSQL rolls the approval back, which the server then runs again.
    let txn = app.db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL deadlock_timeout = '10s'")
        .await
        .unwrap();
    txn.execute_unprepared(&format!(
        "UPDATE registrations SET updated_at = updated_at WHERE id = {row}"
    ))
    .await
    .unwrap();
    let approval = {
        let (client, url, token) = (app.client.clone(), app.url.clone(), app.vendor.clone());
        let body = json!({
            "query": "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status version } } }",
            "variables": { "i": { "id": reg["id"], "expectedVersion": reg["version"], "createOpportunity": true } }
        });
        tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('deal:deadlock.example.com'))")
        .await
        .expect("the approval, not this transaction, is rolled back");
    txn.rollback().await.unwrap();
    let body = approval.await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["approveRegistration"]["registration"]["status"],
        "APPROVED"
    );
}
