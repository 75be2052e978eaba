//! Reading a CSV file into typed columns, each cell parsed once.
//!
//! The `csv` crate splits records (quotes, CRLF); this module adds what spreadsheet exports
//! need (a UTF-8 BOM, `,` `;` tab detection, decimal commas, Windows-1252 and UTF-16), types
//! every cell as it is read, and gives errors that name the row and the column. Natively the
//! file is cut at record boundaries and the pieces are read on all cores (the page's data
//! worker reads its one piece in the same single pass).
//!
//! A column is kept in the cheapest of three forms (see [`Column`]): a dictionary of its
//! distinct cells while they are few, else its numbers alone, else its text. No row is an
//! allocation of its own; peak memory is the file, its columns (at most about 8 bytes a cell
//! more than the cell's text) and, later, the encoded `f32` rows.

use super::summary::{ColumnSummary, summarize_column};
use crate::error::{Error, Result};
use csv::ByteRecord;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// The rows shown before training.
pub const PREVIEW_ROWS: usize = 8;

/// A parsed CSV: a header and typed columns, every row as long as the header.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    columns: Vec<Column>,
    summaries: Vec<ColumnSummary>,
    /// The first [`PREVIEW_ROWS`] rows' cells as written.
    preview: Vec<Vec<String>>,
    n_rows: usize,
    pub separator: u8,
    /// Numbers are written `1,5` (the separator is then `;` or tab).
    pub decimal_comma: bool,
    /// The text encoding the file was converted from, when it was not UTF-8 (Excel's
    /// "CSV" in Western Europe is Windows-1252; its "Unicode text" is UTF-16).
    pub converted_from: Option<&'static str>,
}

/// A column's cells seen through a function of them (see [`Table::values`]).
pub struct Values<'t, V> {
    column: &'t Column,
    per_entry: Option<Vec<V>>,
}

impl<V: Copy> Values<'_, V> {
    /// Row `i`'s value; `value` must be the function the values were made with.
    #[inline]
    pub fn get(&self, i: usize, value: impl Fn(Cell) -> V) -> V {
        match (&self.per_entry, self.column) {
            (Some(per_entry), Column::Coded { codes, .. }) => per_entry[codes[i] as usize],
            _ => value(self.column.cell(i)),
        }
    }
}

/// One cell, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Missing,
    /// A number, with its text (trimmed) where the column keeps it: a column of many distinct
    /// numbers that are not all whole keeps the numbers alone.
    Number(f64, Option<&'a str>),
    /// Text that is not a number (trimmed).
    Text(&'a str),
}

impl<'a> Cell<'a> {
    pub fn is_missing(&self) -> bool {
        matches!(self, Cell::Missing)
    }

    pub fn number(&self) -> Option<f64> {
        match *self {
            Cell::Number(v, _) => Some(v),
            _ => None,
        }
    }

    /// The cell's text, trimmed; "" when missing. A number kept without its text is written
    /// as the shortest text that reads back to it.
    pub fn text(&self) -> Cow<'a, str> {
        match *self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Number(_, Some(t)) | Cell::Text(t) => Cow::Borrowed(t),
            Cell::Number(v, None) if v != 0.0 && !(1e-5..1e16).contains(&v.abs()) => {
                Cow::Owned(format!("{v:e}"))
            }
            Cell::Number(v, None) => Cow::Owned(v.to_string()),
        }
    }
}

/// Cells that mean "no value". Compared after trimming, case-insensitively.
const MISSING: &[&str] = &["", "na", "n/a", "nan", "null", "none", "?", "-"];

#[cfg(test)]
fn is_missing(cell: &str) -> bool {
    missing_trimmed(trim(cell.as_bytes()))
}

fn missing_trimmed(t: &[u8]) -> bool {
    t.len() <= 4 && MISSING.iter().any(|m| t.eq_ignore_ascii_case(m.as_bytes()))
}

