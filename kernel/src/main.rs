//! Bulkhead: a research microkernel for x86_64.
//!
//! Start-up runs in one straight line, each step relying only on the ones
//! before it:
//!
//! 1. a loader entry (`boot::limine` or `boot::multiboot2`) builds the
//!    `BootInfo` and calls [`kernel_main`] on the loader's (or boot) stack;
//! 2. command line, logging, GDT/TSS/IDT and CPU protections;
//! 3. frames, heap and the kernel's own page tables (`mm`);
//! 4. a switch to a guarded kernel stack, then [`kernel_continue`]:
//!    symbols, ACPI, interrupt controllers and the timer;
//! 5. the banner, then either the in-kernel test suite (test builds) or the
//!    normal run.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
// Some kernel APIs (freeing frames, recovery points, ...) have no caller
// but the test suite until user mode arrives; dead code is still checked
// in the `test-suite` build, which uses all of them.
#![cfg_attr(not(feature = "test-suite"), allow(dead_code))]

extern crate alloc;

mod acpi;
mod arch;
#[cfg(feature = "bench")]
mod bench;
mod boot;
mod config;
mod container_call;
mod container_stats;
mod exit;
mod ipc;
mod ipc_fast;
#[cfg(feature = "test-suite")]
mod ktest;
mod logger;
mod mm;
mod object;
mod panic;
mod personality;
mod ring;
mod rootserver;
mod sched;
mod sci;
mod serial;
mod symbols;
mod syscall;
mod time;
mod usercopy;

use boot::BootInfo;
use spin::Once;

static BOOT: Once<&'static BootInfo> = Once::new();
static BOOT_STACK: spin::Mutex<Option<mm::stack::KernelStack>> = spin::Mutex::new(None);

/// The boot information (after `kernel_main` stored it).
pub fn boot_info() -> &'static BootInfo {
    BOOT.get().expect("kernel_main stored the boot info")
}

/// The loader-independent start of the kernel.
pub fn kernel_main(boot: &'static BootInfo) -> ! {
    BOOT.call_once(|| boot);
    let options = config::init(boot.cmdline);
    println!(
        "Bulkhead research microkernel {}, booted by {}",
        env!("CARGO_PKG_VERSION"),
        boot.loader
    );
    config::report_diagnostics();
    let features = arch::x86_64::init_cpu();
    log::info!("cpu: {features}");
    mm::init(boot);
    log::debug!("mm: kernel page tables live; options {options:?}");
    let stack = match mm::stack::alloc() {
        Ok(stack) => stack,
        Err(e) => panic!("no memory for the first kernel stack: {e:?}"),
    };
    let top = stack.top;
    *BOOT_STACK.lock() = Some(stack);
    mm::stack::run_on(top, kernel_continue)
}

/// Start-up, continued on a guarded kernel stack.
extern "C" fn kernel_continue() -> ! {
    let boot = *BOOT.get().expect("kernel_main stored the boot info");
    let stack = BOOT_STACK
        .lock()
        .take()
        .expect("kernel_main allocated the boot stack");
    sched::init(stack);
    usercopy::init();
    symbols::init(boot.kernel_elf);
    let platform = acpi::init(boot.rsdp);
    time::init(&platform, config::options().timer_hz);
    print_banner(boot);
    x86_64::instructions::interrupts::enable();

    #[cfg(feature = "test-suite")]
    ktest::run_all();
    #[cfg(not(feature = "test-suite"))]
    normal_run();
}

fn print_banner(boot: &BootInfo) {
    let frames = mm::frames::stats();
    let (heap_used, heap_size) = mm::heap::stats();
    println!("--------------------------------------------------------------------");
    println!(
        "Bulkhead {} | loader: {}",
        env!("CARGO_PKG_VERSION"),
        boot.loader
    );
    println!(
        "memory: {} MiB usable in {} ranges, {} MiB free; heap {} KiB of {} KiB used",
        frames.total_frames * 4 / 1024,
        frames.ranges,
        (frames.total_frames - frames.used_frames) * 4 / 1024,
        heap_used / 1024,
        heap_size / 1024
    );
    let s = boot.memory.summary();
    println!("memory map: {s}");
    let f = arch::x86_64::cpu::features();
    println!(
        "cpu: PCID {} INVPCID {} SMEP {} SMAP {} UMIP {} NX {} XSAVE {}",
        yes_no(f.pcid),
        yes_no(f.invpcid),
        yes_no(f.smep),
        yes_no(f.smap),
        yes_no(f.umip),
        yes_no(f.nx),
        yes_no(f.xsave)
    );
    println!("time: {}", time::describe());
    println!("symbols: {}", symbols::describe_table());
    for module in boot.modules() {
        println!(
            "module: {} ({} bytes at {:#x})",
            module.name, module.len, module.phys
        );
    }
    println!("--------------------------------------------------------------------");
}

fn yes_no(on: bool) -> &'static str {
    if on {
        "yes"
    } else {
        "no"
    }
}

/// What a normal (non-test) boot does until user space exists: show that
/// the timer ticks, then idle.
#[cfg(not(feature = "test-suite"))]
fn normal_run() -> ! {
    let hz = u64::from(config::options().timer_hz);
    for second in 1..=3u64 {
        time::sleep_ticks(hz);
        println!(
            "timer: {} ticks after {} s (uptime {} ms)",
            time::ticks(),
            second,
            time::uptime_micros() / 1000
        );
    }
    #[cfg(feature = "bench")]
    bench::run_kernel_benches();
    match rootserver::start(boot_info(), None) {
        Ok(root) => {
            let ending = sched::wait(root);
            println!("bulkhead: the root server ended: {ending:?}");
        }
        Err(e) => println!("bulkhead: no root server started: {e}"),
    }
    println!("bulkhead: nothing more to run; idling (quit QEMU with Ctrl-A X)");
    loop {
        sched::sleep_ticks(u64::MAX / 2);
    }
}
