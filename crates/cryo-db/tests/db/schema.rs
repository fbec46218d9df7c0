//! The canonical schema's promises, checked against the catalog and by provoking each constraint.

use crate::{db_with_fixture, service_tx};
use cryo_testkit::{TestDb, quote_ident};
use sqlx::{AssertSqlSafe, Executor, PgConnection, Row};
use std::collections::BTreeSet;

const ALICE: &str = "00000000-0000-0000-0000-00000000000a";

/// Run `sql` inside a savepoint and return the SQLSTATE and constraint name it failed with.
async fn violation(conn: &mut PgConnection, sql: &str) -> Option<(String, String)> {
    conn.execute("SAVEPOINT probe").await.unwrap();
    let result = conn.execute(AssertSqlSafe(sql.to_string())).await;
    conn.execute("ROLLBACK TO SAVEPOINT probe").await.unwrap();
    match result {
        Ok(done) => {
            assert!(
                done.rows_affected() > 0,
                "statement touched no row, so it proves nothing: {sql}"
            );
            None
        }
        Err(sqlx::Error::Database(e)) => Some((
            e.code().unwrap_or_default().to_string(),
            e.constraint().unwrap_or_default().to_string(),
        )),
        Err(e) => panic!("unexpected error for {sql}: {e}"),
    }
}

#[tokio::test]
async fn every_foreign_key_rejects_a_dangling_reference() {
    let db = db_with_fixture().await;
    let fks = sqlx::query(
        "SELECT c.conrelid::regclass::text AS tbl, c.conname::text AS name, a.attname::text AS col
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
         ORDER BY 1, 2",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        fks.len() >= 30,
        "expected the full schema's foreign keys, found {}",
        fks.len()
    );

    let mut tx = service_tx(&db.pool).await;
    for fk in &fks {
        let (tbl, name, col): (String, String, String) =
            (fk.get("tbl"), fk.get("name"), fk.get("col"));
        let sql = if tbl == "audit_log" {
            // Append-only: its trigger refuses any UPDATE, so probe with an INSERT.
            "INSERT INTO audit_log (actor_id, actor_role, action) VALUES (gen_random_uuid(), 'x', 'probe')".to_string()
        } else if tbl == "model_versions" {
            // Immutable: probe with a copy of the fixture version under a new id and number.
            model_version_copy(&format!("{}: gen_random_uuid()", serde_json::json!(col)))
        } else if tbl == "mixture_versions" {
            // Append-only, and an experiment references the fixture's version by (id, mixture):
            // probe with a new version whose reference dangles.
            format!(
                "INSERT INTO mixture_versions SELECT * FROM jsonb_populate_record(NULL::mixture_versions,
                   (SELECT to_jsonb(v) || jsonb_build_object('id', gen_random_uuid(), 'version', v.version + 100, '{col}', gen_random_uuid())
                    FROM mixture_versions v LIMIT 1))"
            )
        } else {
            format!(
                "UPDATE {t} SET {c} = gen_random_uuid() WHERE ctid = (SELECT ctid FROM {t} WHERE {c} IS NOT NULL LIMIT 1)",
                t = quote_ident(&tbl),
                c = quote_ident(&col)
            )
        };
        let got = violation(&mut tx, &sql).await;
        assert_eq!(
            got,
            Some(("23503".to_string(), name.clone())),
            "dangling {tbl}.{col} must violate {name}"
        );
    }
}

#[tokio::test]
async fn every_foreign_key_states_its_on_delete_rule_and_none_contradicts_not_null() {
    let db = TestDb::new().await;
    let implicit: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint
         WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND confdeltype = 'a'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        implicit.is_empty(),
        "foreign keys without an explicit ON DELETE rule: {implicit:?}"
    );

    // The original declared NOT NULL columns ON DELETE SET NULL, so deleting the parent failed.
    let contradictions: Vec<String> = sqlx::query_scalar(
        "SELECT c.conname::text FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.contype = 'f' AND c.confdeltype = 'n' AND a.attnotnull",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        contradictions.is_empty(),
        "NOT NULL columns with ON DELETE SET NULL: {contradictions:?}"
    );
}

