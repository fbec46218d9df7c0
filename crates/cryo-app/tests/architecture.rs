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
