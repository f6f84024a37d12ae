//! Engagement invitations: the vendor invites partners to a deal; each invited partner sees its
//! own invitation and what was shared, and accepts (a registration through the lifecycle),
//! declines or lets it expire; races between answers, withdrawals and the expiry sweep.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const INVITE: &str = "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id version status role partner { id } } } }";
const ACCEPT: &str = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { invitation { id status version registration { id } } registration { id status role decision { decidedBy } opportunity { id } } } }";
const DECLINE: &str = "mutation($i: DeclineInvitationInput!) { declineInvitation(input: $i) { invitation { id status declineReason version } } }";
const WITHDRAW: &str = "mutation($i: WithdrawInvitationInput!) { withdrawInvitation(input: $i) { invitation { id status version } } }";
const LIST: &str = "query($f: InvitationFilter) { invitations(filter: $f, first: 50) { totalCount nodes { id status role message invitedBy partner { id } opportunity { id name } shared { fields customerName customerDomain dealName stage amount { amount currency } contacts { name email } } } } }";
const NODE_STATUS: &str = "query($id: ID!) { node(id: $id) { ... on Invitation { status } } }";
const NODE: &str =
    "query($id: ID!) { node(id: $id) { ... on Invitation { id status shared { customerName } } } }";

struct Program {
    app: TestApp,
    opportunity: String,
    contact: String,
}

async fn program() -> Program {
    let app = spawn_app_with(|s| s.program.expiry_interval_seconds = 0).await;
    let account = app.create_account("Globex", "globex.example").await;
    let opp = app
        .create_opportunity(&account, json!({ "name": "Globex platform" }))
        .await;
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "accountId": account, "contact": { "name": "Hank Scorpio", "email": "hank@globex.example", "department": "IT" } } }),
        )
        .await;
    Program {
        opportunity: opp["id"].as_str().unwrap().to_string(),
        contact: d["createContact"]["contact"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        app,
    }
}

