//! `bulkhead-fuzz`: an in-guest fuzzer for Bulkhead's native system calls.
//!
//! The root server runs it instead of the test suite when the ISO has a
//! boot module named `fuzz` (`scripts/fuzz.sh`), passing the kernel
//! command line's `user.fuzz.*` options in the start info filter, without
//! the `user.` prefix:
//!
//! | option | meaning | default |
//! |---|---|---|
//! | `user.fuzz.seed=N` | the seed (decimal or `0x` hex) | 1 |
//! | `user.fuzz.count=N` | system calls to make | 20000 |
//! | `user.fuzz.epoch=N` | calls between arena resets | 2000 |
//! | `user.fuzz.partner=0` | no partner thread serving an endpoint | 1 |
//! | `user.fuzz.trace=N` | print every call from call N on | off |
//!
//! It makes `count` random calls with random and adversarial arguments
//! (see [`calls`] and [`gen`]) on a private arena of objects it made
//! itself ([`arena`]), never on its own space, table or thread, and never
//! in a way that can block for good. Every call must come back; each
//! outcome is checked against the ABI ([`oracle`]). Every 1000 calls it
//! prints `fuzz: N calls, seed S` and runs the kernel's self-check; at the
//! end a table of calls and errors by code, and `fuzz: done N calls, seed
//! S`.
//!
//! The decisions come from the seed alone, but some outcomes depend on
//! timing (a call to the partner may time out, a sandbox thread may or
//! may not have ended yet), so a rerun with the same seed makes the same
//! calls until the first such difference; with `user.fuzz.partner=0` the
//! only timing left is that of the sandbox threads.
//!
//! Exit codes: 0 nothing impossible happened, 1 findings (each printed as
//! `fuzz: FINDING ...`), 2 the fuzzer could not set itself up.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod arena;
mod calls;
mod gen;
mod oracle;
mod partner;
#[allow(unsafe_code)]
mod raw;
mod rng;
mod stats;

use alloc::boxed::Box;
use core::sync::atomic::Ordering;

use bulkhead_rt::abi::{CapRef, Error, Rights, Syscall};
use bulkhead_rt::boot::{child_cap, child_filter, init_child};
use bulkhead_rt::thread::{ThreadSpec, DEFAULT_PRIORITY};
use bulkhead_rt::{child_slots, cmdline, heap, println, sys};

use crate::arena::{policy, Arena};
use crate::calls::{Fuzzer, Own};
use crate::gen::Gen;
use crate::rng::Rng;
use crate::stats::Stats;

bulkhead_rt::entry!(main);

/// Pages the heap starts with; it must never grow once the protected set
/// is recorded (a new heap Frames capability would not be protected).
const HEAP_PAGES: u64 = 64;
/// Pages of the fuzzer's quota kept out of the arenas.
const RESERVE_PAGES: u64 = 128;
/// Calls between progress lines and self-checks.
const PROGRESS_EVERY: u64 = 1000;
/// Calls between prunings of the known handles.
const PRUNE_EVERY: u64 = 250;

