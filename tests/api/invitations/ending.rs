//! How an invitation ends: races between an acceptance, a withdrawal and the expiry sweep, and
//! a closing deal withdrawing its open invitations.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acceptance_racing_a_withdrawal_or_the_expiry_lets_exactly_one_through() {
    let Program {
        app, opportunity, ..
    } = program().await;
    for round in 0..3 {
        let p = app.partner(&format!("Racer {round}")).await;
        let inv = invite(&app, &opportunity, &[&p], None).await[0].clone();
        let (accepted, withdrawn) = tokio::join!(
            app.gql(&p.token, ACCEPT, json!({ "i": answer(&inv) })),
            app.gql(&app.vendor, WITHDRAW, json!({ "i": answer(&inv) })),
        );
        let ok = [&accepted, &withdrawn]
            .iter()
            .filter(|b| b.get("errors").is_none())
            .count();
        assert_eq!(ok, 1, "{accepted} / {withdrawn}");
        let loser = if accepted.get("errors").is_some() {
            &accepted
        } else {
            &withdrawn
        };
        assert!(
            ["VERSION_MISMATCH", "CONFLICT", "WRITE_CONFLICT"].contains(&error_code(loser)),
            "{loser}"
        );
        let pid = crate::registrations::num(&json!(p.id));
        let claims = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM registrations WHERE partner_id = {pid}"
            ))
            .await;
        assert_eq!(
            claims,
            if accepted.get("errors").is_none() {
                1
            } else {
                0
            }
        );
    }

    // Expiry: an invitation past its time cannot be accepted, and the sweep closes it once.
    let p = app.partner("Too Late").await;
    let q = app.partner("Just In Time").await;
    let invs = invite(&app, &opportunity, &[&p, &q], None).await;
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    use sea_orm::ConnectionTrait;
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            if pg {
                "UPDATE invitations SET expires_at = $1"
            } else {
                "UPDATE invitations SET expires_at = ?"
            },
            [past.into()],
        ))
        .await
        .unwrap();
    let late = invs
        .iter()
        .find(|i| i["partner"]["id"] == p.id.as_str())
        .unwrap();
    let body = app
        .gql(&p.token, ACCEPT, json!({ "i": answer(late) }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert!(body.to_string().contains("expired"), "{body}");
    let (a, b) = tokio::join!(
        cosell::db::invitations::expire_due(&app.db),
        cosell::db::invitations::expire_due(&app.db)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 2, "each expired once");
    cosell::db::events::relay(&app.db).await.unwrap();
    let mine = app.ok(&q.token, LIST, json!({})).await;
    assert_eq!(mine["invitations"]["nodes"][0]["status"], "EXPIRED");
    let expired_events = app
        .scalar("SELECT COUNT(*) FROM events WHERE topic = 'invitation.expired'")
        .await;
    assert_eq!(expired_events, 2);
    // Withdrawn and expired invitations show in "expiring soon" no more.
    let soon = app
        .ok(
            &app.vendor,
            LIST,
            json!({ "f": { "expiringBefore": "2100-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(soon["invitations"]["totalCount"], 0, "{soon}");
}

#[tokio::test]
async fn closing_a_deal_withdraws_its_open_invitations_and_a_lapsed_one_cannot_be_withdrawn() {
    let Program {
        app, opportunity, ..
    } = program().await;
    let p = app.partner("Late Joiner").await;
    let q = app.partner("Lapsed").await;
    let invs = invite(&app, &opportunity, &[&p, &q], None).await;
    let of = |m: &Member| {
        invs.iter()
            .find(|i| i["partner"]["id"] == m.id.as_str())
            .unwrap()
            .clone()
    };
    // Q declines first: its answer stands when the deal closes.
    app.ok(
        &q.token,
        DECLINE,
        json!({ "i": { "id": of(&q)["id"], "expectedVersion": 1, "reason": "No capacity" } }),
    )
    .await;
    let before = app.now().await;
    app.ok(
        &app.vendor,
        "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": opportunity, "expectedVersion": 1, "stage": "CLOSED_LOST", "reason": "lost to a competitor" } }),
    )
    .await;
    let status = |m: &Member| {
        let (app, id) = (&app, of(m)["id"].clone());
        async move {
            app.ok(&app.vendor, NODE_STATUS, json!({ "id": id })).await["node"]["status"].clone()
        }
    };
    assert_eq!(status(&p).await, "WITHDRAWN");
    assert_eq!(status(&q).await, "DECLINED");
    // The invited partner hears why, in the same event a withdrawal sends.
    let d = app
        .ok(
            &p.token,
            "query($a: ID) { events(after: $a, first: 20) { topic subjectId payload } }",
            json!({ "a": before }),
        )
        .await;
    let withdrawn: Vec<&Value> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "invitation.withdrawn")
        .collect();
    assert_eq!(withdrawn.len(), 1, "{d}");
    assert_eq!(withdrawn[0]["subjectId"], of(&p)["id"]);
    assert_eq!(
        withdrawn[0]["payload"]["reason"],
        "the deal closed (CLOSED_LOST)"
    );
    // Accepting the withdrawn invitation (at its new version) is refused; nothing is made.
    let body = app
        .gql(
            &p.token,
            ACCEPT,
            json!({ "i": { "id": of(&p)["id"], "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let pid = crate::registrations::num(&json!(p.id));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM registrations WHERE partner_id = {pid}"
        ))
        .await,
        0
    );
    // An invitation whose time ran out (to a deal still open) is expired by the sweep, not
    // withdrawn.
    let account = app.create_account("Initech", "initech.example").await;
    let open = app
        .create_opportunity(&account, json!({ "name": "Initech rollout" }))
        .await;
    let lapsed = invite(&app, open["id"].as_str().unwrap(), &[&q], None).await[0].clone();
    use sea_orm::ConnectionTrait;
    let qid = crate::registrations::num(&lapsed["id"]);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            if pg {
                "UPDATE invitations SET expires_at = $1 WHERE id = $2"
            } else {
                "UPDATE invitations SET expires_at = ? WHERE id = ?"
            },
            [past.into(), qid.into()],
        ))
        .await
        .unwrap();
    let body = app
        .gql(&app.vendor, WITHDRAW, json!({ "i": answer(&lapsed) }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
}
