//! The end of a claim: closing its deal turns it won or lost, and a won claim is final.

use sea_orm::ConnectionTrait;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn closing_the_opportunity_turns_approved_claims_won_or_lost() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let mut opps = Vec::new();
    for (domain, stage) in [
        ("won.example.com", "CLOSED_WON"),
        ("lost.example.com", "CLOSED_LOST"),
    ] {
        let a = approve(
            &app,
            &submit(&app, &p, proposed(domain, "SERVICES", 1)).await,
            json!({ "createOpportunity": true }),
        )
        .await;
        let opp = a["opportunity"]["id"].clone();
        // A second partner's open (not approved) claim on the same deal stays as it is.
        let open = submit(&app, &q, proposed(domain, "INFLUENCER", 1)).await;
        assert_eq!(open["status"], "SUBMITTED");
        let d = app
            .ok(
                &app.vendor,
                MOVE,
                json!({ "i": { "id": opp, "expectedVersion": 1, "stage": stage } }),
            )
            .await;
        assert_eq!(d["moveOpportunityStage"]["opportunity"]["stage"], stage);
        opps.push((a, open, stage));
    }
    for (a, open, stage) in opps {
        let d = app
            .ok(&app.vendor, "query($a: ID!, $b: ID!) { a: registration(id: $a) { status protectionExpiresAt opportunity { rolesFilled } } b: registration(id: $b) { status } }",
                json!({ "a": a["id"], "b": open["id"] }))
            .await;
        let want = if stage == "CLOSED_WON" { "WON" } else { "LOST" };
        assert_eq!(d["a"]["status"], want);
        assert_eq!(d["b"]["status"], "SUBMITTED");
        let h = history(&app, &a["id"]).await;
        assert_eq!(h.last().unwrap().1, want);
        assert_eq!(h.last().unwrap().0, "APPROVED");
        let filled = if want == "WON" {
            json!(["SERVICES"])
        } else {
            json!([])
        };
        assert_eq!(d["a"]["opportunity"]["rolesFilled"], filled);
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.won'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.lost'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_proposed_deal_needs_a_deal_to_be_approved_and_a_won_claim_is_final() {
    let app = spawn_app().await;
    let p = app.partner("Northwind").await;
    let r = submit(&app, &p.id, proposed("acme.com", "RESELLER", 500_000)).await;
    let body = reg_try(
        &app,
        &app.vendor,
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": r["id"], "expectedVersion": r["version"] }),
    )
    .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a proposed deal needs opportunityId or createOpportunity: {body}"
    );
    let a = approve(&app, &r, json!({ "createOpportunity": true })).await;
    app.ok(
        &app.vendor,
        MOVE,
        json!({ "i": { "id": a["opportunity"]["id"], "expectedVersion": 1, "stage": "CLOSED_WON" } }),
    )
    .await;
    let won = app
        .ok(
            &p.token,
            "query($id: ID!) { registration(id: $id) { status version } }",
            json!({ "id": r["id"] }),
        )
        .await["registration"]
        .clone();
    assert_eq!(won["status"], "WON");
    let body = reg_try(
        &app,
        &p.token,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": r["id"], "expectedVersion": won["version"] }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WON"),
        "{body}"
    );
    // One event per step the history records, in order; the review an approval starts on its
    // own is part of the approval's event.
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT topic FROM events WHERE topic LIKE 'registration.%' ORDER BY id",
        ))
        .await
        .unwrap();
    let topics: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert_eq!(
        topics,
        [
            "registration.draft",
            "registration.submitted",
            "registration.approved",
            "registration.won"
        ]
    );
}
