//! Kept threading assessments: after every change that moves one, the kept row holds today and
//! equals a fresh computation; a read of a row that does not hold answers as a fresh
//! computation would; the sweep brings rows up to date and tells each drop once.

use std::collections::HashMap;

use chrono::Utc;
use cosell::auth::Principal;
use cosell::db::contacts::network::{self, kept, ThreadingWindow};
use cosell::ids::{decode_as, Kind};
use entity::{opportunity, threading_assessment};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::*;

const WINDOW: ThreadingWindow = ThreadingWindow(90);

fn num(id: &str, kind: Kind) -> i64 {
    decode_as(id, kind).unwrap()
}

/// Every deal at `account` has a kept row that holds today and says what a fresh computation
/// says; its stage and amount are the deal's.
async fn agree(app: &TestApp, account: &str, step: &str) {
    let account = num(account, Kind::Account);
    let opps = opportunity::Entity::find()
        .filter(opportunity::Column::AccountId.eq(account))
        .all(&app.db)
        .await
        .unwrap();
    let rows: HashMap<i64, threading_assessment::Model> = threading_assessment::Entity::find()
        .filter(threading_assessment::Column::AccountId.eq(account))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.opportunity_id, r))
        .collect();
    let ids: Vec<i64> = opps.iter().map(|o| o.id).collect();
    let fresh = network::assess_opportunities(&app.db, &Principal::system("test"), &ids, WINDOW)
        .await
        .unwrap();
    let today = Utc::now().date_naive();
    assert_eq!(rows.len(), opps.len(), "{step}: a row per deal");
    for o in &opps {
        let row = &rows[&o.id];
        assert!(
            kept::holds(row, today, WINDOW),
            "{step}: the row holds today: {row:?}"
        );
        assert_eq!(
            kept::summary_of(row),
            fresh[&o.id].summary(today),
            "{step}: the kept assessment of deal {} is the fresh one",
            o.id
        );
        assert_eq!(
            (row.stage, row.is_open, row.amount_minor),
            (o.stage, !o.stage.is_closed(), o.amount_minor),
            "{step}: the row follows the deal"
        );
    }
}

/// Runs the sweep until nothing is due.
async fn sweep(app: &TestApp) {
    while kept::assess_due(&app.db, WINDOW).await.unwrap() > 0 {}
}