/// `str::trim` of a field, without its Unicode scan for the usual cell that starts and ends
/// with a printable ASCII character.
fn trim(field: &[u8]) -> &[u8] {
    match field {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => field,
        [only] if only.is_ascii_graphic() => field,
        _ => std::str::from_utf8(field).map_or(field, |s| s.trim().as_bytes()),
    }
}

/// Parses a cell as a number; `None` for text. Missing cells must be filtered first.
fn parse_number(cell: &str, decimal_comma: bool) -> Option<f64> {
    parse_trimmed(trim(cell.as_bytes()), decimal_comma)
}

/// The number in a trimmed cell (see [`read_f64`]).
fn parse_trimmed(t: &[u8], decimal_comma: bool) -> Option<f64> {
    // Words Rust would accept ("inf", "infinity", "nan") are text: a spreadsheet writes
    // numbers with digits.
    if !t.iter().any(u8::is_ascii_digit) {
        return None;
    }
    match decimal_comma.then(|| memchr::memchr(b',', t)).flatten() {
        Some(comma) => {
            // The first comma is the decimal point (a second one makes it text).
            let mut buf = [0u8; 64];
            let mut long = Vec::new();
            let point = if t.len() <= buf.len() {
                buf[..t.len()].copy_from_slice(t);
                &mut buf[..t.len()]
            } else {
                long.extend_from_slice(t);
                &mut long[..]
            };
            point[comma] = b'.';
            read_f64(point)
        }
        None => read_f64(t),
    }
}

/// fast-float2 reads the digits: the Eisel-Lemire algorithm, correctly rounded, so the same
/// bits as Rust's own parser (`tests::numbers_read_as_rust_reads_them` checks), but from
/// bytes, without a UTF-8 check of every cell first.
fn read_f64(t: &[u8]) -> Option<f64> {
    fast_float2::parse(t).ok()
}

/// What a trimmed cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Missing,
    Number(f64),
    Text,
}

/// `t` is trimmed.
fn classify(t: &[u8], decimal_comma: bool) -> Kind {
    if missing_trimmed(t) {
        Kind::Missing
    } else {
        parse_trimmed(t, decimal_comma).map_or(Kind::Text, Kind::Number)
    }
}

