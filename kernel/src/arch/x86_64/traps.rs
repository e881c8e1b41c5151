//! Trap dispatch: exceptions are reported, device interrupts go to their
//! registered handler.
//!
//! Who handles an exception, in order:
//!
//! - ring 3: the faulting thread is stopped with a one-line report, and
//!   its fault handler (if any) hears of it; everything else keeps running;
//! - a page fault of an isolated (SCI) syscall: `crate::sci` maps the page
//!   and resumes, or stops the thread for a violation;
//! - a page fault at the user-copy instruction: resumed at its fix-up
//!   (the copy returns an error);
//! - a *recovery point* armed by kernel code that expects a fault at a
//!   known instruction (the test suite raising exceptions on purpose): the
//!   report is recorded and execution resumes at the armed address;
//! - any other exception while an in-kernel personality serves a syscall
//!   (`direct` or `sci`): that thread is stopped as if it had faulted;
//! - anything else is a kernel bug: a full report (vector name, error code
//!   decoded for #PF, RIP with its symbol, CR2, all registers) and a panic,
//!   which ends a test run as a failure.

use super::trap_entry::TrapFrame;
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use x86_64::registers::control::Cr2;

/// A device-interrupt handler. It must acknowledge the interrupt (EOI).
pub type IrqHandler = fn(&mut TrapFrame);

const IRQ_SLOTS: usize = 256;
static IRQ_HANDLERS: [AtomicUsize; IRQ_SLOTS] = [const { AtomicUsize::new(0) }; IRQ_SLOTS];

/// Installs `handler` for `vector` (32..=255), replacing any other.
pub fn register_irq(vector: u8, handler: IrqHandler) {
    debug_assert!(vector >= super::idt::vector::FIRST_IRQ);
    IRQ_HANDLERS[usize::from(vector)].store(handler as usize, Ordering::Release);
}

/// What an exception looked like, for reports and for tests that catch one.
#[derive(Clone, Copy, Debug)]
pub struct ExceptionReport {
    pub vector: u8,
    pub error_code: u64,
    pub rip: u64,
    pub cr2: u64,
    pub frame: TrapFrame,
}

/// Recovery point: vector expected + 1 (0 = none armed), and the resume RIP.
/// Assembly that expects a fault may store both directly (see the tests).
pub static RECOVERY_VECTOR: AtomicU64 = AtomicU64::new(0);
/// Where execution resumes after the armed exception.
pub static RECOVERY_RIP: AtomicU64 = AtomicU64::new(0);
static LAST_RECOVERED: spin::Mutex<Option<ExceptionReport>> = spin::Mutex::new(None);

/// Forgets any earlier recovered report; call before arming a recovery point.
pub fn clear_recovered() {
    *LAST_RECOVERED.lock() = None;
}

/// Disarms the recovery point and returns the report of the exception it
/// caught, if one happened.
pub fn take_recovered() -> Option<ExceptionReport> {
    RECOVERY_VECTOR.store(0, Ordering::SeqCst);
    LAST_RECOVERED.lock().take()
}

/// Called by `trap_common` with the saved registers of the interrupted
/// context and the page table it ran on; whatever it leaves in `frame` is
/// restored on return.
pub extern "C" fn dispatch(frame: &mut TrapFrame, interrupted_cr3: u64) {
    // Handlers allocate from the shared heap, never from the arena of a
    // container whose syscall was interrupted.
    let _shared = crate::mm::arena::ArenaScope::enter(core::ptr::null());
    crate::sci::note_trap(interrupted_cr3);
    let vector = frame.vector as u8;
    if vector >= super::idt::vector::FIRST_IRQ {
        match IRQ_HANDLERS[usize::from(vector)].load(Ordering::Acquire) {
            0 => log::warn!("traps: unexpected interrupt on vector {vector}"),
            handler => {
                // SAFETY: only `register_irq` stores non-zero values, and it
                // stores `IrqHandler` function pointers.
                let handler: IrqHandler = unsafe { core::mem::transmute(handler) };
                handler(frame);
            }
        }
        if frame.is_user() {
            crate::sched::preempt_point();
        }
        return;
    }
    let report = ExceptionReport {
        vector,
        error_code: frame.error_code,
        rip: frame.rip,
        cr2: Cr2::read_raw(),
        frame: *frame,
    };
    if frame.is_user() {
        user_fault(&report);
    }
    if vector == super::idt::vector::PAGE_FAULT {
        match crate::sci::on_page_fault(frame, report.cr2, interrupted_cr3) {
            Some(crate::sci::FaultOutcome::Resume) => return,
            Some(crate::sci::FaultOutcome::Stop) => personality_fault(&report, false),
            None => {}
        }
        if let Some(fixup) = crate::usercopy::fixup_for(frame.rip) {
            frame.rip = fixup;
            return;
        }
    }
    if RECOVERY_VECTOR.load(Ordering::SeqCst) == u64::from(vector) + 1 {
        RECOVERY_VECTOR.store(0, Ordering::SeqCst);
        *LAST_RECOVERED.lock() = Some(report);
        frame.rip = RECOVERY_RIP.load(Ordering::SeqCst);
        return;
    }
    if super::percpu::in_personality() != 0 {
        crate::sci::abort_isolated();
        personality_fault(&report, true);
    }
    crate::println!("{report}");
    panic!("unhandled exception {} in the kernel", name(vector));
}

