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

/// The folder backups live in.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    /// Folder with pg_dump and pg_restore.
    pub bin_dir: PathBuf,
    /// When set, new backups are encrypted at rest to this key (age, X25519), and encrypted
    /// backups are decrypted with it.
    pub key: Option<EncryptionKey>,
}

/// An age X25519 identity read from a key file (`AGE-SECRET-KEY-1…`, as `age-keygen` writes).
#[derive(Clone)]
pub struct EncryptionKey(std::sync::Arc<age::x25519::Identity>);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({})", self.recipient())
    }
}

impl EncryptionKey {
    pub fn generate() -> EncryptionKey {
        EncryptionKey(std::sync::Arc::new(age::x25519::Identity::generate()))
    }

    /// Reads the first identity line of an age key file (comments allowed).
    pub fn from_file(path: &Path) -> Result<EncryptionKey, BackupError> {
        let text = fs::read_to_string(path).map_err(|e| {
            BackupError::Refused(format!(
                "cannot read the backup key file {}: {e}",
                path.display()
            ))
        })?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| {
                BackupError::Refused(format!("{} holds no AGE-SECRET-KEY line", path.display()))
            })?;
        let identity = line.parse::<age::x25519::Identity>().map_err(|e| {
            BackupError::Refused(format!("{}: not an age key: {e}", path.display()))
        })?;
        Ok(EncryptionKey(std::sync::Arc::new(identity)))
    }

    /// The key file's text (secret: write it with mode 0600).
    pub fn to_file_contents(&self) -> String {
        use age::secrecy::ExposeSecret;
        format!(
            "# public key: {}\n{}\n",
            self.recipient(),
            self.0.to_string().expose_secret()
        )
    }

    /// The public half, recorded in manifests so an operator can tell which key a backup needs.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }
}

impl Store {
    /// The store for a configuration: its folder, the PostgreSQL tools, and the encryption key
    /// when one is configured.
    pub fn from_settings(settings: &cryo_config::BackupSettings) -> Result<Store, BackupError> {
        let bin_dir = crate::cluster::find_bin_dir(
            std::env::var_os("CRYOPROTECT_PG_BINDIR")
                .map(PathBuf::from)
                .as_deref(),
        )
        .unwrap_or_else(|_| PathBuf::from("/usr/bin"));
        let key = settings
            .encryption_key_file
            .as_deref()
            .map(EncryptionKey::from_file)
            .transpose()?;
        Ok(Store {
            dir: settings.dir.clone(),
            bin_dir,
            key,
        })
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.manifest.json"))
    }

    /// Valid backups (a manifest with outcome ok and its dump present), newest first.
    pub fn list(&self) -> Result<Vec<Manifest>, BackupError> {
        let mut out = Vec::new();
        if !self.dir.exists() {
            return Ok(out);
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".manifest.json") {
                continue;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let Ok(m) = serde_json::from_str::<Manifest>(&text) else {
                continue;
            };
            if m.outcome == "ok" && self.dir.join(&m.dump_file).is_file() {
                out.push(m);
            }
        }
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// The backup folder and the files in it that others than the owner may read (from before
    /// backups were written private, or changed by hand).
    pub fn exposed(&self) -> Result<Vec<PathBuf>, BackupError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        let open = |p: &Path| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
        let mut out: Vec<PathBuf> = std::iter::once(self.dir.clone())
            .chain(fs::read_dir(&self.dir)?.filter_map(|e| e.ok().map(|e| e.path())))
            .filter(|p| open(p))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Leftovers of interrupted backups.
    pub fn partials(&self) -> Result<Vec<PathBuf>, BackupError> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        Ok(fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "partial"))
            .collect())
    }

    pub fn get(&self, id: &str) -> Result<Manifest, BackupError> {
        let list = self.list()?;
        let found = if id == "latest" {
            list.into_iter().next()
        } else {
            list.into_iter().find(|m| m.id == id)
        };
        found.ok_or_else(|| BackupError::NotFound(id.to_string()))
    }

    fn tool(&self, name: &str) -> PathBuf {
        let in_bin = self.bin_dir.join(name);
        if in_bin.is_file() {
            in_bin
        } else {
            PathBuf::from(name)
        }
    }

    pub fn delete(&self, m: &Manifest) -> Result<(), BackupError> {
        // Manifest first: a half-deleted backup must not look valid.
        fs::remove_file(self.manifest_path(&m.id))?;
        let _ = fs::remove_file(self.dir.join(&m.dump_file));
        Ok(())
    }
}

