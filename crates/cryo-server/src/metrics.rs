//! Prometheus metrics, each counted in exactly one place.
//!
//! The original counted requests in two middlewares, let its in-progress gauge leak when a
//! handler raised, and never emitted its database metrics. Here: one middleware counts a request
//! once, when its response is produced or when the client goes away first (`status="499"`); the
//! in-progress gauge is held by a guard that is released on every path, including cancellation.
//! Values that are read rather than counted (pool, backups, process, entity counts) are sampled
//! when `/metrics` is scraped or by a background task, never inside user requests.
//!
//! One [`Metrics`] per application state, each with its own registry, so tests can count exactly.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabel {
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabel {
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PropertyLabel {
    pub property: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// A registry that remembers the names it was given: an empty family (no label set seen yet)
/// is left out of the scrape, so the scrape alone cannot say what exists.
struct Named<'a> {
    registry: &'a mut Registry,
    names: Vec<&'static str>,
}

impl Named<'_> {
    fn register(
        &mut self,
        name: &'static str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.names.push(name);
        self.registry.register(name, help, metric);
    }
}

pub struct Metrics {
    registry: Registry,
    /// Every family the public registry has, as registered (counters without `_total`).
    families: Vec<&'static str>,
    /// What only the private metrics listener shows (`server.metrics_addr`): row counts.
    private: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pub http_in_progress: Family<RouteLabels, Gauge>,
    pub db_acquire: Histogram,
    pub db_acquire_failures: Counter,
    pub db_pool_connections: Family<StateLabel, Gauge>,
    pub db_pool_max: Gauge,
    pub db_up: Gauge,
    pub db_ping_seconds: FloatGauge,
    pub predictions: Family<PropertyLabel, Counter>,
    pub prediction_duration: Histogram,
    pub training_jobs_finished: Family<StateLabel, Counter>,
    pub training_jobs: Family<StateLabel, Gauge>,
    pub entities: Family<NameLabel, Gauge>,
    pub backup_last_success: FloatGauge,
    pub backup_duration: FloatGauge,
    pub backup_size: FloatGauge,
    pub backup_failing: Gauge,
    pub disk_free_ratio: Family<NameLabel, FloatGauge>,
    pub process_cpu: FloatGauge,
    pub process_resident_memory: Gauge,
    pub process_open_fds: Gauge,
    pub process_start_time: FloatGauge,
    pub rate_limited: Family<ClassLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            http_in_progress: Family::default(),
            db_acquire: latency_histogram(),
            db_acquire_failures: Counter::default(),
            db_pool_connections: Family::default(),
            db_pool_max: Gauge::default(),
            db_up: Gauge::default(),
            db_ping_seconds: FloatGauge::default(),
            predictions: Family::default(),
            prediction_duration: latency_histogram(),
            training_jobs_finished: Family::default(),
            training_jobs: Family::default(),
            entities: Family::default(),
            backup_last_success: FloatGauge::default(),
            backup_duration: FloatGauge::default(),
            backup_size: FloatGauge::default(),
            backup_failing: Gauge::default(),
            disk_free_ratio: Family::default(),
            process_cpu: FloatGauge::default(),
            process_resident_memory: Gauge::default(),
            process_open_fds: Gauge::default(),
            process_start_time: FloatGauge::default(),
            rate_limited: Family::default(),
            registry: Registry::default(),
            families: Vec::new(),
            private: Registry::default(),
        };
        let mut private = Registry::default();
        private.register(
            "cryoprotect_entities",
            "Rows of the main tables, refreshed in the background",
            m.entities.clone(),
        );
        let mut named = Named {
            registry: &mut registry,
            names: Vec::new(),
        };
        let r = &mut named;
        r.register(
            "cryoprotect_http_requests",
            "HTTP requests by method, route template and status (499: the client went away)",
            m.http_requests.clone(),
        );
        r.register(
            "cryoprotect_http_request_duration_seconds",
            "HTTP request latency",
            m.http_duration.clone(),
        );
        r.register(
            "cryoprotect_http_requests_in_progress",
            "HTTP requests being served",
            m.http_in_progress.clone(),
        );
        r.register(
            "cryoprotect_db_acquire_duration_seconds",
            "Time to get a pooled connection and act as the caller",
            m.db_acquire.clone(),
        );
        r.register(
            "cryoprotect_db_acquire_failures",
            "Failures to get a database connection (timeouts, unreachable)",
            m.db_acquire_failures.clone(),
        );
        r.register(
            "cryoprotect_db_pool_connections",
            "API pool connections by state (idle, in_use)",
            m.db_pool_connections.clone(),
        );
        r.register(
            "cryoprotect_db_pool_max_connections",
            "API pool size limit",
            m.db_pool_max.clone(),
        );
        r.register(
            "cryoprotect_db_up",
            "1 when the database answered the last probe",
            m.db_up.clone(),
        );
        r.register(
            "cryoprotect_db_ping_seconds",
            "Round trip of the last database probe",
            m.db_ping_seconds.clone(),
        );
        r.register(
            "cryoprotect_model_predictions",
            "Values predicted by registry models, by property",
            m.predictions.clone(),
        );
        r.register(
            "cryoprotect_model_prediction_duration_seconds",
            "Time to predict one request's inputs (featurising included)",
            m.prediction_duration.clone(),
        );
        r.register(
            "cryoprotect_training_jobs_finished",
            "Training jobs finished by this instance, by final state",
            m.training_jobs_finished.clone(),
        );
        r.register(
            "cryoprotect_training_jobs",
            "Training jobs in the queue by state (all instances)",
            m.training_jobs.clone(),
        );
        r.register(
            "cryoprotect_backup_last_success_timestamp_seconds",
            "Unix time of the last good backup (0: none)",
            m.backup_last_success.clone(),
        );
        r.register(
            "cryoprotect_backup_duration_seconds",
            "Duration of the last good backup",
            m.backup_duration.clone(),
        );
        r.register(
            "cryoprotect_backup_size_bytes",
            "Size of the last good backup",
            m.backup_size.clone(),
        );
        r.register(
            "cryoprotect_backup_failing",
            "1 when the last backup attempt failed",
            m.backup_failing.clone(),
        );
        r.register(
            "cryoprotect_disk_free_ratio",
            "Free share of the file system holding a watched folder (backups, data)",
            m.disk_free_ratio.clone(),
        );
        r.register(
            "process_cpu_seconds",
            "CPU time used by this process",
            m.process_cpu.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory",
            m.process_resident_memory.clone(),
        );
        r.register(
            "cryoprotect_rate_limited",
            "Requests refused by a rate limit, by route class (heavy, auth, api)",
            m.rate_limited.clone(),
        );
        r.register(
            "process_open_fds",
            "Open file descriptors",
            m.process_open_fds.clone(),
        );
        r.register(
            "process_start_time_seconds",
            "Unix time the process started",
            m.process_start_time.clone(),
        );
        let families = named.names;
        Metrics {
            registry,
            families,
            private,
            ..m
        }
    }

    /// The public families' names, as registered (a counter's samples add `_total`).
    pub fn families(&self) -> &[&'static str] {
        &self.families
    }

    pub fn rate_limited(&self, class: &str) {
        self.rate_limited
            .get_or_create(&ClassLabel {
                class: class.into(),
            })
            .inc();
    }

    /// The OpenMetrics text of the metrics anyone reaching the public port may read.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Every metric, row counts included: for the private listener only.
    pub fn encode_all(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.private);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }

    /// Reads /proc/self for CPU, memory and descriptors (Linux).
    pub fn sample_process(&self) {
        let ticks = 100.0; // USER_HZ on Linux
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
            && let Some(after) = stat.rsplit_once(") ").map(|(_, rest)| rest)
        {
            let fields: Vec<&str> = after.split_whitespace().collect();
            // Fields 14 and 15 (utime, stime) are 11 and 12 after the command name; 22 is start.
            let num = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
            if let (Some(u), Some(s)) = (num(11), num(12)) {
                self.process_cpu.set((u + s) / ticks);
            }
            if let (Some(start), Some(boot)) = (num(19), boot_time()) {
                self.process_start_time.set(boot + start / ticks);
            }
        }
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm")
            && let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        {
            self.process_resident_memory.set(pages * 4096);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.process_open_fds.set(dir.count() as i64);
        }
    }
}

