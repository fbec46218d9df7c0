//! Row-level security: (re)apply the policy set, and verify it by coverage and by
//! impersonation.
//!
//! `verify` checks, for every table in `public`:
//! - coverage: RLS enabled and forced, a service_role policy, an `authenticated` policy for each
//!   command unless [`DENIED_BY_DESIGN`] says that command is deliberately refused, and no
//!   policy whose condition is plain `true` outside the reference tables' reads, and no policy
//!   calling a function once per row ([`per_row_calls`], the `initplan:<policy>` findings);
//! - effectiveness: inside a transaction that is always rolled back, it creates two users in two
//!   teams with a row of every table belonging to the first, then, as the second user, tries to
//!   SELECT, UPDATE, DELETE and re-INSERT each row; and, as the first user, checks that the
//!   owner does see their rows (so a deny-everything policy cannot pass).

use crate::identity::{Identity, act_as};
use crate::{DbError, migrate::MIGRATOR, quote_ident};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Executor, PgPool, Postgres, Row, Transaction};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Migrations carrying this header are idempotent policy sets that `apply` re-runs.
pub const POLICY_SET_MARKER: &str = "-- cryoprotect: rls-policy-set";

/// (table, command) pairs no `authenticated` policy grants, on purpose.
pub const DENIED_BY_DESIGN: &[(&str, &str, &str)] = &[
    (
        "users",
        "INSERT",
        "accounts are created by the authentication service",
    ),
    (
        "users",
        "DELETE",
        "accounts are deactivated by administrators",
    ),
    (
        "property_types",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "property_types",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "property_types",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "calculation_methods",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "calculation_methods",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "calculation_methods",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "notifications",
        "INSERT",
        "notifications are sent by the service",
    ),
    ("activity_log", "UPDATE", "append-only"),
    ("activity_log", "DELETE", "append-only"),
    ("audit_log", "SELECT", "administrators only (service_role)"),
    ("audit_log", "UPDATE", "append-only"),
    ("audit_log", "DELETE", "append-only"),
    ("refresh_tokens", "SELECT", "authentication service only"),
    ("refresh_tokens", "INSERT", "authentication service only"),
    ("refresh_tokens", "UPDATE", "authentication service only"),
    ("refresh_tokens", "DELETE", "authentication service only"),
    (
        "training_jobs",
        "DELETE",
        "job history is kept; jobs go with their model",
    ),
    (
        "prediction_provenance",
        "UPDATE",
        "written once, with its prediction",
    ),
    (
        "prediction_provenance",
        "DELETE",
        "removed with its prediction",
    ),
    ("alerts", "SELECT", "service_role only"),
    ("alerts", "INSERT", "service_role only"),
    ("alerts", "UPDATE", "service_role only"),
    ("alerts", "DELETE", "service_role only"),
    ("alert_deliveries", "SELECT", "service_role only"),
    ("alert_deliveries", "INSERT", "service_role only"),
    ("alert_deliveries", "UPDATE", "service_role only"),
    ("alert_deliveries", "DELETE", "service_role only"),
    ("alert_silences", "SELECT", "service_role only"),
    ("alert_silences", "INSERT", "service_role only"),
    ("alert_silences", "UPDATE", "service_role only"),
    ("alert_silences", "DELETE", "service_role only"),
    ("login_throttle", "SELECT", "authentication service only"),
    ("login_throttle", "INSERT", "authentication service only"),
    ("login_throttle", "UPDATE", "authentication service only"),
    ("login_throttle", "DELETE", "authentication service only"),
    (
        "toxicity_sources",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "toxicity_sources",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "toxicity_sources",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "toxicity_endpoints",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "toxicity_endpoints",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "toxicity_endpoints",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "toxicity_assays",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "toxicity_assays",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "toxicity_assays",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "toxicity_assay_endpoints",
        "INSERT",
        "reference data: service_role only",
    ),
    (
        "toxicity_assay_endpoints",
        "UPDATE",
        "reference data: service_role only",
    ),
    (
        "toxicity_assay_endpoints",
        "DELETE",
        "reference data: service_role only",
    ),
    (
        "mixture_versions",
        "UPDATE",
        "composition history is append-only",
    ),
    (
        "mixture_versions",
        "DELETE",
        "composition history goes only with its mixture (cascade)",
    ),
    (
        "mixture_version_components",
        "UPDATE",
        "composition history is append-only",
    ),
    (
        "mixture_version_components",
        "DELETE",
        "composition history goes only with its mixture (cascade)",
    ),
    (
        "screening_rows",
        "UPDATE",
        "a screening's inputs are fixed when it is created; workers record outcomes as service_role",
    ),
    (
        "screening_rows",
        "DELETE",
        "a screening's inputs go only with their job (cascade)",
    ),
    (
        "screening_chunks",
        "UPDATE",
        "chunks are claimed and finished by workers as service_role",
    ),
    (
        "screening_chunks",
        "DELETE",
        "chunks go only with their job (cascade)",
    ),
    (
        "screening_results",
        "INSERT",
        "results are written by workers as service_role",
    ),
    (
        "screening_results",
        "UPDATE",
        "results are written by workers as service_role",
    ),
    (
        "screening_results",
        "DELETE",
        "results go only with their job (cascade)",
    ),
];