#[tokio::test]
async fn every_id_column_is_a_declared_foreign_key_except_the_polymorphic_ones() {
    let db = TestDb::new().await;
    let undeclared: BTreeSet<String> = sqlx::query_scalar(
        "SELECT c.relname || '.' || a.attname
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
         WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname LIKE '%\\_id' AND c.relname <> '_sqlx_migrations'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                           WHERE k.conrelid = c.oid AND k.contype = 'f' AND a.attnum = ANY (k.conkey))",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    // Polymorphic references (a (type, id) pair no single FK can express; guarded by triggers in
    // the integrity tooling) and identifiers in other databases.
    let not_local_references: BTreeSet<String> = [
        "activity_log.resource_id",
        "audit_log.target_id",
        "comments.resource_id",
        "notifications.resource_id",
        "shared_resources.resource_id",
        "molecules.chembl_id",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(undeclared, not_local_references);
}

/// An INSERT of the fixture's model version with a new id and number, and `changes` (JSON
/// object members, SQL expressions allowed as values inside jsonb_build_object's argument list).
fn model_version_copy(changes: &str) -> String {
    let pairs: String = changes
        .split(", ")
        .filter_map(|kv| kv.split_once(": "))
        .map(|(k, v)| format!(", {}, {v}", k.replace('"', "'")))
        .collect();
    format!(
        "INSERT INTO model_versions SELECT * FROM jsonb_populate_record(NULL::model_versions,
           (SELECT to_jsonb(v) || jsonb_build_object('id', gen_random_uuid(), 'version', v.version + 100, 'stage', 'none'{pairs})
            FROM model_versions v LIMIT 1))"
    )
}

