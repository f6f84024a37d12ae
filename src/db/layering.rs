//! The data layer's place among the layers, checked on its source: it imports only downward
//! (never the transports, the schema or the delivery of events), and it makes no role
//! decisions. Who may read a row is its scope rule's (`auth::scope`), who may change it the
//! capability grant's (`auth::capability`); the data layer reads through the one and writes
//! with the other, so it never names a role, compares a caller's roles or tells apps from
//! people.

use std::path::{Path, PathBuf};

/// What the data layer must not write: a caller's roles, the role tables, and the kind of
/// caller (person or app), which the scope rules and the grants decide.
const ROLE_DECISIONS: &[&str] = &[
    "VendorRole",
    "PartnerRole",
    "vendor_role",
    "partner_role",
    "VendorWrite",
    ".roles",
    "is_vendor(",
    "PrincipalKind",
];

/// The layers above the data layer, which it must not import.
const ABOVE: &[&str] = &[
    "crate::webhooks",
    "crate::http",
    "crate::graphql",
    "crate::pipeline",
    "crate::realtime",
    "crate::cli",
];

/// Deliberate exceptions: (file under `src/db/`, text of the line, pattern, why).
const EXCEPTIONS: &[(&str, &str, &str, &str)] = &[(
    "attribution/inputs.rs",
    "Some(p) => p.roles.push(r.role),",
    ".roles",
    "the registration roles a partner holds on a deal (its claims' roles, which weigh its \
         attribution share), not a caller's role",
)];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/db is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of every `.rs` file under `src/db/` (this file aside, which names the
/// patterns), with its file relative to `src/db/` and its line number.
fn lines() -> Vec<(String, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .expect("under src/db")
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "layering.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        for (i, line) in text.lines().enumerate() {
            out.push((rel.clone(), i + 1, line.to_string()));
        }
    }
    out
}

/// Whether `line` holds `pattern` as a name of its own (`.roles` is not `.roles_of`).
fn names(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern).any(|(at, _)| {
        let next = line[at + pattern.len()..].chars().next();
        pattern.ends_with('(') || !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn the_data_layer_makes_no_role_decisions() {
    let mut found = Vec::new();
    for (file, n, line) in lines() {
        let code = line.trim();
        if code.starts_with("//") {
            continue;
        }
        for pattern in ROLE_DECISIONS {
            let excepted = EXCEPTIONS
                .iter()
                .any(|(f, l, p, _)| *f == file && *l == code && p == pattern);
            if names(code, pattern) && !excepted {
                found.push(format!("src/db/{file}:{n}: `{pattern}` in `{code}`"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the data layer decides by role; read through the scope rule (auth::scope) or take a \
         capability grant (auth::capability) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_exception_is_still_needed() {
    let all = lines();
    for (file, text, pattern, why) in EXCEPTIONS {
        assert!(
            all.iter().any(|(f, _, l)| f == file && l.trim() == *text),
            "the exception for `{pattern}` in src/db/{file} ({why}) matches no line any more: \
             remove it"
        );
    }
}

#[test]
fn the_data_layer_imports_only_downward() {
    let mut found = Vec::new();
    for (file, n, line) in lines() {
        if line.trim().starts_with("//") {
            continue;
        }
        for above in ABOVE {
            if names(&line, above) {
                found.push(format!("src/db/{file}:{n}: `{above}`"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the data layer imports a layer above it:\n{}",
        found.join("\n")
    );
}
