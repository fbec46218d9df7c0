//! A fast grammar check of SMILES before RDKit sees it, so a syntax error names what and where
//! (RDKit's parser only says "syntax error").

/// Positions are 1-based character positions, as a person counts.
pub fn check(smiles: &str) -> Result<(), String> {
    if smiles.trim().is_empty() {
        return Err("empty SMILES".into());
    }
    if let Some((i, c)) = smiles.char_indices().find(|(_, c)| c.is_whitespace()) {
        return Err(format!(
            "whitespace at position {} (`{}`); one structure per value",
            i + 1,
            c.escape_default()
        ));
    }
    let mut branches: Vec<usize> = Vec::new();
    let mut rings: std::collections::BTreeMap<u32, usize> = Default::default();
    let chars: Vec<char> = smiles.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '[' => match chars[i..].iter().position(|&x| x == ']') {
                Some(len) => {
                    if chars[i + 1..i + len].contains(&'[') {
                        return Err(format!(
                            "`[` at position {} is not closed before the next `[`",
                            i + 1
                        ));
                    }
                    i += len;
                }
                None => return Err(format!("`[` at position {} is never closed", i + 1)),
            },
            ']' => return Err(format!("`]` at position {} has no opening `[`", i + 1)),
            '(' => branches.push(i),
            ')' => {
                if branches.pop().is_none() {
                    return Err(format!("`)` at position {} closes no branch", i + 1));
                }
            }
            '0'..='9' => toggle(&mut rings, c.to_digit(10).unwrap_or(0), i),
            '%' => {
                let digits: String = chars.iter().skip(i + 1).take(2).collect();
                match digits.parse::<u32>() {
                    Ok(n) if digits.len() == 2 => {
                        toggle(&mut rings, n, i);
                        i += 2;
                    }
                    _ => {
                        return Err(format!(
                            "`%` at position {} must be followed by two digits",
                            i + 1
                        ));
                    }
                }
            }
            c if c.is_ascii_alphabetic() || "=#$:/\\.-+@*~".contains(c) => {}
            other => {
                return Err(format!(
                    "unexpected character `{}` at position {}",
                    other.escape_default(),
                    i + 1
                ));
            }
        }
        i += 1;
    }
    if let Some(open) = branches.first() {
        return Err(format!(
            "branch `(` at position {} is never closed",
            open + 1
        ));
    }
    if let Some((n, at)) = rings.iter().next() {
        return Err(format!(
            "ring bond {n} opened at position {} is never closed",
            at + 1
        ));
    }
    Ok(())
}

fn toggle(rings: &mut std::collections::BTreeMap<u32, usize>, n: u32, at: usize) {
    if rings.remove(&n).is_none() {
        rings.insert(n, at);
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn good_smiles_pass() {
        for s in [
            "OCC(O)CO",
            "c1ccccc1",
            "C[N+](C)(C)CC(=O)[O-]",
            "C%10CC%10",
            "[2H]O[2H]",
            "F/C=C/F",
            "O.O",
        ] {
            assert_eq!(check(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            ("", "empty"),
            ("CC(O", "position 3 is never closed"),
            ("CC)O", "`)` at position 3"),
            ("C1CC", "ring bond 1 opened at position 2"),
            ("C[NH2", "`[` at position 2 is never closed"),
            ("CC O", "whitespace at position 3"),
            ("C?C", "unexpected character `?` at position 2"),
            ("C%1CC", "must be followed by two digits"),
        ];
        for (s, expected) in cases {
            let err = check(s).unwrap_err();
            assert!(err.contains(expected), "{s}: {err}");
        }
    }
}