/// One statement per CHECK constraint that breaks exactly that constraint.
const CHECK_CASES: &[(&str, &str)] = &[
    (
        "concentration_unit_check",
        "UPDATE mixture_components SET concentration_unit = 'percent'",
    ),
    (
        "resource_kind_check",
        "UPDATE comments SET resource_type = 'banana'",
    ),
    (
        "activity_log_action_check",
        "UPDATE activity_log SET action = ''",
    ),
    (
        "activity_log_details_check",
        "UPDATE activity_log SET details = '[]'",
    ),
    (
        "audit_log_action_check",
        "INSERT INTO audit_log (actor_role, action) VALUES ('x', '')",
    ),
    (
        "audit_log_details_check",
        "INSERT INTO audit_log (actor_role, action, details) VALUES ('x', 'a', '1')",
    ),
    (
        "calculation_methods_name_check",
        "UPDATE calculation_methods SET name = '  '",
    ),
    (
        "calculation_methods_parameters_check",
        "UPDATE calculation_methods SET parameters = '\"s\"'",
    ),
    ("comments_body_check", "UPDATE comments SET body = ' '"),
    (
        "experiments_conditions_check",
        "UPDATE experiments SET conditions = '[1]'",
    ),
    (
        "experiments_one_subject",
        "UPDATE experiments SET molecule_id = '00000000-0000-0000-0000-000000000101' WHERE mixture_id IS NOT NULL",
    ),
    (
        "experiments_one_value",
        "UPDATE experiments SET text_value = 'glassy' WHERE mixture_id IS NOT NULL",
    ),
    (
        "experiments_temperature_c_check",
        "UPDATE experiments SET temperature_c = -300",
    ),
    (
        "lab_verifications_decision_complete",
        "UPDATE lab_verifications SET verifier_id = NULL",
    ),
    (
        "lab_verifications_status_check",
        "UPDATE lab_verifications SET status = 'maybe'",
    ),
    (
        "mixture_components_concentration_check",
        "UPDATE mixture_components SET concentration = 0",
    ),
    (
        "mixture_components_fraction_range",
        "UPDATE mixture_components SET concentration = 2, concentration_unit = 'mol_fraction'",
    ),
    (
        "mixture_components_percent_range",
        "UPDATE mixture_components SET concentration = 150",
    ),
    ("mixtures_name_check", "UPDATE mixtures SET name = ''"),
    ("mixtures_version_check", "UPDATE mixtures SET version = 0"),
    (
        "mixture_versions_version_check",
        "UPDATE mixture_versions SET version = 0",
    ),
    (
        "mixture_versions_note_check",
        "UPDATE mixture_versions SET note = repeat('x', 2001)",
    ),
    (
        "mixture_version_components_concentration_check",
        "UPDATE mixture_version_components SET concentration = 0",
    ),
    (
        "mixture_version_components_fraction_range",
        "UPDATE mixture_version_components SET concentration = 2, concentration_unit = 'mol_fraction'",
    ),
    (
        "mixture_version_components_position_check",
        "UPDATE mixture_version_components SET position = 0",
    ),
    (
        "mixture_version_components_percent_range",
        "UPDATE mixture_version_components SET concentration = 150",
    ),
    (
        "experiments_mixture_version_needs_mixture",
        "UPDATE experiments SET mixture_id = NULL, molecule_id = (SELECT id FROM molecules LIMIT 1), mixture_version_id = gen_random_uuid() WHERE mixture_id IS NOT NULL",
    ),
    (
        "molecular_properties_one_value",
        "UPDATE molecular_properties SET boolean_value = true",
    ),
    (
        "molecules_canonical_smiles_check",
        "UPDATE molecules SET canonical_smiles = ''",
    ),
    (
        "molecules_chembl_id_check",
        "UPDATE molecules SET chembl_id = 'CHEMBLX'",
    ),
    (
        "molecules_inchi_check",
        "UPDATE molecules SET inchi = '1S/C3H8O3'",
    ),
    (
        "molecules_inchikey_check",
        "UPDATE molecules SET inchikey = 'not-a-key'",
    ),
    (
        "molecules_molecular_weight_check",
        "UPDATE molecules SET molecular_weight = -1",
    ),
    (
        "molecules_name_check",
        "UPDATE molecules SET name = repeat('x', 501)",
    ),
    (
        "molecules_owner_required",
        "UPDATE molecules SET created_by = NULL",
    ),
    (
        "molecules_morgan_fp_check",
        "UPDATE molecules SET morgan_fp = '\\x00'",
    ),
    (
        "molecules_density_g_per_ml_check",
        "UPDATE molecules SET density_g_per_ml = 0",
    ),
    (
        "molecules_pubchem_cid_check",
        "UPDATE molecules SET pubchem_cid = 0",
    ),
    (
        "notifications_read_consistent",
        "UPDATE notifications SET is_read = true",
    ),
    (
        "notifications_resource_complete",
        "UPDATE notifications SET resource_id = NULL",
    ),
    (
        "notifications_title_check",
        "UPDATE notifications SET title = ''",
    ),
    (
        "predictions_domain_flag_known",
        "UPDATE predictions SET domain_flag = 'inside'",
    ),
    (
        "predictions_nearest_similarity_range",
        "UPDATE predictions SET nearest_similarity = 1.5",
    ),
    (
        "predictions_class_complete",
        "UPDATE predictions SET class_label = 'vitrified'",
    ),
    (
        "predictions_class_complete",
        "UPDATE predictions SET prediction_set = '{vitrified}', prediction_set_level = 0.9",
    ),
    (
        "predictions_interval_complete",
        "UPDATE predictions SET interval_level = NULL WHERE interval_level IS NOT NULL",
    ),
    (
        "predictions_interval_level_check",
        "UPDATE predictions SET interval_level = 1.5 WHERE interval_level IS NOT NULL",
    ),
    (
        "predictions_interval_ordered",
        "UPDATE predictions SET numeric_value = 99 WHERE interval_level IS NOT NULL",
    ),
    (
        "predictions_one_subject",
        "UPDATE predictions SET mixture_id = '00000000-0000-0000-0000-000000000201' WHERE molecule_id IS NOT NULL",
    ),
    ("projects_name_check", "UPDATE projects SET name = ''"),
    (
        "property_types_data_type_check",
        "UPDATE property_types SET data_type = 'integer' WHERE name = 'Toxicity'",
    ),
    (
        "property_types_name_check",
        "UPDATE property_types SET name = ' ' WHERE name = 'Toxicity'",
    ),
    (
        "protocols_designer_known",
        "UPDATE protocols SET designer = 'guesswork'",
    ),
    ("protocols_name_check", "UPDATE protocols SET name = ''"),
    (
        "protocols_problem_object",
        "UPDATE protocols SET problem = '[]', toxicity = '{}'",
    ),
    (
        "protocols_simulated_complete",
        "UPDATE protocols SET problem = '{}', toxicity = '{}', total_time_min = 0",
    ),
    (
        "protocols_sample_type_check",
        "UPDATE protocols SET sample_type = 'whole_body'",
    ),
    (
        "protocols_starting_temperature_c_check",
        "UPDATE protocols SET starting_temperature_c = -274",
    ),
    ("protocols_steps_check", "UPDATE protocols SET steps = '{}'"),
    (
        "protocols_target_concentration_check",
        "UPDATE protocols SET target_concentration = 0",
    ),
    (
        "protocols_target_temperature_c_check",
        "UPDATE protocols SET target_temperature_c = -500",
    ),
    (
        "shared_resources_permission_check",
        "UPDATE shared_resources SET permission = 'own'",
    ),
    (
        "team_invitations_role_check",
        "UPDATE team_invitations SET role = 'owner'",
    ),
    (
        "team_members_role_check",
        "UPDATE team_members SET role = 'owner'",
    ),
    ("teams_name_check", "UPDATE teams SET name = ''"),
    (
        "user_profiles_affiliation_check",
        "UPDATE user_profiles SET affiliation = repeat('a', 301)",
    ),
    (
        "user_profiles_bio_check",
        "UPDATE user_profiles SET bio = repeat('b', 5001)",
    ),
    (
        "user_profiles_orcid_check",
        "UPDATE user_profiles SET orcid = '1234'",
    ),
    (
        "users_display_name_check",
        "UPDATE users SET display_name = ''",
    ),
    (
        "users_email_format",
        "UPDATE users SET email = 'no-at-sign'",
    ),
    (
        "users_failed_logins_check",
        "UPDATE users SET failed_logins = -1",
    ),
    (
        "users_global_role_check",
        "UPDATE users SET global_role = 'root'",
    ),
    ("models_name_check", "UPDATE models SET name = ' '"),
    (
        "models_description_check",
        "UPDATE models SET description = repeat('d', 5001)",
    ),
    (
        "model_versions_stage_check",
        "UPDATE model_versions SET stage = 'live'",
    ),
    (
        "model_aliases_alias_check",
        "UPDATE model_aliases SET alias = 'Has Spaces'",
    ),
    (
        "training_jobs_kind_check",
        "UPDATE training_jobs SET kind = 'guess'",
    ),
    (
        "training_jobs_request_check",
        "UPDATE training_jobs SET request = '[]'",
    ),
    (
        "training_jobs_state_check",
        "UPDATE training_jobs SET state = 'paused' WHERE finished_at IS NULL",
    ),
    (
        "training_jobs_progress_check",
        "UPDATE training_jobs SET progress = 1.5",
    ),
    (
        "training_jobs_attempts_check",
        "UPDATE training_jobs SET attempts = -1",
    ),
    (
        "training_jobs_finished_when_done",
        "UPDATE training_jobs SET finished_at = NULL WHERE state = 'succeeded'",
    ),
    (
        "alerts_fingerprint_check",
        "UPDATE alerts SET fingerprint = ''",
    ),
    (
        "alerts_severity_check",
        "UPDATE alerts SET severity = 'info'",
    ),
    ("alerts_details_check", "UPDATE alerts SET details = '[]'"),
    (
        "alert_deliveries_status_check",
        "UPDATE alert_deliveries SET status = 'acknowledged'",
    ),
    (
        "alert_deliveries_payload_check",
        "UPDATE alert_deliveries SET payload = '\"text\"'",
    ),
    (
        "alert_deliveries_state_check",
        "UPDATE alert_deliveries SET state = 'lost'",
    ),
    (
        "alert_deliveries_attempts_check",
        "UPDATE alert_deliveries SET attempts = -1",
    ),
    (
        "login_throttle_account_key_check",
        "UPDATE login_throttle SET account_key = ''",
    ),
    (
        "login_throttle_client_check",
        "UPDATE login_throttle SET client = repeat('1', 65)",
    ),
    (
        "login_throttle_attempts_check",
        "UPDATE login_throttle SET attempts = -1",
    ),
    (
        "alert_silences_matcher_check",
        "UPDATE alert_silences SET matcher = ''",
    ),
    (
        "alert_silences_comment_check",
        "UPDATE alert_silences SET comment = '  '",
    ),
    (
        "alert_silences_window",
        "UPDATE alert_silences SET ends_at = starts_at",
    ),
    (
        "toxicity_activities_activity_type_check",
        "UPDATE toxicity_activities SET activity_type = 'LD50'",
    ),
    (
        "toxicity_activities_measured",
        "UPDATE toxicity_activities SET hit_call = NULL, potency = NULL, potency_unit = NULL",
    ),
    (
        "toxicity_activities_potency_check",
        "UPDATE toxicity_activities SET potency = 0",
    ),
    (
        "toxicity_activities_potency_unit",
        "UPDATE toxicity_activities SET potency_unit = NULL",
    ),
    (
        "toxicity_activities_potency_unit_check",
        "UPDATE toxicity_activities SET potency_unit = 'g/L'",
    ),
    (
        "toxicity_activities_provenance_check",
        "UPDATE toxicity_activities SET provenance = repeat('x', 1001)",
    ),
    (
        "toxicity_activities_reliability_check",
        "UPDATE toxicity_activities SET reliability = 1.5",
    ),
    (
        "toxicity_assay_endpoints_relevance_check",
        "UPDATE toxicity_assay_endpoints SET relevance = 0",
    ),
    (
        "toxicity_assays_assay_key_check",
        "UPDATE toxicity_assays SET assay_key = ''",
    ),
    (
        "toxicity_endpoints_name_check",
        "UPDATE toxicity_endpoints SET name = 'liver'",
    ),
    (
        "toxicity_sources_name_check",
        "UPDATE toxicity_sources SET name = ''",
    ),
    (
        "screening_jobs_name_check",
        "UPDATE screening_jobs SET name = ''",
    ),
    (
        "screening_jobs_source_check",
        "UPDATE screening_jobs SET source = 'everything'",
    ),
    (
        "screening_jobs_models_check",
        "UPDATE screening_jobs SET models = '[]'",
    ),
    (
        "screening_jobs_level_check",
        "UPDATE screening_jobs SET level = 1",
    ),
    (
        "screening_jobs_state_check",
        "UPDATE screening_jobs SET state = 'stopped', finished_at = NULL",
    ),
    (
        "screening_jobs_total_rows_check",
        "UPDATE screening_jobs SET total_rows = -1",
    ),
    (
        "screening_jobs_chunk_rows_check",
        "UPDATE screening_jobs SET chunk_rows = 0",
    ),
    (
        "screening_jobs_rows_failed_check",
        "UPDATE screening_jobs SET rows_failed = -1",
    ),
    (
        "screening_jobs_progress_check",
        "UPDATE screening_jobs SET chunks_done = chunks + 1",
    ),
    (
        "screening_jobs_finished_when_done",
        "UPDATE screening_jobs SET finished_at = NULL",
    ),
    (
        "screening_rows_row_no_check",
        "UPDATE screening_rows SET row_no = 0",
    ),
    (
        "screening_rows_name_check",
        "UPDATE screening_rows SET name = repeat('x', 501)",
    ),
    (
        "screening_rows_smiles_check",
        "UPDATE screening_rows SET smiles = ''",
    ),
    (
        "screening_rows_alerts_check",
        "UPDATE screening_rows SET alerts = -1",
    ),
    (
        "screening_chunks_chunk_no_check",
        "UPDATE screening_chunks SET chunk_no = 0",
    ),
    (
        "screening_chunks_state_check",
        "UPDATE screening_chunks SET state = 'lost'",
    ),
    (
        "screening_chunks_attempts_check",
        "UPDATE screening_chunks SET attempts = -1",
    ),
    (
        "screening_chunks_rows_check",
        "UPDATE screening_chunks SET last_row = 0",
    ),
    (
        "screening_results_domain_check",
        "UPDATE screening_results SET domain = 'far'",
    ),
    (
        "screening_results_interval_check",
        "UPDATE screening_results SET lower = upper + 1",
    ),
    // Enforced by trigger: a value must sit in the column its property type names.
    (
        "molecular_properties_value_type",
        "UPDATE molecular_properties SET numeric_value = NULL, text_value = 'heavy'",
    ),
    (
        "experiments_value_type",
        "UPDATE experiments SET numeric_value = NULL, text_value = 'glassy'",
    ),
];

