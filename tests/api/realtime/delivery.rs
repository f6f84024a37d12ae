//! Delivery: approvals pushed the moment they commit, rolled-back changes sending nothing and
//! events crossing server instances (over the WebSocket), and slow consumers cut off without
//! holding up the others (over either transport).

use std::collections::BTreeSet;

use super::*;
use crate::transport::*;

#[tokio::test]
async fn an_approval_reaches_the_vendor_and_the_partner_the_moment_it_commits() {
    let app = spawn_app().await;
    manual_review(&app).await;
    let p = app.create_partner("Northwind").await;
    let mut vendor = app.ws_as(&app.vendor).await;
    let now = app.now().await;
    vendor
        .subscribe("all", STATUS, json!({ "after": now }))
        .await;
    vendor
        .subscribe(
            "approved",
            STATUS,
            json!({ "s": ["APPROVED"], "after": now }),
        )
        .await;
    let mut partner = app.ws_as(&partner_token(&p)).await;
    partner
        .subscribe("mine", STATUS, json!({ "after": now }))
        .await;
    // Subscriptions are live before the change: nothing is pending yet.
    assert!(vendor.silent_for(Duration::from_millis(200)).await.is_ok());

    let reg = submit(&app, &p, draft("acme.com", "RESELLER", "our secret")).await;
    assert_eq!(reg["status"], "SUBMITTED");
    let m = vendor.next_payload("all").await["data"]["registrationStatusChanged"].clone();
    assert_eq!(m["event"]["topic"], "registration.submitted");
    assert_eq!(m["registration"]["id"], reg["id"]);
    assert_eq!(m["registration"]["status"], "SUBMITTED");

    let approved = approve(&app, &reg).await;
    // Both subscriptions hear of it; their messages may interleave either way.
    let mut by_sub = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let m = vendor.recv().await;
        assert_eq!(m["type"], "next", "{m}");
        by_sub.insert(
            m["id"].as_str().unwrap().to_string(),
            m["payload"]["data"]["registrationStatusChanged"].clone(),
        );
    }
    for sub in ["all", "approved"] {
        let m = &by_sub[sub];
        assert_eq!(m["event"]["topic"], "registration.approved");
        assert_eq!(m["registration"]["status"], "APPROVED");
        assert_eq!(m["registration"]["version"], approved["version"]);
    }

    let mine: Vec<Value> = vec![
        partner.next_payload("mine").await,
        partner.next_payload("mine").await,
    ];
    let topics: Vec<&str> = mine
        .iter()
        .map(|m| {
            m["data"]["registrationStatusChanged"]["event"]["topic"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(topics, ["registration.submitted", "registration.approved"]);
    assert_eq!(
        mine[1]["data"]["registrationStatusChanged"]["registration"]["privateNotes"], "our secret",
        "a partner sees its own claim in full"
    );

    // Filtering by opportunity: another deal's registration does not reach this filter.
    let opp = approved["opportunity"]["id"].clone();
    vendor
        .subscribe(
            "deal",
            STATUS,
            json!({ "o": opp, "after": app.now().await }),
        )
        .await;
    let other = submit(&app, &p, draft("globex.com", "RESELLER", "x")).await;
    let m = vendor.next_payload("all").await;
    assert_eq!(
        m["data"]["registrationStatusChanged"]["registration"]["id"],
        other["id"]
    );
    assert!(
        vendor.silent_for(Duration::from_millis(300)).await.is_ok(),
        "no message for the deal filter"
    );
}

#[tokio::test]
async fn a_rolled_back_change_sends_nothing() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("e", EVENTS, json!({ "after": app.now().await }))
        .await;
    let before = app.scalar("SELECT COUNT(*) FROM events").await;
    // The first contact is written (with its event) before the duplicate fails the batch,
    // which rolls back as a whole.
    let d = app
        .gql(&app.vendor, "mutation($i: UpsertContactsInput!) { upsertContacts(input: $i) { results { index outcome errorCode } } }",
            json!({ "i": { "accountId": acct, "contacts": [
                { "name": "Ann", "email": "ann@acme.com", "department": "IT" },
                { "name": "Ann again", "email": "ann@acme.com", "department": "IT" } ] } }))
        .await;
    assert!(
        d.to_string().contains("BAD_USER_INPUT") || d.get("errors").is_some(),
        "{d}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM events").await, before);
    assert!(
        ws.silent_for(Duration::from_millis(400)).await.is_ok(),
        "no event for a rolled-back change"
    );
    // The next committed change is the next thing heard.
    let p = app.create_partner("After").await;
    let m = ws.next_payload("e").await;
    assert_eq!(m["data"]["events"]["topic"], "partner.created");
    assert_eq!(m["data"]["events"]["subjectId"], p.as_str());
}

