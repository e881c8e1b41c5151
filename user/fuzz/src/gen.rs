//! Argument generators: capability handles, pointers, lengths, addresses,
//! rights masks, message-info words and plain numbers, each mixing valid
//! values with the adversarial ones the kernel must refuse.
//!
//! Pointers into the fuzzer's own memory are the one thing a generator may
//! not produce (see `raw`): [`Gen::pointer`] returns addresses in the
//! scratch window (followed by unmapped pages), addresses whose first page
//! is never mapped here, or addresses the kernel rejects outright.

use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, ObjectType, PAGE_SIZE, USER_END, USER_START};

use crate::arena::{self, Arena, Use, CODE_ADDR, DATA_ADDR, MAP_WINDOW, STACK_ADDR, STACK_TOP};
use crate::rng::Rng;

/// Where the scratch window starts in the fuzzer's space.
pub const SCRATCH_BASE: u64 = 0x0000_3000_0000_0000;
/// Pages of scratch (mapped read-write, never read or written by Rust).
pub const SCRATCH_PAGES: u64 = 64;
/// Bytes of scratch.
pub const SCRATCH_LEN: u64 = SCRATCH_PAGES * PAGE_SIZE;
/// The fuzzer thread's IPC buffer (the start of scratch).
pub const MAIN_IPC_BUFFER: (u64, u64) = (SCRATCH_BASE, 0xffff);
/// The partner thread's IPC buffer.
pub const PARTNER_IPC_BUFFER: (u64, u64) = (SCRATCH_BASE + 0x1_0000, 0xffff);
/// A range of user addresses the fuzzer never maps anything at.
pub const HOLE_BASE: u64 = 0x0000_4000_0000_0000;
/// Length of the hole.
pub const HOLE_LEN: u64 = 0x0000_1000_0000_0000;
/// Highest priority given to threads the fuzzer starts: below its own
/// (16), so a thread that spins can never starve it.
pub const MAX_ARENA_PRIORITY: u64 = 15;

