//! Host tests: a synthetic kernel with functions that span pages, the
//! decisions for entries, continuations, mid-function jumps, data in and
//! out of the container's ranges, and a random walk that never panics.

extern crate std;

use super::*;
use bulkhead_elf::builder::ImageBuilder;
use bulkhead_elf::section_type::PROGBITS;

const FUNC: u8 = 2;
const GLOBAL: u8 = 1;
const EXEC: u64 = 6; // SHF_ALLOC | SHF_EXECINSTR
const TEXT: u64 = 0xffff_ffff_8020_0000;

/// `small` (one page), `big` (three pages from a page boundary), `gadget`
/// (a function whose middle is the "gadget"), then a gap without symbols.
fn kernel() -> SymbolTable {
    let mut b = ImageBuilder::new();
    let text = b.section(".text", PROGBITS, EXEC, TEXT, &[0xcc; 0x5000]);
    b.symbol("small", TEXT, 0x100, FUNC, GLOBAL, text)
        .symbol("big", TEXT + 0x1000, 0x2800, FUNC, GLOBAL, text)
        .symbol("gadget_host", TEXT + 0x3800, 0x400, FUNC, GLOBAL, text);
    SymbolTable::from_elf(&b.build()).unwrap()
}

const OWN: [DataRange<'static>; 1] = [DataRange {
    name: "container 7's objects",
    start: 0xffff_9000_0000_0000,
    end: 0xffff_9000_0000_3000,
}];
const ALLOW: [DataRange<'static>; 1] = [DataRange {
    name: "per-CPU area",
    start: 0xffff_a000_0000_0000,
    end: 0xffff_a000_0000_1000,
}];

fn policy(symbols: &SymbolTable) -> Policy<'_> {
    Policy {
        symbols,
        own: &OWN,
        allow: &ALLOW,
    }
}

#[test]
fn a_call_maps_the_functions_first_page() {
    let symbols = kernel();
    let mut trace = SyscallTrace::new();
    let d = policy(&symbols).decide(&mut trace, TEXT + 0x1000, Access::Fetch);
    assert_eq!(
        d,
        Decision::Map {
            page: TEXT + 0x1000,
            reason: Reason::FunctionEntry { function: "big" }
        }
    );
    assert!(trace.entered(TEXT + 0x1000));
}

#[test]
fn an_entered_function_may_run_on_into_its_next_pages() {
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    p.decide(&mut trace, TEXT + 0x1000, Access::Fetch);
    for page in [TEXT + 0x2000, TEXT + 0x3000] {
        assert_eq!(
            p.decide(&mut trace, page, Access::Fetch),
            Decision::Map {
                page,
                reason: Reason::Continuation { function: "big" }
            }
        );
    }
    // An instruction crossing into the next page faults on that page's
    // first byte; a fetch later in the page is also fine once entered.
    assert!(matches!(
        p.decide(&mut trace, TEXT + 0x2345, Access::Fetch),
        Decision::Map { .. }
    ));
}

#[test]
fn a_jump_into_the_middle_of_a_function_is_a_violation() {
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    let d = p.decide(&mut trace, TEXT + 0x3900, Access::Fetch);
    assert_eq!(
        d,
        Decision::Refuse(Violation::MidFunction {
            function: "gadget_host",
            offset: 0x100
        })
    );
    assert!(trace.is_empty());
    let Decision::Refuse(v) = d else {
        unreachable!()
    };
    assert!(std::format!("{v}").contains("gadget_host+0x100"));
    // The same place in `big` before `big` was entered: also refused.
    assert!(matches!(
        p.decide(&mut trace, TEXT + 0x2000, Access::Fetch),
        Decision::Refuse(Violation::MidFunction {
            function: "big",
            ..
        })
    ));
}

#[test]
fn mid_function_in_the_entry_page_is_still_a_violation() {
    // Entered `big`, then a fetch in the middle of `big`'s *first* page
    // faults: that page was mapped at entry, so such a fault can only be a
    // stale or forged address, not a continuation.
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    p.decide(&mut trace, TEXT + 0x1000, Access::Fetch);
    assert!(matches!(
        p.decide(&mut trace, TEXT + 0x1800, Access::Fetch),
        Decision::Refuse(Violation::MidFunction { .. })
    ));
}

#[test]
fn fetches_outside_every_function_are_violations() {
    let symbols = kernel();
    let mut trace = SyscallTrace::new();
    assert_eq!(
        policy(&symbols).decide(&mut trace, TEXT + 0x4800, Access::Fetch),
        Decision::Refuse(Violation::NoFunction)
    );
}

#[test]
fn data_is_mapped_only_from_own_ranges_and_the_allow_list() {
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    assert_eq!(
        p.decide(&mut trace, OWN[0].start + 0x1234, Access::Write),
        Decision::Map {
            page: OWN[0].start + 0x1000,
            reason: Reason::OwnData {
                object: "container 7's objects"
            }
        }
    );
    assert!(matches!(
        p.decide(&mut trace, ALLOW[0].start + 8, Access::Read),
        Decision::Map {
            reason: Reason::AllowList { .. },
            ..
        }
    ));
    // Another container's objects, just past ours.
    assert_eq!(
        p.decide(&mut trace, OWN[0].end, Access::Read),
        Decision::Refuse(Violation::Data { near: None })
    );
    // Reading kernel code as data.
    assert_eq!(
        p.decide(&mut trace, TEXT + 8, Access::Read),
        Decision::Refuse(Violation::Data {
            near: Some("small")
        })
    );
}

#[test]
fn running_on_from_a_mapped_page_is_a_continuation() {
    // `small` (on the page before `big`) was called: its page is mapped.
    // Execution flowing from that page into the next one is accepted even
    // though `big`'s entry did not fault; a jump two pages on is not.
    let symbols = kernel();
    let mut trace = SyscallTrace::new();
    let p = policy(&symbols);
    assert!(matches!(
        p.decide(&mut trace, TEXT, Access::Fetch),
        Decision::Map { .. }
    ));
    assert!(trace.code_page_mapped(TEXT));
    assert_eq!(
        p.decide(&mut trace, TEXT + 0x2010, Access::Fetch),
        Decision::Refuse(Violation::MidFunction {
            function: "big",
            offset: 0x1010
        })
    );
}

#[test]
fn clearing_the_trace_forgets_entered_functions() {
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    p.decide(&mut trace, TEXT + 0x1000, Access::Fetch);
    trace.clear();
    assert!(matches!(
        p.decide(&mut trace, TEXT + 0x2000, Access::Fetch),
        Decision::Refuse(_)
    ));
}

#[test]
fn random_faults_never_panic_and_only_map_the_faulting_page() {
    let symbols = kernel();
    let p = policy(&symbols);
    let mut trace = SyscallTrace::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..50_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let addr = match i % 4 {
            0 => TEXT + x % 0x6000,
            1 => OWN[0].start.wrapping_add(x % 0x4000),
            2 => x,
            _ => ALLOW[0].start.wrapping_add(x % 0x2000),
        };
        let access = [Access::Fetch, Access::Read, Access::Write][(x % 3) as usize];
        if let Decision::Map { page, .. } = p.decide(&mut trace, addr, access) {
            assert_eq!(page, page_of(addr));
        }
        if i % 1000 == 0 {
            trace.clear();
        }
    }
}
