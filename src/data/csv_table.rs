//! Reading a CSV file into a table of text cells.
//!
//! The `csv` crate does the parsing (quotes, CRLF); this module adds what spreadsheets
//! exports need: a UTF-8 BOM, separator detection (`,` `;` tab) and decimal-comma detection,
//! and errors that name the row and the column.

use crate::error::{Error, Result};
use csv::StringRecord;

/// A parsed CSV: a header and the data rows, every row as long as the header.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<StringRecord>,
    pub separator: u8,
    /// Numbers are written `1,5` (the separator is then `;` or tab).
    pub decimal_comma: bool,
    /// The text encoding the file was converted from, when it was not UTF-8 (Excel's
    /// "CSV" in Western Europe is Windows-1252; its "Unicode text" is UTF-16).
    pub converted_from: Option<&'static str>,
}

/// Cells that mean "no value". Compared after trimming, case-insensitively.
const MISSING: &[&str] = &["", "na", "n/a", "nan", "null", "none", "?", "-"];

pub fn is_missing(cell: &str) -> bool {
    let t = cell.trim();
    MISSING.iter().any(|m| t.eq_ignore_ascii_case(m))
}

/// Parses a cell as a number; `None` for text. Missing cells must be filtered first.
pub fn parse_number(cell: &str, decimal_comma: bool) -> Option<f64> {
    let t = cell.trim();
    // Reject words Rust would accept ("inf", "infinity") only when they are not numbers
    // a spreadsheet would write; keep plain decimal syntax.
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if decimal_comma && t.contains(',') {
        t.replacen(',', ".", 1).parse().ok()
    } else {
        t.parse().ok()
    }
}

/// Counts `sep` outside double quotes in one line.
fn count_outside_quotes(line: &str, sep: char) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for c in line.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            n += 1;
        }
    }
    n
}

/// Picks the separator that splits the header line into the most fields.
fn detect_separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let mut best = (b',', 0usize);
    for sep in [b',', b';', b'\t'] {
        let n = count_outside_quotes(header, sep as char);
        if n > best.1 {
            best = (sep, n);
        }
    }
    best.0
}

/// A decimal comma is only possible when `,` is not the separator; it is assumed when
/// some cell reads as a number only with its comma taken as the decimal point.
fn detect_decimal_comma(rows: &[StringRecord], separator: u8) -> bool {
    if separator == b',' {
        return false;
    }
    rows.iter().take(1000).any(|r| {
        r.iter().any(|c| {
            let t = c.trim();
            t.contains(',') && t.parse::<f64>().is_err() && parse_number(t, true).is_some()
        })
    })
}

/// A spreadsheet saved as is, rather than as CSV, by its first bytes.
fn spreadsheet_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("an Excel workbook (.xlsx) or another zip file")
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some("an Excel 97-2003 workbook (.xls)")
    } else {
        None
    }
}

/// The file's text: UTF-8 (a BOM is dropped), UTF-16 with a BOM, or else Windows-1252, which
/// decodes any bytes (Latin-1 files included), with the encoding it was converted from.
fn decode(bytes: &[u8]) -> Result<(std::borrow::Cow<'_, str>, Option<&'static str>)> {
    if let Some(kind) = spreadsheet_kind(bytes) {
        return Err(Error::Csv {
            line: None,
            message: format!(
                "this is {kind}, not a CSV file: in Excel, choose File > Save As > \
                 \"CSV UTF-8 (Comma delimited)\" and load that file"
            ),
        });
    }
    // UTF-16 with its BOM (Excel's "Unicode Text"): std decodes it.
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return Ok((utf16(rest, u16::from_le_bytes).into(), Some("UTF-16LE")));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return Ok((utf16(rest, u16::from_be_bytes).into(), Some("UTF-16BE")));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.into(), None)),
        Err(_) => Ok((windows_1252(bytes)?, Some("windows-1252"))),
    }
}

