//! The events outbox as a query: ordered, resumable with `after`, and scoped by audience.

use serde_json::json;

use crate::helpers::*;

const EVENTS: &str = "query($after: ID, $n: Int) { events(after: $after, first: $n) { id topic subjectId payload } }";

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
