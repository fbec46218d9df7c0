//! Bounds on what RDKit is asked to do, checked on the text before RDKit sees it: RDKit's
//! canonicalisation and ring perception recurse and grow faster than linearly with the structure,
//! so an unbounded input can overflow a thread's stack or hold a core for minutes. The defaults
//! leave room for every cryoprotectant, sugar, polyol and peptide a lab registers (the largest
//! reference molecule, trehalose, has 23 heavy atoms) and refuse polymers written out atom by
//! atom. The server sets them from configuration once at start ([`configure`]).

use crate::ChemError;
use std::sync::RwLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a SMILES or SMARTS string.
    pub max_smiles_bytes: usize,
    /// Bytes of a MOL block.
    pub max_molblock_bytes: usize,
    /// Atoms as written (heavy atoms and explicit hydrogens).
    pub max_atoms: usize,
    /// Bonds as written.
    pub max_bonds: usize,
    /// Disconnected parts (`.` in SMILES).
    pub max_fragments: usize,
    /// Independent rings (ring closures in SMILES; bonds − atoms + parts in a MOL block).
    pub max_rings: usize,
    /// Atoms of a substructure query, counting those inside recursive `$(…)` environments.
    pub max_query_atoms: usize,
    /// Recursive `$(…)` environments in a SMARTS.
    pub max_query_recursion: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_smiles_bytes: 4096,
        max_molblock_bytes: 512 * 1024,
        max_atoms: 400,
        max_bonds: 800,
        max_fragments: 32,
        max_rings: 64,
        max_query_atoms: 64,
        max_query_recursion: 8,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static LIMITS: RwLock<Limits> = RwLock::new(Limits::DEFAULT);

/// Sets the limits every parser in this process applies (the server calls it once at start).
pub fn configure(limits: Limits) {
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = limits;
}

/// The limits in force.
pub fn current() -> Limits {
    *LIMITS.read().unwrap_or_else(|e| e.into_inner())
}

fn over(limit: &'static str, what: &'static str, found: usize, max: usize) -> ChemError {
    ChemError::TooLarge {
        limit,
        what,
        found,
        max,
    }
}

fn at_most(
    limit: &'static str,
    what: &'static str,
    found: usize,
    max: usize,
) -> Result<(), ChemError> {
    if found > max {
        Err(over(limit, what, found, max))
    } else {
        Ok(())
    }
}

/// What a SMILES string spells, counted from its text alone (linear, no RDKit).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SmilesCounts {
    pub atoms: usize,
    pub fragments: usize,
    pub rings: usize,
}

impl SmilesCounts {
    pub fn bonds(&self) -> usize {
        (self.atoms + self.rings).saturating_sub(self.fragments)
    }
}

/// Counts atoms (bracket atoms and organic-subset symbols; `Cl`/`Br` once), parts and ring
/// closures. Meant for text that passed the grammar check, but never fails on any text.
pub fn count_smiles(smiles: &str) -> SmilesCounts {
    let mut c = SmilesCounts {
        fragments: 1,
        ..Default::default()
    };
    let mut closures = 0usize;
    let mut bytes = smiles.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'[' => {
                c.atoms += 1;
                for inner in bytes.by_ref() {
                    if inner == b']' {
                        break;
                    }
                }
            }
            b'B' | b'C' | b'N' | b'O' | b'P' | b'S' | b'F' | b'I' | b'b' | b'c' | b'n' | b'o'
            | b'p' | b's' | b'*' => c.atoms += 1,
            b'.' => c.fragments += 1,
            b'0'..=b'9' => closures += 1,
            b'%' => {
                closures += 1;
                // Two digits name one closure.
                bytes.next();
                bytes.next();
            }
            _ => {}
        }
    }
    c.rings = closures / 2;
    c
}

/// Refuses a SMILES whose text exceeds the limits, before any parsing.
pub fn check_smiles(smiles: &str, l: &Limits) -> Result<(), ChemError> {
    at_most(
        "max_smiles_bytes",
        "bytes",
        smiles.len(),
        l.max_smiles_bytes,
    )?;
    let c = count_smiles(smiles);
    at_most("max_atoms", "atoms", c.atoms, l.max_atoms)?;
    at_most(
        "max_fragments",
        "disconnected parts",
        c.fragments,
        l.max_fragments,
    )?;
    at_most("max_rings", "rings", c.rings, l.max_rings)?;
    at_most("max_bonds", "bonds", c.bonds(), l.max_bonds)
}