fn tool_version(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Row counts of every table in `public`, inside the given (snapshot) transaction.
async fn table_counts(conn: &mut PgConnection) -> Result<BTreeMap<String, i64>, BackupError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for t in tables {
        // Identifier from the catalog, quoted; never user input.
        let sql = format!("SELECT count(*) FROM public.{}", quote_ident(&t));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        counts.insert(t, n);
    }
    Ok(counts)
}

/// Use the BYPASSRLS helper role when we can, so forced RLS hides no rows (superusers need not).
async fn bypass_rls(conn: &mut PgConnection) -> Result<bool, BackupError> {
    let (is_super, member): (bool, bool) = sqlx::query_as(
        "SELECT rolsuper, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER')
         FROM pg_roles WHERE rolname = current_user",
    )
    .bind(RLS_BYPASS_ROLE)
    .fetch_one(&mut *conn)
    .await?;
    if !is_super && member {
        conn.execute("SET LOCAL ROLE cryoprotect_rls_definer")
            .await?;
        return Ok(true);
    }
    Ok(false)
}

fn backup_id(database: &str, at: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = at.format(&fmt).unwrap_or_default();
    let safe: String = database
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "{safe}-{stamp}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    )
}

/// Take a backup now.
pub async fn create(
    pool: &PgPool,
    spec: &ConnSpec,
    store: &Store,
    label: Option<String>,
) -> Result<Manifest, BackupError> {
    private_dir(&store.dir)?;
    let started_at = OffsetDateTime::now_utc();
    let id = backup_id(&spec.database, started_at);
    let dump_file = if store.key.is_some() {
        format!("{id}.dump.zst.age")
    } else {
        format!("{id}.dump.zst")
    };
    let key = store.key.clone();
    let final_path = store.dir.join(&dump_file);
    let partial = store.dir.join(format!("{dump_file}.partial"));

    let mut tx = pool.begin().await?;
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let bypass = bypass_rls(&mut tx).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *tx)
        .await?;
    let migration_version: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN to_regclass('public._sqlx_migrations') IS NOT NULL
                THEN (SELECT max(version) FROM public._sqlx_migrations WHERE success) END",
    )
    .fetch_one(&mut *tx)
    .await?;
    let table_counts = table_counts(&mut tx).await?;

    let pg_dump = store.tool("pg_dump");
    let mut cmd = Command::new(&pg_dump);
    spec.apply(&mut cmd);
    cmd.args(["--format=custom", "--compress=0", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if bypass {
        cmd.arg(format!("--role={RLS_BYPASS_ROLE}"));
    }
    let partial_for_task = partial.clone();
    // pg_dump → zstd → file, hashing what is written; off the async threads.
    let written = tokio::task::spawn_blocking(move || -> Result<(u64, String), BackupError> {
        let mut child = cmd.spawn().map_err(|e| BackupError::Tool {
            tool: "pg_dump",
            message: e.to_string(),
        })?;
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let file = private_file(&partial_for_task)?;
        let mut hashing = HashingWriter {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        };
        match &key {
            Some(key) => {
                let recipient = key.0.to_public();
                let encryptor = age::Encryptor::with_recipients(std::iter::once(
                    &recipient as &dyn age::Recipient,
                ))
                .map_err(|e| BackupError::Refused(format!("encryption: {e}")))?;
                let mut sealed = encryptor.wrap_output(&mut hashing)?;
                let mut encoder = zstd::stream::write::Encoder::new(&mut sealed, 3)?;
                std::io::copy(&mut BufReader::new(stdout), &mut encoder)?;
                encoder.finish()?;
                sealed.finish()?;
            }
            None => {
                let mut encoder = zstd::stream::write::Encoder::new(&mut hashing, 3)?;
                std::io::copy(&mut BufReader::new(stdout), &mut encoder)?;
                encoder.finish()?;
            }
        }
        let status = child.wait()?;
        let stderr = err_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(BackupError::Tool {
                tool: "pg_dump",
                message: format!("{status}: {}", stderr.trim()),
            });
        }
        hashing.inner.sync_all()?;
        Ok((hashing.bytes, hex::encode(hashing.hasher.finalize())))
    })
    .await
    .map_err(|e| BackupError::Tool {
        tool: "pg_dump",
        message: e.to_string(),
    })?;
    tx.rollback().await?;
    let (size_bytes, sha256) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, &final_path)?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        id: id.clone(),
        label,
        pinned: false,
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        server_version,
        pg_dump_version: tool_version(&pg_dump),
        migration_version,
        database: spec.database.clone(),
        started_at,
        finished_at: OffsetDateTime::now_utc(),
        dump_file,
        compression: "zstd".into(),
        encryption: store
            .key
            .as_ref()
            .map(|k| format!("age-x25519:{}", k.recipient())),
        size_bytes,
        sha256,
        table_counts,
        outcome: "ok".into(),
    };
    write_atomically(
        &store.manifest_path(&id),
        serde_json::to_string_pretty(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(manifest)
}

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

/// Check the dump's checksum and size against the manifest.
pub fn check_integrity(store: &Store, m: &Manifest) -> Result<(), BackupError> {
    let path = store.dir.join(&m.dump_file);
    let mut f = File::open(&path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let corrupt = |reason: String| BackupError::Corrupt {
        id: m.id.clone(),
        reason,
    };
    if size != m.size_bytes {
        return Err(corrupt(format!(
            "size {size} bytes, manifest says {}",
            m.size_bytes
        )));
    }
    let sum = hex::encode(hasher.finalize());
    if sum != m.sha256 {
        return Err(corrupt(format!(
            "SHA-256 {sum} does not match the manifest's {}",
            m.sha256
        )));
    }
    Ok(())
}

/// Decompress a dump into `pg_restore` connected to `target`.
fn pg_restore_into(store: &Store, m: &Manifest, target: &ConnSpec) -> Result<(), BackupError> {
    let mut cmd = Command::new(store.tool("pg_restore"));
    target.apply(&mut cmd);
    // Objects become the restoring role's; the policy helpers' ownership by the BYPASSRLS role
    // is re-established by re-applying the policy set (which a non-superuser can do, whereas
    // replaying `ALTER … OWNER TO` from the dump would need privileges it lacks).
    cmd.args([
        "--exit-on-error",
        "--no-password",
        "--single-transaction",
        "--no-owner",
    ])
    .arg(format!("--dbname={}", target.database))
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| BackupError::Tool {
        tool: "pg_restore",
        message: e.to_string(),
    })?;
    let mut stdin = child.stdin.take().expect("piped");
    let file = open_dump(store, m)?;
    let copied =
        zstd::stream::read::Decoder::new(file).and_then(|mut d| std::io::copy(&mut d, &mut stdin));
    drop(stdin);
    let out = child.wait_with_output()?;
    // pg_restore's own failure explains a broken pipe; report it first.
    if !out.status.success() {
        return Err(BackupError::Tool {
            tool: "pg_restore",
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    copied.map_err(|e| BackupError::Corrupt {
        id: m.id.clone(),
        reason: format!("decompression failed: {e}"),
    })?;
    Ok(())
}

/// The dump's compressed stream: the file itself, or its decryption with the store's key.
fn open_dump(store: &Store, m: &Manifest) -> Result<Box<dyn Read + Send>, BackupError> {
    let file = File::open(store.dir.join(&m.dump_file))?;
    let Some(needed) = &m.encryption else {
        return Ok(Box::new(file));
    };
    let key = store.key.as_ref().ok_or_else(|| {
        BackupError::Refused(format!(
            "backup {} is encrypted ({needed}); set backup.encryption_key_file to its key",
            m.id
        ))
    })?;
    let decryptor =
        age::Decryptor::new(BufReader::new(file)).map_err(|e| BackupError::Corrupt {
            id: m.id.clone(),
            reason: format!("not a readable age file: {e}"),
        })?;
    let reader = decryptor
        .decrypt(std::iter::once(&*key.0 as &dyn age::Identity))
        .map_err(|e| {
            BackupError::Refused(format!(
                "cannot decrypt backup {} ({needed}) with the configured key: {e}",
                m.id
            ))
        })?;
    Ok(Box::new(reader))
}

async fn counts_in(spec: &ConnSpec) -> Result<BTreeMap<String, i64>, BackupError> {
    use sqlx::Connection;
    let mut conn = PgConnection::connect_with(&spec.options()).await?;
    let mut tx = conn.begin().await?;
    bypass_rls(&mut tx).await?;
    let counts = table_counts(&mut tx).await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(counts)
}

/// Restore a dump into a new, empty database named `name` on the server of `spec`.
async fn restore_into_new(
    admin: &mut PgConnection,
    store: &Store,
    m: &Manifest,
    spec: &ConnSpec,
    name: &str,
) -> Result<(), BackupError> {
    admin
        .execute(AssertSqlSafe(format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(name)
        )))
        .await?;
    let target = spec.with_database(name);
    let (store2, m2, t2) = (store.clone(), m.clone(), target.clone());
    tokio::task::spawn_blocking(move || pg_restore_into(&store2, &m2, &t2))
        .await
        .map_err(|e| BackupError::Tool {
            tool: "pg_restore",
            message: e.to_string(),
        })??;
    let restored = counts_in(&target).await?;
    if restored != m.table_counts {
        let diffs: Vec<String> = m
            .table_counts
            .iter()
            .filter(|(t, n)| restored.get(*t) != Some(n))
            .map(|(t, n)| format!("{t}: {n} in manifest, {:?} restored", restored.get(t)))
            .collect();
        return Err(BackupError::Mismatch {
            id: m.id.clone(),
            reason: diffs.join("; "),
        });
    }
    Ok(())
}

async fn drop_database(admin: &mut PgConnection, name: &str) {
    let _ = admin
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        )))
        .await;
}

