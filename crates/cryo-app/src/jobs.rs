//! Job workers inside `serve`: trainings first, then screening chunks (`crate::screening`).
//! Each worker claims the oldest queued training job (SKIP LOCKED, so
//! workers in this and other processes never share one), trains on what the requester may read
//! (their identity, so row-level security decides the data), records progress and a heartbeat,
//! and stores the result as a new version written as the requester.
//!
//! Cancellation is asked for in the database; the heartbeat sees it and sets the flag that
//! `cryo_ml::train` checks once per tree, boosting round and epoch. A training also stops at
//! `models.max_train_secs`. On shutdown ([`Workers::stop`]) every running training is stopped the
//! same way and its job goes straight back to the queue. A worker that dies leaves its job
//! `running` with an old heartbeat: any worker re-queues it after `models.stale_after_secs`, or
//! fails it after `models.max_attempts`. A worker that only stalled (paused, swapped out) past
//! that point is fenced off by its attempt number: its heartbeat tells it to stop, and its
//! version and its job's end are never recorded (they are written in one transaction that
//! first checks the attempt still holds the job).

use crate::registry::TrainRequest;
use crate::{App, AppError};
use cryo_db::Identity;
use cryo_db::repo::models::{self as repo, Job};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The training workers of one process.
pub struct Workers {
    handles: Vec<tokio::task::JoinHandle<()>>,
    shutdown: Arc<Shutdown>,
}

