//! Referential integrity of data that outlived the application: databases restored from old
//! dumps, loaded by scripts with triggers off, or migrated by hand. `check` finds orphans (per
//! foreign key, by anti-join), foreign keys the schema should have but does not, `*_id` columns
//! with no declared reference, unindexed foreign keys and dangling polymorphic references.
//! `fix` removes orphans by one strategy in one transaction, restores missing constraints
//! (`NOT VALID`, then `VALIDATE`) and the polymorphic guards, and records every decision in the
//! audit log. Identifiers in the generated SQL come from the constant lists below or the catalog,
//! never from input; row ids and reasons are bound parameters.

use crate::{DbError, quote_ident};
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    Restrict,
    Cascade,
    SetNull,
}

impl OnDelete {
    fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

/// A foreign key the canonical schema declares. A test keeps this list equal to the catalog of a
/// freshly migrated database, so a new foreign key cannot be forgotten here.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExpectedFk {
    pub table: &'static str,
    pub column: &'static str,
    pub references: &'static str,
    pub on_delete: OnDelete,
}

impl ExpectedFk {
    /// PostgreSQL's default name, which the migrations use.
    pub fn name(&self) -> String {
        format!("{}_{}_fkey", self.table, self.column)
    }
}

const fn fk(
    table: &'static str,
    column: &'static str,
    references: &'static str,
    on_delete: OnDelete,
) -> ExpectedFk {
    ExpectedFk {
        table,
        column,
        references,
        on_delete,
    }
}

use OnDelete::{Cascade, Restrict, SetNull};