/// A column's cells, in the cheapest form that keeps what is needed of them.
#[derive(Debug, Clone)]
pub(super) enum Column {
    /// Few distinct cells: each row's index into `dict` (cells trimmed, each parsed once).
    Coded { codes: Vec<u32>, dict: Vec<Entry> },
    /// Many distinct numbers, not all whole, and nothing else: `NaN` where missing. Their text
    /// is not needed: such a column is never a class label, a category or an ID.
    Numbers(Vec<f64>),
    /// Many distinct cells, some text or all whole numbers (IDs keep their leading zeros):
    /// every cell trimmed, row `i` in `text[ends[i - 1]..ends[i]]`, and its number (`NaN`
    /// where missing or text).
    Text {
        text: String,
        ends: Vec<u32>,
        numbers: Vec<f64>,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    text: Box<str>,
    kind: Kind,
}

impl Entry {
    fn cell(&self) -> Cell<'_> {
        match self.kind {
            Kind::Missing => Cell::Missing,
            Kind::Number(v) => Cell::Number(v, Some(&self.text)),
            Kind::Text => Cell::Text(&self.text),
        }
    }
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Coded { codes, .. } => codes.len(),
            Column::Numbers(v) => v.len(),
            Column::Text { ends, .. } => ends.len(),
        }
    }

    #[inline]
    pub(super) fn cell(&self, i: usize) -> Cell<'_> {
        match self {
            Column::Coded { codes, dict } => dict[codes[i] as usize].cell(),
            Column::Numbers(v) if v[i].is_nan() => Cell::Missing,
            Column::Numbers(v) => Cell::Number(v[i], None),
            Column::Text {
                text,
                ends,
                numbers,
            } => {
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                let t = &text[start..ends[i] as usize];
                if !numbers[i].is_nan() {
                    Cell::Number(numbers[i], Some(t))
                } else if missing_trimmed(t.as_bytes()) {
                    Cell::Missing
                } else {
                    Cell::Text(t)
                }
            }
        }
    }

    /// The distinct cells, when the column keeps them as a dictionary.
    pub(super) fn dictionary(&self) -> Option<(&[u32], impl Iterator<Item = Cell<'_>>)> {
        match self {
            Column::Coded { codes, dict } => Some((codes.as_slice(), dict.iter().map(Entry::cell))),
            _ => None,
        }
    }

    /// The numbers alone (`NaN` where missing or text), without the text.
    fn into_numbers(self) -> Vec<f64> {
        match self {
            Column::Coded { codes, dict } => codes
                .iter()
                .map(|&k| match dict[k as usize].kind {
                    Kind::Number(v) => v,
                    _ => f64::NAN,
                })
                .collect(),
            Column::Numbers(v) => v,
            Column::Text { numbers, .. } => numbers,
        }
    }

    /// A dictionary with too many distinct cells, as numbers alone or as text.
    fn without_dictionary(self, keep_text: bool) -> Column {
        let Column::Coded { dict, .. } = &self else {
            return self;
        };
        if numbers_alone(dict.iter().map(|e| e.kind), keep_text) {
            Column::Numbers(self.into_numbers())
        } else {
            let (text, ends, numbers) = self.into_text();
            Column::Text {
                text,
                ends,
                numbers,
            }
        }
    }

    /// Every cell's text and number.
    fn into_text(self) -> (String, Vec<u32>, Vec<f64>) {
        match self {
            Column::Coded { codes, dict } => {
                let len: usize = codes.iter().map(|&k| dict[k as usize].text.len()).sum();
                let mut text = String::with_capacity(len);
                let mut ends = Vec::with_capacity(codes.len());
                let mut numbers = Vec::with_capacity(codes.len());
                for &k in &codes {
                    let e = &dict[k as usize];
                    text.push_str(&e.text);
                    ends.push(text.len() as u32);
                    numbers.push(match e.kind {
                        Kind::Number(v) => v,
                        _ => f64::NAN,
                    });
                }
                (text, ends, numbers)
            }
            Column::Numbers(_) => unreachable!("a column of numbers alone is never made text"),
            Column::Text {
                text,
                ends,
                numbers,
            } => (text, ends, numbers),
        }
    }
}

/// How a column is read.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Most distinct cells a dictionary holds.
    dict_cap: usize,
    /// A dictionary is given up after this many rows when it holds over half of them.
    trial_rows: usize,
    /// Natively, each piece read in parallel is at least this long.
    piece_bytes: usize,
}

const LIMITS: Limits = Limits {
    dict_cap: 1 << 16,
    trial_rows: 256,
    piece_bytes: 1 << 20,
};

/// One column of one piece, as it is read.
struct Builder {
    column: Column,
    index: FxHashMap<Box<[u8]>, u32>,
    /// Text cells were seen (they cannot be kept in a column of numbers alone).
    has_text: bool,
    /// A text cell came after the column had become numbers alone: the column is read again.
    lost_text: bool,
    /// Keep every cell's text (a second reading of a column that lost text).
    keep_text: bool,
}

impl Builder {
    fn new(keep_text: bool) -> Builder {
        let column = if keep_text {
            Column::Text {
                text: String::new(),
                ends: Vec::new(),
                numbers: Vec::new(),
            }
        } else {
            Column::Coded {
                codes: Vec::new(),
                dict: Vec::new(),
            }
        };
        Builder {
            column,
            index: FxHashMap::default(),
            has_text: false,
            lost_text: false,
            keep_text,
        }
    }