/// Refuses a MOL block whose size or counts line exceeds the limits, before any parsing.
pub fn check_molblock(block: &str, l: &Limits) -> Result<(), ChemError> {
    at_most(
        "max_molblock_bytes",
        "bytes",
        block.len(),
        l.max_molblock_bytes,
    )?;
    let (atoms, bonds) = molblock_counts(block).ok_or_else(|| {
        ChemError::InvalidMolBlock("the counts line (line 4) gives no atom and bond counts".into())
    })?;
    at_most("max_atoms", "atoms", atoms, l.max_atoms)?;
    at_most("max_bonds", "bonds", bonds, l.max_bonds)
}

/// Atom and bond counts from the V2000 counts line or the V3000 `COUNTS` line.
fn molblock_counts(block: &str) -> Option<(usize, usize)> {
    if let Some(line) = block
        .lines()
        .find(|l| l.trim_start().starts_with("M  V30 COUNTS"))
    {
        let mut it = line.split_whitespace().skip(3);
        let atoms = it.next()?.parse().ok()?;
        let bonds = it.next()?.parse().ok()?;
        return Some((atoms, bonds));
    }
    let counts = block.lines().nth(3)?;
    let field = |r: std::ops::Range<usize>| counts.get(r).map(str::trim);
    let atoms = field(0..3)?.parse().ok()?;
    let bonds = field(3..6)?.parse().ok()?;
    Some((atoms, bonds))
}

/// Refuses a SMARTS whose text exceeds the limits, before any parsing.
pub fn check_smarts(smarts: &str, l: &Limits) -> Result<(), ChemError> {
    at_most(
        "max_smiles_bytes",
        "bytes",
        smarts.len(),
        l.max_smiles_bytes,
    )?;
    at_most(
        "max_query_recursion",
        "recursive environments",
        smarts.matches("$(").count(),
        l.max_query_recursion,
    )
}

/// Refuses a parsed query with more atoms (recursive environments included) than allowed.
pub(crate) fn check_query_atoms(atoms: usize, l: &Limits) -> Result<(), ChemError> {
    at_most("max_query_atoms", "query atoms", atoms, l.max_query_atoms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smiles_counts_atoms_parts_and_rings_from_the_text() {
        let c = count_smiles("OC[C@H]1OC(O)C(Cl)C1Br.[Na+].c1ccccc1");
        // O C C O C O C Cl C Br | Na | 6 aromatic
        assert_eq!(c.atoms, 10 + 1 + 6);
        assert_eq!(c.fragments, 3);
        assert_eq!(c.rings, 2);
        assert_eq!(count_smiles("C%12CC%12").rings, 1);
    }

    #[test]
    fn limits_name_what_they_bound() {
        let l = Limits::DEFAULT;
        let chain = "C".repeat(l.max_atoms + 1);
        let e = check_smiles(&chain, &l).unwrap_err();
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
        assert!(check_smiles(&"C".repeat(l.max_atoms), &l).is_ok());
        let dots = vec!["C"; l.max_fragments + 1].join(".");
        assert!(matches!(
            check_smiles(&dots, &l).unwrap_err(),
            ChemError::TooLarge {
                limit: "max_fragments",
                ..
            }
        ));
        let big = "C".repeat(l.max_smiles_bytes + 1);
        assert!(matches!(
            check_smiles(&big, &l).unwrap_err(),
            ChemError::TooLarge {
                limit: "max_smiles_bytes",
                ..
            }
        ));
        let nested = "[$(C)]".repeat(l.max_query_recursion + 1);
        assert!(matches!(
            check_smarts(&nested, &l).unwrap_err(),
            ChemError::TooLarge {
                limit: "max_query_recursion",
                ..
            }
        ));
    }

    #[test]
    fn molblock_counts_come_from_the_counts_line() {
        let v2000 = "\n  RDKit\n\n999888  0  0  0  0  0  0  0  0999 V2000\nM  END\n";
        assert_eq!(molblock_counts(v2000), Some((999, 888)));
        let v3000 = "\n\n\n  0  0  0     0  0            999 V3000\nM  V30 BEGIN CTAB\nM  V30 COUNTS 5 4 0 0 0\nM  END\n";
        assert_eq!(molblock_counts(v3000), Some((5, 4)));
        assert!(matches!(
            check_molblock(v2000, &Limits::DEFAULT).unwrap_err(),
            ChemError::TooLarge {
                limit: "max_atoms",
                ..
            }
        ));
    }
}
