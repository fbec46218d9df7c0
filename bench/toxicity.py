"""Structural alerts + QED with RDKit in Python, the reference for bench/toxicity.sh.

For each SMILES: parse, match RDKit's FilterCatalog (the PAINS A/B/C, Brenk, NIH and ZINC sets,
counted per set) and compute QED (Chem.QED.qed, mean weights). The loop is timed; InChIKeys
(for the identity check) are computed afterwards, untimed. Writes CSV like
`cryoprotect toxicity describe --keys` to stdout and the rate to stderr.
Usage: python toxicity.py FILE.smi
"""
import sys
import time

from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import QED
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

RDLogger.DisableLog("rdApp.*")
FAMILIES = {"PAINS_A": "pains_a", "PAINS_B": "pains_b", "PAINS_C": "pains_c",
            "Brenk": "brenk", "NIH": "nih", "ZINC": "zinc"}
ORDER = list(FAMILIES.values())

params = FilterCatalogParams()
for name in ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH", "ZINC"]:
    params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
catalog = FilterCatalog(params)

smiles = [line.split()[0] for line in open(sys.argv[1]) if line.strip()]
start = time.perf_counter()
rows = []
for i, s in enumerate(smiles, 1):
    m = Chem.MolFromSmiles(s)
    if m is None:
        continue
    counts = dict.fromkeys(ORDER, 0)
    for entry in catalog.GetMatches(m):
        counts[FAMILIES[entry.GetProp("FilterSet")]] += 1
    rows.append((i, m, QED.qed(m), counts))
secs = time.perf_counter() - start
print("line,inchikey,qed," + ",".join(ORDER))
for i, m, q, counts in rows:
    key = Chem.MolToInchiKey(m) if m.GetNumAtoms() else ""
    print(f"{i},{key},{q:.6f}," + ",".join(str(counts[f]) for f in ORDER))
print(f"rdkit {rdBase.rdkitVersion}: {len(rows)} molecules in {secs:.2f} s = {len(rows) / secs:.0f} molecules/s",
      file=sys.stderr)
