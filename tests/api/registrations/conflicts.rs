//! Conflicts at submission and their resolution, and racing submissions for an exclusive role.

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

pub(super) const RESOLVE: &str =
    "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { conflict {
  id status resolution resolutionReason resolvedBy winner { id }
  registration { id status version opportunity { id } } } } }";

pub(super) async fn resolve(app: &TestApp, input: Value) -> Value {
    app.ok(&app.vendor, RESOLVE, json!({ "i": input })).await["resolveConflict"]["conflict"].clone()
}

async fn status_of(app: &TestApp, id: &Value) -> Value {
    app.ok(
        &app.vendor,
        "query($id: ID!) { registration(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await["registration"]["status"]
        .clone()
}

#[tokio::test]
async fn a_duplicate_claim_is_held_until_resolved_and_approval_waits_for_it() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let first = submit(&app, &p, proposed("acme.com", "SERVICES", 1)).await;
    assert_eq!(first["status"], "SUBMITTED");
    let second = submit(&app, &p, proposed("https://www.acme.com", "REFERRAL", 1)).await;
    assert_eq!(second["status"], "UNDER_REVIEW");
    let c = &second["conflicts"][0];
    assert_eq!(c["kind"], "DUPLICATE_REGISTRATION");
    assert_eq!(c["status"], "OPEN");
    assert_eq!(second["conflicts"].as_array().unwrap().len(), 1);
    let d = app
        .ok(&app.vendor, "query($id: ID!) { registration(id: $id) { history { fromStatus toStatus actor reason } } conflict(id: $c) { otherRegistration { id } registration { id } } }".replace("$id: ID!", "$id: ID!, $c: ID!").as_str(),
            json!({ "id": second["id"], "c": c["id"] }))
        .await;
    let h = d["registration"]["history"].as_array().unwrap();
    assert_eq!(
        h.last().unwrap(),
        &json!({ "fromStatus": "SUBMITTED", "toStatus": "UNDER_REVIEW", "actor": "system:conflict-detection", "reason": "held by conflict: DUPLICATE_REGISTRATION" })
    );
    assert_eq!(d["conflict"]["otherRegistration"]["id"], first["id"]);
    assert_eq!(d["conflict"]["registration"]["id"], second["id"]);
    // The partner sees the other registration, its own.
    let d = app
        .ok(
            &partner_token(&p),
            "query($c: ID!) { conflict(id: $c) { otherRegistration { id } } }",
            json!({ "c": c["id"] }),
        )
        .await;
    assert_eq!(d["conflict"]["otherRegistration"]["id"], first["id"]);

    let body = reg_try(
        &app,
        &app.vendor,
        "approveRegistration",
        "ApproveRegistrationInput",
        json!({ "id": second["id"], "expectedVersion": second["version"], "createOpportunity": true }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("resolveConflict"));

    // A reason is required; a partner or SALES cannot resolve.
    let body = app
        .gql(
            &app.vendor,
            RESOLVE,
            json!({ "i": { "id": c["id"], "resolution": "REJECTED", "reason": "" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    for t in [partner_token(&p), vendor_token("SALES")] {
        let body = app
            .gql(
                &t,
                RESOLVE,
                json!({ "i": { "id": c["id"], "resolution": "REJECTED", "reason": "dup" } }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    // The held claim's version guards the resolution.
    let body = app
        .gql(&app.vendor, RESOLVE, json!({ "i": { "id": c["id"], "resolution": "REJECTED", "reason": "dup", "expectedVersion": 99 } }))
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH", "{body}");
    let r = resolve(&app, json!({ "id": c["id"], "resolution": "REJECTED", "reason": "Duplicate of your earlier claim" })).await;
    assert_eq!(r["status"], "RESOLVED");
    assert_eq!(r["resolution"], "REJECTED");
    assert_eq!(r["resolutionReason"], "Duplicate of your earlier claim");
    assert_eq!(r["resolvedBy"], "admin@vendor.test");
    assert_eq!(r["registration"]["status"], "REJECTED");
    assert_eq!(
        status_of(&app, &first["id"]).await,
        "SUBMITTED",
        "the first claim is untouched"
    );
    let body = app
        .gql(
            &app.vendor,
            RESOLVE,
            json!({ "i": { "id": c["id"], "resolution": "REJECTED", "reason": "again" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "already resolved");
    let d = app
        .ok(&app.vendor, "{ open: conflicts(status: OPEN) { totalCount } resolved: conflicts(status: RESOLVED) { totalCount } }", json!({}))
        .await;
    assert_eq!(d["open"]["totalCount"], 0);
    assert_eq!(d["resolved"]["totalCount"], 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'conflict.raised'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'conflict.resolved'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_exclusive_role_taken_by_another_partner_is_settled_by_choosing_a_winner() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = submit(&app, &p, proposed("acme.com", "RESELLER", 1)).await;
    assert_eq!(a["status"], "SUBMITTED");
    let b = submit(&app, &q, proposed("acme.com", "RESELLER", 1)).await;
    assert_eq!(b["status"], "UNDER_REVIEW");
    assert_eq!(b["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    // A non-exclusive role on the same deal is no conflict.
    let si = submit(
        &app,
        &app.create_partner("Fabrikam").await,
        proposed("acme.com", "SYSTEM_INTEGRATOR", 1),
    )
    .await;
    assert_eq!(si["status"], "SUBMITTED", "{si}");
    assert_eq!(si["conflicts"], json!([]));

    let c = b["conflicts"][0]["id"].clone();
    let body = app
        .gql(
            &app.vendor,
            RESOLVE,
            json!({ "i": { "id": c, "resolution": "WINNER_CHOSEN", "reason": "x" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "a winner is needed");
    let body = app.gql(&app.vendor, RESOLVE, json!({ "i": { "id": c, "resolution": "WINNER_CHOSEN", "reason": "x", "winnerRegistrationId": si["id"] } })).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "the winner is one of the conflict's"
    );

    // The held claim wins: it is approved, the other claim is rejected.
    let r = resolve(&app, json!({ "id": c, "resolution": "WINNER_CHOSEN", "winnerRegistrationId": b["id"], "reason": "Contoso brought the lead" })).await;
    assert_eq!(r["resolution"], "WINNER_CHOSEN");
    assert_eq!(r["winner"]["id"], b["id"]);
    assert_eq!(r["registration"]["status"], "APPROVED");
    assert!(r["registration"]["opportunity"]["id"].is_string());
    assert_eq!(status_of(&app, &a["id"]).await, "REJECTED");
    // Northwind sees its conflict-free rejection, never Contoso's registration as a winner.
    let d = app
        .ok(&partner_token(&p), "{ myRegistrations { nodes { id status decision { reason } } } conflicts { totalCount } }", json!({}))
        .await;
    assert_eq!(d["myRegistrations"]["nodes"][0]["status"], "REJECTED");
    assert_eq!(
        d["myRegistrations"]["nodes"][0]["decision"]["reason"],
        "Contoso brought the lead"
    );
    assert_eq!(d["conflicts"]["totalCount"], 0);
    // Contoso sees its conflict, with the winner being its own registration.
    let d = app
        .ok(
            &partner_token(&q),
            "query($c: ID!) { conflict(id: $c) { winner { id } otherRegistration { id } } }",
            json!({ "c": c }),
        )
        .await;
    assert_eq!(d["conflict"]["winner"]["id"], b["id"]);
    assert!(
        d["conflict"]["otherRegistration"].is_null(),
        "Northwind's claim stays hidden"
    );
}

#[tokio::test]
async fn choosing_the_other_claim_rejects_the_held_one_and_approves_the_winner() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = submit(&app, &p, proposed("acme.com", "DISTRIBUTOR", 1)).await;
    let b = submit(&app, &q, proposed("acme.com", "DISTRIBUTOR", 1)).await;
    assert_eq!(b["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    let r = resolve(&app, json!({ "id": b["conflicts"][0]["id"], "resolution": "WINNER_CHOSEN", "winnerRegistrationId": a["id"], "reason": "First come" })).await;
    assert_eq!(r["registration"]["status"], "REJECTED");
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { status opportunity { id rolesFilled } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "APPROVED");
    assert_eq!(
        d["registration"]["opportunity"]["rolesFilled"],
        json!(["DISTRIBUTOR"])
    );
}

#[tokio::test]
async fn an_approved_exclusive_holder_blocks_approving_another_without_co_selling() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = approve(
        &app,
        &submit(&app, &p, proposed("acme.com", "RESELLER", 1)).await,
        json!({ "createOpportunity": true }),
    )
    .await;
    let opp = a["opportunity"]["id"].clone();
    let b = submit(&app, &q, proposed("acme.com", "RESELLER", 1)).await;
    let c = b["conflicts"][0]["id"].clone();
    // Choosing the held claim while the other is already APPROVED is refused.
    let body = app.gql(&app.vendor, RESOLVE, json!({ "i": { "id": c, "resolution": "WINNER_CHOSEN", "winnerRegistrationId": b["id"], "reason": "x" } })).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(
        status_of(&app, &b["id"]).await,
        "UNDER_REVIEW",
        "nothing changed"
    );
    let r = resolve(&app, json!({ "id": c, "resolution": "CO_SELL_ALLOWED", "reason": "Both resell to different divisions" })).await;
    assert_eq!(r["resolution"], "CO_SELL_ALLOWED");
    assert_eq!(r["registration"]["status"], "APPROVED");
    assert_eq!(
        r["registration"]["opportunity"]["id"], opp,
        "linked to the deal the conflict names"
    );
    assert_eq!(status_of(&app, &a["id"]).await, "APPROVED");
}

#[tokio::test]
async fn a_direct_deal_in_a_late_stage_overlaps_by_domain_or_near_identical_name() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let globex = app.create_account("Globex Corporation", "globex.com").await;
    let direct = app
        .create_opportunity(&globex, json!({ "name": "Direct" }))
        .await;
    let early = app.create_account("Initech", "initech.com").await;
    app.create_opportunity(&early, json!({ "name": "Early" }))
        .await;
    // PROSPECTING: no overlap yet.
    let r = submit(&app, &p, proposed("globex.com", "SERVICES", 1)).await;
    assert_eq!(r["conflicts"], json!([]));
    app.ok(
        &app.vendor,
        MOVE,
        json!({ "i": { "id": direct["id"], "expectedVersion": 1, "stage": "PROPOSAL" } }),
    )
    .await;

    let mut by_name = proposed("globex-europe.example", "SYSTEM_INTEGRATOR", 1);
    by_name["accountName"] = json!("GLOBEX Corp.");
    let mut by_domain = proposed("www.globex.com", "REFERRAL", 1);
    by_domain["accountName"] = json!("Something else");
    let q = app.create_partner("Contoso").await;
    for (partner, draft) in [(&q, by_name), (&q, by_domain)] {
        let r = submit(&app, partner, draft).await;
        assert_eq!(r["status"], "UNDER_REVIEW", "{r}");
        let kinds: Vec<&Value> = r["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["kind"])
            .collect();
        assert!(kinds.contains(&&json!("DIRECT_DEAL_OVERLAP")), "{kinds:?}");
        // The vendor sees the direct deal it overlaps; the partner does not.
        let c = r["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "DIRECT_DEAL_OVERLAP")
            .unwrap()["id"]
            .clone();
        let q_ =
            "query($c: ID!) { conflict(id: $c) { opportunity { id } otherRegistration { id } } }";
        let d = app.ok(&app.vendor, q_, json!({ "c": c })).await;
        assert_eq!(d["conflict"]["opportunity"]["id"], direct["id"]);
        assert!(d["conflict"]["otherRegistration"].is_null());
        let d = app.ok(&partner_token(partner), q_, json!({ "c": c })).await;
        assert!(d["conflict"]["opportunity"].is_null());
    }
    // A different name at another domain does not overlap.
    let mut unrelated = proposed("umbrella.com", "SERVICES", 1);
    unrelated["accountName"] = json!("Umbrella Health");
    assert_eq!(submit(&app, &q, unrelated).await["conflicts"], json!([]));
    // A near-identical name matches only deals past QUALIFICATION: Initech's is PROSPECTING.
    let mut near = proposed("inetech.example", "SERVICES", 1);
    near["accountName"] = json!("Inetech");
    assert_eq!(submit(&app, &q, near).await["conflicts"], json!([]));

    // Once a partner claims the direct deal, it is no longer the direct team's alone.
    let held = app
        .ok(
            &app.vendor,
            "{ conflicts(status: OPEN) { nodes { id kind registration { id } } } }",
            json!({}),
        )
        .await;
    let first = held["conflicts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "DIRECT_DEAL_OVERLAP")
        .unwrap()
        .clone();
    let r = resolve(&app, json!({ "id": first["id"], "resolution": "CO_SELL_ALLOWED", "reason": "Partner joins the direct deal" })).await;
    assert_eq!(r["registration"]["status"], "APPROVED");
    assert_eq!(r["registration"]["opportunity"]["id"], direct["id"]);
    let mut late = proposed("globex.com", "INFLUENCER", 1);
    late["accountName"] = json!("Globex");
    let r = submit(&app, &app.create_partner("Fabrikam").await, late).await;
    assert!(
        !r["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "DIRECT_DEAL_OVERLAP"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_partners_for_one_exclusive_role_leave_exactly_one_approved() {
    let app = spawn_app().await;
    let d = app
        .ok(
            &app.vendor,
            RULE,
            json!({ "i": { "role": "RESELLER", "expectedVersion": 1, "autoApprove": true } }),
        )
        .await;
    assert_eq!(d["updateCollaborationRule"]["rule"]["autoApprove"], true);
    assert!(d["updateCollaborationRule"]["rule"]["autoApproveMinTier"].is_null());
    let mut partners = Vec::new();
    for i in 0..8 {
        partners.push(app.create_partner(&format!("Racer {i}")).await);
    }
    for round in 0..2 {
        let domain = format!("race{round}.example.com");
        let subs = partners.iter().map(|p| {
            let app = &app;
            let draft = proposed(&domain, "RESELLER", 1_000);
            async move {
                reg_try(
                    app,
                    &partner_token(p),
                    "submitRegistration",
                    "SubmitRegistrationInput",
                    json!({ "draft": draft }),
                )
                .await
            }
        });
        let results = futures_util::future::join_all(subs).await;
        let regs: Vec<&Value> = results
            .iter()
            .map(|b| {
                assert!(b.get("errors").is_none(), "{b}");
                &b["data"]["submitRegistration"]["registration"]
            })
            .collect();
        let approved: Vec<&&Value> = regs.iter().filter(|r| r["status"] == "APPROVED").collect();
        assert_eq!(approved.len(), 1, "round {round}: {regs:?}");
        assert_eq!(approved[0]["decision"]["decidedBy"], "policy:auto-approval");
        for r in regs.iter().filter(|r| r["status"] != "APPROVED") {
            assert_eq!(r["status"], "UNDER_REVIEW", "{r}");
            assert!(
                r["conflicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["kind"] == "EXCLUSIVE_ROLE_TAKEN"),
                "{r}"
            );
        }
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM registrations WHERE account_domain = '{domain}' AND status = 'APPROVED'"
            ))
            .await,
            1
        );
        assert_eq!(
            app.scalar(&format!("SELECT COUNT(*) FROM opportunities o JOIN accounts a ON a.id = o.account_id WHERE a.domain = '{domain}'"))
                .await,
            1,
            "one deal created"
        );
    }
}

#[tokio::test]
async fn a_withdrawn_or_rejected_claim_no_longer_conflicts() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = app.create_partner("Contoso").await;
    let a = submit(&app, &p, proposed("acme.com", "RESELLER", 1)).await;
    let t = partner_token(&p);
    let w = reg_op(
        &app,
        &t,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": a["id"], "expectedVersion": a["version"] }),
    )
    .await;
    assert_eq!(w["status"], "WITHDRAWN");
    let b = submit(&app, &q, proposed("acme.com", "RESELLER", 1)).await;
    assert_eq!(b["status"], "SUBMITTED");
    assert_eq!(b["conflicts"], json!([]));
    // Withdrawing a held claim closes its conflicts.
    let c = submit(&app, &p, proposed("acme.com", "RESELLER", 1)).await;
    assert_eq!(c["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    reg_op(
        &app,
        &t,
        "withdrawRegistration",
        "RegistrationDecisionInput",
        json!({ "id": c["id"], "expectedVersion": c["version"] }),
    )
    .await;
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { conflict(id: $id) { status resolution resolvedBy } }",
            json!({ "id": c["conflicts"][0]["id"] }),
        )
        .await;
    assert_eq!(d["conflict"]["status"], "RESOLVED");
    assert!(d["conflict"]["resolution"].is_null());
    assert_eq!(d["conflict"]["resolvedBy"], format!("user@{p}"));
    let d = app
        .ok(
            &app.vendor,
            "{ reviewQueue(filter: { hasOpenConflict: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 0);
}

/// The kinds of conflict a proposed deal at `domain`, named `name`, raises.
async fn overlap_kinds(app: &TestApp, partner: &str, domain: &str, name: &str) -> Vec<Value> {
    let mut draft = proposed(domain, "SERVICES", 1);
    draft["accountName"] = json!(name);
    let r = submit(app, partner, draft).await;
    r["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].clone())
        .collect()
}

#[tokio::test]
async fn near_identical_names_are_found_by_their_keys_after_a_rename_and_for_older_accounts() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let acct = app.create_account("Initech Systems", "initech.com").await;
    let direct = app
        .create_opportunity(&acct, json!({ "name": "Direct" }))
        .await;
    app.ok(
        &app.vendor,
        MOVE,
        json!({ "i": { "id": direct["id"], "expectedVersion": 1, "stage": "NEGOTIATION" } }),
    )
    .await;
    let overlap = json!("DIRECT_DEAL_OVERLAP");
    // One edit apart: a substitution, an insertion, a deletion.
    for (i, name) in ["Inetech Systems", "Initech Systemss", "Initch Systems"]
        .iter()
        .enumerate()
    {
        let kinds = overlap_kinds(&app, &p, &format!("near{i}.example"), name).await;
        assert!(kinds.contains(&overlap), "{name}: {kinds:?}");
    }
    // Renamed: the old name no longer overlaps, the new one does.
    let rename =
        "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) { account { name } } }";
    app.ok(
        &app.vendor,
        rename,
        json!({ "i": { "id": acct, "expectedVersion": 1, "name": "Hooli Global" } }),
    )
    .await;
    let kinds = overlap_kinds(&app, &p, "old-name.example", "Initech Systems").await;
    assert!(!kinds.contains(&overlap), "{kinds:?}");
    let kinds = overlap_kinds(&app, &p, "new-name.example", "Hooly Global").await;
    assert!(kinds.contains(&overlap), "{kinds:?}");
    // Accounts from before the keys existed get them at start-up.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DELETE FROM account_name_keys")
        .await
        .unwrap();
    let kinds = overlap_kinds(&app, &p, "unkeyed.example", "Hooli Global Ltd").await;
    assert!(
        !kinds.contains(&overlap),
        "no keys, no candidate: {kinds:?}"
    );
    cosell::db::migrate(&app.db).await.unwrap();
    let kinds = overlap_kinds(&app, &p, "rekeyed.example", "Hooli Global Ltd").await;
    assert!(kinds.contains(&overlap), "{kinds:?}");
}
