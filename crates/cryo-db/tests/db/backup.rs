//! Real pg_dump/pg_restore round trips on the test server.

use crate::{db_with_fixture, service_tx};
use cryo_db::backup::{self, BackupError, ConnSpec, Store};
use cryo_testkit::TestDb;
use sqlx::{Connection, Executor, PgPool};
use std::collections::BTreeMap;

fn spec(db: &TestDb) -> ConnSpec {
    ConnSpec::from_url(&db.url()).unwrap()
}

pub fn store(dir: &std::path::Path) -> Store {
    Store {
        dir: dir.to_path_buf(),
        bin_dir: cryo_db::cluster::find_bin_dir(None).unwrap(),
        key: None,
    }
}

/// Every row of every table, as JSON text, in a stable order.
async fn snapshot(pool: &PgPool) -> BTreeMap<String, Vec<String>> {
    let mut tx = service_tx(pool).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let sql = format!("SELECT to_jsonb(x)::text FROM public.\"{t}\" x ORDER BY 1");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        out.insert(t, rows);
    }
    out
}

#[tokio::test]
async fn backup_then_restore_gives_back_every_row_and_byte() {
    let db = db_with_fixture().await;
    {
        let mut tx = service_tx(&db.pool).await;
        tx.execute(
            "INSERT INTO molecules (name, canonical_smiles, is_reference, morgan_fp)
             SELECT 'm' || g, 'C' || repeat('C', g % 50) || 'O' || g, true, decode(repeat(lpad(to_hex(g % 256), 2, '0'), 256), 'hex')
             FROM generate_series(1, 2000) g",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let before = snapshot(&db.pool).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let m = backup::create(&db.pool, &spec(&db), &store, Some("round trip".into()))
        .await
        .unwrap();
    assert_eq!(m.table_counts["molecules"], 2001);
    assert!(m.migration_version.is_some());
    assert_eq!(store.list().unwrap().len(), 1);
    backup::verify(&store, &spec(&db), &m.id).await.unwrap();

    // Damage the live database, then restore over it.
    {
        let mut tx = service_tx(&db.pool).await;
        tx.execute("DELETE FROM molecules WHERE is_reference")
            .await
            .unwrap();
        tx.execute("UPDATE mixtures SET name = 'vandalised'")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    db.pool.close().await;
    // The caller's part of a restore: the schema is current already, so only the policies.
    let reapply = |t: ConnSpec| async move {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(t.options())
            .await?;
        let applied = cryo_db::rls::apply(&pool).await;
        pool.close().await;
        applied.map(|_| ()).map_err(BackupError::Db)
    };
    let refused = backup::restore(&store, &spec(&db), &m.id, false, false, reapply).await;
    assert!(
        matches!(refused, Err(BackupError::Refused(_))),
        "{refused:?}"
    );
    let plan = backup::restore(&store, &spec(&db), &m.id, true, false, reapply)
        .await
        .unwrap();
    assert!(
        plan.safety_backup.is_some(),
        "safety backup taken before replacing"
    );
    let old = plan.kept_old_database_as.clone().unwrap();

    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_with(db.options())
        .await
        .unwrap();
    assert_eq!(
        snapshot(&pool).await,
        before,
        "every row identical after restore"
    );
    let rls = cryo_db::rls::verify(&pool).await.unwrap();
    assert!(
        rls.ok(),
        "the restored database is as protected as the original: {:?}",
        rls.failures().collect::<Vec<_>>()
    );
    pool.close().await;
    let mut admin = sqlx::PgConnection::connect_with(&cryo_testkit::admin_options())
        .await
        .unwrap();
    sqlx::Connection::ping(&mut admin).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)"
        )))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_corrupted_byte_fails_verification() {
    let db = db_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let m = backup::create(&db.pool, &spec(&db), &store, None)
        .await
        .unwrap();
    let path = dir.path().join(&m.dump_file);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = backup::verify(&store, &spec(&db), &m.id).await.unwrap_err();
    assert!(matches!(err, BackupError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("SHA-256"), "{err}");
}

#[tokio::test]
async fn named_tables_are_restored_in_place_and_nothing_else_changes() {
    let db = db_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let spec = spec(&db);
    let m = cryo_db::backup::create(&db.pool, &spec, &store, None)
        .await
        .unwrap();
    let before = snapshot(&db.pool).await;
    // An accident: property rows deleted, a comment edited; meanwhile a legitimate new molecule.
    {
        let mut tx = service_tx(&db.pool).await;
        tx.execute("DELETE FROM molecular_properties; UPDATE comments SET body = 'oops' WHERE parent_id IS NULL;
                    INSERT INTO molecules (name, canonical_smiles, is_reference) VALUES ('new', 'CCCCO', true)")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let tables = vec!["molecular_properties".to_string(), "comments".to_string()];
    let dry = cryo_db::backup::restore_tables(&db.pool, &store, &spec, &m.id, &tables, true)
        .await
        .unwrap();
    assert!(
        dry.iter()
            .all(|t| t.rows_restored == before[&t.table].len() as i64)
    );
    assert_ne!(
        snapshot(&db.pool).await["molecular_properties"],
        before["molecular_properties"],
        "a dry run changes nothing"
    );

    let done = cryo_db::backup::restore_tables(&db.pool, &store, &spec, &m.id, &tables, false)
        .await
        .unwrap();
    assert_eq!(done.len(), 2);
    let after = snapshot(&db.pool).await;
    assert_eq!(
        after["molecular_properties"],
        before["molecular_properties"]
    );
    assert_eq!(after["comments"], before["comments"]);
    assert_eq!(
        after["molecules"].len(),
        before["molecules"].len() + 1,
        "the new molecule stays"
    );
    assert_eq!(
        after["audit_log"].len(),
        before["audit_log"].len() + 1,
        "the restore is audited"
    );

    // Rows elsewhere still point at molecules: restoring it alone is refused, nothing changes.
    let refused = cryo_db::backup::restore_tables(
        &db.pool,
        &store,
        &spec,
        &m.id,
        &["molecules".to_string()],
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("reference `molecules`"), "{refused}");
    let unknown = cryo_db::backup::restore_tables(
        &db.pool,
        &store,
        &spec,
        &m.id,
        &["nope".to_string()],
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("no table `nope`"), "{unknown}");
    assert_eq!(snapshot(&db.pool).await, after);
}

#[tokio::test]
async fn an_encrypted_backup_needs_its_key_and_verifies_with_it() {
    let db = db_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let key = cryo_db::backup::EncryptionKey::generate();
    let sealed = Store {
        key: Some(key.clone()),
        ..store(dir.path())
    };
    let spec = spec(&db);
    let m = cryo_db::backup::create(&db.pool, &spec, &sealed, None)
        .await
        .unwrap();
    assert!(m.dump_file.ends_with(".dump.zst.age"));
    assert_eq!(
        m.encryption.as_deref(),
        Some(format!("age-x25519:{}", key.recipient()).as_str())
    );
    let bytes = std::fs::read(dir.path().join(&m.dump_file)).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    assert!(
        !bytes.windows(8).any(|w| w == b"Glycerol"),
        "no plaintext at rest"
    );
    cryo_db::backup::verify(&sealed, &spec, &m.id)
        .await
        .unwrap();

    let no_key = store(dir.path());
    let err = cryo_db::backup::verify(&no_key, &spec, &m.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("encrypted") && err.contains("encryption_key_file"),
        "{err}"
    );
    let other = Store {
        key: Some(cryo_db::backup::EncryptionKey::generate()),
        ..store(dir.path())
    };
    let err = cryo_db::backup::verify(&other, &spec, &m.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot decrypt"), "{err}");

    // The key file round-trips through the format `backup keygen` writes.
    let file = dir.path().join("backup.key");
    std::fs::write(&file, key.to_file_contents()).unwrap();
    let read = cryo_db::backup::EncryptionKey::from_file(&file).unwrap();
    assert_eq!(read.recipient(), key.recipient());
}

/// What killed backups, verifies and restores leave is found and removed: `.partial` dumps and
/// dumps without a manifest once older than the longest run, scratch databases once over an
/// hour old and unused. Nothing a running backup or a kept copy needs is touched.
#[tokio::test]
async fn leftovers_of_interrupted_work_are_swept_and_nothing_else() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let kept = backup::create(&db.pool, &spec(&db), &store, None)
        .await
        .unwrap();
    let hours_ago =
        |h: u64| std::time::SystemTime::now() - std::time::Duration::from_secs(h * 3600);
    let file = |name: &str, modified| {
        let path = dir.path().join(name);
        let f = std::fs::File::create(&path).unwrap();
        f.set_modified(modified).unwrap();
        path
    };
    let killed_dumping = file("db-20260101T000000Z-aaaaaa.dump.zst.partial", hours_ago(3));
    let killed_before_manifest = file("db-20260101T000000Z-bbbbbb.dump.zst", hours_ago(3));
    let running_now = file("db-20260101T000000Z-cccccc.dump.zst.partial", hours_ago(0));
    let not_ours = file("notes.txt", hours_ago(3));

    let found = store.leftovers(std::time::Duration::ZERO).unwrap();
    assert_eq!(
        found,
        [
            killed_dumping.clone(),
            killed_before_manifest.clone(),
            running_now.clone()
        ]
    );
    let swept = store.sweep().unwrap();
    assert_eq!(
        swept,
        [killed_dumping.clone(), killed_before_manifest.clone()]
    );
    assert!(running_now.exists() && not_ours.exists());
    assert!(!killed_dumping.exists() && !killed_before_manifest.exists());
    assert_eq!(store.list().unwrap().len(), 1, "the real backup stays");
    assert!(dir.path().join(&kept.dump_file).exists());

    // Scratch databases: named with the time they were made (0: an old-style name).
    let spec = spec(&db);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let names = [
        ("cryo_verify_0_deadbeef".to_string(), true),
        (format!("cryo_verify_{now}_deadbeef"), false),
        (format!("cryo_rehearsal_{}_0badcafe", now - 7200), true),
        // The test database's long name is shortened in these, so the time survives.
        (
            format!(
                "{}{}",
                backup::copy_prefix(&spec.database, "restore"),
                now - 7200
            ),
            true,
        ),
        (
            format!(
                "{}{}",
                backup::copy_prefix(&spec.database, "pre_restore"),
                now - 7200
            ),
            false,
        ),
    ];
    assert!(names.iter().all(|(n, _)| n.len() <= 63), "{names:?}");
    let mut admin = sqlx::PgConnection::connect_with(&spec.options())
        .await
        .unwrap();
    for (name, _) in &names {
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap();
    }
    let dropped = backup::drop_scratch_databases(&spec).await.unwrap();
    let exists = async |admin: &mut sqlx::PgConnection, name: &str| -> bool {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(admin)
            .await
            .unwrap()
    };
    for (name, swept) in &names {
        assert_eq!(dropped.contains(name), *swept, "{name}: {dropped:?}");
        assert_eq!(exists(&mut admin, name).await, !*swept, "{name}");
    }
    // The copy `restore --force` kept goes only when asked, and only past the age given.
    let kept = &names[4].0;
    assert!(
        backup::drop_pre_restore_copies(&spec, 3 * 3600)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(exists(&mut admin, kept).await);
    assert_eq!(
        backup::drop_pre_restore_copies(&spec, 3600).await.unwrap(),
        vec![kept.clone()]
    );
    assert!(!exists(&mut admin, kept).await);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE \"{}\"",
            names[1].0
        )))
        .await
        .unwrap();
}

/// A pinned backup survives any pruning; unpinned, it is pruned like the others.
#[tokio::test]
async fn a_pinned_backup_survives_pruning_until_unpinned() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let m = backup::create(&db.pool, &spec(&db), &store, None)
        .await
        .unwrap();
    let keep_nothing = backup::RetentionPolicy {
        daily: 0,
        weekly: 0,
        monthly: 0,
        yearly: 0,
        max_age_days: Some(0),
        min_kept: 0,
    };
    let prune = || {
        let list = store.list().unwrap();
        backup::plan_prune(&list, &keep_nothing, time::OffsetDateTime::now_utc())
    };
    assert_eq!(prune().1, vec![m.id.clone()], "unpinned: pruned");
    assert!(store.set_pinned(&m.id, true).unwrap().pinned);
    assert!(store.get(&m.id).unwrap().pinned, "the manifest says so");
    assert_eq!(prune(), (vec![m.id.clone()], vec![]));
    store.set_pinned(&m.id, false).unwrap();
    assert_eq!(prune().1, vec![m.id.clone()]);
    backup::check_integrity(&store, &store.get(&m.id).unwrap()).unwrap();
}
