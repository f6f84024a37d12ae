//! Deal registration end to end over HTTP: the lifecycle, conflicts, rules, expiry, scoping
//! with three partners, racing submissions and the statement count of a nested page.

use cosell::ids::{encode, Kind};
use serde_json::{json, Value};

use crate::helpers::*;

const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) {
  registration { id status version opportunity { id } conflicts { id kind status } decision { decidedBy automatic } } } }";
const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) {
  registration { id status version protectionExpiresAt opportunity { id name } } } }";
const REJECT: &str = "mutation($i: RegistrationDecisionInput!) { rejectRegistration(input: $i) { registration { status version } } }";
const ASK: &str = "mutation($i: RegistrationDecisionInput!) { requestRegistrationInfo(input: $i) { registration { status version infoRequest } } }";
const ANSWER: &str = "mutation($i: AnswerInfoRequestInput!) { answerInfoRequest(input: $i) { registration { status version } } }";
const WITHDRAW: &str = "mutation($i: RegistrationDecisionInput!) { withdrawRegistration(input: $i) { registration { status version } } }";
const RESOLVE: &str = "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { status resolution registration { status opportunity { id } } } }";
const RULE: &str = "mutation($i: UpdateCollaborationRuleInput!) { updateCollaborationRule(input: $i) { role autoApprove version } }";

fn proposed(domain: &str, role: &str) -> Value {
    json!({ "accountDomain": domain, "accountName": format!("{domain} Inc"), "dealName": "Roll-out", "role": role,
            "amount": 500000, "currency": "USD", "justification": "We know the buyer.", "privateNotes": format!("secret of {domain}") })
}

async fn submit(app: &TestApp, partner: &str, draft: Value) -> Value {
    let d = app
        .ok(
            &partner_token(partner),
            SUBMIT,
            json!({ "i": { "draft": draft } }),
        )
        .await;
    d["submitRegistration"]["registration"].clone()
}