async fn invite(
    app: &TestApp,
    opportunity: &str,
    partners: &[&Member],
    key: Option<&str>,
) -> Vec<Value> {
    let d = app
        .ok(
            &app.vendor,
            INVITE,
            json!({ "i": {
                "opportunityId": opportunity,
                "partnerIds": partners.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
                "role": "SERVICES",
                "message": "Implementation partner wanted",
                "share": { "fields": ["CUSTOMER_NAME", "AMOUNT", "STAGE"] },
                "idempotencyKey": key,
            } }),
        )
        .await;
    d["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .clone()
}

fn answer(inv: &Value) -> Value {
    json!({ "id": inv["id"], "expectedVersion": inv["version"] })
}

#[tokio::test]
async fn an_invited_partner_sees_only_its_invitation_and_accepting_makes_it_a_party() {
    let Program {
        app,
        opportunity,
        contact,
    } = program().await;
    let a = app.partner("Invited A").await;
    let b = app.partner("Invited B").await;
    let outsider = app.partner("Not Invited").await;
    let request = json!({ "i": {
        "opportunityId": opportunity, "partnerIds": [a.id, b.id], "role": "SERVICES",
        "message": "Implementation partner wanted",
        "share": { "fields": ["CUSTOMER_NAME", "AMOUNT", "STAGE"], "contactIds": [contact] },
        "idempotencyKey": "globex-1",
    } });
    let d = app.ok(&app.vendor, INVITE, request.clone()).await;
    let made = d["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(made.len(), 2);
    assert!(made
        .iter()
        .all(|i| i["status"] == "OPEN" && i["role"] == "SERVICES"));
    let (inv_a, inv_b) = (
        made.iter()
            .find(|i| i["partner"]["id"] == a.id.as_str())
            .unwrap()
            .clone(),
        made.iter()
            .find(|i| i["partner"]["id"] == b.id.as_str())
            .unwrap()
            .clone(),
    );

    // A retry with the same key returns the same invitations; the key with other partners is
    // refused.
    let mut retry = request.clone();
    retry["i"]["partnerIds"] = json!([b.id, a.id]);
    let again = app.ok(&app.vendor, INVITE, retry).await["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .clone();
    let mut ids: Vec<&Value> = again.iter().map(|i| &i["id"]).collect();
    ids.sort_by_key(|v| v.as_str().unwrap().to_string());
    let mut first: Vec<&Value> = made.iter().map(|i| &i["id"]).collect();
    first.sort_by_key(|v| v.as_str().unwrap().to_string());
    assert_eq!(ids, first);
    let reused = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [outsider.id], "role": "SERVICES", "idempotencyKey": "globex-1" } }))
        .await;
    assert_eq!(error_code(&reused), "IDEMPOTENCY_KEY_REUSED", "{reused}");
    // ...and so is the key with the same partners but another role.
    let other_role = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [a.id, b.id], "role": "REFERRAL", "idempotencyKey": "globex-1" } }))
        .await;
    assert_eq!(
        error_code(&other_role),
        "IDEMPOTENCY_KEY_REUSED",
        "{other_role}"
    );
    // A second open invitation of the same partner to the same deal is refused.
    let twice = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [a.id], "role": "SERVICES" } }))
        .await;
    assert_eq!(error_code(&twice), "CONFLICT", "{twice}");

    // The invited partner: its invitation, the shared fields and nothing else of the deal.
    let mine = app.ok(&a.token, LIST, json!({})).await;
    assert_eq!(mine["invitations"]["totalCount"], 1, "{mine}");
    let n = &mine["invitations"]["nodes"][0];
    assert_eq!(n["id"], inv_a["id"]);
    assert_eq!(n["message"], "Implementation partner wanted");
    assert!(
        n["invitedBy"].is_string(),
        "the approval will be recorded as the inviter's"
    );
    assert_eq!(n["opportunity"], Value::Null, "not a party yet");
    assert_eq!(n["shared"]["customerName"], "Globex");
    assert_eq!(n["shared"]["customerDomain"], Value::Null, "not shared");
    assert_eq!(n["shared"]["dealName"], Value::Null, "not shared");
    assert_eq!(n["shared"]["stage"], "PROSPECTING");
    assert_eq!(n["shared"]["amount"]["amount"], 100000);
    assert_eq!(
        n["shared"]["fields"],
        json!(["CUSTOMER_NAME", "AMOUNT", "STAGE"])
    );
    assert_eq!(
        n["shared"]["contacts"],
        json!([{ "name": "Hank Scorpio", "email": "hank@globex.example" }])
    );
    // ...and never the other invitee's, by any path.
    let other = app
        .ok(&a.token, LIST, json!({ "f": { "partnerId": b.id } }))
        .await;
    assert_eq!(other["invitations"]["totalCount"], 0);
    let node = app.ok(&a.token, NODE, json!({ "id": inv_b["id"] })).await;
    assert_eq!(node["node"], Value::Null);
    let hijack = app
        .gql(
            &a.token,
            DECLINE,
            json!({ "i": { "id": inv_b["id"], "expectedVersion": 1, "reason": "no" } }),
        )
        .await;
    assert_eq!(error_code(&hijack), "NOT_FOUND", "{hijack}");
    // The uninvited partner learns nothing.
    let none = app.ok(&outsider.token, LIST, json!({})).await;
    assert_eq!(none["invitations"]["totalCount"], 0);
    assert_eq!(none["invitations"]["nodes"], json!([]));
    for inv in [&inv_a, &inv_b] {
        let node = app
            .ok(&outsider.token, NODE, json!({ "id": inv["id"] }))
            .await;
        assert_eq!(node["node"], Value::Null);
        let body = app
            .gql(&outsider.token, ACCEPT, json!({ "i": answer(inv) }))
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    let events = app
        .ok(
            &outsider.token,
            "{ events(first: 100) { topic } }",
            json!({}),
        )
        .await;
    assert!(
        !events.to_string().contains("invitation."),
        "an uninvited partner hears of no invitation: {events}"
    );

    // Only the invited partner answers; the vendor cannot accept for it.
    let body = app
        .gql(&app.vendor, ACCEPT, json!({ "i": answer(&inv_a) }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Accepting registers the partner in the invited role, approved on the invitation.
    let d = app
        .ok(&a.token, ACCEPT, json!({ "i": answer(&inv_a) }))
        .await;
    let accepted = &d["acceptInvitation"];
    assert_eq!(accepted["invitation"]["status"], "ACCEPTED");
    assert_eq!(accepted["registration"]["status"], "APPROVED");
    assert_eq!(accepted["registration"]["role"], "SERVICES");
    assert_eq!(
        accepted["registration"]["opportunity"]["id"],
        opportunity.as_str()
    );
    assert_eq!(
        accepted["invitation"]["registration"]["id"],
        accepted["registration"]["id"]
    );
    // Now a party: the invitation shows the deal.
    let mine = app.ok(&a.token, LIST, json!({})).await;
    assert_eq!(
        mine["invitations"]["nodes"][0]["opportunity"]["name"],
        "Globex platform"
    );
    // An answered invitation cannot be answered or withdrawn again.
    let body = app
        .gql(&a.token, ACCEPT, json!({ "i": { "id": inv_a["id"], "expectedVersion": accepted["invitation"]["version"] } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let body = app
        .gql(&app.vendor, WITHDRAW, json!({ "i": { "id": inv_a["id"], "expectedVersion": accepted["invitation"]["version"] } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    // A stale version is VERSION_MISMATCH.
    let body = app
        .gql(
            &b.token,
            DECLINE,
            json!({ "i": { "id": inv_b["id"], "expectedVersion": 7, "reason": "busy" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VERSION_MISMATCH", "{body}");
    let body = app
        .gql(
            &b.token,
            DECLINE,
            json!({ "i": { "id": inv_b["id"], "expectedVersion": 1, "reason": " " } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let d = app
        .ok(&b.token, DECLINE, json!({ "i": { "id": inv_b["id"], "expectedVersion": 1, "reason": "No capacity this quarter" } }))
        .await;
    assert_eq!(d["declineInvitation"]["invitation"]["status"], "DECLINED");

    // The vendor sees both, filters them, and reads the review figures.
    let all = app.ok(&app.vendor, LIST, json!({})).await;
    assert_eq!(all["invitations"]["totalCount"], 2);
    assert!(all["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["invitedBy"].is_string()));
    let declined = app
        .ok(
            &app.vendor,
            LIST,
            json!({ "f": { "statusIn": ["DECLINED"], "opportunityId": opportunity } }),
        )
        .await;
    assert_eq!(declined["invitations"]["totalCount"], 1);
    const FIGURES: &str = "{ programFigures { invitations { overall { invited accepted declined open acceptanceRate medianHoursToAnswer } byPartner { partnerId figures { invited accepted } } byRole { role figures { accepted declined } } } } }";
    let f = app.ok(&app.vendor, FIGURES, json!({})).await;
    let inv = &f["programFigures"]["invitations"];
    assert_eq!(inv["overall"]["invited"], 2);
    assert_eq!(inv["overall"]["accepted"], 1);
    assert_eq!(inv["overall"]["declined"], 1);
    assert_eq!(inv["overall"]["acceptanceRate"], 0.5);
    assert!(inv["overall"]["medianHoursToAnswer"].is_number());
    assert_eq!(inv["byPartner"].as_array().unwrap().len(), 2);
    assert_eq!(inv["byRole"][0]["role"], "SERVICES");
    // A partner's figures are its own.
    let f = app.ok(&b.token, FIGURES, json!({})).await;
    let inv = &f["programFigures"]["invitations"];
    assert_eq!(inv["overall"]["invited"], 1);
    assert_eq!(inv["overall"]["declined"], 1);
    assert_eq!(inv["byPartner"][0]["partnerId"], b.id.as_str());

    // Events: each invited partner hears of its own invitation only.
    let topics = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["topic"].as_str().unwrap(),
                    e["subjectId"].as_str().unwrap()
                )
            })
            .filter(|t| t.starts_with("invitation."))
            .collect()
    };
    const EVENTS: &str = "{ events(first: 100) { topic subjectId payload } }";
    let heard_a = topics(&app.ok(&a.token, EVENTS, json!({})).await);
    let id_a = inv_a["id"].as_str().unwrap();
    let id_b = inv_b["id"].as_str().unwrap();
    assert_eq!(
        heard_a,
        vec![
            format!("invitation.created {id_a}"),
            format!("invitation.accepted {id_a}")
        ]
    );
    let heard_b = topics(&app.ok(&b.token, EVENTS, json!({})).await);
    assert_eq!(
        heard_b,
        vec![
            format!("invitation.created {id_b}"),
            format!("invitation.declined {id_b}")
        ]
    );
    let heard_vendor = topics(&app.ok(&app.vendor, EVENTS, json!({})).await);
    assert_eq!(heard_vendor.len(), 4, "{heard_vendor:?}");
}

#[tokio::test]
async fn who_may_invite_and_what_an_invitation_may_name() {
    let Program {
        app, opportunity, ..
    } = program().await;
    let a = app.partner("Asked").await;
    let body = app
        .gql(&vendor_token("SALES"), INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [a.id], "role": "SERVICES" } }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .gql(&a.token, INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [a.id], "role": "SERVICES" } }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    for (input, field) in [
        (json!({ "partnerIds": [a.id], "role": "SERVICES" }), None),
        (
            json!({ "opportunityId": opportunity, "partnerIds": [], "role": "SERVICES" }),
            Some("partnerIds"),
        ),
        (
            json!({ "opportunityId": opportunity, "partnerIds": [a.id], "role": "SERVICES", "expiresAt": "2020-01-01T00:00:00Z" }),
            Some("expiresAt"),
        ),
        (
            json!({ "opportunityId": opportunity, "partnerIds": [a.id], "role": "SERVICES", "expiresAt": "2099-01-01T00:00:00Z" }),
            Some("expiresAt"),
        ),
    ] {
        let body = app.gql(&app.vendor, INVITE, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        if let Some(f) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], f, "{body}");
        }
    }
    // An ID of another kind names no partner, as everywhere in the API.
    let body = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": opportunity, "partnerIds": [opportunity], "role": "SERVICES" } }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM invitations").await,
        0,
        "nothing half-written"
    );

    // A lead becomes an opportunity with the invitation; the account is created if new.
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id opportunity { id name account { domain } } shared { dealName customerDomain } } } }",
            json!({ "i": { "lead": { "accountDomain": "https://Initech.example/", "accountName": "Initech", "dealName": "Initech rollout", "amount": 5000000, "currency": "EUR" },
                "partnerIds": [a.id], "role": "REFERRAL", "share": { "fields": ["DEAL_NAME", "CUSTOMER_DOMAIN"] } } }),
        )
        .await;
    let inv = &d["invitePartners"]["invitations"][0];
    assert_eq!(inv["opportunity"]["name"], "Initech rollout");
    assert_eq!(inv["opportunity"]["account"]["domain"], "initech.example");
    assert_eq!(inv["shared"]["dealName"], "Initech rollout");
    assert_eq!(inv["shared"]["customerDomain"], "initech.example");

    // A contact a partner keeps to itself is not the vendor's to pass on.
    let account = app.create_account("Private Co", "private.example").await;
    let private_deal = app
        .create_opportunity(&account, json!({ "name": "Private deal" }))
        .await;
    let sourcing = app
        .approved_deal("private.example", &[(&a, "REFERRAL")])
        .await;
    let d = app
        .ok(
            &a.token,
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id shared } } }",
            json!({ "i": { "accountId": sourcing.account, "contact": { "name": "Kept Close", "email": "kept@private.example", "department": "IT" } } }),
        )
        .await;
    assert_eq!(d["createContact"]["contact"]["shared"], false);
    let kept = d["createContact"]["contact"]["id"].clone();
    let other = app.partner("Other Invitee").await;
    let body = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": private_deal["id"], "partnerIds": [other.id], "role": "SERVICES",
            "share": { "contactIds": [kept] } } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "share", "{body}");

    // A partner already on the deal is not invited again.
    let deal = app
        .approved_deal("party.example", &[(&a, "RESELLER")])
        .await;
    let body = app
        .gql(&app.vendor, INVITE, json!({ "i": { "opportunityId": deal.opportunity, "partnerIds": [a.id], "role": "SERVICES" } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn accepting_an_exclusive_role_someone_holds_is_held_for_review() {
    let app = spawn_app().await;
    let holder = app.partner("Holder").await;
    let invited = app.partner("Second Reseller").await;
    let deal = app
        .approved_deal("taken.example", &[(&holder, "RESELLER")])
        .await;
    let d = app
        .ok(&app.vendor, INVITE, json!({ "i": { "opportunityId": deal.opportunity, "partnerIds": [invited.id], "role": "RESELLER" } }))
        .await;
    let inv = d["invitePartners"]["invitations"][0].clone();
    let d = app
        .ok(&invited.token, ACCEPT, json!({ "i": answer(&inv) }))
        .await;
    assert_eq!(d["acceptInvitation"]["invitation"]["status"], "ACCEPTED");
    assert_eq!(
        d["acceptInvitation"]["registration"]["status"], "UNDER_REVIEW",
        "conflict detection runs as for any claim: {d}"
    );
    let open = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { conflicts { kind status } } }",
            json!({ "id": d["acceptInvitation"]["registration"]["id"] }),
        )
        .await;
    assert_eq!(
        open["registration"]["conflicts"][0]["status"], "OPEN",
        "{open}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acceptance_racing_a_withdrawal_or_the_expiry_lets_exactly_one_through() {
    let Program {
        app, opportunity, ..
    } = program().await;
    for round in 0..3 {
        let p = app.partner(&format!("Racer {round}")).await;
        let inv = invite(&app, &opportunity, &[&p], None).await[0].clone();
        let (accepted, withdrawn) = tokio::join!(
            app.gql(&p.token, ACCEPT, json!({ "i": answer(&inv) })),
            app.gql(&app.vendor, WITHDRAW, json!({ "i": answer(&inv) })),
        );
        let ok = [&accepted, &withdrawn]
            .iter()
            .filter(|b| b.get("errors").is_none())
            .count();
        assert_eq!(ok, 1, "{accepted} / {withdrawn}");
        let loser = if accepted.get("errors").is_some() {
            &accepted
        } else {
            &withdrawn
        };
        assert!(
            ["VERSION_MISMATCH", "CONFLICT", "WRITE_CONFLICT"].contains(&error_code(loser)),
            "{loser}"
        );
        let pid = crate::registrations::num(&json!(p.id));
        let claims = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM registrations WHERE partner_id = {pid}"
            ))
            .await;
        assert_eq!(
            claims,
            if accepted.get("errors").is_none() {
                1
            } else {
                0
            }
        );
    }

    // Expiry: an invitation past its time cannot be accepted, and the sweep closes it once.
    let p = app.partner("Too Late").await;
    let q = app.partner("Just In Time").await;
    let invs = invite(&app, &opportunity, &[&p, &q], None).await;
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    use sea_orm::ConnectionTrait;
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            if pg {
                "UPDATE invitations SET expires_at = $1"
            } else {
                "UPDATE invitations SET expires_at = ?"
            },
            [past.into()],
        ))
        .await
        .unwrap();
    let late = invs
        .iter()
        .find(|i| i["partner"]["id"] == p.id.as_str())
        .unwrap();
    let body = app
        .gql(&p.token, ACCEPT, json!({ "i": answer(late) }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert!(body.to_string().contains("expired"), "{body}");
    let (a, b) = tokio::join!(
        cosell::db::invitations::expire_due(&app.db),
        cosell::db::invitations::expire_due(&app.db)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 2, "each expired once");
    cosell::db::events::relay(&app.db).await.unwrap();
    let mine = app.ok(&q.token, LIST, json!({})).await;
    assert_eq!(mine["invitations"]["nodes"][0]["status"], "EXPIRED");
    let expired_events = app
        .scalar("SELECT COUNT(*) FROM events WHERE topic = 'invitation.expired'")
        .await;
    assert_eq!(expired_events, 2);
    // Withdrawn and expired invitations show in "expiring soon" no more.
    let soon = app
        .ok(
            &app.vendor,
            LIST,
            json!({ "f": { "expiringBefore": "2100-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(soon["invitations"]["totalCount"], 0, "{soon}");
}

#[tokio::test]
async fn closing_a_deal_withdraws_its_open_invitations_and_a_lapsed_one_cannot_be_withdrawn() {
    let Program {
        app, opportunity, ..
    } = program().await;
    let p = app.partner("Late Joiner").await;
    let q = app.partner("Lapsed").await;
    let invs = invite(&app, &opportunity, &[&p, &q], None).await;
    let of = |m: &Member| {
        invs.iter()
            .find(|i| i["partner"]["id"] == m.id.as_str())
            .unwrap()
            .clone()
    };
    // Q declines first: its answer stands when the deal closes.
    app.ok(
        &q.token,
        DECLINE,
        json!({ "i": { "id": of(&q)["id"], "expectedVersion": 1, "reason": "No capacity" } }),
    )
    .await;
    let before = app.now().await;
    app.ok(
        &app.vendor,
        "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": opportunity, "expectedVersion": 1, "stage": "CLOSED_LOST", "reason": "lost to a competitor" } }),
    )
    .await;
    let status = |m: &Member| {
        let (app, id) = (&app, of(m)["id"].clone());
        async move {
            app.ok(&app.vendor, NODE_STATUS, json!({ "id": id })).await["node"]["status"].clone()
        }
    };
    assert_eq!(status(&p).await, "WITHDRAWN");
    assert_eq!(status(&q).await, "DECLINED");
    // The invited partner hears why, in the same event a withdrawal sends.
    let d = app
        .ok(
            &p.token,
            "query($a: ID) { events(after: $a, first: 20) { topic subjectId payload } }",
            json!({ "a": before }),
        )
        .await;
    let withdrawn: Vec<&Value> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "invitation.withdrawn")
        .collect();
    assert_eq!(withdrawn.len(), 1, "{d}");
    assert_eq!(withdrawn[0]["subjectId"], of(&p)["id"]);
    assert_eq!(
        withdrawn[0]["payload"]["reason"],
        "the deal closed (CLOSED_LOST)"
    );
    // Accepting the withdrawn invitation (at its new version) is refused; nothing is made.
    let body = app
        .gql(
            &p.token,
            ACCEPT,
            json!({ "i": { "id": of(&p)["id"], "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let pid = crate::registrations::num(&json!(p.id));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM registrations WHERE partner_id = {pid}"
        ))
        .await,
        0
    );
    // An invitation whose time ran out (to a deal still open) is expired by the sweep, not
    // withdrawn.
    let account = app.create_account("Initech", "initech.example").await;
    let open = app
        .create_opportunity(&account, json!({ "name": "Initech rollout" }))
        .await;
    let lapsed = invite(&app, open["id"].as_str().unwrap(), &[&q], None).await[0].clone();
    use sea_orm::ConnectionTrait;
    let qid = crate::registrations::num(&lapsed["id"]);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            if pg {
                "UPDATE invitations SET expires_at = $1 WHERE id = $2"
            } else {
                "UPDATE invitations SET expires_at = ? WHERE id = ?"
            },
            [past.into(), qid.into()],
        ))
        .await
        .unwrap();
    let body = app
        .gql(&app.vendor, WITHDRAW, json!({ "i": answer(&lapsed) }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn subscribers_hear_of_their_own_invitations_only() {
    let Program {
        app, opportunity, ..
    } = program().await;
    let a = app.partner("Listener A").await;
    let b = app.partner("Listener B").await;
    const SUB: &str = "subscription($after: ID) { invitationChanged(after: $after) { event { topic } invitation { id status shared { customerName } } } }";
    // From the newest event: live before the invitation below whenever the server gets to it.
    let now = json!({ "after": app.now().await });
    let mut ws_a = app.ws_as(&a.token).await;
    ws_a.subscribe("s", SUB, now.clone()).await;
    let mut ws_b = app.ws_as(&b.token).await;
    ws_b.subscribe("s", SUB, now.clone()).await;
    let mut vendor = app.ws_as(&app.vendor).await;
    vendor.subscribe("s", SUB, now).await;
    let inv = invite(&app, &opportunity, &[&a], None).await[0].clone();
    let got = ws_a.next_payload("s").await;
    assert_eq!(
        got["data"]["invitationChanged"]["event"]["topic"],
        "invitation.created"
    );
    assert_eq!(
        got["data"]["invitationChanged"]["invitation"]["id"],
        inv["id"]
    );
    assert_eq!(
        got["data"]["invitationChanged"]["invitation"]["shared"]["customerName"],
        "Globex"
    );
    let got = vendor.next_payload("s").await;
    assert_eq!(
        got["data"]["invitationChanged"]["invitation"]["id"],
        inv["id"]
    );
    app.ok(
        &a.token,
        DECLINE,
        json!({ "i": { "id": inv["id"], "expectedVersion": 1, "reason": "Not our region" } }),
    )
    .await;
    let got = ws_a.next_payload("s").await;
    assert_eq!(
        got["data"]["invitationChanged"]["event"]["topic"],
        "invitation.declined"
    );
    assert_eq!(
        got["data"]["invitationChanged"]["invitation"]["status"],
        "DECLINED"
    );
    assert_eq!(
        ws_b.silent_for(Duration::from_millis(500)).await,
        Ok(()),
        "another partner hears nothing of it"
    );
}

#[tokio::test]
async fn a_page_of_invitations_costs_the_same_statements_for_2_or_8_rows() {
    let Program {
        app, opportunity, ..
    } = program().await;
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(app.partner(&format!("Counted {i}")).await);
    }
    const PAGE: &str = "{ invitations(first: 50) { totalCount nodes { id partner { name } opportunity { name account { name } } registration { status } } } }";
    invite(&app, &opportunity, &[&members[0], &members[1]], None).await;
    let (small, d) = app
        .count_statements(app.ok(&app.vendor, PAGE, json!({})))
        .await;
    assert_eq!(d["invitations"]["totalCount"], 2);
    let rest: Vec<&Member> = members[2..].iter().collect();
    invite(&app, &opportunity, &rest, None).await;
    let (large, d) = app
        .count_statements(app.ok(&app.vendor, PAGE, json!({})))
        .await;
    assert_eq!(d["invitations"]["totalCount"], 8);
    assert_eq!(
        small, large,
        "statements grow with the query's depth, not its rows"
    );
}
