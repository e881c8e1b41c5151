//! Host tests for sanitizing and editing memory maps.

mod property;

use crate::RegionKind::*;
use crate::*;

const MIB: u64 = 1 << 20;

fn r(start: u64, end: u64, kind: RegionKind) -> Region {
    Region::new(start, end, kind)
}

fn regions(map: &MemoryMap) -> Vec<(u64, u64, RegionKind)> {
    map.iter().map(|r| (r.start, r.end, r.kind)).collect()
}

fn sanitize(raw: &[Region], reserved: &[(u64, u64)]) -> Vec<(u64, u64, RegionKind)> {
    regions(&MemoryMap::sanitize(raw.iter().copied(), reserved).unwrap())
}

#[test]
fn empty_input() {
    let map = MemoryMap::sanitize([], &[]).unwrap();
    assert!(map.is_empty());
    assert_eq!(map.total_usable(), 0);
    assert_eq!(map.highest_address(), 0);
    assert_eq!(map.to_string(), "");
    assert_eq!(map.summary().to_string(), "empty memory map");
    assert_eq!(MemoryMap::default(), MemoryMap::new());
}

#[test]
fn unsorted_input_is_sorted() {
    let raw = [
        r(4 * MIB, 5 * MIB, Usable),
        r(2 * MIB, 3 * MIB, AcpiNvs),
        r(MIB, 2 * MIB, Usable),
    ];
    assert_eq!(
        sanitize(&raw, &[]),
        [
            (MIB, 2 * MIB, Usable),
            (2 * MIB, 3 * MIB, AcpiNvs),
            (4 * MIB, 5 * MIB, Usable)
        ]
    );
}

#[test]
fn zero_length_and_inverted_are_dropped() {
    let raw = [
        r(2 * MIB, 2 * MIB, Reserved),
        r(3 * MIB, 2 * MIB, Usable),
        r(MIB, 2 * MIB, Usable),
    ];
    assert_eq!(sanitize(&raw, &[]), [(MIB, 2 * MIB, Usable)]);
}

#[test]
fn touching_same_kind_merges() {
    let raw = [
        r(MIB, 2 * MIB, Usable),
        r(2 * MIB, 3 * MIB, Usable),
        r(3 * MIB, 4 * MIB, Reserved),
        r(4 * MIB, 5 * MIB, Reserved),
        r(5 * MIB, 6 * MIB, Usable),
    ];
    assert_eq!(
        sanitize(&raw, &[]),
        [
            (MIB, 3 * MIB, Usable),
            (3 * MIB, 5 * MIB, Reserved),
            (5 * MIB, 6 * MIB, Usable)
        ]
    );
}

#[test]
fn usable_inside_reserved_disappears() {
    let raw = [r(MIB, 8 * MIB, Reserved), r(2 * MIB, 3 * MIB, Usable)];
    assert_eq!(sanitize(&raw, &[]), [(MIB, 8 * MIB, Reserved)]);
}

#[test]
fn reserved_inside_usable_splits_it() {
    let raw = [
        r(MIB, 8 * MIB, Usable),
        r(2 * MIB, 3 * MIB, AcpiReclaimable),
    ];
    assert_eq!(
        sanitize(&raw, &[]),
        [
            (MIB, 2 * MIB, Usable),
            (2 * MIB, 3 * MIB, AcpiReclaimable),
            (3 * MIB, 8 * MIB, Usable)
        ]
    );
}

#[test]
fn more_restrictive_non_usable_wins() {
    let raw = [
        r(MIB, 4 * MIB, Bootloader),
        r(2 * MIB, 3 * MIB, BadMemory),
        r(3 * MIB, 5 * MIB, AcpiNvs),
        r(4 * MIB, 6 * MIB, AcpiReclaimable),
    ];
    assert_eq!(
        sanitize(&raw, &[]),
        [
            (MIB, 2 * MIB, Bootloader),
            (2 * MIB, 3 * MIB, BadMemory),
            (3 * MIB, 5 * MIB, AcpiNvs),
            (5 * MIB, 6 * MIB, AcpiReclaimable)
        ]
    );
    assert!(Reserved.restrictiveness() > KernelAndModules.restrictiveness());
    for kind in RegionKind::ALL {
        assert!(kind == Usable || kind.restrictiveness() > Usable.restrictiveness());
    }
}

