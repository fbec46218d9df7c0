//! `cryoprotect model export|import`: moving registered model versions between installations as
//! one file (the artefact's envelope and checksummed body). Export reads as service_role; import
//! writes as the owning user, so row-level security applies as it would through the API.

use anyhow::{Context, bail};
use clap::Args;
use cryo_db::Identity;
use cryo_db::repo::models::{self as repo, VersionRef};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model's id.
    model: Uuid,
    /// Where to write the model file.
    file: PathBuf,
    /// Version number (default: the production version).
    #[arg(long)]
    version: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `model export` or `model train`.
    file: PathBuf,
    /// The account that will own the imported version (e-mail).
    #[arg(long)]
    owner: String,
    /// Add the version to this model; without it a new model is registered.
    #[arg(long)]
    model: Option<Uuid>,
    /// Name of the new model (default: its property).
    #[arg(long, conflicts_with = "model")]
    name: Option<String>,
    /// The property type the new model predicts (default: the file's target, which for a
    /// model trained from a file is a column name).
    #[arg(long, conflicts_with = "model")]
    property: Option<String>,
}

pub async fn export(config: Option<PathBuf>, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (settings, _) = super::load_settings(config)?;
    let db = super::prepare_database(&settings).await?;
    let result = async {
        let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service()).await?;
        let which = args
            .version
            .map_or(VersionRef::Production, VersionRef::Number);
        let version = repo::resolve_version::<repo::VersionHandle>(&mut tx, args.model, &which)
            .await?
            .with_context(|| match args.version {
                Some(v) => format!("model {} has no version {v}", args.model),
                None => format!(
                    "model {} has no production version; pass --version",
                    args.model
                ),
            })?;
        // Verified on the way out: a corrupted version is never exported as if it were good.
        let (artefact, model) = cryo_app::registry::read_verified(&mut tx, &version)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tx.commit().await?;
        let partial = args.file.with_extension("partial");
        std::fs::write(&partial, artefact.to_file_bytes()?)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, &args.file)?;
        println!(
            "exported version {} ({}, {} rows, sha256 {}) of {:?} to {}",
            version.version,
            version.algorithm,
            model.dataset.rows,
            version.artifact_sha256,
            model.target,
            args.file.display()
        );
        anyhow::Ok(())
    }
    .await;
    db.shutdown().await?;
    result?;
    Ok(ExitCode::SUCCESS)
}

pub async fn import(config: Option<PathBuf>, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let artefact = cryo_ml::Artefact::from_file_bytes(&bytes)?;
    // Refuse before touching the database: the checksum and the decoding must both pass.
    let model = artefact
        .open()
        .with_context(|| format!("{} cannot be imported", args.file.display()))?;
    let (settings, _) = super::load_settings(config)?;
    let db = super::prepare_database(&settings).await?;
    let result = async {
        let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service()).await?;
        let owner = cryo_db::repo::auth::find_for_login(&mut tx, &args.owner)
            .await?
            .with_context(|| format!("no account with e-mail {}", args.owner))?
            .id;
        tx.commit().await?;
        let mut tx = cryo_db::identity::begin(&db.pool, &Identity::user(owner)).await?;
        let model_id = match args.model {
            Some(id) => {
                repo::get_model(&mut tx, id)
                    .await?
                    .with_context(|| {
                        format!("model {id} does not exist or {} cannot see it", args.owner)
                    })?
                    .id
            }
            None => {
                let property = args.property.as_deref().unwrap_or(&model.target);
                let name = args.name.as_deref().unwrap_or(property);
                let Some(created) =
                    repo::create_model(&mut tx, owner, name, property, None, None).await?
                else {
                    bail!("{property:?} is not a property type here; pass --property NAME");
                };
                created.id
            }
        };
        let version = cryo_app::registry::store_version(
            &mut tx,
            owner,
            model_id,
            cryo_app::registry::Sealed::regression(&artefact)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            "model.imported",
            serde_json::json!({ "file": args.file.display().to_string() }),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        tx.commit().await?;
        println!(
            "imported {} as version {} of model {model_id} (sha256 {})",
            args.file.display(),
            version.version,
            version.artifact_sha256
        );
        anyhow::Ok(())
    }
    .await;
    db.shutdown().await?;
    result?;
    Ok(ExitCode::SUCCESS)
}
