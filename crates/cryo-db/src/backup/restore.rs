//! Checking, verifying (by a real restore into a scratch database) and restoring backups.

use super::*;

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
pub(super) fn pg_restore_into(
    store: &Store,
    m: &Manifest,
    target: &ConnSpec,
) -> Result<(), BackupError> {
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
pub(super) fn open_dump(store: &Store, m: &Manifest) -> Result<Box<dyn Read + Send>, BackupError> {
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

pub(super) async fn counts_in(spec: &ConnSpec) -> Result<BTreeMap<String, i64>, BackupError> {
    use sqlx::Connection;
    let mut conn = PgConnection::connect_with(&spec.options()).await?;
    let mut tx = conn.begin().await?;
    bypass_rls(&mut tx).await?;
    let counts = table_counts(&mut tx).await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(counts)
}

async fn analyze(spec: &ConnSpec) -> Result<(), BackupError> {
    use sqlx::Connection;
    let mut conn = PgConnection::connect_with(&spec.options()).await?;
    conn.execute("ANALYZE").await?;
    conn.close().await?;
    Ok(())
}

/// Restore a dump into a new, empty database named `name` on the server of `spec`.
pub(super) async fn restore_into_new(
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

const VERIFY_PREFIX: &str = "cryo_verify_";
const REHEARSAL_PREFIX: &str = "cryo_rehearsal_";
/// Scratch databases younger than this are never swept: a verify or restore may be filling one.
const SCRATCH_SWEEP_AGE_SECS: i64 = 3600;

/// The prefix of the databases a restore of `database` makes (`tag`: `restore` for the copy
/// being filled, `pre_restore` for the replaced database it keeps), followed by the Unix time.
/// The database's name is shortened so prefix and time fit PostgreSQL's 63 bytes: a name cut
/// by the server would lose its time, and with it what tells a fresh copy from a stale one.
pub fn copy_prefix(database: &str, tag: &str) -> String {
    const NAME_BYTES: usize = 63;
    const TIME_DIGITS: usize = 10;
    let room = NAME_BYTES.saturating_sub(tag.len() + 2 + TIME_DIGITS);
    let mut cut = room.min(database.len());
    while !database.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{tag}_", &database[..cut])
}

/// A scratch database's name: its prefix, the Unix time it was made, and a random part.
fn scratch_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{prefix}{}_{}",
        OffsetDateTime::now_utc().unix_timestamp(),
        &id[..8]
    )
}

/// The Unix time in a scratch database's name (`<prefix><time>[_…]`); 0 for names from before
/// the time was part of them.
fn scratch_made_at(rest: &str) -> i64 {
    rest.split('_')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Drops the scratch databases killed verifies, rehearsals and restores left on the server of
/// `spec` (`cryo_verify_*`, `cryo_rehearsal_*`, `<database>_restore_*`): those made over an
/// hour ago that nobody is connected to (DROP without FORCE, so one in use stays). Never the
/// `<database>_pre_restore_*` copies `restore --force` keeps on purpose. Returns what went.
pub async fn drop_scratch_databases(spec: &ConnSpec) -> Result<Vec<String>, BackupError> {
    let restore = copy_prefix(&spec.database, "restore");
    drop_databases_made_before(
        spec,
        &[VERIFY_PREFIX, REHEARSAL_PREFIX, &restore],
        SCRATCH_SWEEP_AGE_SECS,
    )
    .await
}

/// Drops the copies `restore --force` kept of the database it replaced
/// (`<database>_pre_restore_<time>`) once older than `min_age_secs` and unused.
pub async fn drop_pre_restore_copies(
    spec: &ConnSpec,
    min_age_secs: i64,
) -> Result<Vec<String>, BackupError> {
    let kept = copy_prefix(&spec.database, "pre_restore");
    drop_databases_made_before(spec, &[&kept], min_age_secs).await
}

/// Drops the databases named `<prefix><unix time>…` made over `min_age_secs` ago that nobody
/// is connected to.
async fn drop_databases_made_before(
    spec: &ConnSpec,
    prefixes: &[&str],
    min_age_secs: i64,
) -> Result<Vec<String>, BackupError> {
    use sqlx::Connection;
    let mut admin = PgConnection::connect_with(&spec.options()).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database d
         WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) p WHERE starts_with(d.datname, p))",
    )
    .bind(prefixes)
    .fetch_all(&mut admin)
    .await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut dropped = Vec::new();
    for name in names {
        let rest = prefixes
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or_default();
        if now - scratch_made_at(rest) < min_age_secs {
            continue;
        }
        let drop = AssertSqlSafe(format!("DROP DATABASE IF EXISTS {}", quote_ident(&name)));
        match admin.execute(drop).await {
            Ok(_) => dropped.push(name),
            Err(e) => tracing::info!(database = %name, error = %e, "database kept (in use)"),
        }
    }
    admin.close().await?;
    Ok(dropped)
}

pub(super) async fn drop_database(admin: &mut PgConnection, name: &str) {
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
    let scratch = scratch_name(VERIFY_PREFIX);
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
    let scratch = scratch_name(REHEARSAL_PREFIX);
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
    let fresh = format!("{}{stamp}", copy_prefix(&spec.database, "restore"));
    if let Err(e) = restore_into_new(&mut admin, store, &m, spec, &fresh).await {
        drop_database(&mut admin, &fresh).await;
        return Err(e);
    }
    if let Err(e) = prepare(spec.with_database(&fresh)).await {
        drop_database(&mut admin, &fresh).await;
        return Err(e);
    }
    // pg_restore leaves no planner statistics: the first queries after a restore would be
    // planned blind until autovacuum came round.
    if let Err(e) = analyze(&spec.with_database(&fresh)).await {
        drop_database(&mut admin, &fresh).await;
        return Err(e);
    }
    if exists {
        let old = format!("{}{stamp}", copy_prefix(&spec.database, "pre_restore"));
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
