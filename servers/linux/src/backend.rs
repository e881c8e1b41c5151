//! The personality's backend in a syscall server: one app's memory and
//! thread through capabilities, the console with each line prefixed by the
//! container's name, the kernel's clock, and a seeded generator for
//! `getrandom`.
//!
//! Console output is cut into lines (`bulkhead_linux::host::ConsoleLine`)
//! so that containers writing at the same time never interleave within a
//! line.

use alloc::string::String;
use core::fmt;
use core::time::Duration;

use bulkhead_linux::host::{ConsoleLine, Random, EPOCH_AT_BOOT_NS};
use bulkhead_linux::{Backend, Errno, Prot};
use bulkhead_rt::abi::CapRef;
use bulkhead_rt::{println, sys};

use crate::app_memory::AppMemory;

/// What the backend of one app reaches.
pub struct AppBackend<'a> {
    pub memory: AppMemory,
    pub thread: CapRef,
    pub console: CapRef,
    pub name: &'a str,
    pub line: &'a mut ConsoleLine,
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
pub fn flush_line(console: CapRef, name: &str, line: &mut ConsoleLine) {
    line.flush(|l| print_line(console, name, l));
}

/// A generator seeded from the time since boot.
pub fn random_from_clock() -> Random {
    Random::new(sys::clock().map_or(0, |d| d.as_nanos() as u64))
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
        let (console, name) = (self.console, self.name);
        self.line.push(bytes, |l| print_line(console, name, l));
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
