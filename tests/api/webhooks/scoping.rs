//! Each endpoint receives exactly what its view's `events` query shows.

use super::*;

#[tokio::test]
async fn each_partner_receives_exactly_what_its_events_query_shows() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let (a, b, c) = (
        app.partner("Acme").await,
        app.partner("Bolt").await,
        app.partner("Crux").await,
    );
    let (ra, rb, rc) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let start = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    // A and B register their own; the vendor registers one for C, in C's view.
    register(&app, &a.token, json!({ "url": ra.url })).await;
    register(&app, &b.token, json!({ "url": rb.url })).await;
    let (ep_c, _) = register(
        &app,
        &app.vendor,
        json!({ "url": rc.url, "partnerId": c.id }),
    )
    .await;
    assert_eq!(ep_c["view"], "PARTNER");
    // Claims on their own deals, and all three on one shared customer.
    for (m, d) in [
        (&a, "acme-only.example"),
        (&b, "bolt-only.example"),
        (&c, "crux-only.example"),
    ] {
        submit(&app, &m.token, d).await;
    }
    let shared = app
        .approved_deal("shared.example", &[(&a, "RESELLER"), (&b, "SERVICES")])
        .await;
    submit(&app, &c.token, "shared.example").await;
    app.ok(
        &app.vendor,
        "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": shared.opportunity, "expectedVersion": shared.claims.last().unwrap()["opportunity"]["version"], "stage": "QUALIFICATION", "reason": "vendor-internal reason" } }),
    )
    .await;
    // A referral of A and B: each hears of its own invitation only, C of none.
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id partner { id } } } }",
            json!({ "i": { "lead": { "accountDomain": "referred.example", "accountName": "Referred", "dealName": "Referred deal" },
                "partnerIds": [a.id, b.id], "role": "INFLUENCER" } }),
        )
        .await;
    let invitations: Vec<(String, String)> = d["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["partner"]["id"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let last = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    for (m, rx, name) in [(&a, &ra, "A"), (&b, &rb, "B"), (&c, &rc, "C")] {
        // What this partner's own `events` query shows from the start...
        let mut want = Vec::new();
        let mut after = start.to_string();
        loop {
            let page = app
                .ok(
                    &m.token,
                    "query($a: ID) { events(after: $a, first: 100) { cursor topic } }",
                    json!({ "a": after }),
                )
                .await;
            let evs = page["events"].as_array().unwrap().clone();
            for e in &evs {
                let cur: i64 = e["cursor"].as_str().unwrap().parse().unwrap();
                if cur <= last {
                    want.push(cur);
                }
            }
            if evs.len() < 100 {
                break;
            }
            after = evs.last().unwrap()["cursor"].as_str().unwrap().to_string();
        }
        assert!(!want.is_empty());
        // ...is exactly what its endpoint received, in the same order.
        let got = rx
            .until(15, &format!("{name}'s events"), |g| {
                g.iter().filter(|d| d.cursor() <= last).count() >= want.len()
            })
            .await;
        let got: Vec<i64> = got
            .iter()
            .map(Delivery::cursor)
            .filter(|c| *c <= last)
            .collect();
        assert_eq!(got, want, "partner {name}");
        let text: String = rx
            .got()
            .iter()
            .map(|d| String::from_utf8_lossy(&d.body).to_string())
            .collect();
        for (other, domain) in [(&a, "acme-only"), (&b, "bolt-only"), (&c, "crux-only")] {
            if other.id != m.id {
                assert!(
                    !text.contains(&format!("secret of {domain}")),
                    "{name} received another partner's notes"
                );
                assert!(
                    !text.contains(domain),
                    "{name} received another partner's claim"
                );
            }
        }
        assert!(
            !text.contains("vendor-internal reason"),
            "{name} received the vendor's reason"
        );
        for (partner, invitation) in &invitations {
            assert_eq!(
                text.contains(invitation.as_str()),
                partner == &m.id,
                "{name} and the invitation of {partner}"
            );
        }
    }
}
