//! `cryoprotect model evaluate|train|predict|featurize|classify|algorithms`: predictive models from a
//! structure file (CSV with SMILES, or SDF) or a precomputed feature matrix, with progress bars
//! and a results table. The numeric work lives in `cryo-ml`; this module only reads files,
//! featurises through `cryo-chem` and prints.

use super::molecules::{ReadArgs, Record, for_each_batch, parse};
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use cryo_chem::featurize::FeatureSet;
use cryo_ml::classify::{
    ClassAlgorithm, ClassOptions, ClassReport, Recalibration, SetMethod, cross_validate_classifier,
};
use cryo_ml::{
    Algorithm, ConformalMethod, CvOptions, CvReport, Dataset, FeatureSignature, Sample, Scale,
    SearchSpace, Spec, Splitter, Strategy, TrainedModel, cross_validate, learning_curve, nested_cv,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Cross-validate an algorithm on a data file and print the results table.
    Evaluate(EvaluateArgs),
    /// Fit a model on every row, calibrate its intervals, validate it, and save it.
    Train(TrainArgs),
    /// Predict with a saved model; writes CSV with intervals.
    Predict(PredictArgs),
    /// Compare a saved model's predictions with measured values (a file, or experiments in the
    /// database) it was not trained on: RMSE, MAE, R², Spearman, interval coverage.
    Compare(CompareArgs),
    /// Write the feature matrix (with fold numbers) as CSV, e.g. to run another tool on the
    /// very same inputs and folds.
    Featurize(FeaturizeArgs),
    /// Cross-validate a classifier on class labels (toxic/non-toxic, a solubility class):
    /// ROC-AUC, PR-AUC, balanced accuracy, Brier, log loss, calibration error, and the
    /// coverage of conformal prediction sets.
    Classify(ClassifyArgs),
    /// List the algorithms with their default hyperparameters and search spaces.
    Algorithms,
    /// Write a registered model version (default: production) to a file, checksum verified.
    Export(super::model_registry::ExportArgs),
    /// Register a model file (from `model export` or `model train`) as a new version.
    Import(super::model_registry::ImportArgs),
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Structures (CSV with a SMILES column, or SDF) or, with --matrix, a feature table.
    #[arg(
        long,
        required_unless_present = "property",
        conflicts_with = "property",
        requires = "target"
    )]
    data: Option<PathBuf>,
    /// The column (CSV) or SD tag holding the value to predict.
    #[arg(long)]
    target: Option<String>,
    /// Train on the database instead: every experiment of this property type (molecules and
    /// mixtures; DATABASE_URL, or the embedded cluster).
    #[arg(long)]
    property: Option<String>,
    /// With --property: only measurements a colleague has verified (rejected ones never train).
    #[arg(long, requires = "property")]
    verified_only: bool,
    /// Features computed from each structure.
    #[arg(long, default_value = "rdkit", value_parser = parse_feature_set)]
    features: FeatureSet,
    /// CSV column holding SMILES.
    #[arg(long, default_value = "smiles")]
    smiles_column: String,
    /// Column with a date (YYYY-MM-DD) or number ordering the rows, for --split time.
    #[arg(long)]
    time_column: Option<String>,
    /// --data is a feature table: every column except id, the target, fold, group and the
    /// time column is a feature.
    #[arg(long)]
    matrix: bool,
    /// The target holds class labels (text, or 0/1), not numbers: replicates of a structure
    /// must agree, and `featurize` writes the labels as they are. Implied by `classify`.
    #[arg(long, conflicts_with = "property")]
    classes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum SplitKind {
    /// Shuffled k-fold (repeated with --repeats).
    Random,
    /// k-fold over Bemis–Murcko scaffolds: no scaffold on both sides.
    Scaffold,
    /// Forward-chaining in time (needs --time-column).
    Time,
    /// Leave-one-out (small sets).
    Loo,
    /// The `fold` column of a --matrix table.
    Predefined,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum SearchKind {
    Grid,
    Random,
    /// Successive halving over --trials random candidates (a third go on each round).
    Halving,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// linear, ridge, lasso, elastic_net, random_forest (rf), gradient_boosting (gbm),
    /// hist_gradient_boosting (hgb, LightGBM-style), mlp, knn.
    #[arg(long, default_value = "random_forest", value_parser = parse_algorithm)]
    algorithm: Algorithm,
    /// Override a hyperparameter, e.g. --param n_trees=300 (repeatable; JSON values).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Seed for every random choice (folds, bootstraps, initialisation).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ValidationArgs {
    /// Number of folds.
    #[arg(long, default_value_t = 5)]
    cv: usize,
    #[arg(long, value_enum, default_value = "random")]
    split: SplitKind,
    /// Repeat a random k-fold this many times with different shuffles.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Interval method: split, cv-plus, jackknife-plus, or none (plain point predictions).
    #[arg(long, default_value = "cv-plus")]
    conformal: String,
    /// What widens one interval over another: spread (the model's ensemble spread), residual
    /// (a model of where residuals are large), none (the same width everywhere), or auto
    /// (spread when the model has one, else residual).
    #[arg(long, default_value = "auto", value_parser = parse_scale)]
    interval_scale: Scale,
    /// Interval level (coverage promised on exchangeable data).
    #[arg(long, default_value_t = 0.9)]
    level: f64,
    /// Search hyperparameters over the algorithm's space (scored by inner CV).
    #[arg(long, value_enum)]
    search: Option<SearchKind>,
    /// Candidates drawn by --search random or halving.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Folds of the inner CV that scores search candidates.
    #[arg(long, default_value_t = 3)]
    inner_cv: usize,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    validation: ValidationArgs,
    /// Also compute a learning curve (20–100 % of each training fold).
    #[arg(long)]
    learning_curve: bool,
    /// Write every held-out prediction (row, observed, predicted, interval) to this CSV.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Write an HTML report with charts (held-out predictions with their intervals, and the
    /// learning curve when asked for) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    validation: ValidationArgs,
    /// Where to save the model file.
    #[arg(long)]
    out: PathBuf,
    /// Also record a learning curve (20–100 % of each training fold) in the model's validation.
    #[arg(long)]
    learning_curve: bool,
    /// Skip the scaffold-split error measured beside a random or time split (one more CV).
    #[arg(long)]
    no_scaffold_check: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model saved by `model train`.
    #[arg(long)]
    model: PathBuf,
    /// Structures to predict (SMILES list, CSV or SDF).
    #[command(flatten)]
    read: ReadArgs,
    /// Interval level.
    #[arg(long, default_value_t = 0.9)]
    level: f64,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A model saved by `model train`.
    #[arg(long)]
    model: PathBuf,
    /// The measurements (features are computed as the model's were; --features is ignored).
    #[command(flatten)]
    data: DataArgs,
    /// Interval level.
    #[arg(long, default_value_t = 0.9)]
    level: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct FeaturizeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// How the `fold` column is drawn: random (shuffled k-fold) or scaffold (no scaffold in
    /// two folds).
    #[arg(long, value_enum, default_value = "random")]
    fold_split: SplitKind,
    /// Also write a `fold` column: k-fold with this many folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    data: DataArgs,
    /// logistic, random_forest (rf), gradient_boosting (gbm), knn.
    #[arg(long, default_value = "random_forest", value_parser = parse_classifier)]
    algorithm: ClassAlgorithm,
    /// Override a hyperparameter, e.g. --param n_trees=300 (repeatable; JSON values).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Probability recalibration on held-out rows: platt, isotonic or none.
    #[arg(long, default_value = "platt", value_parser = parse_recalibration)]
    calibration: Recalibration,
    /// Prediction sets: class_conditional (the level holds within every class) or marginal.
    #[arg(long, default_value = "class_conditional", value_parser = parse_set_method)]
    sets: SetMethod,
    /// Nominal coverage of the prediction sets.
    #[arg(long, default_value_t = 0.9)]
    level: f64,
    /// Number of outer folds.
    #[arg(long, default_value_t = 5)]
    cv: usize,
    /// random, scaffold, or predefined (the `fold` column of a --matrix table).
    #[arg(long, value_enum, default_value = "random")]
    split: SplitKind,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Write every held-out prediction (id, fold, observed, predicted, a probability per
    /// class, the prediction set) to this CSV.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

fn parse_classifier(s: &str) -> Result<ClassAlgorithm, String> {
    ClassAlgorithm::parse(s).map_err(|e| e.to_string())
}

fn parse_recalibration(s: &str) -> Result<Recalibration, String> {
    Recalibration::parse(s).map_err(|e| e.to_string())
}

fn parse_set_method(s: &str) -> Result<SetMethod, String> {
    SetMethod::parse(s).map_err(|e| e.to_string())
}

fn parse_feature_set(s: &str) -> Result<FeatureSet, String> {
    s.parse()
}

fn parse_scale(s: &str) -> Result<Scale, String> {
    Scale::parse(s).map_err(|e| e.to_string())
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse().map_err(|e: cryo_ml::MlError| e.to_string())
}

pub async fn run(config: Option<PathBuf>, cmd: ModelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelCommand::Evaluate(args) => {
            // The pool is sized before anything runs on it: featurising the data would
            // otherwise start rayon's default pool first ("already initialized").
            set_threads(&args.model)?;
            let loaded = load(config, &args.data).await?;
            evaluate(args, loaded)
        }
        ModelCommand::Train(args) => {
            set_threads(&args.model)?;
            let loaded = load(config, &args.data).await?;
            train(args, loaded)
        }
        ModelCommand::Predict(args) => predict(args),
        ModelCommand::Compare(mut args) => {
            let model = load_model(&args.model)?;
            args.data.features = model_feature_set(&model)?;
            let loaded = load(config, &args.data).await?;
            compare(args, model, loaded)
        }
        ModelCommand::Featurize(args) => {
            let loaded = load(config, &args.data).await?;
            featurize(args, loaded)
        }
        ModelCommand::Classify(mut args) => {
            if let Some(n) = args.threads {
                set_thread_count(n)?;
            }
            if args.data.property.is_some() {
                bail!(
                    "classification reads a file for now (--data FILE --target COLUMN): property types in the database hold numbers only"
                );
            }
            args.data.classes = true;
            let loaded = load(config, &args.data).await?;
            classify(args, loaded)
        }
        ModelCommand::Algorithms => algorithms(),
        ModelCommand::Export(args) => super::model_registry::export(config, args).await,
        ModelCommand::Import(args) => super::model_registry::import(config, args).await,
    }
}

/// A loaded data set and what was left out of it (by file line, or by experiment id).
struct Loaded {
    source: String,
    target: String,
    /// With --classes: the class names, and `dataset.y` holds each row's index into them.
    classes: Option<Vec<String>>,
    dataset: Dataset,
    signature: FeatureSignature,
    rejected: Vec<(String, String)>,
}

async fn load(config: Option<PathBuf>, args: &DataArgs) -> anyhow::Result<Loaded> {
    match (&args.data, &args.target, &args.property) {
        (_, _, Some(property)) => load_database(config, args, property).await,
        (Some(file), Some(target), None) if args.matrix => load_matrix(args, file, target),
        (Some(file), Some(target), None) => load_structures(args, file, target),
        _ => bail!("pass --data FILE --target COLUMN, or --property NAME"),
    }
}

async fn load_database(
    config: Option<PathBuf>,
    args: &DataArgs,
    property: &str,
) -> anyhow::Result<Loaded> {
    let (settings, _) = super::load_settings(config)?;
    let db = super::prepare_database(&settings).await?;
    let read = async {
        let mut tx = cryo_db::identity::begin(&db.pool, &cryo_db::Identity::service()).await?;
        let gathered = cryo_app::training::gather(&mut tx, property).await;
        tx.commit().await?;
        let features = args.features;
        let admit = cryo_app::training::Admit {
            verified_only: args.verified_only,
        };
        let gathered = gathered.map_err(|e| anyhow::anyhow!("{e}"))?;
        tokio::task::spawn_blocking(move || gathered.featurise(features, admit))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
    .await;
    db.shutdown().await?;
    let set = read?;
    Ok(Loaded {
        source: format!("database property {property:?}"),
        target: property.to_string(),
        classes: None,
        dataset: set.dataset,
        signature: cryo_app::training::signature(args.features),
        rejected: set
            .rejected
            .into_iter()
            .map(|r| (format!("experiment {}", r.experiment_id), r.reason))
            .collect(),
    })
}

fn parse_time(value: &str) -> Result<f64, String> {
    let v = value.trim();
    if let Ok(x) = v.parse::<f64>() {
        return Ok(x);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(v.get(..10).unwrap_or(v), format)
        .map_err(|_| format!("time {v:?} is neither a number nor a YYYY-MM-DD date"))?;
    Ok(date.to_julian_day() as f64)
}

fn load_structures(args: &DataArgs, file: &Path, target: &str) -> anyhow::Result<Loaded> {
    let read = ReadArgs {
        file: file.to_path_buf(),
        format: None,
        smiles_column: args.smiles_column.clone(),
        name_column: "name".into(),
        batch_size: 500,
    };
    let set = args.features;
    let labels = args.classes.then(Labels::default);
    let bar = spinner("featurising");
    let mut samples = Vec::new();
    let mut rejected = Vec::new();
    let mut target_seen = false;
    for_each_batch(&read, |batch: Vec<Record>| {
        target_seen |= batch.iter().any(|r| r.fields.contains_key(target));
        let rows: Vec<(usize, Result<Sample, String>)> = batch
            .into_par_iter()
            .map(|r| {
                (
                    r.line,
                    sample_of(r, set, target, labels.as_ref(), args.time_column.as_deref()),
                )
            })
            .collect();
        for (line, row) in rows {
            match row {
                Ok(s) => samples.push(s),
                Err(reason) => rejected.push((format!("line {line}"), reason)),
            }
        }
        bar.set_message(format!("featurising: {} rows", samples.len()));
        Ok(())
    })?;
    bar.finish_and_clear();
    if !target_seen {
        bail!(
            "no column or SD tag `{target}` in {}; pass the name of the value to predict with --target",
            file.display()
        );
    }
    let (dataset, classes) = build_dataset(set.names(), samples, labels, &mut rejected)?;
    Ok(Loaded {
        source: file.display().to_string(),
        target: target.to_string(),
        classes,
        dataset,
        signature: FeatureSignature {
            set: set.name().into(),
            version: set.version(),
            names: set.names(),
        },
        rejected,
    })
}

/// Class labels as they are met, each coded by its first-seen position (sorted once all are
/// read, by [`build_dataset`]).
#[derive(Default)]
struct Labels(std::sync::Mutex<Vec<String>>);

impl Labels {
    fn code(&self, value: &str) -> Result<f64, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("the class label is empty".into());
        }
        let mut seen = self
            .0
            .lock()
            .map_err(|_| "label table poisoned".to_string())?;
        let code = match seen.iter().position(|l| l == value) {
            Some(i) => i,
            None => {
                if seen.len() >= cryo_ml::classify::MAX_CLASSES {
                    return Err(format!(
                        "more than {} distinct classes; is `{value}` a number rather than a class?",
                        cryo_ml::classify::MAX_CLASSES
                    ));
                }
                seen.push(value.to_string());
                seen.len() - 1
            }
        };
        Ok(code as f64)
    }
}

/// A target cell: a number, or with `labels` a class label's code.
fn target_value(value: &str, target: &str, labels: Option<&Labels>) -> Result<f64, String> {
    match labels {
        Some(l) => l.code(value),
        None => value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("`{target}` value {value:?} is not a number")),
    }
}

/// The dataset from the samples read: replicates averaged, or, for class labels, kept once when
/// they agree and left out (reported) when they do not; `y` then holds the index into the
/// sorted class names returned.
fn build_dataset(
    names: Vec<String>,
    samples: Vec<Sample>,
    labels: Option<Labels>,
    rejected: &mut Vec<(String, String)>,
) -> anyhow::Result<(Dataset, Option<Vec<String>>)> {
    let Some(labels) = labels else {
        return Ok((Dataset::from_samples(names, samples)?, None));
    };
    let seen = labels
        .0
        .into_inner()
        .map_err(|_| anyhow::anyhow!("label table poisoned"))?;
    let labelled: Vec<(Sample, String)> = samples
        .into_iter()
        .map(|s| {
            let label = seen[s.target as usize].clone();
            (s, label)
        })
        .collect();
    let settled = cryo_ml::classify::settle_labels(names, labelled)?;
    for (id, classes) in &settled.disagreements {
        rejected.push((
            format!("structure {id}"),
            format!("replicates disagree on the class: {}", classes.join(", ")),
        ));
    }
    Ok((settled.dataset, Some(settled.classes)))
}

fn sample_of(
    r: Record,
    set: FeatureSet,
    target: &str,
    labels: Option<&Labels>,
    time_column: Option<&str>,
) -> Result<Sample, String> {
    let value = r
        .fields
        .get(target)
        .ok_or_else(|| format!("no `{target}` value"))?;
    let target_value = target_value(value, target, labels)?;
    let time = match time_column {
        Some(c) => Some(parse_time(
            r.fields.get(c).ok_or_else(|| format!("no `{c}` value"))?,
        )?),
        None => None,
    };
    let mol = r.structure.and_then(parse)?;
    let features = set.compute(&mol).map_err(|e| e.to_string())?;
    let group = mol.murcko_scaffold().map_err(|e| e.to_string())?;
    Ok(Sample {
        id: mol.canonical_smiles(),
        features,
        target: target_value,
        group: Some(group),
        time,
    })
}

/// Columns of a feature table that are not features.
const MATRIX_META: [&str; 3] = ["id", "fold", "group"];

fn load_matrix(args: &DataArgs, file: &Path, target_name: &str) -> anyhow::Result<Loaded> {
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot open {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let target = find(target_name).with_context(|| {
        format!(
            "no column `{target_name}` in {} (columns: {})",
            file.display(),
            headers.iter().take(8).collect::<Vec<_>>().join(", ")
        )
    })?;
    let time_col = match &args.time_column {
        Some(c) => Some(find(c).with_context(|| format!("no time column `{c}`"))?),
        None => None,
    };
    let (id_col, fold_col, group_col) = (find("id"), find("fold"), find("group"));
    let feature_cols: Vec<usize> = (0..headers.len())
        .filter(|&j| j != target && Some(j) != time_col && !MATRIX_META.contains(&&headers[j]))
        .collect();
    let names: Vec<String> = feature_cols
        .iter()
        .map(|&j| headers[j].to_string())
        .collect();
    let mut samples = Vec::new();
    let mut folds = Vec::new();
    let labels = args.classes.then(Labels::default);
    for (k, rec) in reader.records().enumerate() {
        let line = k + 2;
        let rec = rec.with_context(|| format!("{} line {line}", file.display()))?;
        let num = |j: usize| -> anyhow::Result<f64> {
            let v = rec.get(j).unwrap_or("").trim();
            if v.is_empty() || v.eq_ignore_ascii_case("nan") {
                return Ok(f64::NAN);
            }
            v.parse().with_context(|| {
                format!(
                    "line {line}, column `{}`: {v:?} is not a number",
                    &headers[j]
                )
            })
        };
        let target_value = match &labels {
            Some(l) => l
                .code(rec.get(target).unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("line {line}: {e}"))?,
            None => num(target)?,
        };
        if !target_value.is_finite() {
            bail!("line {line}: the target `{target_name}` is missing");
        }
        if let Some(j) = fold_col {
            folds.push(num(j)? as usize);
        }
        samples.push(Sample {
            id: id_col
                .and_then(|j| rec.get(j))
                .map_or_else(|| format!("row{line}"), String::from),
            features: feature_cols
                .iter()
                .map(|&j| num(j))
                .collect::<anyhow::Result<_>>()?,
            target: target_value,
            group: group_col.and_then(|j| rec.get(j)).map(String::from),
            time: time_col.map(&num).transpose()?,
        });
    }
    let mut rejected = Vec::new();
    let (mut dataset, classes) = build_dataset(names.clone(), samples, labels, &mut rejected)?;
    if fold_col.is_some() {
        if dataset.replicates_merged > 0 {
            bail!("the table repeats ids; a fold column needs one row per id");
        }
        dataset.folds = Some(folds);
    }
    Ok(Loaded {
        source: file.display().to_string(),
        target: target_name.to_string(),
        classes,
        dataset,
        signature: FeatureSignature {
            set: "matrix".into(),
            version: format!(
                "matrix/{}",
                file.file_name().unwrap_or_default().to_string_lossy()
            ),
            names,
        },
        rejected,
    })
}

/// `--param NAME=VALUE` overrides: VALUE as JSON, or as a string when it is not JSON.
fn parse_params(params: &[String]) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    params
        .iter()
        .map(|p| {
            let (name, value) = p
                .split_once('=')
                .with_context(|| format!("--param {p:?}: expected NAME=VALUE"))?;
            let value: serde_json::Value = serde_json::from_str(value.trim())
                .unwrap_or_else(|_| serde_json::Value::String(value.trim().to_string()));
            Ok((name.trim().to_string(), value))
        })
        .collect()
}

fn base_spec(m: &ModelArgs) -> anyhow::Result<Spec> {
    let mut spec = m.algorithm.default_spec();
    for (name, value) in parse_params(&m.params)? {
        spec = spec.with_param(&name, value)?;
    }
    Ok(spec)
}

fn splitter(v: &ValidationArgs, data: &Dataset) -> anyhow::Result<Splitter> {
    Ok(match v.split {
        SplitKind::Random if v.repeats > 1 => Splitter::RepeatedKFold {
            k: v.cv,
            repeats: v.repeats,
        },
        SplitKind::Random => Splitter::KFold { k: v.cv },
        SplitKind::Scaffold => Splitter::GroupKFold { k: v.cv },
        SplitKind::Time => {
            if data.times.is_none() {
                bail!("--split time needs --time-column");
            }
            Splitter::Time { k: v.cv }
        }
        SplitKind::Loo => Splitter::LeaveOneOut,
        SplitKind::Predefined => {
            if data.folds.is_none() {
                bail!("--split predefined needs a `fold` column in a --matrix table");
            }
            Splitter::Predefined
        }
    })
}

fn options(v: &ValidationArgs, seed: u64) -> anyhow::Result<CvOptions> {
    cryo_ml::check_level(v.level).map_err(|e| anyhow::anyhow!("--level: {e}"))?;
    let conformal = if v.conformal.eq_ignore_ascii_case("none") {
        None
    } else {
        Some((ConformalMethod::parse(&v.conformal)?, v.level))
    };
    Ok(CvOptions {
        seed,
        conformal,
        scale: v.interval_scale,
    })
}

fn strategy(v: &ValidationArgs) -> Option<Strategy> {
    v.search.map(|s| match s {
        SearchKind::Grid => Strategy::Grid,
        SearchKind::Random => Strategy::Random { trials: v.trials },
        SearchKind::Halving => Strategy::Halving {
            trials: v.trials,
            factor: 3,
        },
    })
}

fn set_threads(m: &ModelArgs) -> anyhow::Result<()> {
    match m.threads {
        Some(n) => set_thread_count(n),
        None => Ok(()),
    }
}

fn set_thread_count(n: usize) -> anyhow::Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n.max(1))
        .build_global()
        .context("cannot size the worker pool")
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A bar counting model fits; hidden when stderr is not a terminal.
fn fit_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} fits ({elapsed}, ~{eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

fn describe_data(loaded: &Loaded) -> String {
    let d = &loaded.dataset;
    let noise = d.replicate_spread.map_or(String::new(), |r| {
        format!(
            "; replicates of {} structures differ by SD {:.4}, a floor no RMSE can go below",
            r.structures, r.pooled_sd
        )
    });
    format!(
        "{}: {} rows ({} replicates merged, {} rejected), {} features ({}), sha256 {}{noise}",
        loaded.source,
        d.len(),
        d.replicates_merged,
        loaded.rejected.len(),
        d.feature_names.len(),
        loaded.signature.set,
        &d.digest()[..16]
    )
}

fn report_rejected(loaded: &Loaded) {
    for (place, reason) in loaded.rejected.iter().take(20) {
        eprintln!("{place}: skipped: {reason}");
    }
    if loaded.rejected.len() > 20 {
        eprintln!("… and {} more rows skipped", loaded.rejected.len() - 20);
    }
}

/// Cross-validation of the chosen spec, or nested CV when a search is asked for.
fn validate(
    data: &Dataset,
    spec: &Spec,
    v: &ValidationArgs,
    seed: u64,
    label: &str,
) -> anyhow::Result<CvReport> {
    let outer = splitter(v, data)?;
    let opts = options(v, seed)?;
    let bar = fit_bar(label);
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = match strategy(v) {
        Some(strategy) => {
            let space = SearchSpace {
                base: spec.clone(),
                ..SearchSpace::default_for(spec.algorithm())
            };
            let inner = outer.inner(v.inner_cv);
            nested_cv(data, &space, &strategy, &outer, &inner, &opts, &progress)?
        }
        None => cross_validate(data, spec, &outer, &opts, &progress)?,
    };
    bar.finish_and_clear();
    Ok(report)
}

fn evaluate(args: EvaluateArgs, loaded: Loaded) -> anyhow::Result<ExitCode> {
    report_rejected(&loaded);
    let spec = base_spec(&args.model)?;
    let data = &loaded.dataset;
    let report = validate(
        data,
        &spec,
        &args.validation,
        args.model.seed,
        "cross-validating",
    )?;
    let curve = if args.learning_curve {
        let bar = fit_bar("learning curve");
        let progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let c = learning_curve(
            data,
            &report.spec,
            &splitter(&args.validation, data)?,
            args.model.seed,
            &progress,
        )?;
        bar.finish_and_clear();
        Some(c)
    } else {
        None
    };
    if let Some(path) = &args.predictions {
        write_predictions(path, data, &report)?;
    }
    if let Some(path) = &args.html {
        let title = format!("{} — {}", loaded.target, loaded.source);
        std::fs::write(
            path,
            cryo_app::model_view::html(&title, &report, curve.as_deref()),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(o) = value.as_object_mut() {
            o.remove("predictions");
            o.insert("dataset".into(), dataset_json(&loaded));
            o.insert("learning_curve".into(), serde_json::to_value(&curve)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", describe_data(&loaded));
        print_report(&report);
        if let Some(curve) = curve {
            println!("\nlearning curve (mean over folds)");
            println!(
                "{:>10} {:>8} {:>10} {:>10}",
                "train rows", "fit R²", "valid R²", "valid RMSE"
            );
            for p in curve {
                println!(
                    "{:>10.0} {:>8.3} {:>10.3} {:>10.4}",
                    p.train_size, p.fit_r2, p.validation_r2, p.validation_rmse
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dataset_json(loaded: &Loaded) -> serde_json::Value {
    serde_json::json!({
        "source": loaded.source,
        "rows": loaded.dataset.len(),
        "replicates_merged": loaded.dataset.replicates_merged,
        "replicate_spread": loaded.dataset.replicate_spread,
        "rejected": loaded.rejected.iter().map(|(place, r)| serde_json::json!({"at": place, "reason": r})).collect::<Vec<_>>(),
        "features": loaded.signature.set,
        "feature_count": loaded.dataset.feature_names.len(),
        "digest": loaded.dataset.digest(),
    })
}

fn write_predictions(path: &Path, data: &Dataset, report: &CvReport) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    w.write_record([
        "id",
        "repeat",
        "observed",
        "predicted",
        "lower",
        "upper",
        "spread",
    ])?;
    for p in &report.predictions {
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        w.write_record([
            data.ids[p.row].clone(),
            p.repeat.to_string(),
            p.observed.to_string(),
            p.predicted.to_string(),
            opt(p.interval.map(|i| i.lower)),
            opt(p.interval.map(|i| i.upper)),
            opt(p.spread),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn print_report(r: &CvReport) {
    println!(
        "{} {}   {}, seed {}",
        r.spec.algorithm(),
        serde_json::Value::Object(r.spec.params()),
        r.splitter,
        r.seed
    );
    let level = r
        .level
        .map(|l| format!("{:.0}% PI", l * 100.0))
        .unwrap_or_default();
    println!(
        "{:>5} {:>6} {:>6} {:>9} {:>9} {:>7} {:>8} {:>9} {:>9} {:>8}",
        "fold", "train", "test", "RMSE", "MAE", "R²", "Spearman", "coverage", "width", "fit s"
    );
    for f in &r.folds {
        let v = &f.validation;
        let (coverage, width) = cryo_app::model_view::interval_cells(v);
        println!(
            "{:>5} {:>6} {:>6} {:>9.4} {:>9.4} {:>7.3} {:>8.3} {:>9} {:>9} {:>8.2}",
            format!(
                "{}{}",
                f.index + 1,
                if f.repeat > 0 {
                    format!("/{}", f.repeat + 1)
                } else {
                    String::new()
                }
            ),
            f.train_size,
            f.test_size,
            v.rmse,
            v.mae,
            v.r2,
            v.spearman,
            coverage,
            width,
            f.fit_seconds
        );
        if let Some(chosen) = &f.chosen {
            println!(
                "{:>5}   chose {}",
                "",
                serde_json::Value::Object(chosen.params())
            );
        }
    }
    let s = &r.summary;
    println!(
        "{:>5} {:>6} {:>6} {:>9} {:>9} {:>7} {:>8}",
        "mean",
        "",
        "",
        format!("{:.4}±{:.3}", s.rmse.mean, s.rmse.std),
        format!("{:.4}", s.mae.mean),
        format!("{:.3}", s.r2.mean),
        format!("{:.3}", s.spearman.mean)
    );
    let p = &r.pooled;
    println!(
        "pooled over {} held-out predictions: RMSE {:.4}, MAE {:.4}, R² {:.3}, Spearman {:.3}{}",
        p.n,
        p.rmse,
        p.mae,
        p.r2,
        p.spearman,
        match (p.coverage, p.mean_width) {
            (Some(c), Some(w)) =>
                format!(", {level} coverage {:.1}% (mean width {w:.3})", c * 100.0),
            _ => String::new(),
        }
    );
    println!(
        "diagnosis: {:?}: {}",
        r.diagnosis.verdict, r.diagnosis.message
    );
    println!("wall time {:.2} s", r.wall_seconds);
}

fn train(args: TrainArgs, loaded: Loaded) -> anyhow::Result<ExitCode> {
    report_rejected(&loaded);
    let data = &loaded.dataset;
    if args.validation.conformal.eq_ignore_ascii_case("none") {
        bail!(
            "a saved model always carries calibrated intervals; pick --conformal split, cv-plus or jackknife-plus"
        );
    }
    let plan = cryo_ml::TrainPlan {
        spec: base_spec(&args.model)?,
        search: strategy(&args.validation).map(|strategy| cryo_ml::SearchPlan {
            strategy,
            inner_folds: args.validation.inner_cv.max(2),
        }),
        splitter: splitter(&args.validation, data)?,
        conformal: ConformalMethod::parse(&args.validation.conformal)?,
        scale: args.validation.interval_scale,
        level: args.validation.level,
        seed: args.model.seed,
        learning_curve: args.learning_curve,
        scaffold_check: !args.no_scaffold_check,
    };
    let bar = fit_bar("training");
    let progress = |stage: cryo_ml::Stage, done: usize, total: usize| {
        bar.set_message(stage.name());
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let input = cryo_ml::TrainInput {
        data,
        target: &loaded.target,
        features: &loaded.signature,
        source: &loaded.source,
    };
    let (trained, report) =
        cryo_ml::train(&input, &plan, &progress, &cryo_ml::interrupt::Stop::never())?;
    bar.finish_and_clear();
    save_model(&args.out, &trained)?;
    // The applicability domain the server will judge predictions by, with its per-bin interval
    // recalibration (molecules only).
    let domain = cryo_app::domain::Domain::of(&trained).map(|d| d.calibration);
    if args.json {
        let mut value = serde_json::to_value(&trained)?;
        if let Some(o) = value.as_object_mut() {
            o.remove("model");
            o.insert("path".into(), args.out.display().to_string().into());
            o.insert("domain".into(), serde_json::to_value(&domain)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", describe_data(&loaded));
        if let Some(trials) = &trained.search {
            println!("search: {} candidates, best first", trials.len());
            for t in trials.iter().take(5) {
                println!(
                    "  RMSE {:.4}±{:.3}  R² {:.3}  {}",
                    t.rmse_mean,
                    t.rmse_std,
                    t.r2_mean,
                    serde_json::Value::Object(t.spec.params())
                );
            }
        }
        print_report(&report);
        if let Some(m) = trained.validation.as_ref().and_then(|v| v.scaffold) {
            let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            println!(
                "under a scaffold split: RMSE {:.4}, coverage {}, mean width {}",
                m.rmse,
                opt(m.coverage),
                opt(m.mean_width)
            );
        }
        if let Some(imp) = &trained.importance {
            let top: Vec<String> = imp
                .iter()
                .take(5)
                .map(|(n, v)| format!("{n} {v:.3}"))
                .collect();
            println!("top features: {}", top.join(", "));
        }
        if let Some(c) = &domain {
            print_domain(c);
        }
        println!("saved {}", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_domain(c: &cryo_app::domain::Calibration) {
    println!(
        "domain: edge below Tanimoto {:.2}, out below {:.2} or above leverage {} ({} held-out rows)",
        c.edge_below,
        c.out_below,
        c.leverage_above.map_or("-".into(), |h| format!("{h:.3}")),
        c.rows
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for b in &c.bins {
        println!(
            "  {:<5} {:>5} rows  coverage {} → {}  width {} → {}  (×{:.2})",
            b.flag.as_str(),
            b.rows,
            opt(b.coverage_before),
            opt(b.coverage_after),
            opt(b.width_before),
            opt(b.width_after),
            b.factor
        );
    }
}

fn save_model(path: &Path, model: &TrainedModel) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = model
        .seal(env!("CARGO_PKG_VERSION"), None)?
        .to_file_bytes()?;
    // Write beside, then rename: a crash never leaves a half-written model under the real name.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

fn load_model(path: &Path) -> anyhow::Result<TrainedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    cryo_ml::Artefact::from_file_bytes(&bytes)
        .and_then(|a| a.open())
        .with_context(|| format!("cannot load the model in {}", path.display()))
}

/// A structure's canonical SMILES and features, or why it has none.
type Featurised = Result<(String, Vec<f64>), String>;

fn model_feature_set(model: &TrainedModel) -> anyhow::Result<FeatureSet> {
    model.features.set.parse().map_err(|e: String| {
        anyhow::anyhow!(
            "the model was trained on a feature table ({e}); use structures only with models trained on structures"
        )
    })
}

fn compare(args: CompareArgs, model: TrainedModel, loaded: Loaded) -> anyhow::Result<ExitCode> {
    report_rejected(&loaded);
    model.check_signature(&loaded.signature)?;
    let seen: std::collections::HashSet<&str> =
        model.dataset.ids.iter().map(String::as_str).collect();
    let data = &loaded.dataset;
    let unseen: Vec<usize> = (0..data.len())
        .filter(|&i| !seen.contains(data.ids[i].as_str()))
        .collect();
    let excluded = data.len() - unseen.len();
    if unseen.is_empty() {
        bail!(
            "every one of the {} rows was in the model's training data; there is nothing to compare honestly",
            data.len()
        );
    }
    let x = data.x.select_rows(&unseen);
    let observed: Vec<f64> = unseen.iter().map(|&i| data.y[i]).collect();
    let (predicted, intervals, _) = model.predict(&x, args.level)?;
    let metrics = cryo_ml::Metrics::compute(&observed, &predicted, Some(&intervals));
    let mut worst: Vec<(usize, f64)> = (0..unseen.len())
        .map(|k| (k, (observed[k] - predicted[k]).abs()))
        .collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    let worst: Vec<serde_json::Value> = worst
        .iter()
        .take(5)
        .map(|&(k, err)| {
            serde_json::json!({
                "id": data.ids[unseen[k]], "observed": observed[k], "predicted": predicted[k],
                "lower": intervals[k].lower, "upper": intervals[k].upper, "abs_error": err,
            })
        })
        .collect();
    if args.json {
        let value = serde_json::json!({
            "dataset": dataset_json(&loaded),
            "excluded_as_training_rows": excluded,
            "level": args.level,
            "metrics": metrics,
            "largest_errors": worst,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", describe_data(&loaded));
    println!(
        "model {} ({}), trained {} on {} rows; {excluded} rows left out because the model was trained on them",
        model.spec.algorithm(),
        model.target,
        model.trained_at,
        model.dataset.rows
    );
    println!(
        "{} rows: RMSE {:.4}, MAE {:.4}, R² {:.3}, Spearman {:.3}, {:.0}% interval coverage {:.1}% (mean width {:.3})",
        metrics.n,
        metrics.rmse,
        metrics.mae,
        metrics.r2,
        metrics.spearman,
        args.level * 100.0,
        metrics.coverage.unwrap_or_default() * 100.0,
        metrics.mean_width.unwrap_or_default()
    );
    println!("largest errors:");
    for w in &worst {
        println!(
            "  {}: observed {:.3}, predicted {:.3} [{:.3}, {:.3}]",
            w["id"].as_str().unwrap_or_default(),
            w["observed"].as_f64().unwrap_or_default(),
            w["predicted"].as_f64().unwrap_or_default(),
            w["lower"].as_f64().unwrap_or_default(),
            w["upper"].as_f64().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn predict(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let model = load_model(&args.model)?;
    let set = model_feature_set(&model)?;
    // Models trained from the database use the mixture-aware layout (two extra columns).
    let mixture_layout = model.features.names == cryo_app::training::feature_names(set);
    model.check_signature(&FeatureSignature {
        set: set.name().into(),
        version: set.version(),
        names: if mixture_layout {
            cryo_app::training::feature_names(set)
        } else {
            set.names()
        },
    })?;
    let stdout = std::io::stdout();
    let mut out = csv::Writer::from_writer(stdout.lock());
    out.write_record([
        "line",
        "name",
        "canonical_smiles",
        "predicted",
        "lower",
        "upper",
        "spread",
        "error",
        "domain",
        "nearest_similarity",
        "nearest_training_molecule",
        "interval_factor",
        "leverage",
    ])?;
    // Where each input stands among the training molecules (calibrated on the model's CV), and
    // the per-bin factors its interval is recalibrated by, as the server does.
    let domain = cryo_app::domain::Domain::of(&model);
    let factors = domain.as_ref().and_then(|d| d.factors(args.level));
    let rescale_from = domain.as_ref().and_then(|d| d.rescale_from(args.level));
    let mut failed = 0usize;
    for_each_batch(&args.read, |batch: Vec<Record>| {
        let rows: Vec<(usize, Option<String>, Featurised)> = batch
            .into_par_iter()
            .map(|r| {
                let computed = r.structure.and_then(parse).and_then(|m| {
                    Ok((
                        m.canonical_smiles(),
                        set.compute(&m).map_err(|e| e.to_string())?,
                    ))
                });
                (r.line, r.name, computed)
            })
            .collect();
        let good: Vec<&Vec<f64>> = rows
            .iter()
            .filter_map(|r| r.2.as_ref().ok().map(|c| &c.1))
            .collect();
        let x = cryo_ml::Matrix::from_rows(&good.into_iter().cloned().collect::<Vec<_>>())?;
        let (pred, intervals, spread) = if x.rows() > 0 {
            model.predict(&x, args.level)?
        } else {
            (Vec::new(), Vec::new(), None)
        };
        let base = match rescale_from {
            Some(at) if x.rows() > 0 => model.predict(&x, at)?.1,
            _ => intervals.clone(),
        };
        let mut k = 0;
        for (line, name, computed) in rows {
            let name = name.unwrap_or_default();
            match computed {
                Ok((smiles, _)) => {
                    let place = domain.as_ref().and_then(|d| d.judge(&smiles));
                    let (lower, upper, factor) = match (&place, &factors) {
                        (Some(p), Some(f)) => {
                            let (lo, hi, factor) =
                                cryo_app::domain::rescale(f, p.flag, base[k], pred[k]);
                            (lo, hi, factor.to_string())
                        }
                        _ => (intervals[k].lower, intervals[k].upper, String::new()),
                    };
                    let (flag, similarity, nearest, leverage) =
                        place.map_or_else(Default::default, |p| {
                            (
                                p.flag.as_str().to_string(),
                                p.nearest_similarity.to_string(),
                                p.nearest,
                                p.leverage.map(|h| h.to_string()).unwrap_or_default(),
                            )
                        });
                    out.write_record([
                        line.to_string(),
                        name,
                        smiles,
                        pred[k].to_string(),
                        lower.to_string(),
                        upper.to_string(),
                        spread
                            .as_ref()
                            .map(|s| s[k].to_string())
                            .unwrap_or_default(),
                        String::new(),
                        flag,
                        similarity,
                        nearest,
                        factor,
                        leverage,
                    ])?;
                    k += 1;
                }
                Err(reason) => {
                    failed += 1;
                    out.write_record([
                        line.to_string(),
                        name,
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        reason,
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ])?;
                }
            }
        }
        Ok(())
    })?;
    out.flush()?;
    if failed > 0 {
        eprintln!("{failed} rows could not be predicted (see the error column)");
    }
    Ok(ExitCode::SUCCESS)
}

fn featurize(args: FeaturizeArgs, loaded: Loaded) -> anyhow::Result<ExitCode> {
    report_rejected(&loaded);
    let data = &loaded.dataset;
    let folds = match args.fold_split {
        SplitKind::Random => Splitter::KFold { k: args.folds },
        SplitKind::Scaffold => Splitter::GroupKFold { k: args.folds },
        other => bail!("--fold-split {other:?}: only random or scaffold folds are written"),
    }
    .folds(data, args.seed)?;
    let mut fold_of = vec![0usize; data.len()];
    for f in &folds {
        for &i in &f.test {
            fold_of[i] = f.index;
        }
    }
    let mut w = csv::Writer::from_path(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let mut header = vec![
        "id".to_string(),
        loaded.target.clone(),
        "fold".into(),
        "group".into(),
    ];
    header.extend(data.feature_names.iter().cloned());
    w.write_record(&header)?;
    for i in 0..data.len() {
        let target = match &loaded.classes {
            Some(classes) => classes[data.y[i] as usize].clone(),
            None => data.y[i].to_string(),
        };
        let mut row = vec![
            data.ids[i].clone(),
            target,
            fold_of[i].to_string(),
            data.groups
                .as_ref()
                .map(|g| g[i].clone())
                .unwrap_or_default(),
        ];
        row.extend(data.x.row(i).iter().map(|v| v.to_string()));
        w.write_record(&row)?;
    }
    w.flush()?;
    eprintln!("{}", describe_data(&loaded));
    Ok(ExitCode::SUCCESS)
}

fn classify(args: ClassifyArgs, loaded: Loaded) -> anyhow::Result<ExitCode> {
    report_rejected(&loaded);
    let classes = loaded
        .classes
        .clone()
        .context("classification needs class labels")?;
    let data = &loaded.dataset;
    let spec = args
        .algorithm
        .default_spec()
        .with_params(&parse_params(&args.params)?)?;
    let splitter = match args.split {
        SplitKind::Random => Splitter::KFold { k: args.cv },
        SplitKind::Scaffold => Splitter::GroupKFold { k: args.cv },
        SplitKind::Predefined if data.folds.is_some() => Splitter::Predefined,
        SplitKind::Predefined => {
            bail!("--split predefined needs a `fold` column in a --matrix table")
        }
        other => {
            bail!("--split {other:?}: classification uses random, scaffold or predefined folds")
        }
    };
    let options = ClassOptions {
        level: args.level,
        recalibration: args.calibration,
        sets: args.sets,
        ..ClassOptions::default()
    };
    let bar = fit_bar("cross-validating");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let started = std::time::Instant::now();
    let report = cross_validate_classifier(
        &spec, data, &classes, &splitter, &options, args.seed, &progress,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(path) = &args.predictions {
        write_class_predictions(path, &report)?;
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(o) = value.as_object_mut() {
            o.remove("out_of_fold");
            o.insert("dataset".into(), dataset_json(&loaded));
            o.insert("wall_seconds".into(), seconds.into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", describe_data(&loaded));
    let counts: Vec<String> = classes
        .iter()
        .zip(&report.class_counts)
        .map(|(c, n)| format!("{c} ({n})"))
        .collect();
    println!("classes: {}", counts.join(", "));
    println!(
        "{} by {} ({} probabilities), {:.1} s",
        report.algorithm,
        report.splitter,
        options.recalibration.name(),
        seconds
    );
    let m = &report.pooled;
    println!(
        "held out: ROC-AUC {:.3}  PR-AUC {:.3}  accuracy {:.3}  balanced accuracy {:.3}  Brier {:.4}  log loss {:.4}  ECE {:.4}",
        m.roc_auc, m.pr_auc, m.accuracy, m.balanced_accuracy, m.brier, m.log_loss, m.ece
    );
    let s = &report.sets;
    let per_class: Vec<String> = classes
        .iter()
        .zip(&s.per_class)
        .map(|(c, v)| format!("{c} {v:.3}"))
        .collect();
    println!(
        "{:.0} % prediction sets ({}): coverage {:.3} ({}), mean size {:.2}, one class {:.0} %, empty {:.0} %",
        s.level * 100.0,
        options.sets.name().replace('_', "-"),
        s.coverage,
        per_class.join(", "),
        s.mean_size,
        s.singletons * 100.0,
        s.empty * 100.0
    );
    Ok(ExitCode::SUCCESS)
}

fn write_class_predictions(path: &Path, report: &ClassReport) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut header = vec![
        "id".to_string(),
        "fold".into(),
        "observed".into(),
        "predicted".into(),
    ];
    header.extend(report.classes.iter().map(|c| format!("p_{c}")));
    header.push("set".into());
    w.write_record(&header)?;
    for o in &report.out_of_fold {
        let p = &o.prediction;
        let mut row = vec![
            o.id.clone(),
            o.fold.to_string(),
            report.classes[o.label].clone(),
            report.classes[p.label].clone(),
        ];
        row.extend(p.probabilities.iter().map(|v| v.to_string()));
        let set: Vec<&str> = p.set.iter().map(|&c| report.classes[c].as_str()).collect();
        row.push(set.join("|"));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

fn algorithms() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for a in Algorithm::ALL {
        writeln!(out, "{a}")?;
        writeln!(
            out,
            "  defaults: {}",
            serde_json::Value::Object(a.default_spec().params())
        )?;
        let space = SearchSpace::default_for(a);
        for (name, domain) in &space.params {
            writeln!(out, "  search {name}: {}", serde_json::to_string(domain)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
