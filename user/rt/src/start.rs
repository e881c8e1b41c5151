//! Start code and the panic handler.
//!
//! [`entry!`](crate::entry) defines the ELF entry point `_start` in the
//! program crate: a naked function (the kernel enters with `rsp` wherever
//! the loader put the stack and the start argument in `rdi`) that clears
//! the frame pointer, aligns the stack to 16 bytes as the SysV ABI expects
//! before a `call`, and calls a Rust function with `rdi` untouched. That
//! function records the program's name (for panic reports), runs
//! `main(argument) -> i32` and ends the thread with the code.
//!
//! A panic prints `PANIC in <program>: <message> at <file>:<line>` on the
//! console and ends the panicking thread (only it) with [`PANIC_EXIT_CODE`].

use spin::Once;

use crate::sys;

/// Exit code of a thread that panicked.
pub const PANIC_EXIT_CODE: u64 = 101;

static PROGRAM: Once<&'static str> = Once::new();

/// The program's name as given to [`run`] (its Cargo package name).
pub fn program_name() -> &'static str {
    PROGRAM.get().copied().unwrap_or("?")
}

/// Sign-extends an `i32` exit code into the exit-code register.
pub fn exit_code(code: i32) -> u64 {
    i64::from(code) as u64
}

/// The Rust half of `_start`: runs `main` and exits with its code.
pub fn run(argument: u64, program: &'static str, main: fn(u64) -> i32) -> ! {
    PROGRAM.call_once(|| program);
    let code = main(argument);
    sys::thread_exit(exit_code(code))
}

/// Defines the program's entry point `_start`, which calls `$main(arg: u64)
/// -> i32` with the kernel's start argument and exits with its result.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        extern "C" fn __bulkhead_rust_start(argument: u64) -> ! {
            $crate::start::run(argument, env!("CARGO_PKG_NAME"), $main)
        }

        /// The ELF entry point: aligns the stack and calls the Rust start.
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() -> ! {
            ::core::arch::naked_asm!(
                "xor ebp, ebp",
                "and rsp, -16",
                "call {rust_start}",
                "ud2",
                rust_start = sym __bulkhead_rust_start,
            )
        }
    };
}

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let (file, line) = info
        .location()
        .map_or(("?", 0), |place| (place.file(), place.line()));
    crate::println!(
        "PANIC in {}: {} at {}:{}",
        program_name(),
        info.message(),
        file,
        line
    );
    sys::thread_exit(PANIC_EXIT_CODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_exit_codes_sign_extend() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(1), 1);
        assert_eq!(exit_code(-1), u64::MAX);
    }
}
