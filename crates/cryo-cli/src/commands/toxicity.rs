//! `cryoprotect toxicity import|describe`: assay files in the Tox21 wide layout (SMILES and the
//! twelve endpoint columns with 1/0/blank) or a long layout (SMILES, assay, hit call, potency,
//! unit), stored as activities with every bad row or cell reported by line; and alerts + QED +
//! InChIKey of every structure in a file, without a database.

use super::load_settings;
use super::molecules::{
    ReadArgs, Record, for_each_batch, owner_identity, parse, progress, report_rejected,
};
use clap::Subcommand;
use cryo_app::molecules as science;
use cryo_app::toxicity::{
    ImportMeasurement, ImportReport, ImportRow, import_rows, parse_activity_type, parse_hit_call,
    parse_potency,
};
use cryo_core::toxicity::{AlertFamily, TOX21_ASSAYS};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ToxicityCommand {
    /// Import assay results (Tox21 wide CSV or long CSV); bad rows and cells are reported by
    /// line and the rest stored. Re-importing replaces, never duplicates.
    Import(ImportArgs),
    /// Print every structure's QED and structural-alert counts per family (and with --keys its
    /// InChIKey) as CSV (no database).
    Describe(DescribeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// E-mail of the user who will own the activities (and any new molecules).
    #[arg(long, required_unless_present = "reference")]
    owner: Option<String>,
    /// Import as reference data, readable by everyone (administrators).
    #[arg(long, conflicts_with = "owner")]
    reference: bool,
    /// Write every rejected row or cell (line, reason) to this CSV file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// Also list the names of the alerts that matched.
    #[arg(long)]
    names: bool,
    /// Also compute each structure's standard InChIKey (stereo included).
    #[arg(long)]
    keys: bool,
}

pub async fn run(config: Option<PathBuf>, cmd: ToxicityCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ToxicityCommand::Import(args) => import(config, args).await,
        ToxicityCommand::Describe(args) => describe(&args),
    }
}

/// The measurements of one record: the Tox21 columns present (wide), or one assay column
/// (long). Errors are per cell, so one bad cell does not lose the row's other measurements.
fn measurements(fields: &BTreeMap<String, String>) -> (Vec<ImportMeasurement>, Vec<String>) {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    if let Some(assay) = get("assay").or_else(|| get("assay_id")) {
        let hit = parse_hit_call(get("hit_call").unwrap_or(""));
        let potency = parse_potency(get("potency").unwrap_or(""), get("unit").unwrap_or(""));
        let kind = parse_activity_type(get("activity_type").unwrap_or(""));
        match (hit, potency, kind) {
            (Ok(None), Ok(None), _) => {
                errors.push(format!("assay `{assay}`: neither a hit call nor a potency"))
            }
            (Ok(hit_call), Ok(potency), Ok(activity_type)) => out.push(ImportMeasurement {
                assay_key: assay.trim().to_string(),
                hit_call,
                activity_type,
                potency: potency.as_ref().map(|p| p.0),
                potency_unit: potency.map(|p| p.1),
            }),
            (h, p, k) => errors.extend(
                [h.err(), p.err(), k.err()]
                    .into_iter()
                    .flatten()
                    .map(|e| format!("assay `{assay}`: {e}")),
            ),
        }
        return (out, errors);
    }
    for (column, _, _) in TOX21_ASSAYS {
        let Some(cell) = get(column) else { continue };
        match parse_hit_call(cell) {
            Ok(Some(hit)) => out.push(ImportMeasurement {
                assay_key: column.to_string(),
                hit_call: Some(hit),
                activity_type: None,
                potency: None,
                potency_unit: None,
            }),
            Ok(None) => {}
            Err(e) => errors.push(format!("column {column}: {e}")),
        }
    }
    (out, errors)
}

/// Parse, compute and read the measurements of a batch, on every core.
fn prepare(batch: Vec<Record>) -> (Vec<ImportRow>, Vec<(usize, String)>) {
    let results: Vec<_> = batch
        .into_par_iter()
        .map(|r| {
            let (found, cell_errors) = measurements(&r.fields);
            let computed = r
                .structure
                .and_then(parse)
                .and_then(|m| science::compute(&m, r.name).map_err(|e| e.to_string()));
            (r.line, computed, found, cell_errors)
        })
        .collect();
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for (line, computed, found, cell_errors) in results {
        rejected.extend(cell_errors.into_iter().map(|e| (line, e)));
        match computed {
            Err(e) => rejected.push((line, e)),
            Ok(_) if found.is_empty() => rejected.push((line, "no measurement in this row".into())),
            Ok(computed) => rows.push(ImportRow {
                line,
                computed,
                measurements: found,
            }),
        }
    }
    (rows, rejected)
}

