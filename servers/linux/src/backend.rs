//! The personality's backend in a syscall server: one app's memory and
//! thread through capabilities, the console with each line prefixed by the
//! container's name, the kernel's clock, and a seeded generator for
//! `getrandom`.
//!
//! Console output is cut into lines so that containers writing at the same
//! time never interleave within a line; a partial line waits in the app's
//! buffer until its newline (or until it grows past [`MAX_LINE`], or the
//! app ends).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use bulkhead_linux::{Backend, Errno, Prot};
use bulkhead_rt::abi::CapRef;
use bulkhead_rt::{println, sys};

use crate::app_memory::AppMemory;

/// Longest line kept back waiting for its newline.
pub const MAX_LINE: usize = 512;
/// `CLOCK_REALTIME` at boot: Bulkhead has no battery clock, so it starts
/// at a fixed date (2026-01-01 00:00:00 UTC).
const EPOCH_AT_BOOT_NS: u64 = 1_767_225_600 * 1_000_000_000;

/// What the backend of one app reaches.
pub struct AppBackend<'a> {
    pub memory: AppMemory,
    pub thread: CapRef,
    pub console: CapRef,
    pub name: &'a str,
    pub line: &'a mut Vec<u8>,
    pub random: &'a mut Random,
}

/// Writes `line` to the console as `[name] line`.
pub fn print_line(console: CapRef, name: &str, line: &[u8]) {
    let mut text = String::with_capacity(line.len() + name.len() + 4);
    text.push('[');
    text.push_str(name);
    text.push_str("] ");
    text.push_str(&String::from_utf8_lossy(line));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let _ = sys::console_write(console, text.as_bytes());
}

/// Prints whatever partial line is left in `line`.
pub fn flush_line(console: CapRef, name: &str, line: &mut Vec<u8>) {
    if !line.is_empty() {
        print_line(console, name, line);
        line.clear();
    }
}

impl Backend for AppBackend<'_> {
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.memory.read(addr, buf)
    }

    fn write_user(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.memory.write(addr, data)
    }

    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        self.memory.map(addr, len, prot)
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.memory.unmap(addr, len)
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        self.memory.protect(addr, len, prot)
    }

    fn set_fs_base(&mut self, base: u64) -> Result<(), Errno> {
        sys::thread_set_fs_base(self.thread, base).map_err(|_| Errno::EPERM)
    }

    fn console_write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.line.push(byte);
            if byte == b'\n' || self.line.len() >= MAX_LINE {
                print_line(self.console, self.name, self.line);
                self.line.clear();
            }
        }
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        sys::console_read(self.console, buf).unwrap_or(0)
    }

    fn monotonic_ns(&mut self) -> u64 {
        sys::clock().map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    fn realtime_ns(&mut self) -> u64 {
        EPOCH_AT_BOOT_NS.saturating_add(self.monotonic_ns())
    }

    fn sleep_ns(&mut self, ns: u64) {
        let _ = sys::sleep(Duration::from_nanos(ns));
    }

    fn random(&mut self, buf: &mut [u8]) {
        self.random.fill(buf);
    }

    fn log(&mut self, message: fmt::Arguments<'_>) {
        println!("[{}] linux: {}", self.name, message);
    }
}

/// A xorshift generator seeded from the clock: varied, not secret (good
/// enough for `AT_RANDOM` and `getrandom` in tests; not cryptographic).
pub struct Random(u64);

impl Random {
    /// A generator seeded from the time since boot.
    pub fn from_clock() -> Random {
        let nanos = sys::clock().map_or(0, |d| d.as_nanos() as u64);
        Random(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fills `buf` with the next bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
