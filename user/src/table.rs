//! A table printer: the programs that list things (`ps`, `vmmap`, `meminfo`) collect their
//! rows and let [`Table`] size the columns to the widest cell, so no program guesses widths.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Which side of its column a cell hugs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text: names, kinds, permissions.
    Left,
    /// Numbers, so their digits line up.
    Right,
}

/// Rows of cells under a header row, printed with each column as wide as its widest cell and
/// two spaces between columns. Display it (`print!("{table}")`) to print it.
///
/// ```ignore
/// let mut t = Table::new(&[("pid", Align::Right), ("name", Align::Left)]);
/// t.row(&[&1, &"init"]);
/// print!("{t}");
/// // pid  name
/// //   1  init
/// ```
pub struct Table {
    titles: Vec<&'static str>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column titles and alignments.
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Table {
            titles: columns.iter().map(|c| c.0).collect(),
            aligns: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells past the last column are dropped, missing ones are empty.
    pub fn row(&mut self, cells: &[&dyn fmt::Display]) {
        let mut row: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        row.resize(self.titles.len(), String::new());
        self.rows.push(row);
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.titles.iter().map(|t| t.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }

    fn line(&self, f: &mut fmt::Formatter<'_>, widths: &[usize], cells: &[&str]) -> fmt::Result {
        let mut line = String::new();
        for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(width - cell.chars().count());
            match self.aligns[i] {
                Align::Right => line.extend([pad.as_str(), cell]),
                Align::Left => line.extend([cell, pad.as_str()]),
            }
        }
        // No trailing spaces after a short last cell or an empty column.
        writeln!(f, "{}", line.trim_end())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths = self.widths();
        self.line(f, &widths, &self.titles)?;
        for row in &self.rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            self.line(f, &widths, &cells)?;
        }
        Ok(())
    }
}
