//! Training-job workers inside `serve`. Each worker claims the oldest queued job (SKIP LOCKED, so
//! workers in this and other processes never share one), trains on what the requester may read
//! (their identity, so row-level security decides the data), records progress and a heartbeat,
//! and stores the result as a new version written as the requester.
//!
//! Cancellation is asked for in the database; the heartbeat sees it and sets the flag that
//! `cryo_ml::train` polls between fits. A worker that dies leaves its job `running` with an old
//! heartbeat: any worker re-queues it after `models.stale_after_secs`, or fails it after
//! `models.max_attempts`.

use crate::registry::TrainRequest;
use crate::{ApiError, AppState};
use cryo_db::Identity;
use cryo_db::repo::models::{self as repo, Job};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Starts `count` workers; they run until aborted.
pub fn spawn_workers(state: &AppState, count: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|i| {
            let state = state.clone();
            let name = format!("{}-{}-{i}", hostname(), std::process::id());
            tokio::spawn(async move { worker_loop(state, name).await })
        })
        .collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

async fn worker_loop(state: AppState, name: String) {
    let settings = state.settings.models.clone();
    let recovery_every = Duration::from_secs_f64((settings.stale_after_secs / 2.0).max(0.5));
    let mut last_recovery: Option<Instant> = None;
    tracing::info!(worker = %name, "training worker started");
    loop {
        if last_recovery.is_none_or(|t| t.elapsed() >= recovery_every) {
            last_recovery = Some(Instant::now());
            match state
                .as_service(async |tx| {
                    repo::recover_orphans(tx, settings.stale_after_secs, settings.max_attempts)
                        .await
                })
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(jobs = n, "re-queued training jobs whose worker stopped"),
                Err(e) => tracing::error!(error = %e, "could not recover orphaned training jobs"),
            }
        }
        let claimed = state
            .as_service(async |tx| repo::claim_job(tx, &name).await)
            .await;
        match claimed {
            Ok(Some(job)) => run(&state, &name, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = state.jobs.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not claim a training job");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

enum Outcome {
    Succeeded(Uuid),
    Cancelled,
    Failed(String),
}

async fn run(state: &AppState, worker: &str, job: Job) {
    let started = Instant::now();
    tracing::info!(job = %job.id, model = %job.model_id, worker, attempt = job.attempts, "training job started");
    let outcome = match execute(state, &job).await {
        Ok(version) => Outcome::Succeeded(version),
        Err(ApiError::Model(cryo_ml::MlError::Cancelled)) => Outcome::Cancelled,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    let (label, error, result) = match &outcome {
        Outcome::Succeeded(v) => ("succeeded", None, Some(*v)),
        Outcome::Cancelled => ("cancelled", None, None),
        Outcome::Failed(e) => ("failed", Some(e.as_str()), None),
    };
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .training_jobs_finished
        .get_or_create(&crate::metrics::StateLabel {
            state: label.into(),
        })
        .inc();
    // One alert per model: a later success of the same model resolves it.
    let fingerprint = format!("training_failed:{}", job.model_id);
    match &outcome {
        Outcome::Failed(e) => {
            tracing::warn!(job = %job.id, seconds, error = %e, "training job failed");
            crate::alerts::raise_or_log(
                state,
                &fingerprint,
                "warning",
                &format!("training job {} failed: {e}", job.id),
                serde_json::json!({ "job_id": job.id, "model_id": job.model_id, "error": e }),
            )
            .await;
        }
        Outcome::Succeeded(_) => {
            tracing::info!(job = %job.id, seconds, state = label, "training job finished");
            crate::alerts::resolve_or_log(state, &fingerprint).await;
        }
        Outcome::Cancelled => {
            tracing::info!(job = %job.id, seconds, state = label, "training job finished")
        }
    }
    if let Err(e) = state
        .as_service(async |tx| repo::finish_job(tx, job.id, label, error, result).await)
        .await
    {
        tracing::error!(job = %job.id, error = %e, "could not record the end of a training job");
    }
}

async fn execute(state: &AppState, job: &Job) -> Result<Uuid, ApiError> {
    let request: TrainRequest = serde_json::from_value(job.request.0.clone())
        .map_err(|e| ApiError::validation("request", e.to_string()))?;
    request.check()?;
    let set = request.feature_set()?;
    let requester = Identity::user(job.created_by);

    // The data is what the requester may read, now.
    let mut tx = state.begin(&requester).await?;
    let model = repo::get_model(&mut tx, job.model_id)
        .await?
        .ok_or(ApiError::NotFound { what: "model" })?;
    let training = crate::training::dataset(&mut tx, &model.property, set).await?;
    tx.commit().await?;
    if !training.rejected.is_empty() {
        tracing::info!(job = %job.id, rejected = training.rejected.len(), "experiments left out of the training set");
    }
    let data = training.dataset;
    let plan = request.plan(&data)?;
    plan.validate(data.len())?;

    let progress = Arc::new(Mutex::new((0.0_f64, "validating".to_string())));
    let cancel = Arc::new(AtomicBool::new(false));
    let work = {
        let (progress, cancel, plan) = (progress.clone(), cancel.clone(), plan.clone());
        let property = model.property.clone();
        tokio::task::spawn_blocking(move || {
            let signature = crate::training::signature(set);
            let input = cryo_ml::TrainInput {
                data: &data,
                target: &property,
                features: &signature,
                source: &format!("experiments of {property:?} visible to the requester"),
            };
            let report = |stage: cryo_ml::Stage, done: usize, total: usize| {
                let overall = cryo_ml::overall_progress(&plan, stage, done, total);
                if let Ok(mut p) = progress.lock() {
                    *p = (overall, format!("{} ({done}/{total} fits)", stage.name()));
                }
            };
            cryo_ml::train(&input, &plan, &report, Some(&cancel))
        })
    };
    let beat = Duration::from_secs_f64(state.settings.models.heartbeat_secs.max(0.05));
    tokio::pin!(work);
    let trained = loop {
        tokio::select! {
            done = &mut work => break done.map_err(|e| ApiError::Unavailable(format!("training task: {e}")))??,
            _ = tokio::time::sleep(beat) => {
                let (fraction, stage) = progress.lock().map(|p| p.clone()).unwrap_or_default();
                // Fitting is the last step; keep 1.0 for "done and stored".
                let fraction = fraction.min(0.99);
                match state.as_service(async |tx| repo::heartbeat(tx, job.id, fraction, &stage).await).await {
                    Ok(true) => cancel.store(true, Ordering::Relaxed),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "heartbeat failed"),
                }
            }
        }
    };
    let (trained, _report) = trained;

    let artefact = trained.seal(env!("CARGO_PKG_VERSION"), Some(&job.created_by.to_string()))?;
    let mut tx = state.begin(&requester).await?;
    let version = crate::registry::store_version(
        &mut tx,
        job.created_by,
        job.model_id,
        &artefact,
        "model.version_created",
        serde_json::json!({ "job_id": job.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(version.id)
}
