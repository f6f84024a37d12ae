//! Every limit is configurable and refuses a request before any resolver runs.

use serde_json::json;

use crate::helpers::*;

async fn code_of(app: &TestApp, token: &str, query: &str) -> String {
    error_code(&app.gql(token, query, json!({})).await).to_string()
}

#[tokio::test]
async fn depth_complexity_aliases_and_directives() {
    let app = spawn_app_with(|s| {
        s.limits.max_depth = 4;
        s.limits.max_complexity = 60;
        s.limits.max_aliases = 2;
        s.limits.max_directives = 1;
    })
    .await;
    let t = app.vendor.clone();
    let deep = "{ opportunities { edges { node { account { name } } } } }";
    assert_eq!(code_of(&app, &t, deep).await, "LIMIT_EXCEEDED");
    assert_eq!(
        code_of(
            &app,
            &t,
            "{ opportunities(first: 50) { nodes { name stage owner } } }"
        )
        .await,
        "LIMIT_EXCEEDED"
    );
    assert!(app
        .gql(
            &t,
            "{ opportunities(first: 5) { nodes { name } } }",
            json!({})
        )
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        code_of(
            &app,
            &t,
            "{ a: viewer { kind } b: viewer { kind } c: viewer { kind } }"
        )
        .await,
        "LIMIT_EXCEEDED"
    );
    assert_eq!(
        code_of(
            &app,
            &t,
            "{ viewer { kind @include(if: true) @skip(if: false) } }"
        )
        .await,
        "LIMIT_EXCEEDED"
    );
    // Nothing ran: a refused mutation changes nothing.
    let body = app
        .gql(&t, "mutation { a: createPartner(input: {name: \"A\"}) { partner { id } } b: createPartner(input: {name: \"B\"}) { partner { id } } c: createPartner(input: {name: \"C\"}) { partner { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "LIMIT_EXCEEDED");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM partners").await, 0);
}

