//! Mutation tests: corrupt and truncate valid images thousands of times and
//! drive the whole API over each; the only requirement is "no panic".

use super::sample_image;
use crate::*;

/// xorshift64: a tiny deterministic PRNG, so failures are reproducible.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Calls every reader entry point; returns a count so work is not elided.
fn exercise(data: &[u8]) -> usize {
    let Ok(elf) = ElfFile::parse(data) else {
        return 0;
    };
    let mut seen = 0;
    for header in elf.program_headers() {
        if let Ok(segment) = elf.segment(&header) {
            seen += segment.file_bytes().len() + segment.zero_fill_len() as usize % 7;
            let _ = segment.vaddr_range();
        }
    }
    seen += elf.load_segments().filter(Result::is_ok).count();
    for section in elf.sections() {
        seen += elf.section_name(&section).map_or(0, str::len);
        seen += elf.section_data(&section).map_or(0, <[u8]>::len);
        let _ = section.contains_addr(0x40_1000);
        let _ = elf.symbol_table(&section);
    }
    let _ = elf.section_by_name(".text");
    let _ = elf.section(usize::MAX);
    for table in [elf.symbols(), elf.dynamic_symbols()] {
        if let Ok(Some(table)) = table {
            seen += table
                .iter()
                .filter_map(Result::ok)
                .map(|s| s.name.len())
                .sum::<usize>();
            let _ = table.get(table.len());
        }
    }
    seen
}

#[test]
fn random_byte_flips_never_panic() {
    let base = sample_image();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let mut image = base.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(image.len());
            image[at] = rng.next() as u8;
        }
        exercise(&image);
    }
}

#[test]
fn random_field_overwrites_never_panic() {
    let base = sample_image();
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let extremes = [0u64, 1, 0xff, 0xffff, 0xffff_ffff, u64::MAX, u64::MAX / 2];
    for _ in 0..20_000 {
        let mut image = base.clone();
        let at = rng.below(image.len().saturating_sub(8));
        let value = extremes[rng.below(extremes.len())].wrapping_add(rng.next() % 3);
        let width = [2usize, 4, 8][rng.below(3)];
        image[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        exercise(&image);
    }
}

#[test]
fn truncations_never_panic() {
    let base = sample_image();
    for len in 0..=base.len() {
        exercise(&base[..len]);
    }
    let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut rng = Rng(0x0bad_5eed_0000_0001);
    for _ in 0..30 {
        let len = rng.below(own.len());
        exercise(&own[..len]);
    }
    assert!(exercise(&own) > 0);
}
