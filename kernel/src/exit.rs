//! Ending a run: QEMU's `isa-debug-exit` device and Bochs' shutdown port.
//!
//! QEMU exits with status `(v << 1) | 1` when the guest writes `v` to port
//! 0xf4, so [`SUCCESS`] gives 33 and [`FAILURE`] 35, and a triple fault or
//! a reset (QEMU runs with `-no-reboot`) gives 0: the host side can tell
//! all of them apart. Bochs has no such device; it stops when the bytes of
//! `Shutdown` reach port 0x8900, so the exit line printed before it carries
//! the value.

use x86_64::instructions::port::Port;

/// QEMU's `isa-debug-exit` port.
pub const QEMU_EXIT_PORT: u16 = 0xf4;
/// Bochs' shutdown port.
pub const BOCHS_SHUTDOWN_PORT: u16 = 0x8900;

/// Value written for a run in which everything passed.
pub const SUCCESS: u32 = 0x10;
/// Value written for a failed run (failed test, panic).
pub const FAILURE: u32 = 0x11;

/// Ends the run with `code`: prints it, drains the UART, then tries QEMU's
/// debug-exit port and Bochs' shutdown port, and halts if neither stopped
/// the machine (real hardware).
pub fn exit(code: u32) -> ! {
    crate::serial::print_emergency(format_args!("bulkhead: exit code {code:#x}\n"));
    crate::serial::drain();
    // SAFETY: port 0xf4 is QEMU's debug-exit device (absent ports ignore
    // writes) and 0x8900 is Bochs' shutdown port; neither touches memory.
    unsafe {
        Port::<u32>::new(QEMU_EXIT_PORT).write(code);
        let mut bochs = Port::<u8>::new(BOCHS_SHUTDOWN_PORT);
        for byte in b"Shutdown" {
            bochs.write(*byte);
        }
    }
    crate::arch::halt_forever()
}