#[tokio::test]
async fn an_event_committed_on_one_instance_reaches_subscribers_on_another() {
    // On PostgreSQL, LISTEN/NOTIFY carries it (the safety-net poll is set far out of reach);
    // two instances on one SQLite file rely on the poll, set short here.
    let pg = std::env::var("COSELL_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let poll = if pg { 120_000 } else { 200 };
    let first = spawn_app_with(|s| s.realtime.outbox_poll_ms = poll).await;
    let second = spawn_sibling(&first, |s| s.realtime.outbox_poll_ms = poll).await;
    manual_review(&first).await;
    let p = first.create_partner("Two Sites").await;
    let now = first.now().await;
    let mut on_second = second.ws_as(&second.vendor).await;
    on_second
        .subscribe("s", STATUS, json!({ "s": ["APPROVED"], "after": now }))
        .await;
    let mut partner_on_second = second.ws_as(&partner_token(&p)).await;
    partner_on_second
        .subscribe("s", STATUS, json!({ "s": ["APPROVED"], "after": now }))
        .await;
    // On PostgreSQL, listen alongside to see what the notifications carry.
    let mut listener = None;
    if pg {
        let mut l = sea_orm::sqlx::postgres::PgListener::connect(&first.database_url)
            .await
            .expect("LISTEN connection");
        l.listen("cosell_events").await.unwrap();
        listener = Some(l);
    }
    let reg = submit(&first, &p, draft("multi.example", "RESELLER", "n")).await;
    let approved = approve(&first, &reg).await;
    for ws in [&mut on_second, &mut partner_on_second] {
        let m = ws.next_payload("s").await["data"]["registrationStatusChanged"].clone();
        assert_eq!(m["event"]["topic"], "registration.approved");
        assert_eq!(m["registration"]["id"], approved["id"]);
        assert_eq!(m["registration"]["status"], "APPROVED");
    }
    let Some(mut listener) = listener else {
        return;
    };
    // Each notification carries an outbox id alone, far below PostgreSQL's 8000-byte limit.
    let n = listener.recv().await.unwrap();
    assert_eq!(n.channel(), "cosell_events");
    let id: i64 = n.payload().parse().expect("an outbox id");
    assert!(id > now.parse::<i64>().unwrap() && n.payload().len() < 20);
    drop(listener);
    // Cut every LISTEN connection: the instances reconnect and re-read the outbox from their
    // last id, so a change committed meanwhile still arrives.
    let cut = first
        .scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%') AS cut",
        )
        .await;
    assert!(cut >= 2, "both instances listen ({cut} cut)");
    let reg = submit(&first, &p, draft("after-cut.example", "RESELLER", "n")).await;
    approve(&first, &reg).await;
    let m = on_second.next_payload("s").await;
    assert_eq!(
        m["data"]["registrationStatusChanged"]["registration"]["id"],
        reg["id"]
    );
}

#[tokio::test]
async fn a_subscriber_that_does_not_read_is_closed_without_holding_up_the_others() {
    for t in BOTH {
        slow_consumer_is_cut_off(t).await;
    }
}

/// A subscriber over `t` replayed far more than it reads, and one that keeps up beside it.
async fn slow_consumer_is_cut_off(t: Transport) {
    eprintln!("over {t:?}");
    let app = spawn_app_with(|s| {
        s.realtime.ws_send_buffer = 4;
        s.realtime.ws_slow_consumer_ms = 300;
        // The client drains tens of megabytes before it reads the close frame; on a loaded
        // machine that takes longer than the default grace.
        s.realtime.ws_close_grace_ms = 60_000;
        s.limits.max_aliases = 250;
    })
    .await;
    // History with large messages, each result repeating them a hundred times: replaying it is
    // far more than the socket buffers between server and client hold (about 40 MB).
    let p = app.create_partner("Verbose").await;
    let long = "x".repeat(3900);
    for i in 0..60 {
        let mut d = draft(&format!("slow-{i}.example"), "SERVICES", &long);
        d["justification"] = json!(long);
        submit(&app, &p, d).await;
    }
    let fields: String = (0..100)
        .map(|i| format!("j{i}: justification n{i}: privateNotes "))
        .collect();
    let query = format!(
        "subscription {{ registrationStatusChanged(after: \"0\") {{ event {{ id: cursor }} registration {{ {fields} }} }} }}"
    );
    let mut slow = app.open(t, &partner_token(&p), &query, json!({})).await;
    // Meanwhile a reader that keeps up gets every new event promptly.
    let mut fast = app.open(t, &app.vendor, EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut fresh = BTreeSet::new();
    for i in 0..5 {
        fresh.insert(app.create_partner(&format!("Later {i}")).await);
    }
    let mut got = BTreeSet::new();
    while got.len() < 5 {
        let m = fast.result().await;
        got.insert(
            m["data"]["events"]["subjectId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(got, fresh, "{t:?}");
    // The server gives up on the slow one while it is still not reading (the fast one's stream
    // stays open)...
    // A bound on liveness, not a timing: the replay is slow when the whole suite shares two
    // cores with PostgreSQL.
    let (metric, given_up) = match t {
        Transport::Sse => ("cosell_sse_streams", 1.0),
        Transport::Ws => ("cosell_ws_closed_total{code=\"1013\"}", 1.0),
    };
    let mut cut_off = false;
    for _ in 0..900 {
        if app.metric(metric).await == Some(given_up) {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut_off, "{t:?}: the slow consumer was closed");
    // ...and the slow one, reading at last, finds it was cut off after what was already in
    // flight: an event stream without `complete` (the client resumes), a WebSocket with a
    // reason it can act on.
    let (code, reason) = slow.closed().await;
    match t {
        Transport::Sse => assert_eq!((code, reason.as_str()), (None, "")),
        Transport::Ws => {
            assert_eq!(code, Some(1013), "{reason}");
            assert!(
                reason.contains("slow consumer") && reason.contains("after"),
                "{reason}"
            );
        }
    }
}
