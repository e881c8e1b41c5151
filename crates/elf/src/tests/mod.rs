//! Host tests on hand-built images: header validation, program headers and
//! segments, sections and names, symbols, extended numbering, and errors.

mod fuzz;
mod host;

use crate::builder::ImageBuilder;
use crate::*;

pub(crate) const TEXT: u16 = 1;

pub(crate) fn put16(image: &mut [u8], at: usize, value: u16) {
    image[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub(crate) fn put64(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// A small executable: .text (rx segment), .data (rw segment with .bss),
/// and a few symbols.
pub(crate) fn sample_image() -> Vec<u8> {
    let code = [0x90u8; 0x40];
    let data = [7u8; 0x10];
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x40_1000)
        .segment(1, 5, 0x40_1000, &code, 0x40, 0x1000)
        .segment(1, 6, 0x40_2000, &data, 0x100, 0x1000)
        .segment(0x6474_e551, 6, 0, &[], 0, 16);
    let text = builder.section(".text", section_type::PROGBITS, 6, 0x40_1000, &code);
    let data_index = builder.section(".data", section_type::PROGBITS, 3, 0x40_2000, &data);
    builder.nobits_section(".bss", 3, 0x40_2010, 0xf0);
    builder
        .symbol("start.c", 0, 0, 4, 0, SHN_ABS)
        .symbol("_start", 0x40_1000, 0x10, 2, 1, text)
        .symbol("helper", 0x40_1010, 0x30, 2, 0, text)
        .symbol("counter", 0x40_2000, 8, 1, 1, data_index)
        .symbol("weak_thing", 0x40_2008, 8, 1, 2, data_index)
        .symbol("extern_fn", 0, 0, 2, 1, SHN_UNDEF);
    builder.build()
}

fn section_header_offset(image: &[u8]) -> usize {
    u64::from_le_bytes(image[40..48].try_into().unwrap()) as usize
}

#[test]
fn parses_header() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let header = elf.header();
    assert_eq!(header.kind, ElfType::Executable);
    assert_eq!(header.machine, EM_X86_64);
    assert_eq!(header.entry, 0x40_1000);
    assert_eq!(header.phnum, 3);
    assert_eq!(header.shnum, 7);
    assert_eq!(header.shstrndx, 6);
    assert_eq!(elf.section_count(), 7);
    assert_eq!(elf.data().len(), image.len());
}

#[test]
fn accepts_dyn() {
    let mut builder = ImageBuilder::new();
    builder.dynamic();
    let image = builder.build();
    assert_eq!(
        ElfFile::parse(&image).unwrap().header().kind,
        ElfType::Dynamic
    );
}

#[test]
fn rejects_bad_headers() {
    let image = sample_image();
    let cases: [(usize, &[u8], ElfError); 7] = [
        (0, b"\x7fELG", ElfError::BadMagic),
        (4, &[1], ElfError::UnsupportedClass(1)),
        (5, &[2], ElfError::UnsupportedEncoding(2)),
        (6, &[0], ElfError::UnsupportedVersion(0)),
        (16, &[1, 0], ElfError::UnsupportedType(1)),
        (18, &[3, 0], ElfError::UnsupportedMachine(3)),
        (52, &[40, 0], ElfError::BadHeaderSize(40)),
    ];
    for (at, bytes, expected) in cases {
        let mut bad = image.clone();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        assert_eq!(ElfFile::parse(&bad).unwrap_err(), expected);
    }
    let mut bad = image.clone();
    put32(&mut bad, 20, 2);
    assert_eq!(
        ElfFile::parse(&bad).unwrap_err(),
        ElfError::UnsupportedVersion(2)
    );
    assert_eq!(
        ElfFile::parse(&image[..63]).unwrap_err(),
        ElfError::Truncated
    );
    assert_eq!(ElfFile::parse(&[]).unwrap_err(), ElfError::Truncated);
}

#[test]
fn rejects_bad_tables() {
    let image = sample_image();
    let mut bad = image.clone();
    put16(&mut bad, 54, 55);
    assert!(matches!(
        ElfFile::parse(&bad),
        Err(ElfError::BadEntrySize { size: 55, .. })
    ));
    let mut bad = image.clone();
    put64(&mut bad, 32, image.len() as u64 - 100);
    assert!(matches!(
        ElfFile::parse(&bad),
        Err(ElfError::OutOfBounds { .. })
    ));
    let mut bad = image.clone();
    put64(&mut bad, 40, u64::MAX - 10);
    assert!(matches!(
        ElfFile::parse(&bad),
        Err(ElfError::OutOfBounds { .. })
    ));
    let mut bad = image.clone();
    put16(&mut bad, 60, 0xff00);
    assert!(ElfFile::parse(&bad).is_err());
    // Truncating the section-header table is caught up front.
    assert!(ElfFile::parse(&image[..image.len() - 1]).is_err());
}

#[test]
fn program_headers_and_segments() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let headers: Vec<ProgramHeader> = elf.program_headers().collect();
    assert_eq!(headers.len(), 3);
    assert_eq!(headers[0].kind, SegmentType::Load);
    assert_eq!(headers[0].flags.to_string(), "r-x");
    assert_eq!(headers[1].flags.to_string(), "rw-");
    assert_eq!(headers[2].kind, SegmentType::GnuStack);
    let segments: Vec<Segment> = elf.load_segments().map(Result::unwrap).collect();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].file_bytes(), &[0x90u8; 0x40][..]);
    assert_eq!(segments[0].vaddr_range(), 0x40_1000..0x40_1040);
    assert_eq!(segments[0].zero_fill_len(), 0);
    assert_eq!(segments[1].file_bytes(), &[7u8; 0x10][..]);
    assert_eq!(segments[1].zero_fill_len(), 0xf0);
    assert!(segments[1].flags().writable());
    assert!(!segments[1].flags().executable());
    assert_eq!(segments[1].header().memsz, 0x100);
}

