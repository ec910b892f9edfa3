//! The crate's shape, checked: no two modules import each other, directly or around a
//! circle (registry → backend → store → certificate, never back), and the crate root stays
//! small. Reads the sources; a new `use` that closes a circle fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The module a file holds, as a path from the crate root (`src/backend/fs/mod.rs` →
/// `["backend", "fs"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its unit tests (`#[cfg(test)] mod tests`,
/// always last).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(end) => &text[..end],
        None => text,
    };
    let text = match text.find("#[cfg(all(test, unix))]\nmod tests") {
        Some(end) => &text[..end],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(start) => &line[..start],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a piece of code names: `crate::a::b::…` and `super::…` (resolved from
/// `module`).
fn references(module: &[String], code: &str) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let is_ident = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let preceded = at > 0 && is_ident(bytes[at - 1]);
        let (mut base, start) = if !preceded && rest.starts_with(b"crate::") {
            (Vec::new(), at + "crate::".len())
        } else if !preceded && rest.starts_with(b"super::") {
            let mut base = module.to_vec();
            let mut start = at;
            while bytes[start..].starts_with(b"super::") {
                base.pop();
                start += "super::".len();
            }
            (base, start)
        } else {
            at += 1;
            continue;
        };
        let mut end = start;
        while end < bytes.len() && (is_ident(bytes[end]) || bytes[end..].starts_with(b"::")) {
            end += if bytes[end] == b':' { 2 } else { 1 };
        }
        base.extend(
            code[start..end]
                .split("::")
                .filter(|part| !part.is_empty())
                .map(str::to_owned),
        );
        found.insert(base);
        at = end.max(at + 1);
    }
    found
}

/// Which module uses which, cut to `depth` path parts (the modules that exist at it).
fn graph(depth: usize) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let exists = |module: &[String]| {
        let path: PathBuf = module.iter().collect();
        src.join(&path).is_dir() || src.join(path).with_extension("rs").is_file()
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if module.iter().any(|part| part == "tests") {
            continue;
        }
        let from: Vec<String> = module.iter().take(depth).cloned().collect();
        if from.is_empty() {
            continue;
        }
        for reference in references(&module, &code_of(&fs::read_to_string(&file).unwrap())) {
            let to: Vec<String> = reference.into_iter().take(depth).collect();
            // A module's own parts, and its parent (where its declaration is), are itself.
            if to.is_empty() || to == from || from.starts_with(&to) || to.starts_with(&from) {
                continue;
            }
            if exists(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// The groups of modules that import each other around a circle (strongly connected
/// components of more than one module).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<Vec<String>> = edges
        .keys()
        .chain(edges.values().flatten())
        .cloned()
        .collect();
    let reaches = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(node) = todo.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = nodes
        .iter()
        .map(|node| (node.clone(), reaches(node)))
        .collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for node in &nodes {
        let group: Vec<String> = nodes
            .iter()
            .filter(|other| {
                *other == node || (reach[node].contains(*other) && reach[*other].contains(node))
            })
            .map(|module| module.join("::"))
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let edges = graph(1);
    assert!(
        edges.contains_key(&vec!["registry".to_owned()]),
        "the graph was read: {edges:?}"
    );
    assert_eq!(circles(&edges), Vec::<Vec<String>>::new(), "{edges:#?}");
}

#[test]
fn no_module_imports_one_that_imports_it_back_two_levels_down() {
    let edges = graph(2);
    assert_eq!(circles(&edges), Vec::<Vec<String>>::new(), "{edges:#?}");
}

#[test]
fn the_registry_uses_the_backends_and_no_backend_uses_the_registry() {
    let edges = graph(1);
    let module = |name: &str| vec![name.to_owned()];
    assert!(edges[&module("registry")].contains(&module("backend")));
    assert!(edges[&module("backend")].contains(&module("store")));
    assert!(!edges[&module("backend")].contains(&module("registry")));
    assert!(!edges[&module("store")].contains(&module("backend")));
    assert!(!edges[&module("store")].contains(&module("registry")));
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let module = |name: &str| vec![name.to_owned()];
    let mut edges = BTreeMap::new();
    edges.insert(module("a"), BTreeSet::from([module("b")]));
    edges.insert(module("b"), BTreeSet::from([module("c")]));
    edges.insert(module("c"), BTreeSet::from([module("a")]));
    edges.insert(module("d"), BTreeSet::from([module("a")]));
    assert_eq!(circles(&edges), vec![vec!["a", "b", "c"]]);
    let found = references(&module("x"), "use crate::store::{A, B};\nuse super::y::Z;");
    assert!(found.contains(&vec!["store".to_owned()]));
    assert!(found.contains(&vec!["y".to_owned(), "Z".to_owned()]));
}

/// The items `lib.rs` re-exports at the root (`pub use …`), modules not counted.
#[test]
fn the_root_holds_about_twenty_items() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut items = Vec::new();
    let mut rest = lib.as_str();
    while let Some(start) = rest.find("\npub use ") {
        let after = &rest[start + "\npub use ".len()..];
        let end = after.find(';').unwrap();
        let statement = &after[..end];
        let names = match statement.find('{') {
            Some(open) => &statement[open + 1..statement.rfind('}').unwrap()],
            None => statement.rsplit("::").next().unwrap(),
        };
        items.extend(
            names
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
        );
        rest = &after[end..];
    }
    assert!(items.contains(&"Registry".to_owned()), "{items:?}");
    assert!(
        items.len() <= 20,
        "{} items at the root: {items:?}",
        items.len()
    );
}
