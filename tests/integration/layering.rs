//! The layering rules, checked on the source tree: the proxy imports no page module, the pages
//! stack without cycles, the vault imports no protocol module, no crate compiles another crate's files by `path` attribute, and
//! nothing under `src/` refers to a file outside the repository.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The repository's root (the `keyward` package's directory).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, leaving out build output, installed packages and VCS data.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if !matches!(name, "target" | "node_modules") && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's path relative to the repository, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// The top-level modules a source file names through `crate::` paths, grouped imports
/// (`use crate::{a::b, c}`) included.
fn crate_modules(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, needle) in source.match_indices("crate::") {
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &source[at + needle.len()..];
        let items = match rest.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![rest],
        };
        for item in items {
            let name: String = item
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The comma-separated items of a `{…}` group whose opening brace is already consumed.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// A source file without its comment lines: a doc link to a higher layer is not a dependency.
fn code_lines(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(file, module)` for every file under `src/{dir}` naming one of `forbidden` via `crate::`
/// in its code.
fn imports_of(dir: &str, forbidden: &[&str]) -> Vec<String> {
    rust_files(&repo().join("src").join(dir))
        .into_iter()
        .flat_map(|file| {
            crate_modules(&code_lines(&read(&file)))
                .into_iter()
                .filter(|m| forbidden.contains(&m.as_str()))
                .map(move |m| format!("{} uses crate::{m}", shown(&file)))
        })
        .collect()
}

/// The proxy answers apps in OpenAI's shape; pages are for people and live above it.
#[test]
fn the_proxy_imports_no_page_module() {
    let found = imports_of("proxy", &["consent", "account", "passkey", "web"]);
    assert!(found.is_empty(), "{found:#?}");
}

/// The protocol core and the page infrastructure sit below the pages: OAuth's rules and
/// handlers, and `web`'s sessions, forms and errors, import no page module.
#[test]
fn oauth_and_web_import_no_page_module() {
    let mut found = imports_of("oauth", &["consent", "account", "passkey"]);
    found.extend(imports_of("web", &["consent", "account", "passkey"]));
    assert!(found.is_empty(), "{found:#?}");
}

/// The pages stack without cycles: web < passkey < consent < account.
#[test]
fn pages_import_only_the_layers_below() {
    let mut found = imports_of("passkey", &["consent", "account"]);
    found.extend(imports_of("consent", &["account"]));
    assert!(found.is_empty(), "{found:#?}");
}

/// The vault seals and opens secrets; OAuth builds on it, never the other way round.
#[test]
fn the_vault_imports_no_protocol_module() {
    let found = imports_of("vault", &["oauth"]);
    assert!(found.is_empty(), "{found:#?}");
}

/// Code shared between crates lives in a crate (the test kit), not in files that several
/// crates compile as their own modules.
#[test]
fn no_crate_compiles_files_by_path_attribute() {
    let attribute = ["#[", "path"].concat();
    let found: Vec<String> = rust_files(&repo())
        .into_iter()
        .filter(|file| read(file).contains(&attribute))
        .map(|file| shown(&file))
        .collect();
    assert!(found.is_empty(), "`path` attributes in {found:#?}");
}

/// Lexically resolves `relative` against `dir` (no file system access).
fn resolve(dir: &Path, relative: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(part) => path.push(part),
            _ => {}
        }
    }
    path
}

/// Where source code names files: comments (`//`, `///`, `//!`) and the arguments of
/// `include_str!`, `include_bytes!` and `include!`. String literals elsewhere are data (a test's
/// `"../admin"` is a request path, not a file).
fn file_references(source: &str) -> Vec<&str> {
    let mut places = Vec::new();
    for line in source.lines() {
        if let Some(at) = line.find("//") {
            places.push(&line[at..]);
        }
        for macro_name in ["include_str!(", "include_bytes!(", "include!("] {
            for (at, _) in line.match_indices(macro_name) {
                let argument = &line[at + macro_name.len()..];
                places.push(&argument[..argument.find(')').unwrap_or(argument.len())]);
            }
        }
    }
    places
}

/// The path-like words of `text` that start with `start` (`../` or `/`) and are not the tail
/// of a longer path or URL (`https://a.example/x/../y`).
fn paths_starting_with<'t>(text: &'t str, start: &'t str) -> impl Iterator<Item = &'t str> {
    text.match_indices(start).filter_map(|(at, _)| {
        if text[..at].chars().next_back().is_some_and(is_path_char) {
            return None;
        }
        let rest = &text[at..];
        let end = rest.find(|c| !is_path_char(c)).unwrap_or(rest.len());
        Some(rest[..end].trim_end_matches('.'))
    })
}

/// A clone of the repository builds and reads on its own: every file `src/` names by a
/// relative path (in `include_str!` and the like, or in a comment) exists inside the
/// repository, and no absolute path there names a file on this machine outside it.
#[test]
fn src_refers_to_no_file_outside_the_repository() {
    let root = repo();
    let mut found = Vec::new();
    for file in rust_files(&root.join("src")) {
        let source = read(&file);
        let dir = file.parent().expect("a file's directory");
        for place in file_references(&source) {
            for relative in paths_starting_with(place, "../") {
                let target = resolve(dir, relative);
                if !target.starts_with(&root) || !target.exists() {
                    found.push(format!("{}: {relative}", shown(&file)));
                }
            }
            for absolute in paths_starting_with(place, "/") {
                let segments = absolute.split('/').filter(|s| !s.is_empty()).count();
                let outside = !Path::new(absolute).starts_with(&root);
                if segments >= 2 && outside && Path::new(absolute).exists() {
                    found.push(format!("{}: {absolute}", shown(&file)));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "references outside the repository: {found:#?}"
    );
}

#[test]
fn grouped_and_plain_crate_paths_are_both_seen() {
    let source = "use crate::{a::b, c, d::{e, f}};\nuse crate::g::h;\nlet x = $crate::i;";
    let found: Vec<String> = crate_modules(source).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "g"]);
}

#[test]
fn file_references_are_comments_and_includes() {
    let source = "let a = \"../admin\"; // see ../shared/x.md\nstatic S: &str = include_str!(\"../t.html\");";
    let found: Vec<&str> = file_references(source)
        .into_iter()
        .flat_map(|place| paths_starting_with(place, "../"))
        .collect();
    assert_eq!(found, ["../shared/x.md", "../t.html"]);
}