/// CHECKs on immutable model versions, provoked by inserting a modified copy.
const MODEL_VERSION_CHECK_CASES: &[(&str, &str)] = &[
    ("model_versions_version_check", r#""version": 0"#),
    (
        "model_versions_envelope_check",
        r#""envelope": '[]'::jsonb"#,
    ),
    (
        "model_versions_artifact_sha256_check",
        r#""artifact_sha256": 'not-hex'"#,
    ),
];

fn check_cases() -> Vec<(&'static str, String)> {
    CHECK_CASES
        .iter()
        .map(|(c, sql)| (*c, sql.to_string()))
        .chain(MODEL_VERSION_CHECK_CASES.iter().map(|(c, change)| {
            // The copy's number must not be the one replaced, or the unique key would fire first.
            (*c, model_version_copy(change))
        }))
        .collect()
}

#[tokio::test]
async fn every_check_constraint_rejects_a_bad_value() {
    let db = db_with_fixture().await;
    let mut tx = service_tx(&db.pool).await;
    for (constraint, sql) in &check_cases() {
        let got = violation(&mut tx, sql).await;
        assert_eq!(
            got,
            Some(("23514".to_string(), constraint.to_string())),
            "`{sql}` must violate {constraint}"
        );
    }
}

#[tokio::test]
async fn every_check_constraint_in_the_schema_has_a_case() {
    let db = TestDb::new().await;
    let in_schema: BTreeSet<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint
         WHERE contype = 'c' AND (connamespace = 'public'::regnamespace)",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let covered: BTreeSet<String> = check_cases().iter().map(|(c, _)| c.to_string()).collect();
    let missing: Vec<_> = in_schema.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "CHECK constraints without a test case: {missing:?}"
    );
}

