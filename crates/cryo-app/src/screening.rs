//! Screening jobs (#20): run one or several model versions (with the cryoprotectant score and
//! structural alerts) over the requester's library, a project, or an uploaded file of up to
//! `models.screening_max_rows` structures, which are not stored as molecules.
//!
//! Creating a job resolves its versions and writes its numbered rows and chunks in one
//! transaction as the requester, so row-level security decides what a library snapshot holds.
//! Workers (the training workers of every `serve`, between trainings) claim chunks with SKIP
//! LOCKED, load the versions as the requester, compute on the compute pool and store a chunk's
//! answers with its end in one transaction fenced by their attempt: a chunk is stored once
//! however many workers and crashes it sees. A worker that dies leaves its chunk `running`
//! with an old heartbeat; any worker re-queues it after `models.stale_after_secs`.

use crate::ranking::{decode_cursor, direction_name, encode_cursor, limit_of, order_of, range};
use crate::registry::{Answers, Gathered, predict_gathered};
use crate::{Actor, App, AppError, AppResult};
use cryo_core::ident::DomainFlag;
use cryo_db::Identity;
use cryo_db::repo::models::{self as models_repo, VersionHandle, VersionRef};
use cryo_db::repo::ranking::Direction;
use cryo_db::repo::screening::{
    self as repo, Bin, Chunk, NewResult, NewScreening, Point, ResultQuery, ResultRow, ResultSort,
    RowOutcome, ScreeningJob, UploadedRow,
};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// Most versions one job runs.
pub const MAX_MODELS: usize = 8;
/// Rejected upload lines listed in a creation's answer (all are counted).
const REJECTED_LISTED: usize = 100;
/// Rows written per INSERT when an upload is stored.
const INSERT_BATCH: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Every molecule the requester can read.
    Library,
    /// The molecules of `project_id`.
    Project,
    /// The structures in `content`.
    Upload,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Library => "library",
            Source::Project => "project",
            Source::Upload => "upload",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UploadFormat {
    /// One structure per line: a SMILES, then optionally whitespace and a name.
    Smiles,
    /// A header row naming a `smiles` column (and optionally `name`), then one row each.
    Csv,
    /// MOL blocks with data fields; the title line is the name.
    Sdf,
}

/// A version a job runs: a model and, optionally, which of its versions (default production).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScreenModel {
    pub model_id: Uuid,
    pub version: Option<i64>,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScreeningRequest {
    pub name: String,
    /// 1–8 model versions; each row gets every version's value, interval and domain flag.
    pub models: Vec<ScreenModel>,
    pub source: Source,
    /// With `source: project`.
    pub project_id: Option<Uuid>,
    /// With `source: upload`.
    pub format: Option<UploadFormat>,
    /// With `source: upload`: the file's text (bounded by `server.body_limit_bytes`).
    pub content: Option<String>,
    /// Interval level of regression versions, default 0.9.
    pub level: Option<f64>,
    /// Count each structure's structural alerts (default true). Matching RDKit's whole alert
    /// catalogue is most of a screening's time when the models are fast.
    pub alerts: Option<bool>,
}

/// A line of an upload that holds no structure to screen, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejected {
    pub line: i64,
    pub reason: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub job: ScreeningJob,
    /// How many lines of an upload were left out (no structure, or over the structure limits).
    pub rejected_count: usize,
    /// The first hundred of them.
    pub rejected: Vec<Rejected>,
}

/// A version as the job records it (`screening_jobs.models`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobModel {
    model_id: Uuid,
    version: i64,
    version_id: Uuid,
    property: String,
    algorithm: String,
}

fn check_name(name: &str) -> AppResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "1 to 200 characters"));
    }
    Ok(name)
}

fn version_ref(m: &ScreenModel, i: usize) -> AppResult<VersionRef> {
    match (m.version, &m.alias) {
        (Some(n), None) => Ok(VersionRef::Number(n)),
        (None, Some(a)) => Ok(VersionRef::Alias(a.clone())),
        (None, None) => Ok(VersionRef::Production),
        (Some(_), Some(_)) => Err(AppError::validation(
            format!("models[{i}]"),
            "give version or alias, not both",
        )),
    }
}

