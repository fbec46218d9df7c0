//! `integrity` and `health` on real databases: a legacy database with constraints dropped and
//! orphans across five relations is repaired with nothing else touched; every health condition
//! that can be provoked on a test database is provoked and seen.

use crate::{db_with_fixture, service_tx};
use cryo_db::health::{self, Status, Thresholds};
use cryo_db::integrity::{self, Action, FkState, Strategy};
use cryo_testkit::TestDb;
use sqlx::{Connection, Executor, PgConnection};
use std::collections::BTreeMap;

#[tokio::test]
async fn the_expected_foreign_keys_are_exactly_those_of_a_fresh_database() {
    let db = TestDb::new().await;
    let report = integrity::check(&db.pool, true).await.unwrap();
    assert!(
        report
            .foreign_keys
            .iter()
            .all(|f| f.state == FkState::Valid),
        "{report:#?}"
    );
    assert!(
        report.unexpected.is_empty(),
        "add these to EXPECTED_FKS: {:?}",
        report.unexpected
    );
    assert!(report.undeclared.is_empty(), "{:?}", report.undeclared);
    assert!(report.polymorphic.iter().all(|p| p.guarded));
    assert!(report.is_clean());
    assert_eq!(
        report.unindexed().count(),
        0,
        "{:?}",
        report.unindexed().collect::<Vec<_>>()
    );
}

/// Fixed ids that point at nothing.
const GHOST: &str = "00000000-0000-0000-0000-00000000dead";