    /// Adds a trimmed cell. Its bytes are UTF-8 (they were cut from text at ASCII bytes); they
    /// are checked where they are kept as text.
    fn push(&mut self, t: &[u8], decimal_comma: bool, limits: &Limits) -> Result<()> {
        let utf8 = |t| {
            std::str::from_utf8(t).map_err(|e| Error::Csv {
                line: None,
                message: e.to_string(),
            })
        };
        match &mut self.column {
            Column::Coded { codes, dict } => {
                if let Some(&k) = self.index.get(t) {
                    codes.push(k);
                    return Ok(());
                }
                let kind = classify(t, decimal_comma);
                self.has_text |= kind == Kind::Text;
                let k = dict.len() as u32;
                dict.push(Entry {
                    text: utf8(t)?.into(),
                    kind,
                });
                self.index.insert(t.into(), k);
                codes.push(k);
                let rows = codes.len();
                if dict.len() > limits.dict_cap
                    || (rows >= limits.trial_rows && dict.len() * 2 > rows)
                {
                    self.give_up_dictionary();
                }
            }
            Column::Numbers(v) => v.push(match classify(t, decimal_comma) {
                Kind::Number(x) => x,
                Kind::Missing => f64::NAN,
                Kind::Text => {
                    self.lost_text = true;
                    f64::NAN
                }
            }),
            Column::Text {
                text,
                ends,
                numbers,
            } => {
                text.push_str(utf8(t)?);
                ends.push(text.len() as u32);
                let kind = classify(t, decimal_comma);
                self.has_text |= kind == Kind::Text;
                numbers.push(match kind {
                    Kind::Number(x) => x,
                    _ => f64::NAN,
                });
            }
        }
        Ok(())
    }

    /// Too many distinct cells for a dictionary: numbers alone, or text.
    fn give_up_dictionary(&mut self) {
        self.index = FxHashMap::default();
        let column = std::mem::replace(&mut self.column, Column::Numbers(Vec::new()));
        self.column = column.without_dictionary(self.keep_text);
    }
}

/// Whether cells of these kinds need only their numbers: no text, and not all whole numbers.
fn numbers_alone(kinds: impl Iterator<Item = Kind>, keep_text: bool) -> bool {
    let mut fraction = false;
    for k in kinds {
        match k {
            Kind::Text => return false,
            Kind::Number(v) => fraction |= v.fract() != 0.0,
            Kind::Missing => {}
        }
    }
    fraction && !keep_text
}

/// One piece of the file, read.
struct Piece {
    builders: Vec<Builder>,
}

/// Reads the records of `body` into one builder per column. A bad record's error is only a
/// sign that there is one: the caller names it (see [`first_bad_record`]).
fn read_piece(
    body: &str,
    format: &Format,
    keep_text: &[bool],
    limits: &Limits,
    progress: &Progress,
) -> Result<Piece> {
    let width = keep_text.len();
    let mut builders: Vec<Builder> = keep_text.iter().map(|&k| Builder::new(k)).collect();
    let mut reader = format.reader(body.as_bytes());
    let mut rec = ByteRecord::new();
    let mut records = 0;
    let mut reported = 0;
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e)),
        }
        records += 1;
        // A trailing blank line in a one-column file reads as one empty field: skip it.
        if rec.len() == 1 && trim(&rec[0]).is_empty() && width > 1 {
            continue;
        }
        if rec.len() != width {
            return Err(Error::RaggedRow {
                row: records,
                line: rec.position().map_or(records as u64 + 1, |p| p.line()),
                found: rec.len(),
                expected: width,
            });
        }
        for (b, field) in builders.iter_mut().zip(rec.iter()) {
            b.push(trim(field), format.decimal_comma, limits)
                .map_err(|e| match e {
                    Error::Csv { message, .. } => Error::Csv {
                        line: rec.position().map(|p| p.line()),
                        message,
                    },
                    e => e,
                })?;
        }
        if records % 4096 == 0 {
            let at = reader.position().byte() as usize;
            progress(at - reported);
            reported = at;
        }
    }
    progress(body.len() - reported);
    Ok(Piece { builders })
}

/// How the records are split and numbers written.
struct Format {
    separator: u8,
    decimal_comma: bool,
}

impl Format {
    fn reader<'b>(&self, bytes: &'b [u8]) -> csv::Reader<&'b [u8]> {
        records(self.separator, bytes)
    }
}

