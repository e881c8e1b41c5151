//! Loading well-formed images: placement, protection, bss, stack contents.

mod common;

use bulkhead_elf::builder::ImageBuilder;
use bulkhead_linux_exec::stack::*;
use bulkhead_linux_exec::{decode_stack, load, ExecError, Loaded, Prot};
use common::*;

const ARGV: &[&[u8]] = &[b"/bin/test", b"first arg", b""];
const ENVP: &[&[u8]] = &[b"HOME=/", b"PATH=/bin"];

fn load_ok(image: &[u8]) -> (MockTarget, Loaded) {
    let mut target = MockTarget::new();
    let loaded = load(&mut target, image, ARGV, ENVP, &config()).expect("loads");
    (target, loaded)
}

/// Reads the stack the way the program will, from the mock's memory.
fn decoded(target: &MockTarget, loaded: &Loaded) -> DecodedStack {
    let top = config().stack_top;
    let len = (top - loaded.stack_pointer) as usize;
    let bytes = target
        .read(loaded.stack_pointer, len)
        .expect("stack mapped");
    decode_stack(loaded.stack_pointer, &bytes).expect("stack decodes")
}

#[test]
fn static_executable_segments_are_placed_and_protected() {
    let (target, loaded) = load_ok(&exec_image());
    assert_eq!(loaded.entry, 0x401002);
    assert_eq!(loaded.base, 0);
    assert_eq!(loaded.brk_start, 0x404000);
    assert_eq!(target.read(0x401000, TEXT.len()).unwrap(), TEXT);
    assert_eq!(target.read(0x402000, DATA.len()).unwrap(), DATA);
    assert_eq!(target.prot_at(0x401000), Some(RX));
    assert_eq!(target.prot_at(0x402000), Some(RW));
    assert_eq!(target.prot_at(0x403000), Some(RW));
    assert_eq!(target.prot_at(0x400000), None);
    assert_eq!(target.prot_at(0x404000), None);
}

#[test]
fn bss_and_page_tails_are_zero() {
    let (target, _) = load_ok(&exec_image());
    let after_data = target.read(0x402000 + DATA.len() as u64, 0x2000 - DATA.len());
    assert!(after_data.unwrap().iter().all(|&b| b == 0));
    let after_text = target.read(0x401000 + TEXT.len() as u64, 64).unwrap();
    assert!(after_text.iter().all(|&b| b == 0));
}

#[test]
fn mappings_list_segments_then_stack() {
    let (_, loaded) = load_ok(&exec_image());
    let stack_bottom = config().stack_top - config().stack_size;
    assert_eq!(
        loaded.mappings,
        vec![
            (0x401000, PAGE, RX),
            (0x402000, 2 * PAGE, RW),
            (stack_bottom, config().stack_size, RW),
        ]
    );
}

#[test]
fn pages_are_filled_while_writable_then_protected() {
    let (target, _) = load_ok(&exec_image());
    let first_protect = target
        .calls
        .iter()
        .position(|c| matches!(c, Call::Protect(..)))
        .unwrap();
    let segment_writes = target.calls[..first_protect]
        .iter()
        .filter(|c| matches!(c, Call::Write(..)))
        .count();
    assert_eq!(segment_writes, 2);
    assert!(target.calls[..first_protect]
        .iter()
        .all(|c| !matches!(c, Call::Map(_, _, p) if *p != RW)));
    let stack_writes = target.calls[first_protect..]
        .iter()
        .filter(|c| matches!(c, Call::Write(..)))
        .count();
    assert_eq!(stack_writes, 1, "the stack is written in one call");
}

#[test]
fn pie_is_loaded_at_the_bias() {
    let (target, loaded) = load_ok(&pie_image());
    let base = config().pie_base;
    assert_eq!(loaded.base, base);
    assert_eq!(loaded.entry, base + 0x1000);
    assert_eq!(loaded.brk_start, base + 0x4000);
    assert_eq!(target.read(base + 0x1000, TEXT.len()).unwrap(), TEXT);
    assert_eq!(target.read(base + 0x2000, DATA.len()).unwrap(), DATA);
    assert_eq!(target.prot_at(base + 0x3000), Some(RW));
    let stack = decoded(&target, &loaded);
    assert_eq!(stack.aux(AT_ENTRY), Some(base + 0x1000));
    assert_eq!(stack.aux(AT_BASE), Some(0));
}