async fn import(config: Option<PathBuf>, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let (settings, _) = load_settings(config)?;
    let _log = crate::telemetry::init(&settings.log)?;
    let db = super::prepare_database(&settings).await?;
    let result = import_into(&db.pool, &args).await;
    db.shutdown().await?;
    result
}

async fn import_into(pool: &cryo_db::PgPool, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let (owner, identity) = owner_identity(pool, args.owner.as_deref()).await?;
    let bar = progress(&args.read.file);
    bar.set_message("importing assay results");
    let mut report = ImportReport::default();
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        for_each_batch(&args.read, |batch| {
            let (rows, rejected) = prepare(batch);
            report.rejected.extend(rejected);
            handle.block_on(async {
                let mut tx = cryo_db::identity::begin(pool, &identity).await?;
                import_rows(&mut tx, owner, &rows, &mut report)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                tx.commit().await?;
                anyhow::Ok(())
            })?;
            bar.set_message(format!("{} rows", report.rows));
            bar.set_position(rows.last().map(|r| r.line as u64).unwrap_or(0));
            Ok(())
        })
    })?;
    bar.finish_and_clear();
    report.rejected.sort();
    report_rejected(&report.rejected, args.report.as_deref())?;
    println!(
        "stored {} new and {} updated activities for {} rows ({} molecules matched, {} created); {} rejected",
        report.activities_new,
        report.activities_updated,
        report.rows,
        report.molecules_matched,
        report.molecules_created,
        report.rejected.len()
    );
    Ok(
        if report.activities_new + report.activities_updated == 0 && !report.rejected.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// A structure's key, QED and alerts (CPU).
type Described = Result<(String, f64, Vec<cryo_chem::toxicity::Alert>), String>;

fn describe(args: &DescribeArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write!(out, "line,inchikey,qed")?;
    for f in AlertFamily::ALL {
        write!(out, ",{}", f.as_str())?;
    }
    writeln!(out, "{}", if args.names { ",alerts" } else { "" })?;
    let mut rejected = 0usize;
    for_each_batch(&args.read, |batch| {
        let rows: Vec<(usize, Described)> = batch
            .into_par_iter()
            .map(|r| {
                let d = r.structure.and_then(parse).and_then(|m| {
                    let key = if args.keys {
                        m.identifiers()
                            .map_err(|e| e.to_string())?
                            .map(|i| i.inchikey)
                            .unwrap_or_default()
                    } else {
                        String::new()
                    };
                    let qed = m.qed().map_err(|e| e.to_string())?;
                    let alerts = m.structural_alerts().map_err(|e| e.to_string())?;
                    Ok((key, qed, alerts))
                });
                (r.line, d)
            })
            .collect();
        for (line, d) in rows {
            match d {
                Ok((key, qed, alerts)) => {
                    write!(out, "{line},{key},{qed:.6}")?;
                    for (_, n) in cryo_chem::toxicity::counts(&alerts) {
                        write!(out, ",{n}")?;
                    }
                    if args.names {
                        let names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
                        write!(out, ",\"{}\"", names.join(";").replace('"', "'"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn wide_rows_keep_good_cells_and_name_bad_ones() {
        let (m, e) = measurements(&fields(&[
            ("smiles", "CCO"),
            ("NR-AR", "1"),
            ("NR-AhR", ""),
            ("SR-p53", "0"),
            ("SR-MMP", "maybe"),
        ]));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].hit_call, Some(true));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("SR-MMP") && e[0].contains("maybe"), "{e:?}");
    }

    #[test]
    fn long_rows_read_potency_with_unit() {
        let (m, e) = measurements(&fields(&[
            ("smiles", "CCO"),
            ("assay", "SR-p53"),
            ("hit_call", ""),
            ("potency", "12.5"),
            ("unit", "uM"),
            ("activity_type", "ac50"),
        ]));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(m[0].potency, Some(12.5));
        assert_eq!(m[0].activity_type.as_deref(), Some("AC50"));
        let (m, e) = measurements(&fields(&[("assay", "SR-p53"), ("potency", "-3")]));
        assert!(m.is_empty());
        assert!(e[0].contains("positive"), "{e:?}");
    }
}
