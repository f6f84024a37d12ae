//! Deal registrations by concern: the lifecycle, what a claim may ask for, closing, conflicts,
//! what each partner sees, the approval policy, protection windows, the review queue and
//! figures, and the cost of a page.
//! The helpers here are shared by those files and by other suites that need a claim.

mod closing;
mod conflicts;
mod counts;
mod lifecycle;
mod nested;
mod policy;
mod protection;
mod review;
mod submission;
mod visibility;

use cosell::ids::decode;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) const REG: &str = "id status version opportunity { id } protectionExpiresAt infoRequest
     conflicts { id kind status } decision { decidedBy automatic reason }";

pub(crate) fn m(name: &str, input: &str) -> String {
    format!("mutation($i: {input}!) {{ {name}(input: $i) {{ registration {{ {REG} }} }} }}")
}

pub(crate) const RULE: &str = "mutation($i: UpdateCollaborationRuleInput!) { updateCollaborationRule(input: $i) { rule { role version autoApprove autoApproveMinTier autoApproveMaxAmount } } }";
pub(crate) const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id version stage } } }";

/// A proposed deal at `domain`.
pub(crate) fn proposed(domain: &str, role: &str, amount: i64) -> Value {
    json!({
        "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": format!("Deal at {domain}"),
        "role": role, "justification": "We run the buyer's IT.", "amount": amount, "currency": "USD",
    })
}

/// Runs a registration mutation as `token` and returns its registration, or panics.
pub(crate) async fn reg_op(
    app: &TestApp,
    token: &str,
    name: &str,
    input_type: &str,
    input: Value,
) -> Value {
    let d = app
        .ok(token, &m(name, input_type), json!({ "i": input }))
        .await;
    d[name]["registration"].clone()
}

/// Runs a registration mutation and returns the whole body (errors included).
pub(crate) async fn reg_try(
    app: &TestApp,
    token: &str,
    name: &str,
    input_type: &str,
    input: Value,
) -> Value {
    app.gql(token, &m(name, input_type), json!({ "i": input }))
        .await
}

pub(crate) async fn submit(app: &TestApp, partner: &str, draft: Value) -> Value {
    reg_op(
        app,
        &partner_token(partner),
        "submitRegistration",
        "SubmitRegistrationInput",
        json!({ "draft": draft }),
    )
    .await
}

pub(crate) async fn approve(app: &TestApp, reg: &Value, extra: Value) -> Value {
    let mut input = json!({ "id": reg["id"], "expectedVersion": reg["version"] });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    reg_op(
        app,
        &app.vendor,
        "approveRegistration",
        "ApproveRegistrationInput",
        input,
    )
    .await
}

pub(crate) async fn history(app: &TestApp, id: &Value) -> Vec<(String, String, String)> {
    let d = app
        .ok(
            &app.vendor,
            "query($id: ID!) { registration(id: $id) { history { fromStatus toStatus actor reason at } } }",
            json!({ "id": id }),
        )
        .await;
    d["registration"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["at"].is_string());
            (
                h["fromStatus"].as_str().unwrap_or("-").to_string(),
                h["toStatus"].as_str().unwrap().to_string(),
                h["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub(crate) fn steps(h: &[(String, String, String)]) -> Vec<String> {
    h.iter().map(|(f, t, _)| format!("{f}>{t}")).collect()
}

pub(crate) fn num(gid: &Value) -> i64 {
    decode(gid.as_str().unwrap()).unwrap().1
}

/// Moves every registration's protection window into the past (or one's, with `id`).
pub(crate) async fn expire_window(app: &TestApp, id: Option<i64>) {
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let pg = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let sql = match (pg, id) {
        (true, Some(_)) => "UPDATE registrations SET protection_expires_at = $1 WHERE id = $2",
        (false, Some(_)) => "UPDATE registrations SET protection_expires_at = ? WHERE id = ?",
        (true, None) => "UPDATE registrations SET protection_expires_at = $1",
        (false, None) => "UPDATE registrations SET protection_expires_at = ?",
    };
    let mut values: Vec<sea_orm::Value> = vec![past.into()];
    if let Some(i) = id {
        values.push(i.into());
    }
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap();
}