/// A reader of records of any width, the header among them.
fn records(separator: u8, bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// One column's pieces, joined in order; `None` when text was lost and the column must be
/// read again keeping it.
fn join(parts: Vec<Builder>, limits: &Limits) -> Option<Column> {
    let lost = parts.iter().any(|b| b.lost_text);
    let has_text = parts.iter().any(|b| b.has_text);
    let numbers = parts.iter().any(|b| matches!(b.column, Column::Numbers(_)));
    if lost || (numbers && has_text) {
        return None;
    }
    let keep_text = parts.iter().any(|b| b.keep_text);
    let rows: usize = parts.iter().map(|b| b.column.len()).sum();
    if numbers {
        let mut all = Vec::with_capacity(rows);
        for b in parts {
            all.extend(b.column.into_numbers());
        }
        return Some(Column::Numbers(all));
    }
    if parts
        .iter()
        .all(|b| matches!(b.column, Column::Coded { .. }))
    {
        let mut index: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut dict: Vec<Entry> = Vec::new();
        let mut codes = Vec::with_capacity(rows);
        for b in parts {
            let Column::Coded {
                codes: part,
                dict: local,
            } = b.column
            else {
                unreachable!("every part is a dictionary")
            };
            let remap: Vec<u32> = local
                .into_iter()
                .map(|e| {
                    *index.entry(e.text.clone()).or_insert_with(|| {
                        dict.push(e);
                        dict.len() as u32 - 1
                    })
                })
                .collect();
            codes.extend(part.iter().map(|&k| remap[k as usize]));
        }
        let over = dict.len() > limits.dict_cap;
        let column = Column::Coded { codes, dict };
        return Some(if over {
            column.without_dictionary(keep_text)
        } else {
            column
        });
    }
    let (mut text, mut ends, mut nums) = (
        String::new(),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for b in parts {
        let (t, e, n) = b.column.into_text();
        let base = text.len() as u32;
        text.push_str(&t);
        ends.extend(e.iter().map(|&x| x + base));
        nums.extend(n);
    }
    Some(Column::Text {
        text,
        ends,
        numbers: nums,
    })
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

/// The first data rows' cells as written (for the preview), and whether numbers are written
/// with a decimal comma: only possible when `,` is not the separator, and assumed when some
/// cell of the first 1,000 rows reads as a number only with its comma taken as the decimal
/// point.
fn first_rows(body: &str, separator: u8, width: usize) -> (Vec<Vec<String>>, bool) {
    let format = Format {
        separator,
        decimal_comma: false,
    };
    let mut reader = format.reader(body.as_bytes());
    let mut preview = Vec::new();
    let mut decimal_comma = false;
    let mut rec = csv::StringRecord::new();
    let mut rows = 0;
    let look = if separator == b',' {
        PREVIEW_ROWS
    } else {
        1000
    };
    while rows < look && reader.read_record(&mut rec).unwrap_or(false) {
        if rec.len() == 1 && rec[0].trim().is_empty() && width > 1 {
            continue;
        }
        rows += 1;
        if preview.len() < PREVIEW_ROWS {
            preview.push(rec.iter().map(String::from).collect());
        }
        decimal_comma |= separator != b','
            && rec.iter().any(|c| {
                let t = c.trim();
                t.contains(',') && t.parse::<f64>().is_err() && parse_number(t, true).is_some()
            });
    }
    (preview, decimal_comma)
}

/// Where the pieces start and end: `0`, then the first record start after each of
/// `pieces - 1` even cuts, then the end. Without quotes every line is a record; with quotes a
/// line ends a record only outside a quoted field, found as the `csv` crate finds it (a quote
/// opens a field only at the field's start; `""` inside one is a quote).
fn cuts(body: &[u8], separator: u8, pieces: usize) -> Vec<usize> {
    let target = |k: usize| k * body.len() / pieces;
    let mut cuts = vec![0];
    // Takes the record start `at` if it is the first at or after the next cut; false once
    // every cut is made.
    let mut k = 1;
    let mut record_start = |at: usize, cuts: &mut Vec<usize>| {
        if at >= target(k) {
            if at < body.len() {
                cuts.push(at);
            }
            while k < pieces && target(k) <= at {
                k += 1;
            }
        }
        k < pieces
    };
    if pieces > 1 && memchr::memchr(b'"', body).is_none() {
        let mut from = 0;
        while let Some(nl) = memchr::memchr(b'\n', &body[from..]) {
            let at = from + nl + 1;
            if !record_start(at, &mut cuts) {
                break;
            }
            from = at;
        }
    } else if pieces > 1 {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            FieldStart,
            Unquoted,
            Quoted,
            QuoteInQuoted,
        }
        let mut state = State::FieldStart;
        for (i, &b) in body.iter().enumerate() {
            state = match (state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::FieldStart, b'"') => State::Quoted,
                (_, b'\n') => {
                    if !record_start(i + 1, &mut cuts) {
                        break;
                    }
                    State::FieldStart
                }
                (_, b'\r') => State::FieldStart,
                (_, s) if s == separator => State::FieldStart,
                _ => State::Unquoted,
            };
        }
    }
    cuts.push(body.len());
    cuts
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
fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, Option<&'static str>)> {
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
fn windows_1252(bytes: &[u8]) -> Result<Cow<'_, str>> {
    Ok(encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0)
}

#[cfg(target_arch = "wasm32")]
fn windows_1252(bytes: &[u8]) -> Result<Cow<'_, str>> {
    let fail = |e: wasm_bindgen::JsValue| Error::Csv {
        line: None,
        message: format!("cannot decode the file as Windows-1252: {e:?}"),
    };
    let d = web_sys::TextDecoder::new_with_label("windows-1252").map_err(fail)?;
    Ok(d.decode_with_u8_array(bytes).map_err(fail)?.into())
}

