//! Who may invite partners to a deal, and what an invitation may name.

use super::*;

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
