//! Each partner hears only what is its own, over either transport.

use super::*;
use crate::transport::*;

/// Every result `subs` deliver until `marker` has appeared in `times` of them, then whatever
/// else arrives before a pause.
async fn read_until(subs: &mut [Sub], marker: &str, times: usize) -> Vec<Value> {
    let mut got = Vec::new();
    let mut seen = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen < times {
        assert!(
            tokio::time::Instant::now() < until,
            "{marker} heard {seen} of {times} times"
        );
        for sub in subs.iter_mut() {
            while let Some(m) = sub.next_within(Duration::from_millis(50)).await {
                let Msg::Next(v) = m else {
                    panic!("expected a result, got {m:?}")
                };
                if v.to_string().contains(marker) {
                    seen += 1;
                }
                got.push(v);
            }
        }
    }
    for sub in subs.iter_mut() {
        while let Some(m) = sub.next_within(Duration::from_millis(300)).await {
            let Msg::Next(v) = m else {
                panic!("expected a result, got {m:?}")
            };
            got.push(v);
        }
    }
    got
}

#[tokio::test]
async fn three_partners_subscribed_at_once_hear_only_what_is_theirs() {
    for t in BOTH {
        three_partners_hear_only_what_is_theirs(t).await;
    }
}

/// Three partners, each with a subscription to every stream over `t`, and the vendor with one
/// to all events: a scenario of claims, a conflict and a stage change, and what each heard.
async fn three_partners_hear_only_what_is_theirs(t: Transport) {
    eprintln!("over {t:?}");
    let app = spawn_app().await;
    manual_review(&app).await;
    let (a, b, c) = (
        app.create_partner("Alpha").await,
        app.create_partner("Bravo").await,
        app.create_partner("Charlie").await,
    );
    let mut subs = Vec::new();
    let now = json!({ "after": app.now().await });
    for p in [&a, &b, &c] {
        let mut own = Vec::new();
        for query in [EVENTS, STATUS, CONFLICTS, DEALS] {
            own.push(app.open(t, &partner_token(p), query, now.clone()).await);
        }
        subs.push(own);
    }
    let mut vendor = [app.open(t, &app.vendor, EVENTS, now.clone()).await];

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
    for (i, own) in subs.iter_mut().enumerate() {
        let marker = markers[i]["id"].as_str().unwrap();
        // The marker comes on the events stream and on the status stream.
        let msgs = read_until(own, marker, 2).await;
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
        .map(|m| m["data"]["events"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let text = all.iter().map(|m| m.to_string()).collect::<String>();
    for r in [&ra, &rb, &rb2, &rc] {
        assert!(text.contains(r["id"].as_str().unwrap()));
    }
}
