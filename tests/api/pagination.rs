//! Cursor pagination edges: forwards, backwards, ties, empty lists and bad cursors.

use serde_json::{json, Value};

use crate::helpers::*;

const PAGE: &str = "query($f: Int, $a: String, $l: Int, $b: String, $o: OpportunityOrder) {
  opportunities(first: $f, after: $a, last: $l, before: $b, orderBy: $o) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name } } } }";

async fn page(app: &TestApp, vars: Value) -> Value {
    app.ok(&app.vendor, PAGE, vars).await["opportunities"].clone()
}

fn names(p: &Value) -> Vec<String> {
    p["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn forwards_and_backwards_through_every_page() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    for i in 1..=7 {
        app.create_opportunity(&acct, json!({ "name": format!("Deal {i}") }))
            .await;
    }
    let p1 = page(&app, json!({ "f": 3 })).await;
    assert_eq!(names(&p1), ["Deal 1", "Deal 2", "Deal 3"]);
    assert_eq!(p1["totalCount"], 7);
    assert_eq!(
        (
            p1["pageInfo"]["hasNextPage"].as_bool(),
            p1["pageInfo"]["hasPreviousPage"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(p1["pageInfo"]["endCursor"], p1["edges"][2]["cursor"]);
    let p2 = page(&app, json!({ "f": 3, "a": p1["pageInfo"]["endCursor"] })).await;
    assert_eq!(names(&p2), ["Deal 4", "Deal 5", "Deal 6"]);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let p3 = page(&app, json!({ "f": 3, "a": p2["pageInfo"]["endCursor"] })).await;
    assert_eq!(names(&p3), ["Deal 7"]);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    let p4 = page(&app, json!({ "f": 3, "a": p3["pageInfo"]["endCursor"] })).await;
    assert_eq!(names(&p4), Vec::<String>::new());
    assert!(p4["pageInfo"]["startCursor"].is_null() && p4["pageInfo"]["endCursor"].is_null());

    let last = page(&app, json!({ "l": 2 })).await;
    assert_eq!(names(&last), ["Deal 6", "Deal 7"]);
    assert_eq!(
        (
            last["pageInfo"]["hasPreviousPage"].as_bool(),
            last["pageInfo"]["hasNextPage"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let before = page(
        &app,
        json!({ "l": 2, "b": last["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(names(&before), ["Deal 4", "Deal 5"]);
    assert_eq!(before["pageInfo"]["hasNextPage"], true);
    let head = page(&app, json!({ "l": 5, "b": p1["edges"][2]["cursor"] })).await;
    assert_eq!(names(&head), ["Deal 1", "Deal 2"]);
    assert_eq!(head["pageInfo"]["hasPreviousPage"], false);
    let window = page(
        &app,
        json!({ "f": 10, "a": p1["edges"][0]["cursor"], "b": p2["edges"][1]["cursor"] }),
    )
    .await;
    assert_eq!(names(&window), ["Deal 2", "Deal 3", "Deal 4"]);
}

#[tokio::test]
async fn ties_in_the_sort_key_are_neither_skipped_nor_repeated() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    for i in 0..9 {
        app.create_opportunity(
            &acct,
            json!({ "name": format!("D{i}"), "amount": (i % 3) * 100 }),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(&app, json!({ "f": 2, "a": after, "o": "AMOUNT_DESC" })).await;
        seen.extend(names(&p));
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    // Descending orders break ties newest first.
    assert_eq!(seen, ["D8", "D5", "D2", "D7", "D4", "D1", "D6", "D3", "D0"]);
}

#[tokio::test]
async fn bad_cursors_are_refused_clearly() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    app.create_opportunity(&acct, json!({ "name": "A" })).await;
    let p = page(&app, json!({ "f": 1, "o": "NAME_ASC" })).await;
    let cursor = p["pageInfo"]["endCursor"].clone();
    let body = app
        .gql(
            &app.vendor,
            PAGE,
            json!({ "f": 1, "a": cursor, "o": "AMOUNT_ASC" }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("another ordering"));
    let body = app
        .gql(&app.vendor, PAGE, json!({ "f": 1, "a": "bm9wZQ" }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");
}