/// Policies allowed to be unconditionally `true`: reads of reference data.
const OPEN_READS: &[&str] = &[
    "property_types_select",
    "calculation_methods_select",
    "toxicity_sources_select",
    "toxicity_endpoints_select",
    "toxicity_assays_select",
    "toxicity_assay_endpoints_select",
];

/// Tables everyone may read, so a cross-tenant read is not a violation.
const PUBLIC_READ_TABLES: &[&str] = &[
    "property_types",
    "calculation_methods",
    "toxicity_sources",
    "toxicity_endpoints",
    "toxicity_assays",
    "toxicity_assay_endpoints",
];

const COMMANDS: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

/// Policies allowed to call a function once per row (the `initplan` lint), with the reason.
/// Empty today: every policy compares the row's columns with sets computed once per statement.
pub const PER_ROW_BY_DESIGN: &[(&str, &str)] = &[];

/// The calls in a policy expression that PostgreSQL evaluates once per row: `auth.*()` and
/// `app.*()` not wrapped as a scalar subquery (`(SELECT auth.uid())`, an InitPlan), or wrapped
/// but given the row's columns (a per-row SubPlan). Literal arguments (`'{admin}'::text[]`)
/// keep a call constant. Splinter's `auth_rls_initplan` is the model; this also catches the
/// per-row SECURITY DEFINER helpers, which can never be inlined.
pub fn per_row_calls(expression: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = expression.as_bytes();
    for schema in ["auth.", "app."] {
        let mut from = 0;
        while let Some(at) = expression[from..].find(schema).map(|i| i + from) {
            from = at + schema.len();
            let word_start =
                at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            let name_len = expression[from..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expression.len() - from);
            let open = from + name_len;
            if !word_start || name_len == 0 || bytes.get(open) != Some(&b'(') {
                continue;
            }
            let Some(close) = matching_paren(expression, open) else {
                continue;
            };
            let call = &expression[at..=close];
            let wrapped = expression[..at].trim_end().ends_with("SELECT");
            if !wrapped || !literal_arguments(&expression[open + 1..close]) {
                found.push(call.to_string());
            }
        }
    }
    found
}

/// The index of the `)` closing the `(` at `open`, skipping quoted literals.
fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quoted = false;
    for (i, c) in text[open..].char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a call's arguments are all constants: quoted literals with optional casts.
fn literal_arguments(args: &str) -> bool {
    let mut rest = args.trim();
    while !rest.is_empty() {
        let Some(after_quote) = rest.strip_prefix('\'') else {
            return false;
        };
        let Some(end) = after_quote.find('\'') else {
            return false;
        };
        rest = after_quote[end + 1..].trim_start();
        while let Some(cast) = rest.strip_prefix("::") {
            let type_len = cast
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']'))
                .unwrap_or(cast.len());
            rest = cast[type_len..].trim_start();
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        if rest.starts_with(')') {
            return false;
        }
    }
    true
}

