//! Writing contacts: bulk upsert, links between contacts and a contact who leaves.

use super::*;

#[tokio::test]
async fn bulk_upsert_is_idempotent_and_all_or_nothing_unless_partial() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let batch: Vec<Value> = (0..20)
        .map(|i| person(&format!("P{i}"), &format!("p{i}@acme.com"), "Ops", None))
        .collect();
    let r = upsert(&app, &app.vendor, &acct, json!(batch), false).await;
    assert!(r.iter().all(|r| r["outcome"] == "CREATED"));
    let r = upsert(&app, &app.vendor, &acct, json!(batch), false).await;
    assert!(r.iter().all(|r| r["outcome"] == "UNCHANGED"), "idempotent");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 20);
    let mut changed = batch.clone();
    changed[0]["name"] = json!("P0 renamed");
    changed[0]["email"] = json!("P0@ACME.COM");
    changed.push(person("New", "new@acme.com", "Ops", None));
    changed.push(person("Bad", "not-an-email", "Ops", None));
    changed.push(person("Twice", "new@acme.com", "Ops", None));
    let r = upsert(&app, &app.vendor, &acct, json!(changed), false).await;
    assert_eq!(r[21]["errorCode"], "BAD_USER_INPUT");
    assert_eq!(
        r[22]["errorCode"], "BAD_USER_INPUT",
        "an email twice in one batch"
    );
    assert!(
        r[..21].iter().all(|x| x["outcome"] == "NOT_WRITTEN"),
        "a bad item writes nothing"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 20);
    let r = upsert(&app, &app.vendor, &acct, json!(changed), true).await;
    assert_eq!(
        (
            r[0]["outcome"].as_str(),
            r[1]["outcome"].as_str(),
            r[20]["outcome"].as_str()
        ),
        (Some("UPDATED"), Some("UNCHANGED"), Some("CREATED"))
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 21);
    let too_many: Vec<Value> = (0..501)
        .map(|i| person("x", &format!("x{i}@acme.com"), "Ops", None))
        .collect();
    let body = app
        .gql(
            &app.vendor,
            UPSERT,
            json!({ "i": { "accountId": acct, "contacts": too_many } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn links_refuse_self_duplicates_and_reporting_cycles() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let mut c = Vec::new();
    for i in 0..3 {
        c.push(
            contact(
                &app,
                &app.vendor,
                &acct,
                person(&format!("C{i}"), &format!("c{i}@acme.com"), "Ops", None),
            )
            .await,
        );
    }
    let link = |from: &str, to: &str, kind: &str| json!({ "i": { "fromContactId": from, "toContactId": to, "kind": kind } });
    app.ok(&app.vendor, LINK, link(&c[0], &c[1], "REPORTS_TO"))
        .await;
    app.ok(&app.vendor, LINK, link(&c[1], &c[2], "REPORTS_TO"))
        .await;
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[2], &c[0], "REPORTS_TO"))
                .await
        ),
        "CONFLICT",
        "cycle"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[0], &c[1], "REPORTS_TO"))
                .await
        ),
        "CONFLICT",
        "duplicate"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[0], &c[0], "INFLUENCES"))
                .await
        ),
        "BAD_USER_INPUT",
        "self"
    );
    app.ok(&app.vendor, LINK, link(&c[0], &c[2], "WORKS_WITH"))
        .await;
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[2], &c[0], "WORKS_WITH"))
                .await
        ),
        "CONFLICT",
        "symmetric duplicate"
    );
}

#[tokio::test]
async fn a_contact_who_leaves_names_a_successor_at_the_same_account() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let other = app.create_account("Globex", "globex.com").await;
    let old = contact(
        &app,
        &app.vendor,
        &acct,
        person("Olga", "olga@acme.com", "Finance", Some("ECONOMIC_BUYER")),
    )
    .await;
    let new = contact(
        &app,
        &app.vendor,
        &acct,
        person("Nina", "nina@acme.com", "Finance", Some("ECONOMIC_BUYER")),
    )
    .await;
    let elsewhere = contact(
        &app,
        &app.vendor,
        &other,
        person("Gus", "gus@globex.com", "IT", None),
    )
    .await;
    let body = app.gql(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": elsewhere } })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a successor at another account"
    );
    let body = app.gql(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": old } })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "not their own successor"
    );
    let d = app.ok(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": new } })).await;
    assert_eq!(
        d["markContact"]["contact"],
        json!({ "status": "LEFT_COMPANY", "version": 2, "successor": { "name": "Nina" } })
    );
    let body = app
        .gql(
            &app.vendor,
            MARK,
            json!({ "i": { "id": old, "expectedVersion": 1, "status": "ACTIVE" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");
}