/// Creates a job with its rows and chunks; workers start on it when this returns.
pub async fn create(actor: &Actor<'_>, r: ScreeningRequest) -> AppResult<Created> {
    let me = actor.me()?;
    let settings = &actor.app.settings;
    let name = check_name(&r.name)?.to_string();
    if r.models.is_empty() || r.models.len() > MAX_MODELS {
        return Err(AppError::validation(
            "models",
            format!("give 1 to {MAX_MODELS} models"),
        ));
    }
    let level = crate::registry::checked_level(r.level)?;
    let max_rows = settings.models.screening_max_rows;
    let refs = r
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| version_ref(m, i))
        .collect::<AppResult<Vec<_>>>()?;
    let (uploaded, rejected) = match (r.source, &r.project_id, &r.format, &r.content) {
        (Source::Upload, None, Some(format), Some(content)) => {
            let (format, content) = (*format, content.clone());
            let max_smiles = settings.limits.max_smiles_bytes;
            let (rows, rejected) = actor
                .compute(move |deadline| parse_upload(format, &content, max_smiles, &deadline))
                .await?;
            if rows.len() as i64 > max_rows {
                return Err(AppError::validation(
                    "content",
                    format!(
                        "{} structures; at most {max_rows} per job (models.screening_max_rows)",
                        rows.len()
                    ),
                ));
            }
            if rows.is_empty() {
                return Err(AppError::validation(
                    "content",
                    format!("no structure to screen ({} lines rejected)", rejected.len()),
                ));
            }
            (Some(rows), rejected)
        }
        (Source::Upload, _, _, _) => {
            return Err(AppError::validation(
                "content",
                "an upload needs format and content (and no project_id)",
            ));
        }
        (Source::Project, None, _, _) => {
            return Err(AppError::validation(
                "project_id",
                "source project needs a project_id",
            ));
        }
        (_, _, Some(_), _) | (_, _, _, Some(_)) => {
            return Err(AppError::validation(
                "content",
                "format and content belong to source upload",
            ));
        }
        (Source::Library, Some(_), _, _) => {
            return Err(AppError::validation(
                "project_id",
                "source library takes no project_id (use source project)",
            ));
        }
        (Source::Project | Source::Library, _, None, None) => (None, Vec::new()),
    };
    let chunk_rows = settings.models.screening_chunk_rows.max(1);
    let job = actor
        .run(async |tx| {
            let mut models = Vec::with_capacity(refs.len());
            for (i, (m, which)) in r.models.iter().zip(&refs).enumerate() {
                let Some(v) =
                    models_repo::resolve_version::<VersionHandle>(tx, m.model_id, which).await?
                else {
                    crate::registry::visible_model(tx, m.model_id).await?;
                    return Err(AppError::validation(
                        format!("models[{i}]"),
                        match which {
                            VersionRef::Production => {
                                "this model has no production version; promote one or name a version"
                            }
                            _ => "no such version of this model",
                        },
                    ));
                };
                if models.iter().any(|j: &JobModel| j.version_id == v.id) {
                    return Err(AppError::validation(
                        format!("models[{i}]"),
                        "this version is already in the job",
                    ));
                }
                models.push(JobModel {
                    model_id: v.model_id,
                    version: v.version,
                    version_id: v.id,
                    property: v.property,
                    algorithm: v.algorithm,
                });
            }
            if let Some(p) = r.project_id
                && cryo_db::repo::collab::get_project(tx, p).await?.is_none()
            {
                return Err(AppError::NotFound { what: "project" });
            }
            let models = serde_json::to_value(&models)
                .map_err(|e| AppError::Internal(format!("job models: {e}")))?;
            let id = repo::create_job(
                tx,
                me,
                &NewScreening {
                    name: &name,
                    source: r.source.as_str(),
                    project_id: r.project_id,
                    models: &models,
                    level,
                    chunk_rows,
                    with_alerts: r.alerts.unwrap_or(true),
                },
            )
            .await?;
            let total = match &uploaded {
                Some(rows) => {
                    for (i, batch) in rows.chunks(INSERT_BATCH).enumerate() {
                        repo::add_rows(tx, id, (i * INSERT_BATCH) as i64 + 1, batch).await?;
                    }
                    rows.len() as i64
                }
                None => {
                    if repo::library_exceeds(tx, r.project_id, max_rows).await? {
                        return Err(AppError::validation(
                            "source",
                            format!(
                                "more than {max_rows} molecules (models.screening_max_rows): screen a project"
                            ),
                        ));
                    }
                    repo::snapshot_library(tx, id, r.project_id, max_rows).await?
                }
            };
            repo::seal(tx, id, total).await?;
            repo::get_job(tx, id)
                .await?
                .ok_or_else(|| AppError::Internal("the new job is not visible".into()))
        })
        .await?;
    actor.app.jobs.notify_waiters();
    Ok(Created {
        job,
        rejected_count: rejected.len(),
        rejected: rejected.into_iter().take(REJECTED_LISTED).collect(),
    })
}

