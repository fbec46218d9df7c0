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
}

pub async fn run(config: Option<PathBuf>, cmd: DbCommand) -> anyhow::Result<ExitCode> {
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let db = cryo_db::connect(&settings.database).await?;
    let outcome = match cmd {
        DbCommand::Migrate => migrate(&db.pool).await,
        DbCommand::Status { json } => status(&db.pool, json).await,
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
