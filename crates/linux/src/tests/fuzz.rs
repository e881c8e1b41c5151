//! Property test: random syscalls never panic and keep state consistent.
//!
//! A fixed-seed xorshift generator picks syscall numbers (mostly ones the
//! personality implements, some arbitrary) and arguments drawn from a mix
//! of interesting values: small integers, valid scratch pointers (some
//! holding real paths), mapped and unmapped addresses, and extremes. After
//! every call the test checks that the result is a Linux-style value and
//! that the process's area map agrees with the mock's pages.

use super::mock::{Harness, SCRATCH};
use crate::{Outcome, PAGE_SIZE};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const PATHS: [&str; 10] = [
    "/",
    "/tmp",
    "/tmp/a",
    "/tmp/b/",
    "a",
    "..",
    "/dev/null",
    "/dev/zero",
    "/tmp/d",
    "",
];

const NUMBERS: [u64; 60] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 28, 32, 33, 35, 62,
    63, 72, 76, 77, 79, 80, 81, 82, 83, 84, 87, 89, 95, 96, 131, 158, 200, 201, 217, 218, 228, 229,
    230, 257, 258, 262, 263, 264, 269, 292, 302, 316, 318, 25,
];

fn argument(rng: &mut XorShift, path_addrs: &[u64], buffers: u64) -> u64 {
    match rng.below(12) {
        0 => rng.below(8),
        1 => rng.below(300),
        2 => path_addrs[rng.below(path_addrs.len() as u64) as usize],
        3 | 4 => buffers + rng.below(4096 * 8),
        5 => 0x7f00_0000_0000 + rng.below(64) * PAGE_SIZE,
        6 => u64::MAX - rng.below(4),
        7 => 1 << rng.below(64),
        8 => (-100i64) as u64,
        9 => rng.below(1 << 20) * PAGE_SIZE,
        10 => rng.next(),
        _ => rng.below(0x10_0000),
    }
}

fn check_consistency(h: &Harness) {
    let mut pages = 0;
    let mut last_end = 0;
    for (start, area) in h.process.address_space().areas() {
        assert!(
            start >= last_end && start < area.end,
            "areas overlap or are empty"
        );
        assert_eq!(start % PAGE_SIZE, 0);
        assert_eq!(area.end % PAGE_SIZE, 0);
        last_end = area.end;
        pages += (area.end - start) / PAGE_SIZE;
    }
    assert_eq!(
        pages as usize,
        h.backend.pages.len(),
        "area map and backend disagree"
    );
    let brk = h.process.program_break();
    assert!(brk.heap_start <= brk.current && brk.current <= brk.mapped_end);
    assert!(h.process.files().count() <= crate::fd_table::FD_LIMIT);
    assert!(h.process.files().description_count() <= h.process.files().count());
    let fs = &h.container.fs;
    assert!(fs.used_bytes() <= fs.limit());
    assert_eq!(
        fs.used_bytes(),
        fs.recount_used_bytes(),
        "size accounting drifted"
    );
}

#[test]
fn random_syscalls_never_panic() {
    run_random_syscalls(0x2545_f491_4f6c_dd1d, None);
}

#[test]
fn random_syscalls_with_a_tiny_tree_limit() {
    run_random_syscalls(0x9e37_79b9_7f4a_7c15, Some(64 * 1024));
}

fn run_random_syscalls(seed: u64, limit: Option<u64>) {
    let mut rng = XorShift(seed);
    let mut h = Harness::new();
    if let Some(limit) = limit {
        let used = h.container.fs.used_bytes();
        h.container.fs.set_limit(used + limit);
    }
    let mut successes = 0;
    let mut path_addrs = std::vec::Vec::new();
    for path in PATHS {
        path_addrs.push(h.cstr(path));
    }
    let buffers = h.alloc(4096 * 9).next_multiple_of(8);
    assert!(buffers > SCRATCH);
    let mut exits = 0;
    // BULKHEAD_FUZZ_ITERATIONS=1000000 runs a longer session by hand.
    let iterations: u64 = std::env::var("BULKHEAD_FUZZ_ITERATIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_000);
    for iteration in 0..iterations {
        let nr = if rng.below(10) == 0 {
            rng.below(600)
        } else {
            NUMBERS[rng.below(60) as usize]
        };
        let mut args = [0u64; 6];
        for (position, arg) in args.iter_mut().enumerate() {
            // First arguments are usually fds or paths; bias them so the
            // calls get past argument checking and do real work.
            *arg = match (position, rng.below(4)) {
                (0, 0) => rng.below(6),
                (0, 1) => path_addrs[rng.below(path_addrs.len() as u64) as usize],
                (1 | 2, 0) => buffers + rng.below(64) * 8,
                (2, 1) => rng.below(4096),
                _ => argument(&mut rng, &path_addrs, buffers),
            };
        }
        let outcome = crate::handle(&mut h.container, &mut h.process, &mut h.backend, nr, args);
        match outcome {
            Outcome::Return(value) => {
                if value >= 0 {
                    successes += 1;
                }
                assert!(
                    value >= -4095 || nr == 9 || value >= 0,
                    "odd return {value} from {nr} at {iteration}"
                );
            }
            Outcome::Exit(status) => {
                assert!((0..=255).contains(&status));
                exits += 1;
                // Start over with a fresh process, keeping the tree.
                let fs = core::mem::take(&mut h.container.fs);
                h = Harness::with_fs(fs);
                path_addrs.clear();
                for path in PATHS {
                    path_addrs.push(h.cstr(path));
                }
                let _ = h.alloc(4096 * 9);
            }
        }
        check_consistency(&h);
    }
    assert!(exits < iterations);
    std::println!("{successes} successful calls, {exits} exits");
    assert!(successes > 1_000, "the generator should reach real work");
}