/// What the API answers for a deal's threading: (score, kinds of risk).
async fn read(app: &TestApp, token: &str, opp: &str) -> (i64, Vec<String>) {
    let of = |t: &Value| -> (i64, Vec<String>) {
        let kinds = t["risks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect();
        (t["score"].as_i64().unwrap(), kinds)
    };
    let d = app
        .ok(
            token,
            "query($id: ID!) { opportunity(id: $id) { threading { score risks { kind } } } }",
            json!({ "id": opp }),
        )
        .await;
    let one = of(&d["opportunity"]["threading"]);
    // A page reads the kept rows in its own statement: it answers the same.
    let d = app
        .ok(
            token,
            "{ opportunities(first: 100) { nodes { id threading { score risks { kind } } } } }",
            json!({}),
        )
        .await;
    let node = d["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == opp)
        .expect("the deal is on the caller's first page");
    assert_eq!(of(&node["threading"]), one, "the page and the deal agree");
    one
}

/// A fresh computation of deal `opp`: (score, kinds of risk), as the API names them.
async fn fresh(app: &TestApp, opp: &str) -> (i64, Vec<String>) {
    let id = num(opp, Kind::Opportunity);
    let a = network::assess_opportunities(&app.db, &Principal::system("test"), &[id], WINDOW)
        .await
        .unwrap()
        .remove(&id)
        .unwrap();
    let kinds = a
        .risks
        .iter()
        .map(|r| r.kind.api_name().to_string())
        .collect();
    (i64::from(a.score), kinds)
}

#[tokio::test]
async fn every_change_keeps_the_assessment_equal_to_a_fresh_one() {
    let app = spawn_app().await;
    let reseller = app.create_partner("Reseller").await;
    let other = app.create_partner("Other").await;
    let (acct, opp) = partner_on_deal(&app, &reseller, "kept.example").await;
    let t = partner_token(&reseller);
    // A deal made by an approval is assessed by the first read or the sweep.
    assert_eq!(
        read(&app, &t, &opp).await,
        fresh(&app, &opp).await,
        "before the sweep"
    );
    sweep(&app).await;
    agree(&app, &acct, "a new deal, swept").await;
    join_deal(&app, &other, &opp).await;
    agree(&app, &acct, "a second partner joined").await;

    let ian = contact(
        &app,
        &t,
        &acct,
        person("Ian", "ian@kept.example", "IT", Some("CHAMPION")),
    )
    .await;
    agree(&app, &acct, "a contact created").await;
    engage(&app, &t, &ian, 5, "met Ian").await;
    agree(&app, &acct, "an engagement").await;

    let second = app
        .create_opportunity(&acct, json!({ "amount": 7000000 }))
        .await;
    let second = second["id"].as_str().unwrap().to_string();
    sweep(&app).await;
    agree(&app, &acct, "a second deal").await;
    let on = (Utc::now() - chrono::Duration::days(20))
        .date_naive()
        .to_string();
    app.ok(&app.vendor, ENGAGE, json!({ "i": { "contactId": ian, "opportunityId": second, "kind": "CALL", "occurredOn": on, "sentiment": "NEGATIVE" } })).await;
    agree(&app, &acct, "an engagement on one deal").await;

    let d = app
        .ok(&t, "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { version } } }",
            json!({ "i": { "id": ian, "expectedVersion": 1, "contact": person("Ian", "ian@kept.example", "Operations", Some("ECONOMIC_BUYER")) } }))
        .await;
    assert_eq!(d["updateContact"]["contact"]["version"], 2);
    agree(&app, &acct, "a contact's department and role changed").await;

    let results = upsert(
        &app,
        &app.vendor,
        &acct,
        json!([
            person(
                "Eve",
                "eve@kept.example",
                "Executive",
                Some("EXECUTIVE_SPONSOR")
            ),
            person("Carla", "carla@kept.example", "Finance", Some("CHAMPION")),
            // The vendor's own record of a person the partner also keeps: one person.
            person(
                "Ian Vendor",
                "IAN@kept.example",
                "IT",
                Some("TECHNICAL_EVALUATOR")
            ),
        ]),
        false,
    )
    .await;
    agree(&app, &acct, "contacts upserted").await;
    let eve = results[0]["contactId"].as_str().unwrap().to_string();
    let carla = results[1]["contactId"].as_str().unwrap().to_string();
    engage(&app, &app.vendor, &eve, 1, "exec meeting").await;
    engage(&app, &app.vendor, &carla, 40, "old meeting").await;
    agree(&app, &acct, "the vendor's engagements").await;

    app.ok(
        &app.vendor,
        MARK,
        json!({ "i": { "id": carla, "expectedVersion": 1, "status": "LEFT_COMPANY" } }),
    )
    .await;
    agree(&app, &acct, "the champion left").await;
    app.ok(
        &app.vendor,
        LINK,
        json!({ "i": { "fromContactId": eve, "toContactId": carla, "kind": "WORKS_WITH" } }),
    )
    .await;
    agree(&app, &acct, "a link").await;

    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { version } }",
            json!({ "id": second }),
        )
        .await;
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version } } }",
        json!({ "i": { "id": second, "expectedVersion": d["opportunity"]["version"], "amount": 123 } }))
        .await;
    agree(&app, &acct, "an amount changed").await;
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { version } }",
            json!({ "id": opp }),
        )
        .await;
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": opp, "expectedVersion": d["opportunity"]["version"], "stage": "CLOSED_LOST", "reason": "lost" } }))
        .await;
    agree(&app, &acct, "a deal closed").await;
    for (who, deal) in [(&t, &opp), (&app.vendor, &second)] {
        assert_eq!(read(&app, who, deal).await, fresh(&app, deal).await);
    }
}

