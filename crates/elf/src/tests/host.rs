//! Tests that read a real ELF file: this test binary itself.
//!
//! Debug test binaries keep their `.symtab`; if the binary was stripped the
//! symbol checks are skipped (with a note) rather than failing.

use crate::*;

#[inline(never)]
fn host_marker_function_for_elf_tests(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(3))
}

#[inline(never)]
fn second_marker_function_for_elf_tests(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_add(5))
}

fn own_image() -> Vec<u8> {
    let path = std::env::current_exe().expect("current_exe");
    std::fs::read(path).expect("read test binary")
}

#[test]
fn reads_own_executable() {
    let image = own_image();
    let elf = ElfFile::parse(&image).expect("test binary parses");
    assert!(matches!(
        elf.header().kind,
        ElfType::Executable | ElfType::Dynamic
    ));
    assert!(elf.program_headers().count() > 0);
    let loads: Vec<Segment> = elf.load_segments().map(|s| s.unwrap()).collect();
    assert!(!loads.is_empty());
    assert!(loads.iter().any(|s| s.flags().executable()));
    let text = elf.section_by_name(".text").unwrap().expect(".text");
    assert!(text.flags.executable());
    for section in elf.sections() {
        elf.section_name(&section).unwrap();
        elf.section_data(&section).unwrap();
    }
}

#[test]
fn finds_own_functions_in_symtab() {
    let image = own_image();
    let elf = ElfFile::parse(&image).unwrap();
    let Some(table) = elf.symbols().unwrap() else {
        eprintln!("test binary has no .symtab (stripped); skipping");
        return;
    };
    let find = |needle: &str| {
        table
            .iter()
            .filter_map(Result::ok)
            .find(|s| s.name.contains(needle) && s.kind == SymbolKind::Func)
            .unwrap_or_else(|| panic!("{needle} not in .symtab"))
    };
    let first = find("host_marker_function_for_elf_tests");
    let second = find("second_marker_function_for_elf_tests");
    assert!(first.size > 0 && second.size > 0);
    // PIE binaries are loaded at a bias; it is the same for both functions.
    let first_runtime = host_marker_function_for_elf_tests as fn(u64) -> u64 as usize as u64;
    let second_runtime = second_marker_function_for_elf_tests as fn(u64) -> u64 as usize as u64;
    let bias = first_runtime.wrapping_sub(first.value);
    assert_eq!(second_runtime.wrapping_sub(bias), second.value);
    assert_eq!(host_marker_function_for_elf_tests(2), 6);
    assert_eq!(second_marker_function_for_elf_tests(2), 7);
}
