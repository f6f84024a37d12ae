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

/// Relay's mutation convention, which client code generators and caches rely on: one
/// required argument named `input` of an input type, and a non-null `...Payload` object in
/// return, so a field can be added to either without breaking a client.
#[test]
fn every_mutation_takes_one_input_and_returns_a_payload() {
    use async_graphql::parser::types::BaseType;
    let sdl = cosell::graphql::sdl();
    let doc = parse_schema(&sdl).expect("the SDL parses");
    let mutation = doc
        .definitions
        .iter()
        .find_map(|d| match d {
            TypeSystemDefinition::Type(t) if t.node.name.node == "Mutation" => match &t.node.kind {
                TypeKind::Object(o) => Some(o),
                _ => None,
            },
            _ => None,
        })
        .expect("a Mutation type");
    let mut wrong = Vec::new();
    for f in &mutation.fields {
        let f = &f.node;
        let name = f.name.node.to_string();
        let input_ok = match &f.arguments[..] {
            [a] => {
                let a = &a.node;
                a.name.node == "input"
                    && !a.ty.node.nullable
                    && matches!(&a.ty.node.base, BaseType::Named(n) if n.ends_with("Input"))
            }
            _ => false,
        };
        let payload_ok = !f.ty.node.nullable
            && matches!(&f.ty.node.base, BaseType::Named(n) if n.ends_with("Payload"));
        if !input_ok || !payload_ok {
            wrong.push(format!("{name}: {}", f.ty.node));
        }
    }
    assert!(wrong.is_empty(), "mutations off the convention: {wrong:?}");
}
