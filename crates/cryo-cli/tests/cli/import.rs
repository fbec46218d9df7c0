//! `cryoprotect molecules import`: every good row stored, every bad row reported by line,
//! re-importing changes nothing.

use crate::cryoprotect;
use cryo_db::Identity;
use cryo_testkit::TestDb;
use std::fmt::Write;

async fn user(db: &TestDb, email: &str) -> uuid::Uuid {
    let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service())
        .await
        .unwrap();
    let u = cryo_db::repo::auth::create_user(&mut tx, email, "Importer", "x")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    u.id
}

async fn owned_molecules(db: &TestDb, owner: uuid::Uuid) -> i64 {
    let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service())
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM molecules WHERE created_by = $1")
        .bind(owner)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

/// n distinct linear alcohols and ethers C_a-O-C_b with a ≤ b (so no two are the same molecule).
fn valid_smiles(n: usize) -> Vec<String> {
    (0..40)
        .flat_map(|a| (a.max(1)..40).map(move |b| format!("{}O{}", "C".repeat(a), "C".repeat(b))))
        .take(n)
        .collect()
}

#[tokio::test]
async fn csv_import_keeps_good_rows_reports_bad_lines_and_is_idempotent() {
    let db = TestDb::new().await;
    let owner = user(&db, "importer@lab.example").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("set.csv");
    let report = dir.path().join("rejected.csv");
    let smiles = valid_smiles(240);
    let mut text = String::from("name,smiles,logS\n");
    let mut bad_lines = Vec::new();
    for (i, s) in smiles.iter().enumerate() {
        writeln!(text, "\"mol, number {i}\",{s},-1.5").unwrap();
        if [10, 100, 200].contains(&i) {
            let line = text.lines().count() + 1;
            let broken = match i {
                10 => "C1CC(",
                100 => "CN(C)(C)(C)C",
                _ => "not a smiles",
            };
            writeln!(text, "broken {i},{broken},0").unwrap();
            bad_lines.push(line);
        }
    }
    std::fs::write(&file, text).unwrap();
    let run = || {
        cryoprotect()
            .env("DATABASE_URL", db.url())
            .args(["molecules", "import"])
            .arg(&file)
            .args([
                "--owner",
                "importer@lab.example",
                "--batch-size",
                "64",
                "--report",
            ])
            .arg(&report)
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("imported 240 new, 0 already present, 3 rejected"),
        "{stdout}"
    );
    for line in &bad_lines {
        assert!(
            stderr.contains(&format!("line {line}:")),
            "line {line} reported: {stderr}"
        );
    }
    assert!(
        stderr.contains("never closed") && stderr.contains("valence"),
        "{stderr}"
    );
    let reported = std::fs::read_to_string(&report).unwrap();
    assert_eq!(reported.lines().count(), 1 + 3, "{reported}");
    assert_eq!(owned_molecules(&db, owner).await, 240);

    let again = run();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("imported 0 new, 240 already present, 3 rejected"),
        "{stdout}"
    );
    assert_eq!(owned_molecules(&db, owner).await, 240);
}