#[test]
fn unaligned_usable_rounds_inward() {
    let raw = [
        r(MIB + 1, 2 * MIB - 1, Usable),
        r(2 * MIB - 1, 2 * MIB + 0x800, Reserved),
        r(2 * MIB + 0x800, 3 * MIB + 0x800, Usable),
        r(4 * MIB + 10, 4 * MIB + 4000, Usable),
    ];
    assert_eq!(
        sanitize(&raw, &[]),
        [
            (MIB + 0x1000, 2 * MIB - 0x1000, Usable),
            (2 * MIB - 1, 2 * MIB + 0x800, Reserved),
            (2 * MIB + 0x1000, 3 * MIB, Usable),
        ]
    );
}

#[test]
fn low_memory_is_never_usable() {
    let raw = [
        r(0, 0x9f000, Usable),
        r(0x9f000, 0xa0000, Reserved),
        r(0xa0000, 3 * MIB, Usable),
    ];
    // Usable and reserved pieces below 1 MiB all become one reserved region.
    assert_eq!(
        sanitize(&raw, &[]),
        [(0, MIB, Reserved), (MIB, 3 * MIB, Usable)]
    );
    let map = MemoryMap::sanitize(raw, &[]).unwrap();
    assert!(map.usable().all(|r| r.start >= LOW_MEMORY_END));
    // Non-usable kinds below 1 MiB are kept as they are.
    assert_eq!(
        sanitize(&[r(0xe0000, 0x100000, AcpiReclaimable)], &[]),
        [(0xe0000, 0x100000, AcpiReclaimable)]
    );
}

#[test]
fn carve_outs_inside_at_edges_and_spanning() {
    let raw = [
        r(MIB, 4 * MIB, Usable),
        r(4 * MIB, 5 * MIB, Reserved),
        r(5 * MIB, 8 * MIB, Usable),
    ];
    let reserved = [
        (MIB, MIB + 0x3000),                  // at the start edge
        (2 * MIB, 2 * MIB + 0x100),           // unaligned, inside
        (4 * MIB - 0x1000, 5 * MIB + 0x1000), // spanning usable/reserved/usable
        (8 * MIB - 0x1000, 9 * MIB),          // at the end, running into a gap
        (20 * MIB, 21 * MIB),                 // entirely in a gap: ignored
        (7 * MIB, 7 * MIB),                   // empty: ignored
    ];
    assert_eq!(
        sanitize(&raw, &reserved),
        [
            (MIB, MIB + 0x3000, KernelAndModules),
            (MIB + 0x3000, 2 * MIB, Usable),
            (2 * MIB, 2 * MIB + 0x100, KernelAndModules),
            (2 * MIB + 0x1000, 4 * MIB - 0x1000, Usable),
            (4 * MIB - 0x1000, 4 * MIB, KernelAndModules),
            (4 * MIB, 5 * MIB, Reserved),
            (5 * MIB, 5 * MIB + 0x1000, KernelAndModules),
            (5 * MIB + 0x1000, 8 * MIB - 0x1000, Usable),
            (8 * MIB - 0x1000, 8 * MIB, KernelAndModules),
        ]
    );
}

#[test]
fn carve_out_covering_everything() {
    let raw = [r(MIB, 2 * MIB, Usable), r(3 * MIB, 4 * MIB, Bootloader)];
    assert_eq!(
        sanitize(&raw, &[(0, u64::MAX)]),
        [
            (MIB, 2 * MIB, KernelAndModules),
            (3 * MIB, 4 * MIB, KernelAndModules)
        ]
    );
}

