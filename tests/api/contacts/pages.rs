//! Paging through contacts: the contact list and each account's contacts, each party seeing what
//! it may by any path.

use std::collections::BTreeSet;

use super::*;

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

/// A partner's contact list and its `totalCount` follow its deals and the sharing: compared,
/// after each change, with the rule applied to every contact (its own, and those shared at the
/// accounts of the deals it is on).
#[tokio::test]
async fn a_partner_s_contact_list_follows_its_deals_and_the_sharing() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Alpha").await, app.partner("Bravo").await);
    let x = app.approved_deal("x.example", &[(&a, "RESELLER")]).await;
    let y = app
        .approved_deal("y.example", &[(&b, "RESELLER"), (&a, "REFERRAL")])
        .await;
    let z = app.approved_deal("z.example", &[(&b, "RESELLER")]).await;
    // (id, account, sourced by, shared)
    let mut contacts: Vec<(String, String, Option<String>, bool)> = Vec::new();
    for (i, (token, source, acct, shared)) in [
        (&app.vendor, None, &x.account, true),
        (&app.vendor, None, &x.account, false),
        (&a.token, Some(&a.id), &x.account, false),
        (&app.vendor, None, &y.account, true),
        (&b.token, Some(&b.id), &y.account, true),
        (&b.token, Some(&b.id), &y.account, false),
        (&a.token, Some(&a.id), &y.account, true),
        (&app.vendor, None, &z.account, true),
        (&b.token, Some(&b.id), &z.account, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = person(&format!("P{i}"), &format!("p{i}@example.com"), "IT", None);
        p["shared"] = json!(shared);
        let id = contact(&app, token, acct, p).await;
        contacts.push((id, acct.clone(), source.cloned(), shared));
    }
    let mut on: Vec<(String, String)> = vec![
        (a.id.clone(), x.account.clone()),
        (a.id.clone(), y.account.clone()),
        (b.id.clone(), y.account.clone()),
        (b.id.clone(), z.account.clone()),
    ];
    let check = |contacts: Vec<(String, String, Option<String>, bool)>,
                 on: Vec<(String, String)>| {
        let app = &app;
        let members = [&a, &b];
        async move {
            for m in members {
                let expected: BTreeSet<String> = contacts
                    .iter()
                    .filter(|(_, acct, source, shared)| {
                        source.as_ref() == Some(&m.id)
                            || (*shared && on.contains(&(m.id.clone(), acct.clone())))
                    })
                    .map(|c| c.0.clone())
                    .collect();
                let (seen, total) = every_contact(app, &m.token).await;
                assert_eq!(seen, expected, "{}", m.id);
                assert_eq!(total, expected.len(), "{}", m.id);
            }
        }
    };
    check(contacts.clone(), on.clone()).await;
    // Alpha leaves the deal at Y: the contacts shared there go, its own stays.
    let claim = &y.claims[1];
    app.ok(
        &a.token,
        "mutation($i: RegistrationDecisionInput!) { withdrawRegistration(input: $i) { registration { status } } }",
        json!({ "i": { "id": claim["id"], "expectedVersion": claim["version"] } }),
    )
    .await;
    on.retain(|(p, acct)| !(p == &a.id && acct == &y.account));
    check(contacts.clone(), on.clone()).await;
    // The vendor shares its private contact at X.
    app.ok(
        &app.vendor,
        "mutation($id: ID!) { shareContact(input: { id: $id, expectedVersion: 1 }) { contact { shared } } }",
        json!({ "id": contacts[1].0 }),
    )
    .await;
    contacts[1].3 = true;
    check(contacts.clone(), on.clone()).await;
    // Alpha joins the deal at Z.
    let d = app
        .ok(&a.token, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
            json!({ "i": { "draft": { "accountDomain": "z.example", "accountName": "Z", "dealName": "Z", "role": "SERVICES", "justification": "x" } } }))
        .await;
    let r = &d["submitRegistration"]["registration"];
    app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id } } }",
        json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": z.opportunity } }))
        .await;
    on.push((a.id.clone(), z.account.clone()));
    check(contacts, on).await;
}

/// Every contact `token` may list, three to a page, and the list's `totalCount` (the same on
/// every page).
async fn every_contact(app: &TestApp, token: &str) -> (BTreeSet<String>, usize) {
    const LIST: &str = "query($a: String) { contacts(first: 3, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }";
    let (mut seen, mut totals, mut after) = (BTreeSet::new(), BTreeSet::new(), Value::Null);
    loop {
        let d = app.ok(token, LIST, json!({ "a": after })).await;
        let c = &d["contacts"];
        totals.insert(c["totalCount"].as_u64().unwrap() as usize);
        for n in c["nodes"].as_array().unwrap() {
            assert!(seen.insert(n["id"].as_str().unwrap().to_string()), "once");
        }
        if c["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(totals.len(), 1, "one total on every page");
    (seen, totals.pop_first().unwrap())
}

/// A partner's contact count is kept per partner (the shared contacts at its accounts). Two
/// writers racing at one account on PostgreSQL, a contact shared there while a partner comes
/// onto the account, each in either order, leave the count equal to the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_s_contact_count_holds_when_sharing_and_joining_race() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return; // SQLite has one writer at a time: nothing races.
    }
    let (a, b, c) = (
        app.create_partner("A").await,
        app.create_partner("B").await,
        app.partner("C").await,
    );
    let (acct, opp) = partner_on_deal(&app, &a, "race.example").await;
    let first = contact(
        &app,
        &app.vendor,
        &acct,
        person("Ann", "ann@race.example", "IT", None),
    )
    .await;
    let first = cosell::ids::decode_as(&first, cosell::ids::Kind::Contact).unwrap();
    let account = cosell::ids::decode_as(&acct, cosell::ids::Kind::Account).unwrap();
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(300));

    // The contact is shared in a transaction still open when B comes onto the account: B's
    // approval waits for it, then counts the contact.
    let txn = app.db.begin().await.unwrap();
    txn.execute_unprepared(&format!(
        "UPDATE contacts SET shared = TRUE WHERE id = {first}"
    ))
    .await
    .unwrap();
    tokio::join!(join_deal(&app, &b, &opp), async {
        pause().await;
        txn.commit().await.unwrap();
    });
    let (seen, total) = every_contact(&app, &partner_token(&b)).await;
    assert_eq!((seen.len(), total), (1, 1), "B sees the shared contact");

    // C comes onto the account in a transaction still open when the vendor shares another
    // contact there: the vendor's write waits for it, then counts C in.
    let txn = app.db.begin().await.unwrap();
    txn.execute_unprepared(&format!(
        "INSERT INTO partner_accounts (partner_id, account_id, claims) VALUES ({}, {account}, 1)",
        cosell::ids::decode_as(&c.id, cosell::ids::Kind::Partner).unwrap()
    ))
    .await
    .unwrap();
    let shared = json!({ "name": "Bo", "email": "bo@race.example", "shared": true });
    tokio::join!(contact(&app, &app.vendor, &acct, shared), async {
        pause().await;
        txn.commit().await.unwrap();
    });
    let (seen, total) = every_contact(&app, &c.token).await;
    assert_eq!((seen.len(), total), (2, 2), "C sees both shared contacts");
    let (seen, total) = every_contact(&app, &partner_token(&b)).await;
    assert_eq!((seen.len(), total), (2, 2), "so does B");
}
