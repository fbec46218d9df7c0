//! Embedded, checksummed, append-only migrations (sqlx's migrator: each migration runs in its own
//! transaction, and concurrent migrators are serialised by an advisory lock).

use crate::DbError;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{PgConnection, PgPool};

/// Every migration under `crates/cryo-db/migrations`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The table sqlx records applied migrations in.
const HISTORY_TABLE: &str = "_sqlx_migrations";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    Applied,
    Pending,
    /// Applied, but the SQL compiled into this binary differs from what was applied.
    ChecksumMismatch,
}

#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub state: MigrationState,
}

/// Apply every pending migration.
pub async fn run(pool: &PgPool) -> Result<(), DbError> {
    run_with(&MIGRATOR, pool).await
}

pub async fn run_with(migrator: &Migrator, pool: &PgPool) -> Result<(), DbError> {
    migrator.run(pool).await?;
    Ok(())
}

/// Pending up-migrations of `migrator` (up to `to`), oldest first.
pub async fn pending(
    pool: &PgPool,
    migrator: &Migrator,
    to: Option<i64>,
) -> Result<Vec<(i64, String, String)>, DbError> {
    let mut conn = pool.acquire().await?;
    let has_history: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(HISTORY_TABLE)
        .fetch_one(&mut *conn)
        .await?;
    let applied: Vec<i64> = if has_history {
        conn.list_applied_migrations(HISTORY_TABLE)
            .await?
            .iter()
            .map(|m| m.version)
            .collect()
    } else {
        Vec::new()
    };
    Ok(migrator
        .iter()
        .filter(|m| {
            m.migration_type.is_up_migration()
                && !applied.contains(&m.version)
                && to.is_none_or(|t| m.version <= t)
        })
        .map(|m| {
            (
                m.version,
                m.description.to_string(),
                m.sql.as_str().to_string(),
            )
        })
        .collect())
}

/// Whether any table of the public schema has a row (read as the BYPASSRLS helper when it
/// exists, since forced row-level security would hide rows from the owner).
pub async fn holds_data(pool: &PgPool) -> Result<bool, DbError> {
    use sqlx::Connection;
    let mut conn = pool.acquire().await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> $1",
    )
    .bind(HISTORY_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    let mut tx = conn.begin().await?;
    crate::set_local_role_if_member(&mut tx, "cryoprotect_rls_definer").await?;
    for t in tables {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM public.{})",
            crate::quote_ident(&t)
        );
        if sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub migrations: Vec<(i64, String)>,
    /// The pre-migration backup, when one was taken.
    pub backup: Option<crate::backup::Manifest>,
}

/// Applies pending migrations (up to `to`). With `backup`, a database that holds data is backed
/// up first (label `before-migrate-<version>`). A failing migration leaves the database at the
/// version before it, and the error names the backup.
pub async fn apply(
    pool: &PgPool,
    migrator: &Migrator,
    to: Option<i64>,
    backup: Option<(&crate::backup::Store, &crate::backup::ConnSpec)>,
) -> Result<Applied, DbError> {
    let todo = pending(pool, migrator, to).await?;
    if todo.is_empty() {
        return Ok(Applied::default());
    }
    if let Some(why) = crate::bootstrap::missing_for_migrations(&mut *pool.acquire().await?).await?
    {
        return Err(DbError::Refused(format!("nothing was migrated: {why}")));
    }
    let mut done = Applied::default();
    if let Some((store, spec)) = backup
        && holds_data(pool).await?
    {
        let label = format!("before-migrate-{}", todo[0].0);
        let m = crate::backup::create(pool, spec, store, Some(label))
            .await
            .map_err(|e| {
                DbError::Refused(format!(
                    "the pre-migration backup failed, so nothing was migrated: {e}"
                ))
            })?;
        tracing::info!(backup = %m.id, "pre-migration backup taken");
        done.backup = Some(m);
    }
    for (version, description, _) in &todo {
        if let Err(e) = migrator.run_to(*version, pool).await {
            return Err(DbError::MigrationFailed {
                version: *version,
                message: e.to_string(),
                backup: done
                    .backup
                    .as_ref()
                    .map(|m| format!("{} in {}", m.id, m.dump_file)),
            });
        }
        done.migrations.push((*version, description.clone()));
    }
    Ok(done)
}

