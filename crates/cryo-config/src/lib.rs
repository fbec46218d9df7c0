//! Layered configuration for CryoProtect.
//!
//! Every setting is declared once in [`KEYS`]: its dotted path (as written in the TOML config
//! file), its environment variable, whether it is a secret, its default and its documentation.
//! Values are resolved in increasing precedence:
//!
//! 1. built-in defaults,
//! 2. the config file (`--config FILE`, `CRYOPROTECT_CONFIG`, or `./cryoprotect.toml` if present),
//! 3. environment variables,
//! 4. secret files: `<ENV>_FILE` naming a file, or a file named `<ENV>` (or its lower-case form) in
//!    the directory named by `CRYOPROTECT_SECRETS_DIR`.
//!
//! Raw strings from every layer are parsed into typed [`Settings`] once; a bad value is an error
//! naming the key and the layer it came from.

mod keys;
mod settings;

pub use keys::{KEYS, KeyDef};
pub use settings::{
    AuthSettings, BackupSettings, DatabaseSettings, Environment, HealthSettings, LimitSettings,
    LogFormat, LogSettings, ModelSettings, Secret, ServerSettings, Settings,
};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    SecretFile(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::SecretFile(p) => write!(f, "secret file {}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("config file {path}: unknown key `{key}` (see .env.example for the list of keys)")]
    UnknownKey { path: PathBuf, key: String },
    #[error("cannot read secret file {path} for {key}: {source}")]
    ReadSecret {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid value for {key} (from {source_name}): {message}")]
    Invalid {
        key: &'static str,
        source_name: String,
        message: String,
    },
    #[error("unsafe configuration for environment `{environment}`: {problems:?}")]
    Unsafe {
        environment: String,
        problems: Vec<String>,
    },
}

/// The raw, merged layers: for each key, its string value and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Resolved {
    pub fn get(&self, path: &str) -> Option<&(String, Source)> {
        self.values.get(path)
    }

    /// Effective configuration as (key, value-or-redaction, source) rows, secrets redacted.
    pub fn redacted_rows(&self) -> Vec<(&'static str, String, String)> {
        KEYS.iter()
            .map(|k| match self.values.get(k.path) {
                Some((v, src)) if k.secret => (k.path, redact(v), src.to_string()),
                Some((v, src)) => (k.path, v.clone(), src.to_string()),
                None => (k.path, "(unset)".to_string(), "default".to_string()),
            })
            .collect()
    }
}

fn redact(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        format!("(redacted, {} chars)", value.chars().count())
    }
}

/// Inputs to [`load`]: kept explicit so tests do not touch the process environment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub config_file: Option<PathBuf>,
    pub env: HashMap<String, String>,
    /// When true and no config file is named, `./cryoprotect.toml` is read if it exists.
    pub use_default_file: bool,
}

impl LoadOptions {
    /// Options taken from this process: its environment and `./cryoprotect.toml`.
    pub fn from_process(config_file: Option<PathBuf>) -> Self {
        LoadOptions {
            config_file,
            env: std::env::vars().collect(),
            use_default_file: true,
        }
    }
}

/// Merge all layers and parse them into typed settings.
pub fn load(opts: &LoadOptions) -> Result<(Settings, Resolved), ConfigError> {
    let resolved = resolve(opts)?;
    let settings = Settings::from_resolved(&resolved)?;
    Ok((settings, resolved))
}

pub fn resolve(opts: &LoadOptions) -> Result<Resolved, ConfigError> {
    let mut r = Resolved::default();
    for k in KEYS {
        if let Some(d) = k.default {
            r.values.insert(k.path, (d.to_string(), Source::Default));
        }
    }

    let file = opts
        .config_file
        .clone()
        .or_else(|| opts.env.get("CRYOPROTECT_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let p = PathBuf::from("cryoprotect.toml");
            (opts.use_default_file && p.exists()).then_some(p)
        });
    if let Some(path) = file {
        for (key, value) in read_file_layer(&path)? {
            r.values.insert(key, (value, Source::File(path.clone())));
        }
    }

    for k in KEYS {
        if let Some(v) = opts.env.get(k.env) {
            r.values
                .insert(k.path, (v.clone(), Source::Env(k.env.to_string())));
        }
    }

    let secrets_dir = opts.env.get("CRYOPROTECT_SECRETS_DIR").map(PathBuf::from);
    for k in KEYS.iter().filter(|k| k.secret) {
        if let Some((value, path)) = read_secret(k, &opts.env, secrets_dir.as_deref())? {
            r.values.insert(k.path, (value, Source::SecretFile(path)));
        }
    }
    Ok(r)
}

fn read_secret(
    k: &KeyDef,
    env: &HashMap<String, String>,
    secrets_dir: Option<&Path>,
) -> Result<Option<(String, PathBuf)>, ConfigError> {
    let mut candidates = Vec::new();
    if let Some(p) = env.get(&format!("{}_FILE", k.env)) {
        candidates.push((PathBuf::from(p), true));
    }
    if let Some(dir) = secrets_dir {
        candidates.push((dir.join(k.env), false));
        candidates.push((dir.join(k.env.to_lowercase()), false));
    }
    for (path, required) in candidates {
        match std::fs::read_to_string(&path) {
            // Files written by editors and `echo` end in a newline that is not part of the secret.
            Ok(s) => return Ok(Some((s.trim_end_matches(['\n', '\r']).to_string(), path))),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(ConfigError::ReadSecret {
                    key: k.path,
                    path,
                    source,
                });
            }
        }
    }
    Ok(None)
}

fn read_file_layer(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::ParseFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut flat = Vec::new();
    flatten(&table, "", &mut flat);
    flat.into_iter()
        .map(|(key, value)| match KEYS.iter().find(|k| k.path == key) {
            Some(k) => Ok((k.path, value)),
            None => Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key,
            }),
        })
        .collect()
}

fn flatten(table: &toml::Table, prefix: &str, out: &mut Vec<(String, String)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(t, &key, out),
            toml::Value::String(s) => out.push((key, s.clone())),
            other => out.push((key, other.to_string())),
        }
    }
}

/// Render `.env.example` from [`KEYS`], so the documentation cannot drift from the code.
pub fn env_example() -> String {
    let mut out = String::from(
        "# CryoProtect configuration. Every key can also be set in cryoprotect.toml (dotted path),\n\
         # and every secret can be read from a file: NAME_FILE=/path, or a file named NAME in\n\
         # CRYOPROTECT_SECRETS_DIR. Precedence: defaults < file < environment < secret files.\n\
         # Generated by `cryoprotect config example`; a test keeps it in sync.\n\
         #\n\
         # Bootstrap variables (read before any layer): CRYOPROTECT_CONFIG names the config file;\n\
         # CRYOPROTECT_SECRETS_DIR names a folder of secret files (e.g. /run/secrets);\n\
         # CRYOPROTECT_PG_BINDIR names the folder with PostgreSQL's `postgres` and `initdb`.\n",
    );
    for k in KEYS {
        out.push_str(&format!(
            "\n# {} ({}){}\n",
            k.doc,
            k.path,
            if k.secret { " [secret]" } else { "" }
        ));
        match k.default {
            Some(d) if !k.secret => out.push_str(&format!("# {}={}\n", k.env, d)),
            _ => out.push_str(&format!("# {}=\n", k.env)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
