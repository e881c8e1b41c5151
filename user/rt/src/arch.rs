//! Processor-specific helpers the tests need and safe code cannot write.
//!
//! [`sse_round`] fills all sixteen `xmm` registers with a pattern derived
//! from a seed, spins (counting in `own`) until `other` changes or a budget
//! runs out, and stores the registers back. Two threads running it at once
//! on one CPU can only both make progress through preemption, so a pattern
//! that survives while the other thread ran shows that the kernel saves
//! and restores SSE state on a context switch. The target has no SSE in
//! its float ABI, so the compiler itself never touches these registers; the
//! assembly declares them clobbered anyway.

use core::arch::asm;
use core::sync::atomic::AtomicU64;

/// Step between the patterns of consecutive registers.
pub const SSE_PATTERN_STEP: u64 = 0x9e37_79b9_7f4a_7c15;

/// The value `sse_round` puts in both halves of register `index`.
pub fn sse_pattern(seed: u64, index: usize) -> u64 {
    seed.wrapping_add(SSE_PATTERN_STEP.wrapping_mul(index as u64 + 1))
}

/// The outcome of one [`sse_round`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseRound {
    /// Every register still held its pattern at the end.
    pub intact: bool,
    /// `other` changed while the pattern was loaded.
    pub other_ran: bool,
}

/// Runs one round (see the module docs). `budget` bounds the spin.
pub fn sse_round(seed: u64, own: &AtomicU64, other: &AtomicU64, budget: u64) -> SseRound {
    let mut saved = [0u64; 32];
    let other_ran: u64;
    // SAFETY: the assembly reads and writes only the two counters (valid
    // `AtomicU64`s, accessed with aligned 8-byte moves, which are atomic)
    // and `saved` (32 u64s = 16 registers of 16 bytes); it declares every
    // register it changes.
    unsafe {
        asm!(
            "mov {value}, {seed}",
            "add {value}, {step}", "movq xmm0, {value}", "punpcklqdq xmm0, xmm0",
            "add {value}, {step}", "movq xmm1, {value}", "punpcklqdq xmm1, xmm1",
            "add {value}, {step}", "movq xmm2, {value}", "punpcklqdq xmm2, xmm2",
            "add {value}, {step}", "movq xmm3, {value}", "punpcklqdq xmm3, xmm3",
            "add {value}, {step}", "movq xmm4, {value}", "punpcklqdq xmm4, xmm4",
            "add {value}, {step}", "movq xmm5, {value}", "punpcklqdq xmm5, xmm5",
            "add {value}, {step}", "movq xmm6, {value}", "punpcklqdq xmm6, xmm6",
            "add {value}, {step}", "movq xmm7, {value}", "punpcklqdq xmm7, xmm7",
            "add {value}, {step}", "movq xmm8, {value}", "punpcklqdq xmm8, xmm8",
            "add {value}, {step}", "movq xmm9, {value}", "punpcklqdq xmm9, xmm9",
            "add {value}, {step}", "movq xmm10, {value}", "punpcklqdq xmm10, xmm10",
            "add {value}, {step}", "movq xmm11, {value}", "punpcklqdq xmm11, xmm11",
            "add {value}, {step}", "movq xmm12, {value}", "punpcklqdq xmm12, xmm12",
            "add {value}, {step}", "movq xmm13, {value}", "punpcklqdq xmm13, xmm13",
            "add {value}, {step}", "movq xmm14, {value}", "punpcklqdq xmm14, xmm14",
            "add {value}, {step}", "movq xmm15, {value}", "punpcklqdq xmm15, xmm15",
            "mov {start}, qword ptr [{other}]",
            "xor {ran:e}, {ran:e}",
            "2:",
            "inc qword ptr [{own}]",
            "cmp {start}, qword ptr [{other}]",
            "jne 3f",
            "dec {budget}",
            "jnz 2b",
            "jmp 4f",
            "3:",
            "mov {ran:e}, 1",
            "4:",
            "movdqu [{saved}], xmm0",
            "movdqu [{saved} + 16], xmm1",
            "movdqu [{saved} + 32], xmm2",
            "movdqu [{saved} + 48], xmm3",
            "movdqu [{saved} + 64], xmm4",
            "movdqu [{saved} + 80], xmm5",
            "movdqu [{saved} + 96], xmm6",
            "movdqu [{saved} + 112], xmm7",
            "movdqu [{saved} + 128], xmm8",
            "movdqu [{saved} + 144], xmm9",
            "movdqu [{saved} + 160], xmm10",
            "movdqu [{saved} + 176], xmm11",
            "movdqu [{saved} + 192], xmm12",
            "movdqu [{saved} + 208], xmm13",
            "movdqu [{saved} + 224], xmm14",
            "movdqu [{saved} + 240], xmm15",
            seed = in(reg) seed,
            step = in(reg) SSE_PATTERN_STEP,
            own = in(reg) own.as_ptr(),
            other = in(reg) other.as_ptr(),
            saved = in(reg) saved.as_mut_ptr(),
            budget = inout(reg) budget.max(1) => _,
            value = out(reg) _,
            start = out(reg) _,
            ran = out(reg) other_ran,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nostack),
        );
    }
    SseRound {
        intact: patterns_intact(seed, &saved),
        other_ran: other_ran != 0,
    }
}

/// Whether `saved` holds the pattern of `seed` in all 16 registers.
pub fn patterns_intact(seed: u64, saved: &[u64; 32]) -> bool {
    saved
        .chunks_exact(2)
        .enumerate()
        .all(|(i, halves)| halves.iter().all(|&h| h == sse_pattern(seed, i)))
}

/// Stops the calling thread with an invalid-opcode fault (#UD): a
/// deliberate crash, for fault-isolation tests.
pub fn crash_now() -> ! {
    // SAFETY: `ud2` touches no memory; it raises #UD, which ends the thread.
    unsafe { asm!("ud2", options(noreturn, nomem, nostack)) }
}

/// The exploit demonstrations' control-flow bug (test runs of the `ipc`
/// syscall server only): calls `addr` as a function, as a corrupted
/// return address would. Deliberately unsound: any address but a real
/// function faults, which stops the calling thread, and only its own
/// address space is within reach.
pub fn demo_jump(addr: u64) -> u64 {
    // SAFETY: none; this is the bug being demonstrated. The damage stays
    // inside this process: a fault stops its thread.
    let target: extern "C" fn() -> u64 = unsafe { core::mem::transmute(addr as usize) };
    target()
}

/// The demonstrations' stray-pointer bug: reads 8 bytes at `addr`.
/// Deliberately unsound in the same way as [`demo_jump`].
pub fn demo_peek(addr: u64) -> u64 {
    // SAFETY: none; the bug being demonstrated (a fault stops the thread).
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_alone_keeps_its_pattern_and_sees_no_other() {
        let (own, other) = (AtomicU64::new(0), AtomicU64::new(0));
        let round = sse_round(42, &own, &other, 1000);
        assert_eq!(
            round,
            SseRound {
                intact: true,
                other_ran: false
            }
        );
        assert_eq!(own.into_inner(), 1000);
    }

    #[test]
    fn patterns_are_checked_per_half() {
        let mut saved = [0u64; 32];
        for (i, pair) in saved.chunks_exact_mut(2).enumerate() {
            pair.fill(sse_pattern(7, i));
        }
        assert!(patterns_intact(7, &saved));
        saved[31] ^= 1;
        assert!(!patterns_intact(7, &saved));
    }
}
