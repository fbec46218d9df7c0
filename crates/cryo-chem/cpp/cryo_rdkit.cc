#include "cryo-chem/cpp/cryo_rdkit.h"
#include "cryo-chem/src/ffi.rs.h"

#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/Descriptors/ConnectivityDescriptors.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <GraphMol/Descriptors/Property.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/FilterCatalog/FilterCatalog.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/QueryAtom.h>
#include <GraphMol/QueryOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <RDGeneral/RDLog.h>
#include <RDGeneral/versions.h>
#include <DataStructs/ExplicitBitVect.h>

#include <inchi_api.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace cryo {

namespace {
std::unique_ptr<Mol> wrap(RDKit::ROMol *m) {
  auto out = std::make_unique<Mol>();
  out->inner.reset(m);
  return out;
}
}  // namespace

rust::String rdkit_version() { return rust::String(RDKit::rdkitVersion); }

void init() {
  static std::once_flag once;
  // RDKit writes parse problems to stderr; Rust reports them as errors instead.
  std::call_once(once, [] { boost::logging::disable_logs("rdApp.*"); });
}

std::unique_ptr<Mol> parse_smiles(rust::Str smiles) {
  std::string s(smiles);
  RDKit::SmilesParserParams params;
  params.sanitize = false;
  std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(s, params));
  if (!mol) throw std::runtime_error("SMILES syntax error");
  // Sanitising separately turns chemistry problems into exceptions that name them.
  RDKit::MolOps::sanitizeMol(*mol);
  RDKit::MolOps::assignStereochemistry(*mol, /*cleanIt=*/true, /*force=*/true);
  return wrap(mol.release());
}

std::unique_ptr<Mol> parse_molblock(rust::Str block) {
  std::string s(block);
  // Sanitised on reading, so wedge bonds become stereocentres; hydrogens are removed because
  // descriptors add them back explicitly.
  std::unique_ptr<RDKit::RWMol> mol(RDKit::MolBlockToMol(s, /*sanitize=*/true, /*removeHs=*/true));
  if (!mol) throw std::runtime_error("MOL block could not be read");
  return wrap(mol.release());
}

std::unique_ptr<Mol> parse_smarts(rust::Str smarts) {
  std::string s(smarts);
  RDKit::RWMol *mol = RDKit::SmartsToMol(s);
  if (!mol) throw std::runtime_error("SMARTS syntax error");
  return wrap(mol);
}

std::unique_ptr<Mol> add_hydrogens(const Mol &mol) {
  return wrap(RDKit::MolOps::addHs(*mol.inner));
}

rust::String canonical_smiles(const Mol &mol) {
  return rust::String(RDKit::MolToSmiles(*mol.inner));
}

rust::String formula(const Mol &mol) {
  return rust::String(RDKit::Descriptors::calcMolFormula(*mol.inner));
}

rust::String mol_block(const Mol &mol) {
  RDKit::ROMol copy(*mol.inner);
  RDDepict::compute2DCoords(copy);
  return rust::String(RDKit::MolToMolBlock(copy));
}

// Order must match CORE_DESCRIPTORS in src/ffi.rs.
rust::Vec<double> core_descriptors(const Mol &mol) {
  const RDKit::ROMol &m = *mol.inner;
  double logp = 0, mr = 0;
  RDKit::Descriptors::calcCrippenDescriptors(m, logp, mr);
  rust::Vec<double> out;
  out.push_back(RDKit::Descriptors::calcNumHBD(m));
  out.push_back(RDKit::Descriptors::calcNumHBA(m));
  out.push_back(logp);
  out.push_back(RDKit::Descriptors::calcTPSA(m));
  out.push_back(RDKit::Descriptors::calcAMW(m));
  out.push_back(RDKit::Descriptors::calcExactMW(m));
  out.push_back(m.getNumHeavyAtoms());
  out.push_back(m.getNumAtoms());
  out.push_back(RDKit::Descriptors::calcNumRings(m));
  out.push_back(RDKit::Descriptors::calcNumAromaticRings(m));
  out.push_back(RDKit::Descriptors::calcFractionCSP3(m));
  out.push_back(mr);
  return out;
}

