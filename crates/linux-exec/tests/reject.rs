//! Bad images, arguments and configurations: precise errors, no side
//! effects, and no panics on truncated or corrupted files.

mod common;

use bulkhead_elf::builder::ImageBuilder;
use bulkhead_elf::ElfError;
use bulkhead_linux_exec::{load, ExecConfig, ExecError, Loaded, USER_LIMIT};
use common::*;

type Result = std::result::Result<Loaded, ExecError<MockError>>;

const ARGV: &[&[u8]] = &[b"/bin/test"];

/// Loads with the default configuration; a rejected image must not have
/// touched the target.
fn try_load(image: &[u8]) -> Result {
    try_load_with(image, ARGV, &config())
}

fn try_load_with(image: &[u8], argv: &[&[u8]], config: &ExecConfig<'_>) -> Result {
    let mut target = MockTarget::new();
    let result = load(&mut target, image, argv, &[b"A=b"], config);
    match &result {
        Ok(loaded) => check_invariants(loaded, &target),
        Err(ExecError::Target(MockError::OutOfMemory)) => {}
        Err(error) => {
            assert!(!matches!(error, ExecError::Target(_)), "{error:?}");
            assert!(target.calls.is_empty(), "side effects before {error:?}");
        }
    }
    result
}

/// What every successful load promises.
fn check_invariants(loaded: &Loaded, target: &MockTarget) {
    assert_eq!(loaded.stack_pointer % 16, 0);
    let mut ranges: Vec<(u64, u64)> = loaded
        .mappings
        .iter()
        .map(|&(start, len, _)| (start, start + len))
        .collect();
    ranges.sort();
    for pair in ranges.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "mappings overlap: {ranges:?}");
    }
    assert!(ranges.iter().all(|&(_, end)| end <= USER_LIMIT));
    assert!(target.prot_at(loaded.entry).is_some_and(|prot| prot.exec));
}

#[test]
fn not_elf_and_too_short() {
    assert_eq!(try_load(b""), Err(ExecError::FileTooShort));
    assert_eq!(try_load(&[0x7f; 40]), Err(ExecError::FileTooShort));
    assert_eq!(try_load(&[0; 200]), Err(ExecError::NotElf));
    let mut script = b"#!/bin/sh\n".to_vec();
    script.resize(100, b' ');
    assert_eq!(try_load(&script), Err(ExecError::NotElf));
}

#[test]
fn wrong_class_machine_and_type() {
    let mut elf32 = exec_image();
    elf32[4] = 1;
    assert_eq!(try_load(&elf32), Err(ExecError::WrongClass(1)));
    let mut arm = exec_image();
    put_u16(&mut arm, 18, 183);
    assert_eq!(try_load(&arm), Err(ExecError::WrongMachine(183)));
    for (kind, name) in [(1u16, "ET_REL"), (4, "ET_CORE"), (0, "ET_NONE")] {
        let mut image = exec_image();
        put_u16(&mut image, 16, kind);
        assert_eq!(
            try_load(&image),
            Err(ExecError::NotExecutable(kind)),
            "{name}"
        );
    }
    let mut big_endian = exec_image();
    big_endian[5] = 2;
    assert_eq!(
        try_load(&big_endian),
        Err(ExecError::Elf(ElfError::UnsupportedEncoding(2)))
    );
}

#[test]
fn interpreter_is_rejected() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x401000)
        .segment(
            PT_INTERP,
            PF_R,
            0x400200,
            b"/lib/ld-musl-x86_64.so.1\0",
            25,
            1,
        )
        .segment(PT_LOAD, PF_R | PF_X, 0x401000, TEXT, 0x10, PAGE);
    assert_eq!(try_load(&builder.build()), Err(ExecError::Interpreter));
}

#[test]
fn no_loadable_segment() {
    let mut builder = ImageBuilder::new();
    builder.segment(PT_GNU_STACK, PF_R | PF_W, 0, &[], 0, 16);
    assert_eq!(
        try_load(&builder.build()),
        Err(ExecError::NoLoadableSegment)
    );
    assert_eq!(
        try_load(&ImageBuilder::new().build()),
        Err(ExecError::NoLoadableSegment)
    );
}

/// `exec_image` with field `field` of program header 1 (the data
/// segment) set to `value`.
fn with_data_field(field: usize, value: u64) -> Vec<u8> {
    let mut image = exec_image();
    put_u64(&mut image, phdr_at(1) + field, value);
    image
}

