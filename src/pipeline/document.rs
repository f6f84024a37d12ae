//! The size of a parsed document with its fragments expanded, measured before validation.
//!
//! Fragments may spread other fragments, so a document of a kilobyte can stand for 2^30
//! selections; validation and execution both walk the expanded form. This walk visits each
//! fragment once (its summary is memoised), so its cost is linear in the document's length,
//! and refuses documents whose expanded form is too large, too deep, or an introspection query
//! that recurses through the type graph.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use super::limits::Refusal;
use super::scan::limit_refusal;
use crate::error::code;

/// Introspection list fields that lead back into the type graph (`__Type.fields`, …). Nesting
/// three of them is refused, as graphql-js's `MaxIntrospectionDepthRule` does: each level
/// multiplies the answer by the number of types or fields.
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];
const MAX_INTROSPECTION_LISTS: usize = 3;

#[derive(Clone, Copy, Debug)]
pub struct MeasureLimits {
    /// Deepest field nesting of an operation, introspection subtrees aside.
    pub max_depth: usize,
    /// Most selections in all operations with every fragment spread expanded.
    pub max_selections: usize,
    /// Deepest nesting of selection sets and fragment spreads together.
    pub max_nesting: usize,
}

/// What one selection set amounts to once expanded.
#[derive(Clone, Copy, Debug, Default)]
struct Summary {
    selections: u64,
    /// Field depth, not counting below `__schema` and `__type`.
    depth: usize,
    /// Nesting of introspection list fields.
    lists: usize,
    /// Nesting of selection sets and fragment spreads.
    levels: usize,
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    max_nesting: usize,
    memo: HashMap<&'a str, Summary>,
    active: HashSet<&'a str>,
}

impl<'a> Walker<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Result<Summary, Refusal> {
        let mut out = Summary::default();
        for item in &set.items {
            let child = match &item.node {
                Selection::Field(f) => {
                    let sub = self.set(&f.node.selection_set.node)?;
                    let name = f.node.name.node.as_str();
                    let root = name == "__schema" || name == "__type";
                    let list = INTROSPECTION_LISTS.contains(&name) as usize;
                    if root && sub.lists >= MAX_INTROSPECTION_LISTS {
                        return Err(limit_refusal(
                            "introspection-depth",
                            MAX_INTROSPECTION_LISTS - 1,
                            format!(
                                "the introspection query nests `fields`, `interfaces`, \
                                 `possibleTypes` or `inputFields` {} levels deep; at most {} \
                                 are allowed",
                                sub.lists,
                                MAX_INTROSPECTION_LISTS - 1
                            ),
                            Some((item.pos.line, item.pos.column)),
                        ));
                    }
                    Summary {
                        selections: sub.selections.saturating_add(1),
                        depth: if root { 1 } else { sub.depth + 1 },
                        lists: if root { 0 } else { sub.lists + list },
                        levels: sub.levels,
                    }
                }
                Selection::InlineFragment(f) => self.set(&f.node.selection_set.node)?,
                Selection::FragmentSpread(s) => {
                    let mut sub = self.fragment(s.node.fragment_name.node.as_str())?;
                    sub.levels += 1;
                    sub
                }
            };
            out.selections = out.selections.saturating_add(child.selections);
            out.depth = out.depth.max(child.depth);
            out.lists = out.lists.max(child.lists);
            out.levels = out.levels.max(child.levels);
        }
        if !set.items.is_empty() {
            out.levels += 1;
        }
        Ok(out)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Summary, Refusal> {
        if let Some(s) = self.memo.get(name) {
            return Ok(*s);
        }
        // Unknown fragments are reported by validation.
        let Some(def) = self.doc.fragments.get(name) else {
            return Ok(Summary::default());
        };
        if self.active.contains(name) {
            return Err(Refusal {
                code: code::GRAPHQL_VALIDATION_FAILED,
                message: format!("fragment `{}` spreads itself", crate::error::clip(name)),
                line_col: Some((def.pos.line, def.pos.column)),
                limit: None,
            });
        }
        if self.active.len() >= self.max_nesting {
            return Err(nesting_refusal(self.max_nesting));
        }
        self.active.insert(name);
        let s = self.set(&def.node.selection_set.node)?;
        self.active.remove(name);
        self.memo.insert(name, s);
        Ok(s)
    }
}

