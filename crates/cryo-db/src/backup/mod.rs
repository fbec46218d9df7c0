//! Backups with PostgreSQL's own tools: `pg_dump` (custom format) compressed with zstd, a
//! manifest beside each dump, verification by a real restore, grandfather-father-son pruning.
//!
//! A backup is valid only when its manifest exists: the dump is written to `*.partial`, renamed
//! when pg_dump has succeeded and the file is flushed, and the manifest is written (also through
//! a temporary name) last. A killed backup leaves only a `.partial`, which `list` never shows.
//!
//! Consistency: row counts in the manifest are taken in the same snapshot pg_dump dumps
//! (`pg_export_snapshot` + `pg_dump --snapshot`), as a role with BYPASSRLS so forced row-level
//! security hides nothing from the backup.

use crate::{DbError, quote_ident};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Executor, PgConnection, PgPool};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use time::OffsetDateTime;

pub const FORMAT_VERSION: u32 = 1;
const RLS_BYPASS_ROLE: &str = "cryoprotect_rls_definer";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
    #[error("no backup `{0}`")]
    NotFound(String),
    #[error("backup {id} is corrupt: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("verification of {id} failed: {reason}")]
    Mismatch { id: String, reason: String },
    #[error("{0}")]
    Refused(String),
}

/// Where and how to reach a database, for both sqlx and the PostgreSQL command-line tools.
#[derive(Clone)]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

impl ConnSpec {
    pub fn from_url(url: &str) -> Result<ConnSpec, DbError> {
        let u = url::Url::parse(url)
            .map_err(|_| DbError::InvalidUrl("not a valid postgres:// URL".into()))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Ok(ConnSpec {
            host: u.host_str().unwrap_or("localhost").to_string(),
            port: u.port().unwrap_or(5432),
            user: decode(u.username()),
            password: u.password().map(decode),
            database: u.path().trim_start_matches('/').to_string(),
        })
    }

    pub fn with_database(&self, database: &str) -> ConnSpec {
        ConnSpec {
            database: database.to_string(),
            ..self.clone()
        }
    }

    pub fn options(&self) -> sqlx::postgres::PgConnectOptions {
        let o = sqlx::postgres::PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.database);
        match &self.password {
            Some(p) => o.password(p),
            None => o,
        }
    }

    /// Connection settings for libpq tools through the environment (the password never
    /// appears on a command line).
    fn apply(&self, cmd: &mut Command) {
        cmd.env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGDATABASE", &self.database)
            .env_remove("PGSERVICE");
        match &self.password {
            Some(p) => cmd.env("PGPASSWORD", p),
            None => cmd.env_remove("PGPASSWORD"),
        };
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub label: Option<String>,
    #[serde(default)]
    pub pinned: bool,
    pub app_version: String,
    pub server_version: String,
    pub pg_dump_version: String,
    pub migration_version: Option<i64>,
    pub database: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    pub dump_file: String,
    pub compression: String,
    /// `age-x25519:<recipient>` when the dump is encrypted at rest.
    #[serde(default)]
    pub encryption: Option<String>,
    pub size_bytes: u64,
    pub sha256: String,
    pub table_counts: BTreeMap<String, i64>,
    pub outcome: String,
}

mod create;
mod encryption;
mod restore;
mod retention;
mod store;
mod tables;

pub use create::*;
pub use encryption::*;
pub use restore::*;
pub use retention::*;
pub use store::*;
pub use tables::*;

/// Backups hold password and refresh-token hashes: their folder is the owner's alone (0700) and
/// every file in it 0600, whatever the umask.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

