//! What is derived from contacts: threading on hand-built deals, the relationship map and the
//! risk report, and the partner and scope rules they keep.

use super::*;

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
    // A page of deals, which reads the kept assessments in its own statement, too.
    let page = app
        .ok(
            &narrow,
            "{ opportunities(first: 10) { nodes { id threading { score } } } }",
            json!({}),
        )
        .await;
    let nodes = page["opportunities"]["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(
        nodes.iter().all(|n| n["threading"].is_null()),
        "threading on a page needs contacts:read: {page}"
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