/// What an old dump restored without its constraints looks like: five foreign keys and one
/// polymorphic guard gone, orphans in each.
async fn make_legacy(db: &TestDb) {
    for (table, constraint) in [
        ("experiments", "experiments_molecule_id_fkey"),
        ("mixture_components", "mixture_components_molecule_id_fkey"),
        (
            "molecular_properties",
            "molecular_properties_molecule_id_fkey",
        ),
        ("predictions", "predictions_molecule_id_fkey"),
        ("lab_verifications", "lab_verifications_requested_by_fkey"),
    ] {
        db.pool
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DROP CONSTRAINT {constraint}"
            )))
            .await
            .unwrap();
    }
    db.pool
        .execute("DROP TRIGGER comments_resource_exists ON comments")
        .await
        .unwrap();
    let mut tx = service_tx(&db.pool).await;
    let statements = [
        // An orphan experiment that a verification depends on (ON DELETE CASCADE): quarantine
        // must take the verification along, not lose it.
        format!("INSERT INTO experiments (id, molecule_id, property_type_id, numeric_value, created_by)
                 SELECT '00000000-0000-0000-0000-00000000e001', '{GHOST}', t.id, 1, '00000000-0000-0000-0000-00000000000a'
                 FROM property_types t WHERE t.name = 'Melting Point'"),
        "INSERT INTO lab_verifications (experiment_id, requested_by) VALUES
             ('00000000-0000-0000-0000-00000000e001', '00000000-0000-0000-0000-00000000000a')".to_string(),
        format!("INSERT INTO mixture_components (mixture_id, molecule_id, concentration, concentration_unit)
                 VALUES ('00000000-0000-0000-0000-000000000201', '{GHOST}', 5, 'percent_w_v')"),
        format!("INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
                 SELECT '{GHOST}', t.id, m.id, 3 FROM property_types t, calculation_methods m
                 WHERE t.name = 'Molecular Weight' AND m.name = 'RDKit Descriptors'"),
        format!("INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
                 SELECT '{GHOST}', t.id, m.id, 4 FROM property_types t, calculation_methods m
                 WHERE t.name = 'LogP' AND m.name = 'RDKit Descriptors'"),
        format!("INSERT INTO predictions (molecule_id, property_type_id, calculation_method_id, numeric_value, created_by)
                 SELECT '{GHOST}', t.id, m.id, 2, '00000000-0000-0000-0000-00000000000a'
                 FROM property_types t, calculation_methods m
                 WHERE t.name = 'Cryoprotection Score' AND m.name = 'CryoProtect Scoring'"),
        format!("INSERT INTO lab_verifications (experiment_id, requested_by) VALUES
                 ('00000000-0000-0000-0000-000000000401', '{GHOST}')"),
        format!("INSERT INTO comments (resource_type, resource_id, body, created_by) VALUES
                 ('molecule', '{GHOST}', 'about a molecule that is gone', '00000000-0000-0000-0000-00000000000a')"),
    ];
    for s in statements {
        tx.execute(sqlx::AssertSqlSafe(s)).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn counts(db: &TestDb) -> BTreeMap<String, i64> {
    integrity::row_counts(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn a_legacy_database_is_repaired_by_quarantine_and_nothing_else_is_touched() {
    let db = db_with_fixture().await;
    make_legacy(&db).await;
    let report = integrity::check(&db.pool, true).await.unwrap();
    let missing: Vec<String> = report
        .foreign_keys
        .iter()
        .filter(|f| f.state == FkState::Missing)
        .map(|f| f.constraint.clone())
        .collect();
    assert_eq!(missing.len(), 5, "{missing:?}");
    let orphans = |table: &str| {
        report
            .foreign_keys
            .iter()
            .filter(|f| f.table == table)
            .filter_map(|f| f.orphans)
            .sum::<i64>()
    };
    assert_eq!(orphans("experiments"), 1);
    assert_eq!(orphans("mixture_components"), 1);
    assert_eq!(orphans("molecular_properties"), 2);
    assert_eq!(orphans("predictions"), 1);
    assert_eq!(orphans("lab_verifications"), 1);
    let comments = report
        .polymorphic
        .iter()
        .find(|p| p.table == "comments")
        .unwrap();
    assert_eq!((comments.orphans, comments.guarded), (1, false));

    let before = counts(&db).await;
    let dry = integrity::fix(&db.pool, Strategy::Quarantine, true, "test")
        .await
        .unwrap();
    assert!(!dry.actions.is_empty());
    assert_eq!(counts(&db).await, before, "a dry run changes nothing");

    let fixed = integrity::fix(&db.pool, Strategy::Quarantine, false, "test")
        .await
        .unwrap();
    assert!(fixed.after.is_clean(), "{:#?}", fixed.after);
    assert!(fixed.actions.iter().any(|a| matches!(a, Action::RemoveDependents { table, rows: 1, .. } if table == "lab_verifications")));
    assert!(
        fixed
            .actions
            .iter()
            .any(|a| matches!(a, Action::InstallGuards))
    );
    let after = counts(&db).await;
    let removed: BTreeMap<&str, i64> = [
        ("experiments", 1),
        // its dependent verification, and the verification requested by a ghost user
        ("lab_verifications", 2),
        ("mixture_components", 1),
        ("molecular_properties", 2),
        ("predictions", 1),
        ("comments", 1),
    ]
    .into();
    for (table, n) in &before {
        let expected = if table == "audit_log" {
            n + fixed.actions.len() as i64
        } else {
            n - removed.get(table.as_str()).copied().unwrap_or(0)
        };
        assert_eq!(after[table], expected, "{table}");
    }
    // The removed rows wait in quarantine with their reason.
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT quarantine_reason FROM quarantine.molecular_properties")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(reasons.len(), 2);
    assert!(
        reasons[0].contains("molecular_properties.molecule_id points at no row of molecules"),
        "{reasons:?}"
    );
    let moved: i64 = sqlx::query_scalar("SELECT count(*) FROM quarantine.lab_verifications")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(moved, 2);
    // The constraints are back and enforced; the guard rejects a dangling comment.
    let mut tx = service_tx(&db.pool).await;
    let err = tx
        .execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO comments (resource_type, resource_id, body, created_by) VALUES ('molecule', '{GHOST}', 'x', '00000000-0000-0000-0000-00000000000a')"
        )))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("23503")
    );
    drop(tx);
    // Every decision is in the audit log, and a second run has nothing to do.
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'integrity_fix'")
            .fetch_one(&mut *cryo_testkit::service_tx(&db.pool).await)
            .await
            .unwrap();
    assert_eq!(audited, fixed.actions.len() as i64);
    let again = integrity::fix(&db.pool, Strategy::Quarantine, false, "test")
        .await
        .unwrap();
    assert!(again.actions.is_empty());
    assert_eq!(counts(&db).await, after);
}

#[tokio::test]
async fn a_fix_that_cannot_complete_changes_nothing() {
    let db = db_with_fixture().await;
    make_legacy(&db).await;
    let before = counts(&db).await;
    // mixture_components.molecule_id is NOT NULL: refused before anything runs.
    let err = integrity::fix(&db.pool, Strategy::Nullify, false, "test")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NOT NULL"), "{err}");
    assert_eq!(counts(&db).await, before);
    let still = integrity::check(&db.pool, true).await.unwrap();
    assert_eq!(
        still
            .foreign_keys
            .iter()
            .filter(|f| f.state == FkState::Missing)
            .count(),
        5
    );
}

#[tokio::test]
async fn deleting_a_resource_removes_its_shares_and_comments() {
    let db = db_with_fixture().await;
    let mut tx = service_tx(&db.pool).await;
    let before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM comments WHERE resource_id = '00000000-0000-0000-0000-000000000201'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(before, 2);
    tx.execute("DELETE FROM mixture_components; DELETE FROM protocols; DELETE FROM experiments WHERE mixture_id IS NOT NULL; DELETE FROM predictions WHERE mixture_id IS NOT NULL; DELETE FROM mixtures")
        .await
        .unwrap();
    let left: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM comments), (SELECT count(*) FROM shared_resources),
                (SELECT count(*) FROM notifications WHERE resource_id IS NOT NULL)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(left, (0, 0, 0));
}

fn check<'a>(report: &'a health::Report, name: &str) -> &'a health::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

#[tokio::test]
async fn a_database_ahead_of_the_binary_is_a_warning_not_a_failure() {
    let db = TestDb::new().await;
    let only = ["migrations".to_string()];
    let thresholds = Thresholds::default();
    let run = || health::run(&db.pool, &thresholds, None, Some(&only));
    assert_eq!(
        check(&run().await.unwrap(), "migrations").status,
        Status::Ok
    );
    // What a rollback after a migrating deploy leaves: a migration this binary does not know.
    let newer = db.apply_newer_release_migration().await;
    let report = run().await.unwrap();
    let c = check(&report, "migrations");
    assert_eq!(c.status, Status::Warning, "{c:?}");
    assert!(c.message.contains(&newer.to_string()), "{}", c.message);
    assert_eq!(c.value["newer_than_binary"][0], newer);
}

#[tokio::test]
async fn a_healthy_database_reports_ok_as_the_monitoring_role() {
    let db = db_with_fixture().await;
    let report = health::run(&db.pool, &Thresholds::default(), None, None)
        .await
        .unwrap();
    assert!(report.monitor_role);
    assert_eq!(report.checks.len(), health::CHECKS.len());
    for c in &report.checks {
        if c.name == "last_backup" {
            assert_eq!(c.status, Status::Warning, "no backup folder was given");
        } else {
            assert_eq!(c.status, Status::Ok, "{c:?}");
        }
    }
    let only = ["connectivity".to_string(), "xid_wraparound".to_string()];
    let some = health::run(&db.pool, &Thresholds::default(), None, Some(&only))
        .await
        .unwrap();
    assert_eq!(
        some.checks.iter().map(|c| c.name).collect::<Vec<_>>(),
        vec!["connectivity", "xid_wraparound"]
    );
    let bad = ["nonsense".to_string()];
    assert!(
        health::run(&db.pool, &Thresholds::default(), None, Some(&bad))
            .await
            .unwrap_err()
            .to_string()
            .contains("nonsense")
    );
}

#[tokio::test]
async fn provoked_problems_are_reported() {
    let db = db_with_fixture().await;
    // A dropped index, a duplicate one, and orphans behind a dropped constraint.
    db.pool
        .execute("DROP INDEX experiments_protocol_idx")
        .await
        .unwrap();
    db.pool
        .execute("CREATE INDEX experiments_molecule_again ON experiments (molecule_id)")
        .await
        .unwrap();
    make_legacy(&db).await;
    // A session idle in a transaction, one holding a lock, one blocked by it, one slow query.
    let mut idle = PgConnection::connect_with(&db.options()).await.unwrap();
    idle.execute("BEGIN; SELECT 1").await.unwrap();
    let mut locker = PgConnection::connect_with(&db.options()).await.unwrap();
    locker
        .execute("BEGIN; LOCK TABLE property_types IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let options = db.options();
    let blocked = tokio::spawn(async move {
        let mut c = PgConnection::connect_with(&options).await.unwrap();
        let _ = c.execute("SELECT count(*) FROM property_types").await;
    });
    let options = db.options();
    let slow = tokio::spawn(async move {
        let mut c = PgConnection::connect_with(&options).await.unwrap();
        let _ = c.execute("SELECT pg_sleep(4)").await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let thresholds = Thresholds {
        idle_in_transaction_warn_secs: 0.5,
        long_query_warn_secs: 1.0,
        ..Thresholds::default()
    };
    let report = health::run(&db.pool, &thresholds, None, None)
        .await
        .unwrap();
    let status = |name| check(&report, name).status;
    assert_eq!(status("unindexed_foreign_keys"), Status::Warning);
    assert!(
        check(&report, "unindexed_foreign_keys")
            .value
            .to_string()
            .contains("experiments.protocol_id")
    );
    assert_eq!(status("duplicate_indexes"), Status::Warning);
    assert!(
        check(&report, "duplicate_indexes")
            .value
            .to_string()
            .contains("experiments_molecule_again")
    );
    assert_eq!(status("orphans"), Status::Warning);
    assert_eq!(check(&report, "orphans").value["orphans"], 7);
    assert_eq!(
        status("idle_in_transaction"),
        Status::Warning,
        "{:?}",
        check(&report, "idle_in_transaction")
    );
    assert_eq!(
        status("blocked_locks"),
        Status::Warning,
        "{:?}",
        check(&report, "blocked_locks")
    );
    assert!(
        matches!(
            status("long_running_queries"),
            Status::Warning | Status::Critical
        ),
        "{:?}",
        check(&report, "long_running_queries")
    );
    assert!(report.status >= Status::Warning);
    locker.execute("ROLLBACK").await.unwrap();
    blocked.await.unwrap();
    slow.await.unwrap();
    idle.execute("ROLLBACK").await.unwrap();
}
