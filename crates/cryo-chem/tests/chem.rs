#[test]
fn connectivity_indices_follow_their_definition() {
    // Kier–Hall χ indices of n-butane by hand: every carbon is saturated, so δ = δv = heavy
    // neighbours (1, 2, 2, 1). Order 2: paths C1-C2-C3 and C2-C3-C4, each 1/√(1·2·2) = 0.5;
    // order 3: the one path C1-C2-C3-C4, 1/√(1·2·2·1) = 0.5. (RDKit 2022.09's descriptor table
    // registers chi2v/chi2n with the order-3 functions.)
    let d: std::collections::HashMap<String, f64> = cryo_chem::Molecule::from_smiles("CCCC")
        .unwrap()
        .descriptor_set()
        .unwrap()
        .into_iter()
        .collect();
    for (name, expected) in [
        ("chi2n", 1.0),
        ("chi2v", 1.0),
        ("chi3n", 0.5),
        ("chi3v", 0.5),
    ] {
        let got = d[name];
        assert!(
            (got - expected).abs() < 1e-9,
            "{name}: {got}, by definition {expected}"
        );
    }
}

#[test]
fn hydrogen_bond_acceptors_leave_out_substituted_aromatic_nitrogens() {
    // A degree-three aromatic N (N-methylpyrrole, N-methylpyridone) gives its lone pair to the
    // ring and accepts no hydrogen bond (rdkit#8997, fixed upstream); pyridine's N does.
    // Counts by hand: ring N only, and the pyridone's carbonyl O; caffeine: two carbonyl O and
    // the one two-connected imidazole N.
    for (smiles, acceptors) in [
        ("Cn1cccc1", 0.0),
        ("O=C1C=CC=CN1C", 1.0),
        ("c1ccncc1", 1.0),
        ("Cn1cnc2c1c(=O)n(C)c(=O)n2C", 3.0),
    ] {
        let d: std::collections::HashMap<String, f64> = cryo_chem::Molecule::from_smiles(smiles)
            .unwrap()
            .descriptor_set()
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(d["NumHBA"], acceptors, "{smiles}");
    }
}