rust::Vec<rust::String> property_names() {
  rust::Vec<rust::String> out;
  for (const auto &n : RDKit::Descriptors::Properties::getAvailableProperties()) {
    out.push_back(rust::String(n));
  }
  return out;
}

// RDKit's NumHBA pattern as corrected upstream (rdkit#8997, fixed by rdkit#9060, 2026):
// degree-three aromatic nitrogens (N-substituted pyrrole- and pyridone-type) are not
// acceptors; 2022.09 counted every neutral aromatic n without H. One copy per thread, as
// recursive SMARTS keep match state in the query.
static const RDKit::ROMol &hba_query() {
  static thread_local std::unique_ptr<RDKit::ROMol> query(RDKit::SmartsToMol(
      "[$([O,S;H1;v2]-[!$(*=[O,N,P,S])]),$([O,S;H0;v2]),$([O,S;-]),"
      "$([N;v3;!$(N-*=!@[O,N,P,S])]),$([nH0X2,o,s;+0])]"));
  return *query;
}

rust::Vec<double> all_properties(const Mol &mol) {
  RDKit::Descriptors::Properties props;
  const auto names = RDKit::Descriptors::Properties::getAvailableProperties();
  const auto values = props.computeProperties(*mol.inner);
  rust::Vec<double> out;
  for (size_t i = 0; i < values.size(); ++i) {
    // RDKit 2022.09 registers chi2v and chi2n with the order-3 functions (Property.cpp); the
    // order-2 indices are computed directly.
    if (i < names.size() && names[i] == "chi2v") {
      out.push_back(RDKit::Descriptors::calcChi2v(*mol.inner));
    } else if (i < names.size() && names[i] == "chi2n") {
      out.push_back(RDKit::Descriptors::calcChi2n(*mol.inner));
    } else if (i < names.size() && names[i] == "NumHBA") {
      std::vector<RDKit::MatchVectType> matches;
      out.push_back(RDKit::SubstructMatch(*mol.inner, hba_query(), matches, /*uniquify=*/true));
    } else {
      out.push_back(values[i]);
    }
  }
  return out;
}

uint32_t count_matches(const Mol &mol, const Mol &query) {
  std::vector<RDKit::MatchVectType> matches;
  return RDKit::SubstructMatch(*mol.inner, *query.inner, matches, /*uniquify=*/true);
}

// Deadlines inside RDKit's matcher. RDKit 2022.09's SubstructMatch has no timeout, and an odd
// ring of wildcards against a bipartite grid explores exponentially many partial maps without
// ever completing one. Every atom comparison goes through a query atom, so guard_query gives
// each query atom one more term that reads the clock (every 256th call) and throws once the
// thread's deadline has passed; the exception unwinds out of SubstructMatch to Rust.
namespace {
using Clock = std::chrono::steady_clock;
thread_local Clock::time_point t_deadline = Clock::time_point::max();
thread_local uint32_t t_ticks = 0;

void check_deadline() {
  if ((++t_ticks & 255u) == 0 && Clock::now() > t_deadline) {
    throw std::runtime_error("cryo: deadline exceeded");
  }
}

// Checks the deadline, then matches as atom `idx` of `like` would (a plain atom of a SMILES
// query, kept in its molecule because Atom::Match reads the ring information there), or
// always (when ANDed into an existing SMARTS atom query).
class DeadlineQuery : public RDKit::ATOM_NULL_QUERY {
 public:
  DeadlineQuery(std::shared_ptr<const RDKit::ROMol> like, unsigned idx)
      : like_(std::move(like)), idx_(idx) {
    setDescription("CryoDeadline");
  }
  bool Match(const RDKit::Atom *what) const override {
    check_deadline();
    return !like_ || like_->getAtomWithIdx(idx_)->Match(what);
  }
  RDKit::ATOM_NULL_QUERY *copy() const override { return new DeadlineQuery(like_, idx_); }