/// Windows-1252 as the WHATWG Encoding Standard defines it: natively by encoding_rs (Firefox's
/// implementation of that standard), in the browser by the browser's own `TextDecoder`, so the
/// page does not download encoding_rs's tables for every other legacy encoding (about 120 KB
/// gzipped of its wasm).
#[cfg(not(target_arch = "wasm32"))]
fn windows_1252(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>> {
    Ok(encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0)
}

#[cfg(target_arch = "wasm32")]
fn windows_1252(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>> {
    let fail = |e: wasm_bindgen::JsValue| Error::Csv {
        line: None,
        message: format!("cannot decode the file as Windows-1252: {e:?}"),
    };
    let d = web_sys::TextDecoder::new_with_label("windows-1252").map_err(fail)?;
    Ok(d.decode_with_u8_array(bytes).map_err(fail)?.into())
}

/// Reads CSV bytes. Header row required; every data row must have the header's width.
pub fn read_table(bytes: &[u8]) -> Result<Table> {
    let (text, converted_from) = decode(bytes)?;
    let text: &str = &text;
    if text.trim().is_empty() {
        return Err(Error::EmptyFile);
    }
    let separator = detect_separator(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    check_headers(&headers)?;
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| csv_error(&e))?;
        // A trailing blank line in a one-column file reads as one empty field: skip it.
        if rec.len() == 1 && rec[0].trim().is_empty() && headers.len() > 1 {
            continue;
        }
        if rec.len() != headers.len() {
            return Err(Error::RaggedRow {
                row: i + 1,
                line: rec.position().map_or(i as u64 + 2, |p| p.line()),
                found: rec.len(),
                expected: headers.len(),
            });
        }
        rows.push(rec);
    }
    if rows.is_empty() {
        return Err(Error::NoDataRows);
    }
    let decimal_comma = detect_decimal_comma(&rows, separator);
    Ok(Table {
        headers,
        rows,
        separator,
        decimal_comma,
        converted_from,
    })
}

fn check_headers(headers: &[String]) -> Result<()> {
    // A set, not a scan of the earlier cells: a header may have 100k columns.
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(Error::BadHeader {
                column: i + 1,
                message: "the header cell is empty".into(),
            });
        }
        if !seen.insert(h.as_str()) {
            return Err(Error::BadHeader {
                column: i + 1,
                message: format!("\"{h}\" appears twice"),
            });
        }
    }
    Ok(())
}

fn csv_error(e: &csv::Error) -> Error {
    Error::Csv {
        line: e.position().map(|p| p.line()),
        message: e.to_string(),
    }
}