fn id_ver(r: &Value) -> (String, i64) {
    (
        r["id"].as_str().unwrap().to_string(),
        r["version"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn the_whole_lifecycle_with_history_and_events() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let d = app
        .ok(&t, "mutation($d: RegistrationDraftInput!) { createRegistrationDraft(input: $d) { registration { id status version } } }", json!({ "d": proposed("acme.com", "RESELLER") }))
        .await;
    let (id, v) = id_ver(&d["createRegistrationDraft"]["registration"]);
    let mut edited = proposed("https://www.Acme.com/", "RESELLER");
    edited["justification"] = json!("Updated pitch");
    let d = app
        .ok(&t, "mutation($i: UpdateRegistrationDraftInput!) { updateRegistrationDraft(input: $i) { registration { version accountDomain justification } } }", json!({ "i": { "id": id, "expectedVersion": v, "draft": edited } }))
        .await;
    assert_eq!(
        d["updateRegistrationDraft"]["registration"]["accountDomain"],
        "acme.com"
    );
    let d = app
        .ok(
            &t,
            SUBMIT,
            json!({ "i": { "id": id, "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(
        d["submitRegistration"]["registration"]["status"],
        "SUBMITTED"
    );
    let cm = vendor_token("CHANNEL_MANAGER");
    let d = app
        .ok(
            &cm,
            ASK,
            json!({ "i": { "id": id, "expectedVersion": 3, "reason": "Who is the sponsor?" } }),
        )
        .await;
    assert_eq!(
        d["requestRegistrationInfo"]["registration"]["infoRequest"],
        "Who is the sponsor?"
    );
    let d = app
        .ok(
            &t,
            ANSWER,
            json!({ "i": { "id": id, "expectedVersion": 4, "answer": "The CFO." } }),
        )
        .await;
    assert_eq!(
        d["answerInfoRequest"]["registration"]["status"],
        "SUBMITTED"
    );
    let body = app
        .gql(
            &cm,
            APPROVE,
            json!({ "i": { "id": id, "expectedVersion": 5 } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a proposed deal needs a link or createOpportunity: {body}"
    );
    let d = app.ok(&cm, APPROVE, json!({ "i": { "id": id, "expectedVersion": 5, "createOpportunity": true, "reason": "Good fit" } })).await;
    let reg = &d["approveRegistration"]["registration"];
    assert_eq!(reg["status"], "APPROVED");
    assert!(reg["protectionExpiresAt"].is_string());
    let opp = reg["opportunity"]["id"].as_str().unwrap().to_string();
    assert_eq!(reg["opportunity"]["name"], "Roll-out");
    let d = app
        .ok(&cm, "query($id: ID!) { registration(id: $id) { status decision { decidedBy reason automatic } history { fromStatus toStatus actor reason } } }", json!({ "id": id }))
        .await;
    let steps: Vec<String> = d["registration"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}>{}",
                h["fromStatus"].as_str().unwrap_or("-"),
                h["toStatus"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            "->DRAFT",
            "DRAFT>SUBMITTED",
            "SUBMITTED>NEEDS_INFO",
            "NEEDS_INFO>SUBMITTED",
            "SUBMITTED>UNDER_REVIEW",
            "UNDER_REVIEW>APPROVED"
        ]
    );
    assert_eq!(d["registration"]["history"][3]["reason"], "The CFO.");
    assert_eq!(
        d["registration"]["decision"],
        json!({ "decidedBy": "channel_manager@vendor.test", "reason": "Good fit", "automatic": false })
    );
    // Closing the deal won moves the approved registration to WON.
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }", json!({ "i": { "id": opp, "expectedVersion": 1, "stage": "CLOSED_WON" } }))
        .await;
    let d = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "WON");
    let body = app
        .gql(
            &t,
            WITHDRAW,
            json!({ "i": { "id": id, "expectedVersion": d["registration"]["version"] } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WON"),
        "{body}"
    );
    let topics = app
        .scalar("SELECT COUNT(*) FROM events WHERE topic LIKE 'registration.%'")
        .await;
    // draft, submitted, needs_info, submitted (answer), approved, won
    assert_eq!(topics, 6);
}

#[tokio::test]
async fn refused_transitions_name_the_current_status_and_roles_are_enforced() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let r = submit(&app, &p, proposed("acme.com", "SERVICES")).await;
    let (id, v) = id_ver(&r);
    let sales = vendor_token("SALES");
    let body = app
        .gql(
            &sales,
            REJECT,
            json!({ "i": { "id": id, "expectedVersion": v, "reason": "no" } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "SALES reads but does not decide"
    );
    let d = app
        .ok(
            &sales,
            "query($id: ID!) { registration(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "SUBMITTED");
    let body = app
        .gql(
            &t,
            APPROVE,
            json!({ "i": { "id": id, "expectedVersion": v, "createOpportunity": true } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "a partner cannot approve");
    let body = app
        .gql(
            &app.vendor,
            REJECT,
            json!({ "i": { "id": id, "expectedVersion": v } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "rejection needs a reason"
    );
    let body = app
        .gql(
            &app.vendor,
            REJECT,
            json!({ "i": { "id": id, "expectedVersion": v + 5, "reason": "x" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH");
    let d = app
        .ok(
            &app.vendor,
            REJECT,
            json!({ "i": { "id": id, "expectedVersion": v, "reason": "direct deal" } }),
        )
        .await;
    assert_eq!(
        d["rejectRegistration"]["registration"]["status"],
        "REJECTED"
    );
    let v = d["rejectRegistration"]["registration"]["version"]
        .as_i64()
        .unwrap();
    for (q, token, extra) in [
        (APPROVE, &app.vendor, json!({ "createOpportunity": true })),
        (ASK, &app.vendor, json!({ "reason": "?" })),
        (WITHDRAW, &t, json!({})),
        (ANSWER, &t, json!({ "answer": "x" })),
    ] {
        let mut i = json!({ "id": id, "expectedVersion": v });
        for (k, val) in extra.as_object().unwrap() {
            i[k] = val.clone();
        }
        let body = app.gql(token, q, json!({ "i": i })).await;
        assert_eq!(error_code(&body), "CONFLICT", "{q}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("REJECTED"),
            "{body}"
        );
    }
    let body = app.gql(&t, "mutation($i: ProtectionExtensionInput!) { requestProtectionExtension(input: $i) { registration { id } } }", json!({ "i": { "id": id, "expectedVersion": v, "days": 10, "reason": "x" } })).await;
    assert_eq!(error_code(&body), "CONFLICT");
}

#[tokio::test]
async fn idempotent_submission_returns_the_first_result() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let t = partner_token(&p);
    let input =
        json!({ "i": { "idempotencyKey": "crm-4711", "draft": proposed("acme.com", "REFERRAL") } });
    let a = app.ok(&t, SUBMIT, input.clone()).await;
    let b = app.ok(&t, SUBMIT, input).await;
    assert_eq!(
        a["submitRegistration"]["registration"]["id"],
        b["submitRegistration"]["registration"]["id"]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM registrations").await, 1);
    let other = app.create_partner("Contoso").await;
    let c = app.ok(&partner_token(&other), SUBMIT, json!({ "i": { "idempotencyKey": "crm-4711", "draft": proposed("globex.com", "REFERRAL") } })).await;
    assert_ne!(
        c["submitRegistration"]["registration"]["id"],
        a["submitRegistration"]["registration"]["id"],
        "keys are per partner"
    );
}

#[tokio::test]
async fn each_conflict_kind_holds_the_registration_until_resolved() {
    let app = spawn_app().await;
    let north = app.create_partner("Northwind").await;
    let contoso = app.create_partner("Contoso").await;
    // Exclusive role taken.
    let first = submit(&app, &north, proposed("acme.com", "RESELLER")).await;
    assert_eq!(first["status"], "SUBMITTED");
    let second = submit(&app, &contoso, proposed("acme.com", "RESELLER")).await;
    assert_eq!(second["status"], "UNDER_REVIEW");
    assert_eq!(second["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    // Non-exclusive roles do not conflict.
    let fabrikam = app.create_partner("Fabrikam").await;
    let si = submit(&app, &fabrikam, proposed("acme.com", "SYSTEM_INTEGRATOR")).await;
    assert_eq!(si["status"], "SUBMITTED");
    // Duplicate by the same partner.
    let dup = submit(&app, &north, proposed("acme.com", "REFERRAL")).await;
    assert_eq!(dup["conflicts"][0]["kind"], "DUPLICATE_REGISTRATION");
    // Direct deal overlap: a near-identical account name with a late-stage vendor deal.
    let acct = app.create_account("Globex Retail", "globex.com").await;
    app.create_opportunity(
        &acct,
        json!({ "name": "Store analytics", "stage": "PROPOSAL" }),
    )
    .await;
    let mut d = proposed("globex-retail.example", "REFERRAL");
    d["accountName"] = json!("GLOBEX RETAIL Ltd.");
    let overlap = submit(&app, &north, d).await;
    assert_eq!(overlap["conflicts"][0]["kind"], "DIRECT_DEAL_OVERLAP");
    // A held registration cannot be approved until the conflict is resolved.
    let (sid, sv) = id_ver(&second);
    let body = app
        .gql(
            &app.vendor,
            APPROVE,
            json!({ "i": { "id": sid, "expectedVersion": sv, "createOpportunity": true } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("resolveConflict"));
    // The held partner sees its conflict but not the other partner's registration.
    let d = app.ok(&partner_token(&contoso), "query($id: ID!) { registration(id: $id) { conflicts { kind otherRegistration { id } opportunity { id } } } }", json!({ "id": sid })).await;
    assert_eq!(
        d["registration"]["conflicts"][0],
        json!({ "kind": "EXCLUSIVE_ROLE_TAKEN", "otherRegistration": null, "opportunity": null })
    );
    // Resolve: the first partner wins; the held one is rejected.
    let cid = second["conflicts"][0]["id"].as_str().unwrap();
    let stale = app
        .gql(&app.vendor, RESOLVE, json!({ "i": { "id": cid, "resolution": "REJECTED", "reason": "x", "expectedVersion": 99 } }))
        .await;
    assert_eq!(
        error_code(&stale),
        "VERSION_MISMATCH",
        "the held registration's version guards the resolution"
    );
    let body = app
        .gql(
            &app.vendor,
            RESOLVE,
            json!({ "i": { "id": cid, "resolution": "WINNER_CHOSEN", "reason": "x" } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "WINNER_CHOSEN needs the winner"
    );
    let d = app.ok(&app.vendor, RESOLVE, json!({ "i": { "id": cid, "resolution": "WINNER_CHOSEN", "winnerRegistrationId": first["id"], "reason": "first to register" } })).await;
    assert_eq!(d["resolveConflict"]["status"], "RESOLVED");
    assert_eq!(d["resolveConflict"]["registration"]["status"], "REJECTED");
    let body = app
        .gql(
            &app.vendor,
            RESOLVE,
            json!({ "i": { "id": cid, "resolution": "REJECTED", "reason": "again" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "resolved once");
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { status } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_eq!(
        d["registration"]["status"], "APPROVED",
        "the winner is approved"
    );
    // Co-selling on the direct deal: the partner joins the vendor's opportunity.
    let ocid = overlap["conflicts"][0]["id"].as_str().unwrap();
    let d = app.ok(&app.vendor, RESOLVE, json!({ "i": { "id": ocid, "resolution": "CO_SELL_ALLOWED", "reason": "help welcome" } })).await;
    assert_eq!(d["resolveConflict"]["registration"]["status"], "APPROVED");
    assert!(d["resolveConflict"]["registration"]["opportunity"]["id"].is_string());
    // Rejecting outright.
    let dcid = dup["conflicts"][0]["id"].as_str().unwrap();
    let d = app.ok(&app.vendor, RESOLVE, json!({ "i": { "id": dcid, "resolution": "REJECTED", "reason": "one claim per partner" } })).await;
    assert_eq!(d["resolveConflict"]["registration"]["status"], "REJECTED");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'conflict.raised'")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'conflict.resolved'")
            .await,
        3
    );
}

#[tokio::test]
async fn auto_approval_follows_the_rule_and_only_admins_change_rules() {
    let app = spawn_app().await;
    let gold = app.create_partner("Gold Partner").await;
    let silver = app
        .ok(&app.vendor, "mutation { createPartner(input: { name: \"Silver\", tier: SILVER }) { partner { id } } }", json!({}))
        .await["createPartner"]["partner"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rule = json!({ "i": { "role": "REFERRAL", "expectedVersion": 1, "autoApprove": true, "autoApproveMinTier": "GOLD", "autoApproveMaxAmount": 1000000 } });
    let body = app
        .gql(&vendor_token("CHANNEL_MANAGER"), RULE, rule.clone())
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let d = app.ok(&app.vendor, RULE, rule.clone()).await;
    assert_eq!(d["updateCollaborationRule"]["version"], 2);
    assert_eq!(
        error_code(&app.gql(&app.vendor, RULE, rule).await),
        "VERSION_MISMATCH"
    );
    let body = app.gql(&app.vendor, RULE, json!({ "i": { "role": "REFERRAL", "expectedVersion": 2, "attributionWeightBps": 10001 } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let auto = submit(&app, &gold, proposed("acme.com", "REFERRAL")).await;
    assert_eq!(auto["status"], "APPROVED");
    assert_eq!(
        auto["decision"],
        json!({ "decidedBy": "policy:auto-approval", "automatic": true })
    );
    assert!(
        auto["opportunity"]["id"].is_string(),
        "a proposed deal gets its opportunity"
    );
    assert_eq!(
        submit(&app, &silver, proposed("globex.com", "REFERRAL")).await["status"],
        "SUBMITTED",
        "tier too low"
    );
    let mut big = proposed("initech.com", "REFERRAL");
    big["amount"] = json!(1000001);
    assert_eq!(
        submit(&app, &gold, big).await["status"],
        "SUBMITTED",
        "amount over the cap"
    );
    let d = app
        .ok(
            &partner_token(&gold),
            "{ collaborationRules { role exclusive protectionDays autoApprove } }",
            json!({}),
        )
        .await;
    let rules = d["collaborationRules"].as_array().unwrap();
    assert_eq!(rules.len(), 7);
    assert!(rules
        .iter()
        .any(|r| r["role"] == "RESELLER" && r["exclusive"] == true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_exclusive_submissions_never_both_end_up_approved() {
    let app = spawn_app().await;
    app.ok(
        &app.vendor,
        RULE,
        json!({ "i": { "role": "RESELLER", "expectedVersion": 1, "autoApprove": true } }),
    )
    .await;
    let mut partners = Vec::new();
    for i in 0..8 {
        partners.push(app.create_partner(&format!("Racer {i}")).await);
    }
    for round in 0..3 {
        let domain = format!("race{round}.example.com");
        let subs = partners.iter().map(|p| {
            let app = &app;
            let d = proposed(&domain, "RESELLER");
            async move {
                app.gql(&partner_token(p), SUBMIT, json!({ "i": { "draft": d } }))
                    .await
            }
        });
        let results = futures_util::future::join_all(subs).await;
        let statuses: Vec<&str> = results
            .iter()
            .map(|b| {
                b["data"]["submitRegistration"]["registration"]["status"]
                    .as_str()
                    .unwrap_or("ERROR")
            })
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == "APPROVED").count(),
            1,
            "round {round}: {statuses:?} {results:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == "UNDER_REVIEW").count(),
            7,
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn protection_expires_once_even_with_two_sweeps_and_the_background_job_runs() {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 0).await;
    let p = app.create_partner("Northwind").await;
    let mut ids = Vec::new();
    for d in ["a.example.com", "b.example.com", "c.example.com"] {
        let r = submit(&app, &p, proposed(d, "SERVICES")).await;
        let d = app.ok(&app.vendor, APPROVE, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } })).await;
        ids.push(
            d["approveRegistration"]["registration"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Extension by the vendor moves the end; then push every window into the past.
    let (reg, _) = (ids[0].clone(), ());
    let d = app.ok(&app.vendor, "mutation($i: ProtectionExtensionInput!) { extendRegistrationProtection(input: $i) { registration { version protectionExpiresAt } } }", json!({ "i": { "id": reg, "expectedVersion": 3, "days": 30 } })).await;
    assert!(d["extendRegistrationProtection"]["registration"]["protectionExpiresAt"].is_string());
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    use sea_orm::ConnectionTrait;
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.db.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    "UPDATE registrations SET protection_expires_at = $1"
                }
                _ => "UPDATE registrations SET protection_expires_at = ?",
            },
            [past.into()],
        ))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        cosell::db::registrations::lifecycle::expire_due(&app.db),
        cosell::db::registrations::lifecycle::expire_due(&app.db)
    );
    assert_eq!(
        a.unwrap() + b.unwrap(),
        3,
        "each registration expires exactly once"
    );
    // Called directly, not through a request: move the queued events into the outbox as the
    // hub does (PostgreSQL; nothing to do on SQLite).
    cosell::db::events::relay(&app.db).await.unwrap();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'registration.expired'")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM registrations WHERE status = 'EXPIRED'")
            .await,
        3
    );

    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 1).await;
    let p = app.create_partner("Contoso").await;
    let r = submit(&app, &p, proposed("d.example.com", "SERVICES")).await;
    app.ok(&app.vendor, APPROVE, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } })).await;
    app.db
        .execute_unprepared("UPDATE registrations SET protection_expires_at = created_at")
        .await
        .unwrap();
    let mut status = Value::Null;
    for _ in 0..40 {
        status = app
            .ok(
                &partner_token(&p),
                "query($id: ID!) { registration(id: $id) { status } }",
                json!({ "id": r["id"] }),
            )
            .await["registration"]["status"]
            .clone();
        if status == "EXPIRED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "EXPIRED", "the background sweep expires it");
}

#[tokio::test]
async fn three_partners_on_one_deal_see_only_their_own_claims() {
    let app = spawn_app().await;
    let names = ["Northwind", "Contoso", "Fabrikam"];
    let mut partners = Vec::new();
    for n in names {
        partners.push(app.create_partner(n).await);
    }
    let roles = ["RESELLER", "SYSTEM_INTEGRATOR", "SERVICES"];
    // The first proposes the deal; the vendor creates the opportunity; the others join it.
    let first = submit(&app, &partners[0], proposed("acme.com", roles[0])).await;
    let d = app.ok(&app.vendor, APPROVE, json!({ "i": { "id": first["id"], "expectedVersion": first["version"], "createOpportunity": true } })).await;
    let opp = d["approveRegistration"]["registration"]["opportunity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut regs = vec![first["id"].as_str().unwrap().to_string()];
    for i in 1..3 {
        let r = submit(&app, &partners[i], proposed("acme.com", roles[i])).await;
        let d = app.ok(&app.vendor, APPROVE, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "opportunityId": opp } })).await;
        assert_eq!(
            d["approveRegistration"]["registration"]["status"],
            "APPROVED"
        );
        regs.push(r["id"].as_str().unwrap().to_string());
    }
    let vendor = app
        .ok(&app.vendor, "query($id: ID!) { opportunity(id: $id) { registrations { id } rolesFilled } registrations { totalCount } programFigures { overall { submitted approved } byPartner { partnerId } } }", json!({ "id": opp }))
        .await;
    assert_eq!(
        vendor["opportunity"]["registrations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(vendor["registrations"]["totalCount"], 3);
    for i in 0..3 {
        let t = partner_token(&partners[i]);
        let q = "query($id: ID!) {
            opportunity(id: $id) { name forecastNotes probability rolesFilled registrations { id privateNotes } }
            opportunities { totalCount } accounts { totalCount }
            registrations { totalCount nodes { id } } myRegistrations { totalCount }
            programFigures { overall { submitted approved } byPartner { partnerId } byStatus { status count } } }";
        let d = app.ok(&t, q, json!({ "id": opp })).await;
        let o = &d["opportunity"];
        assert_eq!(
            o["rolesFilled"],
            json!(["RESELLER", "SYSTEM_INTEGRATOR", "SERVICES"]),
            "roles filled, not by whom"
        );
        assert_eq!(
            o["registrations"],
            json!([{ "id": regs[i], "privateNotes": "secret of acme.com" }])
        );
        assert!(o["forecastNotes"].is_null() && o["probability"].is_null());
        assert_eq!(d["opportunities"]["totalCount"], 1);
        assert_eq!(d["accounts"]["totalCount"], 1);
        assert_eq!(d["registrations"]["totalCount"], 1);
        assert_eq!(d["registrations"]["nodes"], json!([{ "id": regs[i] }]));
        assert_eq!(d["myRegistrations"]["totalCount"], 1);
        assert_eq!(
            d["programFigures"]["overall"],
            json!({ "submitted": 1, "approved": 1 })
        );
        assert_eq!(
            d["programFigures"]["byPartner"],
            json!([{ "partnerId": partners[i] }])
        );
        for j in (0..3).filter(|j| *j != i) {
            let foreign = app
                .gql(
                    &t,
                    "query($id: ID!) { registration(id: $id) { id } }",
                    json!({ "id": regs[j] }),
                )
                .await;
            let missing = app
                .gql(
                    &t,
                    "query($id: ID!) { registration(id: $id) { id } }",
                    json!({ "id": encode(Kind::Registration, 999) }),
                )
                .await;
            assert_eq!(
                foreign["errors"], missing["errors"],
                "a foreign id answers like a missing one"
            );
            let n = app
                .ok(
                    &t,
                    "query($id: ID!) { node(id: $id) { id } }",
                    json!({ "id": regs[j] }),
                )
                .await;
            assert!(n["node"].is_null());
            let body = app
                .gql(
                    &t,
                    WITHDRAW,
                    json!({ "i": { "id": regs[j], "expectedVersion": 3 } }),
                )
                .await;
            assert_eq!(
                error_code(&body),
                "NOT_FOUND",
                "no acting on another partner's claim"
            );
            let audience = format!(
                "partner:{}",
                cosell::ids::decode_as(&partners[i], Kind::Partner).unwrap()
            );
            let leaked = app
                .scalar(&format!(
                    "SELECT COUNT(*) FROM events WHERE topic LIKE 'registration.%' AND subject_id = '{}' AND CAST(audience AS TEXT) LIKE '%\"{audience}\"%'",
                    regs[j]
                ))
                .await;
            assert_eq!(
                leaked, 0,
                "partner {i} must not be told of registration {j}"
            );
        }
        let body = app
            .gql(&t, "{ reviewQueue { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    // Stage changes of the shared deal are told to all three partners.
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id } } }", json!({ "i": { "id": opp, "expectedVersion": 1, "stage": "SOLUTION" } }))
        .await;
    let told = app.scalar("SELECT COUNT(*) FROM events WHERE topic = 'opportunity.stage_changed' AND CAST(audience AS TEXT) LIKE '%partner:%'").await;
    assert_eq!(told, 1);
}

#[tokio::test]
async fn review_queue_filters_and_bulk_decisions() {
    let app = spawn_app_with(|s| s.program.review_sla_hours = 0).await;
    let north = app.create_partner("Northwind").await;
    let contoso = app.create_partner("Contoso").await;
    let a = submit(&app, &north, proposed("a.example.com", "SERVICES")).await;
    let b = submit(&app, &contoso, proposed("b.example.com", "REFERRAL")).await;
    let c = submit(&app, &contoso, proposed("a.example.com", "RESELLER")).await;
    let held = submit(&app, &north, proposed("a.example.com", "RESELLER")).await;
    assert_eq!(held["status"], "UNDER_REVIEW");
    let q = "query($f: RegistrationFilter) { reviewQueue(filter: $f) { totalCount nodes { id } } }";
    let ids = |d: &Value| {
        d["reviewQueue"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let all = app.ok(&app.vendor, q, json!({ "f": null })).await;
    assert_eq!(all["reviewQueue"]["totalCount"], 4);
    assert_eq!(ids(&all)[0], a["id"].as_str().unwrap(), "oldest first");
    let d = app
        .ok(&app.vendor, q, json!({ "f": { "partnerId": contoso } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 2);
    let d = app
        .ok(&app.vendor, q, json!({ "f": { "role": "REFERRAL" } }))
        .await;
    assert_eq!(ids(&d), [b["id"].as_str().unwrap()]);
    let d = app
        .ok(&app.vendor, q, json!({ "f": { "hasOpenConflict": false } }))
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 3);
    let d = app
        .ok(&app.vendor, q, json!({ "f": { "slaBreached": true } }))
        .await;
    assert_eq!(
        d["reviewQueue"]["totalCount"], 4,
        "a zero-hour SLA is breached by everything waiting"
    );
    let d = app
        .ok(
            &app.vendor,
            q,
            json!({ "f": { "submittedBefore": "2000-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(d["reviewQueue"]["totalCount"], 0);
    let _ = c;
    let items = json!([{ "id": a["id"], "expectedVersion": a["version"] }, { "id": b["id"], "expectedVersion": 99 }]);
    let d = app
        .ok(&vendor_token("CHANNEL_MANAGER"), "mutation($items: [BulkItemInput!]!) { bulkDecideRegistrations(decision: APPROVE, items: $items, reason: \"batch\") { id ok errorCode status } }", json!({ "items": items }))
        .await;
    let r = &d["bulkDecideRegistrations"];
    assert_eq!(r[0]["ok"], true);
    assert_eq!(r[0]["status"], "APPROVED");
    assert_eq!(
        r[1],
        json!({ "id": b["id"], "ok": false, "errorCode": "VERSION_MISMATCH", "status": null })
    );
}

#[tokio::test]
async fn a_page_of_deals_with_registrations_costs_a_fixed_number_of_statements() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let q = "query($n: Int) { opportunities(first: $n) { nodes { name rolesFilled account { name }
      registrations { status partner { name } history { toStatus } conflicts { kind } } } } }";
    for i in 0..12 {
        let r = submit(&app, &p, proposed(&format!("d{i}.example.com"), "SERVICES")).await;
        app.ok(&app.vendor, APPROVE, json!({ "i": { "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true } })).await;
    }
    let (small, _) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 2 })))
        .await;
    let (large, d) = app
        .count_statements(app.ok(&app.vendor, q, json!({ "n": 12 })))
        .await;
    assert_eq!(d["opportunities"]["nodes"].as_array().unwrap().len(), 12);
    assert_eq!(small, large, "statements must not grow with rows");
    assert!(large <= 8, "{large}");
}

#[tokio::test]
async fn review_start_withdrawal_extension_requests_losses_and_linking_rules() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let other = app.create_partner("Contoso").await;
    let t = partner_token(&p);
    let cm = vendor_token("CHANNEL_MANAGER");
    // Start review, then approve from UNDER_REVIEW (one history step).
    let r = submit(&app, &p, proposed("acme.com", "SERVICES")).await;
    let d = app
        .ok(&cm, "mutation($id: ID!, $v: Int!) { startRegistrationReview(id: $id, expectedVersion: $v) { registration { status version } } }", json!({ "id": r["id"], "v": r["version"] }))
        .await;
    assert_eq!(
        d["startRegistrationReview"]["registration"]["status"],
        "UNDER_REVIEW"
    );
    let body = app
        .gql(&cm, "mutation($id: ID!, $v: Int!) { startRegistrationReview(id: $id, expectedVersion: $v) { registration { status } } }", json!({ "id": r["id"], "v": 3 }))
        .await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "only SUBMITTED goes into review"
    );
    let body = app
        .gql(
            &cm,
            ASK,
            json!({ "i": { "id": r["id"], "expectedVersion": 3, "reason": "?" } }),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "NEEDS_INFO only from SUBMITTED, as drawn"
    );
    let d = app
        .ok(
            &cm,
            APPROVE,
            json!({ "i": { "id": r["id"], "expectedVersion": 3, "createOpportunity": true } }),
        )
        .await;
    let reg = &d["approveRegistration"]["registration"];
    let opp = reg["opportunity"]["id"].as_str().unwrap().to_string();
    // The partner asks for more protection; the vendor grants it and the request clears.
    let ext = "mutation($i: ProtectionExtensionInput!) { requestProtectionExtension(input: $i) { registration { version extensionRequest { days reason } } } }";
    let body = app.gql(&t, ext, json!({ "i": { "id": r["id"], "expectedVersion": 4, "days": 400, "reason": "long cycle" } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let d = app.ok(&t, ext, json!({ "i": { "id": r["id"], "expectedVersion": 4, "days": 30, "reason": "long cycle" } })).await;
    assert_eq!(
        d["requestProtectionExtension"]["registration"]["extensionRequest"],
        json!({ "days": 30, "reason": "long cycle" })
    );
    let before = reg["protectionExpiresAt"].as_str().unwrap().to_string();
    let d = app
        .ok(&cm, "mutation($i: ProtectionExtensionInput!) { extendRegistrationProtection(input: $i) { registration { protectionExpiresAt extensionRequest { days } } } }", json!({ "i": { "id": r["id"], "expectedVersion": 5, "days": 30 } }))
        .await;
    let after = d["extendRegistrationProtection"]["registration"]["protectionExpiresAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(after > before, "{after} > {before}");
    assert!(d["extendRegistrationProtection"]["registration"]["extensionRequest"].is_null());
    // A partner may register an opportunity it can see, and no other.
    let mut second = proposed("ignored.example", "INFLUENCER");
    second["opportunityId"] = json!(opp);
    let d = app.ok(&t, "mutation($d: RegistrationDraftInput!) { createRegistrationDraft(input: $d) { registration { id version accountDomain opportunity { id } } } }", json!({ "d": second }))
        .await;
    let draft = &d["createRegistrationDraft"]["registration"];
    assert_eq!(draft["accountDomain"], "acme.com");
    assert_eq!(draft["opportunity"]["id"], opp.as_str());
    let body = app.gql(&partner_token(&other), "mutation($d: RegistrationDraftInput!) { createRegistrationDraft(input: $d) { registration { id } } }", json!({ "d": second })).await;
    assert_eq!(
        error_code(&body),
        "NOT_FOUND",
        "an opportunity the partner is not on"
    );
    // Withdrawing an open draft.
    let d = app.ok(&t, WITHDRAW, json!({ "i": { "id": draft["id"], "expectedVersion": draft["version"], "reason": "changed our mind" } })).await;
    assert_eq!(
        d["withdrawRegistration"]["registration"]["status"],
        "WITHDRAWN"
    );
    // Closing the deal lost moves the approved claim to LOST.
    app.ok(&app.vendor, "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }", json!({ "i": { "id": opp, "expectedVersion": 1, "stage": "CLOSED_LOST" } }))
        .await;
    let d = app
        .ok(
            &t,
            "query($id: ID!) { registration(id: $id) { status history { toStatus actor } } }",
            json!({ "id": r["id"] }),
        )
        .await;
    assert_eq!(d["registration"]["status"], "LOST");
    // Making SERVICES exclusive makes a second partner's SERVICES claim conflict.
    app.ok(
        &app.vendor,
        RULE,
        json!({ "i": { "role": "SERVICES", "expectedVersion": 1, "exclusive": true } }),
    )
    .await;
    submit(&app, &p, proposed("globex.com", "SERVICES")).await;
    let held = submit(&app, &other, proposed("globex.com", "SERVICES")).await;
    assert_eq!(held["conflicts"][0]["kind"], "EXCLUSIVE_ROLE_TAKEN");
    // The held claim wins: it is approved and the earlier one rejected.
    let d = app
        .ok(&app.vendor, RESOLVE, json!({ "i": { "id": held["conflicts"][0]["id"], "resolution": "WINNER_CHOSEN", "winnerRegistrationId": held["id"], "reason": "stronger case" } }))
        .await;
    assert_eq!(d["resolveConflict"]["registration"]["status"], "APPROVED");
    let mine = app
        .ok(
            &t,
            "{ myRegistrations(filter: { statusIn: [REJECTED] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["myRegistrations"]["totalCount"], 1);
    let body = app
        .gql(&app.vendor, "{ myRegistrations { totalCount } }", json!({}))
        .await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "myRegistrations is a partner's list"
    );
}
