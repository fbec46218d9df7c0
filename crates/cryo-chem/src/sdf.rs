//! Streaming SDF reading: one record at a time, each with its first line number, its data
//! fields and either a molecule or the reason it could not be read. A bad record never stops
//! the ones after it.

use crate::{ChemError, Molecule};
use std::collections::BTreeMap;
use std::io::BufRead;

pub struct SdfRecord {
    /// 1-based line number where the record starts.
    pub line: usize,
    /// 1-based record number.
    pub index: usize,
    /// The MOL block's first line (usually the molecule's name).
    pub title: String,
    /// Data fields (`> <NAME>` blocks).
    pub fields: BTreeMap<String, String>,
    pub molecule: Result<Molecule, ChemError>,
}

pub struct SdfReader<R> {
    input: R,
    line_no: usize,
    index: usize,
    done: bool,
}

impl<R: BufRead> SdfReader<R> {
    pub fn new(input: R) -> Self {
        SdfReader {
            input,
            line_no: 0,
            index: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for SdfReader<R> {
    type Item = SdfRecord;

    fn next(&mut self) -> Option<SdfRecord> {
        if self.done {
            return None;
        }
        let start = self.line_no + 1;
        let mut block = String::new();
        let mut fields = BTreeMap::new();
        let mut in_data = false;
        let mut current: Option<(String, String)> = None;
        let mut saw_any = false;
        loop {
            let mut line = String::new();
            match self.input.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
            }
            self.line_no += 1;
            let trimmed = line.trim_end_matches(['\n', '\r']);
            if trimmed == "$$$$" {
                break;
            }
            saw_any |= !trimmed.trim().is_empty();
            if !in_data {
                block.push_str(trimmed);
                block.push('\n');
                if trimmed.starts_with("M  END") {
                    in_data = true;
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('>') {
                if let Some((k, v)) = current.take() {
                    fields.insert(k, v.trim_end().to_string());
                }
                let name = rest
                    .split('<')
                    .nth(1)
                    .and_then(|s| s.split('>').next())
                    .unwrap_or("")
                    .to_string();
                current = Some((name, String::new()));
            } else if let Some((_, v)) = current.as_mut()
                && !trimmed.is_empty()
            {
                v.push_str(trimmed);
                v.push('\n');
            }
        }
        if let Some((k, v)) = current.take() {
            fields.insert(k, v.trim_end().to_string());
        }
        if !saw_any {
            return None;
        }
        self.index += 1;
        let title = block.lines().next().unwrap_or("").trim().to_string();
        Some(SdfRecord {
            line: start,
            index: self.index,
            title,
            fields,
            molecule: Molecule::from_molblock(&block),
        })
    }
}
