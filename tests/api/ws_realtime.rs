//! Subscriptions end to end: approvals pushed the moment they commit, each partner hearing only
//! what is its own, resuming without gaps, rolled-back changes sending nothing, slow consumers
//! cut off without holding up the others, and events crossing server instances.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws::*;

const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id status version } } }";
const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id status version opportunity { id } } } }";
const STATUS: &str = "subscription($o: ID, $s: [RegistrationStatus!], $after: ID) {
  registrationStatusChanged(opportunityId: $o, status: $s, after: $after) {
    event { id: cursor topic subjectId payload } registration { id status version privateNotes partner { id } } } }";
const EVENTS: &str =
    "subscription($after: ID) { events(after: $after) { id: cursor topic subjectId payload } }";
const CONFLICTS: &str = "subscription($after: ID) { conflictChanged(after: $after) { event { id: cursor topic subjectId payload } conflict { id kind status } } }";
const DEALS: &str = "subscription($after: ID) { opportunityChanged(after: $after) { event { id: cursor topic subjectId payload } opportunity { id name stage forecastNotes } } }";

fn draft(domain: &str, role: &str, notes: &str) -> Value {
    json!({ "accountDomain": domain, "accountName": format!("{domain} Inc"), "dealName": "Roll-out", "role": role,
            "amount": 500000, "currency": "USD", "justification": "We know the buyer.", "privateNotes": notes })
}

async fn submit(app: &TestApp, partner: &str, d: Value) -> Value {
    app.ok(
        &partner_token(partner),
        SUBMIT,
        json!({ "i": { "draft": d } }),
    )
    .await["submitRegistration"]["registration"]
        .clone()
}

async fn approve(app: &TestApp, reg: &Value) -> Value {
    app.ok(
        &app.vendor,
        APPROVE,
        json!({ "i": { "id": reg["id"], "expectedVersion": reg["version"], "createOpportunity": true } }),
    )
    .await["approveRegistration"]["registration"]
        .clone()
}

/// Makes reseller registrations wait for a vendor decision.
async fn manual_review(app: &TestApp) {
    app.ok(&app.vendor, "mutation($i: UpdateCollaborationRuleInput!) { updateCollaborationRule(input: $i) { rule { role } } }",
        json!({ "i": { "role": "RESELLER", "expectedVersion": 1, "autoApprove": false } }))
        .await;
}

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

/// Every message `ws` receives until `marker` has appeared in `times` of them, then whatever
/// else arrives before a pause.
async fn read_until(ws: &mut Ws, marker: &str, times: usize) -> Vec<Value> {
    let mut got = Vec::new();
    let mut seen = 0;
    while seen < times {
        let m = ws.recv().await;
        assert!(matches!(m["type"].as_str(), Some("next")), "{m}");
        if m.to_string().contains(marker) {
            seen += 1;
        }
        got.push(m);
    }
    while let Some(Frame::Json(m)) = ws.recv_within(Duration::from_millis(300)).await {
        got.push(m);
    }
    got
}