#[test]
fn stack_holds_argc_argv_envp_and_is_aligned() {
    let (target, loaded) = load_ok(&exec_image());
    assert_eq!(loaded.stack_pointer % 16, 0);
    let argc = target.read(loaded.stack_pointer, 8).unwrap();
    assert_eq!(u64::from_le_bytes(argc.try_into().unwrap()), 3);
    let stack = decoded(&target, &loaded);
    assert_eq!(
        stack.argv,
        ARGV.iter().map(|a| a.to_vec()).collect::<Vec<_>>()
    );
    assert_eq!(
        stack.envp,
        ENVP.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
    );
}

#[test]
fn auxiliary_vector_has_the_linux_entries() {
    let (target, loaded) = load_ok(&exec_image());
    let stack = decoded(&target, &loaded);
    let expect = [
        (AT_PHENT, 56),
        (AT_PHNUM, 4),
        (AT_PAGESZ, 4096),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, 0x401002),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_HWCAP, 0),
        (AT_CLKTCK, 100),
        (AT_SECURE, 0),
    ];
    for (kind, value) in expect {
        assert_eq!(stack.aux(kind), Some(value), "auxv type {kind}");
    }
    let random = stack.aux(AT_RANDOM).unwrap();
    assert_eq!(target.read(random, 16).unwrap(), b"0123456789abcdef");
    let execfn = stack.aux(AT_EXECFN).unwrap();
    assert_eq!(target.read(execfn, 10).unwrap(), b"/bin/test\0");
    let platform = stack.aux(AT_PLATFORM).unwrap();
    assert_eq!(target.read(platform, 7).unwrap(), b"x86_64\0");
}

#[test]
fn unloaded_program_headers_are_copied_to_the_stack() {
    let image = exec_image();
    let (target, loaded) = load_ok(&image);
    let stack = decoded(&target, &loaded);
    assert_eq!(stack.aux(AT_PHDR), Some(loaded.phdr));
    assert_eq!(loaded.phdr % 8, 0);
    let table = target.read(loaded.phdr, 4 * 56).unwrap();
    assert_eq!(table, &image[64..64 + 4 * 56]);
}

/// Makes load segment 0 start at file offset 0 so that it maps the ELF
/// header and program headers, as real linkers do.
fn with_headers_in_first_segment(mut image: Vec<u8>) -> Vec<u8> {
    let at = phdr_at(0);
    let offset = get_u64(&image, at + P_OFFSET);
    let grow = |image: &mut Vec<u8>, field: usize| {
        let value = get_u64(image, at + field);
        put_u64(image, at + field, value + offset);
    };
    grow(&mut image, P_FILESZ);
    grow(&mut image, P_MEMSZ);
    let vaddr = get_u64(&image, at + P_VADDR);
    put_u64(&mut image, at + P_VADDR, vaddr - offset);
    put_u64(&mut image, at + P_OFFSET, 0);
    image
}

#[test]
fn program_headers_in_the_first_segment_are_found() {
    let (target, loaded) = load_ok(&with_headers_in_first_segment(exec_image()));
    assert_eq!(loaded.phdr, 0x400040);
    assert_eq!(decoded(&target, &loaded).aux(AT_PHDR), Some(0x400040));
    assert_eq!(target.read(0x400000, 4).unwrap(), b"\x7fELF");
}

#[test]
fn pt_phdr_gives_the_address() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x401000)
        .segment(PT_PHDR, PF_R, 0x400040, &[], 2 * 56, 8)
        .segment(PT_LOAD, PF_R | PF_X, 0x401000, TEXT, 0x10, PAGE);
    let mut image = builder.build();
    // Move the load segment (header 1) to cover the file from offset 0.
    let at = phdr_at(1);
    let offset = get_u64(&image, at + P_OFFSET);
    put_u64(&mut image, at + P_OFFSET, 0);
    put_u64(&mut image, at + P_VADDR, 0x401000 - offset);
    put_u64(&mut image, at + P_FILESZ, offset + 0x10);
    put_u64(&mut image, at + P_MEMSZ, offset + 0x10);
    let (_, loaded) = load_ok(&image);
    assert_eq!(loaded.phdr, 0x400040);
}

