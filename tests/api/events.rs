//! The events outbox as a query: ordered, resumable with `after`, and scoped by audience.

use serde_json::json;

use crate::helpers::*;

const EVENTS: &str = "query($after: ID, $n: Int) { events(after: $after, first: $n) { id: cursor topic subjectId payload } }";

#[tokio::test]
async fn events_are_ordered_resumable_and_scoped_to_their_audience() {
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let submit = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id } } }";
    let mut regs = Vec::new();
    for p in [&a, &b] {
        let d = app
            .ok(&partner_token(p), submit, json!({ "i": { "draft": { "accountDomain": "acme.com", "accountName": "Acme", "dealName": "D", "role": "SERVICES", "justification": "x" } } }))
            .await;
        regs.push(
            d["submitRegistration"]["registration"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let all = app.ok(&app.vendor, EVENTS, json!({ "n": 100 })).await;
    let ids: Vec<i64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered by outbox id");
    assert!(all["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["subjectId"] == regs[1].as_str()));
    for (i, p) in [&a, &b].into_iter().enumerate() {
        let d = app.ok(&partner_token(p), EVENTS, json!({ "n": 100 })).await;
        let evs = d["events"].as_array().unwrap();
        assert!(
            evs.iter().any(|e| e["subjectId"] == regs[i].as_str()),
            "its own registration's events"
        );
        assert!(
            !evs.iter().any(|e| e["subjectId"] == regs[1 - i].as_str()),
            "never the other partner's"
        );
    }
    let first = app.ok(&app.vendor, EVENTS, json!({ "n": 2 })).await;
    let cursor = first["events"][1]["id"].clone();
    let rest = app
        .ok(&app.vendor, EVENTS, json!({ "after": cursor, "n": 100 }))
        .await;
    assert_eq!(
        rest["events"].as_array().unwrap().len(),
        ids.len() - 2,
        "resumes after the cursor, no gap, no repeat"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, EVENTS, json!({ "after": "abc" }))
                .await
        ),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        error_code(&app.gql(&app.vendor, EVENTS, json!({ "n": 101 })).await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        error_code(
            &app.gql(&app_token("opportunities:read", None), EVENTS, json!({}))
                .await
        ),
        "FORBIDDEN",
        "apps need events:read"
    );
    let d = app
        .ok(
            &app_token("events:read", Some(&a)),
            EVENTS,
            json!({ "n": 100 }),
        )
        .await;
    let evs = d["events"].as_array().unwrap();
    assert!(
        !evs.is_empty() && !evs.iter().any(|e| e["subjectId"] == regs[1].as_str()),
        "an app for A sees what A sees"
    );
}

#[tokio::test]
async fn who_hears_of_events_recorded_before_the_audience_index_is_filled_in() {
    use migration::MigratorTrait;
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let submit = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id } } }";
    for (p, d) in [(&a, "a.example.com"), (&b, "b.example.com")] {
        app.ok(&partner_token(p), submit, json!({ "i": { "draft": { "accountDomain": d, "accountName": "Acme", "dealName": "D", "role": "SERVICES", "justification": "x" } } }))
            .await;
    }
    let heard = |token: String| {
        let app = &app;
        async move { app.ok(&token, EVENTS, json!({ "n": 100 })).await["events"].clone() }
    };
    let before = [
        heard(app.vendor.clone()).await,
        heard(partner_token(&a)).await,
        heard(partner_token(&b)).await,
    ];
    assert!(before.iter().all(|e| !e.as_array().unwrap().is_empty()));
    assert_ne!(before[1], before[2]);
    // Undo the index migration (and the ones after it) and run them again over the recorded
    // events.
    let after_it = migration::Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name().ends_with("event_audiences"))
        .unwrap() as u32;
    migration::Migrator::down(&app.db, Some(after_it + 1))
        .await
        .unwrap();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seaql_migrations WHERE version LIKE '%event_audiences'")
            .await,
        0
    );
    migration::Migrator::up(&app.db, None).await.unwrap();
    let after = [
        heard(app.vendor.clone()).await,
        heard(partner_token(&a)).await,
        heard(partner_token(&b)).await,
    ];
    assert_eq!(before, after);
}

#[tokio::test]
async fn an_event_is_a_node_its_reader_can_fetch_again_and_its_id_resumes_like_its_cursor() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("A").await, app.partner("B").await);
    let submit = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id } } }";
    for p in [&a, &b] {
        app.ok(&p.token, submit, json!({ "i": { "draft": { "accountDomain": format!("{}.example", p.id.to_lowercase()), "accountName": "Acme", "dealName": "D", "role": "SERVICES", "justification": "x" } } }))
            .await;
    }
    let q = "{ events(first: 100) { id cursor topic subjectId } }";
    let mine = app.ok(&a.token, q, json!({})).await["events"].clone();
    let theirs = app.ok(&b.token, q, json!({})).await["events"].clone();
    let e = &mine[0];
    let node = "query($id: ID!) { node(id: $id) { __typename id ... on Event { cursor topic subjectId } } }";
    let d = app.ok(&a.token, node, json!({ "id": e["id"] })).await;
    assert_eq!(d["node"]["__typename"], "Event");
    assert_eq!(d["node"]["id"], e["id"]);
    assert_eq!(d["node"]["cursor"], e["cursor"]);
    assert_eq!(d["node"]["subjectId"], e["subjectId"]);
    // Another partner's event answers like a missing one.
    let d = app
        .ok(&a.token, node, json!({ "id": theirs[0]["id"] }))
        .await;
    assert!(d["node"].is_null(), "{d}");
    let d = app
        .ok(&app.vendor, node, json!({ "id": theirs[0]["id"] }))
        .await;
    assert_eq!(d["node"]["subjectId"], theirs[0]["subjectId"]);
    // An app needs events:read, by node(id) as by events.
    let body = app
        .gql(
            &app_token("opportunities:read", None),
            node,
            json!({ "id": e["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // `after` takes the global id as it takes the cursor.
    let all = app.ok(&app.vendor, q, json!({})).await["events"].clone();
    let by = |after: &serde_json::Value| {
        let app = &app;
        let after = after.clone();
        async move {
            app.ok(
                &app.vendor,
                "query($a: ID) { events(after: $a, first: 100) { cursor } }",
                json!({ "a": after }),
            )
            .await["events"]
                .clone()
        }
    };
    assert_eq!(by(&all[0]["id"]).await, by(&all[0]["cursor"]).await);
    assert_eq!(
        by(&all[0]["id"]).await.as_array().unwrap().len(),
        all.as_array().unwrap().len() - 1
    );
    let body = app
        .gql(
            &app.vendor,
            "{ events(after: \"not-a-cursor\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");
}
