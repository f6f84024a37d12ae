//! cosell's layering, checked on its source. A module (a file under `src/`) imports only from
//! its own layer or a lower one, lowest first:
//!
//! 0. `ids`, `error`: leaves every other module may use;
//! 1. `domain`, `scalars`: the rules of the partner program, free of storage and transport, and
//!    the GraphQL scalars, which read the largest amount from `domain::money`;
//! 2. `config`, `telemetry`: the typed settings, and the tracing set up from them (it reads its
//!    log format from `config`);
//! 3. `auth`: who is calling, and the scope rules that say what they may see;
//! 4. `db`, `ratelimit`, `metrics`: data access and the server's own counters (the metrics read
//!    the SQL statement counter from `db`);
//! 5. `realtime`: the event fan-out to subscriptions;
//! 6. `graphql`: the schema, thin resolvers over data access;
//! 7. `pipeline`: the one way in for every transport (admission, documents, execution);
//! 8. `webhooks`, `jobs`: background work;
//! 9. `http`: the transports (HTTP, WebSocket, Server-Sent Events);
//! 10. `seed`, `demo`, `cli`: the commands that drive all of the above.
//!
//! The crate root (`src/lib.rs`: `AppState`, composing the layers) and `src/main.rs` sit above
//! them all. No modules import each other, directly or round a circle (a folder is a DAG:
//! its `mod.rs` is the façade that declares and re-exports its children, who may use it), except the GraphQL object types under `src/graphql/`, which mirror the schema's graph (a deal
//! names its claims, a claim its deal). Imports are read from `use` trees and paths in code,
//! each resolved to the deepest module file it names, outside `#[cfg(test)]` items.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The layers above, lowest first, split by `|`.
const LAYERS: &str = "ids error | domain scalars | config telemetry | auth | db ratelimit metrics \
    | realtime | graphql | pipeline | webhooks jobs | http | seed demo cli";

/// A module's path in the crate: `["db", "registrations"]` for `src/db/registrations/mod.rs`.
type Module = Vec<String>;

/// One import: `from` names a path into `to`; `at` says where and what (for messages).
struct Edge {
    from: Module,
    to: Module,
    at: String,
}

/// A token (an identifier, `::` or a character), its line and how many inline modules it is in.
struct Tok {
    text: String,
    line: usize,
    inline: usize,
}

/// The tokens of `src` outside comments, literals and `#[cfg(test)]` items; its test modules.
fn tokens(src: &str) -> (Vec<Tok>, Vec<String>) {
    let s = src.as_bytes();
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let past = |i: usize, pat: &[u8]| {
        let mut from = (i..s.len()).skip_while(|j| !s[*j..].starts_with(pat));
        from.next().map_or(s.len(), |j| j + pat.len())
    };
    let lines = |s: &[u8]| s.iter().filter(|c| **c == b'\n').count();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let (mut toks, mut i, mut line) = (Vec::<Tok>::new(), 0, 1);
    let (mut open, mut depth) = (vec![], 0); // the inline modules' brace depths
    let (mut test, mut test_mods) = (None, vec![]); // where a `#[cfg(test)]` item starts
    while i < s.len() {
        let (start, mut b) = (i, s[i]);
        let q = i + (b == b'b') as usize; // past a byte literal's `b`
        let hashes = (q + 1..).take_while(|j| at(*j) == b'#').count();
        if s[i..].starts_with(b"//") {
            i = past(i, b"\n");
        } else if s[i..].starts_with(b"/*") {
            i = past(i, b"*/");
        } else if at(q) == b'r' && at(q + 1 + hashes) == b'"' {
            i = past(q + 2 + hashes, &[&b"\""[..], &vec![b'#'; hashes]].concat());
        } else if at(q) == b'"' || at(q) == b'\'' && (at(q + 1) == b'\\' || at(q + 2) == b'\'') {
            (i, b) = (q + 1, s[q]); // a string or a character (not a lifetime)
            while i < s.len() && s[i] != b {
                i += 1 + (s[i] == b'\\') as usize;
            }
            i += 1;
        } else if b.is_ascii_whitespace() {
            i += 1;
        } else {
            i += 2 * (b == b'r' && at(i + 1) == b'#' && word(at(i + 2))) as usize; // `r#type`
            let from = i;
            while i < s.len() && word(s[i]) {
                i += 1;
            }
            i += (i == from) as usize * (1 + s[i..].starts_with(b"::") as usize);
            let text = String::from_utf8_lossy(&s[from..i]).into_owned();
            let n = toks.len();
            depth += (text == "{") as usize;
            if text == "{" && n > 1 && toks[n - 2].text == "mod" {
                open.push(depth);
            } else if text == "}" && open.last() == Some(&depth) {
                open.pop();
            }
            depth -= (text == "}" && depth > 0) as usize;
            let (inline, n) = (open.len(), n + 1);
            toks.push(Tok { text, line, inline });
            let cfg_test = ["#", "[", "cfg", "(", "test", ")", "]"];
            if n >= 7 && toks[n - 7..].iter().map(|t| t.text.as_str()).eq(cfg_test) {
                test = test.or(Some((n - 7, depth)));
            } else if let Some((from, _)) = test.filter(|(_, d)| *d == depth) {
                let (item, end) = (&toks[from..], &toks[n - 1].text);
                if end == ";" || end == "}" {
                    let m = item.iter().position(|t| t.text == "mod" && end == ";");
                    test_mods.extend(m.map(|m| item[m + 1].text.clone()));
                    (test, _) = (None, toks.truncate(from));
                }
            }
        }
        line += lines(&s[start..i.min(s.len())]);
    }
    (toks, test_mods)
}

