//! `cryoprotect molecules import|describe`: streaming structure files in batches, computing in
//! parallel on every core, and reporting each rejected row by line number without stopping.

use super::load_settings;
use clap::{Args, Subcommand, ValueEnum};
use cryo_app::molecules::{self as science, Computed};
use cryo_chem::Molecule;
use cryo_chem::sdf::SdfReader;
use cryo_core::score::molecule_score;
use cryo_db::Identity;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum MoleculesCommand {
    /// Import structures (SMILES list, CSV or SDF); bad rows are reported and skipped.
    Import(ImportArgs),
    /// Print the 20-feature vector and score of every structure in a file as CSV (no database),
    /// or with --features another feature set (e.g. rdkit: the 43 RDKit descriptors).
    Describe(DescribeArgs),
    /// Rank the molecules a user can read, as `GET /api/v1/molecules/ranked` does (one page).
    Rank(RankArgs),
}

#[derive(Debug, clap::Args)]
pub struct RankArgs {
    /// E-mail of the user to rank as (row-level security decides what they see).
    #[arg(long = "as")]
    user: String,
    /// The API's query string, e.g. "sort=score&min_logp=-1&limit=20".
    #[arg(long, default_value = "")]
    query: String,
    /// Print the page as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print PostgreSQL's plan of the page and of the count (EXPLAIN ANALYZE) instead.
    #[arg(long, conflicts_with = "json")]
    explain: bool,
}

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// A model feature set (rdkit, morgan, combined) instead of the 20 features and score.
    #[arg(long, value_parser = |s: &str| s.parse::<cryo_chem::featurize::FeatureSet>())]
    features: Option<cryo_chem::featurize::FeatureSet>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Smiles,
    Csv,
    Sdf,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    pub file: PathBuf,
    /// File format; guessed from the extension (.smi/.txt, .csv/.tsv, .sdf/.sd) when omitted.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV column holding SMILES.
    #[arg(long, default_value = "smiles")]
    pub smiles_column: String,
    /// CSV column (or SD tag) holding the name; SDF falls back to the record's title line.
    #[arg(long, default_value = "name")]
    pub name_column: String,
    /// Records processed per batch (and per database transaction).
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// E-mail of the user who will own the imported molecules.
    #[arg(long, required_unless_present = "reference")]
    owner: Option<String>,
    /// Import as reference molecules, readable by everyone (administrators).
    #[arg(long, conflicts_with = "owner")]
    reference: bool,
    /// Write every rejected row (line, reason) to this CSV file.
    #[arg(long)]
    report: Option<PathBuf>,
}

/// One input record: where it came from and what it holds.
pub(crate) struct Record {
    pub line: usize,
    pub name: Option<String>,
    pub structure: Result<Input, String>,
    /// The other CSV columns or SD data fields, by header/tag.
    pub fields: BTreeMap<String, String>,
}

pub(crate) enum Input {
    Smiles(String),
    Parsed(Molecule),
}

pub async fn run(config: Option<PathBuf>, cmd: MoleculesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MoleculesCommand::Describe(args) => match args.features {
            None | Some(cryo_chem::featurize::FeatureSet::Cryo20) => describe(&args.read),
            Some(set) => describe_set(&args.read, set),
        },
        MoleculesCommand::Import(args) => import(config, args).await,
        MoleculesCommand::Rank(args) => rank(config, args).await,
    }
}

fn format_of(args: &ReadArgs) -> anyhow::Result<Format> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    let ext = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(match ext.as_str() {
        "smi" | "smiles" | "txt" => Format::Smiles,
        "csv" | "tsv" => Format::Csv,
        "sdf" | "sd" => Format::Sdf,
        _ => anyhow::bail!(
            "cannot tell the format of {} from its extension; pass --format",
            args.file.display()
        ),
    })
}