/// Re-create the policy set: run every policy-set migration again, in one transaction.
pub async fn apply(pool: &PgPool) -> Result<usize, DbError> {
    let mut tx = pool.begin().await?;
    let mut applied = 0;
    for m in MIGRATOR.iter().filter(|m| {
        m.migration_type.is_up_migration() && m.sql.as_str().starts_with(POLICY_SET_MARKER)
    }) {
        tx.execute(sqlx::raw_sql(m.sql.clone())).await?;
        applied += 1;
    }
    tx.commit().await?;
    Ok(applied)
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub table: String,
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.ok)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.ok)
    }

    fn push(&mut self, table: &str, check: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.findings.push(Finding {
            table: table.to_string(),
            check: check.into(),
            ok,
            detail: detail.into(),
        });
    }
}

pub async fn verify(pool: &PgPool) -> Result<Report, DbError> {
    let mut report = Report {
        findings: Vec::new(),
    };
    coverage(&mut *pool.acquire().await?, &mut report).await?;
    effectiveness(pool, &mut report).await?;
    Ok(report)
}

/// Coverage only (enabled, forced, a policy for every role and command): catalog reads, fast
/// enough for a health check.
pub async fn verify_coverage(pool: &PgPool) -> Result<Report, DbError> {
    let mut report = Report {
        findings: Vec::new(),
    };
    let mut tx = pool.begin().await?;
    // Reading policy expressions locks their tables; report a held lock, do not wait on it.
    tx.execute("SET LOCAL lock_timeout = '2s'").await?;
    coverage(&mut tx, &mut report).await?;
    tx.rollback().await?;
    Ok(report)
}

async fn user_tables(conn: &mut sqlx::PgConnection) -> Result<Vec<(String, bool, bool)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await?)
}

