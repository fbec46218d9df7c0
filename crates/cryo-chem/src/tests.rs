use super::*;
use cryo_core::score::{Component, molecule_score};
use proptest::prelude::*;
use serde_json::Value;

fn golden() -> Vec<Value> {
    include_str!("../tests/data/reference_vectors.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn close(a: f64, b: f64, decimals: i32) -> bool {
    (a - b).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9
}

#[test]
fn golden_vectors_are_reproduced_exactly() {
    let rows = golden();
    assert_eq!(rows.len(), 23);
    for row in rows {
        let name = row["name"].as_str().unwrap();
        let mol = Molecule::from_smiles(row["smiles"].as_str().unwrap()).unwrap();
        let f = mol.features().unwrap();
        let h = &row["withH"];
        let c = &f.core;
        let int = |k: &str| h[k].as_u64().unwrap() as u32;
        assert_eq!(c.h_bond_donors, int("donors"), "{name} donors");
        assert_eq!(c.h_bond_acceptors, int("acceptors"), "{name} acceptors");
        assert!(
            close(c.logp, h["logp"].as_f64().unwrap(), 3),
            "{name} logp {}",
            c.logp
        );
        assert!(
            close(c.tpsa, h["tpsa"].as_f64().unwrap(), 2),
            "{name} tpsa {}",
            c.tpsa
        );
        assert!(
            close(c.molecular_weight, h["mw"].as_f64().unwrap(), 3),
            "{name} mw"
        );
        assert_eq!(c.rotatable_bond_count, int("rotb"), "{name} rotb");
        assert_eq!(c.heavy_atom_count, int("heavy"), "{name} heavy");
        assert_eq!(c.atom_count, int("atoms"), "{name} atoms");
        assert_eq!(c.hydroxyl_count, int("oh"), "{name} oh");
        assert_eq!(c.ether_count, int("ether"), "{name} ether");
        assert_eq!(c.amine_count, int("amine"), "{name} amine");
        assert_eq!(c.amide_count, int("amide"), "{name} amide");
        assert!(
            close(f.estimated_log_papp, h["log_papp"].as_f64().unwrap(), 3),
            "{name} log_papp"
        );
        assert_eq!(f.rule_of_5_violations, int("r5"), "{name} r5");
        assert_eq!(f.veber_violations, int("veber"), "{name} veber");

        let score = molecule_score(&f);
        assert_eq!(
            score.overall as u64,
            h["overall"].as_u64().unwrap(),
            "{name} overall"
        );
        let comps = &h["comps"];
        for (key, component) in [
            ("hb", Component::HydrogenBonding),
            ("logp", Component::Logp),
            ("size", Component::Size),
            ("tpsa", Component::Tpsa),
            ("fg", Component::FunctionalGroups),
            ("perm", Component::Permeability),
        ] {
            assert_eq!(
                score.component(component) as u64,
                comps[key].as_u64().unwrap(),
                "{name} {key}"
            );
        }
        assert_eq!(
            mol.formula(),
            row["formula"].as_str().unwrap(),
            "{name} formula"
        );
    }
}

#[test]
fn inchikeys_match_the_reference_including_stereo() {
    let rows = golden();
    for row in &rows {
        let mol = Molecule::from_smiles(row["smiles"].as_str().unwrap()).unwrap();
        let ids = mol
            .identifiers()
            .unwrap()
            .expect("every golden row has a key");
        assert_eq!(
            ids.inchikey,
            row["computed_key"].as_str().unwrap(),
            "{}",
            row["name"]
        );
        assert!(ids.inchi.starts_with("InChI=1S/"));
    }
    assert!(
        rows.iter()
            .any(|r| r["smiles"].as_str().unwrap().contains('@'))
    );
}

/// Published standard InChIKeys (PubChem) of stereo structures: the stereo layers are ours, so
/// a wrong parity convention shows here as a different second block.
#[test]
fn stereo_structures_get_their_published_standard_keys() {
    for (name, smiles, key) in [
        (
            "trehalose",
            "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@@H]2[C@@H]([C@H]([C@@H]([C@H](O2)CO)O)O)O)O)O)O)O",
            "HDTRYLNUVZCQOY-LIZSDCNHSA-N",
        ),
        (
            "sucrose",
            "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@]2([C@H]([C@@H]([C@H](O2)CO)O)O)CO)O)O)O)O",
            "CZMRCDWAGMRECN-UGDNZRGBSA-N",
        ),
        (
            "L-proline",
            "C1C[C@H](NC1)C(=O)O",
            "ONIBWKKTOPOVIA-BYPYZUCNSA-N",
        ),
        (
            "L-proline, other atom order",
            "OC(=O)[C@@H]1CCCN1",
            "ONIBWKKTOPOVIA-BYPYZUCNSA-N",
        ),
        (
            "D-proline",
            "C1C[C@@H](NC1)C(=O)O",
            "ONIBWKKTOPOVIA-SCSAIBSYSA-N",
        ),
        (
            "D-glucose",
            "C([C@@H]1[C@H]([C@@H]([C@H](C(O1)O)O)O)O)O",
            "WQZGKKKJIJFFOK-GASJEMHNSA-N",
        ),
        ("(E)-2-butene", "C/C=C/C", "IAQRGUVFOMOMEM-ONEGZZNKSA-N"),
        ("(Z)-2-butene", "C/C=C\\C", "IAQRGUVFOMOMEM-ARJAWSKDSA-N"),
        (
            "(Z)-2-butene, written backwards",
            "C\\C=C/C",
            "IAQRGUVFOMOMEM-ARJAWSKDSA-N",
        ),
    ] {
        let ids = Molecule::from_smiles(smiles)
            .unwrap()
            .identifiers()
            .unwrap()
            .unwrap_or_else(|| panic!("{name} has no key"));
        assert_eq!(ids.inchikey, key, "{name}: {}", ids.inchi);
    }
}

#[test]
fn canonical_smiles_is_independent_of_input_order() {
    let a = Molecule::from_smiles("C(C(CO)O)O")
        .unwrap()
        .canonical_smiles();
    let b = Molecule::from_smiles("OCC(O)CO")
        .unwrap()
        .canonical_smiles();
    assert_eq!(a, b);
    assert_eq!(a, "OCC(O)CO");
}

#[test]
fn chemistry_errors_name_the_problem() {
    let err = Molecule::from_smiles("C[N](C)(C)(C)C")
        .unwrap_err()
        .to_string();
    assert!(err.contains("atom 2 (N) has valence 5"), "{err}");
    let err = Molecule::from_smiles("c1cccc1").unwrap_err().to_string();
    assert!(err.contains("kekulize"), "{err}");
    let err = Molecule::from_smiles("CC(C").unwrap_err().to_string();
    assert!(err.contains("never closed"), "{err}");
    assert!(matches!(
        Query::smarts("[C"),
        Err(ChemError::InvalidSmarts(_))
    ));
    assert!(matches!(
        Molecule::from_molblock("nonsense"),
        Err(ChemError::InvalidMolBlock(_))
    ));
}

#[test]
fn mol_block_round_trips() {
    let glycerol = Molecule::from_smiles("OCC(O)CO").unwrap();
    let block = glycerol.mol_block().unwrap();
    let back = Molecule::from_molblock(&block).unwrap();
    assert_eq!(back.canonical_smiles(), "OCC(O)CO");
    assert_eq!(back.features().unwrap(), glycerol.features().unwrap());
}

#[test]
fn similarity_and_substructure() {
    let eg = Molecule::from_smiles("OCCO")
        .unwrap()
        .fingerprint()
        .unwrap();
    let pg = Molecule::from_smiles("CC(O)CO")
        .unwrap()
        .fingerprint()
        .unwrap();
    let dmso = Molecule::from_smiles("CS(C)=O")
        .unwrap()
        .fingerprint()
        .unwrap();
    assert_eq!(eg.tanimoto(&eg), 1.0);
    assert!(eg.tanimoto(&pg) > eg.tanimoto(&dmso));
    assert_eq!(eg.n_bits(), 2048);
    assert_eq!(Fingerprint::from_bytes(&eg.to_bytes()).unwrap(), eg);

    let diol = Query::smarts("[OX2H][CX4][CX4][OX2H]").unwrap();
    assert!(
        Molecule::from_smiles("OCC(O)CO")
            .unwrap()
            .matches(&diol, Deadline::NONE)
            .unwrap()
    );
    assert!(
        !Molecule::from_smiles("OCCCO")
            .unwrap()
            .matches(&diol, Deadline::NONE)
            .unwrap()
    );
    let sulfoxide = Query::smiles("S=O").unwrap();
    assert!(
        Molecule::from_smiles("CS(C)=O")
            .unwrap()
            .matches(&sulfoxide, Deadline::NONE)
            .unwrap()
    );
}

#[test]
fn scaffold_svg_and_descriptor_set() {
    let trehalose_like = Molecule::from_smiles("OCC1OC(O)C(O)C(O)C1O").unwrap();
    assert_eq!(trehalose_like.murcko_scaffold().unwrap(), "C1CCOCC1");
    assert_eq!(
        Molecule::from_smiles("OCCO")
            .unwrap()
            .murcko_scaffold()
            .unwrap(),
        ""
    );
    let svg = trehalose_like.svg(300, 200).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.contains("<svg"),
        "{}",
        &svg[..100]
    );
    let set = trehalose_like.descriptor_set().unwrap();
    assert!(set.len() >= 40);
    let tpsa = set.iter().find(|(n, _)| n == "tpsa").unwrap().1;
    assert!((tpsa - 110.38).abs() < 0.01, "{tpsa}");
}