#[test]
fn pt_phdr_outside_the_loaded_bytes_is_rejected() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x401000)
        .segment(PT_PHDR, PF_R, 0x500000, &[], 56, 8)
        .segment(PT_LOAD, PF_R | PF_X, 0x401000, TEXT, 0x10, PAGE);
    let mut target = MockTarget::new();
    let result = load(&mut target, &builder.build(), ARGV, ENVP, &config());
    assert_eq!(result, Err(ExecError::PhdrNotLoaded));
    assert!(target.calls.is_empty());
}

#[test]
fn a_shared_page_gets_both_protections() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x400000)
        .segment(PT_LOAD, PF_R | PF_X, 0x400000, TEXT, 0x100, PAGE)
        .segment(PT_LOAD, PF_R | PF_W, 0x400100, DATA, 0x1000, PAGE);
    let (target, loaded) = load_ok(&builder.build());
    assert_eq!(loaded.mappings[0], (0x400000, PAGE, RWX));
    assert_eq!(loaded.mappings[1], (0x401000, PAGE, RW));
    assert_eq!(target.read(0x400000, TEXT.len()).unwrap(), TEXT);
    assert_eq!(target.read(0x400100, DATA.len()).unwrap(), DATA);
}

#[test]
fn segments_out_of_order_and_with_gaps_load() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x500000)
        .segment(PT_LOAD, PF_R | PF_W, 0x600000, DATA, 0x10, PAGE)
        .segment(PT_LOAD, PF_R | PF_X, 0x500000, TEXT, 0x10, PAGE)
        .segment(PT_LOAD, PF_R, 0x700000, &[], 0, PAGE);
    let (target, loaded) = load_ok(&builder.build());
    assert_eq!(loaded.mappings.len(), 3, "empty segment maps nothing");
    assert_eq!(loaded.mappings[0], (0x500000, PAGE, RX));
    assert_eq!(loaded.mappings[1], (0x600000, PAGE, RW));
    assert_eq!(target.prot_at(0x580000), None);
}

#[test]
fn segment_without_permissions_is_mapped_inaccessible() {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x500000)
        .segment(PT_LOAD, PF_R | PF_X, 0x500000, TEXT, 0x10, PAGE)
        .segment(PT_LOAD, 0, 0x600000, DATA, 0x10, PAGE);
    let (target, _) = load_ok(&builder.build());
    assert_eq!(target.prot_at(0x600000), Some(Prot::default()));
}

#[test]
fn empty_argv_and_envp_are_allowed() {
    let mut target = MockTarget::new();
    let loaded = load(&mut target, &exec_image(), &[], &[], &config()).unwrap();
    let stack = decoded(&target, &loaded);
    assert!(stack.argv.is_empty() && stack.envp.is_empty());
    assert_eq!(loaded.stack_pointer % 16, 0);
}

#[test]
fn uid_gid_and_platform_come_from_the_config() {
    let mut config = config();
    config.uid = 1000;
    config.gid = 100;
    config.platform = "";
    let mut target = MockTarget::new();
    let loaded = load(&mut target, &exec_image(), ARGV, ENVP, &config).unwrap();
    let stack = decoded(&target, &loaded);
    assert_eq!(stack.aux(AT_UID), Some(1000));
    assert_eq!(stack.aux(AT_EUID), Some(1000));
    assert_eq!(stack.aux(AT_GID), Some(100));
    assert_eq!(stack.aux(AT_EGID), Some(100));
    assert_eq!(stack.aux(AT_PLATFORM), None);
}

#[test]
fn target_errors_stop_the_load_at_every_step() {
    let (reference, _) = load_ok(&exec_image());
    for fail_at in 0..reference.calls.len() {
        let mut target = MockTarget::failing_at(fail_at);
        let result = load(&mut target, &exec_image(), ARGV, ENVP, &config());
        assert_eq!(result, Err(ExecError::Target(MockError::Injected)));
        assert_eq!(target.calls.len(), fail_at + 1, "stops at the failure");
    }
}

#[test]
fn errors_display_a_reason() {
    let error: ExecError<&str> = ExecError::OverlappingSegments {
        first: 1,
        second: 2,
    };
    assert_eq!(error.to_string(), "segments 1 and 2 overlap");
    let error: ExecError<&str> = ExecError::Target("out of memory");
    assert_eq!(error.to_string(), "address space: out of memory");
}
