//! Contact networks over HTTP: contacts and their scoping with three partners, bulk upsert,
//! links, engagements, threading on hand-built deals, the relationship map and the risk report.

use serde_json::{json, Value};

use crate::helpers::*;

const CREATE: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version sourcedBy shared } } }";
const ENGAGE: &str =
    "mutation($i: RecordEngagementInput!) { recordEngagement(input: $i) { engagement { id party notes } } }";
const MARK: &str = "mutation($i: MarkContactInput!) { markContact(input: $i) { contact { status version successor { name } } } }";
const LINK: &str = "mutation($i: LinkContactsInput!) { linkContacts(input: $i) { link { kind } } }";
const UPSERT: &str = "mutation($i: UpsertContactsInput!) { upsertContacts(input: $i) { results { index outcome contactId errorCode } } }";

fn person(name: &str, email: &str, dept: &str, role: Option<&str>) -> Value {
    json!({ "name": name, "email": email, "department": dept, "buyingRole": role })
}

/// Upserts `contacts` at `acct` as `token`; the result of each item.
async fn upsert(
    app: &TestApp,
    token: &str,
    acct: &str,
    contacts: Value,
    allow_partial: bool,
) -> Vec<Value> {
    let d = app
        .ok(
            token,
            UPSERT,
            json!({ "i": { "accountId": acct, "contacts": contacts, "allowPartial": allow_partial } }),
        )
        .await;
    d["upsertContacts"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn contact(app: &TestApp, token: &str, account: &str, c: Value) -> String {
    let d = app
        .ok(
            token,
            CREATE,
            json!({ "i": { "accountId": account, "contact": c } }),
        )
        .await;
    d["createContact"]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn engage(app: &TestApp, token: &str, contact: &str, days_ago: i64, notes: &str) {
    let on = (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .date_naive()
        .to_string();
    app.ok(token, ENGAGE, json!({ "i": { "contactId": contact, "kind": "MEETING", "occurredOn": on, "sentiment": "POSITIVE", "notes": notes } })).await;
}

/// A partner on a deal at a new account: (account id, opportunity id).
async fn partner_on_deal(app: &TestApp, partner: &str, domain: &str) -> (String, String) {
    let d = app
        .ok(&partner_token(partner), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": domain, "accountName": "Acme", "dealName": "Deal", "role": "SERVICES", "justification": "x", "amount": 1000000, "currency": "USD" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    let d = app
        .ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { opportunity { id account { id } } } } }",
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } }))
        .await;
    let o = &d["approveRegistration"]["registration"]["opportunity"];
    (
        o["account"]["id"].as_str().unwrap().to_string(),
        o["id"].as_str().unwrap().to_string(),
    )
}

async fn join_deal(app: &TestApp, partner: &str, opp: &str) {
    let d = app
        .ok(&partner_token(partner), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": "join.example", "accountName": "Join", "dealName": "Join", "role": "INFLUENCER", "justification": "x" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": opp } }))
        .await;
}

