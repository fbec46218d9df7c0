//! The policy set, verified by the same code `cryoprotect db rls verify` runs.

use cryo_db::{Identity, identity, rls};
use cryo_testkit::TestDb;
use sqlx::Executor;

#[tokio::test]
async fn verify_passes_on_a_migrated_database() {
    let db = TestDb::new().await;
    let report = rls::verify(&db.pool).await.unwrap();
    let failures: Vec<_> = report.failures().collect();
    assert!(failures.is_empty(), "{failures:#?}");
    // It really looked: every table was probed cross-tenant for all four commands.
    let probes = report
        .findings
        .iter()
        .filter(|f| f.check.starts_with("cross_tenant_"))
        .count();
    assert!(probes >= 20 * 3, "{probes}");
}

#[tokio::test]
async fn verify_names_the_table_when_rls_is_disabled() {
    let db = TestDb::new().await;
    db.pool
        .execute("ALTER TABLE mixtures DISABLE ROW LEVEL SECURITY")
        .await
        .unwrap();
    let report = rls::verify(&db.pool).await.unwrap();
    let failed: Vec<_> = report
        .failures()
        .map(|f| (f.table.as_str(), f.check.as_str()))
        .collect();
    assert!(failed.contains(&("mixtures", "rls_enabled")), "{failed:?}");
    assert!(
        failed.contains(&("mixtures", "cross_tenant_select")),
        "{failed:?}"
    );
    // Components, versions and comments follow their mixture's visibility, so they leak with
    // it; nothing else does.
    let follow = [
        "mixtures",
        "mixture_components",
        "mixture_versions",
        "mixture_version_components",
        "comments",
    ];
    assert!(
        failed.iter().all(|(t, _)| follow.contains(t)),
        "only mixtures and what follows them fail: {failed:?}"
    );
}

#[tokio::test]
async fn verify_names_the_table_when_a_policy_is_dropped_or_opened() {
    let db = TestDb::new().await;
    db.pool
        .execute("DROP POLICY experiments_select ON experiments")
        .await
        .unwrap();
    let report = rls::verify(&db.pool).await.unwrap();
    let failed: Vec<_> = report
        .failures()
        .map(|f| (f.table.clone(), f.check.clone()))
        .collect();
    assert!(
        failed.contains(&("experiments".into(), "policy:select".into())),
        "{failed:?}"
    );
    assert!(
        failed.contains(&("experiments".into(), "owner_reads_own".into())),
        "{failed:?}"
    );

    db.pool
        .execute("CREATE POLICY leak ON predictions FOR SELECT TO authenticated USING (true)")
        .await
        .unwrap();
    let report = rls::verify(&db.pool).await.unwrap();
    let failed: Vec<_> = report
        .failures()
        .map(|f| (f.table.clone(), f.check.clone()))
        .collect();
    assert!(
        failed.contains(&("predictions".into(), "permissive:leak".into())),
        "{failed:?}"
    );
    assert!(
        failed.contains(&("predictions".into(), "cross_tenant_select".into())),
        "{failed:?}"
    );

    // A policy deciding each row through a function call is named by the initplan lint.
    db.pool
        .execute(
            "CREATE POLICY slow ON mixtures FOR SELECT TO authenticated
             USING (app.can_read(created_by, project_id, 'mixture', id))",
        )
        .await
        .unwrap();
    let report = rls::verify(&db.pool).await.unwrap();
    let slow = report
        .failures()
        .find(|f| f.check == "initplan:slow")
        .expect("the per-row helper is a finding");
    assert!(slow.detail.contains("app.can_read(created_by"), "{slow:?}");

    // apply restores the policy sets (the main one, the model registry's, the verifier's read,
    // the owner's control of sharing, membership by invitation, the toxicity tables', the
    // initplan rewrite).
    assert_eq!(rls::apply(&db.pool).await.unwrap(), 9);
    let report = rls::verify(&db.pool).await.unwrap();
    assert!(report.ok(), "{:#?}", report.failures().collect::<Vec<_>>());
}