#[test]
fn capacity_overflow_is_an_error() {
    let many = (0..=MAX_REGIONS as u64)
        .map(|i| r(MIB + 2 * i * 0x1000, MIB + (2 * i + 1) * 0x1000, Usable));
    assert_eq!(
        MemoryMap::sanitize(many, &[]).unwrap_err(),
        MapError::TooManyRegions
    );
    let exactly = (0..MAX_REGIONS as u64)
        .map(|i| r(MIB + 2 * i * 0x1000, MIB + (2 * i + 1) * 0x1000, Usable));
    assert_eq!(
        MemoryMap::sanitize(exactly, &[]).unwrap().len(),
        MAX_REGIONS
    );
    // Carve-outs can push the output over capacity too.
    let one = [r(MIB, 64 * MIB, Usable)];
    let holes: Vec<(u64, u64)> = (0..300)
        .map(|i| (MIB + i * 0x4000, MIB + i * 0x4000 + 0x1000))
        .collect();
    assert_eq!(
        MemoryMap::sanitize(one, &holes).unwrap_err(),
        MapError::TooManyRegions
    );
    // Empty regions do not count against capacity.
    let empties = (0..2000u64)
        .map(|i| r(i, i, Usable))
        .chain([r(MIB, 2 * MIB, Usable)]);
    assert_eq!(MemoryMap::sanitize(empties, &[]).unwrap().len(), 1);
    assert!(MapError::TooManyRegions.to_string().contains("512"));
}

#[test]
fn highest_address_ignores_mmio() {
    let raw = [
        r(MIB, 128 * MIB, Usable),
        r(128 * MIB, 129 * MIB, AcpiNvs),
        r(0xfd_0000_0000, 0x100_0000_0000, Reserved),
        r(0xe000_0000, 0xe100_0000, Framebuffer),
    ];
    let map = MemoryMap::sanitize(raw, &[]).unwrap();
    assert_eq!(map.highest_address(), 129 * MIB);
}

#[test]
fn limit_drops_usable_above() {
    let raw = [
        r(MIB, 4 * MIB, Usable),
        r(4 * MIB, 5 * MIB, AcpiReclaimable),
        r(5 * MIB, 8 * MIB, Usable),
        r(9 * MIB, 10 * MIB, Reserved),
    ];
    let mut map = MemoryMap::sanitize(raw, &[]).unwrap();
    assert_eq!(map.limit(6 * MIB + 0x123), 2 * MIB);
    assert_eq!(
        regions(&map),
        [
            (MIB, 4 * MIB, Usable),
            (4 * MIB, 5 * MIB, AcpiReclaimable),
            (5 * MIB, 6 * MIB, Usable),
            (9 * MIB, 10 * MIB, Reserved)
        ]
    );
    assert_eq!(map.limit(5 * MIB), MIB);
    assert_eq!(map.total_usable(), 3 * MIB);
    assert_eq!(map.limit(u64::MAX), 0);
    assert_eq!(map.limit(0), 3 * MIB);
    assert_eq!(map.usable().count(), 0);
    assert_eq!(map.len(), 2);
}

/// Regions of `after` that differ from `before`, for hole checks.
fn check_holes(before: &MemoryMap, after: &MemoryMap, punched: usize) {
    let holes: Vec<Region> = after
        .iter()
        .filter(|r| r.kind == Reserved)
        .filter(|r| !before.iter().any(|b| b == *r))
        .copied()
        .collect();
    let hole_pages: u64 = holes.iter().map(|h| h.len() / PAGE_SIZE).sum();
    assert_eq!(hole_pages, punched as u64);
    for hole in &holes {
        // Each hole page was usable before.
        for page in (hole.start..hole.end).step_by(PAGE_SIZE as usize) {
            assert!(before.usable().any(|u| u.contains(page)), "{page:#x}");
        }
    }
    assert_eq!(
        before.total_usable() - after.total_usable(),
        punched as u64 * PAGE_SIZE
    );
    // Nothing else changed: every non-hole byte keeps its kind.
    for region in before.iter() {
        for probe in [
            region.start,
            region.end - 1,
            region.start + region.len() / 2,
        ] {
            let now = after.iter().find(|r| r.contains(probe)).unwrap();
            let in_hole = holes.iter().any(|h| h.contains(probe));
            assert!(in_hole || now.kind == region.kind, "{probe:#x}");
        }
    }
}

