//! Response fields in the order the query asks for them (GraphQL spec 7.1: a response map
//! SHOULD follow the order of the selection set). Fields of one object are resolved
//! concurrently and land in the order they finish, so the answer is put back in order here,
//! from the document itself: aliases, fragment spreads and inline fragments included.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use serde_json::{Map, Value};

/// The document an answer is ordered by, and the operation it ran.
#[derive(Clone)]
pub struct Shape {
    doc: Arc<ExecutableDocument>,
    operation: Option<String>,
}

impl Shape {
    pub fn new(doc: Arc<ExecutableDocument>, operation: Option<String>) -> Self {
        Self { doc, operation }
    }

    /// Puts `response["data"]` in query order.
    pub fn apply(&self, response: &mut Value) {
        let Some(data) = response.get_mut("data") else {
            return;
        };
        let op = match self.operation.as_deref() {
            Some(name) => self
                .doc
                .operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
            None => self.doc.operations.iter().next(),
        };
        if let Some((_, op)) = op {
            order(data, &[&op.node.selection_set.node], &self.doc, 0);
        }
    }
}

/// Deeper than any accepted document nests (the depth limit refuses more first).
const MAX_DEPTH: usize = 128;

/// Orders `value` by `sets`: the selection sets of every field that answers to it.
fn order(value: &mut Value, sets: &[&SelectionSet], doc: &ExecutableDocument, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                order(item, sets, doc, depth + 1);
            }
        }
        Value::Object(map) => {
            let mut keys: Vec<String> = Vec::new();
            let mut children: HashMap<String, Vec<&SelectionSet>> = HashMap::new();
            for set in sets {
                collect(set, doc, &mut keys, &mut children, depth);
            }
            let mut rest = std::mem::take(map);
            let mut ordered = Map::with_capacity(rest.len());
            for key in keys {
                if let Some(mut v) = rest.shift_remove(&key) {
                    if let Some(sub) = children.get(&key) {
                        order(&mut v, sub, doc, depth + 1);
                    }
                    ordered.insert(key, v);
                }
            }
            // Anything the document does not name (nothing, today) keeps its place at the end.
            ordered.extend(rest);
            *map = ordered;
        }
        _ => {}
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
            "{ b: viewer { z y ...F } a: list { ... on T { q p } r } } fragment F on V { x w }",
        );
        let mut v = serde_json::json!({ "data": {
            "a": [{ "r": 1, "p": 2, "q": 3 }, { "p": 4, "r": 5, "q": 6 }],
            "b": { "w": 1, "x": 2, "y": 3, "z": 4 },
        } });
        s.apply(&mut v);
        assert_eq!(
            v.to_string(),
            r#"{"data":{"b":{"z":4,"y":3,"x":2,"w":1},"a":[{"q":3,"p":2,"r":1},{"q":6,"p":4,"r":5}]}}"#
        );
    }
}