impl Table {
    /// What was converted on reading, to tell the user, if anything.
    pub fn conversion_note(&self) -> Option<String> {
        self.converted_from.map(|enc| {
            format!("the file is {enc} text, not UTF-8: converted (accents read as {enc} has them)")
        })
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_comma_separated_with_crlf_bom_and_quotes() {
        let t = read_table(b"\xEF\xBB\xBFa,b,\"c, d\"\r\n1,2,\"x, y\"\r\n3,4,z\r\n").unwrap();
        assert_eq!(t.headers, vec!["a", "b", "c, d"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(&t.rows[0][2], "x, y");
        assert_eq!(t.separator, b',');
        assert!(!t.decimal_comma);
    }

    #[test]
    fn detects_semicolon_and_decimal_comma() {
        let t = read_table(b"x;y;label\n1,5;2,25;a\n3;4,0;b\n").unwrap();
        assert_eq!(t.separator, b';');
        assert!(t.decimal_comma);
        assert_eq!(parse_number(&t.rows[0][0], t.decimal_comma), Some(1.5));
        assert_eq!(parse_number(&t.rows[1][1], t.decimal_comma), Some(4.0));
    }

    #[test]
    fn detects_tab() {
        let t = read_table(b"x\ty\n1.5\t2\n").unwrap();
        assert_eq!(t.separator, b'\t');
        assert_eq!(t.headers.len(), 2);
    }

    #[test]
    fn empty_file_is_an_error() {
        assert_eq!(read_table(b"").unwrap_err(), Error::EmptyFile);
        assert_eq!(
            read_table(b"\xEF\xBB\xBF  \n").unwrap_err(),
            Error::EmptyFile
        );
    }

    #[test]
    fn header_only_is_an_error() {
        assert_eq!(read_table(b"a,b\n").unwrap_err(), Error::NoDataRows);
    }

    #[test]
    fn ragged_row_names_row_and_line() {
        let e = read_table(b"a,b,c\n1,2,3\n4,5\n").unwrap_err();
        assert_eq!(
            e,
            Error::RaggedRow {
                row: 2,
                line: 3,
                found: 2,
                expected: 3
            }
        );
        assert!(
            e.to_string()
                .contains("row 2 (line 3) has 2 fields but the header has 3")
        );
    }

    #[test]
    fn duplicate_or_empty_header_is_an_error() {
        assert!(matches!(
            read_table(b"a,a\n1,2\n").unwrap_err(),
            Error::BadHeader { column: 2, .. }
        ));
        assert!(matches!(
            read_table(b"a,,b\n1,2,3\n").unwrap_err(),
            Error::BadHeader { column: 2, .. }
        ));
        // 200k columns, the last repeating the first: found at once (the quadratic scan this
        // replaced ran over 4 minutes).
        let n = 200_000;
        let mut csv: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        csv.push("c0".into());
        let text = format!("{}\n{}\n", csv.join(","), vec!["1"; n + 1].join(","));
        match read_table(text.as_bytes()).unwrap_err() {
            Error::BadHeader { column, message } => {
                assert_eq!(column, n + 1);
                assert!(message.contains("\"c0\" appears twice"), "{message}");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn windows_1252_text_is_converted_and_said() {
        // European Excel's "CSV": `;`, decimal commas, accents as single bytes.
        let t = read_table(b"ville;prix\nOrl\xe9ans \x80;1,5\nM\xfcnchen;2\n").unwrap();
        // 0x80 is where Windows-1252 and Latin-1 differ.
        assert_eq!(&t.rows[0][0], "Orléans €");
        assert_eq!(&t.rows[1][0], "München");
        assert!(t.decimal_comma);
        assert_eq!(t.converted_from, Some("windows-1252"));
        assert!(t.conversion_note().unwrap().contains("windows-1252"));
        assert_eq!(read_table(b"a,b\n1,2\n").unwrap().conversion_note(), None);
    }

    #[test]
    fn utf16_with_a_bom_is_converted() {
        // Excel's "Unicode Text": UTF-16LE with a BOM, tab-separated.
        let text = "x\ty\n1\tz\u{e9}\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let t = read_table(&bytes).unwrap();
        assert_eq!(t.headers, ["x", "y"]);
        assert_eq!(&t.rows[0][1], "zé");
        assert_eq!(t.converted_from, Some("UTF-16LE"));
    }

    #[test]
    fn excel_workbooks_are_recognised_and_the_way_out_said() {
        for (bytes, kind) in [
            (&b"PK\x03\x04\x14\x00rest"[..], ".xlsx"),
            (
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0][..],
                ".xls",
            ),
        ] {
            let e = read_table(bytes).unwrap_err().to_string();
            assert!(e.contains(kind) && e.contains("CSV UTF-8"), "{e}");
        }
    }

    #[test]
    fn missing_tokens() {
        for m in ["", " ", "NA", "nan", "NaN", "null", "?"] {
            assert!(is_missing(m), "{m}");
        }
        assert!(!is_missing("0"));
        assert_eq!(parse_number("abc", false), None);
        assert_eq!(parse_number("inf", false), None);
        assert_eq!(parse_number("-2.5e3", false), Some(-2500.0));
    }
}
