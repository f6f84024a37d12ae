//! Checks made on the parsed document before anything executes: syntax (with a clean message),
//! the alias limit, `first`/`last` page sizes, and mutations over GET. Depth, complexity and
//! directive limits are enforced by the schema's own validation, also before execution.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::parser::{parse_query, Error as ParseError};
use async_graphql_value::Value;
use serde_json::Value as Json;

use crate::error::code;

/// Why a document was refused before execution.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub line_col: Option<(usize, usize)>,
    /// The limit that refused it (its flag's name) and the limit's value, sent as
    /// `extensions.limit` and `extensions.max`.
    pub limit: Option<(&'static str, usize)>,
}

pub struct Checks<'a> {
    pub max_aliases: usize,
    pub max_page_size: u32,
    pub variables: &'a serde_json::Map<String, Json>,
}

/// Parses `query`, turning the parser's pretty-printed error into one line.
pub fn parse(query: &str) -> Result<ExecutableDocument, Refusal> {
    parse_query(query).map_err(|e| {
        let pos = e.positions().next().map(|p| (p.line, p.column));
        let message = match &e {
            ParseError::Syntax { message, .. } => {
                let expected = message
                    .lines()
                    .rev()
                    .find_map(|l| l.trim().strip_prefix("= "))
                    .unwrap_or("unexpected input");
                match pos {
                    Some((l, c)) => format!("syntax error at line {l}, column {c}: {expected}"),
                    None => format!("syntax error: {expected}"),
                }
            }
            other => other.to_string(),
        };
        Refusal {
            code: code::GRAPHQL_PARSE_FAILED,
            message,
            line_col: pos,
            limit: None,
        }
    })
}

/// How many root selections the operation that `operation_name` selects has, counting a
/// fragment at the root as two (it may hold several fields); `None` if it cannot be told.
pub fn root_selections(doc: &ExecutableDocument, operation_name: Option<&str>) -> Option<usize> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    Some(
        op.node
            .selection_set
            .node
            .items
            .iter()
            .map(|s| match s.node {
                Selection::Field(_) => 1,
                _ => 2,
            })
            .sum(),
    )
}

