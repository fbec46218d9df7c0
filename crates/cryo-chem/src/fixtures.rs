//! Structures for tests and benchmarks that probe the limits: built here once so every suite
//! uses the same ones.

/// An n×n grid of carbons as a V2000 MOL block (bipartite: it has no odd ring).
pub fn grid_molblock(n: usize) -> String {
    let idx = |r: usize, c: usize| r * n + c + 1;
    let mut bonds = Vec::new();
    for r in 0..n {
        for c in 0..n {
            if c + 1 < n {
                bonds.push((idx(r, c), idx(r, c + 1)));
            }
            if r + 1 < n {
                bonds.push((idx(r, c), idx(r + 1, c)));
            }
        }
    }
    let mut out = format!(
        "grid\n  test\n\n{:>3}{:>3}  0  0  0  0  0  0  0  0999 V2000\n",
        n * n,
        bonds.len()
    );
    for r in 0..n {
        for c in 0..n {
            out += &format!(
                "{:>10.4}{:>10.4}{:>10.4} C   0  0  0  0  0  0  0  0  0  0  0  0\n",
                c as f64 * 1.5,
                r as f64 * 1.5,
                0.0
            );
        }
    }
    for (a, b) in bonds {
        out += &format!("{a:>3}{b:>3}  1  0\n");
    }
    out + "M  END\n"
}