 private:
  std::shared_ptr<const RDKit::ROMol> like_;
  unsigned idx_;
};

void guard_atoms(RDKit::ROMol &query);

// Recursive environments ($(...)) are matched by their own SubstructMatch calls: guard them too.
void guard_recursive(const RDKit::ATOM_NULL_QUERY *q) {
  if (q->getDescription() == "RecursiveStructure") {
    auto *rq = static_cast<const RDKit::RecursiveStructureQuery *>(q);
    // Ours: parsed just now and not yet shared, so editing it in place is safe.
    guard_atoms(*const_cast<RDKit::ROMol *>(rq->getQueryMol()));
  }
  for (auto it = q->beginChildren(); it != q->endChildren(); ++it) guard_recursive(it->get());
}

void guard_atoms(RDKit::ROMol &query) {
  for (auto atom : query.atoms()) {
    if (!atom->hasQuery()) continue;
    auto *qa = static_cast<RDKit::QueryAtom *>(atom);
    if (qa->getQuery()->getDescription() == "CryoDeadline") continue;
    guard_recursive(qa->getQuery());
    qa->expandQuery(new DeadlineQuery(nullptr, 0), Queries::COMPOSITE_AND,
                    /*maintainOrder=*/false);
  }
}

uint32_t count_query_atoms(const RDKit::ROMol &query);

uint32_t count_recursive(const RDKit::ATOM_NULL_QUERY *q) {
  uint32_t n = 0;
  if (q->getDescription() == "RecursiveStructure") {
    n += count_query_atoms(*static_cast<const RDKit::RecursiveStructureQuery *>(q)->getQueryMol());
  }
  for (auto it = q->beginChildren(); it != q->endChildren(); ++it) n += count_recursive(it->get());
  return n;
}

uint32_t count_query_atoms(const RDKit::ROMol &query) {
  uint32_t n = query.getNumAtoms();
  for (auto atom : query.atoms()) {
    if (atom->hasQuery()) n += count_recursive(static_cast<const RDKit::QueryAtom *>(atom)->getQuery());
  }
  return n;
}
}  // namespace

uint32_t query_atom_count(const Mol &query) { return count_query_atoms(*query.inner); }

uint32_t atom_count(const Mol &mol) { return mol.inner->getNumAtoms(); }

uint32_t dummy_atom_count(const Mol &mol) {
  uint32_t n = 0;
  for (const auto atom : mol.inner->atoms()) {
    if (atom->getAtomicNum() == 0) ++n;
  }
  return n;
}

uint32_t fragment_count(const Mol &mol) { return RDKit::MolOps::getMolFrags(*mol.inner).size(); }

std::unique_ptr<Mol> guard_query(const Mol &query) {
  auto like = std::make_shared<const RDKit::ROMol>(*query.inner);
  std::unique_ptr<RDKit::RWMol> guarded(new RDKit::RWMol(*query.inner));
  for (unsigned idx = 0; idx < guarded->getNumAtoms(); ++idx) {
    RDKit::Atom *atom = guarded->getAtomWithIdx(idx);
    if (atom->hasQuery()) continue;
    RDKit::QueryAtom qa;
    qa.setQuery(new DeadlineQuery(like, idx));
    guarded->replaceAtom(idx, &qa);
  }
  guard_atoms(*guarded);
  return wrap(guarded.release());
}

bool has_match(const Mol &mol, const Mol &query, uint64_t budget_us) {
  struct Reset {
    ~Reset() { t_deadline = Clock::time_point::max(); }
  } reset;
  const auto now = Clock::now();
  const auto budget = std::chrono::microseconds(
      std::min<uint64_t>(budget_us, uint64_t(24) * 3600 * 1000000));
  t_deadline = now + budget;
  t_ticks = 0;
  RDKit::MatchVectType match;
  return RDKit::SubstructMatch(*mol.inner, *query.inner, match);
}

rust::Vec<uint64_t> morgan_bits(const Mol &mol, uint32_t radius, uint32_t n_bits) {
  std::unique_ptr<ExplicitBitVect> fp(
      RDKit::MorganFingerprints::getFingerprintAsBitVect(*mol.inner, radius, n_bits));
  rust::Vec<uint64_t> words;
  for (uint32_t w = 0; w < (n_bits + 63) / 64; ++w) words.push_back(0);
  for (uint32_t i = 0; i < n_bits; ++i) {
    if (fp->getBit(i)) words[i / 64] |= (uint64_t(1) << (i % 64));
  }
  return words;
}

