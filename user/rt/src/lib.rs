//! `bulkhead-rt`: the runtime for programs that run natively on Bulkhead
//! (the root server, the user-land tests, demos).
//!
//! A program is a static `x86_64-unknown-none` executable linked at 4 MiB
//! with `user/user.ld`. It names its `main` with [`entry!`], which provides
//! `_start`; the runtime supplies the panic handler, `print!`/`println!` to
//! a console capability ([`init_console`]), a growing heap
//! ([`heap::init`]), threads running closures ([`thread::spawn`]), a test
//! framework ([`testing`]) and typed wrappers for every system call
//! ([`sys`]). All of the program's `unsafe` lives here, so programs can use
//! `#![forbid(unsafe_code)]`.
//!
//! On the host the crate builds as an ordinary library so its pure logic
//! (report format, start info encoding, command line, status decoding) is
//! unit-tested with `cargo test`; the panic handler and global allocator
//! exist only on the bare-metal target.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod arch;
pub mod boot;
pub mod child;
pub mod cmdline;
pub mod console;
pub mod container_report;
#[cfg(not(test))]
pub mod echo;
pub mod exit;
pub mod heap;
#[cfg(not(test))]
pub mod image;
pub mod linux;
pub mod mem;
pub mod report;
pub mod start;
pub mod sys;
pub mod syscall;
pub mod testing;
pub mod thread;

pub use bulkhead_abi as abi;
pub use child::child_slots;
pub use console::init_console;
pub use exit::{exit_emulator, exit_qemu};
pub use sys::*;
pub use testing::{run_tests, Test};

/// `alloc::format!` for the check macros (programs need no `extern crate`).
#[doc(hidden)]
pub use alloc::format as __format;
