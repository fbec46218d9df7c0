use crate::cryoprotect;
use cryo_testkit::TestDb;

#[tokio::test]
async fn db_status_reports_pending_then_current_after_db_migrate() {
    let db = TestDb::empty().await;
    let run = |args: &[&str]| {
        cryoprotect()
            .env("DATABASE_URL", db.url())
            .args(args)
            .output()
            .unwrap()
    };

    let status = run(&["db", "status", "--json"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "pending migrations make status fail"
    );
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        report["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "pending")
    );

    let migrate = run(&["db", "migrate"]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("applied"));

    let status = run(&["db", "status"]);
    assert!(status.status.success());
    assert!(!String::from_utf8_lossy(&status.stdout).contains("pending"));

    let again = run(&["db", "migrate"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let out = cryoprotect()
        .env(
            "DATABASE_URL",
            "postgres://nobody:pw-secret@127.0.0.1:1/none",
        )
        .env("CRYOPROTECT_DB_ACQUIRE_TIMEOUT_SECS", "2")
        .args(["db", "status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database unreachable"), "{err}");
    assert!(!err.contains("pw-secret"), "{err}");
}

#[tokio::test]
async fn db_rls_verify_passes_then_names_the_table_after_rls_is_disabled() {
    let db = TestDb::new().await;
    let run = |args: &[&str]| {
        cryoprotect()
            .env("DATABASE_URL", db.url())
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&["db", "rls", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains(" 0 failed"));

    sqlx::query("ALTER TABLE protocols DISABLE ROW LEVEL SECURITY")
        .execute(&db.pool)
        .await
        .unwrap();
    let bad = run(&["db", "rls", "verify", "--json"]);
    assert_eq!(bad.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let failed: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ok"] == false)
        .map(|f| f["table"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"protocols"), "{failed:?}");

    let apply = run(&["db", "rls", "apply"]);
    assert!(apply.status.success());
    assert!(
        run(&["db", "rls", "verify"]).status.success(),
        "apply restored the policy set"
    );
}
