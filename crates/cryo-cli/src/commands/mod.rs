pub mod backup;
pub mod config;
pub mod db;
pub mod model;
pub mod model_registry;
pub mod molecules;
pub mod protocol;
pub mod serve;
pub mod toxicity;
pub mod users;

use cryo_config::{LoadOptions, Resolved, Settings};
use std::path::PathBuf;

/// Load the layered configuration of this process.
pub fn load_settings(config: Option<PathBuf>) -> anyhow::Result<(Settings, Resolved)> {
    Ok(cryo_config::load(&LoadOptions::from_process(config))?)
}

/// Connect, apply pending migrations (when `database.auto_migrate`) and seed reference data:
/// what `serve` and the data commands need before they touch tables.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<cryo_db::Database> {
    let db = cryo_db::connect(&settings.database).await?;
    let ready = async {
        if settings.database.auto_migrate {
            let store = backup::store(settings)?;
            let guard = settings.database.backup_before_migrate.then_some((&store, &db.spec));
            let done = cryo_db::migrate::apply(&db.pool, &cryo_db::migrate::MIGRATOR, None, guard).await?;
            if let Some(b) = &done.backup {
                tracing::info!(backup = %b.id, dir = %store.dir.display(), "pre-migration backup taken");
            }
            tracing::info!("database schema is current");
        } else {
            let (ok, newer) = cryo_db::migrate::compatible_with(&db.pool).await?;
            if !ok {
                anyhow::bail!("the database has pending migrations; run `cryoprotect db migrate`");
            }
            if !newer.is_empty() {
                tracing::warn!(
                    ?newer,
                    "the database has migrations newer than this release (expand-only, so compatible)"
                );
            }
        }
        let n = cryo_app::molecules::seed_reference_data(&db.pool)
            .await
            .map_err(|e| anyhow::anyhow!("seeding reference data: {e}"))?;
        tracing::info!(new_reference_molecules = n, "reference data seeded");
        anyhow::Ok(())
    }
    .await;
    match ready {
        Ok(()) => Ok(db),
        Err(e) => {
            db.shutdown().await?;
            Err(e)
        }
    }
}