#[tokio::test]
async fn three_partners_subscribed_at_once_hear_only_what_is_theirs() {
    let app = spawn_app().await;
    manual_review(&app).await;
    let (a, b, c) = (
        app.create_partner("Alpha").await,
        app.create_partner("Bravo").await,
        app.create_partner("Charlie").await,
    );
    let mut socks = Vec::new();
    let now = json!({ "after": app.now().await });
    for p in [&a, &b, &c] {
        let mut ws = app.ws_as(&partner_token(p)).await;
        ws.subscribe("events", EVENTS, now.clone()).await;
        ws.subscribe("status", STATUS, now.clone()).await;
        ws.subscribe("conflicts", CONFLICTS, now.clone()).await;
        ws.subscribe("deals", DEALS, now.clone()).await;
        socks.push(ws);
    }
    let mut vendor = app.ws_as(&app.vendor).await;
    vendor.subscribe("events", EVENTS, now.clone()).await;

    // A and B claim the same deal as RESELLER (exclusive: B's claim raises a conflict); C
    // works another customer. Then the deal moves a stage, which A and B share.
    let ra = submit(
        &app,
        &a,
        draft("shared.example", "RESELLER", "alpha-secret"),
    )
    .await;
    let approved = approve(&app, &ra).await;
    let opp = approved["opportunity"]["id"].as_str().unwrap().to_string();
    // B proposes the same customer as a system integrator; the vendor joins it to A's deal.
    let rb = submit(
        &app,
        &b,
        draft("shared.example", "SYSTEM_INTEGRATOR", "bravo-secret"),
    )
    .await;
    app.ok(
        &app.vendor,
        APPROVE,
        json!({ "i": { "id": rb["id"], "expectedVersion": rb["version"], "opportunityId": opp } }),
    )
    .await;
    let rb2 = submit(
        &app,
        &b,
        draft("shared.example", "RESELLER", "bravo-secret-2"),
    )
    .await;
    let rc = submit(
        &app,
        &c,
        draft("other.example", "RESELLER", "charlie-secret"),
    )
    .await;
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { node(id: $id) { ... on Opportunity { version } } }",
            json!({ "id": opp }),
        )
        .await;
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": opp, "expectedVersion": d["node"]["version"], "stage": "QUALIFICATION" } }))
        .await;
    // A last event per partner marks the end of what each should have heard.
    let markers: Vec<Value> = vec![
        submit(&app, &a, draft("marker-a.example", "SERVICES", "m")).await,
        submit(&app, &b, draft("marker-b.example", "SERVICES", "m")).await,
        submit(&app, &c, draft("marker-c.example", "SERVICES", "m")).await,
    ];

    let own = [
        (&a, vec![&ra], "alpha-secret"),
        (&b, vec![&rb, &rb2], "bravo-secret"),
        (&c, vec![&rc], "charlie-secret"),
    ];
    let mut heard = Vec::new();
    for (i, ws) in socks.iter_mut().enumerate() {
        let marker = markers[i]["id"].as_str().unwrap();
        // The marker comes on the events stream and on the status stream.
        let msgs = read_until(ws, marker, 2).await;
        heard.push(
            msgs.iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    for (i, (_, regs, secret)) in own.iter().enumerate() {
        let text = &heard[i];
        for r in regs {
            assert!(
                text.contains(r["id"].as_str().unwrap()),
                "partner {i} hears of its own registration"
            );
        }
        assert!(text.contains(secret), "partner {i} sees its own notes");
        for (j, (other, other_regs, other_secret)) in own.iter().enumerate() {
            if i == j {
                continue;
            }
            assert!(
                !text.contains(other_secret),
                "partner {i} must not see partner {j}'s notes"
            );
            assert!(
                !text.contains(other.as_str()),
                "partner {i} must not see partner {j}'s ID"
            );
            for r in other_regs {
                assert!(
                    !text.contains(r["id"].as_str().unwrap()),
                    "partner {i} must not hear of partner {j}'s registration"
                );
            }
        }
        assert!(
            !text.contains("forecastNotes\":\"internal"),
            "no internal fields"
        );
    }
    // A and B are on the deal and share its stage change; C is not and hears nothing of it.
    assert!(heard[0].contains("opportunity.stage_changed") && heard[0].contains(&opp));
    assert!(heard[1].contains("opportunity.stage_changed"));
    assert!(!heard[2].contains(&opp), "C is not on the deal");
    // B's held claim raised a conflict that B hears of and A does not.
    assert!(heard[1].contains("conflict.raised"));
    assert!(!heard[0].contains("conflict.raised"));

    // The vendor hears everything, in id order.
    let last_marker = markers[2]["id"].as_str().unwrap();
    let all = read_until(&mut vendor, last_marker, 1).await;
    let ids: Vec<i64> = all
        .iter()
        .map(|m| {
            m["payload"]["data"]["events"]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let text = all.iter().map(|m| m.to_string()).collect::<String>();
    for r in [&ra, &rb, &rb2, &rc] {
        assert!(text.contains(r["id"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn a_reconnect_with_after_gets_what_it_missed_in_order_with_no_gap_or_duplicate() {
    let app = spawn_app().await;
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("e", EVENTS, json!({})).await;
    // Two writers race while the subscriber reads, drops and comes back.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (url, token) = (app.url.clone(), app.vendor.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0..20 {
                    let body = json!({ "query": "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                                       "variables": { "i": { "name": format!("P{w}-{i}"), "tier": "SILVER" } } });
                    let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert!(r.status().is_success());
                }
            })
        })
        .collect();
    let mut received: Vec<i64> = Vec::new();
    while received.len() < 7 {
        let p = ws.next_payload("e").await;
        received.push(p["data"]["events"]["id"].as_str().unwrap().parse().unwrap());
    }
    drop(ws); // the connection drops while events are still being written
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe(
        "e",
        EVENTS,
        json!({ "after": received.last().unwrap().to_string() }),
    )
    .await;
    for w in writers {
        w.await.unwrap();
    }
    let total = app.scalar("SELECT COUNT(*) FROM events").await;
    let first = received[0];
    let expected = app
        .scalar(&format!("SELECT COUNT(*) FROM events WHERE id >= {first}"))
        .await;
    while (received.len() as i64) < expected {
        let m = match ws.recv_within(Duration::from_secs(10)).await {
            Some(crate::ws::Frame::Json(m)) => m,
            other => {
                // Say where the stream stopped: a gap (an event after the last one received
                // that never came) or a slow relay (the outbox still short of `expected`).
                let last = *received.last().unwrap();
                let now = app
                    .scalar(&format!("SELECT COUNT(*) FROM events WHERE id >= {first}"))
                    .await;
                let next = app
                    .scalar(&format!("SELECT MIN(id) FROM events WHERE id > {last}"))
                    .await;
                panic!("stuck after {last} ({} of {expected} received; outbox now {now}, next id {next}): {other:?}", received.len());
            }
        };
        if matches!(m["type"].as_str(), Some("ping" | "ka")) {
            continue;
        }
        assert_eq!(
            (m["type"].as_str(), m["id"].as_str()),
            (Some("next"), Some("e")),
            "{m}"
        );
        received.push(
            m["payload"]["data"]["events"]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    assert!(
        ws.silent_for(Duration::from_millis(300)).await.is_ok(),
        "nothing beyond the outbox"
    );
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate: {received:?}"
    );
    let stored: Vec<i64> = {
        let d = app
            .ok(
                &app.vendor,
                "query($a: ID) { events(after: $a, first: 100) { id: cursor } }",
                json!({ "a": (first - 1).to_string() }),
            )
            .await;
        d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(received, stored, "exactly the outbox, no gap");
    assert!(total >= 40);
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
    let app = spawn_app_with(|s| {
        s.realtime.ws_send_buffer = 4;
        s.realtime.ws_slow_consumer_ms = 300;
        // The client drains tens of megabytes before it reads the close frame; on a loaded
        // machine that takes longer than the default grace.
        s.realtime.ws_close_grace_ms = 60_000;
        s.realtime.ws_max_subscriptions = 100;
    })
    .await;
    // History with large messages: replaying it to many subscriptions is far more than the
    // socket buffers between server and client hold (about 40 MB).
    let p = app.create_partner("Verbose").await;
    let long = "x".repeat(3900);
    for i in 0..60 {
        let mut d = draft(&format!("slow-{i}.example"), "SERVICES", &long);
        d["justification"] = json!(long);
        submit(&app, &p, d).await;
    }
    let query = "subscription { registrationStatusChanged(after: \"0\") { event { id: cursor } registration { justification privateNotes } } }";
    let mut slow = app.ws_as(&partner_token(&p)).await;
    for i in 0..100 {
        slow.subscribe(&format!("s{i}"), query, json!({})).await;
    }
    // Meanwhile a reader that keeps up gets every new event promptly.
    let mut fast = app.ws_as(&app.vendor).await;
    fast.subscribe("f", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut fresh = BTreeSet::new();
    for i in 0..5 {
        fresh.insert(app.create_partner(&format!("Later {i}")).await);
    }
    let mut got = BTreeSet::new();
    while got.len() < 5 {
        let m = fast.next_payload("f").await;
        got.insert(
            m["data"]["events"]["subjectId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(got, fresh);
    // The server gives up on the slow one while it is still not reading...
    // A bound on liveness, not a timing: the replay to 100 subscriptions is slow when the
    // whole suite shares two cores with PostgreSQL.
    let mut cut_off = false;
    for _ in 0..900 {
        if app.metric("cosell_ws_closed_total{code=\"1013\"}").await == Some(1.0) {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut_off, "the slow consumer was closed");
    // ...and the slow one, reading at last, finds it was cut off with a reason it can act on, after what was already in flight.
    let (code, reason) = slow.closed().await;
    assert_eq!(code, 1013, "{reason}");
    assert!(
        reason.contains("slow consumer") && reason.contains("after"),
        "{reason}"
    );
}

#[tokio::test]
async fn retention_prunes_old_events_and_an_older_cursor_answers_cursor_expired() {
    let app = spawn_app().await;
    for i in 0..6 {
        app.create_partner(&format!("Old {i}")).await;
    }
    let old = app.scalar("SELECT MAX(id) FROM events").await;
    for i in 0..2 {
        app.create_partner(&format!("New {i}")).await;
    }
    // Age the first events past the retention period, then start an instance whose retention
    // job prunes them at start-up.
    let aged = if app.database_url.starts_with("postgres") {
        format!("UPDATE events SET created_at = now() - interval '40 days' WHERE id <= {old}")
    } else {
        format!("UPDATE events SET created_at = '2020-01-01 00:00:00+00:00' WHERE id <= {old}")
    };
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, &aged)
        .await
        .unwrap();
    let _pruner = spawn_sibling(&app, |s| s.realtime.outbox_retention_days = 30).await;
    let mut left = 0;
    for _ in 0..100 {
        left = app
            .scalar(&format!("SELECT COUNT(*) FROM events WHERE id <= {old}"))
            .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "aged events pruned");
    assert!(
        app.scalar("SELECT COUNT(*) FROM events").await >= 2,
        "newer ones kept"
    );

    let stale = (old - 2).to_string();
    let q = "query($a: ID) { events(after: $a) { id: cursor } }";
    let body = app.gql(&app.vendor, q, json!({ "a": stale })).await;
    assert_eq!(error_code(&body), "CURSOR_EXPIRED", "{body}");
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("e", EVENTS, json!({ "after": stale })).await;
    let p = ws.next_payload("e").await;
    assert_eq!(error_code(&p), "CURSOR_EXPIRED", "{p}");
    // Resuming from the last pruned id loses nothing, and works.
    ws.subscribe("ok", EVENTS, json!({ "after": old.to_string() }))
        .await;
    let mut first = None;
    while first.is_none() {
        let m = ws.recv().await;
        if m["id"] == "ok" {
            first = Some(m);
        }
    }
    let first = first.unwrap();
    assert_eq!(
        first["payload"]["data"]["events"]["topic"], "partner.created",
        "{first}"
    );
}
