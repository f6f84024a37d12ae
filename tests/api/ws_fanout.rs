//! Subscriptions in groups: one event is resolved once per view and document, however many
//! subscribers share them, and each subscriber still gets exactly what its own view allows.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws::*;

const APPROVED: &str = "subscription($after: ID) { registrationStatusChanged(after: $after, status: [APPROVED]) {
  event { id topic } registration { id status privateNotes partner { name } opportunity { name account { name } } } } }";

/// Submits a claim as `partner`; its id and version.
async fn submit(app: &TestApp, partner: &Member, domain: &str) -> (Value, Value) {
    let d = app
        .ok(&partner.token, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": "Deal",
                   "role": "SERVICES", "justification": "x", "privateNotes": "ours" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    (r["id"].clone(), r["version"].clone())
}

async fn approve(app: &TestApp, (id, version): &(Value, Value)) {
    app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }",
        json!({ "i": { "id": id, "expectedVersion": version, "createOpportunity": true } }))
        .await;
}

/// The next `n` results on `ws`, whichever of its operations they are for.
async fn results(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let m = ws.recv().await;
        assert_eq!(m["type"], "next", "{m}");
        out.push(m["payload"].clone());
    }
    out
}

/// Opens `count` subscriptions to APPROVED on `ws`, ids starting at `first`.
async fn subscribe_many(ws: &mut Ws, first: usize, count: usize, after: &str) {
    for i in first..first + count {
        ws.subscribe(&i.to_string(), APPROVED, json!({ "after": after }))
            .await;
    }
}

#[tokio::test]
async fn an_event_costs_the_same_statements_for_2_or_1000_subscribers() {
    // No keep-alive: its partner-status check must not land inside a count.
    let app = spawn_app_with(|s| {
        s.realtime.ws_keepalive_seconds = 0;
        // The webhook dispatcher's retry poll would land in one counted window and not the
        // other.
        s.webhooks.webhook_poll_ms = 600_000;
        // So would the sweep that assesses the threading of the deals the approvals create.
        s.program.expiry_interval_seconds = 0;
    })
    .await;
    let partner = app.partner("Fanned out").await;
    let first = submit(&app, &partner, "first.example").await;
    let second = submit(&app, &partner, "second.example").await;
    let tokens = [app.vendor.clone(), partner.token.clone()];

    // One subscriber per view.
    let t0 = app.now().await;
    let mut conns: Vec<Vec<Ws>> = Vec::new();
    for token in &tokens {
        let mut ws = app.ws_as(token).await;
        subscribe_many(&mut ws, 0, 1, &t0).await;
        conns.push(vec![ws]);
    }
    let (small, answers) = app
        .count_statements(async {
            approve(&app, &first).await;
            let mut answers = Vec::new();
            for c in conns.iter_mut() {
                answers.extend(results(&mut c[0], 1).await);
            }
            answers
        })
        .await;
    for a in &answers {
        let r = &a["data"]["registrationStatusChanged"]["registration"];
        assert_eq!(r["status"], "APPROVED", "{a}");
        assert_eq!(r["privateNotes"], "ours", "{a}");
        assert_eq!(
            r["opportunity"]["account"]["name"], "first.example Ltd",
            "{a}"
        );
    }

    // 500 per view: 249 more from before the first approval (they hear of it first), 250
    // from after it. Their cursors differ; their answers do not.
    let t1 = app.now().await;
    for (v, token) in tokens.iter().enumerate() {
        let c = &mut conns[v];
        subscribe_many(&mut c[0], 1, 49, &t0).await;
        for k in 1..10 {
            let mut ws = app.ws_as(token).await;
            let (from, after) = if k < 5 {
                (k * 50, t0.as_str())
            } else {
                (k * 50, t1.as_str())
            };
            subscribe_many(&mut ws, from, 50, after).await;
            c.push(ws);
        }
        // Those from before the first approval hear of it now.
        let catching_up = join_all(
            c.iter_mut()
                .take(5)
                .enumerate()
                .map(|(k, ws)| results(ws, if k == 0 { 49 } else { 50 })),
        )
        .await;
        assert_eq!(catching_up.iter().map(Vec::len).sum::<usize>(), 249);
    }
    let (large, answers) = app
        .count_statements(async {
            approve(&app, &second).await;
            join_all(
                conns
                    .iter_mut()
                    .flat_map(|c| c.iter_mut())
                    .map(|ws| results(ws, 50)),
            )
            .await
        })
        .await;
    let answers: Vec<Value> = answers.into_iter().flatten().collect();
    assert_eq!(answers.len(), 1000);
    for a in &answers {
        let r = &a["data"]["registrationStatusChanged"]["registration"];
        assert_eq!(
            r["opportunity"]["account"]["name"], "second.example Ltd",
            "{a}"
        );
    }
    assert_eq!(
        small, large,
        "one event's statements grow with the views it reaches, not with its subscribers"
    );
}