#[tokio::test]
async fn a_row_that_no_longer_holds_is_read_fresh_and_swept_once_with_one_event() {
    let app = spawn_app().await;
    let reseller = app.create_partner("Reseller").await;
    let (acct, opp) = partner_on_deal(&app, &reseller, "stale.example").await;
    let t = partner_token(&reseller);
    let ian = contact(
        &app,
        &t,
        &acct,
        person("Ian", "ian@stale.example", "IT", Some("CHAMPION")),
    )
    .await;
    engage(&app, &t, &ian, 5, "met Ian").await;
    sweep(&app).await;
    agree(&app, &acct, "before").await;
    let (score, kinds) = fresh(&app, &opp).await;
    assert!(score < 50, "a single-threaded deal: {score}");
    // The row as it would stand had it been made a while ago, when the deal looked healthy,
    // and the calendar moved past its day since.
    let id = num(&opp, Kind::Opportunity);
    let yesterday = (Utc::now() - chrono::Duration::days(1)).date_naive();
    let today = Utc::now().date_naive();
    threading_assessment::Entity::update_many()
        .col_expr(
            threading_assessment::Column::Score,
            sea_orm::sea_query::Expr::value(90),
        )
        .col_expr(
            threading_assessment::Column::Risks,
            sea_orm::sea_query::Expr::value(0),
        )
        .col_expr(
            threading_assessment::Column::AssessedOn,
            sea_orm::sea_query::Expr::value(yesterday),
        )
        .col_expr(
            threading_assessment::Column::ValidUntil,
            sea_orm::sea_query::Expr::value(today),
        )
        .filter(threading_assessment::Column::OpportunityId.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    // Reads answer as a fresh computation does.
    assert_eq!(read(&app, &t, &opp).await, (score, kinds.clone()));
    let d = app
        .ok(
            &app.vendor,
            "{ riskReport(first: 10) { opportunity { id } threading { score risks { kind } } } }",
            json!({}),
        )
        .await;
    let line = d["riskReport"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["opportunity"]["id"] == opp.as_str())
        .expect("the deal is on the report");
    assert_eq!(line["threading"]["score"].as_i64(), Some(score));
    let d = app
        .ok(
            &app.vendor,
            "{ riskReport(first: 10, risk: SINGLE_THREADED) { opportunity { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["riskReport"][0]["opportunity"]["id"], opp.as_str());
    // Two instances sweep at once: the row is made again, and the drop is told once.
    let raised = "SELECT COUNT(*) FROM events WHERE topic = 'threading.risk_raised'";
    let before = app.scalar(raised).await;
    let (a, b) = tokio::join!(
        kept::assess_due(&app.db, WINDOW),
        kept::assess_due(&app.db, WINDOW)
    );
    assert!(a.unwrap() + b.unwrap() >= 1);
    sweep(&app).await;
    cosell::db::events::relay(&app.db).await.unwrap();
    assert_eq!(
        app.scalar(raised).await,
        before + 1,
        "one event for one drop"
    );
    agree(&app, &acct, "after the sweep").await;
}

#[tokio::test]
async fn a_page_of_deals_reads_its_assessments_in_its_own_statement() {
    let app = spawn_app().await;
    let reseller = app.create_partner("Reseller").await;
    let t = partner_token(&reseller);
    for i in 0..6 {
        let (acct, _) = partner_on_deal(&app, &reseller, &format!("page{i}.example")).await;
        let c = contact(
            &app,
            &t,
            &acct,
            person(
                "Ann",
                &format!("ann@page{i}.example"),
                "IT",
                Some("CHAMPION"),
            ),
        )
        .await;
        engage(&app, &t, &c, 3, "met").await;
    }
    sweep(&app).await;
    let plain = "{ opportunities(first: 50) { nodes { id name } } }";
    let threaded = "{ opportunities(first: 50) { nodes { id name threading { score atRisk risks { kind } } } } }";
    let (without, _) = app.count_statements(app.ok(&t, plain, json!({}))).await;
    let (with, d) = app.count_statements(app.ok(&t, threaded, json!({}))).await;
    assert_eq!(d["opportunities"]["nodes"].as_array().unwrap().len(), 6);
    assert_eq!(
        with, without,
        "the page's assessments are read in the page's statement"
    );
    // Evidence is computed for the page in a fixed number of statements too.
    let detailed = "{ opportunities(first: 50) { nodes { id threading { departments risks { kind evidence } } } } }";
    let (n, _) = app.count_statements(app.ok(&t, detailed, json!({}))).await;
    assert!(n <= without + 4, "{n} statements");
}