/// The options from the start info filter.
struct Config {
    seed: u64,
    count: u64,
    epoch: u64,
    partner: bool,
    trace_from: u64,
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

impl Config {
    fn from(options: &str) -> Config {
        let number = |key: &str, default: u64| {
            cmdline::value(options, key)
                .and_then(parse_number)
                .unwrap_or(default)
        };
        Config {
            seed: number("fuzz.seed", 1),
            count: number("fuzz.count", 20_000),
            epoch: number("fuzz.epoch", 2000).max(100),
            partner: number("fuzz.partner", 1) != 0,
            trace_from: number("fuzz.trace", u64::MAX),
        }
    }
}

fn main(argument: u64) -> i32 {
    let start = init_child(argument);
    bulkhead_rt::init_console(child_cap(child_slots::CONSOLE));
    if start.is_none() {
        println!("fuzz: no start info page at {argument:#x}");
        return 2;
    }
    let config = Config::from(child_filter().unwrap_or(""));
    let mut fuzzer = match set_up(&config) {
        Ok(fuzzer) => fuzzer,
        Err((step, error)) => {
            println!("fuzz: cannot set up ({step}): {error}");
            return 2;
        }
    };
    let heap_bytes = heap::usage().1;
    let mut next_progress = PROGRESS_EVERY;
    let mut next_epoch = config.epoch;
    let mut next_prune = PRUNE_EVERY;
    while fuzzer.calls < config.count {
        fuzzer.step();
        if fuzzer.calls >= next_prune {
            next_prune += PRUNE_EVERY;
            fuzzer.arena.prune();
            // The fuzz may have suspended the partner; its endpoint is
            // only worth calling while it runs.
            let _ = sys::thread_resume(CapRef(fuzzer.own.partner));
        }
        if fuzzer.calls >= next_progress {
            next_progress += PROGRESS_EVERY;
            println!("fuzz: {} calls, seed {}", fuzzer.calls, config.seed);
            self_check(&mut fuzzer);
            if heap::usage().1 != heap_bytes {
                println!("fuzz: the heap grew: a new Frames capability is not protected; stopping");
                return 2;
            }
        }
        if fuzzer.calls >= next_epoch {
            next_epoch += config.epoch;
            fuzzer.arena.reset(&[fuzzer.own.served]);
        }
    }
    self_check(&mut fuzzer);
    summary(&fuzzer, &config);
    if fuzzer.findings == 0 && partner::STATS.findings.load(Ordering::Relaxed) == 0 {
        0
    } else {
        1
    }
}

type SetupError = (&'static str, Error);

fn at(step: &'static str) -> impl Fn(Error) -> SetupError {
    move |error| (step, error)
}

/// Heap, scratch, the partner and its endpoint, the fuzzer's own quota
/// for arenas; then records the protected set and builds the first arena.
fn set_up(config: &Config) -> Result<Fuzzer, SetupError> {
    let memory = child_cap(child_slots::MEMORY);
    let space = child_cap(child_slots::SELF_SPACE);
    let table = child_cap(child_slots::SELF_TABLE);
    let thread = child_cap(child_slots::SELF_THREAD);
    heap::init(memory, space, heap::DEFAULT_HEAP_BASE, HEAP_PAGES).map_err(at("heap"))?;
    let scratch = sys::frames_alloc(memory, gen::SCRATCH_PAGES).map_err(at("scratch frames"))?;
    let rw = Rights::READ | Rights::WRITE;
    sys::space_map(space, scratch, 0, gen::SCRATCH_PAGES, gen::SCRATCH_BASE, rw)
        .map_err(at("map scratch"))?;
    set_ipc_buffer(thread.0, gen::MAIN_IPC_BUFFER).map_err(at("IPC buffer"))?;
    let (served, partner) = if config.partner {
        let endpoint = sys::ipc::endpoint_create(memory).map_err(at("partner endpoint"))?;
        let spec = ThreadSpec {
            memory,
            space,
            table,
            priority: DEFAULT_PRIORITY,
        };
        let partner = partner::start(&spec, endpoint, config.seed).map_err(at("partner"))?;
        set_ipc_buffer(partner.0, gen::PARTNER_IPC_BUFFER).map_err(at("partner IPC buffer"))?;
        (endpoint.0, partner.0)
    } else {
        (CapRef::NULL.0, CapRef::NULL.0)
    };
    let free = sys::memory_info(memory).map_err(at("quota"))?.free();
    let pages = free
        .checked_sub(RESERVE_PAGES)
        .filter(|p| *p >= arena::ARENA_PAGES)
        .ok_or(("arena quota", Error::QuotaExhausted))?;
    let parent = sys::memory_split(memory, pages).map_err(at("arena quota"))?;
    let own = Own {
        thread: thread.0,
        console: child_cap(child_slots::CONSOLE).0,
        exit_ports: child_cap(child_slots::EXIT_PORTS).0,
        served,
        partner,
    };
    // Every allocation happens before the protected set is recorded.
    let mut arena = Box::new(Arena::empty(parent));
    let stats = Box::new(Stats::new());
    let protected = arena::protect_table(|handle| match handle {
        h if h == own.thread => policy::SELF_THREAD,
        h if h == own.console => policy::CONSOLE,
        h if h == own.exit_ports => policy::PORT,
        h if h == served => policy::SERVED,
        h if h == partner => policy::PARTNER_THREAD,
        _ => policy::OBSERVE,
    });
    arena.start().map_err(at("first arena"))?;
    let not_fuzzed = Syscall::ALL
        .iter()
        .filter(|call| !calls::WEIGHTS.iter().any(|(c, _)| c == *call));
    println!(
        "fuzz: seed {}, {} calls, arena reset every {} calls, {} pages for arenas of {} pages, partner {}, {} protected capabilities",
        config.seed,
        config.count,
        config.epoch,
        pages,
        arena::ARENA_PAGES,
        if config.partner { "on" } else { "off" },
        protected
    );
    for call in not_fuzzed {
        println!("fuzz: not fuzzed: {call:?}");
    }
    Ok(Fuzzer {
        gen: Gen::new(Rng::new(config.seed, 1)),
        arena,
        stats,
        own,
        seed: config.seed,
        calls: 0,
        trace_from: config.trace_from,
        findings: 0,
        waits_skipped: 0,
        checks: 0,
    })
}

/// `ThreadSetIpcBuffer(thread, buffer)`, on the fuzzer's own threads with
/// buffers in scratch.
fn set_ipc_buffer(thread: u64, (address, len): (u64, u64)) -> Result<(), Error> {
    let got = raw::call(
        Syscall::ThreadSetIpcBuffer as u64,
        [thread, address, len, 0, 0, 0],
    );
    match got.status {
        0 => Ok(()),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// Runs the kernel's self-check; problems are findings (the kernel prints
/// each).
fn self_check(fuzzer: &mut Fuzzer) {
    let got = raw::call(Syscall::KernelCheck as u64, [0; 6]);
    if got.status == 0 && got.results[0] != 0 {
        fuzzer.findings += 1;
        println!(
            "fuzz: FINDING after call {} (seed {}): the kernel's self-check found {} problems",
            fuzzer.calls, fuzzer.seed, got.results[0]
        );
    }
}

fn summary(fuzzer: &Fuzzer, config: &Config) {
    let stats = &fuzzer.stats;
    let calls = stats.calls();
    let ok = stats.successes();
    println!(
        "fuzz: summary for seed {}: {} calls, {} succeeded, {} failed with an error, {} findings",
        config.seed,
        calls,
        ok,
        calls - ok,
        fuzzer.findings
    );
    stats.print();
    let p = &partner::STATS;
    if config.partner {
        println!(
            "fuzz: partner: {} messages received ({} with a capability), {} sends taken, {} timeouts, {} other errors, {} findings",
            p.received.load(Ordering::Relaxed),
            p.with_cap.load(Ordering::Relaxed),
            p.sent.load(Ordering::Relaxed),
            p.timeouts.load(Ordering::Relaxed),
            p.errors.load(Ordering::Relaxed),
            p.findings.load(Ordering::Relaxed)
        );
    }
    let arena = &fuzzer.arena;
    println!(
        "fuzz: arena: {} epochs ({} kept the old quota), {} set-up calls failed, {} pages left charged by abandoned arenas, {} pages of arena quotas still charged to the parent, {} ThreadWaits skipped (thread alive), {} new capabilities checked",
        arena.epochs,
        arena.split_failures,
        arena.setup_failures,
        arena.leaked_pages,
        arena.parent_used(),
        fuzzer.waits_skipped,
        fuzzer.checks
    );
    match sys::ipc::kernel_check() {
        Ok(check) => println!(
            "fuzz: kernel: {} self-check problems, {} frames in use, {} live objects",
            check.problems, check.frames_used, check.live_objects
        ),
        Err(error) => println!("fuzz: kernel: self-check unavailable: {error}"),
    }
    println!("fuzz: done {} calls, seed {}", fuzzer.calls, config.seed);
}
