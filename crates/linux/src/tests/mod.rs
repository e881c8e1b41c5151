//! Host tests of the personality, run against [`mock::MockBackend`].
//!
//! Each file covers one topic; `fuzz.rs` feeds pseudo-random syscalls to
//! `handle` and checks that nothing panics and the state stays consistent.

mod cpio;
mod files;
mod fuzz;
mod memory;
mod misc;
mod mock;
mod paths;