fn is_ident(t: &str) -> bool {
    t.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The paths of the `use` item from `t[k]` on, each with the index of its last token and the
/// name it binds (if any); and the index past the item.
fn use_item(t: &[Tok], mut k: usize) -> (Vec<(Module, usize, Option<String>)>, usize) {
    let (mut out, mut segs, mut groups, mut alias) = (vec![], Module::new(), vec![], None);
    while let Some(tok) = t.get(k).map(|t| t.text.as_str()) {
        k += 1;
        let prev = &t[k - 2].text;
        if matches!(tok, "," | "}" | ";") && (is_ident(prev) || prev == "*") {
            let glob = segs.last().is_some_and(|s| s == "*");
            let name = segs.iter().rev().find(|s| *s != "self").cloned();
            let bound = if glob { None } else { alias.take().or(name) };
            let path = segs.iter().filter(|s| *s != "*").cloned().collect();
            out.push((path, k - 2, bound));
        }
        match tok {
            "{" => groups.push(segs.len()),
            "as" => (alias, k) = (t.get(k).map(|t| t.text.clone()), k + 1),
            "," => segs.truncate(*groups.last().unwrap_or(&0)),
            "}" => segs.truncate(groups.pop().unwrap_or(0)),
            ";" => break,
            "::" => {}
            _ if is_ident(tok) || tok == "*" => segs.push(tok.to_string()),
            _ => break,
        }
    }
    (out, k)
}

/// Every module and every import between two of them, the crate root and binary left out.
fn graph() -> (BTreeSet<Module>, Vec<Edge>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (mut files, mut dirs, mut tests) = (BTreeMap::new(), vec![src.clone()], vec![]);
    while let Some(dir) = dirs.pop() {
        for path in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut m: Module = rel.iter().map(|s| s.to_string_lossy().into()).collect();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                if m.last().is_some_and(|l| l == "mod") || m == ["lib"] || m == ["main"] {
                    m.pop();
                }
                let (toks, test_mods) = tokens(&std::fs::read_to_string(&path).unwrap());
                tests.extend(test_mods.into_iter().map(|t| [&m[..], &[t]].concat()));
                files.insert(m, (format!("src/{}.rs", rel.display()), toks));
            }
        }
    }
    let mut modules: BTreeSet<Module> = files.keys().cloned().collect();
    modules.retain(|m| !m.is_empty() && !tests.iter().any(|t| m.starts_with(t)));
    let mut edges = vec![];
    for (here, (file, toks)) in files.iter().filter(|(m, _)| modules.contains(*m)) {
        edges.extend(imports(here, file, toks, &modules));
    }
    (modules, edges)
}

/// The imports of the module `here`, whose source is `t`.
fn imports(here: &Module, file: &str, t: &[Tok], modules: &BTreeSet<Module>) -> Vec<Edge> {
    let absolute = |k: usize, segs: &[String], names: &HashMap<String, Module>| {
        let (mut base, mut rest) = match segs.first()?.as_str() {
            "crate" => (vec![], &segs[1..]),
            "self" => (here.clone(), &segs[1..]),
            // `super` in an inline module goes back to this file first.
            "super" => (here.clone(), &segs[t[k].inline.min(segs.len())..]),
            first => (names.get(first)?.clone(), &segs[1..]),
        };
        while rest.first().is_some_and(|s| s == "super") {
            (base, rest) = (base[..base.len().saturating_sub(1)].to_vec(), &rest[1..]);
        }
        base.extend(rest.iter().filter(|s| *s != "self").cloned());
        Some(base)
    };
    // The names a path may start with: the child modules and the modules imported so far.
    let (mut names, mut found, mut k) = (HashMap::new(), vec![], 0);
    while k + 2 < t.len() {
        let (first, next) = (t[k].text.as_str(), &t[k + 1].text);
        let child = [&here[..], std::slice::from_ref(next)].concat();
        let starts = ["crate", "super", "self"].contains(&first) || names.contains_key(first);
        if first == "mod" && modules.contains(&child) {
            names.insert(next.clone(), child);
        } else if first == "use" {
            let (uses, end) = use_item(t, k + 1);
            for (segs, at, name) in uses {
                let m = absolute(at, &segs, &names).filter(|m| modules.contains(m));
                names.extend(m.zip(name).map(|(m, name)| (name, m)));
                found.push((segs, at));
            }
            k = end;
        } else if starts && next == "::" && (k == 0 || t[k - 1].text != "::") {
            let (mut segs, mut j) = (vec![first.to_string()], k + 1);
            while j + 1 < t.len() && t[j].text == "::" && is_ident(&t[j + 1].text) {
                (j, segs) = (j + 2, [segs, vec![t[j + 1].text.clone()]].concat());
            }
            found.push((segs, k));
        }
        k += (first != "use") as usize;
    }
    let edge = |(segs, k): (Module, usize)| {
        let mut to = absolute(k, &segs, &names)?;
        while !to.is_empty() && !modules.contains(&to) {
            to.pop(); // the deepest module file the path names
        }
        let (from, path) = (here.clone(), segs.join("::").replace("::self", ""));
        let at = format!("{file}:{}: imports `{path}` ({})", t[k].line, to.join("::"));
        (!to.is_empty() && &to != here).then_some(Edge { from, to, at })
    };
    found.into_iter().filter_map(edge).collect()
}