/// Values that break range checks.
const EDGES: [u64; 24] = [
    0,
    1,
    2,
    7,
    8,
    0xfff,
    0x1000,
    0x1001,
    0xffff,
    0x1_0000,
    0x1_0001,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7_ffff_ffff,
    0x8_0000_0000,
    0x0000_7fff_ffff_f000,
    0x0000_8000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_8000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

/// The generators, over the fuzzer's random stream.
pub struct Gen {
    pub rng: Rng,
}

impl Gen {
    /// Generators drawing from `rng`.
    pub fn new(rng: Rng) -> Gen {
        Gen { rng }
    }

    /// Any 64-bit value, biased towards edges and small numbers.
    pub fn number(&mut self) -> u64 {
        match self.rng.below(8) {
            0 | 1 => self.rng.pick(&EDGES),
            2 | 3 => self.rng.below(16),
            4 => self.rng.below(1 << 20),
            5 => 1u64 << self.rng.below(64),
            6 => (1u64 << self.rng.below(64)).wrapping_sub(1),
            _ => self.rng.next(),
        }
    }

    /// A count of pages, bytes or slots.
    pub fn count(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=3 => self.rng.below(9),
            4 => self.rng.pick(&[16, 64, 256, 4095, 4096, 4097]),
            5 => self
                .rng
                .pick(&[0xffff, 0x1_0000, 0x1_0001, 1 << 20, (1 << 20) + 1]),
            6 => self
                .rng
                .pick(&[(1 << 35) - 1, 1 << 35, 0xffff_ffff, 0x1_0000_0000]),
            7 => self
                .rng
                .pick(&[u64::MAX, u64::MAX / 2, u64::MAX / PAGE_SIZE + 1]),
            _ => self.number(),
        }
    }

    /// A length in bytes for a copy.
    pub fn length(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=3 => self
                .rng
                .pick(&[0, 1, 7, 8, 255, 256, 257, 4095, 4096, 4097]),
            4..=5 => self.rng.below(3 * PAGE_SIZE),
            6 => self
                .rng
                .pick(&[0xffff, 0x1_0000, SCRATCH_LEN, SCRATCH_LEN + 1]),
            7 => self.rng.pick(&[1 << 30, (1 << 30) + 1, 1 << 32, 1 << 47]),
            8 => self.rng.pick(&[u64::MAX, u64::MAX - 0xfff, u64::MAX / 2]),
            _ => self.number(),
        }
    }

    /// A pointer into the fuzzer's own space for the kernel to read or
    /// write: never into memory the fuzzer uses (module docs).
    pub fn pointer(&mut self) -> u64 {
        let addr = match self.rng.below(16) {
            0..=5 => SCRATCH_BASE + self.rng.below(SCRATCH_LEN),
            6 => SCRATCH_BASE + self.rng.below(SCRATCH_PAGES) * PAGE_SIZE,
            7 => SCRATCH_BASE + SCRATCH_LEN - self.rng.below(64),
            8 => self.rng.below(USER_START + 1),
            9 => HOLE_BASE + self.rng.below(HOLE_LEN),
            10 => USER_END - 1 - self.rng.below(0x1_0000),
            11 => USER_END + self.rng.below(0x1_0000),
            12 => 0xffff_8000_0000_0000 | self.rng.next(),
            13 => self
                .rng
                .pick(&[0xffff_ffff_8020_0000, u64::MAX, u64::MAX - 0xfff]),
            14 => (self.rng.next() & 0x7fff_ffff_ffff_ffff) | 0x0000_8000_0000_0000,
            _ => self.rng.next(),
        };
        own_safe(addr)
    }

    /// A user address in another (arena) space.
    pub fn target(&mut self) -> u64 {
        match self.rng.below(14) {
            0 => CODE_ADDR,
            1 => DATA_ADDR,
            2 => STACK_ADDR,
            3..=6 => MAP_WINDOW + self.rng.below(arena::MAP_WINDOW_PAGES) * PAGE_SIZE,
            7 => MAP_WINDOW + self.rng.below(arena::MAP_WINDOW_PAGES * PAGE_SIZE),
            8 => self
                .rng
                .pick(&[0, USER_START - 1, USER_START, USER_START + 1]),
            9 => USER_END - PAGE_SIZE * (1 + self.rng.below(4)),
            10 => self.rng.pick(&[USER_END, USER_END + PAGE_SIZE, !0xfff]),
            11 => (self.rng.next() & (USER_END - 1)) & !0xfff,
            _ => self.number(),
        }
    }

    /// A mapping or capability rights value.
    pub fn rights(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=4 => self.rng.below(32),
            5 => self.rng.pick(&[1, 3, 5, 7, 0x1f]),
            6 => 1 << (5 + self.rng.below(27)),
            7 => self
                .rng
                .pick(&[1 << 32, u64::MAX, 0xffff_ffff, 0x1_0000_001f]),
            _ => self.number(),
        }
    }

    /// Rights for a mapping: mostly the three valid combinations.
    pub fn map_rights(&mut self) -> u64 {
        if self.rng.chance(60) {
            self.rng.pick(&[1, 3, 5])
        } else {
            self.rights()
        }
    }

    /// A priority for a thread of the arena: valid ones are kept below the
    /// fuzzer's own, invalid ones test the check.
    pub fn priority(&mut self) -> u64 {
        if self.rng.chance(85) {
            self.rng.below(MAX_ARENA_PRIORITY + 1)
        } else {
            self.rng.pick(&[32, 33, 255, 256, 0x1_0000_0000, u64::MAX])
        }
    }

    /// An entry point for a thread of the arena.
    pub fn rip(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=5 => CODE_ADDR + self.rng.pick(&arena::stub::ALL),
            6 => CODE_ADDR + self.rng.below(PAGE_SIZE),
            7 => self
                .rng
                .pick(&[0, DATA_ADDR, STACK_ADDR, USER_END - 1, USER_END]),
            _ => self.number(),
        }
    }

    /// A stack pointer for a thread of the arena.
    pub fn rsp(&mut self) -> u64 {
        match self.rng.below(6) {
            0..=3 => STACK_TOP,
            4 => STACK_ADDR + self.rng.below(PAGE_SIZE),
            _ => self.number(),
        }
    }

    /// A message-info word. `blocking`: the call may wait, so the timeout
    /// field is forced to 1 or 2 ms (never 0, which waits forever).
    pub fn info(&mut self, blocking: bool) -> u64 {
        let words = if self.rng.chance(90) {
            self.rng.below(9)
        } else {
            self.rng.below(16)
        };
        let mut info = words;
        if self.rng.chance(25) {
            info |= MessageInfo::CAP;
        }
        if self.rng.chance(30) {
            info |= MessageInfo::FORCE_SLOW;
        }
        if self.rng.chance(10) {
            info |= self.rng.below(4) << 6;
        }
        let bytes = match self.rng.below(6) {
            0..=2 => 0,
            3 => self.rng.below(64),
            4 => self.rng.pick(&[4096, 4097, 0xffff]),
            _ => self.rng.below(0x1_0000),
        };
        info |= bytes << 8;
        if self.rng.chance(10) {
            info |= self.rng.below(256) << 24;
        }
        let timeout = if blocking {
            1 + self.rng.below(2)
        } else {
            self.rng.next() & 0xffff_ffff
        };
        info | (timeout << 32)
    }

    /// A capability handle for `use_`, preferably of type `want`; always
    /// sanitized, so it never names a protected capability it may not.
    pub fn handle(&mut self, arena: &Arena, want: Option<ObjectType>, use_: Use) -> u64 {
        let raw = self.raw_handle(arena, want);
        arena::sanitize(raw, use_)
    }

    fn raw_handle(&mut self, arena: &Arena, want: Option<ObjectType>) -> u64 {
        // The console and the exit ports exist only as the fuzzer's own
        // (protected) capabilities and their rare copies.
        let own = match want {
            Some(ObjectType::Console) => Some(arena::policy::CONSOLE),
            Some(ObjectType::IoPort) => Some(arena::policy::PORT),
            _ => None,
        };
        if let Some(policy) = own.filter(|_| self.rng.chance(50)) {
            if let Some((handle, _)) = arena::protected().find(|(_, p)| *p == policy) {
                return handle;
            }
        }
        let typed = want.and_then(|kind| arena.known.random_of(&mut self.rng, kind));
        match self.rng.below(100) {
            0..=61 => typed
                .or_else(|| arena.known.random(&mut self.rng))
                .map_or(CapRef::NULL.0, |k| k.handle),
            62..=63 => arena
                .known
                .random(&mut self.rng)
                .map_or(CapRef::NULL.0, |k| k.handle),
            64..=69 => arena
                .graveyard
                .random(&mut self.rng)
                .map_or(0, |k| k.handle),
            70..=75 => {
                let k = arena.known.random(&mut self.rng).map_or(0, |k| k.handle);
                let cap = CapRef(k);
                let generation = match self.rng.below(3) {
                    0 => cap.generation().wrapping_add(1),
                    1 => cap.generation().wrapping_sub(1),
                    _ => self.rng.next() as u32,
                };
                CapRef::new(cap.index(), generation).0
            }
            76..=78 => CapRef::NULL.0,
            79..=81 => arena.foreign.random(&mut self.rng).map_or(0, |k| k.handle),
            82..=86 => CapRef::new(self.rng.below(300) as u32, self.rng.below(4) as u32).0,
            87..=89 => {
                CapRef::new(
                    self.rng
                        .pick(&[256, 257, 1024, 65535, 65536, 0x7fff_ffff, u32::MAX - 1]),
                    self.rng.below(2) as u32,
                )
                .0
            }
            90..=93 => self.rng.next(),
            _ => {
                // A protected capability: allowed for some uses, and the
                // sanitizer turns it stale for the others.
                let protected = arena::protected().count() as u64;
                let pick = self.rng.below(protected.max(1));
                arena::protected()
                    .nth(pick as usize)
                    .map_or(CapRef::NULL.0, |(handle, _)| handle)
            }
        }
    }
}

/// `addr` if the kernel may write at it without touching memory the
/// fuzzer uses; otherwise an address in the hole (never mapped).
pub fn own_safe(addr: u64) -> u64 {
    let in_scratch = (SCRATCH_BASE..SCRATCH_BASE + SCRATCH_LEN).contains(&addr);
    let in_hole = (HOLE_BASE..HOLE_BASE + HOLE_LEN).contains(&addr);
    // The null page and the last 64 KiB below USER_END are never mapped in
    // a child (its stack ends at 0x7fff_0000_0000, its info pages at
    // 0x7fff_e000_2000).
    let low = addr < USER_START;
    let top = (USER_END - 0x1_0000..USER_END).contains(&addr);
    if addr >= USER_END || in_scratch || in_hole || low || top {
        addr
    } else {
        HOLE_BASE + addr % HOLE_LEN
    }
}