#[tokio::test]
async fn restrict_rules_protect_research_data_and_cascades_remove_derived_rows() {
    let db = db_with_fixture().await;
    let mut tx = service_tx(&db.pool).await;
    // Alice owns data: deleting her account is refused rather than orphaning or erasing it.
    let err = violation(&mut tx, &format!("DELETE FROM users WHERE id = '{ALICE}'")).await;
    assert_eq!(err.map(|(code, _)| code), Some("23503".to_string()));
    // A molecule used in a mixture cannot be deleted out from under it.
    let err = violation(&mut tx, "DELETE FROM molecules").await;
    assert_eq!(err.map(|(code, _)| code), Some("23503".to_string()));
    // Deleting a team removes memberships and shares (derived), keeps the project (SET NULL).
    let count = async |tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
                       sql: &'static str|
           -> i64 { sqlx::query_scalar(sql).fetch_one(&mut **tx).await.unwrap() };
    sqlx::query("DELETE FROM teams")
        .execute(&mut *tx)
        .await
        .unwrap();
    let members = count(&mut tx, "SELECT count(*) FROM team_members").await;
    let shares = count(&mut tx, "SELECT count(*) FROM shared_resources").await;
    let orphaned_projects = count(
        &mut tx,
        "SELECT count(*) FROM projects WHERE team_id IS NULL",
    )
    .await;
    assert_eq!((members, shares, orphaned_projects), (0, 0, 1));
}

