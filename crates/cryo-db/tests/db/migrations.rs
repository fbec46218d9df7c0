//! The migrator: atomic per migration, checksummed, reported honestly.

use cryo_db::migrate::{self, MigrationState};
use cryo_testkit::TestDb;
use sqlx::migrate::Migrator;
use std::path::Path;

/// A normalised description of the schema: tables, columns and constraints.
async fn schema_fingerprint(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('%s.%s %s %s', table_name, column_name, data_type, is_nullable)
         FROM information_schema.columns WHERE table_schema = 'public'
         UNION ALL
         SELECT format('constraint %s on %s', conname, conrelid::regclass) FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_fresh_database_migrates_and_reports_current() {
    let db = TestDb::empty().await;
    let (before, unknown) = migrate::status(&db.pool).await.unwrap();
    assert!(unknown.is_empty());
    assert!(before.iter().all(|m| m.state == MigrationState::Pending));
    assert!(!migrate::is_current(&db.pool).await.unwrap());
    // Status is read-only: it must not have created the history table.
    let history: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(history, None);

    migrate::run(&db.pool).await.unwrap();
    assert!(migrate::is_current(&db.pool).await.unwrap());
    // Running again is a no-op.
    migrate::run(&db.pool).await.unwrap();
}

#[tokio::test]
async fn a_broken_migration_leaves_the_schema_unchanged() {
    let db = TestDb::new().await;
    let before = schema_fingerprint(&db.pool).await;

    // The real migrations plus one that changes the schema and then fails halfway.
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("29991231000000_broken.up.sql"),
        "ALTER TABLE molecules ADD COLUMN doomed integer;\n\
         CREATE TABLE half_made (id int);\n\
         INSERT INTO half_made VALUES (1);\n\
         SELECT 1 / 0;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("29991231000000_broken.down.sql"),
        "DROP TABLE half_made;",
    )
    .unwrap();
    let migrator = Migrator::new(dir.path()).await.unwrap();

    let err = migrate::run_with(&migrator, &db.pool).await.unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
    assert_eq!(
        schema_fingerprint(&db.pool).await,
        before,
        "schema unchanged"
    );
    // The binary's own migrations are still current; the broken one is not recorded.
    assert!(migrate::is_current(&db.pool).await.unwrap());
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE version = 29991231000000")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn an_edited_migration_is_reported_as_a_checksum_mismatch() {
    let db = TestDb::new().await;
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = (SELECT min(version) FROM _sqlx_migrations)")
        .execute(&db.pool)
        .await
        .unwrap();
    let (known, _) = migrate::status(&db.pool).await.unwrap();
    assert_eq!(known[0].state, MigrationState::ChecksumMismatch);
    assert!(!migrate::is_current(&db.pool).await.unwrap());
    let err = migrate::run(&db.pool).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("previously applied but has been modified"),
        "{err}"
    );
}