/// Hears how many more bytes are read: from several threads at once natively; on wasm, from
/// the one thread (so it may post to the page).
#[cfg(not(target_arch = "wasm32"))]
pub type Progress<'a> = dyn Fn(usize) + Sync + 'a;
#[cfg(target_arch = "wasm32")]
pub type Progress<'a> = dyn Fn(usize) + 'a;

/// Reads CSV bytes. Header row required; every data row must have the header's width.
pub fn read_table(bytes: &[u8]) -> Result<Table> {
    read_table_with(bytes, &|_| {})
}

/// [`read_table`], calling `progress` with the number of bytes read since its last call.
pub fn read_table_with(bytes: &[u8], progress: &Progress) -> Result<Table> {
    read_with_limits(bytes, &LIMITS, crate::parallel::threads(), progress)
}

fn read_with_limits(
    bytes: &[u8],
    limits: &Limits,
    threads: usize,
    progress: &Progress,
) -> Result<Table> {
    let (text, converted_from) = decode(bytes)?;
    let text: &str = &text;
    if text.trim().is_empty() {
        return Err(Error::EmptyFile);
    }
    // Cell offsets are 32-bit.
    if text.len() > u32::MAX as usize {
        return Err(Error::Csv {
            line: None,
            message: format!(
                "the file is {} MB of text; at most 4,294 MB is read",
                text.len() / 1_000_000
            ),
        });
    }
    let separator = detect_separator(text);
    let mut reader = records(separator, text.as_bytes());
    let mut header = csv::StringRecord::new();
    if !reader.read_record(&mut header).map_err(|e| csv_error(&e))? {
        return Err(Error::EmptyFile);
    }
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    check_headers(&headers)?;
    let body_start = reader.position().byte() as usize;
    let body = &text[body_start..];
    let (preview, decimal_comma) = first_rows(body, separator, headers.len());
    let format = Format {
        separator,
        decimal_comma,
    };
    let pieces = (body.len() / limits.piece_bytes).clamp(1, 4 * threads.max(1));
    let cuts = if threads > 1 {
        cuts(body.as_bytes(), separator, pieces)
    } else {
        vec![0, body.len()]
    };
    let read_all = |keep_text: &[bool], progress: &Progress| -> Result<Vec<Piece>> {
        let read = crate::parallel::map(cuts.len() - 1, |k| {
            read_piece(
                &body[cuts[k]..cuts[k + 1]],
                &format,
                keep_text,
                limits,
                progress,
            )
        });
        // A bad record is named as one reader from the file's start names it (the `csv`
        // crate's line numbers depend on where its reading began).
        read.into_iter()
            .collect::<Result<Vec<Piece>>>()
            .map_err(|e| first_bad_record(text, separator, headers.len()).unwrap_or(e))
    };
    let mut keep_text = vec![false; headers.len()];
    let read = read_all(&keep_text, progress)?;
    let mut columns = join_pieces(read, headers.len(), limits);
    // A column that turned out to hold text after its numbers were kept alone: read again.
    if columns.iter().any(Option::is_none) {
        for (k, c) in keep_text.iter_mut().zip(&columns) {
            *k = c.is_none();
        }
        let again = join_pieces(read_all(&keep_text, &|_| {})?, headers.len(), limits);
        for (c, a) in columns.iter_mut().zip(again) {
            if c.is_none() {
                *c = a;
            }
        }
    }
    let columns: Vec<Column> = columns
        .into_iter()
        .map(|c| c.expect("a column kept with its text is always joined"))
        .collect();
    let n_rows = columns.first().map_or(0, Column::len);
    if n_rows == 0 {
        return Err(Error::NoDataRows);
    }
    let summaries = crate::parallel::map(columns.len(), |c| {
        summarize_column(&headers[c], &columns[c], n_rows)
    });
    Ok(Table {
        headers,
        columns,
        summaries,
        preview,
        n_rows,
        separator,
        decimal_comma,
        converted_from,
    })
}