#[test]
fn sdf_records_are_read_one_by_one_and_bad_ones_reported() {
    let good = Molecule::from_smiles("OCCO").unwrap().mol_block().unwrap();
    let text = format!(
        "{good}> <NAME>\nethylene glycol\n\n$$$$\nbroken\n  header\n\n  2  1  0  0\nM  END\n> <NAME>\nbad\n\n$$$$\n{good}$$$$\n"
    );
    let records: Vec<_> = sdf::SdfReader::new(text.as_bytes()).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].fields["NAME"], "ethylene glycol");
    assert!(records[0].molecule.is_ok());
    assert!(records[1].molecule.is_err());
    assert_eq!(records[1].index, 2);
    assert!(records[1].line > records[0].line);
    assert!(records[2].molecule.is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The parser boundary: any string gives a molecule or an error, never a panic or abort.
    #[test]
    fn arbitrary_smiles_never_panic(s in "[CNOScnos()=#\\[\\]@+\\-1-9%/\\\\.H]{0,24}") {
        if let Ok(m) = Molecule::from_smiles(&s) {
            let again = Molecule::from_smiles(&m.canonical_smiles());
            prop_assert!(again.is_ok(), "canonical SMILES of {} re-parses", s);
            let _ = m.features();
        }
    }

    #[test]
    fn arbitrary_smarts_never_panic(s in "[CNOcn\\[\\]()$=#;,!&@*0-9A-Za-z]{0,16}") {
        let _ = Query::smarts(&s);
    }

    /// MOL blocks as a careless export or a hostile client writes them: a real block with
    /// junk spliced in, or lines dropped.
    #[test]
    fn mangled_molblocks_never_panic(
        at in 0usize..4096,
        junk in "[ 0-9A-Za-z.+\\-\n]{0,16}",
        drop_line in 0usize..40,
    ) {
        let good = crate::fixtures::grid_molblock(2);
        let mut spliced = good.clone();
        let cut = (at % (good.len() + 1)..=good.len())
            .find(|i| spliced.is_char_boundary(*i))
            .unwrap_or(good.len());
        spliced.insert_str(cut, &junk);
        let dropped: String = good
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != drop_line)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        for block in [spliced, dropped] {
            if let Ok(m) = Molecule::from_molblock(&block) {
                let _ = m.features();
                let _ = m.canonical_smiles();
            }
        }
    }
}

