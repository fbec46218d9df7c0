//! `cryoprotect backup create|list|verify|pin|prune` and `cryoprotect restore`.

use super::load_settings;
use clap::{Args, Subcommand};
use cryo_config::Settings;
use cryo_db::backup::{self, BackupError, ConnSpec, Manifest, RetentionPolicy, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now (pg_dump, zstd, manifest with checksums and row counts).
    Create {
        /// A label; labelled backups are never pruned.
        #[arg(long)]
        label: Option<String>,
    },
    /// List valid backups, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check a backup's checksum, then restore it into a scratch database and compare row counts.
    Verify { id: String },
    /// Pin a backup so pruning never deletes it (`--unpin` to release it again).
    Pin {
        id: String,
        #[arg(long)]
        unpin: bool,
    },
    /// Delete backups outside the retention policy (grandfather-father-son; pinned, labelled
    /// and the newest `backup.keep_min` stay), and what interrupted backups left behind.
    Prune {
        #[arg(long)]
        dry_run: bool,
        /// Also drop the databases `restore --force` kept (`<db>_pre_restore_<time>`) once
        /// older than this many days.
        #[arg(long, value_name = "DAYS")]
        restored_older_than: Option<u32>,
    },
    /// Write a new encryption key file (age X25519, mode 0600) for backup.encryption_key_file.
    /// Keep a copy somewhere else: without it, encrypted backups cannot be restored.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup id, or `latest`.
    #[arg(default_value = "latest")]
    id: String,
    /// Restore into this database instead of the configured one.
    #[arg(long)]
    target: Option<String>,
    /// Replace a database that has tables (a safety backup of it is taken first).
    #[arg(long)]
    force: bool,
    /// Say what would happen, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Put back only these tables' rows, in place, in one transaction (comma-separated); the
    /// rest of the database is left as it is.
    #[arg(long, value_delimiter = ',', conflicts_with = "force")]
    tables: Vec<String>,
}

pub(super) fn store(settings: &Settings) -> anyhow::Result<Store> {
    Ok(Store::from_settings(&settings.backup)?)
}

fn print_manifest(m: &Manifest) {
    let rows: i64 = m.table_counts.values().sum();
    println!(
        "{}  {}  {:>10} bytes  {:>8} rows  migration {}  {}",
        m.id,
        m.started_at,
        m.size_bytes,
        rows,
        m.migration_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        m.label.as_deref().unwrap_or("")
    );
}

