//! Accounts and opportunities: creation, validation, optimistic concurrency, the stage
//! lifecycle and its history, filters and events.

use serde_json::{json, Value};

use crate::helpers::*;

const UPDATE: &str = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version name amount { amount } } } }";
const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { version stage closedAt } } }";
const REOPEN: &str = "mutation($i: ReopenOpportunityInput!) { reopenOpportunity(input: $i) { opportunity { version stage closedAt stageHistory { fromStage toStage changedBy reason } } } }";

#[tokio::test]
async fn accounts_normalise_domains_and_refuse_duplicates() {
    let app = spawn_app().await;
    let d = app
        .ok(&app.vendor, "mutation { createAccount(input: { name: \"Acme\", domain: \"https://WWW.Acme.com/about\" }) { account { id domain version } } }", json!({}))
        .await;
    assert_eq!(d["createAccount"]["account"]["domain"], "acme.com");
    let body = app.gql(&app.vendor, "mutation { createAccount(input: { name: \"Acme 2\", domain: \"acme.com.\" }) { account { id } } }", json!({})).await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("acme.com"));
    let body = app.gql(&app.vendor, "mutation { createAccount(input: { name: \"Bad\", domain: \"not a domain\" }) { account { id } } }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "domain");
    let other = app.create_account("Globex", "globex.com").await;
    let body = app
        .gql(
            &app.vendor,
            "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) { account { domain } } }",
            json!({ "i": { "id": other, "expectedVersion": 1, "domain": "www.acme.com" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let d = app
        .ok(
            &app.vendor,
            "query($d: String) { accounts(filter: { domain: $d }) { totalCount nodes { name } } }",
            json!({ "d": "HTTP://acme.com" }),
        )
        .await;
    assert_eq!(d["accounts"]["nodes"][0]["name"], "Acme");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'account.created'")
            .await,
        2
    );
}

#[tokio::test]
async fn opportunities_are_created_with_history_and_event_and_validated() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let o = app
        .create_opportunity(
            &acct,
            json!({ "name": "CRM roll-out", "amount": 9007199254740991i64, "currency": "eur" }),
        )
        .await;
    assert_eq!(o["version"], 1);
    assert_eq!(o["stage"], "PROSPECTING");
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { opportunity(id: $id) { name region products amount { amount currency decimal } expectedCloseDate account { name } stageHistory { fromStage toStage changedBy } } }",
            json!({ "id": o["id"] }),
        )
        .await;
    let opp = &d["opportunity"];
    assert_eq!(
        opp["amount"],
        json!({ "amount": 9007199254740991i64, "currency": "EUR", "decimal": "90071992547409.91" })
    );
    assert_eq!(opp["region"], "EMEA", "defaults to the account's region");
    assert_eq!(opp["account"]["name"], "Acme");
    assert_eq!(
        opp["stageHistory"],
        json!([{ "fromStage": null, "toStage": "PROSPECTING", "changedBy": "admin@vendor.test" }])
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'opportunity.created'")
            .await,
        1
    );

    let before_events = app.scalar("SELECT COUNT(*) FROM events").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "currency": "XXY" }), "currency"),
        (json!({ "name": "   " }), "name"),
        (json!({ "probability": 101 }), "probability"),
        (
            json!({ "accountId": cosell::ids::encode(cosell::ids::Kind::Account, 999) }),
            "accountId",
        ),
    ];
    for (fields, field) in cases {
        let mut input = json!({ "accountId": acct, "name": "X", "amount": 1, "currency": "USD", "expectedCloseDate": "2027-01-01" });
        for (k, v) in fields.as_object().unwrap() {
            input[k] = v.clone();
        }
        let body = app.gql(&app.vendor, "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id } } }", json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    for bad in [
        json!(-1),
        json!(9007199254740992i64),
        json!("12x"),
        json!(1.5),
    ] {
        let input = json!({ "accountId": acct, "name": "X", "amount": bad, "currency": "USD", "expectedCloseDate": "2027-01-01" });
        let body = app.gql(&app.vendor, "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id } } }", json!({ "i": input })).await;
        assert!(
            matches!(
                error_code(&body),
                "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED"
            ),
            "{bad}: {body}"
        );
    }
    let body = app
        .gql(&app.vendor, "mutation { createOpportunity(input: { accountId: \"x\", name: \"X\", amount: 1, currency: \"USD\", expectedCloseDate: \"31/12/2027\" }) { opportunity { id } } }", json!({}))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD"),
        "{body}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM opportunities").await,
        1,
        "no half-written change"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events").await,
        before_events,
        "no event without a change"
    );
}

