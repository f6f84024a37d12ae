//! Reading invitations: subscribers hear of their own, and a page costs a fixed number of
//! statements.

use super::*;

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