#[tokio::test]
async fn subscribers_sharing_a_document_each_get_their_own_view_of_the_event() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.partner("Alpha").await,
        app.partner("Bravo").await,
        app.partner("Charlie").await,
    );
    let deal = app
        .approved_deal("views.example", &[(&a, "SERVICES"), (&b, "REFERRAL")])
        .await;
    const DOC: &str = "subscription($after: ID) { opportunityChanged(after: $after) {
      event { topic } opportunity { id name registrations { partner { name } privateNotes } } } }";
    let now = app.now().await;
    let narrow_app = app_token("opportunities:read", Some(&a.id));
    let mut subs = Vec::new();
    // Two of each view, so each group has company.
    for token in [
        &app.vendor,
        &app.vendor,
        &a.token,
        &a.token,
        &narrow_app,
        &narrow_app,
        &b.token,
        &b.token,
        &c.token,
    ] {
        let mut ws = app.ws_as(token).await;
        ws.subscribe("d", DOC, json!({ "after": now })).await;
        subs.push(ws);
    }
    let v = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { version } }",
            json!({ "id": deal.opportunity }),
        )
        .await["opportunity"]["version"]
        .clone();
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version } } }",
        json!({ "i": { "id": deal.opportunity, "expectedVersion": v, "name": "Shared, renamed" } }))
        .await;
    let mut got = Vec::new();
    for ws in subs.iter_mut().take(8) {
        got.push(ws.next_payload("d").await);
    }
    let claims = |m: &Value| -> Vec<(String, Value)> {
        let o = &m["data"]["opportunityChanged"]["opportunity"];
        assert_eq!(o["name"], "Shared, renamed", "{m}");
        o["registrations"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        (
                            r["partner"]["name"].as_str().unwrap_or("").to_string(),
                            r["privateNotes"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut vendor = claims(&got[0]);
    vendor.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        vendor,
        vec![
            ("Alpha".to_string(), json!(format!("Notes of {}", a.id))),
            ("Bravo".to_string(), json!(format!("Notes of {}", b.id))),
        ]
    );
    assert_eq!(
        claims(&got[2]),
        vec![("Alpha".to_string(), json!(format!("Notes of {}", a.id)))],
        "a partner sees its own claim on the deal, not the other's"
    );
    assert_eq!(
        claims(&got[6]),
        vec![("Bravo".to_string(), json!(format!("Notes of {}", b.id)))]
    );
    // The app acting for Alpha may read deals but not claims.
    assert!(claims(&got[4]).is_empty(), "{}", got[4]);
    assert!(!got[4].to_string().contains("Notes of"), "{}", got[4]);
    for pair in got.chunks(2) {
        assert_eq!(pair[0], pair[1], "the same view gets the same answer");
    }
    assert!(
        subs[8].silent_for(Duration::from_millis(300)).await.is_ok(),
        "a partner not on the deal hears nothing"
    );
}
