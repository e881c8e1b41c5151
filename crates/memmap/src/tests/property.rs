//! Property tests over random raw maps (deterministic xorshift PRNG).
//!
//! For each random input the sanitized map must be sorted, non-overlapping,
//! merged, with usable regions page-aligned and above 1 MiB; no usable byte
//! may come from memory that was not usable-only in the input or that lies in
//! a reserved range; every whole input page that was usable-only must still be
//! usable; non-usable input memory must stay non-usable; and nothing may
//! appear where the input had no region. Hole punching and limiting are
//! checked on the same maps.

use crate::RegionKind::*;
use crate::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An address in [0, 6 MiB), page-aligned half of the time.
    fn address(&mut self) -> u64 {
        let addr = self.below(6 << 20);
        if self.below(2) == 0 {
            addr & !(PAGE_SIZE - 1)
        } else {
            addr
        }
    }

    fn kind(&mut self) -> RegionKind {
        if self.below(2) == 0 {
            Usable
        } else {
            RegionKind::ALL[self.below(8) as usize]
        }
    }
}

struct Input {
    raw: Vec<Region>,
    reserved: Vec<(u64, u64)>,
}

impl Input {
    fn random(rng: &mut Rng) -> Input {
        let raw = (0..rng.below(16))
            .map(|_| {
                let start = rng.address();
                let len = if rng.below(8) == 0 {
                    0
                } else {
                    rng.below(2 << 20)
                };
                Region::new(start, start + len, rng.kind())
            })
            .collect();
        let reserved = (0..rng.below(4))
            .map(|_| {
                let start = rng.address();
                (start, start + rng.below(256 << 10))
            })
            .collect();
        Input { raw, reserved }
    }

    fn covered(&self, addr: u64) -> bool {
        self.raw.iter().any(|r| r.contains(addr))
    }

    fn non_usable(&self, addr: u64) -> bool {
        self.raw
            .iter()
            .any(|r| r.kind != Usable && r.contains(addr))
    }

    /// Usable in the input, not overridden, not reserved, not low memory.
    fn usable_only(&self, addr: u64) -> bool {
        let usable = self
            .raw
            .iter()
            .any(|r| r.kind == Usable && r.contains(addr));
        let carved = self.reserved.iter().any(|&(s, e)| s <= addr && addr < e);
        usable && !self.non_usable(addr) && !carved && addr >= LOW_MEMORY_END
    }

    /// Every input boundary inside `(start, end)`, plus `start`: the input's
    /// classification is constant between consecutive points.
    fn probe_points(&self, start: u64, end: u64) -> Vec<u64> {
        let mut points = vec![start];
        let bounds = self.raw.iter().flat_map(|r| [r.start, r.end]);
        let reserved = self.reserved.iter().flat_map(|&(s, e)| [s, e]);
        points.extend(
            bounds
                .chain(reserved)
                .chain([LOW_MEMORY_END])
                .filter(|&p| start < p && p < end),
        );
        points
    }
}

fn check_structure(map: &MemoryMap) {
    for pair in map.regions().windows(2) {
        assert!(pair[0].end <= pair[1].start, "overlap: {map}");
        let touching_same = pair[0].end == pair[1].start && pair[0].kind == pair[1].kind;
        assert!(!touching_same, "unmerged: {map}");
    }
    for region in map.iter() {
        assert!(region.start < region.end);
        if region.kind == Usable {
            assert_eq!(region.start % PAGE_SIZE, 0);
            assert_eq!(region.end % PAGE_SIZE, 0);
            assert!(region.start >= LOW_MEMORY_END);
        }
    }
}

fn check_against_input(input: &Input, map: &MemoryMap) {
    for region in map.iter() {
        for point in input.probe_points(region.start, region.end) {
            assert!(input.covered(point), "invented memory at {point:#x}");
            if region.kind == Usable {
                assert!(input.usable_only(point), "bad usable byte {point:#x}");
            }
        }
    }
    for raw in input.raw.iter().filter(|r| !r.is_empty()) {
        for point in input.probe_points(raw.start, raw.end) {
            let output = map.iter().find(|r| r.contains(point));
            if input.non_usable(point) {
                assert!(output.is_some_and(|r| r.kind != Usable), "lost {point:#x}");
            }
        }
    }
    let mut page = LOW_MEMORY_END;
    while page < 9 << 20 {
        let whole = input
            .probe_points(page, page + PAGE_SIZE)
            .iter()
            .all(|&p| input.usable_only(p));
        if whole {
            assert!(
                map.usable().any(|r| r.contains(page)),
                "dropped page {page:#x}"
            );
        }
        page += PAGE_SIZE;
    }
}

#[test]
fn random_maps_keep_invariants() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..600 {
        let input = Input::random(&mut rng);
        let map = MemoryMap::sanitize(input.raw.iter().copied(), &input.reserved).unwrap();
        check_structure(&map);
        check_against_input(&input, &map);
        check_edits(&mut rng, &map);
    }
}

fn check_edits(rng: &mut Rng, map: &MemoryMap) {
    let mut punched = map.clone();
    let wanted = rng.below(64) as usize;
    let count = punched.punch_holes(wanted);
    assert_eq!(count as u64, (wanted as u64).min(map.usable_pages()));
    check_structure(&punched);
    assert_eq!(
        map.total_usable() - punched.total_usable(),
        count as u64 * PAGE_SIZE
    );
    for region in punched.usable() {
        assert!(map
            .usable()
            .any(|u| u.start <= region.start && region.end <= u.end));
    }
    let mut limited = map.clone();
    let max = rng.address();
    let removed = limited.limit(max);
    check_structure(&limited);
    assert_eq!(map.total_usable() - limited.total_usable(), removed);
    assert!(limited.usable().all(|r| r.end <= max));
    let kept_other = map.iter().filter(|r| r.kind != Usable).count();
    assert_eq!(
        limited.iter().filter(|r| r.kind != Usable).count(),
        kept_other
    );
}