#[test]
fn segment_checks() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let good = elf.program_headers().next().unwrap();
    let check = |change: fn(&mut ProgramHeader)| {
        let mut header = good;
        change(&mut header);
        elf.segment(&header)
    };
    assert!(matches!(
        check(|h| h.filesz = h.memsz + 1),
        Err(ElfError::FileSizeExceedsMemSize { .. })
    ));
    assert!(matches!(
        check(|h| h.offset = u64::MAX),
        Err(ElfError::OutOfBounds { .. })
    ));
    assert!(matches!(
        check(|h| {
            h.memsz = 0x1_0000;
            h.filesz = 0x1_0000
        }),
        Err(ElfError::OutOfBounds { .. })
    ));
    assert_eq!(
        check(|h| h.vaddr = u64::MAX - 8),
        Err(ElfError::AddressOverflow)
    );
    assert_eq!(
        check(|h| h.paddr = u64::MAX - 8),
        Err(ElfError::AddressOverflow)
    );
    assert_eq!(
        check(|h| h.align = 0x1800),
        Err(ElfError::BadAlignment(0x1800))
    );
    assert_eq!(check(|h| h.vaddr += 8), Err(ElfError::MisalignedSegment));
    assert!(check(|h| h.align = 0).is_ok());
    assert!(check(|h| h.align = 1).is_ok());
    assert!(check(|h| h.filesz = 0).is_ok());
}

#[test]
fn sections_and_names() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let names: Vec<&str> = elf
        .sections()
        .map(|s| elf.section_name(&s).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "",
            ".text",
            ".data",
            ".bss",
            ".symtab",
            ".strtab",
            ".shstrtab"
        ]
    );
    let text = elf.section_by_name(".text").unwrap().unwrap();
    assert!(text.flags.executable() && text.flags.allocated());
    assert!(text.contains_addr(0x40_103f));
    assert!(!text.contains_addr(0x40_1040));
    assert_eq!(text.addr_end(), Some(0x40_1040));
    assert_eq!(elf.section_data(&text).unwrap(), &[0x90u8; 0x40][..]);
    let bss = elf.section_by_name(".bss").unwrap().unwrap();
    assert!(bss.is_nobits());
    assert_eq!(elf.section_data(&bss).unwrap(), &[] as &[u8]);
    assert_eq!(elf.section_by_name(".nope").unwrap(), None);
    assert_eq!(elf.section(TEXT.into()).unwrap(), text);
    assert_eq!(elf.section(7), Err(ElfError::BadSectionIndex(7)));
    assert!(matches!(
        elf.string_table(TEXT.into()),
        Err(ElfError::WrongSectionType { .. })
    ));
}

#[test]
fn symbols_resolve() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let table = elf.symbols().unwrap().unwrap();
    assert_eq!(table.len(), 7);
    assert!(!table.is_empty());
    let symbols: Vec<Symbol> = table.iter().map(Result::unwrap).collect();
    assert_eq!(symbols[0].name, "");
    let helper = symbols.iter().find(|s| s.name == "helper").unwrap();
    assert_eq!(helper.kind, SymbolKind::Func);
    assert_eq!(helper.binding, SymbolBinding::Local);
    assert_eq!((helper.value, helper.size), (0x40_1010, 0x30));
    assert_eq!(helper.section_index, TEXT);
    let counter = symbols.iter().find(|s| s.name == "counter").unwrap();
    assert_eq!(counter.kind, SymbolKind::Object);
    assert_eq!(counter.binding, SymbolBinding::Global);
    let weak = symbols.iter().find(|s| s.name == "weak_thing").unwrap();
    assert_eq!(weak.binding, SymbolBinding::Weak);
    let file = symbols.iter().find(|s| s.name == "start.c").unwrap();
    assert_eq!(file.kind, SymbolKind::File);
    assert!(file.is_absolute());
    let external = symbols.iter().find(|s| s.name == "extern_fn").unwrap();
    assert!(!external.is_defined());
    assert_eq!(table.get(2).unwrap(), symbols[2]);
    assert_eq!(table.get(7), Err(ElfError::BadSymbolIndex(7)));
    assert!(elf.dynamic_symbols().unwrap().is_none());
}

