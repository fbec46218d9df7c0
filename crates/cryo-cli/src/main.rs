//! `cryoprotect`: the one binary. Parses the command line and configuration, then hands off to
//! the library crates. anyhow lives here, at the edge, and nowhere else.

mod commands;
mod telemetry;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cryoprotect",
    version,
    about = "CryoProtect: a platform for cryoprotectant research"
)]
struct Cli {
    /// Config file (TOML); defaults to ./cryoprotect.toml when present.
    #[arg(long, global = true, env = "CRYOPROTECT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (starts the embedded PostgreSQL when DATABASE_URL is unset).
    Serve(commands::serve::ServeArgs),
    /// Database administration.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// Backups: create, list, verify, prune.
    #[command(subcommand)]
    Backup(commands::backup::BackupCommand),
    /// Restore a backup (into a new database, swapped in only after it succeeded).
    Restore(commands::backup::RestoreArgs),
    /// Import and describe molecules.
    #[command(subcommand)]
    Molecules(commands::molecules::MoleculesCommand),
    /// Toxicity: import assay results (Tox21 layouts), describe alerts and QED.
    #[command(subcommand)]
    Toxicity(commands::toxicity::ToxicityCommand),
    /// Predictive models: evaluate, train, predict, featurize.
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    /// CPA loading protocols: simulate cell volume with membrane-transport physics.
    #[command(subcommand)]
    Protocol(commands::protocol::ProtocolCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Accounts: give one a global role (e.g. the first admin).
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(cli.config, args).await,
            Command::Db(cmd) => commands::db::run(cli.config, cmd).await,
            Command::Config(cmd) => commands::config::run(cli.config, cmd),
            Command::Protocol(cmd) => commands::protocol::run(cmd),
            Command::Model(cmd) => commands::model::run(cli.config, cmd).await,
            Command::Molecules(cmd) => commands::molecules::run(cli.config, cmd).await,
            Command::Toxicity(cmd) => commands::toxicity::run(cli.config, cmd).await,
            Command::Backup(cmd) => commands::backup::run(cli.config, cmd).await,
            Command::Restore(args) => commands::backup::restore(cli.config, args).await,
            Command::Users(cmd) => commands::users::run(cli.config, cmd).await,
        }
    });
    // Blocking work still running (a computation past its deadline check) must not keep a
    // stopped server alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
