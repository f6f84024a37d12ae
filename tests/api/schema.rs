//! The checked-in SDL matches the code, and every part of it is described.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

#[test]
fn schema_graphql_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == cosell::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn every_type_field_argument_and_enum_value_has_a_description() {
    let sdl = cosell::graphql::sdl();
    let doc = parse_schema(&sdl).expect("the SDL parses");
    let mut missing = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = &t.node;
        let name = t.name.node.to_string();
        if t.description.is_none() {
            missing.push(name.clone());
        }
        let fields = match &t.kind {
            TypeKind::Object(o) => o.fields.iter().map(|f| &f.node).collect::<Vec<_>>(),
            TypeKind::Interface(i) => i.fields.iter().map(|f| &f.node).collect(),
            TypeKind::Enum(e) => {
                for v in &e.values {
                    if v.node.description.is_none() {
                        missing.push(format!("{name}.{}", v.node.value.node));
                    }
                }
                vec![]
            }
            TypeKind::InputObject(i) => {
                for f in &i.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
                vec![]
            }
            _ => vec![],
        };
        for f in fields {
            if f.description.is_none() {
                missing.push(format!("{name}.{}", f.name.node));
            }
            for a in &f.arguments {
                if a.node.description.is_none() {
                    missing.push(format!("{name}.{}({})", f.name.node, a.node.name.node));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}
