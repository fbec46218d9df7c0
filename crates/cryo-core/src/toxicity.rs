//! Toxicity: structural-alert families, QED, and the toxicity scores built from assay data.
//!
//! **Endpoint scores** follow the original's `toxicity_scorer.py` (§3.5 of the behaviour
//! reference). For one endpoint with n measured values v (hit calls 1/0, or potencies already
//! normalised to 0..1):
//! - score = mean(v), the fraction of assays that were active;
//! - completeness = min(1, n/5);
//! - confidence = min(1, 0.5·min(1, n/5) + 0.5·(1 − sd(v))), sd the population standard
//!   deviation (numpy's default, ddof = 0), so agreeing assays are trusted more.
//!
//! **Overall**: score = Σ(score·w·conf)/Σ(w·conf) over covered endpoints, weights w by
//! [`Endpoint::weight`]; coverage = covered/12; confidence = 0.7·mean(conf) + 0.3·coverage;
//! completeness = 0.7·mean(completeness) + 0.3·coverage. The unified score reads the overall
//! score as a risk on 0–100 ([`ToxicityScore::risk`]).
//!
//! **QED** (quantitative estimate of drug-likeness): Bickerton, Paolini, Besnard, Muresan &
//! Hopkins, Nature Chemistry 4 (2012) 90–98, doi:10.1038/nchem.1243, with the asymmetric double
//! sigmoid (ADS) parameters and mean weights of that paper as RDKit's `Chem.QED` (v1.1.0) uses them.

use serde::Serialize;
use std::collections::BTreeMap;

/// The structural-alert sets RDKit's FilterCatalog ships (2022.09).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertFamily {
    /// Pan-assay interference compounds, families A–C: Baell & Holloway, J Med Chem 53 (2010)
    /// 2719–2740, doi:10.1021/jm901137j.
    PainsA,
    PainsB,
    PainsC,
    /// Unwanted functionality (toxicity, pharmacokinetics): Brenk et al., ChemMedChem 3 (2008)
    /// 435–444, doi:10.1002/cmdc.200700139.
    Brenk,
    /// Problematic functional groups: Jadhav et al., J Med Chem 53 (2010) 37–51,
    /// doi:10.1021/jm901070c.
    Nih,
    /// ZINC's drug-likeness and unwanted-group filters.
    Zinc,
}

impl AlertFamily {
    pub const ALL: [AlertFamily; 6] = [
        AlertFamily::PainsA,
        AlertFamily::PainsB,
        AlertFamily::PainsC,
        AlertFamily::Brenk,
        AlertFamily::Nih,
        AlertFamily::Zinc,
    ];

    /// From the `FilterSet` property of a FilterCatalog entry.
    pub fn from_filter_set(s: &str) -> Option<AlertFamily> {
        Some(match s {
            "PAINS_A" => AlertFamily::PainsA,
            "PAINS_B" => AlertFamily::PainsB,
            "PAINS_C" => AlertFamily::PainsC,
            "Brenk" => AlertFamily::Brenk,
            "NIH" => AlertFamily::Nih,
            "ZINC" => AlertFamily::Zinc,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertFamily::PainsA => "pains_a",
            AlertFamily::PainsB => "pains_b",
            AlertFamily::PainsC => "pains_c",
            AlertFamily::Brenk => "brenk",
            AlertFamily::Nih => "nih",
            AlertFamily::Zinc => "zinc",
        }
    }

    /// The property type its per-molecule count is stored under (filterable and rankable).
    pub fn property_name(self) -> &'static str {
        match self {
            AlertFamily::PainsA => "Alerts: PAINS A",
            AlertFamily::PainsB => "Alerts: PAINS B",
            AlertFamily::PainsC => "Alerts: PAINS C",
            AlertFamily::Brenk => "Alerts: Brenk",
            AlertFamily::Nih => "Alerts: NIH",
            AlertFamily::Zinc => "Alerts: ZINC",
        }
    }
}

/// The eight QED properties, as RDKit computes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QedProperties {
    pub mw: f64,
    pub alogp: f64,
    pub hba: f64,
    pub hbd: f64,
    pub psa: f64,
    pub rotb: f64,
    pub arom: f64,
    pub alerts: f64,
}

/// An asymmetric double sigmoid: A, B, C, D, E, F and its maximum.
struct Ads([f64; 7]);

impl Ads {
    fn desirability(&self, x: f64) -> f64 {
        let [a, b, c, d, e, f, dmax] = self.0;
        let rise = 1.0 + (-(x - c + d / 2.0) / e).exp();
        let fall = 1.0 + (-(x - c - d / 2.0) / f).exp();
        (a + b / rise * (1.0 - 1.0 / fall)) / dmax
    }
}

