//! Builds the small C++ bridge to Debian's RDKit (librdkit-dev) and the IUPAC InChI library
//! (libinchi-dev).

fn main() {
    let include =
        std::env::var("RDKIT_INCLUDE_DIR").unwrap_or_else(|_| "/usr/include/rdkit".into());
    if !std::path::Path::new(&include)
        .join("GraphMol/GraphMol.h")
        .exists()
    {
        panic!(
            "RDKit headers not found in {include}: install them with \
             `sudo apt-get install librdkit-dev libboost-dev libboost-serialization-dev` \
             (or run scripts/setup.sh), or set RDKIT_INCLUDE_DIR"
        );
    }
    cxx_build::bridge("src/ffi.rs")
        .file("cpp/cryo_rdkit.cc")
        .include(&include)
        .std("c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("cryo_rdkit");
    for lib in [
        "RDKitFilterCatalog",
        "RDKitCatalogs",
        "RDKitMolDraw2D",
        "RDKitDepictor",
        "RDKitChemTransforms",
        "RDKitFingerprints",
        "RDKitDescriptors",
        "RDKitSubstructMatch",
        "RDKitFileParsers",
        "RDKitSmilesParse",
        "RDKitPartialCharges",
        "RDKitGraphMol",
        "RDKitDataStructs",
        "RDKitRDGeometryLib",
        "RDKitRDGeneral",
        "inchi",
    ] {
        println!("cargo:rustc-link-lib={lib}");
    }
    println!("cargo:rerun-if-changed=cpp/cryo_rdkit.cc");
    println!("cargo:rerun-if-changed=cpp/cryo_rdkit.h");
    println!("cargo:rerun-if-env-changed=RDKIT_INCLUDE_DIR");
}
