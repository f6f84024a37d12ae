//! `cosell seed` writes a program that keeps the rules conflict detection relies on, that the
//! API serves like any other, and whose accounts are found by name; and contact networks at
//! the proportions the program's read paths are measured at, which keep the rules the API
//! keeps and which the API reads.

mod network;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;
use crate::registrations::{proposed, submit};

#[tokio::test]
async fn a_seeded_program_keeps_the_rules_and_is_served_like_any_other() {
    let app = spawn_app().await;
    let size = cosell::seed::Size {
        partners: 40,
        accounts: 50,
        opportunities: 500,
        registrations: 3_000,
    };
    let done = cosell::seed::run(&app.db, size).await.unwrap();
    assert_eq!(done.size.registrations, 3_000);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM registrations").await,
        3_000
    );
    // No partner twice on a deal; at most one open claim on an exclusive role.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM (SELECT opportunity_id, partner_id FROM registrations GROUP BY opportunity_id, partner_id HAVING COUNT(*) > 1) x")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM (SELECT opportunity_id FROM registrations WHERE role IN ('RESELLER', 'DISTRIBUTOR') AND status IN ('SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO', 'APPROVED') GROUP BY opportunity_id HAVING COUNT(*) > 1) x")
            .await,
        0
    );
    // A second seed into the same program is refused.
    let again = cosell::seed::run(&app.db, size).await;
    assert!(again.is_err());
    // The API serves it: new rows continue after the seeded ids.
    let d = app
        .ok(&app.vendor, "{ registrations { totalCount } }", json!({}))
        .await;
    assert_eq!(d["registrations"]["totalCount"], 3_000);
    let p = app.create_partner("After the seed").await;
    // A seeded account in a late stage is found by a near-identical name.
    app.db
        .execute_unprepared(
            "UPDATE opportunities SET stage = 'PROPOSAL' WHERE account_id = 7; \
             DELETE FROM registrations WHERE opportunity_id IN (SELECT id FROM opportunities WHERE account_id = 7)",
        )
        .await
        .unwrap();
    let name: String = {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT name FROM accounts WHERE id = 7",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "name").unwrap()
    };
    let mut draft = proposed("someone-new.example", "SERVICES", 1);
    draft["accountName"] = json!(format!("{name}s"));
    let r = submit(&app, &p, draft).await;
    let kinds: Vec<_> = r["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("DIRECT_DEAL_OVERLAP")), "{name}: {r}");
}