/// Bickerton et al. (2012), Table 1 / supplementary: ADS parameters in the order MW, ALOGP,
/// HBA, HBD, PSA, ROTB, AROM, ALERTS.
const QED_ADS: [Ads; 8] = [
    Ads([
        2.817065973,
        392.5754953,
        290.7489764,
        2.419764353,
        49.22325677,
        65.37051707,
        104.9805561,
    ]),
    Ads([
        3.172690585,
        137.8624751,
        2.534937431,
        4.581497897,
        0.822739154,
        0.576295591,
        131.3186604,
    ]),
    Ads([
        2.948620388,
        160.4605972,
        3.615294657,
        4.435986202,
        0.290141953,
        1.300669958,
        148.7763046,
    ]),
    Ads([
        1.618662227,
        1010.051101,
        0.985094388,
        0.000000001,
        0.713820843,
        0.920922555,
        258.1632616,
    ]),
    Ads([
        1.876861559,
        125.2232657,
        62.90773554,
        87.83366614,
        12.01999824,
        28.51324732,
        104.5686167,
    ]),
    Ads([
        0.010000000,
        272.4121427,
        2.558379970,
        1.565547684,
        1.271567166,
        2.758063707,
        105.4420403,
    ]),
    Ads([
        3.217788970,
        957.7374108,
        2.274627939,
        0.000000001,
        1.317690384,
        0.375760881,
        312.3372610,
    ]),
    Ads([
        0.010000000,
        1199.094025,
        -0.09002883,
        0.000000001,
        0.185904477,
        0.875193782,
        417.7253140,
    ]),
];

/// The paper's "mean" weights (QED_w,mo), same order.
const QED_MEAN_WEIGHTS: [f64; 8] = [0.66, 0.46, 0.05, 0.61, 0.06, 0.65, 0.48, 0.95];

/// QED with the mean weights: the weighted geometric mean of the eight desirabilities (0–1).
pub fn qed(p: &QedProperties) -> f64 {
    let x = [p.mw, p.alogp, p.hba, p.hbd, p.psa, p.rotb, p.arom, p.alerts];
    let weighted: f64 = QED_ADS
        .iter()
        .zip(x)
        .zip(QED_MEAN_WEIGHTS)
        .map(|((ads, x), w)| w * ads.desirability(x).ln())
        .sum();
    (weighted / QED_MEAN_WEIGHTS.iter().sum::<f64>()).exp()
}

/// The toxicity endpoints scores are grouped by, with the original's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    NuclearReceptor,
    StressResponse,
    DnaDamage,
    CellCycle,
    Apoptosis,
    MitochondrialFunction,
    EnzymeInhibition,
    CellSignaling,
    Immunotoxicity,
    Neurotoxicity,
    DevelopmentalToxicity,
    Other,
}