/// The state of every known migration, plus versions applied that this binary does not know.
pub async fn status(pool: &PgPool) -> Result<(Vec<MigrationStatus>, Vec<i64>), DbError> {
    let mut conn = pool.acquire().await?;
    status_on(&mut conn).await
}

/// [`status`] on a given connection (e.g. a transaction acting as service_role).
pub async fn status_on(
    conn: &mut PgConnection,
) -> Result<(Vec<MigrationStatus>, Vec<i64>), DbError> {
    // Read-only: a status query must not create the history table as a side effect.
    let has_history: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(HISTORY_TABLE)
        .fetch_one(&mut *conn)
        .await?;
    let applied = if has_history {
        conn.list_applied_migrations(HISTORY_TABLE).await?
    } else {
        Vec::new()
    };
    let known: Vec<MigrationStatus> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| {
            let state = match applied.iter().find(|a| a.version == m.version) {
                None => MigrationState::Pending,
                Some(a) if a.checksum == m.checksum => MigrationState::Applied,
                Some(_) => MigrationState::ChecksumMismatch,
            };
            MigrationStatus {
                version: m.version,
                description: m.description.to_string(),
                state,
            }
        })
        .collect();
    let unknown = applied
        .iter()
        .map(|a| a.version)
        .filter(|v| !MIGRATOR.version_exists(*v))
        .collect();
    Ok((known, unknown))
}

/// True when every migration is applied with a matching checksum and none is unknown.
pub async fn is_current(pool: &PgPool) -> Result<bool, DbError> {
    let (known, unknown) = status(pool).await?;
    Ok(all_applied(&known, &unknown))
}

pub fn all_applied(known: &[MigrationStatus], unknown: &[i64]) -> bool {
    unknown.is_empty() && known.iter().all(|m| m.state == MigrationState::Applied)
}

/// Whether this binary can serve the database: every migration it knows is applied unchanged.
/// Newer migrations it does not know are accepted: migrations are expand-only, so the release
/// before them still runs on the expanded schema (this is what makes a rollback to the previous
/// release work after a deploy that migrated).
pub fn compatible(known: &[MigrationStatus]) -> bool {
    known.iter().all(|m| m.state == MigrationState::Applied)
}

/// [`compatible`] for a pool, with the unknown (newer) versions for the log.
pub async fn compatible_with(pool: &PgPool) -> Result<(bool, Vec<i64>), DbError> {
    let (known, unknown) = status(pool).await?;
    Ok((compatible(&known), unknown))
}

/// Down scripts that destroy data start with this line.
pub const DATA_LOSS_MARKER: &str = "-- cryoprotect: data-loss";

/// The applied migrations a rollback to `target` would revert, newest first, with whether each
/// declares data loss.
pub async fn rollback_plan(
    pool: &PgPool,
    target: i64,
) -> Result<Vec<(i64, String, bool)>, DbError> {
    let (known, _) = status(pool).await?;
    let applied: Vec<i64> = known
        .iter()
        .filter(|m| m.state != MigrationState::Pending)
        .map(|m| m.version)
        .collect();
    let mut plan: Vec<(i64, String, bool)> = MIGRATOR
        .iter()
        .filter(|m| {
            m.migration_type.is_down_migration()
                && m.version > target
                && applied.contains(&m.version)
        })
        .map(|m| {
            (
                m.version,
                m.description.to_string(),
                m.sql.as_str().trim_start().starts_with(DATA_LOSS_MARKER),
            )
        })
        .collect();
    plan.sort_by_key(|(v, _, _)| std::cmp::Reverse(*v));
    Ok(plan)
}

/// Revert every applied migration newer than `target` (each down script in its own
/// transaction), refusing when one declares data loss and `allow_data_loss` is false.
pub async fn rollback(
    pool: &PgPool,
    target: i64,
    allow_data_loss: bool,
) -> Result<Vec<(i64, String, bool)>, DbError> {
    let plan = rollback_plan(pool, target).await?;
    if !allow_data_loss && let Some((v, d, _)) = plan.iter().find(|(_, _, loss)| *loss) {
        return Err(DbError::Refused(format!(
            "reverting {v} ({d}) destroys data; pass --allow-data-loss (and take a backup first)"
        )));
    }
    MIGRATOR.undo(pool, target).await?;
    Ok(plan)
}
