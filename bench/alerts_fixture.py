"""Regenerate crates/cryo-chem/tests/data/alerts_reference.json: for known drugs and
cryoprotectants, the structural-alert counts per FilterCatalog set and QED as RDKit in Python
gives them. cryo-chem's tests compare their own values with these.
Usage: python bench/alerts_fixture.py > crates/cryo-chem/tests/data/alerts_reference.json
(with rdkit installed, e.g. target/bench-venv after bench/toxicity.sh).
"""
import json

from rdkit import Chem, rdBase
from rdkit.Chem import QED
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

FAMILIES = {"PAINS_A": "pains_a", "PAINS_B": "pains_b", "PAINS_C": "pains_c",
            "Brenk": "brenk", "NIH": "nih", "ZINC": "zinc"}
STRUCTURES = [
    ("DMSO", "CS(C)=O"), ("glycerol", "OCC(O)CO"), ("formamide", "NC=O"),
    ("acrylamide", "C=CC(N)=O"), ("catechol", "Oc1ccccc1O"), ("rhodanine", "O=C1CSC(=S)N1"),
    ("ethylene glycol", "OCCO"), ("trehalose",
     "OC[C@H]1O[C@H](O[C@H]2O[C@H](CO)[C@@H](O)[C@H](O)[C@H]2O)[C@H](O)[C@@H](O)[C@@H]1O"),
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O"), ("paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"), ("nitrofurantoin", "O=C1CN(/N=C/c2ccc([N+](=O)[O-])o2)C(=O)N1"),
    ("hydroquinone", "Oc1ccc(O)cc1"), ("thiourea", "NC(N)=S"), ("acrylonitrile", "C=CC#N"),
    ("quinone", "O=C1C=CC(=O)C=C1"), ("curcumin", "COc1cc(/C=C/C(=O)CC(=O)/C=C/c2ccc(O)c(OC)c2)ccc1O"),
    ("famotidine", "N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O"),
]
params = FilterCatalogParams()
for name in ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH", "ZINC"]:
    params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
catalog = FilterCatalog(params)
rows = []
for name, smiles in STRUCTURES:
    m = Chem.MolFromSmiles(smiles)
    counts = dict.fromkeys(FAMILIES.values(), 0)
    for entry in catalog.GetMatches(m):
        counts[FAMILIES[entry.GetProp("FilterSet")]] += 1
    rows.append({"name": name, "smiles": smiles, "counts": counts, "qed": QED.qed(m)})
print(json.dumps({"rdkit": rdBase.rdkitVersion, "structures": rows}, indent=1))
