//! Response fields in the order the query asks for them (GraphQL spec 7.1: a response map
//! SHOULD follow the order of the selection set). Fields of one object are resolved
//! concurrently and land in the order they finish, so the answer is put in order here, from the
//! document itself (aliases, fragment spreads and inline fragments included), while the
//! executor's value is written out: one pass, straight into the response body, with the order
//! of each position of the answer worked out once for all the objects at that position (a
//! page of 100 deals is ordered by one plan, not 100 times).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::Value as ConstValue;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The document an answer is ordered by, and the operation it ran.
#[derive(Clone)]
pub struct Shape {
    doc: Arc<ExecutableDocument>,
    operation: Option<String>,
}

/// The response keys at one position of the answer, in document order, each with the plan of
/// the values under it. A leaf (a scalar, or a JSON scalar's own object) has no keys.
#[derive(Default, Debug)]
pub struct Plan {
    fields: Vec<(String, Plan)>,
}

/// Deeper than any accepted document nests (the depth limit refuses more first).
const MAX_DEPTH: usize = 128;

impl Shape {
    pub fn new(doc: Arc<ExecutableDocument>, operation: Option<String>) -> Self {
        Self { doc, operation }
    }

    /// The parsed document.
    pub fn document(&self) -> &Arc<ExecutableDocument> {
        &self.doc
    }

    /// The plan that puts an answer to this document's operation in query order.
    pub fn plan(&self) -> Plan {
        let op = match self.operation.as_deref() {
            Some(name) => self
                .doc
                .operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
            None => self.doc.operations.iter().next(),
        };
        match op {
            Some((_, op)) => plan(&[&op.node.selection_set.node], &self.doc, 0),
            None => Plan::default(),
        }
    }

    /// The executor's `data` as a JSON value, each object's fields in query order.
    pub fn to_json(&self, data: &ConstValue) -> Value {
        let plan = self.plan();
        serde_json::to_value(Ordered::new(data, &plan)).unwrap_or(Value::Null)
    }
}

/// A value of the executor's answer, written in the order of its plan straight into the
/// response body (no intermediate JSON tree).
pub struct Ordered<'a> {
    value: &'a ConstValue,
    plan: &'a Plan,
    depth: usize,
}

impl<'a> Ordered<'a> {
    pub fn new(value: &'a ConstValue, plan: &'a Plan) -> Self {
        Self {
            value,
            plan,
            depth: 0,
        }
    }

    fn under(&self, value: &'a ConstValue, plan: &'a Plan) -> Self {
        Self {
            value,
            plan,
            depth: self.depth + 1,
        }
    }
}

impl Serialize for Ordered<'_> {
    /// Keys the plan does not name (a JSON scalar's own fields) keep the order they have.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            ConstValue::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&self.under(item, self.plan))?;
                }
                seq.end()
            }
            ConstValue::Object(fields) if self.depth <= MAX_DEPTH => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                let mut written = 0;
                for (i, (key, sub)) in self.plan.fields.iter().enumerate() {
                    // The executor mostly keeps the document's order: look where the key
                    // should be before looking it up.
                    let found = match fields.get_index(i) {
                        Some((k, v)) if k.as_str() == key => Some(v),
                        _ => fields.get(key.as_str()),
                    };
                    if let Some(v) = found {
                        map.serialize_entry(key, &self.under(v, sub))?;
                        written += 1;
                    }
                }
                if written < fields.len() {
                    for (key, v) in fields {
                        if !self.plan.fields.iter().any(|(k, _)| k == key.as_str()) {
                            map.serialize_entry(key.as_str(), &self.under(v, &LEAF))?;
                        }
                    }
                }
                map.end()
            }
            other => other.serialize(s),
        }
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
