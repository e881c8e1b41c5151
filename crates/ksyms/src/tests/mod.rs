//! Host tests: synthetic images (selection, zero-size extension, overlaps,
//! empty tables), the test binary's own symbols, mutated images, and the
//! demangler.

mod demangling;
mod host;

use bulkhead_elf::builder::ImageBuilder;
use bulkhead_elf::section_type::PROGBITS;
use bulkhead_elf::SHN_ABS;

use crate::*;

const FUNC: u8 = 2;
const NOTYPE: u8 = 0;
const OBJECT: u8 = 1;
const GLOBAL: u8 = 1;
const LOCAL: u8 = 0;
const EXEC: u64 = 6; // SHF_ALLOC | SHF_EXECINSTR
const DATA: u64 = 3; // SHF_ALLOC | SHF_WRITE

/// `.text` at 0x1000..0x1100 and `.data` at 0x2000..0x2010; returns the
/// builder and the two section indices.
fn base() -> (ImageBuilder, u16, u16) {
    let mut builder = ImageBuilder::new();
    let text = builder.section(".text", PROGBITS, EXEC, 0x1000, &[0xcc; 0x100]);
    let data = builder.section(".data", PROGBITS, DATA, 0x2000, &[0; 0x10]);
    (builder, text, data)
}

fn sample_table(options: BuildOptions) -> SymbolTable {
    let (mut b, text, data) = base();
    let odd = b.section(".rodata", PROGBITS, 2, 0x3000, &[0; 0x10]);
    b.symbol("alpha", 0x1000, 0x10, FUNC, GLOBAL, text)
        .symbol("beta", 0x1010, 0x20, FUNC, LOCAL, text)
        .symbol("label", 0x1040, 0, NOTYPE, GLOBAL, text)
        .symbol("gamma", 0x1080, 0x10, FUNC, GLOBAL, text)
        .symbol("tail_label", 0x10f0, 0, NOTYPE, LOCAL, text)
        .symbol("text_end", 0x1100, 0, NOTYPE, GLOBAL, text)
        .symbol("variable", 0x2000, 8, OBJECT, GLOBAL, data)
        .symbol("func_in_data", 0x2008, 8, FUNC, GLOBAL, data)
        .symbol("func_in_rodata", 0x3000, 8, FUNC, GLOBAL, odd)
        .symbol("undefined", 0, 0, FUNC, GLOBAL, 0)
        .symbol("absolute", 0x1020, 4, FUNC, GLOBAL, SHN_ABS)
        .symbol("", 0x1090, 4, FUNC, LOCAL, text);
    SymbolTable::from_elf_with(&b.build(), options).unwrap()
}

fn names(table: &SymbolTable) -> Vec<&str> {
    table.iter().map(|s| s.name).collect()
}

#[test]
fn selects_code_symbols_only() {
    let table = sample_table(BuildOptions::default());
    assert_eq!(
        names(&table),
        ["alpha", "beta", "label", "gamma", "tail_label"]
    );
    assert_eq!(table.len(), 5);
    let without = sample_table(BuildOptions {
        include_unsized: false,
    });
    assert_eq!(names(&without), ["alpha", "beta", "gamma"]);
}

#[test]
fn lookups() {
    let table = sample_table(BuildOptions::default());
    let found = |addr| table.lookup(addr).map(|s| (s.name, s.offset));
    assert_eq!(found(0x1000), Some(("alpha", 0)));
    assert_eq!(found(0x100f), Some(("alpha", 0xf)));
    assert_eq!(found(0x1010), Some(("beta", 0)));
    assert_eq!(found(0x102f), Some(("beta", 0x1f)));
    assert_eq!(found(0x1030), None);
    assert_eq!(found(0x103f), None);
    // A zero-size label extends to the next symbol...
    assert_eq!(found(0x1040), Some(("label", 0)));
    assert_eq!(found(0x107f), Some(("label", 0x3f)));
    assert_eq!(found(0x1080), Some(("gamma", 0)));
    assert_eq!(found(0x1090), None);
    // ...or to the end of its section.
    assert_eq!(found(0x10ff), Some(("tail_label", 0xf)));
    assert_eq!(found(0x1100), None);
    assert_eq!(found(0), None);
    assert_eq!(found(0xfff), None);
    assert_eq!(found(u64::MAX), None);
    let label = table.lookup(0x1041).unwrap();
    assert_eq!(
        (label.start, label.size, label.end()),
        (0x1040, 0x40, 0x1080)
    );
}