/// Checksums, then a real restore into a scratch database and a comparison of per-table row
/// counts with the manifest. The scratch database is dropped afterwards, pass or fail.
pub async fn verify(store: &Store, spec: &ConnSpec, id: &str) -> Result<Manifest, BackupError> {
    use sqlx::Connection;
    let m = store.get(id)?;
    check_integrity(store, &m)?;
    let mut admin = PgConnection::connect_with(&spec.options()).await?;
    let scratch = format!("cryo_verify_{}", uuid::Uuid::new_v4().simple());
    let result = restore_into_new(&mut admin, store, &m, spec, &scratch).await;
    drop_database(&mut admin, &scratch).await;
    admin.close().await?;
    result.map(|_| m)
}

/// Restores backup `id` into a scratch database, hands its connection details to `rehearse`,
/// and drops the scratch database afterwards, whatever happened (the staging copy of
/// `db migrate --check-on-copy`).
pub async fn with_restored_copy<T>(
    store: &Store,
    spec: &ConnSpec,
    id: &str,
    rehearse: impl AsyncFnOnce(ConnSpec) -> T,
) -> Result<T, BackupError> {
    use sqlx::Connection;
    let m = store.get(id)?;
    check_integrity(store, &m)?;
    let mut admin = PgConnection::connect_with(&spec.options()).await?;
    let scratch = format!("cryo_rehearsal_{}", uuid::Uuid::new_v4().simple());
    let result = match restore_into_new(&mut admin, store, &m, spec, &scratch).await {
        Ok(()) => Ok(rehearse(spec.with_database(&scratch)).await),
        Err(e) => Err(e),
    };
    drop_database(&mut admin, &scratch).await;
    admin.close().await?;
    result
}

