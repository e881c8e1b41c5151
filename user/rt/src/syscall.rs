//! Raw system-call stubs: one `syscall` instruction each, following the
//! register convention of `bulkhead_abi` (number in `rax`, arguments in
//! `rdi, rsi, rdx, r10, r8, r9`; status back in `rax`, results in `rdi, rsi,
//! rdx`; `rcx` and `r11` are destroyed by the instruction; every other
//! register is preserved by the kernel).
//!
//! The stubs are `unsafe`: a raw call can hand the kernel any pointer, and
//! calls such as `SpaceRead` or `ConsoleRead` write through it. The typed
//! wrappers in [`crate::sys`] are the safe interface. Numbers always come
//! from [`Syscall`], never from literals.

use core::arch::asm;

use bulkhead_abi::{Error, Syscall};

/// The three result registers of a successful call.
pub type Results = [u64; 3];

/// Turns the status register into `Ok(results)` or the matching [`Error`].
///
/// A status this runtime does not know (a newer kernel) is reported as
/// [`Error::InvalidArgument`] rather than being mistaken for success.
pub fn decode_status(status: u64, results: Results) -> Result<Results, Error> {
    match status {
        0 => Ok(results),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// Makes a call with no arguments.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall0(call: Syscall) -> Result<Results, Error> {
    // SAFETY: forwarded contract; unused argument registers are zero.
    unsafe { syscall6(call, 0, 0, 0, 0, 0, 0) }
}

/// Makes a call with one argument.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall1(call: Syscall, a0: u64) -> Result<Results, Error> {
    // SAFETY: forwarded contract; unused argument registers are zero.
    unsafe { syscall6(call, a0, 0, 0, 0, 0, 0) }
}

/// Makes a call with two arguments.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall2(call: Syscall, a0: u64, a1: u64) -> Result<Results, Error> {
    // SAFETY: forwarded contract; unused argument registers are zero.
    unsafe { syscall6(call, a0, a1, 0, 0, 0, 0) }
}

/// Makes a call with three arguments.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall3(call: Syscall, a0: u64, a1: u64, a2: u64) -> Result<Results, Error> {
    // SAFETY: forwarded contract; unused argument registers are zero.
    unsafe { syscall6(call, a0, a1, a2, 0, 0, 0) }
}

/// Makes a call with four arguments.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall4(
    call: Syscall,
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
) -> Result<Results, Error> {
    // SAFETY: forwarded contract; unused argument registers are zero.
    unsafe { syscall6(call, a0, a1, a2, a3, 0, 0) }
}

/// Makes a call with five arguments.
///
/// # Safety
/// See [`syscall6`].
pub unsafe fn syscall5(
    call: Syscall,
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
) -> Result<Results, Error> {
    // SAFETY: forwarded contract; the unused argument register is zero.
    unsafe { syscall6(call, a0, a1, a2, a3, a4, 0) }
}

/// Makes a call with six arguments.
///
/// # Safety
/// Every pointer argument must be valid for what `call` does with it (read
/// or written, for the given length), and the call must not change memory
/// or mappings the program relies on (unmapping its own stack, for
/// example). Calls that only read user memory or take no pointers are
/// always sound.
pub unsafe fn syscall6(
    call: Syscall,
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
) -> Result<Results, Error> {
    let status: u64;
    let (r0, r1, r2): (u64, u64, u64);
    // SAFETY: the kernel follows the ABI register convention: it reads the
    // declared inputs, writes rax/rdi/rsi/rdx, destroys rcx/r11 and keeps
    // everything else, including the stack. Memory effects are the
    // caller's contract above.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") call as u64 => status,
            inlateout("rdi") a0 => r0,
            inlateout("rsi") a1 => r1,
            inlateout("rdx") a2 => r2,
            in("r10") a3,
            in("r8") a4,
            in("r9") a5,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    decode_status(status, [r0, r1, r2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_status_is_success() {
        assert_eq!(decode_status(0, [1, 2, 3]), Ok([1, 2, 3]));
    }

    #[test]
    fn error_codes_decode() {
        for e in Error::ALL {
            assert_eq!(decode_status(e as u64, [0; 3]), Err(e));
        }
        assert_eq!(decode_status(9999, [0; 3]), Err(Error::InvalidArgument));
    }
}