/// Every foreign key of the schema; all reference the parent's `id`.
pub const EXPECTED_FKS: &[ExpectedFk] = &[
    fk("activity_log", "team_id", "teams", Cascade),
    fk("activity_log", "user_id", "users", SetNull),
    fk("audit_log", "actor_id", "users", SetNull),
    fk("comments", "created_by", "users", Restrict),
    fk("comments", "parent_id", "comments", Cascade),
    fk("experiments", "created_by", "users", Restrict),
    fk("experiments", "mixture_id", "mixtures", Restrict),
    fk(
        "experiments",
        "mixture_version_id",
        "mixture_versions",
        Restrict,
    ),
    fk("experiments", "molecule_id", "molecules", Restrict),
    fk("experiments", "project_id", "projects", SetNull),
    fk(
        "experiments",
        "property_type_id",
        "property_types",
        Restrict,
    ),
    fk("experiments", "protocol_id", "protocols", SetNull),
    fk("lab_verifications", "experiment_id", "experiments", Cascade),
    fk("lab_verifications", "requested_by", "users", Restrict),
    fk("lab_verifications", "verifier_id", "users", Restrict),
    fk("mixture_components", "mixture_id", "mixtures", Cascade),
    fk("mixture_components", "molecule_id", "molecules", Restrict),
    fk(
        "mixture_version_components",
        "molecule_id",
        "molecules",
        Restrict,
    ),
    fk(
        "mixture_version_components",
        "version_id",
        "mixture_versions",
        Cascade,
    ),
    fk("mixture_versions", "created_by", "users", Restrict),
    fk("mixture_versions", "mixture_id", "mixtures", Cascade),
    fk("mixtures", "created_by", "users", Restrict),
    fk("mixtures", "project_id", "projects", SetNull),
    fk(
        "molecular_properties",
        "calculation_method_id",
        "calculation_methods",
        Restrict,
    ),
    fk("molecular_properties", "molecule_id", "molecules", Cascade),
    fk(
        "molecular_properties",
        "property_type_id",
        "property_types",
        Restrict,
    ),
    fk("molecules", "created_by", "users", Restrict),
    fk("molecules", "project_id", "projects", SetNull),
    fk("notifications", "team_id", "teams", SetNull),
    fk("notifications", "user_id", "users", Cascade),
    fk(
        "predictions",
        "calculation_method_id",
        "calculation_methods",
        Restrict,
    ),
    fk("predictions", "created_by", "users", Restrict),
    fk("predictions", "mixture_id", "mixtures", Cascade),
    fk("predictions", "molecule_id", "molecules", Cascade),
    fk("predictions", "project_id", "projects", SetNull),
    fk(
        "predictions",
        "property_type_id",
        "property_types",
        Restrict,
    ),
    fk("projects", "created_by", "users", Restrict),
    fk("projects", "team_id", "teams", SetNull),
    fk("protocols", "created_by", "users", Restrict),
    fk("protocols", "mixture_id", "mixtures", Cascade),
    fk("protocols", "project_id", "projects", SetNull),
    fk("refresh_tokens", "replaced_by", "refresh_tokens", SetNull),
    fk("refresh_tokens", "user_id", "users", Cascade),
    fk("shared_resources", "shared_by", "users", Restrict),
    fk("shared_resources", "team_id", "teams", Cascade),
    fk("team_members", "team_id", "teams", Cascade),
    fk("team_members", "user_id", "users", Cascade),
    fk("team_invitations", "team_id", "teams", Cascade),
    fk("team_invitations", "user_id", "users", Cascade),
    fk("team_invitations", "invited_by", "users", SetNull),
    fk("toxicity_assays", "source_id", "toxicity_sources", Cascade),
    fk(
        "toxicity_assay_endpoints",
        "assay_id",
        "toxicity_assays",
        Cascade,
    ),
    fk(
        "toxicity_assay_endpoints",
        "endpoint_id",
        "toxicity_endpoints",
        Cascade,
    ),
    fk("toxicity_activities", "molecule_id", "molecules", Cascade),
    fk(
        "toxicity_activities",
        "assay_id",
        "toxicity_assays",
        Cascade,
    ),
    fk("toxicity_activities", "created_by", "users", Cascade),
    fk("teams", "created_by", "users", Restrict),
    fk("user_profiles", "user_id", "users", Cascade),
    fk("alert_deliveries", "alert_id", "alerts", Cascade),
    fk("alert_silences", "created_by", "users", SetNull),
    fk("models", "created_by", "users", Restrict),
    fk("models", "project_id", "projects", SetNull),
    fk("models", "property_type_id", "property_types", Restrict),
    fk("model_versions", "model_id", "models", Cascade),
    fk("model_versions", "created_by", "users", Restrict),
    fk("model_aliases", "model_id", "models", Cascade),
    fk("model_aliases", "version_id", "model_versions", Cascade),
    fk("model_aliases", "created_by", "users", Restrict),
    fk("training_jobs", "model_id", "models", Cascade),
    fk(
        "training_jobs",
        "result_version_id",
        "model_versions",
        SetNull,
    ),
    fk("training_jobs", "retry_of", "training_jobs", SetNull),
    fk("training_jobs", "created_by", "users", Restrict),
    fk(
        "prediction_provenance",
        "prediction_id",
        "predictions",
        Cascade,
    ),
    fk(
        "prediction_provenance",
        "model_version_id",
        "model_versions",
        SetNull,
    ),
    fk("screening_jobs", "created_by", "users", Restrict),
    fk("screening_jobs", "project_id", "projects", SetNull),
    fk("screening_rows", "job_id", "screening_jobs", Cascade),
    fk("screening_rows", "molecule_id", "molecules", SetNull),
    fk("screening_chunks", "job_id", "screening_jobs", Cascade),
    fk("screening_results", "job_id", "screening_jobs", Cascade),
    fk(
        "screening_results",
        "model_version_id",
        "model_versions",
        Cascade,
    ),
];

/// Tables whose `(resource_type, resource_id)` points at a row by kind.
pub const POLYMORPHIC: &[&str] = &["shared_resources", "comments", "notifications"];

