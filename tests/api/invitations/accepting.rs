//! Answering an invitation: what each invited partner sees, accepting it (a registration through
//! the lifecycle) or declining it, and an exclusive role someone already holds.

use super::*;

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
