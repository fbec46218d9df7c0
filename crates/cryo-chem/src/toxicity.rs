//! Structural alerts (RDKit's FilterCatalog) and QED's eight properties.

use crate::ffi::sys;
use crate::{ChemError, Molecule, toolkit};
use cryo_core::toxicity::{AlertFamily, QedProperties, qed};
use cxx::UniquePtr;
use serde::Serialize;

/// One alert that matched a molecule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub family: AlertFamily,
    /// The catalog entry's name, e.g. `rhod_sat_A(33)` or `thiocarbonyl_group`.
    pub name: String,
    /// The literature it comes from.
    pub reference: String,
    /// What the set screens for.
    pub scope: String,
    /// Atom indices (of the canonical SMILES' molecule) the alert matched, for highlighting.
    pub atoms: Vec<u32>,
}

/// Alert counts per family (every family present, zeros included).
pub fn counts(alerts: &[Alert]) -> Vec<(AlertFamily, u32)> {
    AlertFamily::ALL
        .iter()
        .map(|f| (*f, alerts.iter().filter(|a| a.family == *f).count() as u32))
        .collect()
}

const ACCEPTORS: &str = include_str!("../data/qed-acceptors.smarts");
const ALERTS: &str = include_str!("../data/qed-alerts.smarts");
/// Atoms of aliphatic rings and what hangs off them: deleted before counting aromatic rings.
const ALIPHATIC_RING: &str = "[$([A;R][!a])]";

fn smarts_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

struct QedPatterns(UniquePtr<sys::QedPatterns>);

impl QedPatterns {
    fn new() -> QedPatterns {
        sys::init();
        QedPatterns(
            sys::qed_patterns(
                smarts_lines(ACCEPTORS),
                smarts_lines(ALERTS),
                ALIPHATIC_RING,
            )
            .expect("built-in QED SMARTS parse"),
        )
    }
}

thread_local! {
    // Query molecules are not shared across threads.
    static QED_PATTERNS: QedPatterns = QedPatterns::new();
}

impl Molecule {
    /// Every FilterCatalog alert (PAINS A/B/C, Brenk, NIH, ZINC) that matches.
    pub fn structural_alerts(&self) -> Result<Vec<Alert>, ChemError> {
        let hits = sys::structural_alerts(&self.mol).map_err(toolkit)?;
        hits.into_iter()
            .map(|h| {
                let family = AlertFamily::from_filter_set(&h.family).ok_or_else(|| {
                    ChemError::Toolkit(format!("unknown alert set {:?}", h.family))
                })?;
                Ok(Alert {
                    family,
                    name: h.name,
                    reference: h.reference,
                    scope: h.scope,
                    atoms: h.atoms,
                })
            })
            .collect()
    }

    /// QED's eight properties as RDKit's `Chem.QED.properties` defines them.
    pub fn qed_properties(&self) -> Result<QedProperties, ChemError> {
        let v = QED_PATTERNS
            .with(|p| sys::qed_properties(&self.mol, &p.0))
            .map_err(toolkit)?;
        Ok(QedProperties {
            mw: v[0],
            alogp: v[1],
            hba: v[2],
            hbd: v[3],
            psa: v[4],
            rotb: v[5],
            arom: v[6],
            alerts: v[7],
        })
    }

    /// Quantitative estimate of drug-likeness (mean weights), 0–1.
    pub fn qed(&self) -> Result<f64, ChemError> {
        Ok(qed(&self.qed_properties()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(smiles: &str) -> Vec<Alert> {
        Molecule::from_smiles(smiles)
            .unwrap()
            .structural_alerts()
            .unwrap()
    }

    #[test]
    fn rhodanine_is_flagged_and_the_match_names_its_atoms() {
        let a = alerts("O=C1NC(=S)SC1");
        assert!(!a.is_empty());
        assert!(a.iter().all(|x| !x.atoms.is_empty() && !x.name.is_empty()));
        assert!(a.iter().any(|x| x.family == AlertFamily::Brenk));
        // Glycerol carries no alert in any family.
        assert!(alerts("OCC(O)CO").is_empty());
    }

    #[test]
    fn an_alerts_atoms_are_highlighted_in_the_depiction() {
        let m = Molecule::from_smiles("O=C1NC(=S)SC1").unwrap();
        let a = &m.structural_alerts().unwrap()[0];
        let plain = m.svg(300, 200).unwrap();
        let marked = m.svg_highlighted(300, 200, &a.atoms).unwrap();
        // RDKit's default highlight colour, (1, 0.5, 0.5).
        assert!(!plain.contains("#FF7F7F"));
        assert!(marked.contains("#FF7F7F"), "{marked}");
        // Indices beyond the molecule are ignored, not an error.
        assert_eq!(m.svg_highlighted(300, 200, &[99]).unwrap(), plain);
    }

    /// Known drugs and cryoprotectants (DMSO, glycerol, formamide, acrylamide, catechol,
    /// rhodanine, …): alert counts per family and QED equal RDKit's in Python
    /// (`bench/alerts_fixture.py` wrote the reference).
    #[test]
    fn alert_counts_and_qed_equal_rdkit_in_python() {
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../tests/data/alerts_reference.json")).unwrap();
        let rows = reference["structures"].as_array().unwrap();
        assert!(rows.len() >= 6);
        let mut flagged = 0;
        for row in rows {
            let name = row["name"].as_str().unwrap();
            let m = Molecule::from_smiles(row["smiles"].as_str().unwrap()).unwrap();
            for (family, n) in counts(&m.structural_alerts().unwrap()) {
                assert_eq!(
                    n as u64,
                    row["counts"][family.as_str()].as_u64().unwrap(),
                    "{name}: {}",
                    family.as_str()
                );
                flagged += n;
            }
            let q = m.qed().unwrap();
            let want = row["qed"].as_f64().unwrap();
            assert!((q - want).abs() < 1e-9, "{name}: QED {q} vs {want}");
        }
        assert!(flagged > 10, "the set exercises the alerts: {flagged}");
    }

    #[test]
    fn every_builtin_smarts_parses() {
        assert_eq!(smarts_lines(ALERTS).len(), 116);
        assert_eq!(smarts_lines(ACCEPTORS).len(), 11);
        let m = Molecule::from_smiles("CS(C)=O").unwrap();
        let q = m.qed().unwrap();
        assert!(q > 0.0 && q < 1.0);
    }
}
