//! The layering ARCHITECTURE.md states as absences, checked on the source tree: use cases
//! name no HTTP type, and nothing outside `cryo-db` writes SQL.

use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (file, line number, line) of every source line in `krate/src` containing one of `needles`
/// (comments aside: they may say what the code does not do).
fn lines_naming(krate: &str, needles: &[&str]) -> Vec<(PathBuf, usize, String)> {
    lines_naming_in(&format!("{krate}/src"), needles)
}

/// [`lines_naming`] below `crates/<dir>`.
fn lines_naming_in(dir: &str, needles: &[&str]) -> Vec<(PathBuf, usize, String)> {
    let mut files = Vec::new();
    rust_files(&crates_dir().join(dir), &mut files);
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && needles.iter().any(|n| code.contains(n)) {
                hits.push((f.clone(), i + 1, line.trim().to_string()));
            }
        }
    }
    hits
}

/// The `[dependencies]` names of `krate`'s manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml")).unwrap();
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
            names.push(name.trim().to_string());
        }
    }
    names
}

#[test]
fn the_use_cases_name_no_http_type() {
    let hits = lines_naming(
        "cryo-app",
        &[
            "axum",
            "StatusCode",
            "IntoResponse",
            "ApiError",
            "cryo_server",
        ],
    );
    assert!(hits.is_empty(), "cryo-app names HTTP: {hits:#?}");
    let deps = dependencies("cryo-app");
    assert!(
        deps.contains(&"cryo-db".to_string()),
        "manifest read: {deps:?}"
    );
    for web in [
        "axum",
        "tower",
        "tower-http",
        "utoipa-axum",
        "cryo-server",
        "http",
    ] {
        assert!(
            !deps.contains(&web.to_string()),
            "cryo-app depends on {web}"
        );
    }
}

#[test]
fn nothing_outside_cryo_db_writes_sql() {
    let sql = ["sqlx::query", "query_as(", "query_scalar(", "AssertSqlSafe"];
    for krate in [
        "cryo-app",
        "cryo-server",
        "cryo-cli",
        "cryo-core",
        "cryo-ml",
        "cryo-chem",
    ] {
        let hits = lines_naming(krate, &sql);
        assert!(hits.is_empty(), "{krate} writes SQL: {hits:#?}");
    }
    // The check itself can see SQL where there is some.
    assert!(!lines_naming("cryo-db", &sql).is_empty());
}

#[test]
fn the_repositories_build_no_sql_at_run_time() {
    // Query text in the repositories is literals and `concat!` of literals: nothing a value can
    // reach. Run-time SQL (`AssertSqlSafe`) is left to DDL over catalogued identifiers (roles,
    // policies, backups, integrity fixes).
    let hits = lines_naming_in("cryo-db/src/repo", &["AssertSqlSafe", "format!(\""]);
    // The scan sees the one format! there is: an e-mail placeholder, a value, not SQL.
    assert!(
        hits.iter().any(|(_, _, l)| l.contains("@external.invalid")),
        "scan read: {hits:#?}"
    );
    let sql: Vec<_> = hits
        .into_iter()
        .filter(|(_, _, line)| !line.contains("@external.invalid"))
        .collect();
    assert!(sql.is_empty(), "SQL built at run time: {sql:#?}");
}

/// The modules of `krate` (as `a::b`, from file paths) and, for each, the other modules it names
/// through `crate::` paths (ancestors and descendants aside: a folder's `mod.rs` and its children
/// may name each other).
fn module_graph(krate: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let src = crates_dir().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let name_of = |f: &Path| -> String {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .filter(|p| p != "mod" && p != "lib" && p != "main")
            .collect();
        parts.join("::")
    };
    let modules: Vec<(String, PathBuf)> = files.iter().map(|f| (name_of(f), f.clone())).collect();
    let names: std::collections::BTreeSet<String> =
        modules.iter().map(|(n, _)| n.clone()).collect();
    let related = |a: &str, b: &str| {
        a == b
            || a.is_empty()
            || b.is_empty()
            || a.starts_with(&format!("{b}::"))
            || b.starts_with(&format!("{a}::"))
    };
    // Names the crate root re-exports (`pub use app::{Actor, App};`) stand for their module.
    let mut reexported = std::collections::BTreeMap::new();
    for root in ["lib.rs", "main.rs"] {
        let Ok(text) = std::fs::read_to_string(src.join(root)) else {
            continue;
        };
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let Some((module, items)) = rest.trim_end_matches(';').split_once("::") else {
                continue;
            };
            for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
                reexported.insert(item.trim().to_string(), module.to_string());
            }
        }
    }
    let mut graph = std::collections::BTreeMap::new();
    for (name, file) in &modules {
        // Comments may name a module without depending on it.
        let text: String = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut targets = std::collections::BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let path: String = text[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            if let Some(module) = segments.first().and_then(|s| reexported.get(*s)) {
                segments[0] = module;
            }
            // The longest module the path names.
            if let Some(target) = (1..=segments.len())
                .rev()
                .map(|k| segments[..k].join("::"))
                .find(|m| names.contains(m))
                && !related(name, &target)
            {
                targets.insert(target);
            }
        }
        graph.insert(name.clone(), targets.into_iter().collect());
    }
    graph
}

/// A module circle in `graph`, if there is one, as the path around it.
fn circle(graph: &std::collections::BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &std::collections::BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut c = path[at..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for krate in [
        "cryo-core",
        "cryo-config",
        "cryo-chem",
        "cryo-ml",
        "cryo-db",
        "cryo-app",
        "cryo-server",
        "cryo-cli",
    ] {
        let graph = module_graph(krate);
        assert!(graph.len() > 3, "{krate}: modules read: {graph:?}");
        assert!(
            circle(&graph).is_none(),
            "{krate}: import circle {:?}",
            circle(&graph)
        );
    }
    // The check sees a circle where there is one.
    let mut made_up = std::collections::BTreeMap::new();
    made_up.insert("a".to_string(), vec!["b".to_string()]);
    made_up.insert("b".to_string(), vec!["a".to_string()]);
    assert_eq!(circle(&made_up).unwrap(), ["a", "b", "a"]);
}
