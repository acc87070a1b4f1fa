//! The crates' modules form no circles: a module may use another only if
//! that one does not, directly or through others, use it back. Checked on
//! the source (each top-level module of `shared`, `client` and `server`,
//! with its submodules; comments and test modules left out; a module is
//! used when named as `crate::x`, inside `crate::{x, …}`, or through a
//! name the crate root re-exports from it), so a circle is a failing test,
//! not a reviewer's finding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::ywebsocket::repo_root;

/// `text` without its `//` comments.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The name `text` starts with (after any spaces).
fn leading_name(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level items of the group `text` opens (its text just after
/// the `{`), up to the `}` that closes it; groups inside items stay whole.
fn group_items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut item = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '}' if depth == 0 => break,
            ',' if depth == 0 => items.push(std::mem::take(&mut item)),
            '{' => {
                depth += 1;
                item.push(c);
            }
            '}' => {
                depth -= 1;
                item.push(c);
            }
            c => item.push(c),
        }
    }
    items.push(item);
    items
}

/// The top-level names `code` reaches through `crate::`: `x` of
/// `crate::x::…`, and each first name of `crate::{x, y::{…}, Z}`.
fn crate_names(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for part in code.split("crate::").skip(1) {
        match part.trim_start().strip_prefix('{') {
            Some(group) => names.extend(group_items(group).iter().map(|i| leading_name(i))),
            None => names.push(leading_name(part)),
        }
    }
    names
}

/// The names the crate root re-exports from its modules (`pub use
/// x::{A, B as C};` or `pub(crate) use …` in `lib.rs`) → the module each
/// comes from.
fn reexports(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(src.join("lib.rs")) else {
        return found;
    };
    for statement in without_comments(&text).split(';') {
        let statement = statement.trim();
        let Some(path) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        let module = module.trim();
        if !src.join(format!("{module}.rs")).exists() && !src.join(module).is_dir() {
            continue;
        }
        let items = match rest.trim().strip_prefix('{') {
            Some(group) => group_items(group),
            None => vec![rest.to_owned()],
        };
        for item in items {
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias,
                None => item.rsplit("::").next().unwrap_or(""),
            };
            let name = leading_name(name);
            if !name.is_empty() {
                found.insert(name, module.to_owned());
            }
        }
    }
    found
}

/// The top-level names `code`, in a module `depth` levels below the crate
/// root (1 for `src/x.rs`), reaches through `super::`: a chain of `depth`
/// of them ends at the crate root.
fn super_names(code: &str, depth: usize) -> Vec<String> {
    let chain = "super::".repeat(depth);
    let mut names = Vec::new();
    for part in code.split(chain.as_str()).skip(1) {
        if part.starts_with("super::") {
            continue; // more supers than there are levels: not ours
        }
        match part.trim_start().strip_prefix('{') {
            Some(group) => names.extend(group_items(group).iter().map(|i| leading_name(i))),
            None => names.push(leading_name(part)),
        }
    }
    names
}

/// `text` without its inline test module (`#[cfg(test)] mod tests { … }`,
/// which is last in a file); a `mod tests;` declaration is not one.
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("")
}

/// Top-level module → the top-level modules it names: `crate::x`, the
/// top-level names of `crate::{x, y::z}`, and a name the crate root
/// re-exports (`crate::AppState`) as the module it comes from.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let reexported = reexports(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_string_lossy().trim_end_matches(".rs").to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            // A module's tests in a file of their own are tests too.
            if path.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = without_comments(without_tests(&text));
            // How deep the file's module is: `src/x.rs` and `src/x/mod.rs`
            // are 1, `src/x/y.rs` 2.
            let depth = relative.components().count()
                - usize::from(path.file_name().is_some_and(|n| n == "mod.rs"));
            let targets = edges.entry(module.clone()).or_default();
            let named = crate_names(&code)
                .into_iter()
                .chain(super_names(&code, depth));
            for name in named {
                let target = match reexported.get(&name) {
                    Some(from) => from.clone(),
                    None if name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') => name,
                    None => continue,
                };
                if target != module {
                    targets.insert(target);
                }
            }
        }
    }
    edges
}

/// A circle through `edges`, if there is one.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_of_shared_client_or_server_is_in_a_circle() {
    for krate in ["shared", "client", "server"] {
        let edges = uses(&repo_root().join(krate).join("src"));
        assert!(edges.len() > 5, "{krate}: {edges:?}");
        if let Some(found) = circle(&edges) {
            panic!("{krate}: modules in a circle: {}", found.join(" -> "));
        }
    }
}

#[test]
fn grouped_and_reexported_names_count() {
    let code = "use crate::{auth::{self, Authed}, registry::X, AppState};\nuse crate::store;\n\
                let x = crate::gc::run();";
    assert_eq!(
        crate_names(code),
        ["auth", "registry", "AppState", "store", "gc"].map(String::from)
    );
    let server = reexports(&repo_root().join("server").join("src"));
    assert_eq!(server.get("AppState").map(String::as_str), Some("state"));
    assert_eq!(server.get("AppError").map(String::as_str), Some("error"));
    let edges = uses(&repo_root().join("server").join("src"));
    assert!(edges["auth"].contains("state"), "{:?}", edges["auth"]);
}

#[test]
fn super_paths_and_test_modules_are_read_as_the_compiler_reads_them() {
    // `super::` from a top-level module names another top-level module;
    // from a submodule, one more `super::` does.
    assert_eq!(super_names("use super::registry::Lease;", 1), ["registry"]);
    assert_eq!(
        super_names("use super::{auth, state::X};", 1),
        ["auth", "state"]
    );
    assert_eq!(super_names("use super::sibling;", 2), Vec::<String>::new());
    assert_eq!(super_names("use super::super::auth;", 2), ["auth"]);
    // Only an inline test module is cut; a declared one leaves the rest.
    let declared = "#[cfg(test)]\nmod tests;\nuse crate::later;";
    assert!(without_tests(declared).contains("crate::later"));
    let inline = "use crate::a;\n#[cfg(test)]\nmod tests {\n use crate::b;\n}";
    assert_eq!(crate_names(without_tests(inline)), ["a"]);
}

#[test]
fn the_check_finds_a_circle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(circle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert!(circle(&edges).is_some());
}

/// The client's files that name any of `words` outside comments, relative
/// to `client/src`.
fn client_files_naming(words: &[&str]) -> BTreeSet<String> {
    let src = repo_root().join("client").join("src");
    let mut found = BTreeSet::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text
                    .lines()
                    .map(|line| line.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                if words.iter().any(|word| code.contains(word)) {
                    let relative = path.strip_prefix(&src).unwrap();
                    found.insert(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    found
}

/// One way to build UI (issue 12): markup written as text reaches the page
/// only through `markup::render`, made only by the `markup!` template
/// (escaping by construction, addresses only through its checked links);
/// no module reads form controls back by element id.
#[test]
fn only_the_markup_module_sets_html_or_makes_markup() {
    let only_markup: BTreeSet<String> = ["markup.rs".to_owned()].into();
    assert_eq!(
        client_files_naming(&["inner_html", "__from_template", "set_inner_html"]),
        only_markup
    );
    assert_eq!(
        client_files_naming(&["get_element_by_id(", "data-act", "data-action"]),
        ["browser.rs".to_owned()].into(),
        "only browser.rs finds elements by id (to move keyboard focus)"
    );
}
