use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and exit non-zero if it is invalid.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a documented .env.example covering every key.
    Example,
}

pub fn run(config: Option<PathBuf>, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Example => {
            print!("{}", cryo_config::env_example());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { json } => {
            let opts = cryo_config::LoadOptions::from_process(config);
            let resolved = cryo_config::resolve(&opts)?;
            let rows = resolved.redacted_rows();
            let verdict = cryo_config::Settings::from_resolved(&resolved);
            if json {
                let keys: Vec<_> = rows
                    .iter()
                    .map(|(k, v, s)| serde_json::json!({"key": k, "value": v, "source": s}))
                    .collect();
                let out = serde_json::json!({
                    "valid": verdict.is_ok(),
                    "error": verdict.as_ref().err().map(|e| e.to_string()),
                    "keys": keys,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
                for (k, v, s) in &rows {
                    println!("{k:width$}  {v}  [{s}]");
                }
                match &verdict {
                    Ok(s) => println!("\nconfiguration valid for environment `{}`", s.environment),
                    Err(e) => eprintln!("\nconfiguration INVALID: {e}"),
                }
            }
            Ok(if verdict.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