/// Stream records in batches; `f` gets each batch.
pub(super) fn for_each_batch(
    args: &ReadArgs,
    mut f: impl FnMut(Vec<Record>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = File::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?;
    let reader = BufReader::new(file);
    let mut batch = Vec::with_capacity(args.batch_size);
    let mut push = |r: Record, batch: &mut Vec<Record>| -> anyhow::Result<()> {
        batch.push(r);
        if batch.len() >= args.batch_size {
            f(std::mem::take(batch))?;
        }
        Ok(())
    };
    match format_of(args)? {
        Format::Smiles => {
            for (i, line) in reader.lines().enumerate() {
                let line = line?;
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let mut parts = t.splitn(2, char::is_whitespace);
                let smiles = parts.next().unwrap_or("").to_string();
                let name = parts
                    .next()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty());
                push(
                    Record {
                        line: i + 1,
                        name,
                        structure: Ok(Input::Smiles(smiles)),
                        fields: BTreeMap::new(),
                    },
                    &mut batch,
                )?;
            }
        }
        Format::Csv => {
            let tsv = args
                .file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            let mut csv = csv::ReaderBuilder::new()
                .delimiter(if tsv { b'\t' } else { b',' })
                .flexible(true)
                .from_reader(reader);
            let headers = csv.headers()?.clone();
            let find = |col: &str| {
                headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(col))
            };
            let smiles_col = find(&args.smiles_column).ok_or_else(|| {
                anyhow::anyhow!(
                    "no column `{}` in {} (columns: {}); pass --smiles-column",
                    args.smiles_column,
                    args.file.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                )
            })?;
            let name_col = find(&args.name_column);
            for row in csv.records() {
                match row {
                    Ok(rec) => {
                        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
                        let structure = rec
                            .get(smiles_col)
                            .map(|s| Input::Smiles(s.to_string()))
                            .ok_or_else(|| format!("row has no `{}` column", args.smiles_column));
                        let name = name_col
                            .and_then(|c| rec.get(c))
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .map(String::from);
                        let fields = headers
                            .iter()
                            .zip(rec.iter())
                            .map(|(h, v)| (h.trim().to_string(), v.to_string()))
                            .collect();
                        push(
                            Record {
                                line,
                                name,
                                structure,
                                fields,
                            },
                            &mut batch,
                        )?;
                    }
                    Err(e) => {
                        let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                        push(
                            Record {
                                line,
                                name: None,
                                structure: Err(format!("unreadable CSV row: {e}")),
                                fields: BTreeMap::new(),
                            },
                            &mut batch,
                        )?;
                    }
                }
            }
        }
        Format::Sdf => {
            for rec in SdfReader::new(reader) {
                let name = rec
                    .fields
                    .get(&args.name_column)
                    .cloned()
                    .or_else(|| (!rec.title.is_empty()).then(|| rec.title.clone()));
                // The MOL block is authoritative: a broken one is reported, never silently
                // replaced by a SMILES data field.
                let start = rec.line;
                let structure = rec
                    .molecule
                    .map(Input::Parsed)
                    .map_err(|e| with_file_line(&e.to_string(), start));
                push(
                    Record {
                        line: rec.line,
                        name,
                        structure,
                        fields: rec.fields,
                    },
                    &mut batch,
                )?;
            }
        }
    }
    if !batch.is_empty() {
        f(batch)?;
    }
    Ok(())
}

/// RDKit numbers lines within the record; add the line in the file, which is what people open.
fn with_file_line(message: &str, record_start: usize) -> String {
    let within = message.rsplit_once("line ").and_then(|(_, n)| {
        n.trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse::<usize>()
            .ok()
    });
    match within {
        Some(n) => format!(
            "{message} of the record (file line {})",
            record_start + n - 1
        ),
        None => message.to_string(),
    }
}

pub(super) fn parse(input: Input) -> Result<Molecule, String> {
    match input {
        Input::Smiles(s) => Molecule::from_smiles(s.trim()).map_err(|e| e.to_string()),
        Input::Parsed(m) => Ok(m),
    }
}