#[tokio::test]
async fn page_sizes_are_bounded_literal_or_variable() {
    let app = spawn_app_with(|s| s.limits.max_page_size = 50).await;
    let t = app.vendor.clone();
    for q in [
        "{ opportunities(first: 51) { totalCount } }",
        "{ partners(last: 0) { totalCount } }",
        "{ accounts(first: -1) { totalCount } }",
    ] {
        assert_eq!(code_of(&app, &t, q).await, "BAD_USER_INPUT", "{q}");
    }
    let body = app
        .gql(
            &t,
            "query($n: Int) { opportunities(first: $n) { totalCount } }",
            json!({ "n": 1000 }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("between 1 and 50"));
    let ok = app
        .gql(&t, "{ opportunities(first: 50) { totalCount } }", json!({}))
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let both = app
        .gql(
            &t,
            "{ opportunities(first: 5, last: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT");
}

/// A new partner whose row (PostgreSQL) or the write lock (SQLite) an open transaction holds,
/// and an update of it that must wait until that transaction ends.
async fn held_partner_update(
    app: &TestApp,
    name: &str,
) -> (sea_orm::DatabaseTransaction, serde_json::Value) {
    use sea_orm::ConnectionTrait;
    let p = app.create_partner(name).await;
    let row = cosell::ids::decode_as(&p, cosell::ids::Kind::Partner).unwrap();
    let blocker = cosell::db::begin_write(&app.db).await.unwrap();
    blocker
        .execute_unprepared(&format!("UPDATE partners SET name = name WHERE id = {row}"))
        .await
        .unwrap();
    let update = json!({ "query": "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { version } } }",
                         "variables": { "i": { "id": p, "expectedVersion": 1, "tier": "PLATINUM" } } });
    (blocker, update)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_timeout_are_abandoned_and_their_write_completes_whole() {
    let app = spawn_app_with(|s| s.limits.request_timeout_ms = 300).await;
    let (blocker, update) = held_partner_update(&app, "Slowpoke").await;
    let r = app.post(Some(&app.vendor), update).await;
    assert_eq!(r.code(), "TIMEOUT", "{}", r.body);
    assert!(r.body.get("data").is_none());
    blocker.rollback().await.unwrap();
    // The abandoned write finishes on its own, as a whole: the change and its event.
    let mut seen = 0;
    for _ in 0..100 {
        seen = app
            .scalar("SELECT (SELECT CAST(MAX(version) AS BIGINT) FROM partners) * 10 + (SELECT COUNT(*) FROM events WHERE topic = 'partner.updated')")
            .await;
        if seen == 21 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 21, "version * 10 + update events");
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_switched_off() {
    let on = spawn_app().await;
    let d = on
        .ok(&on.vendor, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(d["__schema"]["queryType"]["name"], "Query");
    let body = on.gql(&on.vendor, "{ viewr { kind } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );

    let off = spawn_app_with(|s| {
        s.limits.disable_introspection = true;
        s.limits.disable_suggestions = true;
    })
    .await;
    let body = off
        .gql(
            &off.vendor,
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert!(
        body.get("errors").is_some() || body["data"]["__schema"].is_null(),
        "{body}"
    );
    let body = off.gql(&off.vendor, "{ viewr { kind } }", json!({})).await;
    assert!(
        !body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn each_principal_is_rate_limited_on_its_own() {
    let app = spawn_app_with(|s| s.limits.rate_limit_per_minute = 2).await;
    let q = json!({ "query": "{ viewer { kind } }" });
    let other = vendor_token("SALES");
    assert_eq!(app.post(Some(&app.vendor), q.clone()).await.status, 200);
    assert_eq!(app.post(Some(&app.vendor), q.clone()).await.status, 200);
    let r = app.post(Some(&app.vendor), q.clone()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "RATE_LIMITED");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        app.post(Some(&other), q.clone()).await.status,
        200,
        "another principal has its own budget"
    );
    // One app installed for two partners (the same subject) has a budget for each.
    let manager = vendor_token("CHANNEL_MANAGER");
    let create =
        "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }";
    let mut ids = Vec::new();
    for name in ["A", "B"] {
        let d = app
            .ok(
                &manager,
                create,
                json!({ "i": { "name": name, "tier": "GOLD" } }),
            )
            .await;
        ids.push(
            d["createPartner"]["partner"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (a, b) = (&ids[0], &ids[1]);
    let for_a = app_token("opportunities:read", Some(a));
    for _ in 0..2 {
        assert_eq!(app.post(Some(&for_a), q.clone()).await.status, 200);
    }
    assert_eq!(app.post(Some(&for_a), q.clone()).await.status, 429);
    let for_b = app_token("opportunities:read", Some(b));
    assert_eq!(app.post(Some(&for_b), q).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_limit_requests_are_shed_with_503_and_retry_after() {
    let app = spawn_app_with(|s| s.limits.max_in_flight = 1).await;
    let (blocker, update) = held_partner_update(&app, "Busy").await;
    let spawn_update = || {
        let (client, url, token) = (app.client.clone(), app.url.clone(), app.vendor.clone());
        let update = update.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&update)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let mut in_flight = spawn_update();
    let mut shed = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if in_flight.is_finished() {
            // The probe took the only place first and the update was the one shed: again.
            assert_eq!(in_flight.await.unwrap(), 503);
            in_flight = spawn_update();
            continue;
        }
        let r = app
            .post(Some(&app.vendor), json!({ "query": "{ viewer { kind } }" }))
            .await;
        if r.status == 503 {
            shed = Some(r);
            break;
        }
    }
    let shed = shed.expect("a second request is shed while the first is in flight");
    assert_eq!(shed.code(), "OVERLOADED");
    assert_eq!(shed.headers["retry-after"], "1");
    // Health checks are not GraphQL requests: they still answer.
    let health = app
        .client
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    blocker.rollback().await.unwrap();
    assert_eq!(in_flight.await.unwrap(), 200);
    let ok = app
        .post(Some(&app.vendor), json!({ "query": "{ viewer { kind } }" }))
        .await;
    assert_eq!(ok.status, 200, "the place is free again: {}", ok.body);
}
