//! Editing a sanitized map: limiting usable memory and punching holes.
//!
//! Both operations only ever remove usable memory, and both preserve the
//! map invariants (sorted, non-overlapping, merged, usable page-aligned).
//! Hole punching marks single pages `Reserved`; each hole may split a usable
//! region in two, so it needs free capacity and stops early when the map is
//! full (it reports how many holes it made).

use crate::{page_align_down, MemoryMap, Region, RegionKind, PAGE_SIZE};

impl MemoryMap {
    /// Drops usable memory at or above `max_addr` (a straddling usable
    /// region is cut at the page boundary at or below `max_addr`). Other
    /// kinds are kept. Returns the number of usable bytes removed.
    pub fn limit(&mut self, max_addr: u64) -> u64 {
        let before = self.total_usable();
        let cut = page_align_down(max_addr);
        self.retain_map(|region| {
            if region.kind != RegionKind::Usable || region.end <= cut {
                return Some(region);
            }
            (region.start < cut).then_some(Region::new(region.start, cut, region.kind))
        });
        before.saturating_sub(self.total_usable())
    }

    /// Number of usable pages.
    pub fn usable_pages(&self) -> u64 {
        self.total_usable() / PAGE_SIZE
    }

    /// Marks `n` single usable pages `Reserved`, spread evenly over the
    /// usable pages in address order: with `P` usable pages, hole `i` is the
    /// page of index `⌊(2i + 1)·P / 2n⌋`, the middle of the `i`-th of `n`
    /// equal slices. `n` is capped at `P`. Stops early if the map runs out of
    /// capacity. Returns the number of holes punched; exactly that many pages
    /// (and nothing else) stop being usable.
    pub fn punch_holes(&mut self, n: usize) -> usize {
        let pages = self.usable_pages();
        let holes = (n as u64).min(pages);
        let mut punched = 0u64;
        while punched < holes {
            let original = hole_index(punched, holes, pages);
            // Each earlier hole removed one usable page before this one.
            let Some(page) = original
                .checked_sub(punched)
                .and_then(|index| self.usable_page_address(index))
            else {
                break;
            };
            if !self.reserve_page(page) {
                break;
            }
            punched += 1;
        }
        punched as usize
    }

    /// Address of the usable page with index `index` in address order.
    fn usable_page_address(&self, mut index: u64) -> Option<u64> {
        for region in self.usable() {
            let pages = region.len() / PAGE_SIZE;
            if index < pages {
                return region.start.checked_add(index.checked_mul(PAGE_SIZE)?);
            }
            index -= pages;
        }
        None
    }

    /// Turns the usable page at `page` into a one-page `Reserved` region,
    /// merging it with touching reserved neighbours. False if it does not fit.
    fn reserve_page(&mut self, page: u64) -> bool {
        let Some(end) = page.checked_add(PAGE_SIZE) else {
            return false;
        };
        let Some(index) = self.iter().position(|r| r.contains(page)) else {
            return false;
        };
        let Some(&region) = self.regions().get(index) else {
            return false;
        };
        let pieces = [
            Region::new(region.start, page, region.kind),
            Region::new(page, end, RegionKind::Reserved),
            Region::new(end, region.end, region.kind),
        ];
        self.replace(index, &pieces)
    }

    /// Replaces region `index` by the non-empty `pieces` (which must cover
    /// exactly the same range, in order), then re-merges neighbours.
    /// False, with the map unchanged, if the result would not fit.
    fn replace(&mut self, index: usize, pieces: &[Region]) -> bool {
        let mut rebuilt = MemoryMap::new();
        let before = self.regions().get(..index).unwrap_or(&[]);
        let after = self.regions().get(index.saturating_add(1)..).unwrap_or(&[]);
        let new = pieces.iter().filter(|piece| !piece.is_empty());
        for region in before.iter().chain(new).chain(after) {
            if rebuilt.append(*region).is_err() {
                return false;
            }
        }
        *self = rebuilt;
        true
    }
}

/// Original page index of hole `i` of `n` among `pages` usable pages.
fn hole_index(i: u64, n: u64, pages: u64) -> u64 {
    let numerator = (2 * u128::from(i) + 1) * u128::from(pages);
    let denominator = 2 * u128::from(n.max(1));
    u64::try_from(numerator / denominator).unwrap_or(u64::MAX)
}
