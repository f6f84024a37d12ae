//! The seeded contact networks and stage history: in proportion to the accounts, keeping the
//! rules the API keeps (an org chart without cycles, a partner's engagements only with contacts
//! it sees at accounts of deals it is on, nothing in the future, history that ends where each
//! deal stands), with the threading scores a fresh computation gives, and read by the API.

use std::collections::HashMap;

use cosell::ids::{self, Kind};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::*;

const SIZE: cosell::seed::Size = cosell::seed::Size {
    partners: 40,
    accounts: 100,
    opportunities: 1_000,
    registrations: 5_000,
};

/// `SEES_DEAL` as an SQL list: the claims that put a partner on a deal.
fn on_deal() -> String {
    cosell::db::registrations::SEES_DEAL
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn seeded_networks_are_in_proportion_keep_the_rules_and_are_served() {
    let app = spawn_app().await;
    let done = cosell::seed::run(&app.db, SIZE).await.unwrap();
    proportions(&app, &done).await;
    rules(&app).await;
    history(&app).await;
    scores_agree(&app).await;
    served(&app).await;
}

async fn proportions(app: &TestApp, done: &cosell::seed::Seeded) {
    let n = done.network;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts").await,
        n.contacts as i64
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contact_links").await,
        n.contact_links as i64
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM engagements").await,
        n.engagements as i64
    );
    let per_account = |v: u64| v as f64 / SIZE.accounts as f64;
    assert!((13.0..=17.0).contains(&per_account(n.contacts)), "{n:?}");
    assert!((5.5..=8.5).contains(&per_account(n.contact_links)), "{n:?}");
    assert!((4.0..=6.0).contains(&per_account(n.engagements)), "{n:?}");
    // Every account has a network; every deal a history.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.account_id = a.id)").await,
        0
    );
    let changes = app
        .scalar("SELECT COUNT(*) FROM opportunity_stage_changes")
        .await;
    assert_eq!(changes, done.stage_changes as i64);
    assert!((2.5..=4.5).contains(&(changes as f64 / SIZE.opportunities as f64)));
    // Mostly active, some gone; every level, department and key buying role; some sourced
    // by partners; some shared.
    let count = |sql: String| async move { app.scalar(&sql).await };
    let contacts = n.contacts as i64;
    let active = count("SELECT COUNT(*) FROM contacts WHERE status = 'ACTIVE'".into()).await;
    assert!(
        active * 100 > contacts * 75 && active < contacts,
        "{active} of {contacts}"
    );
    for status in ["LEFT_COMPANY", "ROLE_CHANGED", "UNRESPONSIVE"] {
        let c = count(format!(
            "SELECT COUNT(*) FROM contacts WHERE status = '{status}'"
        ))
        .await;
        assert!(c > 0, "{status}");
    }
    for role in [
        "ECONOMIC_BUYER",
        "EXECUTIVE_SPONSOR",
        "CHAMPION",
        "DECISION_MAKER",
        "TECHNICAL_EVALUATOR",
        "END_USER",
    ] {
        let c = count(format!(
            "SELECT COUNT(*) FROM contacts WHERE buying_role = '{role}'"
        ))
        .await;
        assert!(c > 0, "{role}");
    }
    assert!(count("SELECT COUNT(*) FROM contacts WHERE buying_role IS NULL".into()).await > 0);
    assert_eq!(
        count("SELECT COUNT(DISTINCT department) FROM contacts".into()).await,
        8
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT seniority) FROM contacts".into()).await,
        5
    );
    let by_partner =
        count("SELECT COUNT(*) FROM contacts WHERE sourced_by_partner_id IS NOT NULL".into()).await;
    assert!(by_partner * 100 > contacts * 25 && by_partner * 100 < contacts * 55);
    let shared = count("SELECT COUNT(*) FROM contacts WHERE shared".into()).await;
    assert!(shared > 0 && shared < contacts);
    let by_partners =
        count("SELECT COUNT(*) FROM engagements WHERE partner_id IS NOT NULL".into()).await;
    assert!(by_partners > 0 && by_partners < n.engagements as i64);
    let on_deal =
        count("SELECT COUNT(*) FROM engagements WHERE opportunity_id IS NOT NULL".into()).await;
    assert!(on_deal > 0 && on_deal < n.engagements as i64);
    let sentiments = count("SELECT COUNT(DISTINCT sentiment) FROM engagements".into()).await;
    assert_eq!(sentiments, 3);
    let parties = count("SELECT COUNT(DISTINCT partner_id) FROM engagements".into()).await;
    assert!(parties > 5, "{parties} partners engaged");
}