/// Parse and compute everything stored for a molecule, on every core.
fn compute_batch(batch: Vec<Record>) -> Vec<(usize, Result<Computed, String>)> {
    batch
        .into_par_iter()
        .map(|r| {
            let name = r.name;
            let computed = r
                .structure
                .and_then(parse)
                .and_then(|mol| science::compute(&mol, name).map_err(|e| e.to_string()));
            (r.line, computed)
        })
        .collect()
}

/// Parse and compute just the feature vector and score, on every core.
/// (line, name, canonical SMILES and features, or why the row was rejected).
/// A bar over the file's lines (counted in one fast pass first); hidden when not on a terminal.
pub(super) fn progress(path: &Path) -> ProgressBar {
    let lines = File::open(path)
        .map(|f| BufReader::new(f).lines().count() as u64)
        .unwrap_or(0);
    let bar = ProgressBar::new(lines);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {percent}% ({elapsed} elapsed, ~{eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// The 20 features and the score of every structure, as CSV.
fn describe(args: &ReadArgs) -> anyhow::Result<ExitCode> {
    let mut names: Vec<String> = cryo_core::features::FEATURE_NAMES
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.push("score".into());
    describe_with(args, &names, |mol| {
        let f = mol.features().map_err(|e| e.to_string())?;
        let mut values = f.vector().to_vec();
        values.push(f64::from(molecule_score(&f).overall));
        Ok(values)
    })
}

/// Every structure's values of a model feature set, as CSV.
fn describe_set(
    args: &ReadArgs,
    set: cryo_chem::featurize::FeatureSet,
) -> anyhow::Result<ExitCode> {
    describe_with(args, &set.names(), |mol| {
        set.compute(mol).map_err(|e| e.to_string())
    })
}

/// A structure's canonical SMILES and values, or why it has none.
type Described = Result<(String, Vec<f64>), String>;

/// One CSV row per structure (line, name, canonical SMILES, then `values` under `names`),
/// computed in parallel batch by batch; bad rows are reported on stderr by line.
fn describe_with(
    args: &ReadArgs,
    names: &[String],
    values: impl Fn(&cryo_chem::Molecule) -> Result<Vec<f64>, String> + Sync,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write!(out, "line,name,canonical_smiles")?;
    for n in names {
        write!(out, ",{n}")?;
    }
    writeln!(out)?;
    let mut rejected = 0usize;
    for_each_batch(args, |batch| {
        let rows: Vec<(usize, Option<String>, Described)> = batch
            .into_par_iter()
            .map(|r| {
                let computed = r
                    .structure
                    .and_then(parse)
                    .and_then(|mol| Ok((mol.canonical_smiles(), values(&mol)?)));
                (r.line, r.name, computed)
            })
            .collect();
        for (line, name, r) in rows {
            match r {
                Ok((smiles, values)) => {
                    let name = name.unwrap_or_default().replace([',', '"'], " ");
                    write!(out, "{line},{name},{smiles}")?;
                    for v in values {
                        write!(out, ",{v}")?;
                    }
                    writeln!(out)?;
                }
                Err(reason) => {
                    rejected += 1;
                    eprintln!("line {line}: {reason}");
                }
            }
        }
        Ok(())
    })?;
    out.flush()?;
    if rejected > 0 {
        eprintln!("{rejected} row(s) rejected");
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(config: Option<PathBuf>, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let db = super::prepare_database(&settings).await?;
    let result = import_into(&db.pool, &args).await;
    db.shutdown().await?;
    result
}

async fn rank(config: Option<PathBuf>, args: RankArgs) -> anyhow::Result<ExitCode> {
    let request: cryo_app::ranking::RankRequest =
        serde_urlencoded::from_str(&args.query).map_err(|e| anyhow::anyhow!("--query: {e}"))?;
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let db = super::prepare_database(&settings).await?;
    let result = async {
        let (_, identity) = owner_identity(&db.pool, Some(&args.user)).await?;
        let app = cryo_app::App::new(db.pool.clone(), settings.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let actor = cryo_app::Actor::new(&app, identity);
        let mut out = std::io::stdout().lock();
        if args.explain {
            let plan = cryo_app::ranking::explain_molecule_ranking(&actor, &request)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for line in plan {
                writeln!(out, "{line}")?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let page = cryo_app::ranking::rank_molecules(&actor, &request)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if args.json {
            serde_json::to_writer_pretty(&mut out, &page)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{} molecules; sort {} {:?}",
                page.total, page.sort, page.order
            )?;
            for m in &page.items {
                let shown = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or("—".into());
                writeln!(
                    out,
                    "{}\t{}\t{}\tMW {}\tscore {}\tpredicted {}",
                    m.molecule.id,
                    m.molecule.name.as_deref().unwrap_or("(unnamed)"),
                    m.molecule.canonical_smiles,
                    shown(m.molecule.molecular_weight),
                    shown(m.molecule.score),
                    shown(m.prediction.as_ref().map(|p| p.value)),
                )?;
            }
            if let Some(c) = &page.next_cursor {
                writeln!(out, "next page: --query '{}&cursor={c}'", args.query)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    db.shutdown().await?;
    result
}

/// The account that will own imported rows (by e-mail), or service_role for reference data.
pub(super) async fn owner_identity(
    pool: &cryo_db::PgPool,
    email: Option<&str>,
) -> anyhow::Result<(Option<uuid::Uuid>, Identity)> {
    Ok(match email {
        Some(email) => {
            let mut tx = cryo_db::identity::begin(pool, &Identity::service()).await?;
            let user = cryo_db::repo::auth::find_for_login(&mut tx, email)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("no account with e-mail {email}; register it first")
                })?;
            tx.commit().await?;
            (Some(user.id), Identity::user(user.id))
        }
        None => (None, Identity::service()),
    })
}

/// Print the first rejected rows and write them all to `report` when asked.
pub(super) fn report_rejected(
    rejected: &[(usize, String)],
    report: Option<&Path>,
) -> anyhow::Result<()> {
    for (line, reason) in rejected.iter().take(20) {
        eprintln!("line {line}: {reason}");
    }
    if rejected.len() > 20 {
        eprintln!("… and {} more rejected rows", rejected.len() - 20);
    }
    if let Some(path) = report {
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(["line", "reason"])?;
        for (line, reason) in rejected {
            w.write_record([line.to_string(), reason.clone()])?;
        }
        w.flush()?;
    }
    Ok(())
}

async fn import_into(pool: &cryo_db::PgPool, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    science::seed_reference_data(pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (owner, identity) = owner_identity(pool, args.owner.as_deref()).await?;
    let bar = progress(&args.read.file);
    bar.set_message("importing");
    let (mut created, mut existing) = (0usize, 0usize);
    let mut rejected: Vec<(usize, String)> = Vec::new();
    let handle = tokio::runtime::Handle::current();
    let mut processed = 0usize;
    // Parsing and computing are CPU-bound (rayon); storing is async: bridge on this thread.
    tokio::task::block_in_place(|| {
        for_each_batch(&args.read, |batch| {
            let n = batch.len();
            let results = compute_batch(batch);
            handle.block_on(async {
                let mut good = Vec::with_capacity(results.len());
                for (line, r) in &results {
                    match r {
                        Ok(c) => good.push(c),
                        Err(reason) => rejected.push((*line, reason.clone())),
                    }
                }
                let mut tx = cryo_db::identity::begin(pool, &identity).await?;
                let stored = science::store_many(&mut tx, owner, &good).await?;
                tx.commit().await?;
                let new = stored.iter().filter(|(_, c)| *c).count();
                created += new;
                existing += stored.len() - new;
                anyhow::Ok(())
            })?;
            processed += n;
            bar.set_message(format!("{processed} records"));
            bar.set_position(results.last().map(|(l, _)| *l as u64).unwrap_or(0));
            Ok(())
        })
    })?;
    bar.finish_and_clear();

    report_rejected(&rejected, args.report.as_deref())?;
    println!(
        "imported {created} new, {existing} already present, {} rejected (from {processed} records)",
        rejected.len()
    );
    Ok(if created + existing == 0 && !rejected.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