rust::String murcko_scaffold(const Mol &mol) {
  std::unique_ptr<RDKit::ROMol> core(RDKit::MurckoDecompose(*mol.inner));
  if (!core || core->getNumAtoms() == 0) return rust::String("");
  return rust::String(RDKit::MolToSmiles(*core));
}

// Atoms in `highlight` (and the bonds between them) are drawn highlighted; indices outside the
// molecule are ignored.
rust::String to_svg(const Mol &mol, uint32_t width, uint32_t height, rust::Vec<uint32_t> highlight) {
  RDKit::ROMol copy(*mol.inner);
  RDDepict::compute2DCoords(copy);
  RDKit::MolDraw2DSVG drawer(width, height);
  std::vector<int> atoms;
  for (auto a : highlight) {
    if (a < copy.getNumAtoms()) atoms.push_back(static_cast<int>(a));
  }
  std::vector<int> bonds;
  for (const auto bond : copy.bonds()) {
    const auto in = [&](unsigned i) { return std::find(atoms.begin(), atoms.end(), int(i)) != atoms.end(); };
    if (in(bond->getBeginAtomIdx()) && in(bond->getEndAtomIdx())) bonds.push_back(static_cast<int>(bond->getIdx()));
  }
  RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, copy, "", atoms.empty() ? nullptr : &atoms,
                                                atoms.empty() ? nullptr : &bonds);
  drawer.finishDrawing();
  return rust::String(drawer.getDrawingText());
}

namespace {
// 0D stereo parities for InChI (inchi_api.h, "0D parities"): with all coordinates zero, InChI
// takes stereo from these. RDKit's chiral tag is relative to the order of the atom's bonds
// (CW/CCW of the later neighbours seen from the first); with four neighbours CW is InChI's 'e'.
// An implicit hydrogen or lone pair counts as the *last* neighbour in RDKit, while InChI wants
// the central atom in its place *first*: an odd permutation, so with three neighbours CW is 'o'.
// (Checked against PubChem's standard keys of trehalose, sucrose, proline and glucose in
// cryo-chem's tests.) For a double bond {X, A, B, Y}, 'e' means X and Y are trans.
std::vector<inchi_Stereo0D> stereo_parities(const RDKit::ROMol &m) {
  std::vector<inchi_Stereo0D> out;
  for (const auto atom : m.atoms()) {
    const auto tag = atom->getChiralTag();
    if (tag != RDKit::Atom::CHI_TETRAHEDRAL_CW && tag != RDKit::Atom::CHI_TETRAHEDRAL_CCW) continue;
    std::vector<AT_NUM> around;
    for (const auto bond : m.atomBonds(atom)) {
      around.push_back(static_cast<AT_NUM>(bond->getOtherAtomIdx(atom->getIdx())));
    }
    const bool implicit_h = around.size() == 3;
    if (implicit_h) around.insert(around.begin(), static_cast<AT_NUM>(atom->getIdx()));
    if (around.size() != 4) continue;
    inchi_Stereo0D st;
    std::memset(&st, 0, sizeof(st));
    std::copy(around.begin(), around.end(), st.neighbor);
    st.central_atom = static_cast<AT_NUM>(atom->getIdx());
    st.type = INCHI_StereoType_Tetrahedral;
    const bool cw = tag == RDKit::Atom::CHI_TETRAHEDRAL_CW;
    st.parity = cw != implicit_h ? INCHI_PARITY_EVEN : INCHI_PARITY_ODD;
    out.push_back(st);
  }
  for (const auto bond : m.bonds()) {
    const auto stereo = bond->getStereo();
    if (bond->getBondType() != RDKit::Bond::DOUBLE || stereo <= RDKit::Bond::STEREOANY) continue;
    const auto &ends = bond->getStereoAtoms();
    if (ends.size() != 2) continue;
    inchi_Stereo0D st;
    std::memset(&st, 0, sizeof(st));
    st.neighbor[0] = static_cast<AT_NUM>(ends[0]);
    st.neighbor[1] = static_cast<AT_NUM>(bond->getBeginAtomIdx());
    st.neighbor[2] = static_cast<AT_NUM>(bond->getEndAtomIdx());
    st.neighbor[3] = static_cast<AT_NUM>(ends[1]);
    st.central_atom = NO_ATOM;
    st.type = INCHI_StereoType_DoubleBond;
    const bool trans = stereo == RDKit::Bond::STEREOE || stereo == RDKit::Bond::STEREOTRANS;
    st.parity = trans ? INCHI_PARITY_EVEN : INCHI_PARITY_ODD;
    out.push_back(st);
  }
  return out;
}
}  // namespace