#[test]
fn segment_header_errors() {
    let data = 1;
    let cases = [
        (
            P_FILESZ,
            u64::MAX,
            ExecError::FileSizeExceedsMemSize { index: data },
        ),
        (
            P_FILESZ,
            0x3000,
            ExecError::FileSizeExceedsMemSize { index: data },
        ),
        (
            P_MEMSZ,
            4,
            ExecError::FileSizeExceedsMemSize { index: data },
        ),
        (
            P_OFFSET,
            0x2008,
            ExecError::MisalignedSegment { index: data },
        ),
        (
            P_OFFSET,
            1 << 40,
            ExecError::SegmentPastEndOfFile { index: data },
        ),
        (
            P_OFFSET,
            0x10_0000,
            ExecError::SegmentPastEndOfFile { index: data },
        ),
        (
            P_OFFSET,
            u64::MAX - 0xfff,
            ExecError::SegmentPastEndOfFile { index: data },
        ),
        (
            P_VADDR,
            u64::MAX - 0xfff,
            ExecError::SegmentOutOfRange { index: data },
        ),
        (
            P_VADDR,
            USER_LIMIT - 0x1000,
            ExecError::SegmentOutOfRange { index: data },
        ),
        (P_VADDR, 0, ExecError::SegmentOutOfRange { index: data }),
        (
            P_VADDR,
            0x402008,
            ExecError::MisalignedSegment { index: data },
        ),
        (P_ALIGN, 3, ExecError::BadAlignment { index: data }),
        (
            P_VADDR,
            0x401000,
            ExecError::OverlappingSegments {
                first: 0,
                second: 1,
            },
        ),
    ];
    for (field, value, expected) in cases {
        let result = try_load(&with_data_field(field, value));
        assert_eq!(result, Err(expected), "field {field} = {value:#x}");
    }
}

#[test]
fn memsz_reaching_the_user_limit_is_rejected() {
    let image = with_data_field(P_MEMSZ, USER_LIMIT - 0x402000 + 1);
    assert_eq!(
        try_load(&image),
        Err(ExecError::SegmentOutOfRange { index: 1 })
    );
    let image = with_data_field(P_MEMSZ, u64::MAX);
    assert_eq!(
        try_load(&image),
        Err(ExecError::SegmentOutOfRange { index: 1 })
    );
}

#[test]
fn pie_bias_is_checked() {
    let mut high = config();
    high.pie_base = USER_LIMIT - 0x1000;
    assert_eq!(
        try_load_with(&pie_image(), ARGV, &high),
        Err(ExecError::SegmentOutOfRange { index: 0 })
    );
    let mut misaligned = config();
    misaligned.pie_base = 0x1234;
    assert!(matches!(
        try_load_with(&pie_image(), ARGV, &misaligned),
        Err(ExecError::BadConfig(_))
    ));
}

#[test]
fn segment_on_the_stack_is_rejected() {
    let stack_bottom = config().stack_top - config().stack_size;
    let image = with_data_field(P_VADDR, stack_bottom);
    // The data segment's file offset stays page aligned, so only the
    // overlap is wrong.
    assert_eq!(
        try_load(&image),
        Err(ExecError::SegmentOverlapsStack { index: 1 })
    );
}

#[test]
fn entry_must_be_in_an_executable_segment() {
    for entry in [0, 0x400000, 0x402000, u64::MAX] {
        let mut image = exec_image();
        put_u64(&mut image, 24, entry);
        assert_eq!(try_load(&image), Err(ExecError::BadEntry(entry)));
    }
}

#[test]
fn too_many_segments() {
    let mut builder = ImageBuilder::new();
    builder.entry(0x400000);
    for index in 0..=bulkhead_linux_exec::MAX_LOAD_SEGMENTS as u64 {
        builder.segment(
            PT_LOAD,
            PF_R | PF_X,
            0x400000 + index * PAGE,
            TEXT,
            0x10,
            PAGE,
        );
    }
    assert_eq!(try_load(&builder.build()), Err(ExecError::TooManySegments));
}

#[test]
fn argument_limits() {
    let big = vec![b'a'; 40 * 1024];
    let two: [&[u8]; 2] = [&big, &big];
    let image = exec_image();
    assert_eq!(
        try_load_with(&image, &two, &config()),
        Err(ExecError::ArgumentsTooLarge)
    );
    assert!(try_load_with(&image, &two[..1], &config()).is_ok());
    let mut small = config();
    small.stack_size = 16 * PAGE;
    assert_eq!(
        try_load_with(&image, &two[..1], &small),
        Err(ExecError::ArgumentsTooLarge)
    );
    let many: Vec<&[u8]> = vec![b"x"; 20_000];
    assert_eq!(
        try_load_with(&image, &many, &config()),
        Err(ExecError::ArgumentsTooLarge)
    );
    let nul: [&[u8]; 2] = [b"/bin/test", b"a\0b"];
    assert_eq!(
        try_load_with(&image, &nul, &config()),
        Err(ExecError::ArgumentContainsNul)
    );
}

