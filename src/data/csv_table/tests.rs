use super::*;

#[test]
fn reads_comma_separated_with_crlf_bom_and_quotes() {
    let t = read_table(b"\xEF\xBB\xBFa,b,\"c, d\"\r\n1,2,\"x, y\"\r\n3,4,z\r\n").unwrap();
    assert_eq!(t.headers, vec!["a", "b", "c, d"]);
    assert_eq!(t.n_rows(), 2);
    assert_eq!(t.cell(0, 2).text(), "x, y");
    assert_eq!(t.separator, b',');
    assert!(!t.decimal_comma);
}

#[test]
fn detects_semicolon_and_decimal_comma() {
    let t = read_table(b"x;y;label\n1,5;2,25;a\n3;4,0;b\n").unwrap();
    assert_eq!(t.separator, b';');
    assert!(t.decimal_comma);
    assert_eq!(t.cell(0, 0).number(), Some(1.5));
    assert_eq!(t.cell(1, 1).number(), Some(4.0));
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
    assert_eq!(t.cell(0, 0).text(), "Orléans €");
    assert_eq!(t.cell(1, 0).text(), "München");
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
    assert_eq!(t.cell(0, 1).text(), "zé");
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

/// The reader this module replaced, kept as the oracle: every record as a `StringRecord`,
/// each column typed by parsing every cell with Rust's own float parser.
mod oracle {
    use super::super::{count_outside_quotes, decode};
    use crate::error::{Error, Result};

    pub struct Read {
        pub headers: Vec<String>,
        pub rows: Vec<csv::StringRecord>,
        pub separator: u8,
        pub decimal_comma: bool,
    }

    pub fn parse_number(cell: &str, decimal_comma: bool) -> Option<f64> {
        let t = cell.trim();
        if !t.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        if decimal_comma && t.contains(',') {
            t.replacen(',', ".", 1).parse().ok()
        } else {
            t.parse().ok()
        }
    }

    pub fn read(bytes: &[u8]) -> Result<Read> {
        let (text, _) = decode(bytes)?;
        let text: &str = &text;
        let header = text.lines().next().unwrap_or("");
        let mut separator = (b',', 0);
        for sep in [b',', b';', b'\t'] {
            let n = count_outside_quotes(header, sep as char);
            if n > separator.1 {
                separator = (sep, n);
            }
        }
        let separator = separator.0;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| super::super::csv_error(&e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| super::super::csv_error(&e))?;
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
        let decimal_comma = separator != b','
            && rows.iter().take(1000).any(|r| {
                r.iter().any(|c| {
                    let t = c.trim();
                    t.contains(',') && t.parse::<f64>().is_err() && parse_number(t, true).is_some()
                })
            });
        Ok(Read {
            headers,
            rows,
            separator,
            decimal_comma,
        })
    }
}

/// Checks that `bytes` reads as the oracle reads it: the same cells (numbers to the bit, text
/// trimmed), summaries, preview and errors.
fn reads_as_the_oracle(bytes: &[u8], limits: &Limits, threads: usize) {
    let new = read_with_limits(bytes, limits, threads, &|_| {});
    let old = oracle::read(bytes).and_then(|o| {
        if o.rows.is_empty() {
            Err(Error::NoDataRows)
        } else {
            Ok(o)
        }
    });
    let (new, old) = match (new, old) {
        (Ok(n), Ok(o)) => (n, o),
        (Err(n), Err(o)) => return assert_eq!(n, o),
        (n, o) => panic!("new {:?}, oracle {:?}", n.err(), o.err()),
    };
    assert_eq!(new.headers, old.headers);
    assert_eq!(new.separator, old.separator);
    assert_eq!(new.decimal_comma, old.decimal_comma);
    assert_eq!(new.n_rows(), old.rows.len());
    let preview: Vec<Vec<String>> = old
        .rows
        .iter()
        .take(PREVIEW_ROWS)
        .map(|r| r.iter().map(String::from).collect())
        .collect();
    assert_eq!(new.preview(), preview);
    for c in 0..old.headers.len() {
        let (mut missing, mut text, mut integer) = (0, 0, true);
        let mut distinct = std::collections::HashSet::new();
        for (i, r) in old.rows.iter().enumerate() {
            let cell = &r[c];
            let t = cell.trim();
            let got = new.cell(i, c);
            if oracle_missing(cell) {
                assert_eq!(got, Cell::Missing, "row {i} column {c}: {cell:?}");
                missing += 1;
                continue;
            }
            distinct.insert(t);
            match oracle::parse_number(cell, old.decimal_comma) {
                Some(v) => {
                    integer &= v.fract() == 0.0;
                    let Cell::Number(g, kept) = got else {
                        panic!("row {i} column {c}: {cell:?} read as {got:?}")
                    };
                    assert_eq!(g.to_bits(), v.to_bits(), "row {i} column {c}: {cell:?}");
                    assert!(kept.is_none_or(|k| k == t), "{kept:?} for {t:?}");
                }
                None => {
                    text += 1;
                    assert_eq!(got, Cell::Text(t), "row {i} column {c}");
                }
            }
        }
        let present = old.rows.len() - missing;
        let numeric = text == 0 && present > 0;
        let s = &new.summaries()[c];
        assert_eq!(
            (
                s.missing,
                s.present,
                s.text,
                s.numeric,
                s.integer,
                s.integer_numbers
            ),
            (missing, present, text, numeric, numeric && integer, integer),
            "column {c}"
        );
        assert_eq!(s.distinct, distinct.len(), "column {c}");
    }
}

fn oracle_missing(cell: &str) -> bool {
    let t = cell.trim();
    ["", "na", "n/a", "nan", "null", "none", "?", "-"]
        .iter()
        .any(|m| t.eq_ignore_ascii_case(m))
}

/// Tiny dictionaries and pieces, so every form of column, every change between them and every
/// cut between pieces happen in tables of a few hundred rows.
const TINY: Limits = Limits {
    dict_cap: 6,
    trial_rows: 12,
    piece_bytes: 48,
};

#[test]
fn the_spreadsheet_fixture_reads_as_the_oracle_reads_it() {
    let bytes = include_bytes!("../../../tests/fixtures/csv/admissions.csv");
    for (limits, threads) in [(&LIMITS, 1), (&LIMITS, 4), (&TINY, 1), (&TINY, 5)] {
        reads_as_the_oracle(bytes, limits, threads);
    }
}

#[test]
fn ragged_rows_and_lines_are_named_across_pieces() {
    // A quoted cell spanning lines before the ragged row: its line is counted as the csv crate
    // counts it, whichever piece it falls in.
    let mut csv = String::from("a,b,c\n");
    for i in 0..200 {
        csv.push_str(&format!("{i},\"x\ny\",{i}.5\n"));
    }
    csv.push_str("1,2\n");
    for threads in [1, 3, 8] {
        reads_as_the_oracle(csv.as_bytes(), &TINY, threads);
    }
    let e = read_with_limits(csv.as_bytes(), &TINY, 8, &|_| {}).unwrap_err();
    assert_eq!(
        e,
        Error::RaggedRow {
            row: 201,
            line: 402,
            found: 2,
            expected: 3
        }
    );
}

#[test]
fn a_column_whose_text_comes_late_is_read_again_with_its_text() {
    // 300 distinct fractions, then a word: the column first keeps its numbers alone, then is
    // read again keeping every cell's text (it is a categorical column).
    let mut csv = String::from("x,y\n");
    for i in 0..300 {
        csv.push_str(&format!("{i}.25,{}\n", i % 2));
    }
    csv.push_str("high,1\n");
    let t = read_with_limits(csv.as_bytes(), &TINY, 4, &|_| {}).unwrap();
    assert!(matches!(t.columns[0], Column::Text { .. }));
    assert_eq!(t.cell(0, 0), Cell::Number(0.25, Some("0.25")));
    assert_eq!(t.cell(300, 0), Cell::Text("high"));
    reads_as_the_oracle(csv.as_bytes(), &TINY, 4);
    // Whole numbers that never repeat (an ID) keep their text, leading zeros and all.
    let csv: String = std::iter::once("id,y\n".to_string())
        .chain((0..300).map(|i| format!("{i:05},{}\n", i % 2)))
        .collect();
    let t = read_with_limits(csv.as_bytes(), &TINY, 4, &|_| {}).unwrap();
    assert_eq!(t.cell(7, 0), Cell::Number(7.0, Some("00007")));
    // Many distinct fractions alone keep only their numbers.
    let csv: String = std::iter::once("x,y\n".to_string())
        .chain((0..300).map(|i| format!("{i}.5,{}\n", i % 2)))
        .collect();
    let t = read_with_limits(csv.as_bytes(), &TINY, 4, &|_| {}).unwrap();
    assert!(matches!(t.columns[0], Column::Numbers(_)));
    assert!(matches!(t.columns[1], Column::Coded { .. }));
    assert_eq!(t.cell(3, 0).text(), "3.5");
}

#[test]
fn progress_adds_up_to_the_body() {
    let csv: String = std::iter::once("x,y\n".to_string())
        .chain((0..5000).map(|i| format!("{i}.5,{}\n", i % 2)))
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    read_with_limits(csv.as_bytes(), &TINY, 4, &|n| {
        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(done.into_inner(), csv.len() - "x,y\n".len());
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// A cell of a column of kind `kind`, as a spreadsheet might write it.
    fn cell(kind: u8, k: u32, sep: u8, comma: bool) -> String {
        let missing = ["", "NA", " ? ", "null", "-", "N/A"];
        let number = |v: f64, places: usize| {
            let s = format!("{v:.places$}");
            if comma { s.replace('.', ",") } else { s }
        };
        match kind {
            _ if k % 17 == 3 => missing[(k / 17) as usize % missing.len()].to_string(),
            // few whole numbers
            0 => (k % 4).to_string(),
            // many fractions, some padded
            1 if k.is_multiple_of(5) => format!(" {} ", number(k as f64 * 0.37 - 40.0, 3)),
            1 => number(k as f64 * 0.37 - 40.0, 3),
            // text categories, one quoted with the separator, a quote and a line feed
            2 => ["ward a", "ICU", "east", "Zoë"][k as usize % 4].to_string(),
            3 if k.is_multiple_of(7) => format!("\"b{}{}\"\"\nc\"", k % 3, sep as char),
            3 => format!("c{}", k % 5),
            // numbers with a stray word
            4 if k.is_multiple_of(41) => "high".into(),
            4 => number(k as f64 / 8.0, 2),
            // an ID with leading zeros
            _ => format!("{k:06}"),
        }
    }

    fn table() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(0u8..6, 1..6),
            prop::collection::vec(any::<u32>(), 0..250),
            prop::sample::select(vec![b',', b';', b'\t']),
            any::<bool>(),
            prop::option::of(0usize..250),
            prop::option::of(0usize..250),
        )
            .prop_map(|(kinds, seeds, sep, crlf, ragged, blank)| {
                let comma = sep != b',';
                let eol = if crlf { "\r\n" } else { "\n" };
                let s = (sep as char).to_string();
                let mut out: String = (0..kinds.len())
                    .map(|c| format!("col{c}"))
                    .collect::<Vec<_>>()
                    .join(&s);
                out.push_str(eol);
                for (r, &seed) in seeds.iter().enumerate() {
                    if blank == Some(r) {
                        out.push(' ');
                        out.push_str(eol);
                    }
                    let mut cells: Vec<String> = kinds
                        .iter()
                        .enumerate()
                        .map(|(c, &kind)| {
                            cell(
                                kind,
                                seed.rotate_left(c as u32 * 5) % 997 + r as u32,
                                sep,
                                comma,
                            )
                        })
                        .collect();
                    if ragged == Some(r) {
                        cells.push("extra".into());
                    }
                    out.push_str(&cells.join(&s));
                    out.push_str(eol);
                }
                out.into_bytes()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_tables_read_as_the_oracle_reads_them(bytes in table(), threads in 1usize..6) {
            reads_as_the_oracle(&bytes, &TINY, threads);
            reads_as_the_oracle(&bytes, &LIMITS, threads);
        }

        #[test]
        fn numbers_read_as_rust_reads_them(
            chars in prop::collection::vec(prop::sample::select(
                "0123456789012345678901234567890123456789+-..,,eE _xainfINF".chars().collect::<Vec<_>>()), 0..30),
            comma in any::<bool>(),
        ) {
            let s: String = chars.into_iter().collect();
            prop_assert_eq!(
                parse_number(&s, comma).map(f64::to_bits),
                oracle::parse_number(&s, comma).map(f64::to_bits),
                "{:?}", s
            );
        }
    }

    #[test]
    fn numbers_at_the_edges_read_as_rust_reads_them() {
        for s in [
            "1e308",
            "1e309",
            "-1e400",
            "4.9e-324",
            "2.4703282292062327e-324",
            "1.7976931348623157e308",
            "0.1",
            "-0",
            "+5",
            ".5",
            "5.",
            "1_000",
            "1.2.3",
            "1e",
            "e5",
            "inf",
            "-inf",
            "NaN",
            "infinity",
            "1,5",
            "1,000,5",
            "12345678901234567890123456789",
            "0x10",
            "1e+05",
            "  7.25 ",
            "\u{a0}3\u{a0}",
            "١٢",
            "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899",
        ] {
            for comma in [false, true] {
                assert_eq!(
                    parse_number(s, comma).map(f64::to_bits),
                    oracle::parse_number(s, comma).map(f64::to_bits),
                    "{s:?} (decimal comma {comma})"
                );
            }
        }
    }
}