#[test]
fn function_starts() {
    let table = sample_table(BuildOptions::default());
    for start in [0x1000, 0x1010, 0x1040, 0x1080, 0x10f0] {
        assert!(table.is_function_start(start), "{start:#x}");
    }
    for other in [0x1001, 0x1030, 0x1100, 0x2000, 0x1020, 0] {
        assert!(!table.is_function_start(other), "{other:#x}");
    }
}

/// Builds a table of `symbols` = (name, start, size, kind) in `.text`.
fn table_of(symbols: &[(&str, u64, u64, u8)]) -> SymbolTable {
    let (mut b, text, _) = base();
    for &(name, start, size, kind) in symbols {
        b.symbol(name, start, size, kind, GLOBAL, text);
    }
    SymbolTable::from_elf(&b.build()).unwrap()
}

#[test]
fn duplicates_keep_largest_then_first() {
    let table = table_of(&[
        ("small", 0x1000, 0x8, FUNC),
        ("large", 0x1000, 0x20, FUNC),
        ("alias_zero", 0x1000, 0, NOTYPE),
    ]);
    assert_eq!(names(&table), ["large"]);
    let forward = table_of(&[
        ("first", 0x1000, 0x10, FUNC),
        ("second", 0x1000, 0x10, FUNC),
    ]);
    assert_eq!(names(&forward), ["first"]);
    let backward = table_of(&[
        ("second", 0x1000, 0x10, FUNC),
        ("first", 0x1000, 0x10, FUNC),
    ]);
    assert_eq!(names(&backward), ["second"]);
    let typed = table_of(&[
        ("untyped", 0x1000, 0x10, NOTYPE),
        ("typed", 0x1000, 0x10, FUNC),
    ]);
    assert_eq!(names(&typed), ["typed"]);
}

#[test]
fn overlaps_keep_first() {
    let table = table_of(&[
        ("outer", 0x1000, 0x40, FUNC),
        ("nested", 0x1010, 0x8, FUNC),
        ("straddling", 0x1030, 0x20, FUNC),
        ("after", 0x1050, 0x10, FUNC),
        ("label_inside", 0x1020, 0, NOTYPE),
    ]);
    assert_eq!(names(&table), ["outer", "after"]);
    assert_eq!(table.lookup(0x1012).unwrap().name, "outer");
    assert_eq!(table.lookup(0x1045), None);
    let entries: Vec<SymbolRef> = table.iter().collect();
    for pair in entries.windows(2) {
        assert!(pair[0].end() <= pair[1].start);
    }
}

#[test]
fn label_before_sized_symbol_stops_there() {
    let table = table_of(&[("label", 0x1000, 0, NOTYPE), ("f", 0x1004, 0x4, FUNC)]);
    assert_eq!(table.lookup(0x1003).unwrap().name, "label");
    assert_eq!(table.lookup(0x1004).unwrap().name, "f");
    assert_eq!(table.lookup(0x1008), None);
}

#[test]
fn overflowing_sizes_are_dropped() {
    let (mut b, text, _) = base();
    b.symbol("huge", 0x1000, u64::MAX, FUNC, GLOBAL, text)
        .symbol("fine", 0x1010, 4, FUNC, GLOBAL, text);
    let table = SymbolTable::from_elf(&b.build()).unwrap();
    assert_eq!(names(&table), ["fine"]);
}

