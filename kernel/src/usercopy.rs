//! All copying between kernel and user memory happens here.
//!
//! A user pointer arrives as a [`USlice`]: an address and a length that are
//! untrusted until [`USlice::new`] has checked that the whole range lies in
//! the user half (so no user pointer can name kernel memory, whatever the
//! page tables say). The copy itself may still fault (the page is unmapped,
//! or read-only for a write): the copy routine is a single `rep movsb`
//! whose address range the page-fault handler recognises, and a fault there
//! resumes at a fix-up that makes the copy return an error instead of
//! panicking. With SMAP the routine opens user access with `stac` for
//! exactly the copy and closes it with `clac`.

use bulkhead_abi::{Error, USER_END, USER_START};
use core::arch::global_asm;
use core::marker::PhantomData;

/// Longest single copy accepted (a sanity bound on lengths from user space).
pub const MAX_COPY: u64 = 1 << 30;

/// An unchecked-until-constructed range of user memory holding `T`s.
#[derive(Clone, Copy, Debug)]
pub struct USlice<T> {
    addr: u64,
    len: u64,
    _elem: PhantomData<T>,
}

impl<T> USlice<T> {
    /// Checks that `count` elements at `addr` lie entirely in user space,
    /// are aligned for `T`, and that the size is within [`MAX_COPY`].
    pub fn new(addr: u64, count: u64) -> Result<Self, Error> {
        let size = core::mem::size_of::<T>() as u64;
        let bytes = count.checked_mul(size).ok_or(Error::BadAddress)?;
        if bytes > MAX_COPY {
            return Err(Error::InvalidArgument);
        }
        let end = addr.checked_add(bytes).ok_or(Error::BadAddress)?;
        if bytes > 0 && (addr < USER_START || end > USER_END) {
            return Err(Error::BadAddress);
        }
        if !addr.is_multiple_of(core::mem::align_of::<T>() as u64) {
            return Err(Error::InvalidArgument);
        }
        Ok(Self {
            addr,
            len: count,
            _elem: PhantomData,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The user address.
    pub fn addr(&self) -> u64 {
        self.addr
    }
}

// In the entry section: System Call Isolation keeps it mapped in every
// restricted page table (it is how syscall code reaches the app's memory).
global_asm!(
    r#"
    .section .text.entry, "ax"
    .balign 16
.global usercopy_begin
.global usercopy_end
.global usercopy_fixup
/* copy_user_bytes(dst = rdi, src = rsi, len = rdx, smap = rcx) -> rax = 0 | 1 */
.global copy_user_bytes
copy_user_bytes:
    mov %rcx, %r8
    test %r8, %r8
    jz 1f
    stac
1:  mov %rdx, %rcx
usercopy_begin:
    rep movsb
usercopy_end:
    xor %eax, %eax
    jmp 2f
usercopy_fixup:
    mov $1, %eax
2:
    test %r8, %r8
    jz 3f
    clac
3:  ret
    "#,
    options(att_syntax)
);

extern "C" {
    fn copy_user_bytes(dst: *mut u8, src: *const u8, len: u64, smap: u64) -> u64;
    static usercopy_begin: u8;
    static usercopy_end: u8;
    static usercopy_fixup: u8;
}

/// Enables `stac`/`clac` around user copies if the CPU has SMAP.
pub fn init() {
    let on = crate::arch::x86_64::cpu::features().smap;
    crate::arch::x86_64::percpu::set_smap(u64::from(on));
}

/// If `rip` is the copy instruction, the address to resume at after a
/// fault there (used by the page-fault handler).
pub fn fixup_for(rip: u64) -> Option<u64> {
    let begin = core::ptr::addr_of!(usercopy_begin) as u64;
    let end = core::ptr::addr_of!(usercopy_end) as u64;
    (begin..end)
        .contains(&rip)
        .then_some(core::ptr::addr_of!(usercopy_fixup) as u64)
}

fn copy(dst: *mut u8, src: *const u8, len: u64) -> Result<(), Error> {
    // In the per-CPU area, which restricted page tables map.
    let smap = crate::arch::x86_64::percpu::smap();
    // SAFETY: one side is a checked user range (a fault there is caught by
    // the fix-up), the other a kernel buffer of at least `len` bytes.
    match unsafe { copy_user_bytes(dst, src, len, smap) } {
        0 => Ok(()),
        _ => Err(Error::BadAddress),
    }
}

/// Copies `dst.len()` bytes from user memory.
pub fn copy_from_user(dst: &mut [u8], src: USlice<u8>) -> Result<(), Error> {
    if (dst.len() as u64) > src.len() {
        return Err(Error::InvalidArgument);
    }
    copy(dst.as_mut_ptr(), src.addr() as *const u8, dst.len() as u64)
}

/// Copies `src` into user memory.
pub fn copy_to_user(dst: USlice<u8>, src: &[u8]) -> Result<(), Error> {
    if (src.len() as u64) > dst.len() {
        return Err(Error::InvalidArgument);
    }
    copy(dst.addr() as *mut u8, src.as_ptr(), src.len() as u64)
}
