//! The hostile-document corpus: every class of document that once crashed the process, burnt a
//! core or grew memory, at ten times its default limit, plus the sizes that used to crash.
//! Shared by the integration tests (tests/api/hostile.rs) and the flood benchmark
//! (benches/flood.rs).

use serde_json::{json, Value};

/// One hostile request: a document (and variables), the code it must get and the limit named
/// in `extensions.limit`.
pub struct Case {
    pub name: &'static str,
    pub query: String,
    pub variables: Value,
    pub code: &'static str,
    pub limit: Option<&'static str>,
}

fn case(name: &'static str, query: String, limit: &'static str) -> Case {
    Case {
        name,
        query,
        variables: json!({}),
        code: "LIMIT_EXCEEDED",
        limit: Some(limit),
    }
}

/// `open` `levels` times, then `inner`, then `close` as often.
pub fn nest(open: &str, inner: &str, close: &str, levels: usize) -> String {
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

/// Fragments where each spreads the one before `fan` times: `fan^levels` selections.
fn fragment_bomb(levels: usize, fan: usize) -> String {
    let mut q = format!("{{ ...F{levels} }} fragment F0 on Query {{ viewer {{ subject }} }}");
    for i in 1..=levels {
        let spreads = format!("...F{} ", i - 1).repeat(fan);
        q.push_str(&format!(" fragment F{i} on Query {{ {spreads}}}"));
    }
    q
}

/// The corpus, at ten times the default limits (nesting 32, tokens 10,000, selections 5,000,
/// names 256, aliases 30, directives 10; the document size of 128 KiB as far as the body limit
/// allows), plus the documents that used to crash the process.
pub fn corpus() -> Vec<Case> {
    let n = 320;
    vec![
        case(
            "list value nested 2,000 deep (used to overflow the stack)",
            format!(
                "{{ nodes(ids: {}) {{ id }} }}",
                nest("[", "\"x\"", "]", 2_000)
            ),
            "max-nesting",
        ),
        case(
            "list value nested 10x",
            format!("{{ nodes(ids: {}) {{ id }} }}", nest("[", "\"x\"", "]", n)),
            "max-nesting",
        ),
        case(
            "object literal nested 10x",
            format!(
                "{{ opportunities(filter: {}) {{ totalCount }} }}",
                nest("{a: ", "1", "}", n)
            ),
            "max-nesting",
        ),
        case(
            "directive argument nested 10x",
            format!(
                "{{ viewer @include(if: {}) {{ kind }} }}",
                nest("[", "true", "]", n)
            ),
            "max-nesting",
        ),
        case(
            "variable default value nested 10x",
            format!(
                "query($v: [String] = {}) {{ viewer {{ kind }} }}",
                nest("[", "\"x\"", "]", n)
            ),
            "max-nesting",
        ),
        case(
            "argument of an unknown field nested 10x",
            format!("{{ nope(x: {}) }}", nest("{y: ", "1", "}", n)),
            "max-nesting",
        ),
        case(
            "selections nested 10x",
            format!("{{ {} }}", nest("viewer { ", "kind", " }", n)),
            "max-nesting",
        ),
        case(
            "fragments doubling 30 times (2^30 selections)",
            fragment_bomb(30, 2),
            "max-nesting",
        ),
        case(
            "fragments fanning out 10 ways, 5 deep (10^5 selections)",
            fragment_bomb(5, 10),
            "max-selections",
        ),
        case(
            "tokens 10x (one character each, within the document size)",
            format!("{{ viewer {{ kind }} }} {}", "!".repeat(100_000)),
            "max-tokens",
        ),
        case(
            "a 900 KB document of one comment (7x the size; 10x passes the body limit)",
            format!("{{ viewer {{ kind }} }} #{}", "x".repeat(900_000)),
            "max-document-bytes",
        ),
        case(
            "a 2,560-character field name",
            format!("{{ {} }}", "f".repeat(2_560)),
            "max-name-length",
        ),
        case(
            "aliases 10x",
            format!(
                "{{ {} }}",
                (0..300)
                    .map(|i| format!("a{i}: viewer {{ kind }}"))
                    .collect::<String>()
            ),
            "max-aliases",
        ),
        case(
            "fields nested 20 deep through fragments",
            format!(
                "{{ viewer {{ ...A }} }} fragment A on Viewer {{ {} }}",
                nest("x { ", "y", " }", 19)
            ),
            "max-depth",
        ),
        case(
            "introspection recursing through the type graph",
            format!(
                "{{ __schema {{ types {{ {} }} }} }}",
                nest("fields { type { ", "name", " } }", 10)
            ),
            "introspection-depth",
        ),
        case(
            "directives 10x",
            format!(
                "{{ viewer {} {{ kind }} }}",
                "@include(if: true) ".repeat(100)
            ),
            "max-directives",
        ),
        Case {
            name: "variables nested 10x",
            query: "query($v: [String]) { viewer { kind } }".into(),
            variables: json!({ "v": serde_json::from_str::<Value>(&nest("[", "1", "]", 100)).unwrap() }),
            code: "LIMIT_EXCEEDED",
            limit: Some("max-nesting"),
        },
    ]
}
