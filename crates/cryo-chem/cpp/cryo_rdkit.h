// The C++ half of cryo-chem's bridge to RDKit. Small, flat functions over one opaque molecule
// type; every RDKit exception surfaces in Rust as a cxx::Exception carrying its message.
#pragma once
// First: it defines the build options (RDK_BUILD_THREADSAFE_SSS …) that change the layout of
// RDKit's classes; a header read without them disagrees with the library about field offsets.
#include <RDGeneral/RDConfig.h>
#include <memory>
#include <vector>
#include <GraphMol/ROMol.h>
#include "rust/cxx.h"

namespace cryo {

struct Mol {
  std::unique_ptr<RDKit::ROMol> inner;
};

// Shared with Rust (defined by the bridge in src/ffi.rs).
struct AlertHit;

// The SMARTS QED counts with, parsed once per thread (see src/qed.rs).
struct QedPatterns {
  std::vector<std::unique_ptr<RDKit::ROMol>> acceptors;
  std::vector<std::unique_ptr<RDKit::ROMol>> alerts;
  std::unique_ptr<RDKit::ROMol> aliphatic_ring;
};

void init();
rust::String rdkit_version();
std::unique_ptr<Mol> parse_smiles(rust::Str smiles);
std::unique_ptr<Mol> parse_molblock(rust::Str block);
std::unique_ptr<Mol> parse_smarts(rust::Str smarts);
std::unique_ptr<Mol> add_hydrogens(const Mol &mol);
rust::String canonical_smiles(const Mol &mol);
rust::String formula(const Mol &mol);
rust::String mol_block(const Mol &mol);
rust::Vec<double> core_descriptors(const Mol &mol);
rust::Vec<rust::String> property_names();
rust::Vec<double> all_properties(const Mol &mol);
uint32_t count_matches(const Mol &mol, const Mol &query);
bool has_match(const Mol &mol, const Mol &query, uint64_t budget_us);
std::unique_ptr<Mol> guard_query(const Mol &query);
uint32_t query_atom_count(const Mol &query);
uint32_t fragment_count(const Mol &mol);
uint32_t atom_count(const Mol &mol);
uint32_t dummy_atom_count(const Mol &mol);
rust::Vec<uint64_t> morgan_bits(const Mol &mol, uint32_t radius, uint32_t n_bits);
rust::String murcko_scaffold(const Mol &mol);
rust::String to_svg(const Mol &mol, uint32_t width, uint32_t height, rust::Vec<uint32_t> highlight);
rust::String std_inchi(const Mol &mol);
rust::String std_inchi_key(rust::Str inchi);
rust::Vec<AlertHit> structural_alerts(const Mol &mol);
std::unique_ptr<QedPatterns> qed_patterns(rust::Vec<rust::String> acceptors,
                                          rust::Vec<rust::String> alerts,
                                          rust::Str aliphatic_ring);
rust::Vec<double> qed_properties(const Mol &mol, const QedPatterns &patterns);

}  // namespace cryo