/// An uploaded file's structures and the lines that hold none. CPU (SDF parsing): on the
/// compute pool.
pub fn parse_upload(
    format: UploadFormat,
    content: &str,
    max_smiles_bytes: usize,
    deadline: &cryo_core::deadline::Deadline,
) -> AppResult<(Vec<UploadedRow>, Vec<Rejected>)> {
    // Every line's outcome, in file order.
    let mut lines: Vec<Result<UploadedRow, Rejected>> = Vec::new();
    let row = |line: i64, smiles: &str, name: Option<&str>| {
        upload_row(line, smiles, name, max_smiles_bytes)
    };
    match format {
        UploadFormat::Smiles => {
            for (i, text) in content.lines().enumerate() {
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                let (smiles, name) = match text.split_once(char::is_whitespace) {
                    Some((s, n)) => (s, Some(n)),
                    None => (text, None),
                };
                lines.push(row(i as i64 + 1, smiles, name));
            }
        }
        UploadFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(content.as_bytes());
            let header = reader
                .headers()
                .map_err(|e| AppError::validation("content", format!("CSV header: {e}")))?
                .clone();
            let column = |names: &[&str]| {
                header
                    .iter()
                    .position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()))
            };
            let smiles_at = column(&["smiles", "canonical_smiles"]).ok_or_else(|| {
                AppError::validation("content", "the CSV header names no `smiles` column")
            })?;
            let name_at = column(&["name", "id", "compound", "title"]);
            for record in reader.records() {
                match record {
                    Ok(rec) => {
                        let line = rec.position().map_or(0, |p| p.line() as i64);
                        lines.push(row(
                            line,
                            rec.get(smiles_at).unwrap_or(""),
                            name_at.and_then(|n| rec.get(n)),
                        ));
                    }
                    Err(e) => lines.push(Err(Rejected {
                        line: e.position().map_or(0, |p| p.line() as i64),
                        reason: e.to_string(),
                    })),
                }
            }
        }
        UploadFormat::Sdf => {
            for rec in cryo_chem::sdf::SdfReader::new(content.as_bytes()) {
                deadline.check().map_err(|e| AppError::Chem(e.into()))?;
                match rec.molecule {
                    Ok(m) => {
                        let name = Some(rec.title.as_str())
                            .filter(|t| !t.trim().is_empty())
                            .or_else(|| rec.fields.get("name").map(String::as_str));
                        lines.push(row(rec.line as i64, &m.canonical_smiles(), name));
                    }
                    Err(e) => lines.push(Err(Rejected {
                        line: rec.line as i64,
                        reason: e.to_string(),
                    })),
                }
            }
        }
    }
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for line in lines {
        match line {
            Ok(row) => rows.push(row),
            Err(r) => rejected.push(r),
        }
    }
    Ok((rows, rejected))
}

/// One upload line's structure, or why it has none to screen.
fn upload_row(
    line: i64,
    smiles: &str,
    name: Option<&str>,
    max_smiles_bytes: usize,
) -> Result<UploadedRow, Rejected> {
    let smiles = smiles.trim();
    let reason = if smiles.is_empty() {
        "no SMILES".to_string()
    } else if smiles.len() > max_smiles_bytes {
        format!(
            "SMILES of {} bytes; at most {max_smiles_bytes} (limits.max_smiles_bytes)",
            smiles.len()
        )
    } else {
        return Ok(UploadedRow {
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(500).collect()),
            smiles: smiles.to_string(),
            line,
        });
    };
    Err(Rejected { line, reason })
}