/// What the use cases report, counted where Prometheus reads it.
impl cryo_app::app::Observer for Metrics {
    fn db_acquired(&self, seconds: f64) {
        self.db_acquire.observe(seconds);
    }
    fn db_acquire_failed(&self) {
        self.db_acquire_failures.inc();
    }
    fn predicted(&self, property: &str, answered: u64, seconds: f64) {
        self.predictions
            .get_or_create(&PropertyLabel {
                property: property.into(),
            })
            .inc_by(answered);
        self.prediction_duration.observe(seconds);
    }
    fn training_finished(&self, state: &'static str) {
        self.training_jobs_finished
            .get_or_create(&StateLabel {
                state: state.into(),
            })
            .inc();
    }
}

fn boot_time() -> Option<f64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
}

/// Counts a request once and keeps the in-progress gauge honest on every path.
struct InFlight<'a> {
    metrics: &'a Metrics,
    labels: RouteLabels,
    started: Instant,
    finished: bool,
}

impl InFlight<'_> {
    fn finish(&mut self, status: &str) {
        let labels = RequestLabels {
            method: self.labels.method.clone(),
            route: self.labels.route.clone(),
            status: status.to_string(),
        };
        self.metrics.http_requests.get_or_create(&labels).inc();
        self.metrics
            .http_duration
            .get_or_create(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        self.finished = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // The future was dropped before a response: the client disconnected or timed out.
            self.finish("499");
        }
        self.metrics
            .http_in_progress
            .get_or_create(&self.labels)
            .dec();
    }
}

pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let labels = RouteLabels {
        method: req.method().as_str().to_owned(),
        route,
    };
    metrics.http_in_progress.get_or_create(&labels).inc();
    let mut flight = InFlight {
        metrics: &metrics,
        labels,
        started: Instant::now(),
        finished: false,
    };
    let response = next.run(req).await;
    flight.finish(response.status().as_str());
    response
}

pub fn openmetrics(text: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

const JOB_STATES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];

impl Metrics {
    /// Samples what `/metrics` reports by reading rather than counting: the pool, a database
    /// probe, the last backup, the process.
    pub async fn sample_for_scrape(&self, app: &cryo_app::App) {
        let m = self;
        let pool = app.pool();
        let (size, idle) = (i64::from(pool.size()), pool.num_idle() as i64);
        m.db_pool_connections
            .get_or_create(&StateLabel {
                state: "idle".into(),
            })
            .set(idle);
        m.db_pool_connections
            .get_or_create(&StateLabel {
                state: "in_use".into(),
            })
            .set(size - idle);
        m.db_pool_max
            .set(i64::from(pool.options().get_max_connections()));
        let started = Instant::now();
        // Short: a scrape must finish within Prometheus' scrape timeout even when the database
        // does not answer.
        let probe = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            cryo_db::repo::stats::ping(pool),
        )
        .await;
        let up = matches!(probe, Ok(Ok(_)));
        m.db_up.set(i64::from(up));
        if up {
            m.db_ping_seconds.set(started.elapsed().as_secs_f64());
        }
        if let Some(admin) = &app.admin {
            let b = admin.status();
            m.backup_last_success.set(
                b.last_success_at
                    .map_or(0.0, |t| t.unix_timestamp_nanos() as f64 / 1e9),
            );
            m.backup_duration
                .set(b.last_duration_seconds.unwrap_or(0.0));
            m.backup_size.set(b.last_size_bytes.unwrap_or(0) as f64);
            m.backup_failing.set(i64::from(b.last_error.is_some()));
        }
        for (name, dir) in cryo_app::health::watched_folders(&app.settings) {
            if let Ok((free, total, _)) = cryo_app::health::free_space(dir) {
                m.disk_free_ratio
                    .get_or_create(&NameLabel { name: name.into() })
                    .set(free / total);
            }
        }
        m.sample_process();
    }
}

/// Refreshes entity counts and the job queue's states every `every`, as service_role, outside
/// any user request. Runs until aborted.
pub fn spawn_sampler(
    app: cryo_app::App,
    metrics: std::sync::Arc<Metrics>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = sample_tables(&app, &metrics).await {
                tracing::warn!(error = %e, "could not refresh table metrics");
            }
            tokio::time::sleep(every).await;
        }
    })
}

pub async fn sample_tables(app: &cryo_app::App, m: &Metrics) -> cryo_app::AppResult<()> {
    let (counts, jobs) = app
        .as_service(async |tx| {
            let counts = cryo_db::repo::stats::entity_counts(tx).await?;
            Ok((counts, cryo_db::repo::stats::job_counts(tx).await?))
        })
        .await?;
    for (name, n) in counts {
        m.entities.get_or_create(&NameLabel { name }).set(n);
    }
    for s in JOB_STATES {
        let n = jobs.iter().find(|(j, _)| j == s).map_or(0, |(_, n)| *n);
        m.training_jobs
            .get_or_create(&StateLabel { state: s.into() })
            .set(n);
    }
    Ok(())
}