// Standard InChI from the connection table and the stereo parities. Throws with InChI's own
// message on failure.
rust::String std_inchi(const Mol &mol) {
  RDKit::RWMol m(*mol.inner);
  RDKit::MolOps::Kekulize(m, /*markAtomsBonds=*/true);
  const auto n = m.getNumAtoms();
  if (n > 1024) throw std::runtime_error("too many atoms for InChI");
  std::vector<inchi_Atom> atoms(n);
  std::memset(atoms.data(), 0, sizeof(inchi_Atom) * n);
  for (const auto atom : m.atoms()) {
    inchi_Atom &a = atoms[atom->getIdx()];
    std::string sym = atom->getSymbol();
    std::strncpy(a.elname, sym.c_str(), ATOM_EL_LEN - 1);
    a.num_iso_H[0] = static_cast<S_CHAR>(atom->getTotalNumHs());
    a.charge = static_cast<S_CHAR>(atom->getFormalCharge());
    a.radical = atom->getNumRadicalElectrons() == 1 ? INCHI_RADICAL_DOUBLET : INCHI_RADICAL_NONE;
    a.isotopic_mass = atom->getIsotope() ? static_cast<AT_NUM>(atom->getIsotope()) : 0;
  }
  for (const auto bond : m.bonds()) {
    // Each bond once, on its higher-numbered atom.
    auto lo = std::min(bond->getBeginAtomIdx(), bond->getEndAtomIdx());
    auto hi = std::max(bond->getBeginAtomIdx(), bond->getEndAtomIdx());
    inchi_Atom &a = atoms[hi];
    if (a.num_bonds >= MAXVAL) throw std::runtime_error("atom with too many bonds for InChI");
    S_CHAR type = INCHI_BOND_TYPE_SINGLE;
    if (bond->getBondType() == RDKit::Bond::DOUBLE) type = INCHI_BOND_TYPE_DOUBLE;
    if (bond->getBondType() == RDKit::Bond::TRIPLE) type = INCHI_BOND_TYPE_TRIPLE;
    a.neighbor[a.num_bonds] = static_cast<AT_NUM>(lo);
    a.bond_type[a.num_bonds] = type;
    a.bond_stereo[a.num_bonds] = INCHI_BOND_STEREO_NONE;
    a.num_bonds++;
  }
  auto stereo = stereo_parities(m);
  inchi_Input input;
  std::memset(&input, 0, sizeof(input));
  input.atom = atoms.data();
  input.num_atoms = static_cast<AT_NUM>(n);
  input.stereo0D = stereo.empty() ? nullptr : stereo.data();
  input.num_stereo0D = static_cast<AT_NUM>(stereo.size());
  char options[] = "";
  input.szOptions = options;
  inchi_Output output;
  std::memset(&output, 0, sizeof(output));
  int rc = GetStdINCHI(&input, &output);
  std::string result = output.szInChI ? output.szInChI : "";
  std::string message = output.szMessage ? output.szMessage : "";
  FreeStdINCHI(&output);
  if ((rc != inchi_Ret_OKAY && rc != inchi_Ret_WARNING) || result.empty()) {
    throw std::runtime_error("InChI generation failed: " + (message.empty() ? std::to_string(rc) : message));
  }
  return rust::String(result);
}

rust::String std_inchi_key(rust::Str inchi) {
  std::string s(inchi);
  char key[32] = {0};
  int rc = GetStdINCHIKeyFromStdINCHI(s.c_str(), key);
  if (rc != INCHIKEY_OK) throw std::runtime_error("InChIKey generation failed: code " + std::to_string(rc));
  return rust::String(key);
}