pub async fn run(config: Option<PathBuf>, cmd: BackupCommand) -> anyhow::Result<ExitCode> {
    if let BackupCommand::Keygen { out } = &cmd {
        return keygen(out);
    }
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let store = store(&settings)?;
    match cmd {
        BackupCommand::Keygen { .. } => unreachable!("handled before the configuration is loaded"),
        BackupCommand::List { json } => {
            let list = store.list()?;
            let exposed = store.exposed()?;
            if !exposed.is_empty() {
                eprintln!(
                    "warning: {} backup path(s) readable by other users (backups hold password hashes); run `chmod -R go= {}`:",
                    exposed.len(),
                    store.dir.display()
                );
                for p in &exposed {
                    eprintln!("  {}", p.display());
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                list.iter().for_each(print_manifest);
            }
            let leftovers = store.leftovers(std::time::Duration::ZERO)?;
            if !leftovers.is_empty() {
                let bytes: u64 = leftovers
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum();
                eprintln!(
                    "{} file(s), {bytes} bytes, left by interrupted backups (not backups; `backup prune` removes them once older than {} s):",
                    leftovers.len(),
                    backup::Store::sweep_age(&list).as_secs()
                );
                for p in &leftovers {
                    eprintln!("  {}", p.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Prune {
            dry_run,
            restored_older_than,
        } => {
            let policy = RetentionPolicy::from_settings(&settings.backup);
            let list = store.list()?;
            let (kept, deleted) =
                backup::plan_prune(&list, &policy, time::OffsetDateTime::now_utc());
            for id in &deleted {
                println!("{} {id}", if dry_run { "would delete" } else { "deleted" });
                if !dry_run && let Some(m) = list.iter().find(|m| &m.id == id) {
                    store.delete(m)?;
                }
            }
            println!(
                "{} kept, {} {}",
                kept.len(),
                deleted.len(),
                if dry_run { "to delete" } else { "deleted" }
            );
            let leftovers = if dry_run {
                store.leftovers(backup::Store::sweep_age(&list))?
            } else {
                store.sweep()?
            };
            for p in &leftovers {
                let verb = if dry_run { "would remove" } else { "removed" };
                println!("{verb} leftover {}", p.display());
            }
            if !dry_run {
                match cryo_db::connect(&settings.database).await {
                    Ok(db) => {
                        for name in backup::drop_scratch_databases(&db.spec).await? {
                            println!("dropped scratch database {name}");
                        }
                        if let Some(days) = restored_older_than {
                            let age = i64::from(days) * 86_400;
                            for name in backup::drop_pre_restore_copies(&db.spec, age).await? {
                                println!("dropped the pre-restore copy {name}");
                            }
                        }
                    }
                    Err(e) => eprintln!("warning: scratch databases not checked: {e}"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Create { label } => {
            let db = cryo_db::connect(&settings.database).await?;
            let made = backup::create(&db.pool, &db.spec, &store, label).await;
            db.shutdown().await?;
            let m = made?;
            println!(
                "backup {} written to {}",
                m.id,
                store.dir.join(&m.dump_file).display()
            );
            print_manifest(&m);
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Pin { id, unpin } => {
            let m = store.set_pinned(&id, !unpin)?;
            println!(
                "backup {} {}",
                m.id,
                if m.pinned {
                    "pinned: never pruned"
                } else {
                    "unpinned"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Verify { id } => {
            let db = cryo_db::connect(&settings.database).await?;
            let checked = backup::verify(&store, &db.spec, &id).await;
            db.shutdown().await?;
            match checked {
                Ok(m) => {
                    println!(
                        "backup {} verified: checksum ok, restored, {} tables' row counts match",
                        m.id,
                        m.table_counts.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("verification FAILED: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

pub async fn restore(config: Option<PathBuf>, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let store = store(&settings)?;
    let db = cryo_db::connect(&settings.database).await?;
    let spec = match &args.target {
        Some(url) => ConnSpec::from_url(url)?,
        None => db.spec.clone(),
    };
    if !args.tables.is_empty() {
        let id = if args.id == "latest" {
            store
                .list()?
                .into_iter()
                .next()
                .map(|m| m.id)
                .ok_or_else(|| anyhow::anyhow!("no backups in {}", store.dir.display()))?
        } else {
            args.id.clone()
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(spec.options())
            .await?;
        let outcome =
            backup::restore_tables(&pool, &store, &spec, &id, &args.tables, args.dry_run).await;
        pool.close().await;
        db.shutdown().await?;
        for t in outcome? {
            println!(
                "{}{}: {} rows replaced by {} rows from backup {id}",
                if args.dry_run { "would restore " } else { "" },
                t.table,
                t.rows_before,
                t.rows_restored
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Our own connections to the target would be cut by the swap: close them first.
    db.pool.close().await;
    if let Some(api) = &db.api {
        api.close().await;
    }
    // The restored copy is migrated to this binary's schema and its policies re-applied
    // before it replaces the database.
    let prepare = |target: ConnSpec| async move {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(target.options())
            .await
            .map_err(BackupError::Sqlx)?;
        let done = match cryo_db::migrate::run(&pool).await {
            Ok(_) => cryo_db::rls::apply(&pool).await.map(|_| ()),
            Err(e) => Err(e),
        };
        pool.close().await;
        done.map_err(BackupError::Db)
    };
    let outcome = backup::restore(&store, &spec, &args.id, args.force, args.dry_run, prepare).await;
    db.shutdown().await?;
    let plan = outcome?;
    if args.dry_run {
        println!(
            "would restore {} ({} rows) into `{}`{}",
            plan.backup,
            plan.rows_restored,
            plan.target,
            if plan.target_has_tables {
                ", replacing its current contents after a safety backup"
            } else {
                ""
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "restored {} into `{}` ({} rows)",
        plan.backup, plan.target, plan.rows_restored
    );
    if let Some(s) = plan.safety_backup {
        println!("safety backup of the previous contents: {s}");
    }
    if let Some(old) = plan.kept_old_database_as {
        println!("previous database kept as `{old}` (drop it when satisfied)");
    }
    Ok(ExitCode::SUCCESS)
}

fn keygen(out: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let key = cryo_db::backup::EncryptionKey::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create {} (it must not exist yet): {e}",
                out.display()
            )
        })?;
    file.write_all(key.to_file_contents().as_bytes())?;
    file.sync_all()?;
    println!("wrote {}; public key {}", out.display(), key.recipient());
    println!(
        "set CRYOPROTECT_BACKUP_ENCRYPTION_KEY_FILE={} and keep a copy of the file off this machine",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
