//! Response fields in the order the query asks for them (GraphQL spec 7.1: a response map
//! SHOULD follow the order of the selection set). Fields of one object are resolved
//! concurrently and land in the order they finish, so the answer is put in order here, from the
//! document itself (aliases, fragment spreads and inline fragments included), while the
//! executor's value is turned into JSON: one pass, with the order of each position of the
//! answer worked out once for all the objects at that position (a page of 100 deals is ordered
//! by one plan, not 100 times).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::Value as ConstValue;
use serde_json::{Map, Value};

/// The document an answer is ordered by, and the operation it ran.
#[derive(Clone)]
pub struct Shape {
    doc: Arc<ExecutableDocument>,
    operation: Option<String>,
}

/// The response keys at one position of the answer, in document order, each with the plan of
/// the values under it. A leaf (a scalar, or a JSON scalar's own object) has no keys.
#[derive(Default, Debug)]
struct Plan {
    fields: Vec<(String, Plan)>,
}

/// Deeper than any accepted document nests (the depth limit refuses more first).
const MAX_DEPTH: usize = 128;

impl Shape {
    pub fn new(doc: Arc<ExecutableDocument>, operation: Option<String>) -> Self {
        Self { doc, operation }
    }

    /// The executor's `data` as JSON, each object's fields in query order.
    pub fn to_json(&self, data: &ConstValue) -> Value {
        let op = match self.operation.as_deref() {
            Some(name) => self
                .doc
                .operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
            None => self.doc.operations.iter().next(),
        };
        let plan = match op {
            Some((_, op)) => plan(&[&op.node.selection_set.node], &self.doc, 0),
            None => Plan::default(),
        };
        convert(data, &plan, 0)
    }
}

/// The plan of the position answered by `sets` (the selection sets of every field that
/// answers to it): bounded by the document's expanded size, which the limits cap.
fn plan(sets: &[&SelectionSet], doc: &ExecutableDocument, depth: usize) -> Plan {
    if depth > MAX_DEPTH {
        return Plan::default();
    }
    let mut keys: Vec<String> = Vec::new();
    let mut children: HashMap<String, Vec<&SelectionSet>> = HashMap::new();
    for set in sets {
        collect(set, doc, &mut keys, &mut children, depth);
    }
    let fields = keys
        .into_iter()
        .map(|key| {
            let sub = children
                .get(&key)
                .map(|sets| plan(sets, doc, depth + 1))
                .unwrap_or_default();
            (key, sub)
        })
        .collect();
    Plan { fields }
}

static LEAF: Plan = Plan { fields: Vec::new() };

/// `value` as JSON, ordered by `plan`; keys the plan does not name (a JSON scalar's own
/// fields) keep the order they have.
fn convert(value: &ConstValue, plan: &Plan, depth: usize) -> Value {
    match value {
        ConstValue::Null => Value::Null,
        ConstValue::Boolean(b) => Value::Bool(*b),
        ConstValue::Number(n) => Value::Number(n.clone()),
        ConstValue::String(s) => Value::String(s.clone()),
        ConstValue::Enum(e) => Value::String(e.to_string()),
        ConstValue::List(items) => Value::Array(
            items
                .iter()
                .map(|item| convert(item, plan, depth + 1))
                .collect(),
        ),
        ConstValue::Object(fields) if depth <= MAX_DEPTH => {
            let mut out = Map::with_capacity(fields.len());
            for (key, sub) in &plan.fields {
                if let Some(v) = fields.get(key.as_str()) {
                    out.insert(key.clone(), convert(v, sub, depth + 1));
                }
            }
            if out.len() < fields.len() {
                for (key, v) in fields {
                    if !out.contains_key(key.as_str()) {
                        out.insert(key.to_string(), convert(v, &LEAF, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// The response keys of `set` in document order, fragments spread in place, and for each key
/// the selection sets of the fields answering to it.
fn collect<'d>(
    set: &'d SelectionSet,
    doc: &'d ExecutableDocument,
    keys: &mut Vec<String>,
    children: &mut HashMap<String, Vec<&'d SelectionSet>>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let f = &f.node;
                let key = f
                    .alias
                    .as_ref()
                    .map(|a| a.node.to_string())
                    .unwrap_or_else(|| f.name.node.to_string());
                let entry = children.entry(key.clone()).or_default();
                if entry.is_empty() {
                    keys.push(key);
                }
                entry.push(&f.selection_set.node);
            }
            Selection::InlineFragment(i) => {
                collect(&i.node.selection_set.node, doc, keys, children, depth + 1);
            }
            Selection::FragmentSpread(s) => {
                if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                    collect(
                        &frag.node.selection_set.node,
                        doc,
                        keys,
                        children,
                        depth + 1,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        Shape::new(
            Arc::new(async_graphql::parser::parse_query(query).unwrap()),
            None,
        )
    }

    #[test]
    fn fields_follow_the_document_through_aliases_fragments_and_lists() {
        let s = shape(
            "{ b: viewer { z y ...F } a: list { ... on T { q p } r } j } fragment F on V { x w }",
        );
        let data: ConstValue = serde_json::from_value(serde_json::json!({
            "j": { "n": 1, "m": { "k": 2, "c": 3 } },
            "a": [{ "r": 1, "p": 2, "q": 3 }, { "p": 4, "r": 5, "q": 6 }],
            "b": { "w": 1, "x": 2, "y": 3, "z": "E" },
        }))
        .unwrap();
        assert_eq!(
            s.to_json(&data).to_string(),
            r#"{"b":{"z":"E","y":3,"x":2,"w":1},"a":[{"q":3,"p":2,"r":1},{"q":6,"p":4,"r":5}],"j":{"n":1,"m":{"k":2,"c":3}}}"#,
            "a JSON scalar's own object keeps its order"
        );
    }
}