/// Fails naming every import for which `broken` says which rule it breaks.
fn refuse(what: &str, broken: impl Fn(&Edge) -> Option<String>) {
    let (_, edges) = graph();
    let line = |e: &Edge| Some(format!("  {}: {}", e.at, broken(e)?));
    let found: Vec<String> = edges.iter().filter_map(line).collect();
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
}

#[test]
fn no_import_circles_outside_the_graphql_objects() {
    let (modules, edges) = graph();
    // The first import of each pair of modules (the later ones would repeat it). A folder's
    // own module (`mod.rs`) is the façade of its children: its imports of them are not edges.
    let below = |e: &&Edge| !e.to.starts_with(&e.from);
    let by_pair = edges
        .iter()
        .filter(below)
        .rev()
        .map(|e| ((&e.from, &e.to), &e.at));
    let first: BTreeMap<_, _> = by_pair.collect();
    let reach = |from: &Module| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from]);
        while let Some(v) = todo.pop() {
            let outs = first.keys().filter(|(f, _)| *f == v).map(|(_, to)| *to);
            todo.extend(outs.filter(|to| seen.insert(to.to_vec())));
        }
        seen
    };
    let reach: BTreeMap<_, _> = modules.iter().map(|m| (m, reach(m))).collect();
    let (mut groups, mut found) = (vec![], vec![]);
    for m in &modules {
        // The modules `m` reaches that reach it back.
        let mut group = reach[m].clone();
        group.retain(|u| reach[u].contains(m));
        if group.len() > 1 && !groups.contains(&group) && group.iter().any(|m| m[0] != "graphql") {
            let names: Vec<String> = group.iter().map(|m| m.join("::")).collect();
            found.push(format!("  {} import each other:", names.join(", ")));
            let mut inside = first.clone();
            inside.retain(|(from, to), _| group.contains(*from) && group.contains(*to));
            found.extend(inside.values().map(|at| format!("    {at}")));
            groups.push(group);
        }
    }
    let rule = "modules import each other (only the GraphQL object types may; a folder is a DAG)";
    assert!(found.is_empty(), "{rule}:\n{}", found.join("\n"));
}

#[test]
fn every_module_imports_only_from_its_layer_or_below() {
    let in_layer = |layer: &str, m: &str| layer.split_whitespace().any(|name| name == m);
    let layer = |m: &str| LAYERS.split('|').position(|l| in_layer(l, m));
    refuse("imports from a higher layer (see LAYERS)", |e| {
        let (from, to) = (&e.from[0], &e.to[0]);
        match (layer(from), layer(to)) {
            (None, _) => Some(format!("`{from}` is not in the layer table")),
            (_, None) => Some(format!("`{to}` is not in the layer table")),
            (Some(f), Some(t)) if t > f => Some(format!("`{from}` ({f}) imports `{to}` ({t})")),
            _ => None,
        }
    });
}

#[test]
fn config_imports_neither_the_commands_nor_the_transports() {
    refuse("config imports a module set up from it", |e| {
        let above = ["cli", "http", "webhooks"].contains(&e.to[0].as_str());
        (e.from[0] == "config" && above).then(|| format!("config must not import `{}`", e.to[0]))
    });
}

#[test]
fn data_access_imports_nothing_built_on_it() {
    refuse("db imports a module built on it", |e| {
        let above = ["webhooks", "http", "graphql", "pipeline"].contains(&e.to[0].as_str());
        (e.from[0] == "db" && above).then(|| format!("db must not import `{}`", e.to[0]))
    });
}