#[tokio::test]
async fn expected_version_guards_every_update() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let o = app.create_opportunity(&acct, json!({})).await;
    let id = o["id"].as_str().unwrap();
    let d = app
        .ok(
            &app.vendor,
            UPDATE,
            json!({ "i": { "id": id, "expectedVersion": 1, "name": "Renamed", "amount": 5 } }),
        )
        .await;
    assert_eq!(
        d["updateOpportunity"]["opportunity"],
        json!({ "version": 2, "name": "Renamed", "amount": { "amount": 5 } })
    );
    let body = app
        .gql(
            &app.vendor,
            UPDATE,
            json!({ "i": { "id": id, "expectedVersion": 1, "name": "Stale" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");
    assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 2);
    let body = app.gql(&app.vendor, UPDATE, json!({ "i": { "id": cosell::ids::encode(cosell::ids::Kind::Opportunity, 999), "expectedVersion": 1 } })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let p = app.create_partner("Contoso").await;
    let body = app
        .gql(&app.vendor, "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { version } } }", json!({ "i": { "id": p, "expectedVersion": 7, "tier": "PLATINUM" } }))
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_with_one_version_let_exactly_one_win() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let o = app.create_opportunity(&acct, json!({})).await;
    let id = o["id"].as_str().unwrap().to_string();
    let racers = (0..12).map(|i| {
        let app = &app;
        let id = id.clone();
        async move {
            app.gql(
                &app.vendor,
                UPDATE,
                json!({ "i": { "id": id, "expectedVersion": 1, "name": format!("Racer {i}") } }),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(racers).await;
    let won = results.iter().filter(|b| b.get("errors").is_none()).count();
    let lost = results
        .iter()
        .filter(|b| error_code(b) == "VERSION_MISMATCH")
        .count();
    assert_eq!((won, lost), (1, 11), "{results:?}");
    assert_eq!(
        app.scalar("SELECT CAST(version AS BIGINT) FROM opportunities")
            .await,
        2
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'opportunity.updated'")
            .await,
        1
    );
}

#[tokio::test]
async fn stages_move_with_history_and_closed_is_final_unless_an_admin_reopens() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    let o = app.create_opportunity(&acct, json!({})).await;
    let id = o["id"].as_str().unwrap();
    let sales = vendor_token("SALES");
    let d = app.ok(&sales, MOVE, json!({ "i": { "id": id, "expectedVersion": 1, "stage": "QUALIFICATION", "reason": "budget confirmed" } })).await;
    assert_eq!(
        d["moveOpportunityStage"]["opportunity"]["stage"],
        "QUALIFICATION"
    );
    let body = app
        .gql(
            &sales,
            MOVE,
            json!({ "i": { "id": id, "expectedVersion": 2, "stage": "QUALIFICATION" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "same stage");
    let d = app
        .ok(
            &sales,
            MOVE,
            json!({ "i": { "id": id, "expectedVersion": 2, "stage": "CLOSED_WON" } }),
        )
        .await;
    assert!(d["moveOpportunityStage"]["opportunity"]["closedAt"].is_string());
    let body = app
        .gql(
            &sales,
            MOVE,
            json!({ "i": { "id": id, "expectedVersion": 3, "stage": "NEGOTIATION" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("CLOSED_WON"));
    let body = app
        .gql(
            &sales,
            MOVE,
            json!({ "i": { "id": id, "expectedVersion": 3, "stage": "CLOSED_LOST" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let reopen = json!({ "i": { "id": id, "expectedVersion": 3, "stage": "NEGOTIATION", "reason": "customer came back" } });
    let body = app
        .gql(&vendor_token("CHANNEL_MANAGER"), REOPEN, reopen.clone())
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app.gql(&app.vendor, REOPEN, json!({ "i": { "id": id, "expectedVersion": 3, "stage": "NEGOTIATION", "reason": " " } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let d = app.ok(&app.vendor, REOPEN, reopen).await;
    let opp = &d["reopenOpportunity"]["opportunity"];
    assert_eq!(opp["stage"], "NEGOTIATION");
    assert!(opp["closedAt"].is_null());
    let history: Vec<(Value, Value)> = opp["stageHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["toStage"].clone(), h["reason"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (json!("PROSPECTING"), json!(null)),
            (json!("QUALIFICATION"), json!("budget confirmed")),
            (json!("CLOSED_WON"), json!(null)),
            (json!("NEGOTIATION"), json!("customer came back")),
        ]
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'opportunity.stage_changed'")
            .await,
        3
    );
    let body = app
        .gql(
            &app.vendor,
            REOPEN,
            json!({ "i": { "id": id, "expectedVersion": 4, "stage": "PROPOSAL", "reason": "x" } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "only closed opportunities reopen"
    );
}

#[tokio::test]
async fn filters_and_orderings() {
    let app = spawn_app().await;
    let acme = app.create_account("Acme", "acme.com").await;
    let globex = app.create_account("Globex", "globex.com").await;
    app.create_opportunity(&acme, json!({ "name": "Big 100% deal", "amount": 500, "expectedCloseDate": "2027-01-10", "owner": "ana@v", "region": "NA" })).await;
    app.create_opportunity(&acme, json!({ "name": "small_deal", "amount": 100, "expectedCloseDate": "2027-02-10", "stage": "QUALIFICATION" })).await;
    app.create_opportunity(&globex, json!({ "name": "Globex CRM", "amount": 300, "expectedCloseDate": "2027-03-10", "currency": "EUR", "stage": "CLOSED_WON" })).await;
    let names = |filter: Value, order: &'static str| {
        let app = &app;
        async move {
            let d = app
                .ok(&app.vendor, "query($f: OpportunityFilter, $o: OpportunityOrder) { opportunities(filter: $f, orderBy: $o) { totalCount nodes { name } } }", json!({ "f": filter, "o": order }))
                .await;
            let n: Vec<String> = d["opportunities"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(d["opportunities"]["totalCount"], n.len());
            n
        }
    };
    assert_eq!(
        names(json!({}), "AMOUNT_DESC").await,
        ["Big 100% deal", "Globex CRM", "small_deal"]
    );
    assert_eq!(
        names(json!({}), "NAME_ASC").await,
        ["Big 100% deal", "Globex CRM", "small_deal"]
    );
    assert_eq!(
        names(json!({}), "CLOSE_DATE_DESC").await,
        ["Globex CRM", "small_deal", "Big 100% deal"]
    );
    assert_eq!(
        names(
            json!({ "stageIn": ["QUALIFICATION", "CLOSED_WON"] }),
            "CREATED_ASC"
        )
        .await,
        ["small_deal", "Globex CRM"]
    );
    assert_eq!(
        names(json!({ "accountId": globex }), "CREATED_ASC").await,
        ["Globex CRM"]
    );
    assert_eq!(
        names(json!({ "owner": "ana@v" }), "CREATED_ASC").await,
        ["Big 100% deal"]
    );
    assert_eq!(
        names(json!({ "region": "NA" }), "CREATED_ASC").await,
        ["Big 100% deal"]
    );
    assert_eq!(
        names(
            json!({ "closeDateFrom": "2027-02-01", "closeDateTo": "2027-02-28" }),
            "CREATED_ASC"
        )
        .await,
        ["small_deal"]
    );
    assert_eq!(
        names(json!({ "amountMin": 200, "amountMax": 500 }), "AMOUNT_ASC").await,
        ["Globex CRM", "Big 100% deal"]
    );
    assert_eq!(
        names(json!({ "currency": "eur" }), "CREATED_ASC").await,
        ["Globex CRM"]
    );
    assert_eq!(
        names(json!({ "nameContains": "CRM" }), "CREATED_ASC").await,
        ["Globex CRM"]
    );
    assert_eq!(
        names(json!({ "nameContains": "crm" }), "CREATED_ASC").await,
        ["Globex CRM"],
        "case-insensitive"
    );
    assert_eq!(
        names(json!({ "nameContains": "100%" }), "CREATED_ASC").await,
        ["Big 100% deal"],
        "% is literal"
    );
    assert_eq!(
        names(json!({ "nameContains": "l_d" }), "CREATED_ASC").await,
        ["small_deal"],
        "_ is literal"
    );
}

/// Name search means the same on every backend, whatever index serves it: case-insensitive,
/// `%`, `_` and `\` taken literally, needles shorter than a trigram answered too, and a
/// partner finds only the deals it is on, in the page and in the count.
#[tokio::test]
async fn name_search_is_literal_case_insensitive_and_scoped() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Alpha").await, app.partner("Bravo").await);
    let acme = app.create_account("Acme", "acme.com").await;
    let globex = app.create_account("Globex", "globex.com").await;
    let initech = app.create_account("Initech", "initech.com").await;
    let mut ids = Vec::new();
    for (acct, name) in [
        (&acme, "Acme Analytics Platform"),
        (&globex, "Predictive ANALYTICS pilot"),
        (&initech, r"Data_warehouse 100% \ rollout"),
        (&globex, "Dataxwarehouse 1000 rollout"),
    ] {
        let o = app.create_opportunity(acct, json!({ "name": name })).await;
        ids.push(o["id"].as_str().unwrap().to_string());
    }
    for (m, domain, deal) in [
        (&a, "acme.com", &ids[0]),
        (&a, "initech.com", &ids[2]),
        (&b, "globex.com", &ids[1]),
    ] {
        let d = app
            .ok(&m.token, "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
                json!({ "i": { "draft": { "accountDomain": domain, "accountName": "X", "dealName": "X", "role": "REFERRAL", "justification": "x" } } }))
            .await;
        let r = &d["submitRegistration"]["registration"];
        app.ok(&app.vendor, "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id } } }",
            json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": deal } }))
            .await;
    }
    let found = |token: String, needle: &'static str| {
        let app = &app;
        async move {
            let d = app
                .ok(&token, "query($n: String) { opportunities(first: 20, filter: { nameContains: $n }) { totalCount nodes { name } } }", json!({ "n": needle }))
                .await;
            let names: Vec<String> = d["opportunities"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(d["opportunities"]["totalCount"], names.len(), "{needle}");
            names
        }
    };
    let v = app.vendor.clone();
    let both = ["Acme Analytics Platform", "Predictive ANALYTICS pilot"];
    assert_eq!(found(v.clone(), "analytics").await, both);
    assert_eq!(found(v.clone(), "AnAlYtIcS").await, both);
    assert_eq!(found(v.clone(), "an").await, both, "shorter than a trigram");
    let literal = [r"Data_warehouse 100% \ rollout"];
    for needle in ["%", "_", "a_w", r"\", "100%", r"% \ r"] {
        assert_eq!(found(v.clone(), needle).await, literal, "{needle}");
    }
    assert_eq!(found(v.clone(), "warehouse").await.len(), 2);
    assert_eq!(found(a.token.clone(), "analytics").await, both[..1]);
    assert_eq!(found(b.token.clone(), "analytics").await, both[1..]);
    assert_eq!(found(a.token.clone(), "%").await, literal);
    assert!(found(b.token.clone(), "%").await.is_empty());
    assert!(found(b.token.clone(), "warehouse").await.is_empty());
    // Pages after a cursor and last pages count the whole search too.
    let q = "query($n: String, $a: String) { opportunities(first: 1, after: $a, filter: { nameContains: $n }) { totalCount pageInfo { endCursor } nodes { name } } }";
    let d = app.ok(&v, q, json!({ "n": "analytics" })).await;
    assert_eq!(d["opportunities"]["totalCount"], 2);
    assert_eq!(d["opportunities"]["nodes"][0]["name"], both[0]);
    let cursor = d["opportunities"]["pageInfo"]["endCursor"].clone();
    let d = app
        .ok(&v, q, json!({ "n": "analytics", "a": cursor }))
        .await;
    assert_eq!(d["opportunities"]["totalCount"], 2);
    assert_eq!(d["opportunities"]["nodes"][0]["name"], both[1]);
    let q = "query($n: String) { opportunities(last: 1, filter: { nameContains: $n }) { totalCount nodes { name } } }";
    let d = app.ok(&a.token, q, json!({ "n": "analytics" })).await;
    assert_eq!(
        d["opportunities"]["totalCount"], 1,
        "a partner counts its own deals"
    );
    assert_eq!(d["opportunities"]["nodes"][0]["name"], both[0]);
    let d = app.ok(&b.token, q, json!({ "n": "acme" })).await;
    assert_eq!(d["opportunities"]["totalCount"], 0, "{d}");
    // A renamed deal is found, and counted, by its new name only.
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": ids[0], "expectedVersion": 1, "name": "Acme Insight Platform" } }))
        .await;
    assert_eq!(found(v.clone(), "analytics").await, both[1..]);
    assert_eq!(found(v.clone(), "INSIGHT").await, ["Acme Insight Platform"]);
    assert!(found(a.token.clone(), "analytics").await.is_empty());
    assert_eq!(
        found(a.token.clone(), "insight").await,
        ["Acme Insight Platform"]
    );
    assert!(found(b.token.clone(), "insight").await.is_empty());
}