#[tokio::test]
async fn contacts_are_seen_by_their_source_and_when_shared_by_the_deal_parties() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.create_partner("A").await,
        app.create_partner("B").await,
        app.create_partner("C").await,
    );
    let (acct, opp) = partner_on_deal(&app, &a, "acme.com").await;
    join_deal(&app, &b, &opp).await;
    let vendor_contact = contact(
        &app,
        &app.vendor,
        &acct,
        person("Vera", "vera@acme.com", "Finance", Some("ECONOMIC_BUYER")),
    )
    .await;
    let a_contact = contact(
        &app,
        &partner_token(&a),
        &acct,
        person("Ian", "Ian@Acme.com", "IT", Some("CHAMPION")),
    )
    .await;
    let body = app.gql(&app.vendor, CREATE, json!({ "i": { "accountId": acct, "contact": person("Dup", "ian@ACME.com", "IT", None) } })).await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "emails are unique per account, case-insensitively"
    );
    let body = app
        .gql(
            &partner_token(&c),
            CREATE,
            json!({ "i": { "accountId": acct, "contact": person("X", "x@acme.com", "IT", None) } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "C is not on the deal");
    let ids = |d: &Value| -> Vec<String> {
        d["account"]["contacts"]["nodes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let q = "query($id: ID!) { account(id: $id) { contacts { nodes { id sourcedBy } } } }";
    let v = app.ok(&app.vendor, q, json!({ "id": acct })).await;
    assert_eq!(ids(&v).len(), 2);
    let mine = app.ok(&partner_token(&a), q, json!({ "id": acct })).await;
    assert_eq!(
        ids(&mine),
        std::slice::from_ref(&a_contact),
        "A sees what it sourced, not the vendor's unshared contact"
    );
    assert_eq!(mine["account"]["contacts"]["nodes"][0]["sourcedBy"], "YOU");
    let theirs = app.ok(&partner_token(&b), q, json!({ "id": acct })).await;
    assert!(ids(&theirs).is_empty(), "B sees nothing unshared");
    let body = app
        .gql(
            &partner_token(&b),
            "query($id: ID!) { contact(id: $id) { name } }",
            json!({ "id": a_contact }),
        )
        .await;
    let missing = app
        .gql(
            &partner_token(&b),
            "query($id: ID!) { contact(id: $id) { name } }",
            json!({ "id": cosell::ids::encode(cosell::ids::Kind::Contact, 999) }),
        )
        .await;
    assert_eq!(body["errors"], missing["errors"]);
    // A shares its contact: B (on the deal) sees it, C (not on it) still does not.
    app.ok(
        &partner_token(&a),
        "mutation($id: ID!) { shareContact(input: { id: $id, expectedVersion: 1 }) { contact { shared } } }",
        json!({ "id": a_contact }),
    )
    .await;
    let theirs = app.ok(&partner_token(&b), q, json!({ "id": acct })).await;
    assert_eq!(ids(&theirs), std::slice::from_ref(&a_contact));
    assert_eq!(
        theirs["account"]["contacts"]["nodes"][0]["sourcedBy"],
        "ANOTHER_PARTNER"
    );
    let body = app
        .gql(
            &partner_token(&c),
            "query($id: ID!) { contact(id: $id) { name } }",
            json!({ "id": a_contact }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // B may not change A's contact; the vendor may.
    let upd = json!({ "i": { "id": a_contact, "expectedVersion": 2, "contact": person("Ian", "ian@acme.com", "IT", Some("CHAMPION")) } });
    let body = app
        .gql(
            &partner_token(&b),
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id } } }",
            upd.clone(),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let _ = vendor_contact;
}

#[tokio::test]
async fn engagement_notes_are_seen_by_their_author_and_the_vendor_only() {
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let (acct, opp) = partner_on_deal(&app, &a, "acme.com").await;
    join_deal(&app, &b, &opp).await;
    let ian = contact(
        &app,
        &partner_token(&a),
        &acct,
        person("Ian", "ian@acme.com", "IT", Some("CHAMPION")),
    )
    .await;
    app.ok(
        &partner_token(&a),
        "mutation($id: ID!) { shareContact(input: { id: $id, expectedVersion: 1 }) { contact { shared } } }",
        json!({ "id": ian }),
    )
    .await;
    engage(&app, &partner_token(&a), &ian, 3, "A's private notes").await;
    engage(&app, &partner_token(&b), &ian, 2, "B's private notes").await;
    let q = "query($id: ID!) { contact(id: $id) { engagements { party notes } } }";
    let v = app.ok(&app.vendor, q, json!({ "id": ian })).await;
    assert_eq!(v["contact"]["engagements"].as_array().unwrap().len(), 2);
    for (p, mine) in [(&a, "A's private notes"), (&b, "B's private notes")] {
        let d = app.ok(&partner_token(p), q, json!({ "id": ian })).await;
        assert_eq!(
            d["contact"]["engagements"],
            json!([{ "party": "YOU", "notes": mine }])
        );
        let t = app.ok(&partner_token(p), "query($id: ID!) { opportunity(id: $id) { threading { engagedContacts parties { party partner { name } } } } }", json!({ "id": opp })).await;
        let th = &t["opportunity"]["threading"];
        assert_eq!(th["engagedContacts"], 1, "counted once whoever engaged");
        let parties: Vec<&str> = th["parties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["party"].as_str().unwrap())
            .collect();
        assert_eq!(parties.len(), 2);
        assert!(
            parties.contains(&"YOU") && parties.contains(&"ANOTHER_PARTNER"),
            "{parties:?}"
        );
        assert!(!t.to_string().contains("private notes"));
    }
    let future = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let body = app.gql(&app.vendor, ENGAGE, json!({ "i": { "contactId": ian, "kind": "CALL", "occurredOn": future, "sentiment": "NEUTRAL" } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn bulk_upsert_is_idempotent_and_all_or_nothing_unless_partial() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let batch: Vec<Value> = (0..20)
        .map(|i| person(&format!("P{i}"), &format!("p{i}@acme.com"), "Ops", None))
        .collect();
    let r = upsert(&app, &app.vendor, &acct, json!(batch), false).await;
    assert!(r.iter().all(|r| r["outcome"] == "CREATED"));
    let r = upsert(&app, &app.vendor, &acct, json!(batch), false).await;
    assert!(r.iter().all(|r| r["outcome"] == "UNCHANGED"), "idempotent");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 20);
    let mut changed = batch.clone();
    changed[0]["name"] = json!("P0 renamed");
    changed[0]["email"] = json!("P0@ACME.COM");
    changed.push(person("New", "new@acme.com", "Ops", None));
    changed.push(person("Bad", "not-an-email", "Ops", None));
    changed.push(person("Twice", "new@acme.com", "Ops", None));
    let r = upsert(&app, &app.vendor, &acct, json!(changed), false).await;
    assert_eq!(r[21]["errorCode"], "BAD_USER_INPUT");
    assert_eq!(
        r[22]["errorCode"], "BAD_USER_INPUT",
        "an email twice in one batch"
    );
    assert!(
        r[..21].iter().all(|x| x["outcome"] == "NOT_WRITTEN"),
        "a bad item writes nothing"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 20);
    let r = upsert(&app, &app.vendor, &acct, json!(changed), true).await;
    assert_eq!(
        (
            r[0]["outcome"].as_str(),
            r[1]["outcome"].as_str(),
            r[20]["outcome"].as_str()
        ),
        (Some("UPDATED"), Some("UNCHANGED"), Some("CREATED"))
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 21);
    let too_many: Vec<Value> = (0..501)
        .map(|i| person("x", &format!("x{i}@acme.com"), "Ops", None))
        .collect();
    let body = app
        .gql(
            &app.vendor,
            UPSERT,
            json!({ "i": { "accountId": acct, "contacts": too_many } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn links_refuse_self_duplicates_and_reporting_cycles() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let mut c = Vec::new();
    for i in 0..3 {
        c.push(
            contact(
                &app,
                &app.vendor,
                &acct,
                person(&format!("C{i}"), &format!("c{i}@acme.com"), "Ops", None),
            )
            .await,
        );
    }
    let link = |from: &str, to: &str, kind: &str| json!({ "i": { "fromContactId": from, "toContactId": to, "kind": kind } });
    app.ok(&app.vendor, LINK, link(&c[0], &c[1], "REPORTS_TO"))
        .await;
    app.ok(&app.vendor, LINK, link(&c[1], &c[2], "REPORTS_TO"))
        .await;
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[2], &c[0], "REPORTS_TO"))
                .await
        ),
        "CONFLICT",
        "cycle"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[0], &c[1], "REPORTS_TO"))
                .await
        ),
        "CONFLICT",
        "duplicate"
    );
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[0], &c[0], "INFLUENCES"))
                .await
        ),
        "BAD_USER_INPUT",
        "self"
    );
    app.ok(&app.vendor, LINK, link(&c[0], &c[2], "WORKS_WITH"))
        .await;
    assert_eq!(
        error_code(
            &app.gql(&app.vendor, LINK, link(&c[2], &c[0], "WORKS_WITH"))
                .await
        ),
        "CONFLICT",
        "symmetric duplicate"
    );
}

