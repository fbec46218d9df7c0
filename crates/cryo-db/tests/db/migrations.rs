//! The migrator: atomic per migration, checksummed, reported honestly.

use cryo_db::migrate::{self, MigrationState};
use cryo_testkit::TestDb;
use sqlx::Executor;
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

/// `pg_dump --schema-only`, without comments, settings and blank lines.
fn schema_dump(db: &TestDb) -> String {
    let spec = cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap();
    let out = std::process::Command::new("pg_dump")
        .args(["--schema-only", "--no-password"])
        .env("PGHOST", &spec.host)
        .env("PGPORT", spec.port.to_string())
        .env("PGUSER", &spec.user)
        .env("PGPASSWORD", spec.password.clone().unwrap_or_default())
        .env("PGDATABASE", &spec.database)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // pg_dump 15.14+ brackets its output with \restrict/\unrestrict and a random key.
        .filter(|l| {
            !l.trim().is_empty()
                && !l.starts_with("--")
                && !l.starts_with("SET ")
                && !l.contains("set_config")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line where two schema dumps differ, for a readable failure.
fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let (mut x, mut y) = (a.lines(), b.lines());
    for i in 0.. {
        match (x.next(), y.next()) {
            (None, None) => return None,
            (l, r) if l != r => {
                return Some((
                    i + 1,
                    l.unwrap_or("<end>").into(),
                    r.unwrap_or("<end>").into(),
                ));
            }
            _ => {}
        }
    }
    None
}

#[tokio::test]
async fn all_the_way_down_and_up_again_gives_the_same_schema() {
    for with_data in [false, true] {
        let db = TestDb::new().await;
        if with_data {
            let mut tx = crate::service_tx(&db.pool).await;
            tx.execute(include_str!("../fixtures/one_of_each.sql"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let up = schema_dump(&db);
        assert!(up.contains("CREATE TABLE public.molecules"));

        // Down scripts that destroy data must be allowed explicitly.
        let refused = migrate::rollback(&db.pool, 0, false).await.unwrap_err();
        assert!(
            refused.to_string().contains("--allow-data-loss"),
            "{refused}"
        );
        assert_eq!(
            first_difference(&schema_dump(&db), &up),
            None,
            "a refused rollback changes nothing"
        );

        let reverted = migrate::rollback(&db.pool, 0, true).await.unwrap();
        assert_eq!(
            reverted.len(),
            migrate::MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration())
                .count()
        );
        let down = schema_dump(&db);
        assert!(!down.contains("public.molecules"), "everything reverted");

        migrate::run(&db.pool).await.unwrap();
        assert_eq!(
            first_difference(&schema_dump(&db), &up),
            None,
            "round trip restores the schema exactly (with data: {with_data})"
        );
    }
}

#[tokio::test]
async fn rolling_back_one_step_without_data_loss_keeps_the_rest() {
    let db = TestDb::new().await;
    // Going back below the alert outbox reverts, newest first, the screening jobs' alerts choice
    // (data loss), the screening policies (none), the screening tables (data loss), the ranking indexes (none), the mixture versions' validation
    // and policies (none), the mixture versions (data loss), the RLS initplan set (none), the
    // toxicity policies (none), the toxicity tables (data loss), the protocols' designs (data
    // loss), the predictions' class columns and domain columns (data loss), the accounts' steps (none), the experiments' raw values (data loss), the
    // sharing triggers and the verifier's read (none), and the outbox (data loss): refused
    // without permission, naming the first that destroys data.
    let (newest_lossy, outbox): (i64, i64) = (20261208000003, 20261129000009);
    let refused = migrate::rollback(&db.pool, outbox - 1, false)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains(&newest_lossy.to_string()),
        "{refused}"
    );
    migrate::rollback(&db.pool, outbox - 1, true).await.unwrap();
    // The model registry's down script drops data; its policy set after it does not.
    let data_loss = 20261129000007;
    let before_it = 20261129000006;
    let rolled = migrate::rollback(&db.pool, data_loss, false).await.unwrap();
    assert!(rolled.iter().all(|r| r.0 > data_loss), "{rolled:?}");
    let (after, _) = migrate::status(&db.pool).await.unwrap();
    let state = |v: i64| after.iter().find(|m| m.version == v).unwrap().state.clone();
    assert_eq!(state(data_loss), MigrationState::Applied);
    assert_eq!(after.last().unwrap().state, MigrationState::Pending);
    let refused = migrate::rollback(&db.pool, before_it, false)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains(&data_loss.to_string()),
        "{refused}"
    );
    migrate::rollback(&db.pool, before_it, true).await.unwrap();
    let (after, _) = migrate::status(&db.pool).await.unwrap();
    assert_eq!(
        after.iter().find(|m| m.version == data_loss).unwrap().state,
        MigrationState::Pending
    );
    migrate::run(&db.pool).await.unwrap();
    assert!(migrate::is_current(&db.pool).await.unwrap());
}

#[tokio::test]
async fn a_migration_failing_halfway_leaves_the_previous_version_and_a_listed_backup() {
    let db = TestDb::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "1_first.up.sql",
            "CREATE TABLE things (id int PRIMARY KEY, name text);\nGRANT SELECT ON things, _sqlx_migrations TO cryoprotect_rls_definer;\nINSERT INTO things VALUES (1, 'kept');",
        ),
        ("1_first.down.sql", "DROP TABLE things;"),
        (
            "2_broken.up.sql",
            "CREATE TABLE more (id int);\nALTER TABLE things ADD COLUMN x int;\nSELECT 1 / 0;",
        ),
        ("2_broken.down.sql", "DROP TABLE more;"),
    ];
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    let migrator = Migrator::new(dir.path()).await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let store = crate::backup::store(backups.path());
    let spec = cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap();
    // An empty database is not backed up; version 1 lands.
    let first = migrate::apply(&db.pool, &migrator, Some(1), Some((&store, &spec)))
        .await
        .unwrap();
    assert_eq!(first.migrations.len(), 1);
    assert!(first.backup.is_none(), "nothing to protect yet");

    let err = migrate::apply(&db.pool, &migrator, None, Some((&store, &spec)))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("migration 2 failed") && message.contains("division by zero"),
        "{message}"
    );
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label.as_deref(), Some("before-migrate-2"));
    assert!(
        message.contains(&listed[0].id),
        "the error names the backup: {message}"
    );
    // Version 1 only: no trace of the half-run migration.
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY 1")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(versions, vec![1]);
    let more: bool = sqlx::query_scalar("SELECT to_regclass('more') IS NOT NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!more);
    let columns: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'things'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(columns, 2);
    assert_eq!(listed[0].table_counts.get("things"), Some(&1));
}
