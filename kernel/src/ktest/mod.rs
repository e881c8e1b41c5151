//! The in-kernel test suite (built with the `test-suite` feature).
//!
//! Each test is a plain function returning `Result<(), String>`; the
//! [`check!`] and [`check_eq!`] macros return an `Err` with the failing
//! expression and location. Tests run one after another on the kernel's
//! main stack with interrupts on, and print the protocol the host-side
//! runner (`tools/runner`) reads:
//!
//! ```text
//! test mm::frames_single ... ok
//! test mm::heap_grows ... FAILED
//!     assertion failed: v.len() == 3 (kernel/src/ktest/mm_tests.rs:40)
//! 11 passed, 1 failed
//! ```
//!
//! A panic inside a test ends the run through the panic handler (failure
//! exit code), which the runner reports as a panic. `test=SUBSTRING` on the
//! command line runs only matching tests; `test.inject=...` makes the run
//! fail on purpose so the harness itself can be tested.

/// Executes one faulting instruction with a recovery point armed for
/// `$vector`; evaluates to (address of the instruction, the report).
/// Local labels 3 and 4: 0 and 1 read as binary numbers in Intel syntax.
macro_rules! raise {
    ($vector:expr, $insn:literal $(, $($operands:tt)*)?) => {{
        $crate::arch::x86_64::traps::clear_recovered();
        let fault: u64;
        // SAFETY: the instruction faults (or traps) at label 3; the armed
        // recovery point makes the handler resume at label 4 with all
        // registers as they were, so the block behaves like a no-op that
        // clobbers only its declared operands.
        unsafe {
            core::arch::asm!(
                "lea {tmp}, [rip + 4f]",
                "mov qword ptr [rip + {rip_slot}], {tmp}",
                "mov qword ptr [rip + {vec_slot}], {vec}",
                "lea {fault}, [rip + 3f]",
                concat!("3: ", $insn),
                "4:",
                tmp = out(reg) _,
                fault = out(reg) fault,
                rip_slot = sym $crate::arch::x86_64::traps::RECOVERY_RIP,
                vec_slot = sym $crate::arch::x86_64::traps::RECOVERY_VECTOR,
                vec = const ($vector as u64 + 1),
                $($($operands)*)?
            );
        }
        (fault, $crate::arch::x86_64::traps::take_recovered())
    }};
}

mod arch_tests;
mod mm_tests;
mod object_tests;
mod pcid_tests;
mod sched_tests;
mod time_tests;

use alloc::string::String;
use bulkhead_cmdline::Inject;

/// One test case.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Returns `Err` from the enclosing test unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return Err(alloc::format!(
                "check failed: {} ({}:{})", stringify!($cond), file!(), line!()
            ));
        }
    };
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(alloc::format!(
                "check failed: {}: {} ({}:{})",
                stringify!($cond), alloc::format!($($msg)+), file!(), line!()
            ));
        }
    };
}

/// Returns `Err` from the enclosing test unless `left == right`.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err(alloc::format!(
                        "check failed: {} == {}: left {:?}, right {:?} ({}:{})",
                        stringify!($left),
                        stringify!($right),
                        l,
                        r,
                        file!(),
                        line!()
                    ));
                }
            }
        }
    };
}

/// Every test list, in run order.
fn suites() -> [&'static [Test]; 6] {
    [
        mm_tests::TESTS,
        arch_tests::TESTS,
        time_tests::TESTS,
        sched_tests::TESTS,
        object_tests::TESTS,
        pcid_tests::TESTS,
    ]
}

/// Runs every selected test, prints the summary and ends the run.
pub fn run_all() -> ! {
    let options = crate::config::options();
    let (mut passed, mut failed) = (0u32, 0u32);
    for test in suites().iter().flat_map(|s| s.iter()) {
        if !options.test_selected(test.name) {
            continue;
        }
        match (test.run)() {
            Ok(()) => {
                crate::println!("test {} ... ok", test.name);
                passed += 1;
            }
            Err(why) => {
                crate::println!("test {} ... FAILED", test.name);
                crate::println!("    {why}");
                failed += 1;
            }
        }
    }
    inject_failure(options.test_inject, &mut failed);
    if options.test_inject == Inject::None {
        run_user_land(passed, &mut failed);
    }
    crate::println!("{passed} passed, {failed} failed");
    crate::exit::exit(if failed == 0 {
        crate::exit::SUCCESS
    } else {
        crate::exit::FAILURE
    })
}

/// Hands over to the root server, which runs the user-land suite, prints
/// the combined summary (it is given the kernel's counts) and ends the run
/// through its I/O-port capability. Returns only if there is no root
/// server module or it ended without ending the run (counted as a failure).
fn run_user_land(passed: u32, failed: &mut u32) {
    use crate::rootserver::{self, StartError, TestRun};
    let run = TestRun {
        passed: u64::from(passed),
        failed: u64::from(*failed),
    };
    match rootserver::start(crate::boot_info(), Some(run)) {
        Ok(root) => {
            let ending = crate::sched::wait(root);
            crate::println!("test rootserver::ends_the_run ... FAILED");
            crate::println!("    the root server ended ({ending:?}) without ending the run");
            *failed += 1;
        }
        Err(StartError::NoModule) => {
            crate::println!("ktest: no root server module: user-land tests not run");
        }
        Err(e) => {
            crate::println!("test rootserver::start ... FAILED");
            crate::println!("    {e}");
            *failed += 1;
        }
    }
}

/// Makes the run fail in the way `test.inject=` asked, so that the host-side
/// harness can be shown to turn each kind of failure red.
fn inject_failure(inject: Inject, failed: &mut u32) {
    match inject {
        Inject::None => {}
        Inject::Fail => {
            crate::println!("test harness::injected_failure ... FAILED");
            crate::println!("    failure injected by test.inject=fail");
            *failed += 1;
        }
        Inject::Panic => panic!("panic injected by test.inject=panic"),
        Inject::Exception => {
            // SAFETY: deliberately raises #UD with no recovery point armed,
            // which the trap handler reports and turns into a panic.
            unsafe { core::arch::asm!("ud2") };
        }
        Inject::TripleFault => {
            crate::println!("harness: loading an empty IDT and raising #BP: triple fault");
            let empty = x86_64::structures::DescriptorTablePointer {
                limit: 0,
                base: x86_64::VirtAddr::new(0),
            };
            // SAFETY: deliberately breaks interrupt delivery so the next
            // exception escalates to a triple fault, which resets the machine.
            unsafe {
                x86_64::instructions::tables::lidt(&empty);
                core::arch::asm!("int3");
            }
        }
        Inject::Hang => {
            crate::println!("harness: hanging on purpose (test.inject=hang)");
            crate::arch::halt_forever()
        }
    }
}