#[tokio::test]
async fn threading_tells_the_story_of_the_reseller_whose_it_manager_left() {
    let app = spawn_app().await;
    let reseller = app.create_partner("Reseller").await;
    let (acct, opp) = partner_on_deal(&app, &reseller, "plant.example").await;
    let t = partner_token(&reseller);
    let ian = contact(
        &app,
        &t,
        &acct,
        person("Ian", "ian@plant.example", "IT", Some("CHAMPION")),
    )
    .await;
    engage(&app, &t, &ian, 5, "met Ian").await;
    let q = "query($id: ID!) { opportunity(id: $id) { threading { score atRisk engagedContacts departments risks { kind evidence recommendation } } } }";
    let before = app.ok(&t, q, json!({ "id": opp })).await;
    // One engaged champion in IT, one party, 5 days ago: 7 + 7 + 5 + 5 + 10.
    assert_eq!(before["opportunity"]["threading"]["score"], 34);
    let kinds = |d: &Value| -> Vec<String> {
        d["opportunity"]["threading"]["risks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(kinds(&before).contains(&"SINGLE_THREADED".to_string()));
    let single = before["opportunity"]["threading"]["risks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "SINGLE_THREADED")
        .unwrap()
        .clone();
    assert!(single["evidence"].as_str().unwrap().contains("Ian"));
    assert!(single["recommendation"].as_str().unwrap().contains("Ian"));
    let events_before = app
        .scalar("SELECT COUNT(*) FROM events WHERE topic = 'contact.left_company'")
        .await;
    app.ok(
        &t,
        MARK,
        json!({ "i": { "id": ian, "expectedVersion": 1, "status": "LEFT_COMPANY" } }),
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'contact.left_company'")
            .await,
        events_before + 1
    );
    let after = app.ok(&t, q, json!({ "id": opp })).await;
    assert_eq!(
        after["opportunity"]["threading"]["score"], 10,
        "only recency is left"
    );
    assert!(kinds(&after).contains(&"CHAMPION_LEFT".to_string()));
    // The vendor adds well-connected contacts: the deal recovers, then a drop below 50 is told.
    for (n, dept, role) in [
        ("Carla", "Finance", "ECONOMIC_BUYER"),
        ("Eve", "Executive", "EXECUTIVE_SPONSOR"),
        ("Tom", "IT", "TECHNICAL_EVALUATOR"),
        ("Chris", "Operations", "CHAMPION"),
    ] {
        let id = contact(
            &app,
            &app.vendor,
            &acct,
            person(
                n,
                &format!("{}@plant.example", n.to_lowercase()),
                dept,
                Some(role),
            ),
        )
        .await;
        engage(&app, &app.vendor, &id, 2, "vendor meeting").await;
    }
    let paul = contact(
        &app,
        &t,
        &acct,
        person(
            "Paul",
            "paul@plant.example",
            "Procurement",
            Some("PROCUREMENT"),
        ),
    )
    .await;
    engage(&app, &t, &paul, 1, "partner meeting").await;
    let healthy = app.ok(&app.vendor, q, json!({ "id": opp })).await;
    assert_eq!(
        healthy["opportunity"]["threading"]["score"], 100,
        "{healthy}"
    );
    assert_eq!(healthy["opportunity"]["threading"]["atRisk"], false);
    let partner_view = app.ok(&t, q, json!({ "id": opp })).await;
    assert_eq!(
        partner_view["opportunity"]["threading"]["score"], 100,
        "the score counts contacts the partner cannot see"
    );
    assert!(
        !partner_view.to_string().contains("Carla"),
        "but never names them"
    );
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { account(id: $id) { contacts { nodes { id name version } } } }",
            json!({ "id": acct }),
        )
        .await;
    for c in d["account"]["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] != "Ian")
    {
        app.ok(&app.vendor, MARK, json!({ "i": { "id": c["id"], "expectedVersion": c["version"], "status": "LEFT_COMPANY" } })).await;
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'threading.risk_raised'")
            .await,
        1,
        "told once, when it crossed 50"
    );
    // The payload names the risks as the schema does, as a list.
    let d = app
        .ok(
            &app.vendor,
            "{ events(first: 100) { topic payload } }",
            json!({}),
        )
        .await;
    let raised = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "threading.risk_raised")
        .expect("the risk event");
    let risks = raised["payload"]["risks"].as_array().expect("a list");
    assert!(risks.iter().any(|r| r == "SINGLE_THREADED"), "{raised}");
}

#[tokio::test]
async fn the_relationship_map_of_200_contacts_costs_a_fixed_number_of_statements() {
    let app = spawn_app().await;
    let acct = app.create_account("Big Co", "big.example").await;
    let batch: Vec<Value> = (0..200)
        .map(|i| {
            person(
                &format!("Person {i:03}"),
                &format!("p{i}@big.example"),
                if i % 2 == 0 { "IT" } else { "Finance" },
                None,
            )
        })
        .collect();
    let r = upsert(&app, &app.vendor, &acct, json!(batch), false).await;
    let ids: Vec<String> = r
        .iter()
        .map(|r| r["contactId"].as_str().unwrap().to_string())
        .collect();
    // A small org chart: everyone reports to 0..9, who report to the CEO (id 0)... influencers.
    for i in 10..40 {
        app.ok(&app.vendor, LINK, json!({ "i": { "fromContactId": ids[i], "toContactId": ids[i % 10], "kind": "REPORTS_TO" } })).await;
    }
    for i in 1..10 {
        app.ok(&app.vendor, LINK, json!({ "i": { "fromContactId": ids[i], "toContactId": ids[0], "kind": "REPORTS_TO" } })).await;
    }
    app.ok(
        &app.vendor,
        LINK,
        json!({ "i": { "fromContactId": ids[150], "toContactId": ids[0], "kind": "INFLUENCES" } }),
    )
    .await;
    engage(&app, &app.vendor, &ids[0], 1, "met the CEO").await;
    let q = "query($id: ID!) { relationshipMap(accountId: $id) { hiddenContacts nodes { influence knownBy contact { id name } } links { kind }
             unengagedInfluencers { contact { name } influence } } }";
    let (n, d) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "id": acct })))
        .await;
    let m = &d["relationshipMap"];
    assert_eq!(m["nodes"].as_array().unwrap().len(), 200);
    assert_eq!(m["links"].as_array().unwrap().len(), 40);
    assert_eq!(
        m["nodes"][0]["contact"]["name"], "Person 000",
        "the CEO ranks first"
    );
    assert_eq!(m["nodes"][0]["knownBy"], json!(["VENDOR"]));
    let top_unengaged = m["unengagedInfluencers"][0]["contact"]["name"]
        .as_str()
        .unwrap();
    assert_eq!(
        top_unengaged, "Person 150",
        "whoever influences the CEO is the one to meet"
    );
    assert!(n <= 6, "fixed statements: {n}");
}

