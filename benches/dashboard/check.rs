//! Both servers answer the same rows: before anything is measured, each caller's dashboard
//! page is fetched from both and compared, opportunity by opportunity.

use serde_json::Value;

use super::load::{self, Request};
use super::setup::Server;

/// One opportunity of a page, in terms both servers share: database ids, not global ids.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    id: i64,
    name: String,
    stage: String,
    amount: String,
    currency: String,
    account: (String, String),
    /// (status, role, partner name), sorted.
    registrations: Vec<(String, String, String)>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cosell_rows(body: &Value) -> (Vec<Row>, Option<i64>) {
    let conn = &body["data"]["opportunities"];
    let rows = conn["nodes"]
        .as_array()
        .expect("cosell answered no nodes")
        .iter()
        .map(|o| {
            let (kind, id) = cosell::ids::decode(o["id"].as_str().unwrap()).unwrap();
            assert_eq!(kind, cosell::ids::Kind::Opportunity);
            let mut registrations: Vec<_> = o["registrations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        text(&r["status"]),
                        text(&r["role"]),
                        text(&r["partner"]["name"]),
                    )
                })
                .collect();
            registrations.sort();
            Row {
                id,
                name: text(&o["name"]),
                stage: text(&o["stage"]),
                amount: text(&o["amount"]["amount"]),
                currency: text(&o["amount"]["currency"]),
                account: (text(&o["account"]["name"]), text(&o["account"]["domain"])),
                registrations,
            }
        })
        .collect();
    (rows, conn["totalCount"].as_i64())
}

fn postgraphile_rows(body: &Value) -> (Vec<Row>, Option<i64>) {
    let conn = &body["data"]["allOpportunities"];
    let rows = conn["nodes"]
        .as_array()
        .expect("PostGraphile answered no nodes")
        .iter()
        .map(|o| {
            let mut registrations: Vec<_> = o["registrationsByOpportunityId"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        text(&r["status"]),
                        text(&r["role"]),
                        text(&r["partnerByPartnerId"]["name"]),
                    )
                })
                .collect();
            registrations.sort();
            Row {
                id: text(&o["rowId"]).parse().unwrap(),
                name: text(&o["name"]),
                stage: text(&o["stage"]),
                amount: text(&o["amountMinor"]),
                currency: text(&o["currency"]),
                account: (
                    text(&o["accountByAccountId"]["name"]),
                    text(&o["accountByAccountId"]["domain"]),
                ),
                registrations,
            }
        })
        .collect();
    (rows, conn["totalCount"].as_i64())
}

/// Fetches each pair (the same caller's page from cosell and from PostGraphile) and panics
/// on the first difference. Returns how many opportunities and registrations were compared.
pub async fn same_rows(
    cosell: &Server,
    postgraphile: &Server,
    pairs: &[(String, Request, Request)],
) -> (usize, usize) {
    let client = reqwest::Client::new();
    let (mut opportunities, mut registrations) = (0, 0);
    for (who, ours, theirs) in pairs {
        let a = load::send(&client, &cosell.graphql(), ours)
            .await
            .unwrap_or_else(|e| panic!("cosell, {who}: {e}"));
        let b = load::send(&client, &postgraphile.graphql(), theirs)
            .await
            .unwrap_or_else(|e| panic!("PostGraphile, {who}: {e}"));
        let (a, count_a) = cosell_rows(&a);
        let (b, count_b) = postgraphile_rows(&b);
        assert!(!a.is_empty(), "{who}: cosell's page is empty");
        assert_eq!(a.len(), b.len(), "{who}: the pages differ in length");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{who}: the servers answer different rows");
            registrations += x.registrations.len();
        }
        assert_eq!(count_a, count_b, "{who}: the servers count differently");
        opportunities += a.len();
    }
    (opportunities, registrations)
}
