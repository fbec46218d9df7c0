"""Every RDKit descriptor CryoProtect computes (the `rdkit` feature set: RDKit's
`Descriptors::Properties`), recomputed by RDKit in Python (its own `rdMolDescriptors.Properties`,
same names) on the same canonical SMILES. Prints one line per descriptor: rows compared, rows
that differ by more than 1e-6 (relative), the largest difference, and an example.

Usage: descriptor_values.py TABLE   (a `cryoprotect model featurize --features rdkit` table)"""
import sys

import pandas as pd
from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import rdMolDescriptors

RDLogger.DisableLog("rdApp.*")
table = pd.read_csv(sys.argv[1])
props = rdMolDescriptors.Properties()
names = list(props.GetPropertyNames())
ours_names = [c for c in table.columns if c not in ("id", "fold", "group") and c in names]
rows = []
for smi in table["id"]:
    mol = Chem.MolFromSmiles(smi)
    rows.append(dict(zip(names, props.ComputeProperties(mol))) if mol else None)
print(f"RDKit (Python) {rdBase.rdkitVersion}; {len(ours_names)} descriptors, {len(table)} molecules")
print(f"{'descriptor':<32} {'rows':>5} {'differ':>6} {'max |diff|':>12}   example (ours vs Python)")
for name in ours_names:
    n, differ, worst, example = 0, 0, 0.0, ""
    for ours, ref, smi in zip(table[name], rows, table["id"]):
        if ref is None:
            continue
        n += 1
        d = abs(float(ours) - ref[name])
        if d > 1e-6 * max(1.0, abs(ref[name])):
            differ += 1
            if d > worst:
                worst, example = d, f"{smi}: {float(ours):g} vs {ref[name]:g}"
    print(f"{name:<32} {n:>5} {differ:>6} {worst:>12.6g}   {example}")