/// Privileges (table and column ACLs) and policies as `\dp` shows them.
async fn access_control(db: &TestDb) -> Vec<(String, String, String)> {
    sqlx::query_as(
        // Entries sorted: grant order is not a difference in privileges.
        "SELECT c.relname::text,
                coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(c.relacl) x), ''),
                coalesce((SELECT string_agg(a.attname || '=' || (SELECT string_agg(x::text, ',' ORDER BY x::text)
                                                                 FROM unnest(a.attacl) x), ' ' ORDER BY a.attnum)
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL), '')
                || ' | ' ||
                coalesce((SELECT string_agg(p.policyname || ':' || p.cmd || ':' || p.roles::text || ':'
                                            || coalesce(p.qual, '') || ':' || coalesce(p.with_check, ''),
                                            ' ' ORDER BY p.policyname)
                          FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname), '')
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
         ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// `db rls apply` (and so a restore, which runs it) leaves exactly the privileges and policies
/// migrating gave: the first set's blanket grants are narrowed again by the later sets.
#[tokio::test]
async fn apply_reproduces_the_migrated_grants_and_policies_exactly() {
    let db = TestDb::new().await;
    let migrated = access_control(&db).await;
    rls::apply(&db.pool).await.unwrap();
    let applied = access_control(&db).await;
    let changed: Vec<_> = migrated
        .iter()
        .zip(&applied)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(changed.is_empty(), "{changed:#?}");
    assert_eq!(migrated.len(), applied.len());
    let alerts = migrated.iter().find(|(t, _, _)| t == "alerts").unwrap();
    assert!(!alerts.1.contains("authenticated="), "{alerts:?}");
}

#[tokio::test]
async fn the_api_role_can_do_nothing_without_an_identity() {
    let db = TestDb::new().await;
    let api = db.api_pool().await;
    let err = sqlx::query("SELECT count(*) FROM property_types")
        .fetch_one(&api)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().unwrap(), "42501");

    // As anon, reference data is readable; user data is not.
    let mut tx = identity::begin(&api, &Identity::anon()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM property_types")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(n > 10);
    let err = sqlx::query("SELECT count(*) FROM mixtures")
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().unwrap(), "42501");
}

/// The service-read pool acts as service_role on every connection it opens, and the pool it was
/// made from is untouched by it.
#[tokio::test]
async fn the_service_reader_acts_as_service_role_and_only_it_does() {
    let db = TestDb::new().await;
    let api = db.api_pool().await;
    let reader = identity::service_reader(&api, 2);
    // Both of its connections, held at once, so the second is opened too.
    let mut a = reader.acquire().await.unwrap();
    let mut b = reader.acquire().await.unwrap();
    for conn in [&mut a, &mut b] {
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(role, "service_role");
        // Readable here (service_role's privilege), refused below on the login role's pool.
        sqlx::query("SELECT count(*) FROM users")
            .fetch_one(&mut **conn)
            .await
            .expect("service_role reads users");
    }
    drop((a, b));
    let err = sqlx::query("SELECT count(*) FROM users")
        .fetch_one(&api)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().unwrap(), "42501");
}

#[tokio::test]
async fn identity_does_not_leak_between_pooled_transactions() {
    let db = TestDb::new().await;
    let api = {
        use sqlx::postgres::PgPoolOptions;
        PgPoolOptions::new()
            .max_connections(1)
            .connect_with(cryo_testkit::api_options(&db.name))
            .await
            .unwrap()
    };
    let user = uuid::Uuid::new_v4();
    {
        let mut tx = identity::begin(&api, &Identity::user(user)).await.unwrap();
        let uid: Option<uuid::Uuid> = sqlx::query_scalar("SELECT auth.uid()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(uid, Some(user));
        tx.commit().await.unwrap();
    }
    // Same single connection, next transaction: no claims, back to the powerless login role.
    let (claims, current): (Option<String>, String) = sqlx::query_as(
        "SELECT nullif(current_setting('request.jwt.claims', true), ''), current_user::text",
    )
    .fetch_one(&api)
    .await
    .unwrap();
    assert_eq!(
        (claims, current.as_str()),
        (None, cryo_testkit::TEST_API_ROLE)
    );
}
