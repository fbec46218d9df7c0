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

/// `db migrate` on a server that was never bootstrapped refuses before touching anything (it
/// used to apply two migrations, stop at the third, and leave a database every later migrate
/// failed on).
#[tokio::test]
async fn migrate_before_bootstrap_refuses_and_changes_nothing() {
    use sqlx::{Connection, Executor};
    let db = TestDb::empty().await;
    // A login role outside the bootstrapped roles, owning a fresh database of its own.
    let role = format!("cryo_t_unboot_{}", &db.name[db.name.len() - 8..]);
    let name = format!("{}_unboot", db.name);
    let mut admin = sqlx::PgConnection::connect_with(&cryo_testkit::admin_options())
        .await
        .unwrap();
    for sql in [
        format!("CREATE ROLE \"{role}\" LOGIN PASSWORD 'pw'"),
        format!("CREATE DATABASE \"{name}\" OWNER \"{role}\""),
    ] {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    let url = db.url().replace(
        &format!("{}:{}@", cryo_testkit::TEST_ROLE, cryo_testkit::TEST_ROLE),
        &format!("{role}:pw@"),
    );
    let url = url.replace(&db.name, &name);
    let out = cryoprotect()
        .env("DATABASE_URL", &url)
        .args(["db", "migrate", "--no-backup"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("nothing was migrated") && err.contains("db bootstrap"),
        "{err}"
    );
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 0, "not even the migration history was created");
    conn.close().await.unwrap();
    for sql in [
        format!("DROP DATABASE \"{name}\" WITH (FORCE)"),
        format!("DROP ROLE \"{role}\""),
    ] {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
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

#[tokio::test]
async fn a_killed_backup_never_looks_valid_and_the_next_one_succeeds() {
    let db = TestDb::new().await;
    {
        // Enough rows that pg_dump runs long enough to be killed mid-way.
        let mut tx = cryo_testkit::service_tx(&db.pool).await;
        sqlx::query(
            "INSERT INTO molecules (name, canonical_smiles, is_reference, morgan_fp)
             SELECT 'm' || g, 'C' || g || repeat('O', 40), true, decode(md5(g::text) || repeat('ab', 240), 'hex')
             FROM generate_series(1, 400000) g",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    // Opened up as a umask of 0022 would leave a new folder: backups must narrow it.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let backup = |args: &[&str]| {
        let mut c = cryoprotect();
        c.env("DATABASE_URL", db.url())
            .env("CRYOPROTECT_BACKUP_DIR", dir.path())
            .arg("backup")
            .args(args);
        c
    };
    let mut child = backup(&["create"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the dump is being written, then kill the whole process group's leader hard.
    let partial = loop {
        let found = std::fs::read_dir(dir.path()).ok().and_then(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "partial"))
        });
        if let Some(p) = found
            && std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false)
        {
            break p;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "backup finished before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(partial.exists());

    let list = backup(&["list", "--json"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "a killed backup is not listed"
    );

    let ok = backup(&["create"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&backup(&["list", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["table_counts"]["molecules"], 400000);
    // Backups hold password hashes: folder 0700, files 0600 whatever the umask (this process
    // has the usual 0022, under which they were 0644 before).
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path()), 0o700);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "partial"))
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // A file loosened by hand is named by `backup list`.
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o644)).unwrap();
    let warned = backup(&["list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(stderr.contains("readable by other users"), "{stderr}");
    assert!(stderr.contains(&files[0].display().to_string()), "{stderr}");
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o600)).unwrap();
    let verify = backup(&["verify", listed[0]["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// `cryoprotect ARGS` against `db`, keeping backups in `dir`.
fn with_backups(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    cryoprotect()
        .env("DATABASE_URL", db.url())
        .env("CRYOPROTECT_BACKUP_DIR", dir)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn integrity_fix_backs_up_repairs_and_then_health_is_clean() {
    use sqlx::Executor;
    let db = TestDb::new().await;
    let backups = tempfile::tempdir().unwrap();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let owner = cryo_db::repo::auth::create_user(&mut tx, "legacy@lab.example", "Legacy", "x")
        .await
        .unwrap()
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    db.pool
        .execute("ALTER TABLE mixtures DROP CONSTRAINT mixtures_project_id_fkey")
        .await
        .unwrap();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    sqlx::query("INSERT INTO mixtures (name, project_id, created_by) VALUES ('old', gen_random_uuid(), $1), ('fine', NULL, $1)")
        .bind(owner)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let run = |args: &[&str]| with_backups(&db, backups.path(), args);
    let check = run(&["db", "integrity", "check", "--json"]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let fk = report["foreign_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["constraint"] == "mixtures_project_id_fkey")
        .unwrap();
    assert_eq!(
        (fk["state"].as_str(), fk["orphans"].as_i64()),
        (Some("missing"), Some(1))
    );

    // project_id is nullable and SET NULL is what the constraint would have done.
    let fixed = run(&["db", "integrity", "fix", "--strategy", "nullify"]);
    let out = String::from_utf8_lossy(&fixed.stdout);
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    assert!(
        out.contains("remove_orphans")
            && out.contains("add_constraint")
            && out.contains("0 orphan rows remain"),
        "{out}"
    );
    let list = run(&["backup", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["label"], "before-integrity-fix");
    assert_eq!(run(&["db", "integrity", "check"]).status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&run(&["db", "integrity", "fix", "--strategy", "delete"]).stdout)
            .contains("nothing to fix")
    );
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM mixtures")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(left, 2, "nullify keeps the rows");

    let health = run(&[
        "db",
        "health",
        "--markdown",
        "--checks",
        "orphans,migrations,rls_coverage",
    ]);
    let md = String::from_utf8_lossy(&health.stdout);
    assert!(
        health.status.success(),
        "{md}{}",
        String::from_utf8_lossy(&health.stderr)
    );
    assert!(
        md.contains("| orphans | ok |") && md.contains("| rls_coverage | ok |"),
        "{md}"
    );
}

#[tokio::test]
async fn migrate_dry_run_rehearsal_on_a_copy_then_a_backed_up_migration() {
    let db = TestDb::new().await;
    let backups = tempfile::tempdir().unwrap();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    cryo_db::repo::auth::create_user(&mut tx, "data@lab.example", "Data", "x")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let run = |args: &[&str]| with_backups(&db, backups.path(), args);
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    // Back to before the polymorphic guards (and the empty registry, outbox and verifier policy
    // after them).
    let back = run(&[
        "db",
        "rollback",
        "--to",
        "20261129000005",
        "--allow-data-loss",
    ]);
    assert!(back.status.success(), "{}", text(&back));

    let dry = run(&["db", "migrate", "--dry-run"]);
    let out = text(&dry);
    assert!(dry.status.success(), "{out}");
    assert!(out.contains("20261129000006 polymorphic guards"), "{out}");
    assert!(
        out.contains("lock: SHARE ROW EXCLUSIVE on shared_resources"),
        "{out}"
    );
    assert_eq!(
        run(&["db", "status"]).status.code(),
        Some(1),
        "a dry run applies nothing"
    );

    let rehearsal = run(&["db", "migrate", "--check-on-copy"]);
    let out = text(&rehearsal);
    assert!(rehearsal.status.success(), "{out}");
    assert!(
        out.contains("applied on the copy: 20261129000006") && out.contains("rehearsal passed"),
        "{out}"
    );
    assert_eq!(
        run(&["db", "status"]).status.code(),
        Some(1),
        "the live database was not migrated"
    );

    let real = run(&["db", "migrate"]);
    let out = text(&real);
    assert!(real.status.success(), "{out}");
    assert!(
        out.contains("pre-migration backup") && out.contains("applied 20261129000006"),
        "{out}"
    );
    assert_eq!(run(&["db", "status"]).status.code(), Some(0));
    let list: serde_json::Value =
        serde_json::from_slice(&run(&["backup", "list", "--json"]).stdout).unwrap();
    let labels: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"before-migrate-20261129000006")
            && labels.contains(&"migration-rehearsal"),
        "{labels:?}"
    );
}

#[tokio::test]
async fn users_role_makes_an_admin_and_audits_it() {
    let db = TestDb::new().await;
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let user = cryo_db::repo::auth::create_user(&mut tx, "Ada@Lab.example", "Ada", "x")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| with_backups(&db, backups.path(), args);

    let done = run(&["users", "role", "ada@lab.example", "admin"]);
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(out.contains("is now admin (was user)"), "{out}");
    let (role, audited): (String, i64) = sqlx::query_as(
        "SELECT (SELECT global_role FROM users WHERE id = $1),
                (SELECT count(*) FROM audit_log WHERE action = 'user.role_changed' AND target_id = $1
                   AND details->>'to' = 'admin' AND details->>'from' = 'user')",
    )
    .bind(user.id)
    .fetch_one(
        // RLS is forced even for the owner: read as the service.
        &mut *cryo_testkit::service_tx(&db.pool).await,
    )
    .await
    .unwrap();
    assert_eq!((role.as_str(), audited), ("admin", 1));

    let unknown = run(&["users", "role", "nobody@lab.example", "admin"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no account with e-mail nobody@lab.example")
    );
    let bad = run(&["users", "role", "ada@lab.example", "emperor"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}

/// `cryoprotect restore` through the binary: the restored copy replaces the database only after
/// it was migrated and its policies re-applied (the CLI's part of a restore), and the rows are
/// back.
#[tokio::test]
async fn restore_puts_the_rows_back_and_leaves_the_database_protected() {
    let db = TestDb::new().await;
    let backups = tempfile::tempdir().unwrap();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    cryo_db::repo::auth::create_user(&mut tx, "kept@lab.example", "Kept", "x")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let run = |args: &[&str]| with_backups(&db, backups.path(), args);
    let made = run(&["backup", "create", "--label", "before-loss"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    sqlx::query("DELETE FROM users WHERE email = 'kept@lab.example'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.pool.close().await;

    let restored = run(&["restore", "latest", "--force"]);
    let out = String::from_utf8_lossy(&restored.stdout).to_string();
    assert!(
        restored.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let pool = sqlx::PgPool::connect_with(db.options()).await.unwrap();
    let mut tx = cryo_testkit::service_tx(&pool).await;
    let back: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'kept@lab.example'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(back, 1, "the deleted account is back: {out}");
    let rls = cryo_db::rls::verify(&pool).await.unwrap();
    assert!(rls.ok(), "{:?}", rls.failures().collect::<Vec<_>>());
    // The restored database has planner statistics (pg_restore leaves none).
    let unanalysed: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_stat_user_tables
         WHERE relname IN ('users', 'molecules') AND last_analyze IS NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(unanalysed.is_empty(), "not analysed: {unanalysed:?}");
    pool.close().await;
    // The replaced database is kept under another name (the test database's long name
    // shortened so the time fits); this test's to drop.
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&cryo_testkit::admin_options())
            .await
            .unwrap();
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(format!(
                "{}%",
                cryo_db::backup::copy_prefix(&db.name, "pre_restore")
            ))
            .fetch_all(&mut admin)
            .await
            .unwrap();
    assert_eq!(kept.len(), 1, "the old database is kept once: {kept:?}");
    for name in kept {
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")),
        )
        .await
        .unwrap();
    }
}
