//! Console output for native programs: `print!`/`println!` format into a
//! small stack buffer and hand it to the kernel through the console
//! capability set by [`init_console`], so a line normally goes out in one
//! system call and lines from different threads rarely interleave. Before
//! `init_console` (or after a failed write) output is silently dropped:
//! a program without a console has nowhere else to say so.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use bulkhead_abi::CapRef;

use crate::sys;

static CONSOLE: AtomicU64 = AtomicU64::new(CapRef::NULL.0);

/// Bytes buffered before a write is forced.
const BUFFER_LEN: usize = 256;

/// Sets the console capability used by `print!` and the panic handler.
pub fn init_console(console: CapRef) {
    CONSOLE.store(console.0, Ordering::Release);
}

/// The console capability, if one was set.
pub fn console() -> Option<CapRef> {
    let cap = CapRef(CONSOLE.load(Ordering::Acquire));
    (cap != CapRef::NULL).then_some(cap)
}

/// Writes all of `bytes`, following partial writes; stops at an error.
pub fn write_bytes(bytes: &[u8]) {
    let Some(console) = console() else { return };
    let mut rest = bytes;
    while !rest.is_empty() {
        match sys::console_write(console, rest) {
            Ok(0) | Err(_) => return,
            Ok(n) => rest = rest.get(n..).unwrap_or(&[]),
        }
    }
}

/// A stack buffer that flushes to the console when full and when dropped.
struct BufferedConsole {
    buffer: [u8; BUFFER_LEN],
    len: usize,
}

impl BufferedConsole {
    fn new() -> Self {
        BufferedConsole {
            buffer: [0; BUFFER_LEN],
            len: 0,
        }
    }

    fn flush(&mut self) {
        write_bytes(&self.buffer[..self.len]);
        self.len = 0;
    }
}

impl Write for BufferedConsole {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for chunk in text.as_bytes().chunks(BUFFER_LEN) {
            if self.len + chunk.len() > BUFFER_LEN {
                self.flush();
            }
            self.buffer[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

impl Drop for BufferedConsole {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats `args` to the console (the target of `print!`).
pub fn print_args(args: fmt::Arguments) {
    let mut out = BufferedConsole::new();
    let _ = out.write_fmt(args);
}

/// Prints to the console capability set by [`init_console`].
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::console::print_args(format_args!($($arg)*))
    };
}

/// Prints a line to the console capability set by [`init_console`].
#[macro_export]
macro_rules! println {
    () => {
        $crate::console::print_args(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::print_args(format_args!("{}\n", format_args!($($arg)*)))
    };
}