impl Drop for Workers {
    /// Workers dropped without [`Workers::stop`] (a test's guard) end at once.
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// What the workers of a process share to stop together.
#[derive(Default)]
struct Shutdown {
    stopping: AtomicBool,
    /// Cancel flags of the trainings running now.
    running: Mutex<Vec<Arc<AtomicBool>>>,
    wake: tokio::sync::Notify,
}

impl Shutdown {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Starts `count` workers; they run until [`Workers::stop`].
pub fn spawn_workers(state: &App, count: usize) -> Workers {
    let shutdown = Arc::new(Shutdown::default());
    let handles = (0..count)
        .map(|i| {
            let (state, shutdown) = (state.clone(), shutdown.clone());
            let name = format!("{}-{}-{i}", hostname(), std::process::id());
            tokio::spawn(async move { worker_loop(state, name, shutdown).await })
        })
        .collect();
    Workers { handles, shutdown }
}

impl Workers {
    /// Stops every running training at its next checkpoint, puts its job back in the queue and
    /// waits for the workers to finish, for at most `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let handles = std::mem::take(&mut self.handles);
        let s = &self.shutdown;
        s.stopping.store(true, Ordering::SeqCst);
        if let Ok(running) = s.running.lock() {
            for flag in running.iter() {
                flag.store(true, Ordering::SeqCst);
            }
        }
        s.wake.notify_waiters();
        let all = async {
            for h in handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("training workers did not stop within the grace period");
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

async fn worker_loop(state: App, name: String, shutdown: Arc<Shutdown>) {
    let settings = state.settings.models.clone();
    let recovery_every = Duration::from_secs_f64((settings.stale_after_secs / 2.0).max(0.5));
    let mut last_recovery: Option<Instant> = None;
    tracing::info!(worker = %name, "training worker started");
    while !shutdown.stopping() {
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
            match crate::screening::recover(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    chunks = n,
                    "re-queued screening chunks whose worker stopped"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "could not recover orphaned screening chunks")
                }
            }
        }
        let claimed = state
            .as_service(async |tx| repo::claim_job(tx, &name).await)
            .await;
        match claimed {
            Ok(Some(job)) => run(&state, &name, job, &shutdown).await,
            // No training waits: a screening chunk, if any.
            Ok(None) if let Some(chunk) = crate::screening::claim(&state, &name).await => {
                // More chunks may wait: the idle workers of this process join in.
                state.jobs.notify_waiters();
                crate::screening::run_chunk(&state, &name, chunk, &shutdown.stopping).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.jobs.notified() => {}
                    _ = shutdown.wake.notified() => {}
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
    /// Stored, and the job recorded as succeeded, in one transaction.
    Succeeded(Uuid),
    Cancelled,
    Failed(String),
}

/// This attempt stalled and the job was re-queued and claimed again: nothing of it is kept.
fn taken_over(job: &Job, worker: &str) {
    tracing::warn!(job = %job.id, worker, attempt = job.attempts,
        "training job taken over by another worker after this one stalled; this attempt's end is not recorded");
}

async fn run(state: &App, worker: &str, job: Job, shutdown: &Shutdown) {
    let started = Instant::now();
    tracing::info!(job = %job.id, model = %job.model_id, worker, attempt = job.attempts, "training job started");
    let cancel = Arc::new(AtomicBool::new(false));
    if let Ok(mut running) = shutdown.running.lock() {
        running.push(cancel.clone());
    }
    let result = execute(state, &job, cancel.clone()).await;
    if let Ok(mut running) = shutdown.running.lock() {
        running.retain(|c| !Arc::ptr_eq(c, &cancel));
    }
    let outcome = match result {
        Ok(Some(version)) => Outcome::Succeeded(version),
        Ok(None) => return taken_over(&job, worker),
        Err(AppError::Model(cryo_ml::MlError::Cancelled)) if shutdown.stopping() => {
            tracing::info!(job = %job.id, "training stopped by shutdown; job queued again");
            if let Err(e) = state
                .as_service(async |tx| repo::release_job(tx, job.id, job.attempts).await)
                .await
            {
                tracing::error!(job = %job.id, error = %e, "could not queue a stopped job again");
            }
            return;
        }
        Err(AppError::Model(cryo_ml::MlError::Cancelled)) => Outcome::Cancelled,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    let (label, error) = match &outcome {
        Outcome::Succeeded(_) => ("succeeded", None),
        Outcome::Cancelled => ("cancelled", None),
        Outcome::Failed(e) => ("failed", Some(e.as_str())),
    };
    let recorded = match &outcome {
        Outcome::Succeeded(_) => true,
        Outcome::Cancelled | Outcome::Failed(_) => match state
            .as_service(async |tx| {
                repo::finish_job(tx, job.id, job.attempts, label, error, None).await
            })
            .await
        {
            Ok(recorded) => recorded,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "could not record the end of a training job");
                return;
            }
        },
    };
    if !recorded {
        return taken_over(&job, worker);
    }
    let seconds = started.elapsed().as_secs_f64();
    state.observer.training_finished(label);
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
        Outcome::Succeeded(version) => {
            tracing::info!(job = %job.id, %version, seconds, state = label, "training job finished");
            crate::alerts::resolve_or_log(state, &fingerprint).await;
        }
        Outcome::Cancelled => {
            tracing::info!(job = %job.id, seconds, state = label, "training job finished")
        }
    }
}

/// Trains and stores the job's version; `None` when this attempt no longer runs the job (it
/// stalled, and another worker took it over), in which case nothing is stored.
async fn execute(
    state: &App,
    job: &Job,
    cancel: Arc<AtomicBool>,
) -> Result<Option<Uuid>, AppError> {
    let request: TrainRequest = serde_json::from_value(job.request.0.clone())
        .map_err(|e| AppError::validation("request", e.to_string()))?;
    let set = request.features;
    let requester = crate::Actor::new(state, Identity::user(job.created_by));

    // The data is what the requester may read, now.
    let (model, gathered) = requester
        .run(async |tx| {
            let model = crate::registry::visible_model(tx, job.model_id).await?;
            let gathered = crate::training::gather(tx, &model.property).await?;
            crate::AppResult::Ok((model, gathered))
        })
        .await?;
    request.check(model.kind)?;
    let admit = request.admit();
    let classifies = model.kind.classifies();
    let featurised = tokio::task::spawn_blocking(move || {
        if classifies {
            gathered
                .featurise_labels(set, admit)
                .map(Featurised::Labels)
        } else {
            gathered.featurise(set, admit).map(Featurised::Numbers)
        }
    })
    .await
    .map_err(|e| AppError::Internal(format!("featurisation task: {e}")))??;
    let rejected = match &featurised {
        Featurised::Numbers(t) => &t.rejected,
        Featurised::Labels(l) => &l.rejected,
    };
    if !rejected.is_empty() {
        tracing::info!(job = %job.id, rejected = rejected.len(), "experiments left out of the training set");
    }
    // What was left out, and why, goes into the version's audit entry (the first hundred).
    const LEFT_OUT_LISTED: usize = 100;
    let left_out = serde_json::json!({
        "count": rejected.len(),
        "first": rejected.iter().take(LEFT_OUT_LISTED).collect::<Vec<_>>(),
    });
    let limit = state.settings.models.max_model_bytes;
    let progress = Arc::new(Mutex::new((0.0_f64, "validating".to_string())));
    let stop = cryo_ml::interrupt::Stop::new(
        cancel.clone(),
        cryo_core::deadline::Deadline::after(state.settings.models.max_train),
    );
    let property = model.property.clone();
    let source = format!("experiments of {property:?} visible to the requester");
    let signature = crate::training::signature(set);
    // The version (written as the requester, so RLS decides) and the job's end (as the
    // service) in one transaction, under the job's row lock and only if this attempt holds it.
    let store = async |sealed: crate::registry::Sealed<'_>| -> Result<Option<Uuid>, AppError> {
        let mut tx = state.begin(&Identity::service()).await?;
        if !repo::hold_job(&mut tx, job.id, job.attempts).await? {
            return Ok(None);
        }
        cryo_db::identity::act_as(&mut tx, &Identity::user(job.created_by)).await?;
        let version = crate::registry::store_version(
            &mut tx,
            job.created_by,
            job.model_id,
            sealed,
            "model.version_created",
            serde_json::json!({ "job_id": job.id, "left_out": left_out }),
        )
        .await?;
        cryo_db::identity::act_as(&mut tx, &Identity::service()).await?;
        repo::finish_job(
            &mut tx,
            job.id,
            job.attempts,
            "succeeded",
            None,
            Some(version.id),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(Some(version.id))
    };
    let created_by = job.created_by.to_string();
    let version = match featurised {
        Featurised::Numbers(training) => {
            let data = training.dataset;
            let plan = request.plan(&data)?;
            plan.validate(data.len())?;
            plan.check_memory(data.len(), data.x.cols(), limit)?;
            let work = spawn_training(
                Input {
                    data,
                    property,
                    signature,
                    source,
                },
                progress.clone(),
                move |input, report| {
                    let overall =
                        |stage, done, total| cryo_ml::overall_progress(&plan, stage, done, total);
                    cryo_ml::train(
                        input,
                        &plan,
                        &|s, d, t| report(overall(s, d, t), s, d, t),
                        &stop,
                    )
                },
            );
            let (trained, _) = with_heartbeat(state, job, &cancel, &progress, work).await?;
            let artefact = trained.seal(env!("CARGO_PKG_VERSION"), Some(&created_by))?;
            store(crate::registry::Sealed::regression(&artefact)?).await?
        }
        Featurised::Labels(labelled) => {
            let cryo_ml::classify::Labelled {
                dataset: data,
                classes,
                ..
            } = labelled.labelled;
            let plan = request.class_plan(&data)?;
            plan.check_memory(data.len(), data.x.cols(), classes.len(), limit)?;
            let work = spawn_training(
                Input {
                    data,
                    property,
                    signature,
                    source,
                },
                progress.clone(),
                move |input, report| {
                    let progress =
                        |s, d, t| report(cryo_ml::classify::class_progress(s, d, t), s, d, t);
                    cryo_ml::classify::train_classifier(input, &classes, &plan, &progress, &stop)
                },
            );
            let (trained, _) = with_heartbeat(state, job, &cancel, &progress, work).await?;
            let artefact = trained.seal(env!("CARGO_PKG_VERSION"), Some(&created_by))?;
            store(crate::registry::Sealed::classifier(&artefact)?).await?
        }
    };
    Ok(version)
}

/// What a training reads, owned so it can move to the blocking pool.
struct Input {
    data: cryo_ml::Dataset,
    property: String,
    signature: cryo_ml::FeatureSignature,
    source: String,
}

/// Where a training reports: its overall fraction, stage and the stage's fits.
type Report<'a> = &'a (dyn Fn(f64, cryo_ml::Stage, usize, usize) + Sync);

/// Runs `train` on the blocking pool on `input`, its progress recorded in `cell`.
fn spawn_training<T: Send + 'static>(
    input: Input,
    cell: ProgressCell,
    train: impl FnOnce(&cryo_ml::TrainInput<'_>, Report<'_>) -> Result<T, cryo_ml::MlError>
    + Send
    + 'static,
) -> tokio::task::JoinHandle<Result<T, cryo_ml::MlError>> {
    tokio::task::spawn_blocking(move || {
        let view = cryo_ml::TrainInput {
            data: &input.data,
            target: &input.property,
            features: &input.signature,
            source: &input.source,
        };
        train(&view, &|overall, stage, done, total| {
            record(&cell, overall, stage, done, total)
        })
    })
}

/// A featurised training set of either task.
enum Featurised {
    Numbers(crate::training::TrainingSet),
    Labels(crate::training::LabelledSet),
}

/// Where a training's progress is kept between heartbeats: overall fraction and stage.
type ProgressCell = Arc<Mutex<(f64, String)>>;

fn record(cell: &ProgressCell, overall: f64, stage: cryo_ml::Stage, done: usize, total: usize) {
    if let Ok(mut p) = cell.lock() {
        *p = (overall, format!("{} ({done}/{total} fits)", stage.name()));
    }
}

/// Waits for a training, writing its progress and a heartbeat every `models.heartbeat_secs`;
/// a cancel asked for in the database sets `cancel`, which the training sees at its next
/// checkpoint.
async fn with_heartbeat<T>(
    state: &App,
    job: &Job,
    cancel: &AtomicBool,
    progress: &ProgressCell,
    work: tokio::task::JoinHandle<Result<T, cryo_ml::MlError>>,
) -> Result<T, AppError> {
    let beat = Duration::from_secs_f64(state.settings.models.heartbeat_secs.max(0.05));
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => {
                return Ok(done.map_err(|e| AppError::Unavailable(format!("training task: {e}")))??);
            }
            _ = tokio::time::sleep(beat) => {
                let (fraction, stage) = progress.lock().map(|p| p.clone()).unwrap_or_default();
                // Fitting is the last step; keep 1.0 for "done and stored".
                let fraction = fraction.min(0.99);
                match state.as_service(async |tx| repo::heartbeat(tx, job.id, job.attempts, fraction, &stage).await).await {
                    Ok(true) => cancel.store(true, Ordering::Relaxed),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "heartbeat failed"),
                }
            }
        }
    }
}