async fn coverage(conn: &mut sqlx::PgConnection, report: &mut Report) -> Result<(), DbError> {
    let policies = sqlx::query(
        "SELECT tablename::text AS t, policyname::text AS name, cmd::text AS cmd, roles::text[] AS roles,
                coalesce(qual, '') AS qual, coalesce(with_check, '') AS with_check
         FROM pg_policies WHERE schemaname = 'public'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (table, enabled, forced) in user_tables(conn).await? {
        report.push(
            &table,
            "rls_enabled",
            enabled,
            if enabled {
                "enabled"
            } else {
                "row-level security is disabled"
            },
        );
        report.push(
            &table,
            "rls_forced",
            forced,
            if forced {
                "forced"
            } else {
                "not forced: the table owner bypasses policies"
            },
        );
        let mine: Vec<_> = policies
            .iter()
            .filter(|p| p.get::<String, _>("t") == table)
            .collect();
        let for_role = |role: &str, cmd: &str| {
            mine.iter().any(|p| {
                let roles: Vec<String> = p.get("roles");
                let c: String = p.get("cmd");
                (c == cmd || c == "ALL")
                    && (roles.iter().any(|r| r == role) || roles.iter().any(|r| r == "public"))
            })
        };
        let service = COMMANDS.iter().all(|c| for_role("service_role", c));
        report.push(
            &table,
            "policy:service_role",
            service,
            if service {
                "present"
            } else {
                "no service_role policy for every command"
            },
        );
        for cmd in COMMANDS {
            let denied = DENIED_BY_DESIGN
                .iter()
                .find(|(t, c, _)| *t == table && *c == cmd);
            let has = for_role("authenticated", cmd);
            let (ok, detail) = match (has, denied) {
                (true, None) => (true, "policy present".to_string()),
                (false, Some((_, _, why))) => (true, format!("denied by design: {why}")),
                (true, Some(_)) => (
                    false,
                    "a policy grants a command that should be denied".to_string(),
                ),
                (false, None) => (
                    false,
                    "no policy: authenticated users cannot do this at all".to_string(),
                ),
            };
            report.push(&table, format!("policy:{}", cmd.to_lowercase()), ok, detail);
        }
        for p in &mine {
            let name: String = p.get("name");
            let roles: Vec<String> = p.get("roles");
            let qual: String = p.get("qual");
            let check: String = p.get("with_check");
            let open = [qual.trim(), check.trim()].contains(&"true");
            let service_only = roles == ["service_role"];
            if open && !service_only && !OPEN_READS.contains(&name.as_str()) {
                report.push(
                    &table,
                    format!("permissive:{name}"),
                    false,
                    "policy condition is plain `true`",
                );
            }
            let per_row: Vec<String> = [&qual, &check]
                .into_iter()
                .flat_map(|e| per_row_calls(e))
                .collect();
            let (ok, detail) = match PER_ROW_BY_DESIGN.iter().find(|(p, _)| *p == name) {
                _ if per_row.is_empty() => (true, "every call evaluated once per statement".into()),
                Some((_, why)) => (true, format!("per row by design: {why}")),
                None => (
                    false,
                    format!(
                        "evaluated once per row (wrap as `(SELECT …)` with constant arguments, or compare columns with a set): {}",
                        per_row.join(", ")
                    ),
                ),
            };
            report.push(&table, format!("initplan:{name}"), ok, detail);
        }
    }
    Ok(())
}

/// One row of every table, owned by user A in team A. Ids are generated; everything is rolled back.
const FIXTURE: &str = r#"
INSERT INTO users (id, email, display_name) VALUES
    (current_setting('rlsv.a')::uuid, 'rls-a-' || gen_random_uuid() || '@verify.invalid', 'RLS verifier A'),
    (current_setting('rlsv.b')::uuid, 'rls-b-' || gen_random_uuid() || '@verify.invalid', 'RLS verifier B');
INSERT INTO user_profiles (user_id, affiliation) VALUES (current_setting('rlsv.a')::uuid, 'Lab A');
INSERT INTO teams (id, name, created_by) VALUES
    (current_setting('rlsv.team_a')::uuid, 'RLS team A', current_setting('rlsv.a')::uuid),
    (current_setting('rlsv.team_b')::uuid, 'RLS team B', current_setting('rlsv.b')::uuid);
INSERT INTO projects (id, name, team_id, created_by) VALUES
    (current_setting('rlsv.projects')::uuid, 'RLS project', current_setting('rlsv.team_a')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO molecules (id, name, canonical_smiles, project_id, created_by) VALUES
    (current_setting('rlsv.molecules')::uuid, 'rls', 'OCCO', current_setting('rlsv.projects')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO molecular_properties (id, molecule_id, property_type_id, calculation_method_id, numeric_value)
    SELECT current_setting('rlsv.molecular_properties')::uuid, current_setting('rlsv.molecules')::uuid, t.id, c.id, 62.07
    FROM property_types t, calculation_methods c
    WHERE t.name = 'Molecular Weight' AND c.name = 'RDKit Descriptors' AND c.version = '1';
INSERT INTO mixtures (id, name, project_id, created_by) VALUES
    (current_setting('rlsv.mixtures')::uuid, 'rls', current_setting('rlsv.projects')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO mixture_components (id, mixture_id, molecule_id, concentration, concentration_unit) VALUES
    (current_setting('rlsv.mixture_components')::uuid, current_setting('rlsv.mixtures')::uuid,
     current_setting('rlsv.molecules')::uuid, 1, 'M');
INSERT INTO mixture_versions (id, mixture_id, version, created_by) VALUES
    (current_setting('rlsv.mixture_versions')::uuid, current_setting('rlsv.mixtures')::uuid, 1,
     current_setting('rlsv.a')::uuid);
INSERT INTO mixture_version_components (id, version_id, molecule_id, concentration, concentration_unit, position) VALUES
    (current_setting('rlsv.mixture_version_components')::uuid, current_setting('rlsv.mixture_versions')::uuid,
     current_setting('rlsv.molecules')::uuid, 1, 'M', 1);
INSERT INTO protocols (id, mixture_id, name, project_id, created_by) VALUES
    (current_setting('rlsv.protocols')::uuid, current_setting('rlsv.mixtures')::uuid, 'rls',
     current_setting('rlsv.projects')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO experiments (id, mixture_id, property_type_id, numeric_value, project_id, created_by)
    SELECT current_setting('rlsv.experiments')::uuid, current_setting('rlsv.mixtures')::uuid, t.id, -120,
           current_setting('rlsv.projects')::uuid, current_setting('rlsv.a')::uuid
    FROM property_types t WHERE t.name = 'Glass Transition Temperature';
INSERT INTO lab_verifications (id, experiment_id, requested_by, verifier_id) VALUES
    (current_setting('rlsv.lab_verifications')::uuid, current_setting('rlsv.experiments')::uuid,
     current_setting('rlsv.a')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO predictions (id, mixture_id, property_type_id, calculation_method_id, numeric_value, project_id, created_by)
    SELECT current_setting('rlsv.predictions')::uuid, current_setting('rlsv.mixtures')::uuid, t.id, c.id, 70,
           current_setting('rlsv.projects')::uuid, current_setting('rlsv.a')::uuid
    FROM property_types t, calculation_methods c
    WHERE t.name = 'Mixture Cryoprotection Score' AND c.name = 'CryoProtect Scoring' AND c.version = '1';
INSERT INTO shared_resources (id, team_id, resource_type, resource_id, shared_by) VALUES
    (current_setting('rlsv.shared_resources')::uuid, current_setting('rlsv.team_a')::uuid, 'mixture',
     current_setting('rlsv.mixtures')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO comments (id, resource_type, resource_id, body, created_by) VALUES
    (current_setting('rlsv.comments')::uuid, 'mixture', current_setting('rlsv.mixtures')::uuid, 'rls', current_setting('rlsv.a')::uuid);
INSERT INTO notifications (id, user_id, title, message) VALUES
    (current_setting('rlsv.notifications')::uuid, current_setting('rlsv.a')::uuid, 'rls', 'rls');
INSERT INTO activity_log (id, team_id, user_id, action) VALUES
    (current_setting('rlsv.activity_log')::uuid, current_setting('rlsv.team_a')::uuid, current_setting('rlsv.a')::uuid, 'verify');
INSERT INTO audit_log (id, actor_id, actor_role, action) VALUES
    (current_setting('rlsv.audit_log')::uuid, current_setting('rlsv.a')::uuid, 'authenticated', 'verify');
INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at) VALUES
    (current_setting('rlsv.refresh_tokens')::uuid, current_setting('rlsv.a')::uuid, gen_random_uuid()::text::bytea, now() + interval '1 day');
INSERT INTO models (id, name, property_type_id, project_id, created_by)
    SELECT current_setting('rlsv.models')::uuid, 'rls', t.id, current_setting('rlsv.projects')::uuid,
           current_setting('rlsv.a')::uuid
    FROM property_types t WHERE t.name = 'Glass Transition Temperature';
INSERT INTO model_versions (id, model_id, version, algorithm, format, envelope, artifact, artifact_sha256, created_by) VALUES
    (current_setting('rlsv.model_versions')::uuid, current_setting('rlsv.models')::uuid, 1, 'ridge', 1, '{}', '\x00',
     repeat('0', 64), current_setting('rlsv.a')::uuid);
INSERT INTO model_aliases (id, model_id, alias, version_id, created_by) VALUES
    (current_setting('rlsv.model_aliases')::uuid, current_setting('rlsv.models')::uuid, 'rls',
     current_setting('rlsv.model_versions')::uuid, current_setting('rlsv.a')::uuid);
INSERT INTO training_jobs (id, model_id, kind, request, created_by) VALUES
    (current_setting('rlsv.training_jobs')::uuid, current_setting('rlsv.models')::uuid, 'train', '{}',
     current_setting('rlsv.a')::uuid);
INSERT INTO alerts (id, fingerprint, severity, summary) VALUES
    (current_setting('rlsv.alerts')::uuid, 'rls-' || gen_random_uuid(), 'warning', 'rls');
INSERT INTO alert_deliveries (id, alert_id, status, payload) VALUES
    (current_setting('rlsv.alert_deliveries')::uuid, current_setting('rlsv.alerts')::uuid, 'firing', '{}');
INSERT INTO alert_silences (id, matcher, comment, ends_at, created_by) VALUES
    (current_setting('rlsv.alert_silences')::uuid, 'rls', 'rls', now() + interval '1 hour', current_setting('rlsv.a')::uuid);
INSERT INTO team_invitations (id, team_id, user_id, role, invited_by) VALUES
    (current_setting('rlsv.team_invitations')::uuid, current_setting('rlsv.team_a')::uuid,
     current_setting('rlsv.a')::uuid, 'viewer', current_setting('rlsv.a')::uuid);
INSERT INTO login_throttle (id, account_key, client, attempts) VALUES
    (current_setting('rlsv.login_throttle')::uuid, 'rls-' || left(gen_random_uuid()::text, 8), '192.0.2.1', 1);
INSERT INTO toxicity_activities (id, molecule_id, assay_id, hit_call, created_by)
    SELECT current_setting('rlsv.toxicity_activities')::uuid, current_setting('rlsv.molecules')::uuid, a.id, true,
           current_setting('rlsv.a')::uuid
    FROM toxicity_assays a WHERE a.assay_key = 'SR-p53';
INSERT INTO prediction_provenance (prediction_id, model_version_id) VALUES
    (current_setting('rlsv.predictions')::uuid, current_setting('rlsv.model_versions')::uuid);
INSERT INTO screening_jobs (id, name, source, models, level, total_rows, chunk_rows, chunks, created_by) VALUES
    (current_setting('rlsv.screening_jobs')::uuid, 'rls', 'library',
     jsonb_build_array(jsonb_build_object('version_id', current_setting('rlsv.model_versions'))), 0.9, 1, 500, 1,
     current_setting('rlsv.a')::uuid);
INSERT INTO screening_rows (job_id, row_no, molecule_id, smiles) VALUES
    (current_setting('rlsv.screening_jobs')::uuid, 1, current_setting('rlsv.molecules')::uuid, 'OCCO');
INSERT INTO screening_chunks (job_id, chunk_no, first_row, last_row) VALUES
    (current_setting('rlsv.screening_jobs')::uuid, 1, 1, 1);
INSERT INTO screening_results (job_id, model_version_id, row_no, value) VALUES
    (current_setting('rlsv.screening_jobs')::uuid, current_setting('rlsv.model_versions')::uuid, 1, -90);
"#;

/// Tables whose fixture row has its id under `rlsv.<table>`; the rest are found by query.
const FIXTURE_TABLES: &[&str] = &[
    "projects",
    "molecules",
    "molecular_properties",
    "mixtures",
    "mixture_components",
    "mixture_versions",
    "mixture_version_components",
    "protocols",
    "experiments",
    "lab_verifications",
    "predictions",
    "shared_resources",
    "comments",
    "notifications",
    "activity_log",
    "audit_log",
    "refresh_tokens",
    "models",
    "model_versions",
    "model_aliases",
    "training_jobs",
    "alerts",
    "alert_deliveries",
    "alert_silences",
    "login_throttle",
    "team_invitations",
    "toxicity_activities",
    "screening_jobs",
];

/// Tables whose owner cannot read their own row back, by design.
const OWNER_CANNOT_READ: &[&str] = &[
    "audit_log",
    "refresh_tokens",
    "alerts",
    "alert_deliveries",
    "alert_silences",
    "login_throttle",
];

async fn set(tx: &mut Transaction<'_, Postgres>, key: &str, value: &str) -> Result<(), DbError> {
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn effectiveness(pool: &PgPool, report: &mut Report) -> Result<(), DbError> {
    let tables = user_tables(&mut *pool.acquire().await?).await?;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut tx = pool.begin().await?;
    act_as(&mut tx, &Identity::service()).await?;
    let mut ids: BTreeMap<String, (String, Uuid)> = BTreeMap::new();
    set(&mut tx, "rlsv.a", &a.to_string()).await?;
    set(&mut tx, "rlsv.b", &b.to_string()).await?;
    for key in ["team_a", "team_b"].iter().chain(FIXTURE_TABLES) {
        let id = Uuid::new_v4();
        set(&mut tx, &format!("rlsv.{key}"), &id.to_string()).await?;
        if FIXTURE_TABLES.contains(key) {
            ids.insert(key.to_string(), ("id".into(), id));
        }
    }
    if let Err(e) = tx.execute(FIXTURE).await {
        report.push(
            "*",
            "fixture",
            false,
            format!("could not create the verification fixture: {e}"),
        );
        return Ok(());
    }
    let team_a: Uuid = sqlx::query_scalar("SELECT current_setting('rlsv.team_a')::uuid")
        .fetch_one(&mut *tx)
        .await?;
    let membership: Uuid =
        sqlx::query_scalar("SELECT id FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_a)
            .bind(a)
            .fetch_one(&mut *tx)
            .await?;
    ids.insert("users".into(), ("id".into(), a));
    ids.insert("user_profiles".into(), ("user_id".into(), a));
    ids.insert("teams".into(), ("id".into(), team_a));
    ids.insert("team_members".into(), ("id".into(), membership));
    let prediction = ids["predictions"].1;
    ids.insert(
        "prediction_provenance".into(),
        ("prediction_id".into(), prediction),
    );
    // A screening job's rows, chunks and results are keyed by (job, number): found by job.
    let screening = ids["screening_jobs"].1;
    for table in ["screening_rows", "screening_chunks", "screening_results"] {
        ids.insert(table.into(), ("job_id".into(), screening));
    }
    for reference in PUBLIC_READ_TABLES {
        let id: Uuid = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM {} LIMIT 1",
            quote_ident(reference)
        )))
        .fetch_one(&mut *tx)
        .await?;
        ids.insert(reference.to_string(), ("id".into(), id));
    }

    for (table, _, _) in &tables {
        let Some((pk, id)) = ids.get(table).cloned() else {
            report.push(
                table,
                "fixture",
                false,
                "no verification fixture row for this table: add one to rls.rs",
            );
            continue;
        };
        let (t, k) = (quote_ident(table), quote_ident(&pk));
        // Snapshot A's row as JSON (as service_role) to attempt a forged re-insert as B.
        act_as(&mut tx, &Identity::service()).await?;
        let row: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT to_jsonb(x) FROM {t} x WHERE {k} = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;

        // The owner sees their own row, unless the table is deliberately unreadable to them.
        if !OWNER_CANNOT_READ.contains(&table.as_str()) {
            act_as(&mut tx, &Identity::user(a)).await?;
            let seen = count(
                &mut tx,
                &format!("SELECT count(*) FROM {t} WHERE {k} = $1"),
                id,
            )
            .await;
            report.push(
                table,
                "owner_reads_own",
                seen == Ok(1),
                format!("owner sees {seen:?} of 1 row"),
            );
        }

        act_as(&mut tx, &Identity::user(b)).await?;
        if !PUBLIC_READ_TABLES.contains(&table.as_str()) {
            let seen = count(
                &mut tx,
                &format!("SELECT count(*) FROM {t} WHERE {k} = $1"),
                id,
            )
            .await;
            report.push(
                table,
                "cross_tenant_select",
                !matches!(seen, Ok(n) if n > 0),
                format!("other user sees {seen:?} rows"),
            );
        }
        let updated = affected(
            &mut tx,
            &format!("UPDATE {t} SET {k} = {k} WHERE {k} = $1"),
            id,
        )
        .await;
        report.push(
            table,
            "cross_tenant_update",
            !matches!(updated, Ok(n) if n > 0),
            format!("other user updated {updated:?} rows"),
        );
        let deleted = affected(&mut tx, &format!("DELETE FROM {t} WHERE {k} = $1"), id).await;
        report.push(
            table,
            "cross_tenant_delete",
            !matches!(deleted, Ok(n) if n > 0),
            format!("other user deleted {deleted:?} rows"),
        );

        let mut forged = row.clone();
        forged[pk.as_str()] = serde_json::Value::String(Uuid::new_v4().to_string());
        let inserted = insert_json(&mut tx, &t, &forged).await;
        let blocked = match &inserted {
            Ok(_) => false,
            // 42501: RLS violation or missing privilege. Anything else (e.g. a unique key) means
            // the policy let the row through and only a constraint stopped it.
            Err(code) => code == "42501",
        };
        report.push(
            table,
            "cross_tenant_insert",
            blocked,
            format!("forged insert as another user: {inserted:?}"),
        );
    }
    tx.rollback().await?;
    Ok(())
}

/// Run a statement in a savepoint; Ok(value) or Err(SQLSTATE).
async fn count(tx: &mut Transaction<'_, Postgres>, sql: &str, id: Uuid) -> Result<i64, String> {
    savepoint(tx, async |tx| {
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()))
            .bind(id)
            .fetch_one(&mut **tx)
            .await
    })
    .await
}

async fn affected(tx: &mut Transaction<'_, Postgres>, sql: &str, id: Uuid) -> Result<u64, String> {
    savepoint(tx, async |tx| {
        sqlx::query(AssertSqlSafe(sql.to_string()))
            .bind(id)
            .execute(&mut **tx)
            .await
            .map(|r| r.rows_affected())
    })
    .await
}

async fn insert_json(
    tx: &mut Transaction<'_, Postgres>,
    table: &str,
    row: &serde_json::Value,
) -> Result<u64, String> {
    let sql = format!("INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1)");
    savepoint(tx, async |tx| {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(row)
            .execute(&mut **tx)
            .await
            .map(|r| r.rows_affected())
    })
    .await
}

async fn savepoint<T>(
    tx: &mut Transaction<'_, Postgres>,
    f: impl AsyncFnOnce(&mut Transaction<'_, Postgres>) -> Result<T, sqlx::Error>,
) -> Result<T, String> {
    let _ = tx.execute("SAVEPOINT rls_probe").await;
    let result = f(tx).await;
    // Always roll back: even an allowed change must not stay, and a failed one aborts the tx.
    let _ = tx.execute("ROLLBACK TO SAVEPOINT rls_probe").await;
    result.map_err(|e| match e {
        sqlx::Error::Database(d) => d
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| d.message().to_string()),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::per_row_calls;

    #[test]
    fn initplan_calls_pass_and_per_row_calls_are_named() {
        // As pg_get_expr prints the policies of the current set.
        for once in [
            "(created_by = ( SELECT auth.uid() AS uid))",
            "((SELECT auth.role() AS role) = 'service_role'::text)",
            "(team_id = ANY (( SELECT app.my_teams_as('{admin,editor}'::text[]) AS my_teams_as)))",
            "(id = ANY (( SELECT app.shared_with_me('molecule'::text) AS shared_with_me)))",
            "is_reference",
            "(EXISTS ( SELECT 1 FROM molecules m WHERE (m.id = molecular_properties.molecule_id)))",
        ] {
            assert_eq!(per_row_calls(once), Vec::<String>::new(), "{once}");
        }
        // As the earlier sets wrote them.
        assert_eq!(
            per_row_calls("((auth.role() = 'service_role'::text) AND (user_id = auth.uid()))"),
            ["auth.role()", "auth.uid()"]
        );
        assert_eq!(
            per_row_calls("app.can_read(created_by, project_id, 'molecule'::text, id)"),
            ["app.can_read(created_by, project_id, 'molecule'::text, id)"]
        );
        // Wrapped, but given the row's column: still once per row.
        assert_eq!(
            per_row_calls("( SELECT app.team_role(teams.id) AS team_role) IS NOT NULL"),
            ["app.team_role(teams.id)"]
        );
        // Names that merely contain the schema are not calls into it.
        assert_eq!(
            per_row_calls("(myapp.x = 1) AND (xauth.uid)"),
            Vec::<String>::new()
        );
    }
}
