//! Ending a whole run from user land: the root server reports the verdict
//! to the emulator through the exit I/O-port capability. QEMU's
//! `isa-debug-exit` device at port 0xf4 exits with `(v << 1) | 1`, so
//! [`EXIT_SUCCESS`] gives status 33 and [`EXIT_FAILURE`] 35 (the values
//! `tools/runner` expects); Bochs shuts down on the bytes of `Shutdown`
//! written to port 0x8900. The kernel gives the root server the two ports
//! as separate capabilities (`root_slots::EXIT_PORTS`, `BOCHS_PORT`), so
//! [`exit_emulator`] takes both; [`exit_qemu`] uses one capability for
//! both. If neither device is present the thread exits.
//!
//! Before touching the ports it prints `bulkhead: exit code 0x10` (or
//! `0x11`), the same line the kernel's own exit prints: Bochs has no exit
//! status to carry the verdict, so `bulkhead-runner bochs` reads it from that
//! line. The kernel drains the UART before any write to port 0xf4, so the
//! line is on the wire before `Shutdown` stops Bochs.

use bulkhead_abi::CapRef;

use crate::sys::{self, PortWidth};

/// `isa-debug-exit` port.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Bochs' shutdown port.
pub const BOCHS_SHUTDOWN_PORT: u16 = 0x8900;
/// Value for a successful run.
pub const EXIT_SUCCESS: u32 = 0x10;
/// Value for a failed run.
pub const EXIT_FAILURE: u32 = 0x11;

/// Ends the emulator run with the given verdict through one port
/// capability covering both devices, then ends the thread.
pub fn exit_qemu(ports: CapRef, success: bool) -> ! {
    exit_emulator(ports, ports, success)
}

/// Prints the exit-code line, writes the verdict to `isa-debug-exit` through
/// `debug_exit` (QEMU stops here), then `Shutdown` to Bochs through `bochs`,
/// then ends the thread.
pub fn exit_emulator(debug_exit: CapRef, bochs: CapRef, success: bool) -> ! {
    let value = if success { EXIT_SUCCESS } else { EXIT_FAILURE };
    crate::println!("bulkhead: exit code {value:#x}");
    let _ = sys::port_write(debug_exit, DEBUG_EXIT_PORT, PortWidth::Dword, value);
    for byte in b"Shutdown" {
        let _ = sys::port_write(
            bochs,
            BOCHS_SHUTDOWN_PORT,
            PortWidth::Byte,
            u32::from(*byte),
        );
    }
    sys::thread_exit(if success { 0 } else { 1 })
}
