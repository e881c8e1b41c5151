//! Building a [`MemoryMap`] from raw regions by an ordered sweep.
//!
//! The raw regions are copied into a fixed scratch array (empty ones are
//! dropped). The sweep then walks the distinct boundary addresses in
//! increasing order (every region start and end, every reserved range start
//! and end, and [`LOW_MEMORY_END`]). Between two consecutive boundaries the
//! coverage is constant, so each elementary interval gets one kind: the most
//! restrictive kind of the raw regions covering it, raised to at least
//! `KernelAndModules` where a reserved range covers it, and `Usable` turned
//! into `Reserved` below 1 MiB. Intervals no raw region covers are gaps.
//! Emitted intervals are merged with the previous one when the kind matches.
//! Finally usable regions are rounded inward to page boundaries.
//!
//! This is O(n²) in the number of regions, with no allocation; n is at most
//! [`MAX_REGIONS`] plus the reserved ranges, so it stays cheap at boot.

use crate::{
    page_align_down, page_align_up, MapError, MemoryMap, Region, RegionKind, LOW_MEMORY_END,
    MAX_REGIONS,
};

pub(crate) fn sanitize(
    raw: impl IntoIterator<Item = Region>,
    reserved: &[(u64, u64)],
) -> Result<MemoryMap, MapError> {
    let mut scratch = [Region::new(0, 0, RegionKind::Reserved); MAX_REGIONS];
    let mut count = 0usize;
    for region in raw.into_iter().filter(|r| !r.is_empty()) {
        let slot = scratch.get_mut(count).ok_or(MapError::TooManyRegions)?;
        *slot = region;
        count += 1;
    }
    let input = scratch.get(..count).unwrap_or(&[]);
    let mut map = MemoryMap::new();
    sweep(input, reserved, &mut map)?;
    round_usable(&mut map);
    Ok(map)
}

/// Walks the elementary intervals and appends their kinds to `map`.
fn sweep(input: &[Region], reserved: &[(u64, u64)], map: &mut MemoryMap) -> Result<(), MapError> {
    let Some(mut cursor) = input.iter().map(|r| r.start).min() else {
        return Ok(());
    };
    while let Some(next) = next_boundary(input, reserved, cursor) {
        if let Some(kind) = interval_kind(input, reserved, cursor) {
            map.append(Region::new(cursor, next, kind))?;
        }
        cursor = next;
    }
    Ok(())
}

/// The smallest boundary strictly above `cursor`.
fn next_boundary(input: &[Region], reserved: &[(u64, u64)], cursor: u64) -> Option<u64> {
    let region_points = input.iter().flat_map(|r| [r.start, r.end]);
    let reserved_points = reserved
        .iter()
        .filter(|(start, end)| start < end)
        .flat_map(|&(start, end)| [start, end]);
    region_points
        .chain(reserved_points)
        .chain([LOW_MEMORY_END])
        .filter(|&point| point > cursor)
        .min()
}

/// The kind of the elementary interval starting at `cursor`, or `None` for
/// a gap. Coverage is constant up to the next boundary, so testing the
/// interval's first address is enough.
fn interval_kind(input: &[Region], reserved: &[(u64, u64)], cursor: u64) -> Option<RegionKind> {
    let mut kind = input
        .iter()
        .filter(|r| r.contains(cursor))
        .map(|r| r.kind)
        .reduce(RegionKind::stricter)?;
    if reserved
        .iter()
        .any(|&(start, end)| start <= cursor && cursor < end)
    {
        kind = kind.stricter(RegionKind::KernelAndModules);
    }
    if kind == RegionKind::Usable && cursor < LOW_MEMORY_END {
        kind = RegionKind::Reserved;
    }
    Some(kind)
}

/// Shrinks usable regions to whole pages, dropping those left empty.
pub(crate) fn round_usable(map: &mut MemoryMap) {
    map.retain_map(|region| {
        if region.kind != RegionKind::Usable {
            return Some(region);
        }
        let start = page_align_up(region.start)?;
        let end = page_align_down(region.end);
        (start < end).then_some(Region::new(start, end, region.kind))
    });
}
