pub mod config;
pub mod db;
pub mod molecules;
pub mod serve;

use cryo_config::{LoadOptions, Resolved, Settings};
use std::path::PathBuf;

/// Load the layered configuration of this process.
pub fn load_settings(config: Option<PathBuf>) -> anyhow::Result<(Settings, Resolved)> {
    Ok(cryo_config::load(&LoadOptions::from_process(config))?)
}