#[test]
fn a_pathological_query_stops_at_its_deadline() {
    use std::time::{Duration, Instant};
    let grid = Molecule::from_molblock(&fixtures::grid_molblock(8)).unwrap();
    // An odd ring of wildcards can never map onto a bipartite grid, but proving it takes the
    // matcher exponential time.
    let odd = format!("*1{}~1", "~*".repeat(18));
    let recursive = format!("[$({odd})]");
    for smarts in [odd.as_str(), recursive.as_str()] {
        let q = Query::smarts(smarts).unwrap();
        let started = Instant::now();
        let e = grid
            .matches(&q, Deadline::after(Duration::from_millis(200)))
            .unwrap_err();
        assert!(matches!(e, ChemError::DeadlineExceeded(_)), "{smarts}: {e}");
        // Generous: the point is seconds, not the minutes it took unguarded.
        assert!(started.elapsed() < Duration::from_secs(5), "{smarts}");
    }
    let square = Query::smarts("*1~*~*~*~1").unwrap();
    assert!(grid.matches(&square, Deadline::NONE).unwrap());
    // The guard leaves the thread without a deadline afterwards.
    let chain = Molecule::from_smiles("CCCC").unwrap();
    assert!(
        chain
            .matches(&Query::smarts("C~C").unwrap(), Deadline::NONE)
            .unwrap()
    );
}