// Structural alerts from RDKit's FilterCatalog (PAINS A/B/C, Brenk, NIH, ZINC: every set this
// RDKit ships). One catalog for the process: matching only reads it.
rust::Vec<AlertHit> structural_alerts(const Mol &mol) {
  static const RDKit::FilterCatalog catalog(RDKit::FilterCatalogParams::ALL);
  rust::Vec<AlertHit> out;
  for (const auto &entry : catalog.getMatches(*mol.inner)) {
    AlertHit hit;
    auto text = [&](const char *key) {
      std::string v;
      if (entry->hasProp(key)) entry->getProp(key, v);
      return rust::String(v);
    };
    hit.family = text("FilterSet");
    hit.name = rust::String(entry->getDescription());
    hit.reference = text("Reference");
    hit.scope = text("Scope");
    std::vector<RDKit::FilterMatch> matches;
    entry->getFilterMatches(*mol.inner, matches);
    std::vector<uint32_t> atoms;
    for (const auto &m : matches) {
      for (const auto &pair : m.atomPairs) atoms.push_back(static_cast<uint32_t>(pair.second));
    }
    std::sort(atoms.begin(), atoms.end());
    atoms.erase(std::unique(atoms.begin(), atoms.end()), atoms.end());
    for (auto a : atoms) hit.atoms.push_back(a);
    out.push_back(std::move(hit));
  }
  return out;
}

std::unique_ptr<QedPatterns> qed_patterns(rust::Vec<rust::String> acceptors,
                                          rust::Vec<rust::String> alerts,
                                          rust::Str aliphatic_ring) {
  auto parse = [](const std::string &smarts) {
    std::unique_ptr<RDKit::ROMol> q(RDKit::SmartsToMol(smarts));
    if (!q) throw std::runtime_error("QED SMARTS does not parse: " + smarts);
    return q;
  };
  auto out = std::make_unique<QedPatterns>();
  for (const auto &s : acceptors) out->acceptors.push_back(parse(std::string(s)));
  for (const auto &s : alerts) out->alerts.push_back(parse(std::string(s)));
  out->aliphatic_ring = parse(std::string(aliphatic_ring));
  return out;
}

// The eight QED properties of Bickerton et al. (2012) as RDKit defines them: MW, ALOGP, HBA,
// HBD, PSA, ROTB, AROM, ALERTS.
rust::Vec<double> qed_properties(const Mol &mol, const QedPatterns &patterns) {
  const RDKit::ROMol &m = *mol.inner;
  double logp = 0, mr = 0;
  RDKit::Descriptors::calcCrippenDescriptors(m, logp, mr);
  uint32_t hba = 0;
  for (const auto &q : patterns.acceptors) {
    std::vector<RDKit::MatchVectType> matches;
    hba += RDKit::SubstructMatch(m, *q, matches, /*uniquify=*/true);
  }
  uint32_t alerts = 0;
  for (const auto &q : patterns.alerts) {
    RDKit::MatchVectType match;
    if (RDKit::SubstructMatch(m, *q, match)) ++alerts;
  }
  // Aromatic rings as QED counts them: rings left after deleting atoms of aliphatic rings.
  std::unique_ptr<RDKit::ROMol> aromatic(RDKit::deleteSubstructs(m, *patterns.aliphatic_ring));
  std::vector<std::vector<int>> rings;
  const auto arom = RDKit::MolOps::findSSSR(*aromatic, rings);
  rust::Vec<double> out;
  out.push_back(RDKit::Descriptors::calcAMW(m, /*onlyHeavy=*/false));
  out.push_back(logp);
  out.push_back(hba);
  out.push_back(RDKit::Descriptors::calcNumHBD(m));
  out.push_back(RDKit::Descriptors::calcTPSA(m));
  out.push_back(RDKit::Descriptors::calcNumRotatableBonds(m, RDKit::Descriptors::Strict));
  out.push_back(arom);
  out.push_back(alerts);
  return out;
}

}  // namespace cryo