/// An exception in an in-kernel personality's syscall code (`direct` or
/// `sci`; an SCI violation has been reported already): the thread is
/// stopped as if it had faulted, its container's launcher hears of it,
/// and the kernel keeps running.
fn personality_fault(report: &ExceptionReport, print: bool) -> ! {
    let thread = crate::sched::current();
    if print {
        crate::println!(
            "personality: thread {thread} stopped: kernel {} (vector {}) in its syscall at rip {:#x} {}, address {:#x}",
            name(report.vector),
            report.vector,
            report.rip,
            crate::symbols::describe(report.rip),
            report.cr2
        );
    }
    super::percpu::set_in_personality(0);
    crate::ipc::report_fault(thread, report.vector, report.cr2, report.rip);
    crate::sched::end_current(crate::sched::Ending::Faulted {
        vector: report.vector,
        address: report.cr2,
        rip: report.rip,
    })
}

/// A CPU exception in ring 3: one report line, then the thread is stopped
/// (its waiters see how it ended); everything else keeps running.
fn user_fault(report: &ExceptionReport) -> ! {
    let thread = crate::sched::current();
    let thread_name = crate::sched::with_thread(thread, |t| t.name).unwrap_or("?");
    let address = if report.vector == super::idt::vector::PAGE_FAULT {
        report.cr2
    } else {
        0
    };
    crate::println!(
        "fault: thread {thread} ({thread_name}) stopped: {} (vector {}) error {:#x} at rip {:#x}, address {:#x}",
        name(report.vector),
        report.vector,
        report.error_code,
        report.rip,
        address
    );
    crate::ipc::report_fault(thread, report.vector, address, report.rip);
    crate::sched::end_current(crate::sched::Ending::Faulted {
        vector: report.vector,
        address,
        rip: report.rip,
    })
}

/// The mnemonic of an exception vector.
pub fn name(vector: u8) -> &'static str {
    const NAMES: [&str; 32] = [
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP", "#SS",
        "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25",
        "#26", "#27", "#HV", "#VC", "#SX", "#31",
    ];
    NAMES.get(usize::from(vector)).copied().unwrap_or("IRQ")
}

/// Decodes a page-fault error code: "write, present, user" and so on.
struct PageFaultCode(u64);

impl fmt::Display for PageFaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |n: u32| self.0 & (1 << n) != 0;
        f.write_str(if bit(0) { "protection" } else { "not-present" })?;
        f.write_str(if bit(1) { ", write" } else { ", read" })?;
        f.write_str(if bit(2) { ", user" } else { ", kernel" })?;
        if bit(3) {
            f.write_str(", reserved-bit")?;
        }
        if bit(4) {
            f.write_str(", instruction-fetch")?;
        }
        if bit(5) {
            f.write_str(", protection-key")?;
        }
        Ok(())
    }
}

impl fmt::Display for ExceptionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.frame;
        write!(
            f,
            "EXCEPTION {} (vector {}) error {:#x}",
            name(self.vector),
            self.vector,
            self.error_code
        )?;
        if self.vector == super::idt::vector::PAGE_FAULT {
            write!(f, " [{}]", PageFaultCode(self.error_code))?;
        }
        writeln!(
            f,
            " in {} at rip {:#018x} {}",
            if r.is_user() { "user" } else { "kernel" },
            self.rip,
            crate::symbols::describe(self.rip)
        )?;
        writeln!(
            f,
            "  cr2 {:#018x} rsp {:#018x} rflags {:#010x} cs {:#x} ss {:#x}",
            self.cr2, r.rsp, r.rflags, r.cs, r.ss
        )?;
        let regs = [
            ("rax", r.rax),
            ("rbx", r.rbx),
            ("rcx", r.rcx),
            ("rdx", r.rdx),
            ("rsi", r.rsi),
            ("rdi", r.rdi),
            ("rbp", r.rbp),
            ("r8 ", r.r8),
            ("r9 ", r.r9),
            ("r10", r.r10),
            ("r11", r.r11),
            ("r12", r.r12),
            ("r13", r.r13),
            ("r14", r.r14),
            ("r15", r.r15),
        ];
        for row in regs.chunks(4) {
            f.write_str(" ")?;
            for (name, value) in row {
                write!(f, " {name} {value:#018x}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
