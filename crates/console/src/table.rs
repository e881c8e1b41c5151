//! Lining up columns and writing sizes for the console's listings.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The rows as lines, each column as wide as its widest cell (two
/// spaces between columns, no trailing spaces), each line indented by
/// `indent` spaces.
pub fn columns(rows: &[Vec<String>], indent: usize) -> Vec<String> {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = " ".repeat(indent);
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    line.push_str(&" ".repeat(pad));
                }
            }
            line.truncate(line.trim_end().len());
            line
        })
        .collect()
}

/// `16 MiB`, `512 KiB`, `3000 bytes`: the largest unit that divides
/// `bytes` exactly, else bytes.
pub fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| String::from(*c)).collect()
    }

    #[test]
    fn columns_line_up() {
        let rows = [
            row(&["name", "mode", "x"]),
            row(&["alpha-direct", "ipc", "12"]),
        ];
        assert_eq!(
            columns(&rows, 2),
            ["  name          mode  x", "  alpha-direct  ipc   12"]
        );
    }

    #[test]
    fn short_rows_and_empty_cells_leave_no_trailing_space() {
        let rows = [row(&["a", ""]), row(&["bbb"])];
        assert_eq!(columns(&rows, 0), ["a", "bbb"]);
        assert!(columns(&[], 4).is_empty());
    }

    #[test]
    fn sizes() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(1536 << 10), "1536 KiB");
        assert_eq!(size(586240), "586240 bytes");
        assert_eq!(size(0), "0 bytes");
    }
}