pub async fn get(actor: &Actor<'_>, id: Uuid) -> AppResult<ScreeningJob> {
    actor.run(async |tx| visible(tx, id).await).await
}

async fn visible(tx: &mut cryo_db::repo::Conn, id: Uuid) -> AppResult<ScreeningJob> {
    repo::get_job(tx, id).await?.ok_or(AppError::NotFound {
        what: "screening job",
    })
}

pub async fn list(actor: &Actor<'_>, page: cryo_db::repo::Page) -> AppResult<Vec<ScreeningJob>> {
    actor.read(async |tx| repo::list_jobs(tx, page).await).await
}

pub async fn cancel(actor: &Actor<'_>, id: Uuid) -> AppResult<ScreeningJob> {
    actor
        .run(async |tx| {
            if !repo::cancel_job(tx, id).await? {
                return Err(AppError::NotFound {
                    what: "screening job",
                });
            }
            visible(tx, id).await
        })
        .await
}

pub async fn delete(actor: &Actor<'_>, id: Uuid) -> AppResult<()> {
    actor
        .run(async |tx| {
            if repo::delete_job(tx, id).await? {
                Ok(())
            } else {
                Err(AppError::NotFound {
                    what: "screening job",
                })
            }
        })
        .await
}

// ----------------------------------------------------------------------------------------------
// Results
// ----------------------------------------------------------------------------------------------

/// A results page's question, as sent (the HTTP query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ResultsRequest {
    /// `row` (input order, the default), `score`, or a version id of the job: rows with that
    /// version's value, ranked by it.
    pub sort: Option<String>,
    /// asc or desc (default: asc for row, desc otherwise).
    pub order: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// in, edge or out: only rows the sorted version places there.
    pub domain: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultsPage {
    pub items: Vec<ResultRow>,
    /// Rows the filters hold (every page).
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// Where a results page ended, and the ordering it belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct Token {
    sort: String,
    order: Direction,
    value: Option<f64>,
    row: i64,
}

/// A request checked against the job.
fn results_query(job: &ScreeningJob, r: &ResultsRequest) -> AppResult<(ResultQuery, String)> {
    let key = r
        .sort
        .as_deref()
        .map(str::trim)
        .unwrap_or("row")
        .to_string();
    let sort = match key.as_str() {
        "row" | "" => ResultSort::Row,
        "score" => ResultSort::Score,
        other => {
            let version = other
                .parse::<Uuid>()
                .ok()
                .filter(|v| job_models(job).iter().any(|m| m.version_id == *v));
            ResultSort::Version(version.ok_or_else(|| {
                AppError::validation("sort", "row, score, or a version id of this job's models")
            })?)
        }
    };
    let order = order_of(
        r.order.as_deref(),
        if sort == ResultSort::Row {
            Direction::Asc
        } else {
            Direction::Desc
        },
    )?;
    if sort == ResultSort::Row && (order == Direction::Desc || r.min.is_some() || r.max.is_some()) {
        return Err(AppError::validation(
            "sort",
            "input order is ascending and unfiltered; give sort=score or a version to rank or filter",
        ));
    }
    let bounds = range("value", r.min, r.max).map_err(|e| match e {
        AppError::Validation { field, message } => {
            AppError::validation(field.replace("_value", ""), message)
        }
        other => other,
    })?;
    let domain = match r.domain.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(_) if !matches!(sort, ResultSort::Version(_)) => {
            return Err(AppError::validation(
                "domain",
                "filters on the sorted version: give sort=<version id>",
            ));
        }
        Some(d) => Some(
            d.parse::<DomainFlag>()
                .map_err(|_| AppError::validation("domain", "one of in, edge, out"))?
                .as_str(),
        ),
    };
    let after = match r.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => {
            let t: Token = decode_cursor(c)?;
            if t.sort != key || t.order != order {
                return Err(AppError::validation(
                    "cursor",
                    format!(
                        "belongs to the ordering sort={} order={}; start again without a cursor",
                        t.sort,
                        direction_name(t.order)
                    ),
                ));
            }
            Some((t.value, t.row))
        }
    };
    Ok((
        ResultQuery {
            job: job.id,
            sort,
            direction: order,
            min: bounds.min,
            max: bounds.max,
            domain,
            limit: limit_of(r.limit)?,
            after,
        },
        key,
    ))
}

