use super::load_settings;
use clap::Subcommand;
use cryo_db::migrate::MigrationState;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (after a backup when the database holds data and
    /// database.backup_before_migrate is on).
    Migrate {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Print each pending statement and the lock it takes; change nothing.
        #[arg(long, conflicts_with = "check_on_copy")]
        dry_run: bool,
        /// Rehearse on a copy: back up, restore into a scratch database, migrate it, run the
        /// health and RLS checks there, drop it. The live database is not migrated.
        #[arg(long)]
        check_on_copy: bool,
        /// Skip the pre-migration backup.
        #[arg(long)]
        no_backup: bool,
    },
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
    /// Referential integrity: orphans, missing constraints, dangling polymorphic references.
    #[command(subcommand)]
    Integrity(IntegrityCommand),
    /// Run the health checks (as the pg_monitor-only role); exit 1 when any is critical or
    /// could not run.
    Health {
        #[arg(long, conflicts_with_all = ["markdown", "html"])]
        json: bool,
        #[arg(long, conflicts_with = "html")]
        markdown: bool,
        /// A self-contained HTML page with a chart of check status and timing.
        #[arg(long)]
        html: bool,
        /// Only these checks (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        checks: Vec<String>,
    },
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
pub enum IntegrityCommand {
    /// Count orphans per foreign key (anti-joins), list missing or unvalidated constraints,
    /// undeclared `*_id` columns, unindexed foreign keys and dangling polymorphic references.
    /// Exit 1 when there is something to fix.
    Check {
        #[arg(long)]
        json: bool,
        /// Trust validated constraints instead of counting behind them.
        #[arg(long)]
        quick: bool,
    },
    /// Back up, then in one transaction remove orphans by the strategy, add missing constraints
    /// (NOT VALID, then VALIDATE) and reinstall polymorphic guards. Every action is logged and
    /// audited; re-running on a clean database does nothing.
    Fix {
        #[arg(long, value_parser = parse_strategy)]
        strategy: cryo_db::integrity::Strategy,
        /// Run everything, report it, roll it back.
        #[arg(long)]
        dry_run: bool,
        /// Skip the safety backup (not recommended).
        #[arg(long)]
        skip_backup: bool,
        #[arg(long)]
        json: bool,
    },
}

fn parse_strategy(s: &str) -> Result<cryo_db::integrity::Strategy, String> {
    s.parse()
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
        DbCommand::Migrate {
            to,
            dry_run,
            check_on_copy,
            no_backup,
        } => {
            if dry_run {
                migrate_dry_run(&db.pool, to).await
            } else if check_on_copy {
                migrate_on_copy(&db, &settings, to).await
            } else {
                migrate(&db, &settings, to, no_backup).await
            }
        }
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
        DbCommand::Integrity(IntegrityCommand::Check { json, quick }) => {
            integrity_check(&db.pool, json, quick).await
        }
        DbCommand::Integrity(IntegrityCommand::Fix {
            strategy,
            dry_run,
            skip_backup,
            json,
        }) => integrity_fix(&db, &settings, strategy, dry_run, skip_backup, json).await,
        DbCommand::Health {
            json,
            markdown,
            html,
            checks,
        } => {
            let store = super::backup::store(&settings)?;
            let thresholds = cryo_db::health::Thresholds::from_settings(&settings);
            let only = (!checks.is_empty()).then_some(checks.as_slice());
            match cryo_db::health::run(&db.pool, &thresholds, Some(&store), only).await {
                Ok(report) => {
                    let text = if json {
                        serde_json::to_string_pretty(&report)?
                    } else if markdown {
                        cryo_app::health_view::markdown(&report)
                    } else if html {
                        cryo_app::health_view::html(&report)
                    } else {
                        cryo_app::health_view::text(&report)
                    };
                    println!("{text}");
                    let bad = report.status >= cryo_db::health::Status::Critical;
                    Ok(if bad {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    })
                }
                Err(e) => Err(e.into()),
            }
        }
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

async fn migrate(
    db: &cryo_db::Database,
    settings: &cryo_config::Settings,
    to: Option<i64>,
    no_backup: bool,
) -> anyhow::Result<ExitCode> {
    let store = super::backup::store(settings)?;
    let guard =
        (settings.database.backup_before_migrate && !no_backup).then_some((&store, &db.spec));
    let done = cryo_db::migrate::apply(&db.pool, &cryo_db::migrate::MIGRATOR, to, guard).await?;
    if let Some(b) = &done.backup {
        println!(
            "pre-migration backup {} in {}",
            b.id,
            store.dir.join(&b.dump_file).display()
        );
    }
    if done.migrations.is_empty() {
        println!("database is up to date");
    }
    for (version, description) in done.migrations {
        println!("applied {version} {description}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn migrate_dry_run(pool: &cryo_db::PgPool, to: Option<i64>) -> anyhow::Result<ExitCode> {
    let todo = cryo_db::migrate::pending(pool, &cryo_db::migrate::MIGRATOR, to).await?;
    if todo.is_empty() {
        println!("database is up to date; nothing would run");
    }
    for (version, description, sql) in todo {
        println!("-- {version} {description} (one transaction)");
        for s in cryo_db::sql_locks::analyse(&sql) {
            let head: String = s.sql.chars().take(110).collect();
            println!(
                "{head}{}",
                if s.sql.chars().count() > 110 {
                    " …"
                } else {
                    ""
                }
            );
            println!(
                "    lock: {}{}; blocks {}",
                s.lock,
                s.table
                    .as_deref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default(),
                s.blocks
            );
        }
    }
    println!("dry run: nothing was changed");
    Ok(ExitCode::SUCCESS)
}

/// What a rehearsal on a copy produced: migrations applied, health, RLS verification.
type Rehearsal = (
    Vec<(i64, String)>,
    cryo_db::health::Report,
    cryo_db::rls::Report,
);

async fn migrate_on_copy(
    db: &cryo_db::Database,
    settings: &cryo_config::Settings,
    to: Option<i64>,
) -> anyhow::Result<ExitCode> {
    let todo = cryo_db::migrate::pending(&db.pool, &cryo_db::migrate::MIGRATOR, to).await?;
    println!("{} pending migrations to rehearse", todo.len());
    let store = super::backup::store(settings)?;
    let m = cryo_db::backup::create(
        &db.pool,
        &db.spec,
        &store,
        Some("migration-rehearsal".into()),
    )
    .await?;
    println!("copied the live database through backup {}", m.id);
    let thresholds = cryo_db::health::Thresholds::from_settings(settings);
    let outcome = cryo_db::backup::with_restored_copy(
        &store,
        &db.spec,
        &m.id,
        async |copy: cryo_db::backup::ConnSpec| -> anyhow::Result<Rehearsal> {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect_with(copy.options())
                .await?;
            let result = async {
                let done =
                    cryo_db::migrate::apply(&pool, &cryo_db::migrate::MIGRATOR, to, None).await?;
                // A restored copy's policy helpers belong to the restoring role; give them back to
                // the helper role, as `restore` does, so the copy behaves like the live database.
                cryo_db::rls::apply(&pool).await?;
                let health = cryo_db::health::run(&pool, &thresholds, None, None).await?;
                let rls = cryo_db::rls::verify(&pool).await?;
                anyhow::Ok((done.migrations, health, rls))
            }
            .await;
            pool.close().await;
            result
        },
    )
    .await?;
    let (applied, health, rls) = outcome?;
    for (version, description) in &applied {
        println!("applied on the copy: {version} {description}");
    }
    for c in health.checks.iter().filter(|c| c.name != "last_backup") {
        if c.status != cryo_db::health::Status::Ok {
            println!(
                "health on the copy: {} {:?}: {}",
                c.name, c.status, c.message
            );
        }
    }
    for f in rls.failures() {
        println!("RLS on the copy: {}: {}", f.table, f.detail);
    }
    let health_ok = health
        .checks
        .iter()
        .filter(|c| c.name != "last_backup")
        .all(|c| c.status < cryo_db::health::Status::Critical);
    let ok = health_ok && rls.ok();
    println!(
        "rehearsal {}: the copy was dropped and the live database was not changed",
        if ok { "passed" } else { "FAILED" }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

async fn integrity_check(
    pool: &cryo_db::PgPool,
    json: bool,
    quick: bool,
) -> anyhow::Result<ExitCode> {
    let report = cryo_db::integrity::check(pool, !quick).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{:<52} {:<14} {:>8} {:>8}",
            "foreign key", "state", "orphans", "indexed"
        );
        for f in &report.foreign_keys {
            println!(
                "{:<52} {:<14} {:>8} {:>8}",
                format!("{}.{} → {}", f.table, f.column, f.references),
                format!("{:?}", f.state),
                f.orphans.map_or("-".to_string(), |n| n.to_string()),
                if f.indexed { "yes" } else { "NO" }
            );
        }
        for p in &report.polymorphic {
            println!(
                "{:<52} {:<14} {:>8}",
                format!("{}.(resource_type, resource_id)", p.table),
                if p.guarded { "guarded" } else { "UNGUARDED" },
                p.orphans
            );
        }
        for u in &report.undeclared {
            println!(
                "{}.{}: an *_id column with no declared reference",
                u.table, u.column
            );
        }
        for u in &report.unexpected {
            println!("unexpected foreign key: {u}");
        }
        println!(
            "{} orphan rows; {}",
            report.orphans(),
            if report.is_clean() {
                "nothing to fix"
            } else {
                "run `cryoprotect db integrity fix --strategy quarantine --dry-run` to see the repair"
            }
        );
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn integrity_fix(
    db: &cryo_db::Database,
    settings: &cryo_config::Settings,
    strategy: cryo_db::integrity::Strategy,
    dry_run: bool,
    skip_backup: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let before = cryo_db::integrity::check(&db.pool, true).await?;
    if !before.is_clean() && !dry_run && !skip_backup {
        let store = super::backup::store(settings)?;
        let m = cryo_db::backup::create(
            &db.pool,
            &db.spec,
            &store,
            Some("before-integrity-fix".into()),
        )
        .await?;
        eprintln!("safety backup {} written", m.id);
    }
    let actor = cryo_db::bootstrap::current_role(&mut *db.pool.acquire().await?).await?;
    let report = cryo_db::integrity::fix_checked(
        &db.pool,
        before,
        strategy,
        dry_run,
        &format!("cli:{actor}"),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if report.actions.is_empty() {
            println!("nothing to fix");
        }
        for a in &report.actions {
            println!(
                "{}{}",
                if dry_run { "would: " } else { "" },
                serde_json::to_string(a)?
            );
        }
        if dry_run {
            println!("dry run: everything was rolled back");
        } else {
            println!("{} orphan rows remain", report.after.orphans());
        }
    }
    Ok(ExitCode::SUCCESS)
}