#[tokio::test]
async fn sdf_and_smiles_imports_report_record_lines() {
    let db = TestDb::new().await;
    let owner = user(&db, "sdf@lab.example").await;
    let dir = tempfile::tempdir().unwrap();
    let sdf = dir.path().join("set.sdf");
    let mut text = String::new();
    let mut bad_line = 0;
    for (i, s) in valid_smiles(30).iter().enumerate() {
        if i == 12 {
            bad_line = text.lines().count() + 1;
            text.push_str("corrupt\n  no counts line\n\nthis is not a molfile\nM  END\n> <NAME>\nbroken\n\n$$$$\n");
        }
        let block = cryo_chem::Molecule::from_smiles(s)
            .unwrap()
            .mol_block()
            .unwrap();
        write!(text, "{block}> <NAME>\nmolecule {i}\n\n$$$$\n").unwrap();
    }
    std::fs::write(&sdf, text).unwrap();
    let out = cryoprotect()
        .env("DATABASE_URL", db.url())
        .args(["molecules", "import"])
        .arg(&sdf)
        .args(["--owner", "sdf@lab.example"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("imported 30 new, 0 already present, 1 rejected"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains(&format!("line {bad_line}:")), "{stderr}");
    assert_eq!(owned_molecules(&db, owner).await, 30);

    let smi = dir.path().join("list.smi");
    std::fs::write(
        &smi,
        "# comment\nOCCO ethylene glycol\n\nC1CC1(\nOCC(O)CO glycerol\n",
    )
    .unwrap();
    let out = cryoprotect()
        .env("DATABASE_URL", db.url())
        .args(["molecules", "import"])
        .arg(&smi)
        .args(["--owner", "sdf@lab.example"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2 new, 0 already present, 1 rejected"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 4:"));
}

#[test]
fn describe_prints_the_feature_table_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let smi = dir.path().join("list.smi");
    std::fs::write(&smi, "OCC(O)CO glycerol\nCS(C)=O dmso\n").unwrap();
    let out = cryoprotect()
        .args(["molecules", "describe"])
        .arg(&smi)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("line,name,canonical_smiles,h_bond_donors"));
    assert!(
        rows[1].ends_with(",87") && rows[2].ends_with(",49"),
        "{text}"
    );
}

async fn activities(db: &TestDb, owner: uuid::Uuid) -> i64 {
    let mut tx = cryo_db::identity::begin(&db.pool, &Identity::service())
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM toxicity_activities WHERE created_by = $1")
        .bind(owner)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

/// The MoleculeNet Tox21 layout: 12 endpoint columns (1/0/blank), then mol_id and smiles.
#[tokio::test]
async fn tox21_import_stores_good_cells_names_bad_lines_and_is_idempotent() {
    let db = TestDb::new().await;
    let owner = user(&db, "tox@lab.example").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tox21.csv");
    let header = "NR-AR,NR-AR-LBD,NR-AhR,NR-Aromatase,NR-ER,NR-ER-LBD,NR-PPAR-gamma,SR-ARE,SR-ATAD5,SR-HSE,SR-MMP,SR-p53,mol_id,smiles";
    let rows = [
        // line 2: DMSO (a reference molecule: matched by InChIKey, not duplicated), 2 cells
        "0,,,,,,,,,,,1,TOX1,CS(C)=O",
        // line 3: a bad SMILES
        "0,0,,,,,,,,,,,TOX2,C1CC(",
        // line 4: L-proline with stereo (matched by its stereo InChIKey), 3 cells
        "0,0,1,,,,,,,,,,TOX3,OC(=O)[C@@H]1CCCN1",
        // line 5: one bad cell (`2`), one good one
        "2,,,,,,,,,,,0,TOX4,CCCCO",
        // line 6: no measurement at all
        ",,,,,,,,,,,,TOX5,CCCCCO",
        // line 7: a new structure, 12 cells
        "1,1,1,1,1,1,1,1,1,1,1,1,TOX6,c1ccc2ccccc2c1",
    ];
    std::fs::write(&file, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let run = || {
        cryoprotect()
            .env("DATABASE_URL", db.url())
            .args(["toxicity", "import"])
            .arg(&file)
            .args(["--owner", "tox@lab.example"])
            .output()
            .unwrap()
    };
    let out = run();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("stored 18 new and 0 updated activities for 4 rows (2 molecules matched, 2 created); 3 rejected"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("line 3:"), "{stderr}");
    assert!(stderr.contains("line 5: column NR-AR"), "{stderr}");
    assert!(stderr.contains("line 6: no measurement"), "{stderr}");
    assert_eq!(activities(&db, owner).await, 18);
    // The reference DMSO and L-proline were matched, not copied.
    assert_eq!(owned_molecules(&db, owner).await, 2);

    let again = run();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains(
            "stored 0 new and 18 updated activities for 4 rows (4 molecules matched, 0 created)"
        ),
        "{stdout}"
    );
    assert_eq!(activities(&db, owner).await, 18);
}