fn job_models(job: &ScreeningJob) -> Vec<JobModel> {
    serde_json::from_value(job.models.0.clone()).unwrap_or_default()
}

pub async fn results(actor: &Actor<'_>, id: Uuid, r: &ResultsRequest) -> AppResult<ResultsPage> {
    actor
        .run(async |tx| {
            let job = visible(tx, id).await?;
            let (q, key) = results_query(&job, r)?;
            let items = repo::results_page(tx, &q).await?;
            let total = repo::results_count(tx, &q).await?;
            let next_cursor = (items.len() as i64 == q.limit)
                .then(|| items.last())
                .flatten()
                .map(|last| {
                    encode_cursor(&Token {
                        sort: key.clone(),
                        order: q.direction,
                        value: last.sort_value,
                        row: last.row_no,
                    })
                });
            Ok(ResultsPage {
                items,
                total,
                next_cursor,
            })
        })
        .await
}

/// Which value a chart shows: `score`, or a version id of the job.
fn series(job: &ScreeningJob, field: &str, key: &str) -> AppResult<Option<Uuid>> {
    if key.trim() == "score" {
        return Ok(None);
    }
    key.trim()
        .parse::<Uuid>()
        .ok()
        .filter(|v| job_models(job).iter().any(|m| m.version_id == *v))
        .map(Some)
        .ok_or_else(|| AppError::validation(field, "score, or a version id of this job's models"))
}

pub async fn histogram(
    actor: &Actor<'_>,
    id: Uuid,
    of: &str,
    bins: Option<i32>,
) -> AppResult<Vec<Bin>> {
    let bins = bins.unwrap_or(20);
    if !(1..=200).contains(&bins) {
        return Err(AppError::validation("bins", "between 1 and 200"));
    }
    actor
        .run(async |tx| {
            let job = visible(tx, id).await?;
            let version = series(&job, "of", of)?;
            Ok(repo::histogram(tx, id, version, bins).await?)
        })
        .await
}

pub async fn scatter(
    actor: &Actor<'_>,
    id: Uuid,
    x: &str,
    y: &str,
    limit: Option<i64>,
) -> AppResult<Vec<Point>> {
    let limit = limit.unwrap_or(2_000);
    if !(1..=10_000).contains(&limit) {
        return Err(AppError::validation("limit", "between 1 and 10000"));
    }
    actor
        .run(async |tx| {
            let job = visible(tx, id).await?;
            let (x, y) = (series(&job, "x", x)?, series(&job, "y", y)?);
            Ok(repo::scatter(tx, id, x, y, job.total_rows, limit).await?)
        })
        .await
}

/// Most rows one export writes.
pub const MAX_EXPORT: i64 = 1_000_000;