impl Endpoint {
    pub const ALL: [Endpoint; 12] = [
        Endpoint::NuclearReceptor,
        Endpoint::StressResponse,
        Endpoint::DnaDamage,
        Endpoint::CellCycle,
        Endpoint::Apoptosis,
        Endpoint::MitochondrialFunction,
        Endpoint::EnzymeInhibition,
        Endpoint::CellSignaling,
        Endpoint::Immunotoxicity,
        Endpoint::Neurotoxicity,
        Endpoint::DevelopmentalToxicity,
        Endpoint::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::NuclearReceptor => "nuclear_receptor",
            Endpoint::StressResponse => "stress_response",
            Endpoint::DnaDamage => "dna_damage",
            Endpoint::CellCycle => "cell_cycle",
            Endpoint::Apoptosis => "apoptosis",
            Endpoint::MitochondrialFunction => "mitochondrial_function",
            Endpoint::EnzymeInhibition => "enzyme_inhibition",
            Endpoint::CellSignaling => "cell_signaling",
            Endpoint::Immunotoxicity => "immunotoxicity",
            Endpoint::Neurotoxicity => "neurotoxicity",
            Endpoint::DevelopmentalToxicity => "developmental_toxicity",
            Endpoint::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The original's endpoint weights (`toxicity_scorer.py`).
    pub fn weight(self) -> f64 {
        match self {
            Endpoint::NuclearReceptor | Endpoint::StressResponse => 1.0,
            Endpoint::DnaDamage => 1.2,
            Endpoint::CellCycle => 0.9,
            Endpoint::Apoptosis => 1.1,
            Endpoint::MitochondrialFunction => 1.0,
            Endpoint::EnzymeInhibition | Endpoint::CellSignaling => 0.8,
            Endpoint::Immunotoxicity => 1.1,
            Endpoint::Neurotoxicity => 1.2,
            Endpoint::DevelopmentalToxicity => 1.3,
            Endpoint::Other => 0.7,
        }
    }
}

/// The twelve Tox21 Data Challenge assays of MoleculeNet's `tox21.csv` (column name, the
/// endpoint it informs, what it measures).
pub const TOX21_ASSAYS: [(&str, Endpoint, &str); 12] = [
    (
        "NR-AR",
        Endpoint::NuclearReceptor,
        "androgen receptor, full length (MDA cell line)",
    ),
    (
        "NR-AR-LBD",
        Endpoint::NuclearReceptor,
        "androgen receptor, ligand-binding domain",
    ),
    (
        "NR-AhR",
        Endpoint::NuclearReceptor,
        "aryl hydrocarbon receptor",
    ),
    ("NR-Aromatase", Endpoint::NuclearReceptor, "aromatase"),
    (
        "NR-ER",
        Endpoint::NuclearReceptor,
        "estrogen receptor alpha, full length (BG1 cell line)",
    ),
    (
        "NR-ER-LBD",
        Endpoint::NuclearReceptor,
        "estrogen receptor alpha, ligand-binding domain",
    ),
    (
        "NR-PPAR-gamma",
        Endpoint::NuclearReceptor,
        "peroxisome proliferator-activated receptor gamma",
    ),
    (
        "SR-ARE",
        Endpoint::StressResponse,
        "antioxidant response element (oxidative stress)",
    ),
    ("SR-ATAD5", Endpoint::DnaDamage, "ATAD5 (genotoxicity)"),
    (
        "SR-HSE",
        Endpoint::StressResponse,
        "heat shock factor response element",
    ),
    (
        "SR-MMP",
        Endpoint::MitochondrialFunction,
        "mitochondrial membrane potential",
    ),
    ("SR-p53", Endpoint::DnaDamage, "p53 (DNA damage response)"),
];

/// Property types named `Toxicity: <assay key>` are an assay's hit calls: a classifier
/// trained on one learns that assay from the imported activities.
pub const ASSAY_PROPERTY_PREFIX: &str = "Toxicity: ";

/// The property type of an assay's hit calls.
pub fn assay_property(assay_key: &str) -> String {
    format!("{ASSAY_PROPERTY_PREFIX}{assay_key}")
}

/// One endpoint's score from its measured values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointScore {
    /// Mean activity, 0 (inactive everywhere) to 1 (active everywhere).
    pub score: f64,
    pub confidence: f64,
    pub completeness: f64,
    /// Values it rests on.
    pub n: usize,
}

/// Values needed for a complete endpoint (the original's n/5).
const FULL_ENDPOINT: f64 = 5.0;

/// The endpoint score of `values` (each in 0..=1); `None` without values.
pub fn endpoint_score(values: &[f64]) -> Option<EndpointScore> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let completeness = (n / FULL_ENDPOINT).min(1.0);
    Some(EndpointScore {
        score: mean,
        confidence: (0.5 * completeness + 0.5 * (1.0 - sd)).min(1.0),
        completeness,
        n: values.len(),
    })
}

/// The weighted overall toxicity of a structure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToxicityScore {
    /// 0 (no activity seen) to 1 (active in every assay).
    pub score: f64,
    pub confidence: f64,
    pub completeness: f64,
    /// Endpoints covered, of the twelve.
    pub coverage: f64,
    pub endpoints: BTreeMap<Endpoint, EndpointScore>,
}

impl ToxicityScore {
    /// The score as the unified score's toxicity risk, 0–100.
    pub fn risk(&self) -> f64 {
        100.0 * self.score
    }
}

/// Combine endpoint scores; `None` when no endpoint has data.
pub fn toxicity_score(endpoints: BTreeMap<Endpoint, EndpointScore>) -> Option<ToxicityScore> {
    if endpoints.is_empty() {
        return None;
    }
    let k = endpoints.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (e, s) in &endpoints {
        num += s.score * e.weight() * s.confidence;
        den += e.weight() * s.confidence;
    }
    let coverage = k / Endpoint::ALL.len() as f64;
    let mean = |f: fn(&EndpointScore) -> f64| endpoints.values().map(f).sum::<f64>() / k;
    Some(ToxicityScore {
        // Every confidence is at least 0.1 (n ≥ 1), so den > 0.
        score: num / den,
        confidence: 0.7 * mean(|s| s.confidence) + 0.3 * coverage,
        completeness: 0.7 * mean(|s| s.completeness) + 0.3 * coverage,
        coverage,
        endpoints,
    })
}

/// Group (endpoint, value) observations and score them.
pub fn score_observations(
    observations: impl IntoIterator<Item = (Endpoint, f64)>,
) -> Option<ToxicityScore> {
    let mut by: BTreeMap<Endpoint, Vec<f64>> = BTreeMap::new();
    for (e, v) in observations {
        by.entry(e).or_default().push(v);
    }
    toxicity_score(
        by.into_iter()
            .filter_map(|(e, v)| endpoint_score(&v).map(|s| (e, s)))
            .collect(),
    )
}

