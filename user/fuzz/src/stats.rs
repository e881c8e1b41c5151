//! Counting: calls, successes and errors by code, per call and overall,
//! and the summary table printed at the end.

use bulkhead_rt::abi::{Error, Syscall};
use bulkhead_rt::println;

use crate::oracle::CODES;

/// Rows: one per call of `Syscall::ALL`, and a last one for numbers the
/// ABI does not assign.
pub const ROWS: usize = Syscall::ALL.len() + 1;
/// Columns: success, the known codes 1..=21, and "unknown code".
const COLUMNS: usize = CODES + 2;

/// The counters.
pub struct Stats {
    table: [[u64; COLUMNS]; ROWS],
}

/// The row of `call` (`None`: an unassigned number).
pub fn row(call: Option<Syscall>) -> usize {
    call.and_then(|c| Syscall::ALL.iter().position(|s| *s == c))
        .unwrap_or(ROWS - 1)
}

fn column(status: u64) -> usize {
    usize::try_from(status)
        .ok()
        .filter(|s| *s <= CODES)
        .unwrap_or(CODES + 1)
}

/// The name of error code `code` (or `unknown`).
pub fn code_name(code: u64) -> &'static str {
    match Error::from_code(code) {
        Some(Error::NoSuchCall) => "NoSuchCall",
        Some(Error::InvalidCap) => "InvalidCap",
        Some(Error::StaleCap) => "StaleCap",
        Some(Error::WrongType) => "WrongType",
        Some(Error::NoRights) => "NoRights",
        Some(Error::BadAddress) => "BadAddress",
        Some(Error::InvalidArgument) => "InvalidArgument",
        Some(Error::QuotaExhausted) => "QuotaExhausted",
        Some(Error::TableFull) => "TableFull",
        Some(Error::AlreadyMapped) => "AlreadyMapped",
        Some(Error::NotMapped) => "NotMapped",
        Some(Error::WriteAndExecute) => "WriteAndExecute",
        Some(Error::BadState) => "BadState",
        Some(Error::OutOfMemory) => "OutOfMemory",
        Some(Error::AlreadyBadged) => "AlreadyBadged",
        Some(Error::PortOutOfRange) => "PortOutOfRange",
        Some(Error::Busy) => "Busy",
        Some(Error::WouldBlock) => "WouldBlock",
        Some(Error::Cancelled) => "Cancelled",
        Some(Error::TimedOut) => "TimedOut",
        Some(Error::PartnerGone) => "PartnerGone",
        None => "unknown",
    }
}

impl Stats {
    /// All zero.
    pub const fn new() -> Stats {
        Stats {
            table: [[0; COLUMNS]; ROWS],
        }
    }

    /// Counts one call of `call` that returned `status`.
    pub fn record(&mut self, call: Option<Syscall>, status: u64) {
        self.table[row(call)][column(status)] += 1;
    }

    /// Calls counted.
    pub fn calls(&self) -> u64 {
        self.table.iter().flatten().sum()
    }

    /// Successful calls counted.
    pub fn successes(&self) -> u64 {
        self.table.iter().map(|r| r[0]).sum()
    }

    /// Prints the table: one line per call that was made, then the
    /// errors by code over all calls.
    pub fn print(&self) {
        println!(
            "fuzz: {:<22} {:>7} {:>7}  errors by code",
            "call", "calls", "ok"
        );
        for (i, counts) in self.table.iter().enumerate() {
            let calls: u64 = counts.iter().sum();
            if calls == 0 {
                continue;
            }
            let mut name = [0u8; 24];
            let label = match Syscall::ALL.get(i) {
                Some(call) => format_name(&mut name, *call),
                None => "(unassigned number)",
            };
            print_row(label, calls, counts);
        }
        let mut totals = [0u64; COLUMNS];
        for counts in &self.table {
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
        print_row("(all)", totals.iter().sum(), &totals);
    }
}

/// `{call:?}` into `buffer`, as a `&str`.
fn format_name(buffer: &mut [u8; 24], call: Syscall) -> &str {
    use core::fmt::Write;
    struct Cursor<'a> {
        buffer: &'a mut [u8; 24],
        len: usize,
    }
    impl Write for Cursor<'_> {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            for b in text.bytes() {
                if self.len < self.buffer.len() {
                    self.buffer[self.len] = b;
                    self.len += 1;
                }
            }
            Ok(())
        }
    }
    let mut cursor = Cursor { buffer, len: 0 };
    let _ = write!(cursor, "{call:?}");
    let len = cursor.len;
    core::str::from_utf8(&buffer[..len]).unwrap_or("?")
}

fn print_row(label: &str, calls: u64, counts: &[u64; COLUMNS]) {
    // One line per row; long rows continue on a second line.
    let mut line = Line::new();
    line.push_fmt(format_args!(
        "fuzz: {label:<22} {calls:>7} {:>7} ",
        counts[0]
    ));
    for (code, count) in counts.iter().enumerate().skip(1) {
        if *count > 0 {
            line.push_fmt(format_args!(" {}={}", code_name(code as u64), count));
        }
    }
    line.flush();
}

/// A line assembled on the stack and printed in one piece.
struct Line {
    buffer: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buffer: [0; 512],
            len: 0,
        }
    }

    fn push_fmt(&mut self, args: core::fmt::Arguments) {
        use core::fmt::Write;
        let _ = self.write_fmt(args);
    }

    fn flush(&self) {
        println!(
            "{}",
            core::str::from_utf8(&self.buffer[..self.len]).unwrap_or("?")
        );
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for b in text.bytes() {
            if self.len < self.buffer.len() {
                self.buffer[self.len] = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}