/// Every row of a results ordering as a file: the input, its score and alerts, and each
/// version's value, interval, domain flag, similarity, label and error (SDF: the columns as tags).
pub async fn export(
    actor: &Actor<'_>,
    id: Uuid,
    r: &ResultsRequest,
    format: crate::export::ExportFormat,
) -> AppResult<Vec<u8>> {
    use crate::export::{Cell, Table};
    let whole = ResultsRequest {
        limit: Some(crate::ranking::MAX_LIMIT),
        cursor: None,
        ..r.clone()
    };
    let job = get(actor, id).await?;
    let (mut q, _) = results_query(&job, &whole)?;
    let models = job_models(&job);
    let mut columns: Vec<String> = [
        "row",
        "line",
        "name",
        "smiles",
        "molecule_id",
        "score",
        "alerts",
        "error",
    ]
    .map(String::from)
    .into();
    for m in &models {
        let tag = format!("{} v{}", m.property, m.version);
        for what in [
            "value",
            "lower",
            "upper",
            "domain",
            "similarity",
            "label",
            "error",
        ] {
            columns.push(format!("{tag} {what}"));
        }
    }
    let mut table = Table {
        columns,
        rows: Vec::new(),
    };
    let mut smiles = Vec::new();
    loop {
        let page = actor
            .run(async |tx| AppResult::Ok(repo::results_page(tx, &q).await?))
            .await?;
        let full = page.len() as i64 == q.limit;
        for item in &page {
            let mut row = vec![
                Cell::Number(item.row_no as f64),
                item.line.map(|l| l as f64).into(),
                item.name.as_deref().into(),
                Cell::Text(item.smiles.clone()),
                item.molecule_id.map(|m| m.to_string()).as_deref().into(),
                item.score.into(),
                item.alerts.map(|a| a as f64).into(),
                item.error.as_deref().into(),
            ];
            for m in &models {
                let a = item.results.iter().find(|a| a.version_id == m.version_id);
                row.extend([
                    a.and_then(|a| a.value).into(),
                    a.and_then(|a| a.lower).into(),
                    a.and_then(|a| a.upper).into(),
                    a.and_then(|a| a.domain.as_deref()).into(),
                    a.and_then(|a| a.similarity).into(),
                    a.and_then(|a| a.label.as_deref()).into(),
                    a.and_then(|a| a.error.as_deref()).into(),
                ]);
            }
            smiles.push(item.smiles.clone());
            table.rows.push(row);
        }
        if table.rows.len() as i64 > MAX_EXPORT {
            return Err(AppError::validation(
                "export",
                format!("more than {MAX_EXPORT} rows; filter the results"),
            ));
        }
        match page.last() {
            Some(last) if full => q.after = Some((last.sort_value, last.row_no)),
            _ => break,
        }
    }
    crate::ranking::write_table(actor, &table, format, smiles).await
}

// ----------------------------------------------------------------------------------------------
// Workers
// ----------------------------------------------------------------------------------------------

/// Claims a chunk, if one is queued, as worker `name`. Errors are logged.
pub async fn claim(state: &App, worker: &str) -> Option<Chunk> {
    match state
        .as_service(async |tx| repo::claim_chunk(tx, worker).await)
        .await
    {
        Ok(chunk) => chunk,
        Err(e) => {
            tracing::error!(error = %e, "could not claim a screening chunk");
            None
        }
    }
}

/// Re-queues chunks whose worker stopped beating; returns how many.
pub async fn recover(state: &App) -> AppResult<u64> {
    let s = &state.settings.models;
    state
        .as_service(async |tx| repo::recover_chunks(tx, s.stale_after_secs, s.max_attempts).await)
        .await
}

/// What became of a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkEnd {
    Stored,
    /// Its job was cancelled, or another worker took it over: nothing of it is kept.
    Dropped,
    /// The server is stopping: the chunk is back in the queue.
    Released,
    Failed,
}

/// Computes and stores one chunk. `stopping` is the process's shutdown flag.
pub async fn run_chunk(state: &App, worker: &str, chunk: Chunk, stopping: &AtomicBool) -> ChunkEnd {
    let started = std::time::Instant::now();
    match compute_chunk(state, &chunk).await {
        Ok(Some((rows, results))) => {
            if stopping.load(Ordering::SeqCst) {
                return release(state, &chunk).await;
            }
            let stored = async {
                let mut tx = state.begin(&Identity::service()).await?;
                let held = repo::finish_chunk(&mut tx, &chunk, &rows, &results).await?;
                tx.commit().await?;
                AppResult::Ok(held)
            }
            .await;
            match stored {
                Ok(true) => {
                    tracing::info!(job = %chunk.job_id, chunk = chunk.chunk_no, worker,
                        rows = rows.len(), seconds = started.elapsed().as_secs_f64(), "screening chunk stored");
                    ChunkEnd::Stored
                }
                Ok(false) => {
                    tracing::warn!(job = %chunk.job_id, chunk = chunk.chunk_no, worker,
                        "screening chunk taken over by another worker; this attempt is not stored");
                    ChunkEnd::Dropped
                }
                Err(e) => {
                    tracing::error!(job = %chunk.job_id, chunk = chunk.chunk_no, error = %e,
                        "could not store a screening chunk; it is re-queued when its heartbeat goes stale");
                    ChunkEnd::Failed
                }
            }
        }
        Ok(None) => {
            if stopping.load(Ordering::SeqCst) {
                return release(state, &chunk).await;
            }
            ChunkEnd::Dropped
        }
        Err(e) if stopping.load(Ordering::SeqCst) => {
            tracing::info!(job = %chunk.job_id, error = %e, "screening chunk interrupted by shutdown");
            release(state, &chunk).await
        }
        Err(e) => {
            let message = e.to_string();
            tracing::warn!(job = %chunk.job_id, chunk = chunk.chunk_no, error = %message,
                "screening chunk failed; its job fails");
            if let Err(e) = state
                .as_service(async |tx| repo::fail_chunk(tx, &chunk, &message).await)
                .await
            {
                tracing::error!(job = %chunk.job_id, error = %e, "could not record a failed chunk");
            }
            ChunkEnd::Failed
        }
    }
}

