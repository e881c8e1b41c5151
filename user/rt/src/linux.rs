//! Linux system calls from a container member thread, for tests.
//!
//! A thread that joined a container makes Linux calls: number in `rax`,
//! arguments in `rdi rsi rdx r10 r8 r9`, result in `rax`, and every other
//! register except `rcx` and `r11` preserved (see
//! `bulkhead_abi::container`). [`syscall`] makes one such call;
//! [`syscall_keeping_registers`] also loads distinct patterns into every
//! register the convention preserves and reports any it finds changed.
//! Both pass integers only, so they are as safe as [`crate::sys`]: what a
//! server does with a number that happens to be an address of ours is a
//! write through its address-space capability, like `space_write`.

/// Makes Linux call `number` with `args`; returns `rax`.
pub fn syscall(number: u64, args: [u64; 6]) -> i64 {
    let [a0, a1, a2, a3, a4, a5] = args;
    let result: u64;
    // SAFETY: the Linux convention: only rax, rcx and r11 change; no
    // memory of ours is passed except as integers.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3, in("r8") a4, in("r9") a5,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result as i64
}

/// Like [`syscall`], with r12..r15 loaded with patterns; returns `rax`, or
/// the name of the first register (argument or pattern) that changed.
pub fn syscall_keeping_registers(number: u64, args: [u64; 6]) -> Result<i64, &'static str> {
    const PATTERNS: [u64; 4] = [
        0x1212_1212_1212_1212,
        0x1313_1313_1313_1313,
        0x1414_1414_1414_1414,
        0x1515_1515_1515_1515,
    ];
    let [mut a0, mut a1, mut a2, mut a3, mut a4, mut a5] = args;
    let [mut p12, mut p13, mut p14, mut p15] = PATTERNS;
    let result: u64;
    // SAFETY: as in `syscall`; the pattern registers are declared inout so
    // the compiler expects them to change (the test is whether they did).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number => result,
            inout("rdi") a0, inout("rsi") a1, inout("rdx") a2,
            inout("r10") a3, inout("r8") a4, inout("r9") a5,
            inout("r12") p12, inout("r13") p13, inout("r14") p14, inout("r15") p15,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    let names = [
        "rdi", "rsi", "rdx", "r10", "r8", "r9", "r12", "r13", "r14", "r15",
    ];
    let after = [a0, a1, a2, a3, a4, a5, p12, p13, p14, p15];
    let before = [
        args[0],
        args[1],
        args[2],
        args[3],
        args[4],
        args[5],
        PATTERNS[0],
        PATTERNS[1],
        PATTERNS[2],
        PATTERNS[3],
    ];
    match names
        .iter()
        .zip(after.iter().zip(before))
        .find(|(_, (a, b))| **a != *b)
    {
        Some((name, _)) => Err(name),
        None => Ok(result as i64),
    }
}