#[test]
fn no_symbols_or_sections() {
    let mut builder = ImageBuilder::new();
    builder.section(".text", section_type::PROGBITS, 6, 0x1000, &[0xc3]);
    let image = builder.build();
    let elf = ElfFile::parse(&image).unwrap();
    assert!(elf.symbols().unwrap().is_none());
    let mut stripped = image.clone();
    put64(&mut stripped, 40, 0);
    let elf = ElfFile::parse(&stripped).unwrap();
    assert_eq!(elf.section_count(), 0);
    assert_eq!(elf.sections().count(), 0);
    assert_eq!(elf.section_names().unwrap(), None);
    assert_eq!(elf.section_by_name(".text").unwrap(), None);
    assert!(elf.symbols().unwrap().is_none());
}

#[test]
fn extended_numbering() {
    let mut image = sample_image();
    let shoff = section_header_offset(&image);
    put16(&mut image, 60, 0); // e_shnum = 0: count is in section 0's sh_size
    put16(&mut image, 62, 0xffff); // e_shstrndx = SHN_XINDEX: index in sh_link
    put64(&mut image, shoff + 32, 7);
    put32(&mut image, shoff + 40, 6);
    let elf = ElfFile::parse(&image).unwrap();
    assert_eq!(elf.section_count(), 7);
    assert!(elf.section_by_name(".text").unwrap().is_some());
    put16(&mut image, 56, 0xffff); // e_phnum = PN_XNUM: count in sh_info
    put32(&mut image, shoff + 44, 2);
    let elf = ElfFile::parse(&image).unwrap();
    assert_eq!(elf.program_headers().count(), 2);
}

#[test]
fn bad_strings() {
    let table = StringTable::new(b"\0abc\0de\xff\0tail");
    assert_eq!(table.get(0), Ok(""));
    assert_eq!(table.get(1), Ok("abc"));
    assert_eq!(table.get(2), Ok("bc"));
    assert_eq!(table.get(5), Err(ElfError::InvalidUtf8));
    assert_eq!(table.get(9), Err(ElfError::UnterminatedString));
    assert_eq!(table.get(13), Err(ElfError::UnterminatedString));
    assert_eq!(table.get(14), Err(ElfError::BadStringOffset(14)));
    assert_eq!(
        table.get(u32::MAX),
        Err(ElfError::BadStringOffset(u32::MAX.into()))
    );
}

#[test]
fn bad_symbol_table_links() {
    let image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let mut symtab = elf.section_by_name(".symtab").unwrap().unwrap();
    let good = symtab;
    symtab.link = TEXT.into();
    assert!(matches!(
        elf.symbol_table(&symtab),
        Err(ElfError::WrongSectionType { .. })
    ));
    symtab.link = 99;
    assert_eq!(
        elf.symbol_table(&symtab).unwrap_err(),
        ElfError::BadSectionIndex(99)
    );
    symtab = good;
    symtab.entsize = 16;
    assert!(matches!(
        elf.symbol_table(&symtab),
        Err(ElfError::BadEntrySize { size: 16, .. })
    ));
    symtab = good;
    symtab.size = 1 << 40;
    assert!(matches!(
        elf.symbol_table(&symtab),
        Err(ElfError::OutOfBounds { .. })
    ));
    symtab = good;
    symtab.entsize = 0;
    assert_eq!(elf.symbol_table(&symtab).unwrap().len(), 7);
    let text = elf.section(TEXT.into()).unwrap();
    assert!(elf.symbol_table(&text).is_err());
}

#[test]
fn bad_symbol_name_is_per_symbol() {
    let mut image = sample_image();
    let elf = ElfFile::parse(&image).unwrap();
    let symtab = elf.section_by_name(".symtab").unwrap().unwrap();
    // Point symbol 2's name far outside the string table.
    put32(&mut image, symtab.offset as usize + 2 * 24, 0xffff_fff0);
    let elf = ElfFile::parse(&image).unwrap();
    let table = elf.symbols().unwrap().unwrap();
    let results: Vec<_> = table.iter().collect();
    assert_eq!(results.len(), 7);
    assert!(results[2].is_err());
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 6);
}

#[test]
fn errors_display() {
    let errors = [
        ElfError::Truncated,
        ElfError::BadMagic,
        ElfError::OutOfBounds {
            what: "section data",
        },
        ElfError::FileSizeExceedsMemSize {
            filesz: 2,
            memsz: 1,
        },
    ];
    for error in errors {
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(
        ElfError::OutOfBounds {
            what: "section data"
        }
        .to_string(),
        "section data lies outside the ELF image"
    );
}
