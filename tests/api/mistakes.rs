//! Client mistakes are answered as the client's: BAD_USER_INPUT or GRAPHQL_VALIDATION_FAILED
//! naming the argument or variable, never INTERNAL, and no message quotes more than about a
//! hundred characters of what was sent.

use serde_json::{json, Value};

use crate::helpers::*;

/// The first error, after checking it is not INTERNAL and quotes at most 100 `x`s.
fn first_error(body: &Value) -> &Value {
    let e = &body["errors"][0];
    assert_ne!(e["extensions"]["code"], "INTERNAL", "{body}");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains(&"x".repeat(101)),
        "quotes too much: {message}"
    );
    e
}

#[tokio::test]
async fn text_filters_have_a_length_limit() {
    let app = spawn_app().await;
    let acct = app.create_account("Xerox Labs", "xerox-labs.com").await;
    app.create_opportunity(&acct, json!({ "name": "Xerox renewal" }))
        .await;
    app.create_partner("Xylo Partners").await;
    let long = "x".repeat(100_000);
    for list in ["partners", "accounts", "opportunities"] {
        let q = format!(
            "query($n: String) {{ {list}(filter: {{ nameContains: $n }}) {{ totalCount }} }}"
        );
        let body = app.gql(&app.vendor, &q, json!({ "n": long })).await;
        let e = first_error(&body);
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{list}: {body}");
        assert_eq!(e["extensions"]["field"], "nameContains", "{list}");
        assert!(
            e["message"].as_str().unwrap().contains("at most 200"),
            "{body}"
        );
        // 200 characters are fine.
        let ok = app
            .gql(&app.vendor, &q, json!({ "n": "x".repeat(200) }))
            .await;
        assert!(ok.get("errors").is_none(), "{list}: {ok}");
    }
}

#[tokio::test]
async fn missing_and_mistyped_variables_name_what_is_wrong() {
    let app = spawn_app().await;
    let t = app.vendor.clone();
    // A required variable not given (or null) is a request error: no `data`.
    let q = "query Find($n: String!) { partners(filter: { nameContains: $n }) { totalCount } }";
    for vars in [json!({}), json!({ "n": null })] {
        let body = app.gql(&t, q, vars).await;
        let e = first_error(&body);
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(e["message"].as_str().unwrap().contains("`$n`"), "{body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    // A Date sent as a number, as a literal or a variable; an amount that is not one.
    let dated = "query($d: Date) { opportunities(filter: { closeDateFrom: $d }) { totalCount } }";
    for (query, vars) in [
        (dated, json!({ "d": 20260101 })),
        (dated, json!({ "d": "2026-13-45" })),
        (
            "{ opportunities(filter: { closeDateFrom: 20260101 }) { totalCount } }",
            json!({}),
        ),
        (
            "query($a: MinorUnits) { opportunities(filter: { amountMin: $a }) { totalCount } }",
            json!({ "a": "lots" }),
        ),
    ] {
        let body = app.gql(&t, query, vars).await;
        let e = first_error(&body);
        assert_eq!(
            e["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{body}"
        );
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains("closeDateFrom") || message.contains("amountMin"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn messages_quote_at_most_a_hundred_characters_of_input() {
    let app = spawn_app().await;
    let t = app.vendor.clone();
    let create =
        "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }";
    let body = app
        .gql(
            &t,
            create,
            json!({ "i": { "name": "Long", "domain": format!("{}.com", "x".repeat(5_000)) } }),
        )
        .await;
    let e = first_error(&body);
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(e["extensions"]["field"], "domain");
    // An unknown field with a long name, and one longer than any name may be.
    let body = app
        .gql(&t, &format!("{{ {} }}", "x".repeat(250)), json!({}))
        .await;
    assert_eq!(
        first_error(&body)["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let body = app
        .gql(&t, &format!("{{ {} }}", "x".repeat(100_000)), json!({}))
        .await;
    let e = first_error(&body);
    assert_eq!(e["extensions"]["limit"], "max-name-length", "{body}");
    // A megabyte of name is a document past the size limit.
    let body = app
        .gql(&t, &format!("{{ {} }}", "x".repeat(1_000_000)), json!({}))
        .await;
    let e = first_error(&body);
    assert_eq!(e["extensions"]["limit"], "max-document-bytes", "{body}");
    assert!(e["message"].as_str().unwrap().len() < 200, "{body}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn a_malformed_id_names_the_argument_or_field_it_was_given_in() {
    let app = spawn_app().await;
    let cases = [
        ("{ opportunity(id: \"nope\") { id } }", "id"),
        ("{ account(id: \"nope\") { id } }", "id"),
        ("{ node(id: \"nope\") { id } }", "id"),
        ("{ nodes(ids: [\"nope\"]) { id } }", "ids"),
        ("{ registrations(filter: { partnerId: \"nope\" }) { totalCount } }", "partnerId"),
        ("{ opportunities(filter: { accountId: \"nope\" }) { totalCount } }", "accountId"),
        ("mutation { recordEngagement(input: { contactId: \"nope\", kind: CALL, occurredOn: \"2026-11-01\", sentiment: NEUTRAL }) { engagement { id } } }", "contactId"),
        ("mutation { linkContacts(input: { fromContactId: \"nope\", toContactId: \"nope\", kind: WORKS_WITH }) { link { fromContactId } } }", "fromContactId"),
        ("mutation { moveOpportunityStage(input: { id: \"nope\", expectedVersion: 1, stage: SOLUTION }) { opportunity { id } } }", "id"),
    ];
    for (q, field) in cases {
        let body = app.gql(&app.vendor, q, json!({})).await;
        let e = first_error(&body);
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{q}: {body}");
        assert_eq!(e["extensions"]["field"], field, "{q}: {body}");
    }
}