#[test]
fn guarded_queries_match_as_before() {
    let yes = |smiles: &str, q: &Query| {
        Molecule::from_smiles(smiles)
            .unwrap()
            .matches(q, Deadline::NONE)
            .unwrap()
    };
    let ring = Query::smiles("C1CC1").unwrap();
    assert!(yes("OC1CC1", &ring));
    assert!(!yes("CCC", &ring));
    let benzene = Query::smiles("c1ccccc1").unwrap();
    assert!(yes("Cc1ccccc1", &benzene));
    assert!(!yes("C1CCCCC1", &benzene));
    let anion = Query::smiles("C[O-]").unwrap();
    assert!(yes("CC(=O)[O-]", &anion));
    assert!(!yes("CC(=O)O", &anion));
    let alcohol = Query::smarts("[$([OX2H][CX4])]").unwrap();
    assert!(yes("CCO", &alcohol));
    assert!(!yes("CC(=O)O", &alcohol));
}

#[test]
fn oversized_structures_are_refused_before_rdkit() {
    let l = limits::Limits::DEFAULT;
    // 10,000 atoms overflowed a 2 MiB stack inside RDKit before this check existed.
    let e = Molecule::from_smiles(&"C".repeat(10_000)).unwrap_err();
    assert!(
        matches!(
            e,
            ChemError::TooLarge {
                limit: "max_smiles_bytes",
                ..
            }
        ),
        "{e}"
    );
    let e = Molecule::from_smiles(&"C".repeat(l.max_atoms + 1)).unwrap_err();
    assert!(e.to_string().contains("max_atoms"), "{e}");
    assert!(Molecule::from_smiles(&"C".repeat(l.max_atoms)).is_ok());
    let e = Molecule::from_molblock(&fixtures::grid_molblock(30)).unwrap_err();
    assert!(
        matches!(
            e,
            ChemError::TooLarge {
                limit: "max_atoms",
                ..
            }
        ),
        "{e}"
    );
    let big_query = "C".repeat(l.max_query_atoms + 1);
    let e = Query::smarts(&big_query).map(drop).unwrap_err();
    assert!(
        matches!(
            e,
            ChemError::TooLarge {
                limit: "max_query_atoms",
                ..
            }
        ),
        "{e}"
    );
}

/// Everything a registration computes, as the server runs it; any error must be the input's
/// (never `Toolkit`, which the API would have to answer 500).
fn full_pipeline(m: &Molecule) -> Result<(), ChemError> {
    m.features()?;
    m.identifiers()?;
    m.descriptor_set()?;
    m.fingerprint()?;
    m.murcko_scaffold()?;
    m.svg(200, 150)?;
    m.mol_block()?;
    Ok(())
}

#[test]
fn wildcards_and_empty_structures_are_handled_not_failed() {
    for smiles in ["*", "C[*]", "[*]C(=O)O", "*.*", "[1*]CC[2*]"] {
        let m = Molecule::from_smiles(smiles).unwrap();
        full_pipeline(&m).unwrap_or_else(|e| panic!("{smiles}: {e}"));
        assert_eq!(m.identifiers().unwrap(), None, "{smiles}");
    }
    let empty = "\n  RDKit          2D\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n";
    assert!(matches!(
        Molecule::from_molblock(empty),
        Err(ChemError::InvalidMolBlock(ref m)) if m.contains("no atoms")
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random SMILES-like text through every computation: parsing may refuse it, but nothing
    /// after a successful parse fails in the toolkit.
    #[test]
    fn whatever_parses_is_processed(s in "[CNOScno()=#\\[\\]*+\\-1-3.@H]{1,40}") {
        if let Ok(m) = Molecule::from_smiles(&s) {
            prop_assert!(full_pipeline(&m).is_ok(), "{s}: {:?}", full_pipeline(&m));
        }
    }
}