/// What a restore will do or did.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    pub backup: String,
    pub target: String,
    pub target_has_tables: bool,
    pub safety_backup: Option<String>,
    pub kept_old_database_as: Option<String>,
    pub rows_restored: i64,
}

/// Restore `id` into `target`: refuses a target that has tables unless `force`, and then takes a
/// safety backup of it first; restores into a new database and swaps names only after the
/// restore succeeded and its row counts match, so a failed restore leaves the old one serving.
/// `prepare` brings the restored database forward before the swap (migrations, then the
/// policies re-applied: the caller's, so this module needs neither).
pub async fn restore<F, Fut>(
    store: &Store,
    spec: &ConnSpec,
    id: &str,
    force: bool,
    dry_run: bool,
    prepare: F,
) -> Result<RestorePlan, BackupError>
where
    F: FnOnce(ConnSpec) -> Fut,
    Fut: std::future::Future<Output = Result<(), BackupError>>,
{
    use sqlx::Connection;
    let m = store.get(id)?;
    check_integrity(store, &m)?;
    let maintenance = spec.with_database("postgres");
    let mut admin = PgConnection::connect_with(&maintenance.options()).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&spec.database)
            .fetch_one(&mut admin)
            .await?;
    let has_tables = exists && !counts_in(spec).await?.is_empty();
    let mut plan = RestorePlan {
        backup: m.id.clone(),
        target: spec.database.clone(),
        target_has_tables: has_tables,
        safety_backup: None,
        kept_old_database_as: None,
        rows_restored: m.table_counts.values().sum(),
    };
    if dry_run {
        return Ok(plan);
    }
    if has_tables && !force {
        return Err(BackupError::Refused(format!(
            "database `{}` is not empty; pass --force to replace it (a safety backup is taken first)",
            spec.database
        )));
    }
    if has_tables {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(spec.options())
            .await?;
        let safety = create(
            &pool,
            spec,
            store,
            Some(format!("safety copy before restoring {}", m.id)),
        )
        .await;
        pool.close().await;
        plan.safety_backup = Some(safety?.id);
    }
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let fresh = format!("{}_restore_{stamp}", spec.database);
    if let Err(e) = restore_into_new(&mut admin, store, &m, spec, &fresh).await {
        drop_database(&mut admin, &fresh).await;
        return Err(e);
    }
    if let Err(e) = prepare(spec.with_database(&fresh)).await {
        drop_database(&mut admin, &fresh).await;
        return Err(e);
    }
    if exists {
        let old = format!("{}_pre_restore_{stamp}", spec.database);
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
            .bind(&spec.database)
            .execute(&mut admin)
            .await?;
        admin
            .execute(AssertSqlSafe(format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&spec.database),
                quote_ident(&old)
            )))
            .await?;
        plan.kept_old_database_as = Some(old);
    }
    admin
        .execute(AssertSqlSafe(format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&fresh),
            quote_ident(&spec.database)
        )))
        .await?;
    admin.close().await?;
    Ok(plan)
}

