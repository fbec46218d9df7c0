//! Tables written as files a lab opens elsewhere: CSV, TSV, JSON, XLSX (Office Open XML, one
//! sheet, numbers as numbers) and SDF (a structure per record, the columns as data tags).
//! Pure: rows in, bytes out; structures for SDF come as MOL blocks made by the caller.

use crate::AppError;
use std::io::Write;

/// The file formats an export can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Tsv,
    Json,
    Xlsx,
    Sdf,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [Self::Csv, Self::Tsv, Self::Json, Self::Xlsx, Self::Sdf];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Xlsx => "xlsx",
            Self::Sdf => "sdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Tsv => "text/tab-separated-values; charset=utf-8",
            Self::Json => "application/json",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Sdf => "chemical/x-mdl-sdfile",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                AppError::validation("format", "one of csv, tsv, json, xlsx, sdf".to_string())
            })
    }
}

/// One cell: text, a number, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.filter(|v| v.is_finite())
            .map_or(Cell::Empty, Cell::Number)
    }
}

impl From<Option<&str>> for Cell {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Cell::Empty, |t| Cell::Text(t.to_string()))
    }
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(t) => t.clone().into(),
            Cell::Number(n) => (*n).into(),
            Cell::Empty => serde_json::Value::Null,
        }
    }
}

/// Named columns and rows of cells (each row as long as the header).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The table as `format` (not SDF: see [`sdf`]).
pub fn write(table: &Table, format: ExportFormat) -> Result<Vec<u8>, AppError> {
    match format {
        ExportFormat::Csv => delimited(table, b','),
        ExportFormat::Tsv => delimited(table, b'\t'),
        ExportFormat::Json => Ok(json(table)),
        ExportFormat::Xlsx => xlsx(table),
        ExportFormat::Sdf => Err(AppError::Internal(
            "an SDF export needs structures: use export::sdf".into(),
        )),
    }
}

fn delimited(table: &Table, delimiter: u8) -> Result<Vec<u8>, AppError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| AppError::Internal(format!("writing the export: {e}"));
    w.write_record(&table.columns).map_err(failed)?;
    for row in &table.rows {
        w.write_record(row.iter().map(Cell::text)).map_err(failed)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(format!("writing the export: {e}")))
}

/// An array of objects keyed by column.
fn json(table: &Table) -> Vec<u8> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = table
        .rows
        .iter()
        .map(|row| {
            table
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.to_string(), v.json()))
                .collect()
        })
        .collect();
    serde_json::to_vec_pretty(&rows).expect("JSON values serialise")
}

/// Text safe inside XML: the five entities escaped, and characters XML 1.0 forbids dropped.
fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// The column letters of 0-based column `i` (A, B, …, Z, AA, …).
fn column_name(mut i: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII letters")
}

/// A minimal SpreadsheetML workbook (ECMA-376): one sheet, inline strings, numbers as numbers,
/// the header row bold-free and frozen nowhere: what every spreadsheet program opens.
fn xlsx(table: &Table) -> Result<Vec<u8>, AppError> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    let header = table.columns.iter().map(|c| Cell::Text(c.to_string()));
    let rows = std::iter::once(header.collect::<Vec<_>>()).chain(table.rows.iter().cloned());
    for (r, row) in rows.enumerate() {
        sheet.push_str(&format!("<row r=\"{}\">", r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column_name(c), r + 1);
            match cell {
                Cell::Text(t) => sheet.push_str(&format!(
                    "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                    xml_text(t)
                )),
                Cell::Number(n) => sheet.push_str(&format!("<c r=\"{at}\"><v>{n}</v></c>")),
                Cell::Empty => {}
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let parts: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    let failed = |e: &dyn std::fmt::Display| AppError::Internal(format!("writing the XLSX: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts
        .iter()
        .map(|(n, t)| (*n, *t))
        .chain([("xl/worksheets/sheet1.xml", sheet.as_str())])
    {
        zip.start_file(name, options).map_err(|e| failed(&e))?;
        zip.write_all(text.as_bytes()).map_err(|e| failed(&e))?;
    }
    Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
}

/// An SD file: each row's MOL block (none: an empty structure) followed by the row's non-empty
/// cells as data tags named by their columns.
pub fn sdf(table: &Table, mol_blocks: &[Option<String>]) -> Vec<u8> {
    let mut out = String::new();
    for (row, block) in table.rows.iter().zip(mol_blocks) {
        match block {
            Some(b) => {
                out.push_str(b.trim_end_matches('\n'));
                out.push('\n');
            }
            None => {
                out.push_str("\n  CryoProtect\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n")
            }
        }
        for (column, cell) in table.columns.iter().zip(row) {
            // A data line may not be blank (a blank line ends the item), nor hold a newline.
            let value = cell.text().replace(['\r', '\n'], " ");
            if !value.trim().is_empty() {
                out.push_str(&format!(">  <{column}>\n{value}\n\n"));
            }
        }
        out.push_str("$$$$\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            columns: vec!["name".into(), "value".into()],
            rows: vec![
                vec![Cell::Text("a, \"b\" <c> & d".into()), Cell::Number(1.5)],
                vec![Cell::Text("e\tf".into()), Cell::Empty],
            ],
        }
    }

    #[test]
    fn delimited_files_quote_what_needs_quoting_and_read_back() {
        let csv = write(&table(), ExportFormat::Csv).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_slice());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][0], "a, \"b\" <c> & d");
        assert_eq!(&rows[0][1], "1.5");
        assert_eq!(&rows[1][1], "");
        let tsv = write(&table(), ExportFormat::Tsv).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .from_reader(tsv.as_slice());
        assert_eq!(&r.records().nth(1).unwrap().unwrap()[0], "e\tf");
    }

    #[test]
    fn json_keeps_numbers_as_numbers_and_empty_as_null() {
        let v: serde_json::Value =
            serde_json::from_slice(&write(&table(), ExportFormat::Json).unwrap()).unwrap();
        assert_eq!(v[0]["value"], 1.5);
        assert!(v[1]["value"].is_null());
    }

    #[test]
    fn an_xlsx_is_a_zip_whose_sheet_holds_every_cell_escaped() {
        let bytes = write(&table(), ExportFormat::Xlsx).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("<c r=\"B2\"><v>1.5</v></c>"), "{sheet}");
        assert!(
            sheet.contains("a, &quot;b&quot; &lt;c&gt; &amp; d"),
            "{sheet}"
        );
        assert_eq!(sheet.matches("<row ").count(), 3);
        assert!(zip.by_name("[Content_Types].xml").is_ok());
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
    }

    #[test]
    fn formats_parse_by_name_and_others_are_named() {
        assert_eq!("CSV".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
        assert!(matches!("pdf".parse::<ExportFormat>(),
            Err(AppError::Validation { ref field, .. }) if field == "format"));
    }
}