#[test]
fn stack_too_small_for_exec_fn() {
    let long_name = vec![b'n'; 2 * PAGE as usize];
    let mut config = config();
    config.stack_size = PAGE;
    config.exec_fn = &long_name;
    assert_eq!(
        try_load_with(&exec_image(), ARGV, &config),
        Err(ExecError::StackTooSmall)
    );
}

#[test]
fn bad_configurations() {
    let cases: [fn(&mut ExecConfig<'static>); 5] = [
        |c| c.stack_top = USER_LIMIT + PAGE,
        |c| c.stack_top = 0x7fff_ffff_f008,
        |c| c.stack_size = 0,
        |c| c.stack_size = 100,
        |c| c.stack_size = c.stack_top,
    ];
    for (index, change) in cases.into_iter().enumerate() {
        let mut config = config();
        change(&mut config);
        let result = try_load_with(&exec_image(), ARGV, &config);
        assert!(
            matches!(result, Err(ExecError::BadConfig(_))),
            "case {index}"
        );
    }
}

#[test]
fn huge_phnum_is_rejected() {
    let mut image = exec_image();
    put_u16(&mut image, 56, 0xfffe);
    assert!(matches!(try_load(&image), Err(ExecError::Elf(_))));
    let mut image = exec_image();
    put_u16(&mut image, 54, 8);
    assert!(matches!(try_load(&image), Err(ExecError::Elf(_))));
}

/// Every prefix of valid images either loads or fails cleanly.
#[test]
fn truncated_files_never_panic() {
    let images = [exec_image(), pie_image(), header_in_segment_image()];
    for image in images {
        let mut loaded = 0;
        for len in 0..=image.len() {
            if try_load(&image[..len]).is_ok() {
                loaded += 1;
            }
        }
        assert!(loaded >= 1, "the full image loads");
    }
}

/// An image whose first segment maps the headers, like real programs.
fn header_in_segment_image() -> Vec<u8> {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x401000)
        .segment(PT_LOAD, PF_R | PF_X, 0x401000, TEXT, 0x10, PAGE);
    let mut image = builder.build();
    let offset = get_u64(&image, phdr_at(0) + P_OFFSET);
    put_u64(&mut image, phdr_at(0) + P_OFFSET, 0);
    put_u64(&mut image, phdr_at(0) + P_VADDR, 0x401000 - offset);
    put_u64(&mut image, phdr_at(0) + P_FILESZ, offset + 0x10);
    put_u64(&mut image, phdr_at(0) + P_MEMSZ, offset + 0x10);
    image
}

/// Every single-bit flip in the file header and program headers.
#[test]
fn every_header_bit_flip_is_handled() {
    for image in [exec_image(), pie_image(), header_in_segment_image()] {
        let phnum = u16::from_le_bytes([image[56], image[57]]) as usize;
        for byte in 0..phdr_at(phnum) {
            for bit in 0..8 {
                let mut corrupt = image.clone();
                corrupt[byte] ^= 1 << bit;
                let _ = try_load(&corrupt);
            }
        }
    }
}

/// Random multi-byte corruption of the headers, with interesting values
/// (0, all ones, near 2^63, near 2^64) as well as random bytes.
#[test]
fn random_header_corruption_is_handled() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let interesting = [
        0,
        1,
        0xfff,
        0x1000,
        1 << 47,
        1 << 63,
        u64::MAX - 0xfff,
        u64::MAX,
    ];
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..20_000 {
        let mut image = if round % 2 == 0 {
            exec_image()
        } else {
            pie_image()
        };
        let span = phdr_at(4) as u64;
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(span - 8) as usize;
            if rng.below(2) == 0 {
                let value = interesting[rng.below(interesting.len() as u64) as usize];
                put_u64(&mut image, at, value);
            } else {
                image[at] = rng.next() as u8;
            }
        }
        let outcome = match try_load(&image) {
            Ok(_) => "ok".to_string(),
            Err(error) => format!("{error:?}").chars().take(12).collect(),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    assert!(
        outcomes.len() > 5,
        "corruption reached many checks: {outcomes:?}"
    );
}