fn private_file(path: &Path) -> std::io::Result<File> {
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only to a file created now; an existing one is narrowed too.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let tmp = path.with_extension("json.partial");
    let mut f = private_file(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn manifest(at: OffsetDateTime, label: Option<&str>) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            id: at.date().to_string(),
            label: label.map(String::from),
            pinned: false,
            app_version: String::new(),
            server_version: String::new(),
            pg_dump_version: String::new(),
            migration_version: None,
            database: "db".into(),
            started_at: at,
            finished_at: at,
            dump_file: String::new(),
            compression: "zstd".into(),
            encryption: None,
            size_bytes: 0,
            sha256: String::new(),
            table_counts: BTreeMap::new(),
            outcome: "ok".into(),
        }
    }

    /// The slots the golden cases use: 7 daily, 4 weekly, 12 monthly, 2 yearly.
    fn gfs(max_age_days: Option<i64>, min_kept: usize) -> RetentionPolicy {
        RetentionPolicy {
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 2,
            max_age_days,
            min_kept,
        }
    }

    /// Two years of daily backups at 02:00, pruned on 2026-12-31 with a fake clock.
    fn two_years() -> Vec<Manifest> {
        let first = datetime!(2025-01-01 02:00 UTC);
        (0..730)
            .map(|d| manifest(first + time::Duration::days(d), None))
            .collect()
    }

    #[test]
    fn grandfather_father_son_keeps_exactly_the_expected_backups() {
        let now = datetime!(2026-12-31 12:00 UTC);
        let policy = gfs(None, 0);
        let (kept, deleted) = plan_prune(&two_years(), &policy, now);
        let mut kept = kept;
        kept.sort();
        let expected = [
            // yearly: newest of 2025
            "2025-12-31",
            // monthly: newest of each month of 2026
            "2026-01-31",
            "2026-02-28",
            "2026-03-31",
            "2026-04-30",
            "2026-05-31",
            "2026-06-30",
            "2026-07-31",
            "2026-08-31",
            "2026-09-30",
            "2026-10-31",
            "2026-11-30",
            // weekly: newest of ISO weeks 50 and 51 (weeks 52 and 53 are covered by the dailies)
            "2026-12-13",
            "2026-12-20",
            // daily: the last seven days
            "2026-12-25",
            "2026-12-26",
            "2026-12-27",
            "2026-12-28",
            "2026-12-29",
            "2026-12-30",
            "2026-12-31",
        ];
        assert_eq!(kept, expected);
        assert_eq!(deleted.len(), 730 - expected.len());
    }

    #[test]
    fn max_age_overrides_slots_but_never_labelled_backups() {
        let now = datetime!(2026-12-31 12:00 UTC);
        let mut backups = two_years();
        backups[10].label = Some("before the big migration".into());
        let policy = gfs(Some(90), 0);
        let (kept, _) = plan_prune(&backups, &policy, now);
        assert!(
            kept.contains(&"2025-01-11".to_string()),
            "labelled backup kept"
        );
        assert!(
            !kept.contains(&"2025-12-31".to_string()),
            "yearly slot older than 90 days removed"
        );
        assert!(kept.contains(&"2026-10-31".to_string()));
        assert!(!kept.contains(&"2026-09-30".to_string()));
    }

    #[test]
    fn the_newest_and_the_pinned_survive_max_age() {
        // Backups stopped a year ago: max_age alone would delete every one of them.
        let now = datetime!(2027-12-31 12:00 UTC);
        let mut backups = two_years();
        backups[100].pinned = true;
        let policy = gfs(Some(90), 3);
        let (kept, deleted) = plan_prune(&backups, &policy, now);
        let mut kept = kept;
        kept.sort();
        assert_eq!(
            kept,
            ["2025-04-11", "2026-12-29", "2026-12-30", "2026-12-31"]
        );
        assert_eq!(deleted.len(), 730 - 4);
    }

    #[test]
    fn urls_become_tool_settings_without_exposing_the_password() {
        let s = ConnSpec::from_url("postgres://lab%40user:p%40s+s@db.example:6543/cryo").unwrap();
        assert_eq!(
            (
                s.user.as_str(),
                s.password.as_deref(),
                s.port,
                s.database.as_str()
            ),
            ("lab@user", Some("p@s+s"), 6543, "cryo")
        );
        assert!(!format!("{s:?}").contains("p@ss"));
    }
}