/// Refuses an operation that asks for the schema (`__schema`, `__type`) when introspection is
/// turned off: an error that says so, rather than a silent null.
pub fn refuse_introspection(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<(), Refusal> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return Ok(()),
        },
        (DocumentOperations::Multiple(ops), None) => match ops.values().next() {
            Some(op) if ops.len() == 1 => op,
            _ => return Ok(()),
        },
    };
    // The root selection and the fragments spread into it, each fragment once.
    let mut sets = vec![&op.node.selection_set.node];
    let mut seen = std::collections::HashSet::new();
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        return Err(Refusal {
                            code: crate::error::code::GRAPHQL_VALIDATION_FAILED,
                            message: format!(
                                "introspection is turned off on this server: `{name}` is not available"
                            ),
                            line_col: Some((f.pos.line, f.pos.column)),
                            limit: None,
                        });
                    }
                }
                Selection::InlineFragment(i) => sets.push(&i.node.selection_set.node),
                Selection::FragmentSpread(sp) => {
                    let name = &sp.node.fragment_name.node;
                    if seen.insert(name.clone()) {
                        if let Some(frag) = doc.fragments.get(name) {
                            sets.push(&frag.node.selection_set.node);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The type of the operation that `operation_name` selects, if it can be told.
pub fn operation_type(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    }
}

/// Refuses an operation whose required variables (non-null, without a default) were not given
/// or were given as null: a request error naming the variable, as the GraphQL specification's
/// variable coercion asks, instead of a field error at execution.
pub fn required_variables(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, Json>,
) -> Result<(), Refusal> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return Ok(()),
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => op,
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    for def in &op.node.variable_definitions {
        let d = &def.node;
        let given = variables
            .get(d.name.node.as_str())
            .is_some_and(|v| !v.is_null());
        if !d.var_type.node.nullable && d.default_value.is_none() && !given {
            return Err(Refusal {
                code: code::BAD_USER_INPUT,
                message: format!(
                    "variable `${}` of type `{}` is required but was not given",
                    d.name.node, d.var_type.node
                ),
                line_col: Some((def.pos.line, def.pos.column)),
                limit: None,
            });
        }
    }
    Ok(())
}

impl Checks<'_> {
    pub fn run(&self, doc: &ExecutableDocument) -> Result<(), Refusal> {
        let mut aliases = 0usize;
        let sets = doc
            .operations
            .iter()
            .map(|(_, op)| &op.node.selection_set.node)
            .chain(doc.fragments.values().map(|f| &f.node.selection_set.node));
        for set in sets {
            self.walk(set, &mut aliases)?;
        }
        if aliases > self.max_aliases {
            return Err(Refusal {
                code: code::LIMIT_EXCEEDED,
                message: format!(
                    "the document uses {aliases} aliases; at most {} are allowed",
                    self.max_aliases
                ),
                line_col: None,
                limit: Some(("max-aliases", self.max_aliases)),
            });
        }
        Ok(())
    }

    fn walk(&self, set: &SelectionSet, aliases: &mut usize) -> Result<(), Refusal> {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if f.node.alias.is_some() {
                        *aliases += 1;
                    }
                    for (name, value) in &f.node.arguments {
                        if matches!(name.node.as_str(), "first" | "last") {
                            self.check_page_size(
                                name.node.as_str(),
                                &value.node,
                                (value.pos.line, value.pos.column),
                            )?;
                        }
                    }
                    self.walk(&f.node.selection_set.node, aliases)?;
                }
                Selection::InlineFragment(f) => self.walk(&f.node.selection_set.node, aliases)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn check_page_size(
        &self,
        arg: &str,
        value: &Value,
        pos: (usize, usize),
    ) -> Result<(), Refusal> {
        let n = match value {
            Value::Number(n) => n.as_i64(),
            Value::Variable(v) => match self.variables.get(v.as_str()) {
                Some(Json::Number(n)) => n.as_i64(),
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        match n {
            Some(n) if n >= 1 && n <= self.max_page_size as i64 => Ok(()),
            Some(n) => Err(Refusal {
                code: code::BAD_USER_INPUT,
                message: format!(
                    "`{arg}` is {n}; page sizes must be between 1 and {}",
                    self.max_page_size
                ),
                line_col: Some(pos),
                limit: None,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str, vars: Json) -> Result<(), Refusal> {
        let doc = parse(q)?;
        let vars = vars.as_object().cloned().unwrap_or_default();
        Checks {
            max_aliases: 2,
            max_page_size: 100,
            variables: &vars,
        }
        .run(&doc)
    }

    #[test]
    fn syntax_errors_are_one_clean_line() {
        let e = check("{ viewer { ", Json::Null).unwrap_err();
        assert_eq!(e.code, "GRAPHQL_PARSE_FAILED");
        assert!(
            e.message.starts_with("syntax error at line 1"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn aliases_are_counted_in_fragments_too() {
        assert!(check(
            "{ a: viewer { subject } b: viewer { subject } }",
            Json::Null
        )
        .is_ok());
        let e = check(
            "{ a: viewer { ...F } b: viewer { subject } } fragment F on Viewer { c: subject }",
            Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.code, "LIMIT_EXCEEDED");
    }

    #[test]
    fn page_sizes_literal_and_variable() {
        assert!(check("{ partners(first: 100) { totalCount } }", Json::Null).is_ok());
        assert_eq!(
            check("{ partners(first: 101) { totalCount } }", Json::Null)
                .unwrap_err()
                .code,
            "BAD_USER_INPUT"
        );
        assert_eq!(
            check("{ x: partners(last: 0) { totalCount } }", Json::Null)
                .unwrap_err()
                .code,
            "BAD_USER_INPUT"
        );
        let q = "query($n: Int) { partners(first: $n) { totalCount } }";
        assert!(check(q, serde_json::json!({"n": 5})).is_ok());
        assert!(check(q, serde_json::json!({"n": 500})).is_err());
    }
}