/// The kinds a polymorphic reference may name, and their tables.
pub const RESOURCE_TABLES: &[(&str, &str)] = &[
    ("project", "projects"),
    ("molecule", "molecules"),
    ("mixture", "mixtures"),
    ("experiment", "experiments"),
    ("protocol", "protocols"),
    ("prediction", "predictions"),
];

/// `*_id` columns that deliberately carry no foreign key: append-only logs keep naming rows
/// that have since been deleted.
const UNREFERENCED_BY_DESIGN: &[(&str, &str)] =
    &[("activity_log", "resource_id"), ("audit_log", "target_id")];

/// The SQL that installs the polymorphic guards (the migration of the same name), re-run by `fix`.
const GUARDS_SQL: &str = include_str!("../migrations/20261129000006_polymorphic_guards.up.sql");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FkState {
    /// Declared and validated: PostgreSQL guarantees every row (unless triggers were disabled).
    Valid,
    /// Declared `NOT VALID`: new rows are checked, old ones not.
    NotValidated,
    /// Expected by the schema but absent.
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct FkFinding {
    pub constraint: String,
    pub table: &'static str,
    pub column: &'static str,
    pub references: &'static str,
    pub state: FkState,
    /// Rows whose value points at no parent row; `None` when not counted (a validated key in a
    /// quick check).
    pub orphans: Option<i64>,
    /// Whether an index starts with the column (deletes of parents and joins need one).
    pub indexed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolymorphicFinding {
    pub table: &'static str,
    pub orphans: i64,
    /// Whether the guard trigger is installed.
    pub guarded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndeclaredColumn {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrityReport {
    pub foreign_keys: Vec<FkFinding>,
    pub polymorphic: Vec<PolymorphicFinding>,
    /// `*_id` columns that reference nothing the schema knows of.
    pub undeclared: Vec<UndeclaredColumn>,
    /// Foreign keys declared in the database that the schema does not expect.
    pub unexpected: Vec<String>,
}

impl IntegrityReport {
    pub fn orphans(&self) -> i64 {
        self.foreign_keys
            .iter()
            .filter_map(|f| f.orphans)
            .sum::<i64>()
            + self.polymorphic.iter().map(|p| p.orphans).sum::<i64>()
    }

    pub fn unindexed(&self) -> impl Iterator<Item = &FkFinding> {
        self.foreign_keys.iter().filter(|f| !f.indexed)
    }

    /// True when there is nothing for `fix` to do.
    pub fn is_clean(&self) -> bool {
        self.orphans() == 0
            && self.foreign_keys.iter().all(|f| f.state == FkState::Valid)
            && self.polymorphic.iter().all(|p| p.guarded)
    }
}

fn orphan_predicate(fk: &ExpectedFk) -> String {
    format!(
        "c.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.{parent} p WHERE p.id = c.{col})",
        col = quote_ident(fk.column),
        parent = quote_ident(fk.references)
    )
}

fn polymorphic_predicate() -> String {
    let arms: String = RESOURCE_TABLES
        .iter()
        .map(|(kind, table)| {
            format!(
                " WHEN '{kind}' THEN EXISTS (SELECT 1 FROM public.{} p WHERE p.id = c.resource_id)",
                quote_ident(table)
            )
        })
        .collect();
    format!("c.resource_id IS NOT NULL AND NOT (CASE c.resource_type{arms} ELSE false END)")
}

/// Opens a read-only transaction that sees every row (BYPASSRLS helper role).
async fn begin_unrestricted(
    conn: &mut PgConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Postgres>, DbError> {
    let mut tx = conn.begin().await?;
    tx.execute("SET TRANSACTION READ ONLY").await?;
    tx.execute("SET LOCAL ROLE cryoprotect_rls_definer").await?;
    // A check must report a locked table as an error, not wait behind it.
    tx.execute("SET LOCAL lock_timeout = '5s'").await?;
    Ok(tx)
}

/// Runs the integrity checks. `thorough` also counts orphans behind validated constraints
/// (possible only if triggers were disabled); a quick check trusts them.
pub async fn check(pool: &PgPool, thorough: bool) -> Result<IntegrityReport, DbError> {
    let mut conn = pool.acquire().await?;
    let declared: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, c.convalidated
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let indexed: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indrelid::regclass::text, a.attname
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         JOIN pg_class t ON t.oid = i.indrelid
         WHERE t.relnamespace = 'public'::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let guarded: Vec<String> = sqlx::query_scalar(
        "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%\\_resource\\_exists' AND NOT tgisinternal",
    )
    .fetch_all(&mut *conn)
    .await?;
    let id_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
           AND a.atttypid = 'uuid'::regtype AND a.attname LIKE '%\\_id' AND c.relname NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await?;

    let mut tx = begin_unrestricted(&mut conn).await?;
    let mut foreign_keys = Vec::with_capacity(EXPECTED_FKS.len());
    for fk in EXPECTED_FKS {
        let found = declared
            .iter()
            .find(|d| d.1 == fk.table && d.2 == fk.column && d.3 == fk.references);
        let state = match found {
            Some(d) if d.4 => FkState::Valid,
            Some(_) => FkState::NotValidated,
            None => FkState::Missing,
        };
        let orphans = if thorough || state != FkState::Valid {
            let sql = format!(
                "SELECT count(*) FROM public.{} c WHERE {}",
                quote_ident(fk.table),
                orphan_predicate(fk)
            );
            Some(
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut *tx)
                    .await?,
            )
        } else {
            None
        };
        foreign_keys.push(FkFinding {
            constraint: found.map_or_else(|| fk.name(), |d| d.0.clone()),
            table: fk.table,
            column: fk.column,
            references: fk.references,
            state,
            orphans,
            indexed: indexed.iter().any(|(t, c)| t == fk.table && c == fk.column),
        });
    }
    let mut polymorphic = Vec::with_capacity(POLYMORPHIC.len());
    for table in POLYMORPHIC {
        let sql = format!(
            "SELECT count(*) FROM public.{} c WHERE {}",
            quote_ident(table),
            polymorphic_predicate()
        );
        let orphans: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await?;
        polymorphic.push(PolymorphicFinding {
            table,
            orphans,
            guarded: guarded.iter().any(|g| g == table),
        });
    }
    tx.rollback().await?;

    let undeclared = id_columns
        .into_iter()
        .filter(|(t, c)| {
            let expected = EXPECTED_FKS.iter().any(|f| f.table == t && f.column == c);
            let polymorphic = POLYMORPHIC.contains(&t.as_str()) && c == "resource_id";
            let by_design = UNREFERENCED_BY_DESIGN
                .iter()
                .any(|(dt, dc)| dt == t && dc == c);
            !(expected || polymorphic || by_design)
        })
        .map(|(table, column)| UndeclaredColumn { table, column })
        .collect();
    let unexpected = declared
        .iter()
        .filter(|d| {
            !EXPECTED_FKS
                .iter()
                .any(|f| d.1 == f.table && d.2 == f.column && d.3 == f.references)
        })
        .map(|d| format!("{} on {}.{} → {}", d.0, d.1, d.2, d.3))
        .collect();
    Ok(IntegrityReport {
        foreign_keys,
        polymorphic,
        undeclared,
        unexpected,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Delete orphan rows (and what cascades from them).
    Delete,
    /// Set the dangling column to NULL (only where the column allows it).
    Nullify,
    /// Move orphan rows (and rows that would cascade with them) into the `quarantine` schema,
    /// with the time and the reason.
    Quarantine,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Strategy, String> {
        match s {
            "delete" => Ok(Strategy::Delete),
            "nullify" => Ok(Strategy::Nullify),
            "quarantine" => Ok(Strategy::Quarantine),
            other => Err(format!(
                "unknown strategy {other:?}; expected delete, nullify or quarantine"
            )),
        }
    }
}

/// One thing `fix` did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    RemoveOrphans {
        table: String,
        column: String,
        references: String,
        rows: i64,
        strategy: Strategy,
        reason: String,
    },
    RemoveDependents {
        table: String,
        rows: i64,
        strategy: Strategy,
        reason: String,
    },
    AddConstraint {
        constraint: String,
        table: String,
        column: String,
        references: String,
        on_delete: OnDelete,
    },
    ValidateConstraint {
        constraint: String,
        table: String,
    },
    InstallGuards,
}

#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    pub dry_run: bool,
    pub actions: Vec<Action>,
    /// The check after the fix (or before, in a dry run).
    pub after: IntegrityReport,
}

struct Target {
    table: &'static str,
    column: &'static str,
    references: &'static str,
    predicate: String,
    nullable: bool,
    reason: String,
}

/// Repairs what `check` finds. Everything happens in one transaction: on any error nothing has
/// changed. Re-running on a clean database does nothing.
pub async fn fix(
    pool: &PgPool,
    strategy: Strategy,
    dry_run: bool,
    actor: &str,
) -> Result<FixReport, DbError> {
    let before = check(pool, true).await?;
    fix_checked(pool, before, strategy, dry_run, actor).await
}

/// [`fix`] for a caller that already ran a thorough `check(pool, true)` (e.g. to decide on a
/// safety backup), so the scan is not repeated.
pub async fn fix_checked(
    pool: &PgPool,
    before: IntegrityReport,
    strategy: Strategy,
    dry_run: bool,
    actor: &str,
) -> Result<FixReport, DbError> {
    if before.is_clean() {
        return Ok(FixReport {
            dry_run,
            actions: Vec::new(),
            after: before,
        });
    }
    let mut targets = Vec::new();
    for f in before
        .foreign_keys
        .iter()
        .filter(|f| f.orphans.unwrap_or(0) > 0)
    {
        let expected = EXPECTED_FKS
            .iter()
            .find(|e| e.table == f.table && e.column == f.column)
            .expect("from the list");
        targets.push(Target {
            table: f.table,
            column: f.column,
            references: f.references,
            predicate: orphan_predicate(expected),
            nullable: false,
            reason: format!(
                "{}.{} points at no row of {} ({})",
                f.table, f.column, f.references, f.constraint
            ),
        });
    }
    for p in before.polymorphic.iter().filter(|p| p.orphans > 0) {
        targets.push(Target {
            table: p.table,
            column: "resource_id",
            references: "resource_type",
            predicate: polymorphic_predicate(),
            nullable: false,
            reason: format!(
                "{}.resource_id points at no row of its resource_type",
                p.table
            ),
        });
    }
    let mut conn = pool.acquire().await?;
    for t in &mut targets {
        t.nullable = sqlx::query_scalar(
            "SELECT NOT a.attnotnull FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2",
        )
        .bind(format!("public.{}", t.table))
        .bind(t.column)
        .fetch_one(&mut *conn)
        .await?;
        if strategy == Strategy::Nullify && !t.nullable {
            return Err(DbError::Refused(format!(
                "{}.{} is NOT NULL, so its orphans cannot be nullified; use --strategy quarantine or delete",
                t.table, t.column
            )));
        }
    }

    let mut tx = conn.begin().await?;
    // The owner bypasses row-level security only while FORCE is off; the table locks this takes
    // keep other sessions out until the transaction ends, and FORCE is back on before commit.
    let forced: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relforcerowsecurity",
    )
    .fetch_all(&mut *tx)
    .await?;
    for table in &forced {
        tx.execute(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE public.{} NO FORCE ROW LEVEL SECURITY",
            quote_ident(table)
        )))
        .await?;
    }
    let mut actions = Vec::new();
    for t in &targets {
        if strategy == Strategy::Nullify {
            let sql = format!(
                "UPDATE public.{table} c SET {col} = NULL WHERE {pred}",
                table = quote_ident(t.table),
                col = quote_ident(t.column),
                pred = t.predicate
            );
            let rows = tx.execute(sqlx::AssertSqlSafe(sql)).await?.rows_affected() as i64;
            actions.push(Action::RemoveOrphans {
                table: t.table.into(),
                column: t.column.into(),
                references: t.references.into(),
                rows,
                strategy,
                reason: t.reason.clone(),
            });
            continue;
        }
        let key = primary_key(&mut tx, t.table).await?;
        let sql = format!(
            "SELECT c.{} FROM public.{} c WHERE {}",
            quote_ident(&key),
            quote_ident(t.table),
            t.predicate
        );
        let ids: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await?;
        actions.push(Action::RemoveOrphans {
            table: t.table.into(),
            column: t.column.into(),
            references: t.references.into(),
            rows: ids.len() as i64,
            strategy,
            reason: t.reason.clone(),
        });
        remove_rows(
            &mut tx,
            t.table,
            &key,
            &ids,
            strategy,
            &t.reason,
            &mut actions,
            0,
        )
        .await?;
    }
    for f in &before.foreign_keys {
        let e = EXPECTED_FKS
            .iter()
            .find(|e| e.table == f.table && e.column == f.column)
            .expect("from the list");
        if f.state == FkState::Missing {
            let sql = format!(
                "ALTER TABLE public.{t} ADD CONSTRAINT {name} FOREIGN KEY ({c}) REFERENCES public.{p} (id) ON DELETE {od} NOT VALID",
                t = quote_ident(e.table),
                name = quote_ident(&e.name()),
                c = quote_ident(e.column),
                p = quote_ident(e.references),
                od = e.on_delete.sql()
            );
            tx.execute(sqlx::AssertSqlSafe(sql)).await?;
            actions.push(Action::AddConstraint {
                constraint: e.name(),
                table: e.table.into(),
                column: e.column.into(),
                references: e.references.into(),
                on_delete: e.on_delete,
            });
        }
        if f.state != FkState::Valid {
            let name = if f.state == FkState::Missing {
                e.name()
            } else {
                f.constraint.clone()
            };
            let sql = format!(
                "ALTER TABLE public.{} VALIDATE CONSTRAINT {}",
                quote_ident(e.table),
                quote_ident(&name)
            );
            tx.execute(sqlx::AssertSqlSafe(sql)).await?;
            actions.push(Action::ValidateConstraint {
                constraint: name,
                table: e.table.into(),
            });
        }
    }
    if before.polymorphic.iter().any(|p| !p.guarded) {
        tx.execute(GUARDS_SQL).await?;
        actions.push(Action::InstallGuards);
    }
    for a in &actions {
        tracing::info!(action = ?a, dry_run, "integrity fix");
        sqlx::query("INSERT INTO audit_log (actor_role, action, target_table, details) VALUES ($1, 'integrity_fix', $2, $3)")
            .bind(actor)
            .bind(action_table(a))
            .bind(serde_json::to_value(a).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    for table in &forced {
        tx.execute(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE public.{} FORCE ROW LEVEL SECURITY",
            quote_ident(table)
        )))
        .await?;
    }
    if dry_run {
        tx.rollback().await?;
        return Ok(FixReport {
            dry_run,
            actions,
            after: before,
        });
    }
    tx.commit().await?;
    drop(conn);
    Ok(FixReport {
        dry_run,
        actions,
        after: check(pool, true).await?,
    })
}

