//! Tables made of columns a program hands over (the Python package's arrays and data frames)
//! rather than read from a file: numbers kept as they are, text cells typed exactly as a CSV
//! file's cells are, so that a data frame read from a file trains the forest that the file does.

use super::{Builder, Column, LIMITS, Table, check_headers, join, trim};
use crate::data::summary::summarize_column;
use crate::error::{Error, Result};

/// One column's cells.
#[derive(Debug, Clone)]
pub enum Given {
    /// Numbers, `NaN` where missing (infinities are kept, and clamped when encoded).
    Numbers(Vec<f64>),
    /// Cells as text, read as a CSV file's: trimmed, `""`/`NA`/`NaN`... missing, numbers
    /// parsed (a text column of numbers is a numeric column).
    Text(Vec<String>),
}

impl Given {
    fn len(&self) -> usize {
        match self {
            Given::Numbers(v) => v.len(),
            Given::Text(v) => v.len(),
        }
    }
}

/// A column of text cells, as the CSV reader keeps it.
fn text_column(cells: &[String]) -> Result<Column> {
    let read = |keep_text: bool| -> Result<Option<Column>> {
        let mut b = Builder::new(keep_text);
        for c in cells {
            b.push(trim(c.as_bytes()), false, &LIMITS)?;
        }
        Ok(join(vec![b], &LIMITS))
    };
    // A text cell after the column became numbers alone: read it again keeping the text.
    match read(false)? {
        Some(c) => Ok(c),
        None => Ok(read(true)?.expect("a column kept with its text is always joined")),
    }
}

impl Table {
    /// A table of `columns` under `headers` (distinct, not empty), every column as long.
    pub fn from_columns(headers: Vec<String>, columns: Vec<Given>) -> Result<Table> {
        if headers.len() != columns.len() {
            return Err(Error::InvalidParam(format!(
                "{} column names for {} columns",
                headers.len(),
                columns.len()
            )));
        }
        check_headers(&headers)?;
        let n_rows = columns.first().map_or(0, Given::len);
        if let Some(c) = columns.iter().position(|c| c.len() != n_rows) {
            return Err(Error::InvalidParam(format!(
                "column \"{}\" has {} rows; column \"{}\" has {n_rows}",
                headers[c],
                columns[c].len(),
                headers[0]
            )));
        }
        if n_rows == 0 {
            return Err(Error::NoDataRows);
        }
        if n_rows > u32::MAX as usize {
            return Err(Error::InvalidParam(format!(
                "{n_rows} rows; at most {} are taken",
                u32::MAX
            )));
        }
        let columns: Vec<Column> = columns
            .into_iter()
            .map(|c| match c {
                Given::Numbers(v) => Ok(Column::Numbers(v)),
                Given::Text(cells) => text_column(&cells),
            })
            .collect::<Result<_>>()?;
        let summaries = crate::parallel::map(columns.len(), |c| {
            summarize_column(&headers[c], &columns[c], n_rows)
        });
        let preview = (0..n_rows.min(super::PREVIEW_ROWS))
            .map(|i| {
                columns
                    .iter()
                    .map(|c| c.cell(i).text().into_owned())
                    .collect()
            })
            .collect();
        Ok(Table {
            headers,
            columns,
            summaries,
            preview,
            n_rows,
            separator: b',',
            decimal_comma: false,
            converted_from: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cell, read_table};

    #[test]
    fn given_columns_read_as_the_same_file_does() {
        let file = read_table(b"a,b,c\n1.5, x ,3\nNA,y,\n2.25,x,4\n").unwrap();
        let given = Table::from_columns(
            vec!["a".into(), "b".into(), "c".into()],
            vec![
                Given::Numbers(vec![1.5, f64::NAN, 2.25]),
                Given::Text(vec![" x ".into(), "y".into(), "x".into()]),
                Given::Text(vec!["3".into(), "".into(), "4".into()]),
            ],
        )
        .unwrap();
        assert_eq!(given.n_rows(), 3);
        for c in 0..3 {
            let (f, g) = (&file.summaries()[c], &given.summaries()[c]);
            assert_eq!(
                (f.numeric, f.missing, f.distinct, f.integer, f.text),
                (g.numeric, g.missing, g.distinct, g.integer, g.text),
                "column {c}"
            );
            for i in 0..3 {
                assert_eq!(file.cell(i, c).text(), given.cell(i, c).text());
                assert_eq!(file.cell(i, c).number(), given.cell(i, c).number());
            }
        }
        assert_eq!(given.cell(1, 0), Cell::Missing);
    }

    #[test]
    fn ragged_or_unnamed_columns_are_refused() {
        let e = Table::from_columns(
            vec!["a".into(), "b".into()],
            vec![Given::Numbers(vec![1.0]), Given::Numbers(vec![1.0, 2.0])],
        )
        .unwrap_err();
        assert!(e.to_string().contains("column \"b\" has 2 rows"), "{e}");
        let e = Table::from_columns(
            vec!["a".into(), "a".into()],
            vec![Given::Numbers(vec![1.0]), Given::Numbers(vec![1.0])],
        )
        .unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        assert!(Table::from_columns(vec!["a".into()], vec![]).is_err());
    }
}