/// A mixture's toxicity from its components' scores by molar share.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureToxicity {
    /// Σ shareᵢ·scoreᵢ / Σ shareᵢ over components with a score.
    pub score: f64,
    /// Σ shareᵢ·confidenceᵢ over the same components, times the scored share.
    pub confidence: f64,
    /// Molar share of the mixture's solutes that have a toxicity score (0–1).
    pub scored_share: f64,
}

/// `components`: (molar share, that component's score if any). `None` when none is scored.
pub fn mixture_toxicity(components: &[(f64, Option<&ToxicityScore>)]) -> Option<MixtureToxicity> {
    let total: f64 = components.iter().map(|(s, _)| s.max(0.0)).sum();
    let scored: Vec<(f64, &ToxicityScore)> = components
        .iter()
        .filter_map(|(s, t)| t.map(|t| (s.max(0.0), t)))
        .collect();
    let share: f64 = scored.iter().map(|(s, _)| s).sum();
    if scored.is_empty() || share <= 0.0 || total <= 0.0 {
        return None;
    }
    let scored_share = share / total;
    Some(MixtureToxicity {
        score: scored.iter().map(|(s, t)| s * t.score).sum::<f64>() / share,
        confidence: scored.iter().map(|(s, t)| s * t.confidence).sum::<f64>() / share
            * scored_share,
        scored_share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn endpoint_score_by_hand() {
        // Hits 1, 0, 1, 1: mean 0.75, sd = sqrt(0.1875) = 0.4330127, completeness 4/5.
        let s = endpoint_score(&[1.0, 0.0, 1.0, 1.0]).unwrap();
        close(s.score, 0.75);
        close(s.completeness, 0.8);
        close(s.confidence, 0.5 * 0.8 + 0.5 * (1.0 - 0.1875f64.sqrt()));
        // Seven agreeing values: complete and fully confident.
        let s = endpoint_score(&[0.0; 7]).unwrap();
        assert_eq!((s.score, s.confidence, s.completeness), (0.0, 1.0, 1.0));
        assert!(endpoint_score(&[]).is_none());
    }

    #[test]
    fn overall_score_by_hand() {
        // Nuclear receptor: 1 hit of 2 → score 0.5, sd 0.5, completeness 0.4, conf 0.45.
        // DNA damage: 1 of 1 → score 1, sd 0, completeness 0.2, conf 0.6.
        let t = score_observations([
            (Endpoint::NuclearReceptor, 1.0),
            (Endpoint::NuclearReceptor, 0.0),
            (Endpoint::DnaDamage, 1.0),
        ])
        .unwrap();
        let num = 0.5 * 1.0 * 0.45 + 1.0 * 1.2 * 0.6;
        let den = 1.0 * 0.45 + 1.2 * 0.6;
        close(t.score, num / den);
        close(t.coverage, 2.0 / 12.0);
        close(t.confidence, 0.7 * (0.45 + 0.6) / 2.0 + 0.3 * 2.0 / 12.0);
        close(t.completeness, 0.7 * (0.4 + 0.2) / 2.0 + 0.3 * 2.0 / 12.0);
        close(t.risk(), 100.0 * num / den);
        assert!(score_observations([]).is_none());
    }

    #[test]
    fn mixture_toxicity_by_molar_share() {
        let a = score_observations([(Endpoint::Other, 1.0)]).unwrap();
        let b = score_observations([(Endpoint::Other, 0.0)]).unwrap();
        // 3 parts a, 1 part b, 1 part unscored.
        let m = mixture_toxicity(&[(3.0, Some(&a)), (1.0, Some(&b)), (1.0, None)]).unwrap();
        close(m.score, 0.75);
        close(m.scored_share, 0.8);
        assert!(mixture_toxicity(&[(1.0, None)]).is_none());
    }

    #[test]
    fn qed_of_paper_examples() {
        // Properties of N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O (famotidine) as RDKit 2022.09's
        // Python QED.properties gives them; its QED there is 0.2531425773300557.
        let p = QedProperties {
            mw: 337.456,
            alogp: -0.5583299999999989,
            hba: 6.0,
            hbd: 5.0,
            psa: 173.32999999999998,
            rotb: 7.0,
            arom: 1.0,
            alerts: 3.0,
        };
        assert!((qed(&p) - 0.2531425773300557).abs() < 1e-12, "{}", qed(&p));
    }

    #[test]
    fn every_tox21_column_names_one_endpoint() {
        let mut names: Vec<_> = TOX21_ASSAYS.iter().map(|a| a.0).collect();
        names.dedup();
        assert_eq!(names.len(), 12);
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::parse(e.as_str()), Some(e));
        }
    }
}
