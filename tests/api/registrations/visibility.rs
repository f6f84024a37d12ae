//! What each partner may see when three partners share one deal, by every path.

use cosell::ids::{encode, Kind};
use serde_json::{json, Value};

use super::conflicts::resolve;
use super::*;
use crate::helpers::*;

const MINE: &str = "{ registrations { totalCount nodes { id } } myRegistrations { totalCount nodes { id } }
  programFigures { overall { submitted approved } byPartner { partnerId figures { submitted } } byStatus { status count } }
  opportunities { totalCount nodes { id forecastNotes probability registrations { id } rolesFilled } }
  conflicts { totalCount nodes { id otherRegistration { id } registration { id } } } }";

#[tokio::test]
async fn three_partners_on_one_deal_each_see_only_their_own_claims() {
    let app = spawn_app().await;
    let pa = app.create_partner("Alpha").await;
    let pb = app.create_partner("Bravo").await;
    let pc = app.create_partner("Charlie").await;
    let a = approve(
        &app,
        &submit(&app, &pa, proposed("acme.com", "RESELLER", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    let opp = a["opportunity"]["id"].clone();
    app.ok(&app.vendor, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } } }",
        json!({ "i": { "id": opp, "expectedVersion": 1, "forecastNotes": "Commit this quarter" } }))
        .await;
    // Bravo and Charlie claim the same customer by domain; both are held and then co-sell.
    let b = submit(&app, &pb, proposed("acme.com", "RESELLER", 1)).await;
    let c = submit(&app, &pc, proposed("acme.com", "DISTRIBUTOR", 1)).await;
    let c2 = submit(&app, &pc, proposed("acme.com", "DISTRIBUTOR", 1)).await;
    assert_eq!(b["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    assert_eq!(c["conflicts"], json!([]), "a different exclusive role");
    assert_eq!(c2["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
    resolve(&app, json!({ "id": b["conflicts"][0]["id"], "resolution": "CO_SELL_ALLOWED", "reason": "Co-sell" })).await;
    let r = resolve(&app, json!({ "id": c2["conflicts"][0]["id"], "resolution": "CO_SELL_ALLOWED", "reason": "Co-sell", "opportunityId": opp })).await;
    assert_eq!(r["registration"]["status"], "APPROVED");
    let c = approve(&app, &c, json!({ "opportunityId": opp })).await;
    assert_eq!(c["status"], "APPROVED");
    let mine = [
        (&pa, vec![a["id"].clone()], b["id"].clone()),
        (&pb, vec![b["id"].clone()], a["id"].clone()),
        (
            &pc,
            vec![c["id"].clone(), c2["id"].clone()],
            a["id"].clone(),
        ),
    ];
    let all: Vec<Value> = vec![
        a["id"].clone(),
        b["id"].clone(),
        c["id"].clone(),
        c2["id"].clone(),
    ];
    let d = app.ok(&app.vendor, "query($id: ID!) { opportunity(id: $id) { registrations { id } rolesFilled forecastNotes } }", json!({ "id": opp })).await;
    assert_eq!(
        d["opportunity"]["registrations"].as_array().unwrap().len(),
        4
    );
    let filled = d["opportunity"]["rolesFilled"].clone();
    let mut roles: Vec<&str> = filled
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["DISTRIBUTOR", "RESELLER"]);
    assert_eq!(d["opportunity"]["forecastNotes"], "Commit this quarter");

    for (me, own, foreign) in &mine {
        let t = partner_token(me);
        let d = app.ok(&t, MINE, json!({})).await;
        let own_ids: Vec<Value> = d["registrations"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect();
        assert_eq!(&own_ids, own, "registrations of {me}");
        assert_eq!(d["registrations"]["totalCount"], own.len());
        assert_eq!(d["myRegistrations"]["totalCount"], own.len());
        assert_eq!(d["myRegistrations"]["nodes"], d["registrations"]["nodes"]);
        assert_eq!(d["programFigures"]["overall"]["submitted"], own.len());
        assert_eq!(d["programFigures"]["overall"]["approved"], own.len());
        assert_eq!(
            d["programFigures"]["byPartner"],
            json!([{ "partnerId": me, "figures": { "submitted": own.len() } }])
        );
        let counted: i64 = d["programFigures"]["byStatus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_i64().unwrap())
            .sum();
        assert_eq!(counted as usize, own.len());
        // The shared deal: listed, own registrations only, every role filled, no internals.
        assert_eq!(d["opportunities"]["totalCount"], 1);
        let o = &d["opportunities"]["nodes"][0];
        assert_eq!(o["id"], opp);
        assert!(o["forecastNotes"].is_null());
        assert!(o["probability"].is_null());
        let seen: Vec<Value> = o["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect();
        assert_eq!(&seen, own);
        assert_eq!(o["rolesFilled"], filled);
        // Conflicts: only those holding own registrations, never naming another partner's.
        for conflict in d["conflicts"]["nodes"].as_array().unwrap() {
            assert!(own.contains(&conflict["registration"]["id"]));
            let other = &conflict["otherRegistration"];
            assert!(other.is_null() || own.contains(&other["id"]), "{other}");
        }
        // Another partner's registration answers like a missing one, everywhere.
        let q = "query($id: ID!) { registration(id: $id) { id } }";
        let foreign_body = app.gql(&t, q, json!({ "id": foreign })).await;
        let missing = app
            .gql(&t, q, json!({ "id": encode(Kind::Registration, 999) }))
            .await;
        assert_eq!(error_code(&foreign_body), "NOT_FOUND");
        assert_eq!(
            foreign_body["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
        let d = app
            .ok(
                &t,
                "query($ids: [ID!]!, $one: ID!) { nodes(ids: $ids) { id } node(id: $one) { id } }",
                json!({ "ids": all, "one": foreign }),
            )
            .await;
        assert!(d["node"].is_null());
        for (i, n) in d["nodes"].as_array().unwrap().iter().enumerate() {
            if own.contains(&all[i]) {
                assert_eq!(n["id"], all[i]);
            } else {
                assert!(n.is_null(), "{me} sees {}", all[i]);
            }
        }
        // The partner cannot act on another's registration either.
        let body = reg_try(
            &app,
            &t,
            "withdrawRegistration",
            "RegistrationDecisionInput",
            json!({ "id": foreign, "expectedVersion": 1 }),
        )
        .await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let body = app
            .gql(&t, "{ reviewQueue { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
        // Events about others' registrations never go to this partner.
        let n = num(&Value::String(me.to_string()));
        for other in all.iter().filter(|r| !own.contains(r)) {
            let leaks = app
                .scalar(&format!(
                    "SELECT COUNT(*) FROM events WHERE topic LIKE 'registration.%' AND subject_id = '{}' AND CAST(audience AS TEXT) LIKE '%\"partner:{n}\"%'",
                    other.as_str().unwrap()
                ))
                .await;
            assert_eq!(leaks, 0, "{me} hears of {other}");
            let total = app
                .scalar(&format!(
                    "SELECT COUNT(*) FROM events WHERE topic LIKE 'registration.%' AND subject_id = '{}'",
                    other.as_str().unwrap()
                ))
                .await;
            assert!(total >= 3, "the registration has events");
        }
        let own_events = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM events WHERE topic LIKE 'registration.%' AND subject_id = '{}' AND CAST(audience AS TEXT) LIKE '%\"partner:{n}\"%'",
                own[0].as_str().unwrap()
            ))
            .await;
        assert!(own_events >= 3, "a partner hears of its own registration");
    }
    // Bravo's conflict names Alpha's registration for the vendor only.
    let q = "query($id: ID!) { registration(id: $id) { conflicts { otherRegistration { id } resolution } } }";
    let d = app.ok(&app.vendor, q, json!({ "id": b["id"] })).await;
    assert_eq!(
        d["registration"]["conflicts"][0]["otherRegistration"]["id"],
        a["id"]
    );
    let d = app
        .ok(&partner_token(&pb), q, json!({ "id": b["id"] }))
        .await;
    assert!(d["registration"]["conflicts"][0]["otherRegistration"].is_null());
    assert_eq!(
        d["registration"]["conflicts"][0]["resolution"],
        "CO_SELL_ALLOWED"
    );
}

#[tokio::test]
async fn each_side_s_lists_refuse_the_other_and_a_partner_reads_its_own_private_notes() {
    let app = spawn_app().await;
    let north = app.partner("Northwind").await;
    let contoso = app.partner("Contoso").await;
    let deal = app
        .approved_deal("acme.com", &[(&north, "RESELLER"), (&contoso, "SERVICES")])
        .await;
    let q = "query($id: ID!) { opportunity(id: $id) { registrations { id privateNotes partner { id } } } }";
    for (me, mine) in [(&north, &deal.claims[0]), (&contoso, &deal.claims[1])] {
        let d = app
            .ok(&me.token, q, json!({ "id": deal.opportunity }))
            .await;
        assert_eq!(
            d["opportunity"]["registrations"],
            json!([{ "id": mine["id"], "privateNotes": format!("Notes of {}", me.id), "partner": { "id": me.id } }]),
            "a partner sees its own claim on a shared deal, not the other's"
        );
        let body = app
            .gql(&me.token, "{ reviewQueue { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    let d = app
        .ok(&app.vendor, q, json!({ "id": deal.opportunity }))
        .await;
    assert_eq!(
        d["opportunity"]["registrations"].as_array().unwrap().len(),
        2
    );
    let body = app
        .gql(&app.vendor, "{ myRegistrations { totalCount } }", json!({}))
        .await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "myRegistrations is a partner's list"
    );
}