#[test]
fn empty_tables() {
    let (mut b, _, data) = base();
    b.symbol("variable", 0x2000, 8, OBJECT, GLOBAL, data);
    let table = SymbolTable::from_elf(&b.build()).unwrap();
    assert!(table.is_empty());
    assert_eq!(table.len(), 0);
    assert_eq!(table.lookup(0x2000), None);
    assert!(!table.is_function_start(0x2000));
    assert_eq!(table.iter().count(), 0);
    let empty = SymbolTable::new();
    assert!(empty.is_empty());
    assert_eq!(empty.lookup(0), None);
    assert_eq!(empty.lookup(u64::MAX), None);
}

#[test]
fn errors() {
    let (b, _, _) = base();
    assert_eq!(
        SymbolTable::from_elf(&b.build()).unwrap_err(),
        SymbolError::NoSymbolTable
    );
    assert!(matches!(
        SymbolTable::from_elf(b"not an elf file at all, not even close......................"),
        Err(SymbolError::Elf(_))
    ));
    assert!(SymbolError::NoSymbolTable
        .to_string()
        .contains("no symbol table"));
}

#[test]
fn display_uses_demangled_name() {
    let table = table_of(&[(
        "_ZN6kernel4trap7handler17h0123456789abcdefE",
        0x1000,
        0x40,
        FUNC,
    )]);
    let symbol = table.lookup(0x1012).unwrap();
    assert_eq!(symbol.to_string(), "kernel::trap::handler+0x12");
    assert_eq!(
        format!("{symbol:#}"),
        "_ZN6kernel4trap7handler17h0123456789abcdefE+0x12"
    );
    assert_eq!(symbol.name, "_ZN6kernel4trap7handler17h0123456789abcdefE");
    assert!(table.heap_bytes() >= symbol.name.len());
}

/// xorshift64, for reproducible mutation tests.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Checks the table invariants: sorted, non-overlapping, non-empty ranges,
/// lookups of each entry's bounds find that entry.
pub(crate) fn check_invariants(table: &SymbolTable) {
    let entries: Vec<SymbolRef> = table.iter().collect();
    for pair in entries.windows(2) {
        assert!(pair[0].start < pair[1].start);
        assert!(pair[0].end() <= pair[1].start);
    }
    for entry in &entries {
        assert!(entry.size > 0);
        assert!(entry.start.checked_add(entry.size).is_some());
        assert_eq!(table.lookup(entry.start).unwrap().start, entry.start);
        let last = table.lookup(entry.start + entry.size - 1).unwrap();
        assert_eq!((last.start, last.offset), (entry.start, entry.size - 1));
        assert!(table.is_function_start(entry.start));
        let _ = entry.to_string();
    }
}

#[test]
fn mutated_images_never_panic() {
    let (mut b, text, _) = base();
    b.symbol(
        "_ZN1a1b17h0123456789abcdefE",
        0x1000,
        0x10,
        FUNC,
        GLOBAL,
        text,
    )
    .symbol("lbl", 0x1020, 0, NOTYPE, LOCAL, text)
    .symbol("c", 0x1040, 0x10, FUNC, GLOBAL, text);
    let image = b.build();
    let mut state = 0x5eed_1234_abcd_0001u64;
    let mut built = 0;
    for _ in 0..20_000 {
        let mut bad = image.clone();
        for _ in 0..1 + next(&mut state) % 6 {
            let at = (next(&mut state) % bad.len() as u64) as usize;
            bad[at] = next(&mut state) as u8;
        }
        let truncate = next(&mut state) & 3 == 0;
        let len = if truncate { bad.len() - 16 } else { bad.len() };
        if let Ok(table) = SymbolTable::from_elf(&bad[..len]) {
            check_invariants(&table);
            built += 1;
        }
    }
    assert!(built > 0);
}
