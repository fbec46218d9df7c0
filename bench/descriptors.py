"""Reference: the original's 20-feature vector with Python RDKit, single process (as the
original computed it), or with `rdkit` the 43 RDKit descriptors (`rdMolDescriptors.Properties`).
Usage: python3 descriptors.py FILE.smi [rdkit] > out.csv; prints timing to stderr."""
import sys, time
from rdkit import Chem, RDLogger
from rdkit.Chem import Crippen, Descriptors, Fragments, Lipinski, rdMolDescriptors

RDLogger.DisableLog("rdApp.*")


def features(mol):
    m = Chem.AddHs(mol)
    donors, acceptors = Lipinski.NumHDonors(m), Lipinski.NumHAcceptors(m)
    logp, tpsa, mw = Crippen.MolLogP(m), rdMolDescriptors.CalcTPSA(m), Descriptors.MolWt(m)
    rotb = rdMolDescriptors.CalcNumRotatableBonds(m)
    oh = Fragments.fr_Al_OH(m) + Fragments.fr_Ar_OH(m)
    ro5 = sum([logp > 5, mw > 500, donors > 5, acceptors > 10])
    veber = sum([rotb > 10, tpsa > 140])
    return [donors, acceptors, donors + acceptors, logp, tpsa, mw, m.GetNumHeavyAtoms(), rotb,
            rdMolDescriptors.CalcNumRings(m), rdMolDescriptors.CalcFractionCSP3(m), oh, oh,
            Fragments.fr_ether(m), Fragments.fr_NH1(m) + Fragments.fr_NH2(m), Fragments.fr_amide(m),
            ro5, veber, int((logp < 3 and tpsa < 75) or (logp > 3 and tpsa < 60)),
            int(logp < 5 and tpsa < 130), -4.3 - 0.01 * tpsa + 0.4 * logp]


PROPERTIES = rdMolDescriptors.Properties()


def properties(mol):
    return list(PROPERTIES.ComputeProperties(mol))


def main(path, which="cryo20"):
    compute = properties if which == "rdkit" else features
    lines = [l.split()[0] for l in open(path) if l.strip() and not l.startswith("#")]
    start = time.perf_counter()
    out, bad = [], 0
    for smi in lines:
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            bad += 1
            continue
        out.append(compute(mol))
    elapsed = time.perf_counter() - start
    for row in out:
        print(",".join(str(v) for v in row))
    print(f"python {len(out)} molecules in {elapsed:.3f} s = {len(out) / elapsed:.0f} molecules/s ({bad} rejected)", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
