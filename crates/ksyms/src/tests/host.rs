//! Tests against this test binary's own `.symtab`.
//!
//! The binary may be position independent, so runtime function addresses
//! differ from symbol values by a load bias. The bias is measured on one
//! marker function and then used to look up another one. If the binary was
//! stripped, the checks are skipped with a note.

use super::check_invariants;
use crate::*;

#[inline(never)]
fn ksyms_marker_one(x: u32) -> u32 {
    std::hint::black_box(x ^ 0x5a)
}

#[inline(never)]
fn ksyms_marker_two(x: u32) -> u32 {
    std::hint::black_box(x.rotate_left(3))
}

fn own_table() -> Option<SymbolTable> {
    let image = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    match SymbolTable::from_elf(&image) {
        Ok(table) => Some(table),
        Err(SymbolError::NoSymbolTable) => {
            eprintln!("test binary is stripped; skipping");
            None
        }
        Err(error) => panic!("building own symbol table: {error}"),
    }
}

#[test]
fn own_symbols_are_consistent() {
    let Some(table) = own_table() else { return };
    assert!(table.len() > 100);
    check_invariants(&table);
}

#[test]
fn looks_up_own_function_by_runtime_address() {
    let Some(table) = own_table() else { return };
    let marker = table
        .iter()
        .find(|s| s.name.contains("ksyms_marker_one"))
        .expect("ksyms_marker_one in table");
    let one = ksyms_marker_one as fn(u32) -> u32 as usize as u64;
    let two = ksyms_marker_two as fn(u32) -> u32 as usize as u64;
    let bias = one.wrapping_sub(marker.start);
    let found = table.lookup(two.wrapping_sub(bias)).expect("marker two");
    assert!(found.name.contains("ksyms_marker_two"), "{}", found.name);
    assert_eq!(found.offset, 0);
    assert!(table.is_function_start(two.wrapping_sub(bias)));
    let inside = table.lookup(two.wrapping_sub(bias) + 1).unwrap();
    assert_eq!((inside.start, inside.offset), (found.start, 1));
    let shown = found.to_string();
    assert!(shown.contains("ksyms_marker_two+0x0"), "{shown}");
    assert!(!shown.contains("17h"), "hash should be stripped: {shown}");
    assert_eq!(ksyms_marker_one(1) ^ ksyms_marker_two(1), 0x5b ^ 8);
}