/// The first record that is not as wide as the header (or that the `csv` crate cannot read),
/// numbered by one reader over the whole text.
fn first_bad_record(text: &str, separator: u8, width: usize) -> Option<Error> {
    let mut reader = records(separator, text.as_bytes());
    let mut rec = ByteRecord::new();
    if let Err(e) = reader.read_byte_record(&mut rec) {
        return Some(csv_error(&e));
    }
    for i in 0.. {
        match reader.read_byte_record(&mut rec) {
            Ok(false) => return None,
            Err(e) => return Some(csv_error(&e)),
            Ok(true) => {}
        }
        let blank = rec.len() == 1 && trim(&rec[0]).is_empty() && width > 1;
        if !blank && rec.len() != width {
            return Some(Error::RaggedRow {
                row: i + 1,
                line: rec.position().map_or(i as u64 + 2, |p| p.line()),
                found: rec.len(),
                expected: width,
            });
        }
    }
    None
}

/// The pieces' builders, column by column, joined.
fn join_pieces(pieces: Vec<Piece>, width: usize, limits: &Limits) -> Vec<Option<Column>> {
    let mut by_column: Vec<Vec<Builder>> = (0..width).map(|_| Vec::new()).collect();
    for p in pieces {
        for (c, b) in p.builders.into_iter().enumerate() {
            by_column[c].push(b);
        }
    }
    by_column
        .into_iter()
        .map(|parts| join(parts, limits))
        .collect()
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
        self.n_rows
    }

    /// Row `row`'s cell in column `column`.
    #[inline]
    pub fn cell(&self, row: usize, column: usize) -> Cell<'_> {
        self.columns[column].cell(row)
    }

    /// Column `column`'s cells through `value`, which runs once per distinct cell where the
    /// column keeps a dictionary.
    pub fn values<V: Copy>(&self, column: usize, value: impl Fn(Cell) -> V) -> Values<'_, V> {
        let column = &self.columns[column];
        Values {
            column,
            per_entry: column
                .dictionary()
                .map(|(_, cells)| cells.map(value).collect()),
        }
    }

    /// What each column looks like, computed once on reading.
    pub fn summaries(&self) -> &[ColumnSummary] {
        &self.summaries
    }

    /// The first rows' cells as written, at most [`PREVIEW_ROWS`].
    pub fn preview(&self) -> &[Vec<String>] {
        &self.preview
    }
}

mod given;
pub use given::Given;

#[cfg(test)]
mod tests;