#[test]
fn punch_holes_spreads_single_pages() {
    let raw = [
        r(MIB, 5 * MIB, Usable),
        r(5 * MIB, 6 * MIB, AcpiNvs),
        r(6 * MIB, 10 * MIB, Usable),
    ];
    let before = MemoryMap::sanitize(raw, &[]).unwrap();
    let mut map = before.clone();
    assert_eq!(map.punch_holes(8), 8);
    check_holes(&before, &map, 8);
    let holes: Vec<Region> = map.iter().filter(|r| r.kind == Reserved).copied().collect();
    assert_eq!(holes.len(), 8);
    assert!(holes.iter().all(|h| h.len() == PAGE_SIZE));
    // 2048 usable pages, 8 holes: one in the middle of each 256-page slice.
    assert_eq!(holes[0].start, MIB + 128 * PAGE_SIZE);
    assert_eq!(holes[4].start, 6 * MIB + 128 * PAGE_SIZE);
    assert_eq!(map.summary().regions(Reserved), 8);
    assert_eq!(map.summary().bytes(Reserved), 8 * PAGE_SIZE);
    assert_eq!(map.punch_holes(0), 0);
}

#[test]
fn punch_holes_edge_cases() {
    let small = [r(MIB, MIB + 4 * PAGE_SIZE, Usable)];
    let before = MemoryMap::sanitize(small, &[]).unwrap();
    let mut map = before.clone();
    assert_eq!(map.punch_holes(100), 4);
    check_holes(&before, &map, 4);
    assert_eq!(regions(&map), [(MIB, MIB + 4 * PAGE_SIZE, Reserved)]);
    let mut empty = MemoryMap::new();
    assert_eq!(empty.punch_holes(10), 0);
}

#[test]
fn punch_holes_stops_when_full() {
    let raw = [r(MIB, 1024 * MIB, Usable)];
    let before = MemoryMap::sanitize(raw, &[]).unwrap();
    let mut map = before.clone();
    let punched = map.punch_holes(4096);
    // One region plus two per hole: the next hole would need 513 slots.
    assert_eq!(map.len(), MAX_REGIONS - 1);
    assert_eq!(punched, (MAX_REGIONS - 1) / 2);
    check_holes(&before, &map, punched);
}

#[test]
fn display_and_summary() {
    let raw = [
        r(0, 0x9f000, Usable),
        r(MIB, 128 * MIB, Usable),
        r(0xfd_0000_0000, 0x100_0000_0000, Reserved),
    ];
    let map = MemoryMap::sanitize(raw, &[(2 * MIB, 3 * MIB)]).unwrap();
    let text = map.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[0],
        "0x0000000000000000-0x000000000009f000   636.0 KiB  reserved"
    );
    assert_eq!(
        lines[1],
        "0x0000000000100000-0x0000000000200000     1.0 MiB  usable"
    );
    assert_eq!(
        lines[4],
        "0x000000fd00000000-0x0000010000000000    12.0 GiB  reserved"
    );
    let summary = map.summary();
    assert_eq!(summary.regions(Usable), 2);
    assert_eq!(summary.bytes(Usable), 126 * MIB);
    assert_eq!(summary.regions(KernelAndModules), 1);
    assert_eq!(
        summary.to_string(),
        "usable: 2 regions, 126.0 MiB; reserved: 2 regions, 12.0 GiB; kernel+modules: 1 region, 1.0 MiB"
    );
    assert_eq!(Size(0).to_string(), "0 B");
    assert_eq!(Size(1023).to_string(), "1023 B");
    assert_eq!(Size(1536).to_string(), "1.5 KiB");
    assert_eq!(Size(u64::MAX).to_string(), "15.9 EiB");
    assert_eq!(format!("[{:>8}]", Size(2048)), "[ 2.0 KiB]");
}