#[tokio::test]
async fn the_risk_report_orders_deals_at_risk_by_amount_and_partners_see_their_own() {
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let (_, small) = partner_on_deal(&app, &a, "small.example").await;
    let (_, big) = partner_on_deal(&app, &b, "big.example").await;
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": big, "expectedVersion": 1, "amount": 99000000 } }))
        .await;
    let q = "query($r: ThreadingRiskKind, $p: ID) { riskReport(risk: $r, partnerId: $p) { opportunity { id } threading { score risks { kind } } } }";
    let d = app.ok(&app.vendor, q, json!({})).await;
    let order: Vec<&str> = d["riskReport"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["opportunity"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [big.as_str(), small.as_str()]);
    let d = app.ok(&app.vendor, q, json!({ "p": a })).await;
    assert_eq!(d["riskReport"].as_array().unwrap().len(), 1);
    let d = app
        .ok(&app.vendor, q, json!({ "r": "NEGATIVE_SENTIMENT" }))
        .await;
    assert_eq!(d["riskReport"], json!([]));
    let d = app.ok(&partner_token(&a), q, json!({})).await;
    let mine: Vec<&str> = d["riskReport"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["opportunity"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        mine,
        [small.as_str()],
        "a partner's risk report holds its own deals"
    );
    // An app reads the assessments only with the contacts scope, as on `opportunity.threading`.
    let narrow = app
        .gql(&app_token("opportunities:read", Some(&a)), q, json!({}))
        .await;
    assert_eq!(error_code(&narrow), "FORBIDDEN", "{narrow}");
    assert!(narrow["data"]["riskReport"].is_null(), "{narrow}");
    let scoped = app_token("opportunities:read contacts:read", Some(&a));
    let d = app.ok(&scoped, q, json!({})).await;
    assert_eq!(d["riskReport"].as_array().unwrap().len(), 1, "{d}");
}

#[tokio::test]
async fn another_partners_contacts_are_invisible_by_every_path() {
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let (acct, _) = partner_on_deal(&app, &a, "acme.com").await;
    let secret = contact(
        &app,
        &partner_token(&a),
        &acct,
        person("Secret", "secret@acme.com", "IT", Some("CHAMPION")),
    )
    .await;
    let t = partner_token(&b);
    let d = app
        .ok(
            &t,
            "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }",
            json!({ "id": secret }),
        )
        .await;
    assert!(d["node"].is_null() && d["nodes"][0].is_null());
    let body = app
        .gql(
            &t,
            "query($id: ID!) { relationshipMap(accountId: $id) { hiddenContacts } }",
            json!({ "id": acct }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "NOT_FOUND",
        "B is not on the account's deals"
    );
    let body = app
        .gql(
            &t,
            MARK,
            json!({ "i": { "id": secret, "expectedVersion": 1, "status": "LEFT_COMPANY" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app.gql(&t, ENGAGE, json!({ "i": { "contactId": secret, "kind": "CALL", "occurredOn": "2026-01-01", "sentiment": "NEUTRAL" } })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let d = app.ok(&partner_token(&a), "query($id: ID!) { relationshipMap(accountId: $id) { hiddenContacts nodes { contact { name } } } }", json!({ "id": acct })).await;
    assert_eq!(
        d["relationshipMap"]["nodes"][0]["contact"]["name"],
        "Secret"
    );
    let leaked = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE subject_id = '{secret}' AND CAST(audience AS TEXT) LIKE '%partner:{}%'",
            cosell::ids::decode_as(&b, cosell::ids::Kind::Partner).unwrap()
        ))
        .await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn a_contact_who_leaves_names_a_successor_at_the_same_account() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let other = app.create_account("Globex", "globex.com").await;
    let old = contact(
        &app,
        &app.vendor,
        &acct,
        person("Olga", "olga@acme.com", "Finance", Some("ECONOMIC_BUYER")),
    )
    .await;
    let new = contact(
        &app,
        &app.vendor,
        &acct,
        person("Nina", "nina@acme.com", "Finance", Some("ECONOMIC_BUYER")),
    )
    .await;
    let elsewhere = contact(
        &app,
        &app.vendor,
        &other,
        person("Gus", "gus@globex.com", "IT", None),
    )
    .await;
    let body = app.gql(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": elsewhere } })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a successor at another account"
    );
    let body = app.gql(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": old } })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "not their own successor"
    );
    let d = app.ok(&app.vendor, MARK, json!({ "i": { "id": old, "expectedVersion": 1, "status": "LEFT_COMPANY", "successorId": new } })).await;
    assert_eq!(
        d["markContact"]["contact"],
        json!({ "status": "LEFT_COMPANY", "version": 2, "successor": { "name": "Nina" } })
    );
    let body = app
        .gql(
            &app.vendor,
            MARK,
            json!({ "i": { "id": old, "expectedVersion": 1, "status": "ACTIVE" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");
}

#[tokio::test]
async fn the_risk_report_and_derived_data_respect_partner_and_scope_rules() {
    let app = spawn_app().await;
    let (a, b) = (app.create_partner("A").await, app.create_partner("B").await);
    let (_, opp) = partner_on_deal(&app, &a, "acme.com").await;
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": opp, "expectedVersion": 1, "forecastNotes": "internal", "probability": 70 } }))
        .await;
    let d = app
        .ok(
            &partner_token(&a),
            "{ riskReport { opportunity { id forecastNotes probability } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["riskReport"][0]["opportunity"],
        json!({ "id": opp, "forecastNotes": null, "probability": null })
    );
    let body = app
        .gql(
            &partner_token(&a),
            "query($p: ID) { riskReport(partnerId: $p) { opportunity { id } } }",
            json!({ "p": b }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "which deals another partner is on is the vendor's to know"
    );
    let narrow = app_token("opportunities:read", None);
    let d = app.ok(&narrow, "query($id: ID!) { opportunity(id: $id) { threading { score } attribution { rows { shareBps } } } }", json!({ "id": opp })).await;
    assert!(
        d["opportunity"]["threading"].is_null(),
        "threading needs contacts:read"
    );
    assert_eq!(
        d["opportunity"]["attribution"]["rows"],
        json!([]),
        "shares need registrations:read"
    );
    let body = app
        .gql(
            &narrow,
            "query($p: ID) { partnerStatement(partnerId: $p) { totals { currency } } }",
            json!({ "p": a }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn emails_and_org_charts_tell_a_partner_nothing_of_contacts_it_cannot_see() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.create_partner("A").await,
        app.create_partner("B").await,
        app.create_partner("C").await,
    );
    let (acct, opp) = partner_on_deal(&app, &a, "acme.com").await;
    join_deal(&app, &b, &opp).await;
    join_deal(&app, &c, &opp).await;
    let vendor_private = contact(
        &app,
        &app.vendor,
        &acct,
        person("Vee", "ceo@acme.com", "Exec", Some("ECONOMIC_BUYER")),
    )
    .await;
    contact(
        &app,
        &partner_token(&b),
        &acct,
        person("Bee", "cfo@acme.com", "Finance", None),
    )
    .await;
    let shared = contact(
        &app,
        &app.vendor,
        &acct,
        person("Shay", "it@acme.com", "IT", None),
    )
    .await;
    app.ok(
        &app.vendor,
        "mutation($id: ID!) { shareContact(input: { id: $id, expectedVersion: 1 }) { contact { shared } } }",
        json!({ "id": shared }),
    )
    .await;

    // Creating: an email only others know answers as an unused one does.
    let t = partner_token(&a);
    let create = |email: &str| json!({ "i": { "accountId": acct, "contact": person("Someone", email, "Ops", None) } });
    let mut outcomes = Vec::new();
    for email in ["ceo@acme.com", "cfo@acme.com", "fresh@acme.com"] {
        let body = app.gql(&t, CREATE, create(email)).await;
        assert!(body["errors"].is_null(), "{email}: {body}");
        outcomes.push(body["data"]["createContact"]["contact"]["sourcedBy"].clone());
    }
    assert!(outcomes.iter().all(|o| o == &outcomes[0]));
    // An email it can see is refused: its own record, or one shared with it.
    for email in ["ceo@acme.com", "it@acme.com"] {
        let body = app.gql(&t, CREATE, create(email)).await;
        assert_eq!(error_code(&body), "CONFLICT", "{email}: {body}");
    }

    // Upserting: the same, item by item.
    let people = json!([
        person("V", "ceo@acme.com", "Exec", None),
        person("B", "cfo@acme.com", "Finance", None),
        person("N", "new@acme.com", "Ops", None),
        person("S", "it@acme.com", "IT", None),
    ]);
    let r = upsert(&app, &partner_token(&c), &acct, people, true).await;
    let got: Vec<(&str, &str)> = r
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["errorCode"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("CREATED", "-"),
            ("CREATED", "-"),
            ("CREATED", "-"),
            ("FAILED", "CONFLICT")
        ],
        "{r:?}"
    );
    // A second run finds its own records.
    let one = json!([person("V", "ceo@acme.com", "Exec", None)]);
    let r = upsert(&app, &partner_token(&c), &acct, one, false).await;
    assert_eq!(r[0]["outcome"], "UNCHANGED");

    // The vendor sees every party's record; the score counts a person once.
    let all = app
        .ok(
            &app.vendor,
            "query($id: ID!) { account(id: $id) { contacts { nodes { id } } } }",
            json!({ "id": acct }),
        )
        .await;
    assert_eq!(
        all["account"]["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        9,
        "{all}"
    );
    let own_ceo = app
        .ok(
            &t,
            "query($id: ID!) { account(id: $id) { contacts { nodes { id email } } } }",
            json!({ "id": acct }),
        )
        .await["account"]["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["email"] == "ceo@acme.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    engage(&app, &app.vendor, &vendor_private, 1, "Board prep").await;
    engage(&app, &t, &own_ceo, 2, "Lunch").await;
    let q = "query($id: ID!) { opportunity(id: $id) { threading { engagedContacts risks { kind evidence } } } }";
    for token in [&app.vendor, &t] {
        let d = app.ok(token, q, json!({ "id": opp })).await;
        let th = &d["opportunity"]["threading"];
        assert_eq!(th["engagedContacts"], 1, "one person, two records: {d}");
        assert!(
            th["risks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["kind"] == "SINGLE_THREADED"),
            "{d}"
        );
        if token == &t {
            assert!(!d.to_string().contains("Vee"), "{d}");
        }
    }

    // The org chart as the partner sees it: a cycle through contacts it cannot see is not
    // refused (that would tell it they exist), a cycle it can see is.
    let x = contact(&app, &t, &acct, person("Ex", "x@acme.com", "Ops", None)).await;
    let y = contact(&app, &t, &acct, person("Why", "y@acme.com", "Ops", None)).await;
    let z = contact(&app, &t, &acct, person("Zed", "z@acme.com", "Ops", None)).await;
    let link = |from: &str, to: &str| json!({ "i": { "fromContactId": from, "toContactId": to, "kind": "REPORTS_TO" } });
    app.ok(&app.vendor, LINK, link(&y, &vendor_private)).await;
    app.ok(&app.vendor, LINK, link(&vendor_private, &x)).await;
    let hidden_cycle = app.gql(&t, LINK, link(&x, &y)).await;
    let no_cycle = app.gql(&t, LINK, link(&x, &z)).await;
    assert!(hidden_cycle["errors"].is_null(), "{hidden_cycle}");
    assert_eq!(hidden_cycle["data"], no_cycle["data"]);
    let seen_cycle = app.gql(&t, LINK, link(&y, &x)).await;
    assert_eq!(error_code(&seen_cycle), "CONFLICT", "{seen_cycle}");
}

#[tokio::test]
async fn an_engagement_is_a_node_only_its_party_and_the_vendor_fetch() {
    let app = spawn_app().await;
    let a = app.partner("Alpha").await;
    let b = app.partner("Bravo").await;
    let deal = app
        .approved_deal("acme.com", &[(&a, "RESELLER"), (&b, "SERVICES")])
        .await;
    let account = deal.account.clone();
    let c = contact(
        &app,
        &a.token,
        &account,
        person("Grace", "grace@acme.com", "IT", Some("CHAMPION")),
    )
    .await;
    let on = chrono::Utc::now().date_naive().to_string();
    let id = app
        .ok(&a.token, ENGAGE, json!({ "i": { "contactId": c, "kind": "CALL", "occurredOn": on, "sentiment": "POSITIVE", "notes": "Alpha's call" } }))
        .await["recordEngagement"]["engagement"]["id"]
        .clone();
    let node =
        "query($id: ID!) { node(id: $id) { __typename id ... on Engagement { kind notes } } }";
    for token in [&a.token, &app.vendor] {
        let d = app.ok(token, node, json!({ "id": id })).await;
        assert_eq!(
            d["node"],
            json!({ "__typename": "Engagement", "id": id, "kind": "CALL", "notes": "Alpha's call" })
        );
    }
    let d = app.ok(&b.token, node, json!({ "id": id })).await;
    assert!(d["node"].is_null(), "another partner's engagement: {d}");
    let body = app
        .gql(
            &app_token("opportunities:read", None),
            node,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn the_contact_list_pages_through_what_each_party_may_see_by_any_path() {
    let app = spawn_app().await;
    let a = app.partner("Alpha").await;
    let b = app.partner("Bravo").await;
    let acme = app
        .approved_deal("acme.com", &[(&a, "RESELLER")])
        .await
        .account;
    let globex = app
        .approved_deal("globex.com", &[(&b, "RESELLER")])
        .await
        .account;
    let mut shared = Vec::new();
    for i in 0..3 {
        let mut p = person(
            &format!("Shared {i}"),
            &format!("s{i}@acme.com"),
            "IT",
            None,
        );
        p["shared"] = json!(true);
        shared.push(contact(&app, &app.vendor, &acme, p).await);
    }
    let private = contact(
        &app,
        &app.vendor,
        &acme,
        person("Private", "p@acme.com", "IT", None),
    )
    .await;
    let elsewhere = contact(
        &app,
        &app.vendor,
        &globex,
        person("Far", "f@globex.com", "IT", None),
    )
    .await;
    let own = contact(
        &app,
        &a.token,
        &acme,
        person("Alpha's", "a@acme.com", "Sales", None),
    )
    .await;
    let before = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let bravos = contact(
        &app,
        &b.token,
        &globex,
        person("Bravo's", "b@globex.com", "Sales", None),
    )
    .await;

    const LIST: &str = "query($f: ContactFilter, $n: Int, $a: String) { contacts(filter: $f, first: $n, after: $a) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id name } } }";
    // Everything a caller sees, two at a time.
    let all = |token: String, filter: Value| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            let mut after = Value::Null;
            let mut totals = Vec::new();
            loop {
                let d = app
                    .ok(&token, LIST, json!({ "f": filter, "n": 2, "a": after }))
                    .await;
                let c = &d["contacts"];
                totals.push(c["totalCount"].clone());
                ids.extend(
                    c["nodes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n["id"].as_str().unwrap().to_string()),
                );
                if c["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = c["pageInfo"]["endCursor"].clone();
            }
            assert!(
                totals.windows(2).all(|w| w[0] == w[1]),
                "one total on every page"
            );
            (ids, totals.pop().unwrap())
        }
    };
    let (vendor, total) = all(app.vendor.clone(), Value::Null).await;
    let mut expected: Vec<String> = shared.clone();
    expected.extend([
        private.clone(),
        elsewhere.clone(),
        own.clone(),
        bravos.clone(),
    ]);
    assert_eq!(vendor, expected, "oldest first, every contact once");
    assert_eq!(total, 7);
    let (alpha, total) = all(a.token.clone(), Value::Null).await;
    let mut expected = shared.clone();
    expected.push(own.clone());
    assert_eq!(
        alpha, expected,
        "its own and those shared at its deal's account"
    );
    assert_eq!(total, 4);
    let (bravo, total) = all(b.token.clone(), Value::Null).await;
    assert_eq!(
        bravo,
        std::slice::from_ref(&bravos),
        "its own; nothing is shared at its deal's account"
    );
    assert_eq!(total, 1);
    // Filters narrow, never widen: another party's account shows nothing more.
    let (x, _) = all(b.token.clone(), json!({ "accountId": acme })).await;
    assert!(x.is_empty());
    let (x, total) = all(app.vendor.clone(), json!({ "accountId": globex })).await;
    assert_eq!(x, [elsewhere.clone(), bravos.clone()]);
    assert_eq!(total, 2);
    let (x, _) = all(
        app.vendor.clone(),
        json!({ "updatedSince": before.to_rfc3339() }),
    )
    .await;
    assert_eq!(
        x,
        std::slice::from_ref(&bravos),
        "what changed since the last sync"
    );
    let body = app
        .gql(&app.vendor, LIST, json!({ "f": { "accountId": "nope" } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "accountId");
    // Apps need contacts:read.
    let body = app
        .gql(&app_token("opportunities:read", None), LIST, json!({}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let (x, _) = all(app_token("contacts:read", Some(&b.id)), Value::Null).await;
    assert_eq!(x, std::slice::from_ref(&bravos));
    // A page of contacts with their engagements costs the same for 2 or 7 rows.
    let q = "query($n: Int) { contacts(first: $n) { nodes { name engagements { kind } } } }";
    let (small, _) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 2 })))
        .await;
    let (large, _) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 7 })))
        .await;
    assert_eq!(small, large, "statements must not grow with rows");
}

#[tokio::test]
async fn each_accounts_contacts_page_like_the_contact_list_and_hide_other_partners_contacts() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Alpha").await, app.partner("Bravo").await);
    let deal = app
        .approved_deal("pages.example", &[(&a, "RESELLER"), (&b, "REFERRAL")])
        .await;
    let others = [
        app.create_account("Other One", "other-one.example").await,
        app.create_account("Other Two", "other-two.example").await,
    ];
    let mut shared = Value::Null;
    for (acct, n) in [(&deal.account, 5), (&others[0], 3), (&others[1], 1)] {
        let contacts: Vec<Value> = (0..n)
            .map(|i| {
                person(
                    &format!("V{i}"),
                    &format!("v{i}@{acct}.example"),
                    "IT",
                    None,
                )
            })
            .collect();
        let r = upsert(&app, &app.vendor, acct, json!(contacts), false).await;
        assert!(r.iter().all(|r| r["outcome"] == "CREATED"), "{r:?}");
        if acct == &deal.account {
            shared = r[0]["contactId"].clone();
        }
    }
    app.ok(
        &app.vendor,
        "mutation($id: ID!) { shareContact(input: { id: $id, expectedVersion: 1 }) { contact { shared } } }",
        json!({ "id": shared }),
    )
    .await;
    // Alpha's own contact at the deal's account: not shared, so Bravo never sees it.
    app.ok(
        &a.token,
        CREATE,
        json!({ "i": { "accountId": deal.account, "contact": person("Alpha's", "own@pages.example", "IT", None) } }),
    )
    .await;

    // Page by page, with the cursors of contacts(filter: { accountId }).
    let nested = "query($id: ID!, $after: String) { account(id: $id) { contacts(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } } }";
    let top = "query($id: ID!, $after: String) { contacts(filter: { accountId: $id }, first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } }";
    let (mut after, mut seen) = (Value::Null, Vec::new());
    loop {
        let vars = json!({ "id": deal.account, "after": after });
        let n = app.ok(&app.vendor, nested, vars.clone()).await["account"]["contacts"].clone();
        let t = app.ok(&app.vendor, top, vars).await["contacts"].clone();
        assert_eq!(n, t, "the same page either way");
        assert_eq!(n["totalCount"], 6, "{n}");
        seen.extend(
            n["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].clone()),
        );
        if n["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = n["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen,
        ["V0", "V1", "V2", "V3", "V4", "Alpha's"].map(Value::from),
        "oldest first, each once"
    );

    // Both partners on the deal see the contact the vendor shared; only Alpha sees its own.
    let first = "query($id: ID!) { account(id: $id) { contacts(first: 10) { totalCount nodes { name } } } }";
    for (token, expected) in [(&a.token, 2), (&b.token, 1)] {
        let c = app.ok(token, first, json!({ "id": deal.account })).await["account"]["contacts"]
            .clone();
        assert_eq!(c["totalCount"], expected);
        let names: Vec<&str> = c["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.contains(&"Alpha's"), token == &a.token, "{names:?}");
        let c = app
            .ok(
                token,
                nested,
                json!({ "id": deal.account, "after": Value::Null }),
            )
            .await["account"]["contacts"]
            .clone();
        assert_eq!(c["totalCount"], expected);
    }

    // The first pages of a list of accounts are read together.
    let q = "query($n: Int) { accounts(first: $n) { nodes { contacts(first: 2) { totalCount pageInfo { hasNextPage } nodes { name } } } } }";
    let (one, _) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 1 })))
        .await;
    let (three, d) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 3 })))
        .await;
    assert_eq!(one, three, "statements must not grow with accounts");
    let pages = d["accounts"]["nodes"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    let totals: Vec<i64> = pages
        .iter()
        .map(|p| p["contacts"]["totalCount"].as_i64().unwrap())
        .collect();
    assert_eq!(totals.iter().sum::<i64>(), 10, "{totals:?}");
    for p in pages {
        let c = &p["contacts"];
        assert_eq!(
            c["pageInfo"]["hasNextPage"],
            c["totalCount"].as_i64().unwrap() > 2
        );
    }
}
