//! Taking a backup: a consistent snapshot, counted as dumped, written so a killed run leaves
//! nothing that looks finished.

use super::*;

pub(super) fn tool_version(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Row counts of every table in `public`, inside the given (snapshot) transaction.
pub(super) async fn table_counts(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, i64>, BackupError> {
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
pub(super) async fn bypass_rls(conn: &mut PgConnection) -> Result<bool, BackupError> {
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

pub(super) fn backup_id(database: &str, at: OffsetDateTime) -> String {
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