async fn release(state: &App, chunk: &Chunk) -> ChunkEnd {
    if let Err(e) = state
        .as_service(async |tx| repo::release_chunk(tx, chunk).await)
        .await
    {
        tracing::error!(job = %chunk.job_id, error = %e, "could not queue a stopped chunk again");
    }
    ChunkEnd::Released
}

/// The chunk's rows and answers; `None` when the job was cancelled meanwhile or the chunk is
/// no longer this attempt's.
async fn compute_chunk(
    state: &App,
    chunk: &Chunk,
) -> AppResult<Option<(Vec<RowOutcome>, Vec<NewResult>)>> {
    let inputs = state
        .as_service(async |tx| repo::chunk_inputs(tx, chunk).await)
        .await?;
    let models: Vec<JobModel> = serde_json::from_value(chunk.models.0.clone())
        .map_err(|e| AppError::Internal(format!("the job's models: {e}")))?;
    let smiles: Vec<String> = inputs.iter().map(|i| i.smiles.clone()).collect();
    let row_nos: Vec<i64> = inputs.iter().map(|i| i.row_no).collect();

    // The structure's own values: score and (if asked) alerts (a structure that does not parse
    // fails its row here, with RDKit's reason).
    let each = smiles.clone();
    let with_alerts = chunk.with_alerts;
    let own_started = std::time::Instant::now();
    let rows: Vec<RowOutcome> = state
        .compute
        .run(move |deadline| {
            use rayon::prelude::*;
            Ok(each
                .par_iter()
                .map(|s| {
                    deadline.check().map_err(|e| e.to_string())?;
                    let mol = cryo_chem::Molecule::from_smiles(s).map_err(|e| e.to_string())?;
                    let score = crate::molecules::score_of(&mol).map_err(|e| e.to_string())?;
                    let alerts = with_alerts
                        .then(|| mol.structural_alerts().map(|a| a.len() as i64).ok())
                        .flatten();
                    Ok::<_, String>((score.overall as f64, alerts))
                })
                .collect::<Vec<_>>())
        })
        .await?
        .into_iter()
        .zip(&row_nos)
        .map(|(outcome, &row_no)| match outcome {
            Ok((score, alerts)) => RowOutcome {
                row_no,
                score: Some(score),
                alerts,
                error: None,
            },
            Err(error) => RowOutcome {
                row_no,
                error: Some(error),
                ..RowOutcome::default()
            },
        })
        .collect();

    let own_seconds = own_started.elapsed().as_secs_f64();
    let models_started = std::time::Instant::now();
    let requester = Actor::new(state, Identity::user(chunk.created_by));
    let mut results = Vec::with_capacity(inputs.len() * models.len());
    for m in &models {
        if state
            .as_service(async |tx| repo::chunk_heartbeat(tx, chunk).await)
            .await?
        {
            return Ok(None);
        }
        // The version as the requester may read it now (a model unshared since is refused).
        let loaded = requester
            .run(async |tx| {
                let handle = models_repo::resolve_version::<VersionHandle>(
                    tx,
                    m.model_id,
                    &VersionRef::Number(m.version),
                )
                .await?
                .filter(|h| h.id == m.version_id)
                .ok_or_else(|| {
                    AppError::Conflict(format!(
                        "version {} of model {} is no longer readable by the job's requester",
                        m.version, m.model_id
                    ))
                })?;
                state.registry.load(tx, &handle).await
            })
            .await?;
        let level = match &loaded.model {
            crate::registry::Trained::Classification(c) => c.model.options.level,
            crate::registry::Trained::Regression(_) => chunk.level,
        };
        let classes = match &loaded.model {
            crate::registry::Trained::Classification(c) => c.classes.clone(),
            crate::registry::Trained::Regression(_) => Vec::new(),
        };
        let (answers, domains) =
            predict_gathered(&state.compute, &loaded, Gathered::of_smiles(&smiles), level).await?;
        // Row i's result before its answer: which version, which row, where in the domain.
        let placed = |i: usize| {
            let d = domains.get(i).and_then(Option::as_ref);
            NewResult {
                version_id: m.version_id,
                row_no: row_nos[i],
                domain: d.map(|d| d.flag.as_str()),
                similarity: d.map(|d| d.nearest_similarity),
                ..NewResult::default()
            }
        };
        match answers {
            Answers::Numbers(answers) => {
                for (i, answer) in answers.into_iter().enumerate() {
                    let mut r = placed(i);
                    match answer {
                        Ok(p) => {
                            r.value = Some(p.value);
                            r.lower = Some(p.interval.lower);
                            r.upper = Some(p.interval.upper);
                        }
                        Err(e) => r.error = Some(e),
                    }
                    results.push(r);
                }
            }
            Answers::Classes(answers) => {
                for (i, answer) in answers.into_iter().enumerate() {
                    let mut r = placed(i);
                    match answer {
                        Ok(p) => {
                            r.label = classes.get(p.label).cloned();
                            r.value = p.probabilities.get(p.label).copied();
                        }
                        Err(e) => r.error = Some(e),
                    }
                    results.push(r);
                }
            }
        }
    }
    if state
        .as_service(async |tx| repo::chunk_heartbeat(tx, chunk).await)
        .await?
    {
        return Ok(None);
    }
    tracing::debug!(job = %chunk.job_id, chunk = chunk.chunk_no, own_seconds,
        models_seconds = models_started.elapsed().as_secs_f64(), "screening chunk computed");
    Ok(Some((rows, results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryo_core::deadline::Deadline;

    fn parse(format: UploadFormat, text: &str) -> (Vec<UploadedRow>, Vec<Rejected>) {
        parse_upload(
            format,
            text,
            40,
            &Deadline::after(std::time::Duration::from_secs(30)),
        )
        .unwrap()
    }

    #[test]
    fn smiles_lines_keep_their_line_numbers_and_names() {
        let long = "C".repeat(41);
        let (rows, rejected) = parse(
            UploadFormat::Smiles,
            &format!("# library\nOCCO ethylene glycol\n\nOCC(O)CO\n{long} too long\n"),
        );
        assert_eq!(
            rows,
            vec![
                UploadedRow {
                    name: Some("ethylene glycol".into()),
                    smiles: "OCCO".into(),
                    line: 2
                },
                UploadedRow {
                    name: None,
                    smiles: "OCC(O)CO".into(),
                    line: 4
                },
            ]
        );
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 5);
        assert!(rejected[0].reason.contains("limits.max_smiles_bytes"));
    }

    #[test]
    fn csv_finds_its_columns_and_reports_rows_without_a_structure() {
        let (rows, rejected) = parse(
            UploadFormat::Csv,
            "Name,SMILES,Tg\nglycerol,OCC(O)CO,-93\nblank,,1\n\"dmso\",CS(C)=O,-130\n",
        );
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.line, r.smiles.as_str(), r.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "OCC(O)CO", Some("glycerol")),
                (4, "CS(C)=O", Some("dmso"))
            ]
        );
        assert_eq!(
            rejected,
            vec![Rejected {
                line: 3,
                reason: "no SMILES".into()
            }]
        );
        let no_column = parse_upload(
            UploadFormat::Csv,
            "name,structure\na,C\n",
            40,
            &Deadline::after(std::time::Duration::from_secs(30)),
        );
        assert!(
            matches!(no_column, Err(AppError::Validation { ref field, .. }) if field == "content")
        );
    }
}
