//! Similarity and substructure search over every molecule the caller can see. The scans run on
//! the compute pool, in parallel, under the request's deadline; paging happens after ranking.

use crate::{Actor, AppError, AppResult};
use cryo_chem::{ChemError, Fingerprint, Molecule, Query};
use cryo_core::deadline::Expired;
use cryo_core::ident::{OneOf, exactly_one};
use cryo_db::repo::Page;
use cryo_db::repo::science::{self as repo, MoleculeRow};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The threshold when the caller gives none.
pub const DEFAULT_THRESHOLD: f64 = 0.3;
/// Hits per page when the caller gives no limit.
pub const DEFAULT_HITS: i64 = 50;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimilarityHit {
    pub molecule: MoleculeRow,
    /// Tanimoto similarity on Morgan fingerprints (radius 2, 2048 bits).
    pub similarity: f64,
}

/// How many molecules the caller can see share each Bemis–Murcko scaffold, with the best score
/// among them: which chemotypes the library holds, most frequent first.
pub async fn scaffolds(actor: &Actor<'_>, page: Page) -> AppResult<Vec<repo::ScaffoldCount>> {
    actor
        .read(async |tx| repo::scaffold_counts(tx, page).await)
        .await
}

/// Molecules at least `threshold` (0–1, Tanimoto) similar to `smiles`, most similar first
/// (ties by id), paged.
pub async fn similar(
    actor: &Actor<'_>,
    smiles: String,
    threshold: Option<f64>,
    page: Page,
) -> AppResult<Vec<SimilarityHit>> {
    let threshold = threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(0.0..=1.0).contains(&threshold) {
        return Err(AppError::validation("threshold", "must be between 0 and 1"));
    }
    let query = actor
        .compute(move |_| Ok(Molecule::from_smiles(&smiles)?.fingerprint()?))
        .await?;
    // The scan runs between two short transactions, so no connection waits on the CPU work.
    let fps = actor.read(async |tx| repo::fingerprints(tx).await).await?;
    let ranked = actor
        .compute(move |deadline| {
            let mut scored = fps
                .par_iter()
                .map(|(id, bytes)| {
                    deadline.check()?;
                    Ok(Fingerprint::from_bytes(bytes).map(|fp| (*id, query.tanimoto(&fp))))
                })
                .collect::<Result<Vec<_>, Expired>>()
                .map_err(ChemError::from)?
                .into_iter()
                .flatten()
                .filter(|(_, sim)| *sim >= threshold)
                .collect::<Vec<(Uuid, f64)>>();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            Ok(scored)
        })
        .await?;
    let ranked = paged(ranked, page);
    let ids: Vec<Uuid> = ranked.iter().map(|(id, _)| *id).collect();
    let mut molecules: BTreeMap<Uuid, MoleculeRow> = actor
        .read(async |tx| repo::molecules_by_ids(tx, &ids).await)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, similarity)| {
            molecules.remove(&id).map(|molecule| SimilarityHit {
                molecule,
                similarity,
            })
        })
        .collect())
}

/// Molecules containing a SMARTS pattern or a SMILES substructure (exactly one), in id order,
/// paged.
pub async fn containing(
    actor: &Actor<'_>,
    smarts: Option<String>,
    smiles: Option<String>,
    page: Page,
) -> AppResult<Vec<MoleculeRow>> {
    let (text, is_smarts) = match exactly_one(smarts, smiles, ("smarts", "smiles"))? {
        OneOf::First(q) => (q, true),
        OneOf::Second(q) => (q, false),
    };
    let parse = move |t: &str| {
        if is_smarts {
            Query::smarts(t)
        } else {
            Query::smiles(t)
        }
    };
    // A bad pattern is the caller's error before any molecule is read.
    let checked = text.clone();
    actor
        .compute(move |_| Ok(parse(&checked).map(drop)?))
        .await?;
    let structures = actor.read(async |tx| repo::structures(tx).await).await?;
    let hits = actor
        .compute(move |deadline| {
            // Each worker parses its own copy of the query: RDKit query molecules are not
            // shared. The deadline stops the scan between molecules and inside a match.
            let mut hits = structures
                .par_iter()
                .map_init(
                    || parse(&text).ok(),
                    |q, (id, smiles)| {
                        let (Some(q), Ok(m)) = (q.as_ref(), Molecule::from_smiles(smiles)) else {
                            return Ok(None);
                        };
                        match m.matches(q, deadline) {
                            Ok(hit) => Ok(hit.then_some(*id)),
                            Err(e @ ChemError::DeadlineExceeded(_)) => Err(e),
                            Err(_) => Ok(None),
                        }
                    },
                )
                .collect::<Result<Vec<Option<Uuid>>, ChemError>>()?
                .into_iter()
                .flatten()
                .collect::<Vec<Uuid>>();
            hits.sort();
            Ok(hits)
        })
        .await?;
    let ids = paged(hits, page);
    let mut rows = actor
        .read(async |tx| repo::molecules_by_ids(tx, &ids).await)
        .await?;
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

fn paged<T>(ranked: Vec<T>, page: Page) -> Vec<T> {
    ranked
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect()
}