/// Grandfather-father-son retention.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
    pub yearly: usize,
    /// Backups older than this are removed even if a GFS slot would keep them (days).
    pub max_age_days: Option<i64>,
}

/// Maps a time to the period (year, index within year) it falls in.
type PeriodOf = fn(OffsetDateTime) -> (i32, u32);

/// Which backups to keep and which to delete at `now`. Labelled and pinned backups are always
/// kept. For each granularity the newest backup of each of the most recent N periods that have
/// one is kept.
pub fn plan_prune(
    backups: &[Manifest],
    policy: &RetentionPolicy,
    now: OffsetDateTime,
) -> (Vec<String>, Vec<String>) {
    let mut sorted: Vec<&Manifest> = backups.iter().collect();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.started_at));
    let mut keep = std::collections::BTreeSet::new();
    let periods: [(usize, PeriodOf); 4] = [
        (policy.daily, |t| (t.year(), t.ordinal() as u32)),
        (policy.weekly, |t| {
            let (y, w, _) = t.to_iso_week_date();
            (y, w as u32)
        }),
        (policy.monthly, |t| (t.year(), t.month() as u32)),
        (policy.yearly, |t| (t.year(), 0)),
    ];
    for (count, period_of) in periods {
        let mut seen = Vec::new();
        for m in &sorted {
            let p = period_of(m.started_at);
            if !seen.contains(&p) {
                if seen.len() == count {
                    break;
                }
                seen.push(p);
                keep.insert(m.id.clone());
            }
        }
    }
    let too_old = |m: &Manifest| {
        policy
            .max_age_days
            .is_some_and(|d| now - m.started_at > time::Duration::days(d))
    };
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for m in sorted {
        let protected = m.pinned || m.label.is_some();
        if protected || (keep.contains(&m.id) && !too_old(m)) {
            kept.push(m.id.clone());
        } else {
            deleted.push(m.id.clone());
        }
    }
    (kept, deleted)
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
        let policy = RetentionPolicy {
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 2,
            max_age_days: None,
        };
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
        let policy = RetentionPolicy {
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 2,
            max_age_days: Some(90),
        };
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

/// What a table-level restore did (or would do) to one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableRestore {
    pub table: String,
    pub rows_before: i64,
    pub rows_restored: i64,
}