async fn rules(app: &TestApp) {
    let zero = |what: &'static str, sql: String| async move {
        assert_eq!(app.scalar(&sql).await, 0, "{what}");
    };
    // Emails: unique, and the key is the lower-cased address, as the API computes it.
    zero(
        "duplicate email",
        "SELECT COUNT(*) - COUNT(DISTINCT email_key) FROM contacts".into(),
    )
    .await;
    zero(
        "email key",
        "SELECT COUNT(*) FROM contacts WHERE email_key <> LOWER(email)".into(),
    )
    .await;
    // The org chart: at most one manager each, at the same account, and no cycle.
    zero(
        "two managers",
        "SELECT COUNT(*) FROM (SELECT from_contact_id FROM contact_links WHERE kind = 'REPORTS_TO' GROUP BY from_contact_id HAVING COUNT(*) > 1) x".into(),
    )
    .await;
    zero(
        "link across accounts",
        "SELECT COUNT(*) FROM contact_links l JOIN contacts f ON f.id = l.from_contact_id JOIN contacts t ON t.id = l.to_contact_id \
         WHERE f.account_id <> l.account_id OR t.account_id <> l.account_id OR f.id = t.id".into(),
    )
    .await;
    zero(
        "REPORTS_TO cycle",
        "WITH RECURSIVE walk(start, node, depth) AS ( \
           SELECT from_contact_id, to_contact_id, 1 FROM contact_links WHERE kind = 'REPORTS_TO' \
           UNION ALL \
           SELECT w.start, l.to_contact_id, w.depth + 1 FROM walk w \
           JOIN contact_links l ON l.from_contact_id = w.node AND l.kind = 'REPORTS_TO' \
           WHERE w.depth < 64) \
         SELECT COUNT(*) FROM walk WHERE start = node"
            .into(),
    )
    .await;
    let on_deal = on_deal();
    // Partners source contacts only at accounts of deals they are on.
    zero(
        "partner's contact off its deals",
        format!(
            "SELECT COUNT(*) FROM contacts c WHERE c.sourced_by_partner_id IS NOT NULL AND NOT EXISTS ( \
               SELECT 1 FROM registrations r JOIN opportunities o ON o.id = r.opportunity_id \
               WHERE o.account_id = c.account_id AND r.partner_id = c.sourced_by_partner_id AND r.status IN ({on_deal}))"
        ),
    )
    .await;
    zero(
        "successor elsewhere",
        "SELECT COUNT(*) FROM contacts c JOIN contacts s ON s.id = c.successor_id \
         WHERE s.account_id <> c.account_id OR s.id = c.id OR c.status NOT IN ('LEFT_COMPANY', 'ROLE_CHANGED')".into(),
    )
    .await;
    // Engagements: with a contact at their account, by a partner on a deal there that sees
    // the contact, on a deal at the account (that the partner is on).
    zero(
        "engagement's contact elsewhere",
        "SELECT COUNT(*) FROM engagements e JOIN contacts c ON c.id = e.contact_id WHERE c.account_id <> e.account_id".into(),
    )
    .await;
    zero(
        "engagement by a partner off the account's deals",
        format!(
            "SELECT COUNT(*) FROM engagements e WHERE e.partner_id IS NOT NULL AND NOT EXISTS ( \
               SELECT 1 FROM registrations r JOIN opportunities o ON o.id = r.opportunity_id \
               WHERE o.account_id = e.account_id AND r.partner_id = e.partner_id AND r.status IN ({on_deal}))"
        ),
    )
    .await;
    zero(
        "engagement with a contact the partner cannot see",
        "SELECT COUNT(*) FROM engagements e JOIN contacts c ON c.id = e.contact_id \
         WHERE e.partner_id IS NOT NULL AND NOT c.shared AND (c.sourced_by_partner_id IS NULL OR c.sourced_by_partner_id <> e.partner_id)".into(),
    )
    .await;
    zero(
        "engagement on a deal elsewhere",
        "SELECT COUNT(*) FROM engagements e JOIN opportunities o ON o.id = e.opportunity_id WHERE o.account_id <> e.account_id".into(),
    )
    .await;
    zero(
        "engagement on a deal the partner is not on",
        format!(
            "SELECT COUNT(*) FROM engagements e WHERE e.partner_id IS NOT NULL AND e.opportunity_id IS NOT NULL AND NOT EXISTS ( \
               SELECT 1 FROM registrations r WHERE r.opportunity_id = e.opportunity_id AND r.partner_id = e.partner_id AND r.status IN ({on_deal}))"
        ),
    )
    .await;
    // Nothing in the future; spread over the last 180 days.
    let today = chrono::Utc::now().date_naive();
    let dated = |f| async move {
        entity::engagement::Entity::find()
            .filter(f)
            .count(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(
        dated(entity::engagement::Column::OccurredOn.gt(today)).await,
        0
    );
    let since = today - chrono::Duration::days(180);
    assert_eq!(
        dated(entity::engagement::Column::OccurredOn.lt(since)).await,
        0
    );
    let recent =
        dated(entity::engagement::Column::OccurredOn.gte(today - chrono::Duration::days(30))).await;
    let old =
        dated(entity::engagement::Column::OccurredOn.lt(today - chrono::Duration::days(120))).await;
    assert!(
        recent > 0 && old > 0,
        "{recent} in the last 30 days, {old} before 120"
    );
}

/// Each deal's history runs from its creation (no `from`) through connected moves to its
/// stage, one version per move, its last move its last update (and close).
async fn history(app: &TestApp) {
    use entity::opportunity_stage_change as change;
    let rows = change::Entity::find()
        .order_by_asc(change::Column::OpportunityId)
        .order_by_asc(change::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let mut by_deal: HashMap<i64, Vec<change::Model>> = HashMap::new();
    for r in rows {
        by_deal.entry(r.opportunity_id).or_default().push(r);
    }
    let deals = entity::opportunity::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(by_deal.len(), deals.len());
    for o in deals {
        let h = &by_deal[&o.id];
        assert_eq!(h[0].from_stage, None, "{}", o.id);
        assert_eq!(h[0].changed_at, o.created_at);
        for w in h.windows(2) {
            assert_eq!(w[1].from_stage, Some(w[0].to_stage), "{}", o.id);
            assert!(w[1].changed_at > w[0].changed_at, "{}", o.id);
        }
        let last = h.last().unwrap();
        assert_eq!(last.to_stage, o.stage, "{}", o.id);
        assert_eq!(last.changed_at, o.updated_at);
        assert_eq!(o.version as usize, h.len());
        assert_eq!(o.closed_at, o.stage.is_closed().then_some(last.changed_at));
        assert!(last.changed_at <= chrono::Utc::now());
    }
}

/// Every deal's kept assessment holds today and is a fresh computation's, and the API reads it.
async fn scores_agree(app: &TestApp) {
    use cosell::db::contacts::network::{self, kept, ThreadingWindow};
    let window = ThreadingWindow(90);
    let today = chrono::Utc::now().date_naive();
    let rows = entity::threading_assessment::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let deals = app.scalar("SELECT COUNT(*) FROM opportunities").await;
    assert_eq!(rows.len() as i64, deals, "a kept assessment per deal");
    let ids: Vec<i64> = rows.iter().map(|r| r.opportunity_id).collect();
    let fresh = network::assess_opportunities(
        &app.db,
        &cosell::auth::Principal::system("test"),
        &ids,
        window,
    )
    .await
    .unwrap();
    for r in &rows {
        assert!(kept::holds(r, today, window), "{r:?}");
        assert_eq!(kept::summary_of(r), fresh[&r.opportunity_id].summary(today));
    }
    let stored: HashMap<i64, i32> = rows
        .iter()
        .filter(|r| r.is_open)
        .map(|r| (r.opportunity_id, r.score))
        .collect();
    let open = app
        .scalar(
            "SELECT COUNT(*) FROM opportunities WHERE stage NOT IN ('CLOSED_WON', 'CLOSED_LOST')",
        )
        .await;
    assert_eq!(stored.len() as i64, open);
    let q = "query($after: String) { opportunities(first: 100, after: $after, filter: { stageIn: [PROSPECTING, QUALIFICATION, SOLUTION, PROPOSAL, NEGOTIATION] }) \
             { pageInfo { hasNextPage endCursor } nodes { id threading { score } } } }";
    let (mut after, mut compared, mut at_risk) = (json!(null), 0i64, 0i64);
    loop {
        let d = app.ok(&app.vendor, q, json!({ "after": after })).await;
        for n in d["opportunities"]["nodes"].as_array().unwrap() {
            let id = ids::decode_as(n["id"].as_str().unwrap(), Kind::Opportunity).unwrap();
            let score = n["threading"]["score"].as_i64().unwrap();
            assert_eq!(stored[&id] as i64, score, "deal {id}");
            compared += 1;
            at_risk += i64::from(score < 50);
        }
        let page = &d["opportunities"]["pageInfo"];
        if page["hasNextPage"] != json!(true) {
            break;
        }
        after = page["endCursor"].clone();
    }
    assert_eq!(compared, open);
    // Only a minority of deals are well threaded.
    assert!(at_risk * 2 > compared, "{at_risk} of {compared} at risk");
}

/// The read paths answer on seeded data: the relationship map and a deal's threading for the
/// vendor and for a partner on the account's deals, the risk report, and name search.
async fn served(app: &TestApp) {
    let account = 7;
    let claim = app
        .scalar(&format!(
            "SELECT MIN(r.id) FROM registrations r JOIN opportunities o ON o.id = r.opportunity_id \
             WHERE o.account_id = {account} AND r.status IN ({}) \
             AND o.stage NOT IN ('CLOSED_WON', 'CLOSED_LOST')",
            on_deal()
        ))
        .await;
    let partner = app
        .scalar(&format!(
            "SELECT partner_id FROM registrations WHERE id = {claim}"
        ))
        .await;
    let deal = app
        .scalar(&format!(
            "SELECT opportunity_id FROM registrations WHERE id = {claim}"
        ))
        .await;
    let p = partner_token(&ids::encode(Kind::Partner, partner));
    let map = "query($id: ID!) { relationshipMap(accountId: $id) { hiddenContacts \
               nodes { influence knownBy contact { id shared sourcedBy } } links { kind } } }";
    let vars = json!({ "id": ids::encode(Kind::Account, account) });
    let v = app.ok(&app.vendor, map, vars.clone()).await["relationshipMap"].clone();
    let contacts = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM contacts WHERE account_id = {account}"
        ))
        .await;
    let links = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM contact_links WHERE account_id = {account}"
        ))
        .await;
    assert_eq!(v["nodes"].as_array().unwrap().len() as i64, contacts);
    assert_eq!(v["links"].as_array().unwrap().len() as i64, links);
    assert_eq!(v["hiddenContacts"], 0);
    let m = app.ok(&p, map, vars).await["relationshipMap"].clone();
    let seen = m["nodes"].as_array().unwrap();
    assert_eq!(
        seen.len() as i64 + m["hiddenContacts"].as_i64().unwrap(),
        contacts
    );
    for n in seen {
        let c = &n["contact"];
        assert!(
            c["shared"] == json!(true) || c["sourcedBy"] == json!("YOU"),
            "{n}"
        );
    }
    let threading = "query($id: ID!) { opportunity(id: $id) { threading { score atRisk engagedContacts risks { kind } parties { party } } } }";
    let vars = json!({ "id": ids::encode(Kind::Opportunity, deal) });
    let tv = app.ok(&app.vendor, threading, vars.clone()).await;
    let tp = app.ok(&p, threading, vars).await;
    // The score counts every party's contacts, whoever asks.
    assert_eq!(
        tv["opportunity"]["threading"]["score"],
        tp["opportunity"]["threading"]["score"]
    );
    let report = app
        .ok(&app.vendor, "{ riskReport(first: 10) { opportunity { name amount { amount } } threading { score } } }", json!({}))
        .await;
    let lines = report["riskReport"].as_array().unwrap();
    assert_eq!(lines.len(), 10);
    assert!(lines
        .iter()
        .all(|l| l["threading"]["score"].as_i64().unwrap() < 50));
    let left = app
        .ok(
            &app.vendor,
            "{ riskReport(first: 100, risk: CHAMPION_LEFT) { threading { risks { kind } } } }",
            json!({}),
        )
        .await;
    let left = left["riskReport"].as_array().unwrap();
    assert!(!left.is_empty(), "some deals lost their champion");
    for l in left {
        assert!(l["threading"]["risks"]
            .as_array()
            .unwrap()
            .contains(&json!({ "kind": "CHAMPION_LEFT" })));
    }
    let mine = app
        .ok(
            &p,
            "{ riskReport(first: 50) { opportunity { id } } }",
            json!({}),
        )
        .await;
    assert!(!mine["riskReport"].as_array().unwrap().is_empty());
    // One deal in twelve is about analytics.
    let found = app
        .ok(&app.vendor, "{ opportunities(first: 20, filter: { nameContains: \"analytics\" }) { totalCount nodes { name } } }", json!({}))
        .await;
    let total = found["opportunities"]["totalCount"].as_i64().unwrap();
    assert!(
        (40..=130).contains(&total),
        "{total} analytics deals of 1,000"
    );
    for n in found["opportunities"]["nodes"].as_array().unwrap() {
        assert!(n["name"].as_str().unwrap().contains("Analytics"), "{n}");
    }
}
