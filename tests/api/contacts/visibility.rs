//! Who sees a contact: its source, the parties of a shared deal and the vendor; engagement
//! notes; and what emails, org charts and node fetches tell a partner of contacts it cannot see.

use super::*;

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
