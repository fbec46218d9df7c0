use super::load_settings;
use clap::Subcommand;
use cryo_db::migrate::MigrationState;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations.
    Migrate,
    /// Show each migration and whether it is applied; exits 1 when any is pending or mismatched.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Create the cluster-wide roles (anon, authenticated, service_role, the policy-helper owner
    /// and the API login role). Needs a DATABASE_URL with CREATEROLE (e.g. a superuser).
    Bootstrap {
        /// Role that owns the schema and runs migrations (default: the role of DATABASE_URL).
        #[arg(long)]
        owner: Option<String>,
        /// Name of the API's login role.
        #[arg(long, default_value = "cryoprotect_api")]
        api_role: String,
        /// Password of the API login role; read from CRYOPROTECT_DB_API_PASSWORD when unset.
        #[arg(long, env = "CRYOPROTECT_DB_API_PASSWORD", hide_env_values = true)]
        api_password: Option<String>,
    },
    /// Row-level security.
    #[command(subcommand)]
    Rls(RlsCommand),
    /// Revert applied migrations with their down scripts.
    Rollback {
        /// Revert everything newer than this version (0: everything).
        #[arg(long, conflicts_with = "steps")]
        to: Option<i64>,
        /// Revert this many of the newest applied migrations.
        #[arg(long)]
        steps: Option<usize>,
        /// Allow down scripts that declare data loss.
        #[arg(long)]
        allow_data_loss: bool,
        /// Print what would be reverted, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RlsCommand {
    /// (Re)create the policy set, idempotently.
    Apply,
    /// Check coverage and, by impersonating two users in a rolled-back transaction, that no
    /// user can read or change another's rows. Exit 1 on any gap.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Option<PathBuf>, cmd: DbCommand) -> anyhow::Result<ExitCode> {
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let db = cryo_db::connect(&settings.database).await?;
    let outcome = match cmd {
        DbCommand::Migrate => migrate(&db.pool).await,
        DbCommand::Status { json } => status(&db.pool, json).await,
        DbCommand::Bootstrap {
            owner,
            api_role,
            api_password,
        } => bootstrap(&db.pool, owner, &api_role, api_password).await,
        DbCommand::Rls(RlsCommand::Apply) => {
            let n = cryo_db::rls::apply(&db.pool).await?;
            println!("applied {n} policy set(s)");
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Rls(RlsCommand::Verify { json }) => rls_verify(&db.pool, json).await,
        DbCommand::Rollback {
            to,
            steps,
            allow_data_loss,
            dry_run,
        } => rollback(&db.pool, to, steps, allow_data_loss, dry_run).await,
    };
    db.shutdown().await?;
    outcome
}

async fn migrate(pool: &cryo_db::PgPool) -> anyhow::Result<ExitCode> {
    let (before, _) = cryo_db::migrate::status(pool).await?;
    cryo_db::migrate::run(pool).await?;
    let applied: Vec<_> = before
        .iter()
        .filter(|m| m.state == MigrationState::Pending)
        .collect();
    if applied.is_empty() {
        println!("database is up to date");
    }
    for m in applied {
        println!("applied {} {}", m.version, m.description);
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(pool: &cryo_db::PgPool, json: bool) -> anyhow::Result<ExitCode> {
    let (known, unknown) = cryo_db::migrate::status(pool).await?;
    let state_name = |s: &MigrationState| match s {
        MigrationState::Applied => "applied",
        MigrationState::Pending => "pending",
        MigrationState::ChecksumMismatch => "checksum-mismatch",
    };
    if json {
        let rows: Vec<_> = known
            .iter()
            .map(|m| serde_json::json!({"version": m.version, "description": m.description, "state": state_name(&m.state)}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"migrations": rows, "unknown_applied": unknown})
            )?
        );
    } else {
        for m in &known {
            println!(
                "{:>16}  {:<18} {}",
                m.version,
                state_name(&m.state),
                m.description
            );
        }
        for v in &unknown {
            println!("{v:>16}  applied-but-unknown (this binary is older than the database)");
        }
    }
    let current = unknown.is_empty() && known.iter().all(|m| m.state == MigrationState::Applied);
    Ok(if current {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn bootstrap(
    pool: &cryo_db::PgPool,
    owner: Option<String>,
    api_role: &str,
    api_password: Option<String>,
) -> anyhow::Result<ExitCode> {
    let mut conn = pool.acquire().await?;
    let owner = match owner {
        Some(o) => o,
        None => cryo_db::bootstrap::current_role(&mut conn).await?,
    };
    let generated = api_password.is_none();
    let password = api_password.unwrap_or_else(cryo_db::bootstrap::random_password);
    cryo_db::bootstrap::bootstrap(
        &mut conn,
        &owner,
        Some(cryo_db::bootstrap::ApiRole {
            name: api_role,
            password: &password,
        }),
    )
    .await?;
    println!("roles ready; `{owner}` owns the schema, `{api_role}` serves requests");
    if generated {
        // Printed once, on request of the operator who ran the command; never logged.
        println!("generated password for {api_role}: {password}");
        println!("set DATABASE_API_URL to the DATABASE_URL with user {api_role} and this password");
    }
    Ok(ExitCode::SUCCESS)
}

async fn rls_verify(pool: &cryo_db::PgPool, json: bool) -> anyhow::Result<ExitCode> {
    let report = cryo_db::rls::verify(pool).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"ok": report.ok(), "findings": report.findings})
            )?
        );
    } else {
        let tables: std::collections::BTreeSet<&str> =
            report.findings.iter().map(|f| f.table.as_str()).collect();
        let checks = report.findings.len();
        for f in report.failures() {
            println!("FAIL  {:<22} {:<24} {}", f.table, f.check, f.detail);
        }
        let failed = report.failures().count();
        println!("{} tables, {checks} checks, {failed} failed", tables.len());
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn rollback(
    pool: &cryo_db::PgPool,
    to: Option<i64>,
    steps: Option<usize>,
    allow_data_loss: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let (known, _) = cryo_db::migrate::status(pool).await?;
    let applied: Vec<i64> = known
        .iter()
        .filter(|m| m.state != MigrationState::Pending)
        .map(|m| m.version)
        .collect();
    let target = match (to, steps) {
        (Some(v), _) => v,
        (None, Some(n)) => {
            let keep = applied.len().saturating_sub(n);
            if keep == 0 { 0 } else { applied[keep - 1] }
        }
        (None, None) => anyhow::bail!("say how far: --to VERSION or --steps N"),
    };
    let plan = if dry_run {
        cryo_db::migrate::rollback_plan(pool, target).await?
    } else {
        cryo_db::migrate::rollback(pool, target, allow_data_loss).await?
    };
    if plan.is_empty() {
        println!("nothing to revert: the database is at or below {target}");
    }
    for (version, description, loss) in &plan {
        println!(
            "{} {version} {description}{}",
            if dry_run { "would revert" } else { "reverted" },
            if *loss { " (destroys data)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