fn action_table(a: &Action) -> Option<String> {
    match a {
        Action::RemoveOrphans { table, .. }
        | Action::RemoveDependents { table, .. }
        | Action::AddConstraint { table, .. }
        | Action::ValidateConstraint { table, .. } => Some(table.clone()),
        Action::InstallGuards => None,
    }
}

async fn primary_key(conn: &mut PgConnection, table: &str) -> Result<String, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = $1::regclass AND i.indisprimary",
    )
    .bind(format!("public.{table}"))
    .fetch_one(conn)
    .await?)
}

/// Removes rows by key, first handling the rows that would go with them: ON DELETE CASCADE
/// children are removed the same way (so quarantine keeps them too); RESTRICT children stop the
/// fix with a message naming them.
#[allow(clippy::too_many_arguments)]
fn remove_rows<'a>(
    conn: &'a mut PgConnection,
    table: &'a str,
    key: &'a str,
    ids: &'a [Uuid],
    strategy: Strategy,
    reason: &'a str,
    actions: &'a mut Vec<Action>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), DbError>> + Send + 'a>> {
    Box::pin(async move {
        if ids.is_empty() {
            return Ok(());
        }
        if depth > 8 {
            return Err(DbError::Refused(format!(
                "dependency chain below {table} is deeper than 8 levels"
            )));
        }
        for child in EXPECTED_FKS
            .iter()
            .filter(|f| f.references == table && key == "id")
        {
            let sql = format!(
                "SELECT count(*) FROM public.{} WHERE {} = ANY($1)",
                quote_ident(child.table),
                quote_ident(child.column)
            );
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ids)
                .fetch_one(&mut *conn)
                .await?;
            if n == 0 {
                continue;
            }
            match child.on_delete {
                Restrict => {
                    return Err(DbError::Refused(format!(
                        "{n} rows of {} still reference the {table} rows to be removed (ON DELETE RESTRICT); fix those first",
                        child.table
                    )));
                }
                SetNull => {} // PostgreSQL clears the reference; the rows stay.
                Cascade => {
                    let child_key = primary_key(conn, child.table).await?;
                    let sql = format!(
                        "SELECT {} FROM public.{} WHERE {} = ANY($1)",
                        quote_ident(&child_key),
                        quote_ident(child.table),
                        quote_ident(child.column)
                    );
                    let child_ids: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(ids)
                        .fetch_all(&mut *conn)
                        .await?;
                    let child_reason = format!("depends on a removed {table} row ({reason})");
                    actions.push(Action::RemoveDependents {
                        table: child.table.into(),
                        rows: child_ids.len() as i64,
                        strategy,
                        reason: child_reason.clone(),
                    });
                    remove_rows(
                        conn,
                        child.table,
                        &child_key,
                        &child_ids,
                        strategy,
                        &child_reason,
                        actions,
                        depth + 1,
                    )
                    .await?;
                }
            }
        }
        let (t, k) = (quote_ident(table), quote_ident(key));
        if strategy == Strategy::Quarantine {
            conn.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
                .await?;
            conn.execute("REVOKE ALL ON SCHEMA quarantine FROM PUBLIC")
                .await?;
            conn.execute(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE IF NOT EXISTS quarantine.{t} (LIKE public.{t}, quarantined_at timestamptz NOT NULL, quarantine_reason text NOT NULL)"
            )))
            .await?;
            let sql = format!(
                "WITH moved AS (DELETE FROM public.{t} WHERE {k} = ANY($1) RETURNING *)
                 INSERT INTO quarantine.{t} SELECT moved.*, now(), $2 FROM moved"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ids)
                .bind(reason)
                .execute(&mut *conn)
                .await?;
        } else {
            let sql = format!("DELETE FROM public.{t} WHERE {k} = ANY($1)");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ids)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Rows per table of the public schema, counted as the BYPASSRLS helper (for before/after
/// comparisons).
pub async fn row_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, DbError> {
    let mut conn = pool.acquire().await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
           AND relname NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tx = begin_unrestricted(&mut conn).await?;
    let mut counts = Vec::with_capacity(tables.len());
    for t in tables {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM public.{}",
            quote_ident(&t)
        )))
        .fetch_one(&mut *tx)
        .await?;
        counts.push((t, row.get::<i64, _>(0)));
    }
    tx.rollback().await?;
    Ok(counts)
}