fn nesting_refusal(max: usize) -> Refusal {
    limit_refusal(
        "max-nesting",
        max,
        format!(
            "selections and fragment spreads nest deeper than {max} levels with fragments expanded"
        ),
        None,
    )
}

/// Refuses `doc` when its expanded form passes `limits`. Runs before validation, which walks
/// the expanded form itself.
pub fn measure(doc: &ExecutableDocument, limits: &MeasureLimits) -> Result<(), Refusal> {
    let mut w = Walker {
        doc,
        max_nesting: limits.max_nesting,
        memo: HashMap::new(),
        active: HashSet::new(),
    };
    let mut selections = 0u64;
    for (_, op) in doc.operations.iter() {
        let s = w.set(&op.node.selection_set.node)?;
        if s.levels > limits.max_nesting {
            return Err(nesting_refusal(limits.max_nesting));
        }
        if s.depth > limits.max_depth {
            return Err(limit_refusal(
                "max-depth",
                limits.max_depth,
                format!(
                    "the operation nests fields {} deep; at most {} are allowed (introspection \
                     is measured by its own rule)",
                    s.depth, limits.max_depth
                ),
                Some((op.pos.line, op.pos.column)),
            ));
        }
        selections = selections.saturating_add(s.selections);
    }
    if selections > limits.max_selections as u64 {
        return Err(limit_refusal(
            "max-selections",
            limits.max_selections,
            format!(
                "the document selects {} fields with its fragments expanded; at most {} are \
                 allowed",
                if selections == u64::MAX {
                    "more than 2^64".to_string()
                } else {
                    selections.to_string()
                },
                limits.max_selections
            ),
            None,
        ));
    }
    Ok(())
}

impl From<&crate::config::LimitArgs> for MeasureLimits {
    fn from(l: &crate::config::LimitArgs) -> Self {
        MeasureLimits {
            max_depth: l.max_depth,
            max_selections: l.max_selections,
            max_nesting: l.max_nesting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const L: MeasureLimits = MeasureLimits {
        max_depth: 3,
        max_selections: 100,
        max_nesting: 8,
    };

    fn limit(q: &str) -> Option<&'static str> {
        measure(&parse_query(q).unwrap(), &L)
            .err()
            .map(|r| r.limit.map_or(r.code, |l| l.0))
    }

    #[test]
    fn fragment_bombs_are_counted_without_expanding_them() {
        let mut q = String::from("{ ...F60 } fragment F0 on Query { viewer { subject } }");
        for i in 1..=60 {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i - 1,
                i - 1
            ));
        }
        let nesting = MeasureLimits {
            max_nesting: 200,
            ..L
        };
        let r = measure(&parse_query(&q).unwrap(), &nesting).unwrap_err();
        assert_eq!(r.limit.unwrap().0, "max-selections");
        assert!(r.message.contains("2305843009213693952"), "{}", r.message);
        assert_eq!(limit(&q), Some("max-nesting"));
        assert_eq!(
            limit("{ ...F } fragment F on Query { a ...F }"),
            Some("GRAPHQL_VALIDATION_FAILED")
        );
    }

    #[test]
    fn depth_counts_through_fragments_but_not_introspection() {
        assert_eq!(limit("{ a { b { c } } }"), None);
        assert_eq!(
            limit("{ a { ...F } } fragment F on A { b { c { d } } }"),
            Some("max-depth")
        );
        assert_eq!(
            limit("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"),
            None
        );
        assert_eq!(
            limit("{ __type(name: \"A\") { fields { type { fields { type { interfaces { name } } } } } } }"),
            Some("introspection-depth")
        );
        assert_eq!(
            limit("{ __schema { types { ...T } } } fragment T on __Type { fields { type { fields { type { possibleTypes { name } } } } } }"),
            Some("introspection-depth")
        );
    }
}