/// Puts the rows of `tables` back as they were in backup `id`, in the live database, in one
/// transaction; every other table is left alone. The backup must be at the database's schema
/// version, and a table that rows of an unnamed table still reference must be restored together
/// with it (name both), so no reference is cut or cascaded away. The backup is restored into a
/// scratch database first and the rows are streamed from there with COPY.
pub async fn restore_tables(
    pool: &PgPool,
    store: &Store,
    spec: &ConnSpec,
    id: &str,
    tables: &[String],
    dry_run: bool,
) -> Result<Vec<TableRestore>, BackupError> {
    use crate::integrity::EXPECTED_FKS;
    use sqlx::Connection;
    let m = store.get(id)?;
    let known: Vec<&String> = m.table_counts.keys().collect();
    if let Some(bad) = tables.iter().find(|t| !m.table_counts.contains_key(*t)) {
        return Err(BackupError::Refused(format!(
            "backup {} has no table `{bad}` (it has: {})",
            m.id,
            known
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    if current != m.migration_version {
        return Err(BackupError::Refused(format!(
            "backup {} is at migration {:?} and the database at {current:?}: tables may differ; restore the whole backup into a new database instead",
            m.id, m.migration_version
        )));
    }
    // Tables that reference a named one but are not named themselves must hold no such reference.
    let mut tx = pool.begin().await?;
    tx.execute("SET LOCAL ROLE cryoprotect_rls_definer").await?;
    for fk in EXPECTED_FKS.iter().filter(|f| {
        tables.iter().any(|t| t == f.references) && !tables.iter().any(|t| t == f.table)
    }) {
        let sql = format!(
            "SELECT count(*) FROM public.{} WHERE {} IS NOT NULL",
            quote_ident(fk.table),
            quote_ident(fk.column)
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Err(BackupError::Refused(format!(
                "{n} rows of `{}` reference `{}`; restore them together (--tables {},{})",
                fk.table, fk.references, fk.references, fk.table
            )));
        }
    }
    tx.rollback().await?;
    // Parents before children when inserting; the reverse when deleting.
    let mut order: Vec<&String> = Vec::new();
    let mut left: Vec<&String> = tables.iter().collect();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|t| {
                !EXPECTED_FKS.iter().any(|f| {
                    f.table == t.as_str()
                        && f.references != f.table
                        && left.iter().any(|o| o.as_str() == f.references)
                })
            })
            .unwrap_or(0);
        order.push(left.remove(ready));
    }
    check_integrity(store, &m)?;
    let restored = with_restored_copy(store, spec, id, async |copy: ConnSpec| -> Result<Vec<TableRestore>, BackupError> {
        let mut source = PgConnection::connect_with(&copy.options()).await?;
        let mut source_tx = source.begin().await?;
        source_tx.execute("SET LOCAL ROLE cryoprotect_rls_definer").await?;
        let mut target = pool.begin().await?;
        let mut report = Vec::new();
        for t in order.iter().rev() {
            let q = quote_ident(t);
            // The owner bypasses row-level security only while FORCE is off; the lock this takes
            // keeps everyone else out until commit, when FORCE is back.
            target.execute(AssertSqlSafe(format!("ALTER TABLE public.{q} NO FORCE ROW LEVEL SECURITY"))).await?;
            let before: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM public.{q}"))).fetch_one(&mut *target).await?;
            target.execute(AssertSqlSafe(format!("DELETE FROM public.{q}"))).await?;
            report.push(TableRestore { table: t.to_string(), rows_before: before, rows_restored: 0 });
        }
        for t in &order {
            let q = quote_ident(t);
            let mut rows = source_tx.copy_out_raw(&format!("COPY (SELECT * FROM public.{q}) TO STDOUT (FORMAT binary)")).await?;
            let mut sink = target.copy_in_raw(&format!("COPY public.{q} FROM STDIN (FORMAT binary)")).await?;
            while let Some(chunk) = futures_util::StreamExt::next(&mut rows).await {
                sink.send(chunk?).await?;
            }
            drop(rows);
            let n = sink.finish().await? as i64;
            if let Some(r) = report.iter_mut().find(|r| r.table == t.as_str()) {
                r.rows_restored = n;
            }
            target.execute(AssertSqlSafe(format!("ALTER TABLE public.{q} FORCE ROW LEVEL SECURITY"))).await?;
        }
        target.execute("ALTER TABLE public.audit_log NO FORCE ROW LEVEL SECURITY").await?;
        sqlx::query("INSERT INTO audit_log (actor_role, action, details) VALUES ('owner', 'restore_tables', $1)")
            .bind(serde_json::json!({"backup": id, "tables": &report}))
            .execute(&mut *target)
            .await?;
        target.execute("ALTER TABLE public.audit_log FORCE ROW LEVEL SECURITY").await?;
        if dry_run {
            target.rollback().await?;
        } else {
            target.commit().await?;
        }
        source_tx.rollback().await?;
        Ok(report)
    })
    .await??;
    Ok(restored)
}
