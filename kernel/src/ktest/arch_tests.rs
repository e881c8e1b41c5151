//! Tests of the CPU set-up: descriptor tables, protections, exceptions
//! raised on purpose and caught with a correct report, kernel symbols.

use super::Test;
use crate::arch::x86_64::traps::ExceptionReport;
use crate::arch::x86_64::{cpu, idt::vector};
use crate::mm::{paging, stack};
use crate::{check, check_eq};
use alloc::string::String;
use core::fmt::Write;

pub const TESTS: &[Test] = &[
    Test {
        name: "arch::cpu_protections_enabled",
        run: cpu_protections_enabled,
    },
    Test {
        name: "arch::tss_loaded",
        run: tss_loaded,
    },
    Test {
        name: "arch::invalid_opcode_caught_with_report",
        run: invalid_opcode_caught,
    },
    Test {
        name: "arch::page_fault_caught_with_report",
        run: page_fault_caught,
    },
    Test {
        name: "arch::stack_guard_page_faults",
        run: stack_guard_page_faults,
    },
    Test {
        name: "arch::divide_error_caught",
        run: divide_error_caught,
    },
    Test {
        name: "arch::general_protection_caught",
        run: general_protection_caught,
    },
    Test {
        name: "arch::breakpoint_caught",
        run: breakpoint_caught,
    },
    Test {
        name: "arch::symbols_resolve_kernel_functions",
        run: symbols_resolve,
    },
];

fn report_text(report: &ExceptionReport) -> String {
    let mut text = String::new();
    let _ = write!(text, "{report}");
    text
}

fn cpu_protections_enabled() -> Result<(), String> {
    use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
    use x86_64::registers::model_specific::{Efer, EferFlags};
    let f = cpu::features();
    let cr4 = Cr4::read();
    check!(Cr0::read().contains(Cr0Flags::WRITE_PROTECT), "CR0.WP off");
    check_eq!(Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE), f.nx);
    check_eq!(
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
        f.smep
    );
    check_eq!(
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
        f.smap
    );
    check_eq!(
        cr4.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION),
        f.umip
    );
    check!(
        f.nx,
        "QEMU's CPU model has NX; the kernel should have found it"
    );
    Ok(())
}

fn tss_loaded() -> Result<(), String> {
    let tr: u16;
    // SAFETY: STR only reads the task register.
    unsafe { core::arch::asm!("str {0:x}", out(reg) tr) };
    check_eq!(tr, 0x28);
    Ok(())
}

fn invalid_opcode_caught() -> Result<(), String> {
    let (fault, report) = raise!(vector::INVALID_OPCODE, "ud2");
    let report = report.ok_or("no #UD was raised")?;
    check_eq!(report.vector, vector::INVALID_OPCODE);
    check_eq!(report.rip, fault);
    check!(report.frame.cs & 3 == 0, "not from ring 0");
    let text = report_text(&report);
    check!(
        text.starts_with("EXCEPTION #UD (vector 6)"),
        "report: {text}"
    );
    check!(
        text.contains("invalid_opcode_caught"),
        "no symbol in report: {text}"
    );
    Ok(())
}

const UNMAPPED: u64 = paging::KERNEL_SCRATCH + 0x7000_0000;

fn page_fault_caught() -> Result<(), String> {
    check_eq!(paging::translate(UNMAPPED), None);
    let (fault, report) =
        raise!(vector::PAGE_FAULT, "mov qword ptr [{addr}], 1", addr = in(reg) UNMAPPED);
    let report = report.ok_or("no #PF was raised")?;
    check_eq!(report.rip, fault);
    check_eq!(report.cr2, UNMAPPED);
    check_eq!(report.error_code, 0b10); // write, not present, supervisor
    let text = report_text(&report);
    check!(
        text.contains("[not-present, write, kernel]"),
        "report: {text}"
    );
    check!(
        text.contains(&alloc::format!("cr2 {UNMAPPED:#018x}")),
        "report: {text}"
    );
    Ok(())
}

fn stack_guard_page_faults() -> Result<(), String> {
    let s = stack::alloc().map_err(|e| alloc::format!("{e:?}"))?;
    let guard_top = s.bottom - 8;
    let (_, report) =
        raise!(vector::PAGE_FAULT, "mov qword ptr [{addr}], 1", addr = in(reg) guard_top);
    let report = report.ok_or("writing below the stack did not fault")?;
    check_eq!(report.cr2, guard_top);
    Ok(())
}

fn divide_error_caught() -> Result<(), String> {
    let (fault, report) = raise!(
        vector::DIVIDE_ERROR,
        "div {zero}",
        zero = in(reg) 0u64,
        inout("rax") 1u64 => _,
        inout("rdx") 0u64 => _
    );
    let report = report.ok_or("no #DE was raised")?;
    check_eq!((report.vector, report.rip), (vector::DIVIDE_ERROR, fault));
    Ok(())
}

fn general_protection_caught() -> Result<(), String> {
    let noncanonical = 0x8000_0000_0000_0000u64;
    let (fault, report) = raise!(
        vector::GENERAL_PROTECTION,
        "mov qword ptr [{addr}], 1",
        addr = in(reg) noncanonical
    );
    let report = report.ok_or("no #GP was raised")?;
    check_eq!(
        (report.vector, report.rip, report.error_code),
        (vector::GENERAL_PROTECTION, fault, 0)
    );
    Ok(())
}

fn breakpoint_caught() -> Result<(), String> {
    let (fault, report) = raise!(vector::BREAKPOINT, "int3");
    let report = report.ok_or("no #BP was raised")?;
    // #BP is a trap: the saved RIP is the next instruction (int3 is 1 byte).
    check_eq!(report.rip, fault + 1);
    Ok(())
}

fn symbols_resolve() -> Result<(), String> {
    let main = crate::kernel_main as *const () as u64;
    let (name, offset) =
        crate::symbols::lookup(main).ok_or("kernel_main not in the symbol table")?;
    check!(
        name.contains("kernel_main"),
        "kernel_main resolved to {name}"
    );
    check_eq!(offset, 0);
    let (name, offset) = crate::symbols::lookup(main + 5).ok_or("kernel_main+5 not found")?;
    check!(
        name.contains("kernel_main") && offset == 5,
        "kernel_main+5 resolved to {name}+{offset}"
    );
    let text = alloc::format!("{}", crate::symbols::describe(main + 5));
    check!(
        text.contains("kernel_main") && text.ends_with("+0x5>"),
        "describe gave {text}"
    );
    Ok(())
}