#[tokio::test]
async fn updated_at_moves_on_update_and_audit_log_is_append_only() {
    let db = db_with_fixture().await;
    let read = async |pool| -> time::OffsetDateTime {
        let mut tx = service_tx(pool).await;
        sqlx::query_scalar("SELECT updated_at FROM mixtures")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    let before = read(&db.pool).await;
    // now() is the transaction's start, so a later transaction sees a later time.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut tx = service_tx(&db.pool).await;
    sqlx::query("UPDATE mixtures SET description = 'edited'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(read(&db.pool).await > before);

    let mut tx = service_tx(&db.pool).await;
    let without_trigger: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at'
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'set_updated_at')",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        without_trigger.is_empty(),
        "tables without an updated_at trigger: {without_trigger:?}"
    );

    for sql in [
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
    ] {
        let err = violation(&mut tx, sql).await;
        assert_eq!(
            err.map(|(code, _)| code),
            Some("42501".to_string()),
            "{sql} is refused"
        );
    }
}

#[tokio::test]
async fn reference_data_is_seeded() {
    let db = TestDb::new().await;
    let mut tx = service_tx(&db.pool).await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM property_types ORDER BY name")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    for expected in [
        "Cryoprotection Score",
        "Glass Transition Temperature",
        "Molecular Weight",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} seeded");
    }
}

#[tokio::test]
async fn tests_run_as_a_role_that_cannot_bypass_row_level_security() {
    let db = TestDb::new().await;
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
}
