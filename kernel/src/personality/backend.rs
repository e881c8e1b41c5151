//! The personality's backend in the kernel: the calling app's memory
//! through the user-copy routines (the app's page table is live, so a
//! copy is a checked `memcpy`), its pages through the address-space
//! object, its FS base in its thread record, the serial console, the
//! kernel's clock.
//!
//! Every operation that touches shared kernel state (the object table,
//! frames, the scheduler, the console) is a *kernel service*: it runs on
//! the shared heap, outside the container's arena, and (under SCI) on the
//! full kernel page table, through [`kernel_service`]. The personality's
//! own code never reaches that state directly.

use super::serve::kernel_service;
use crate::object::{memory, space, Kernel, ObjRef, Object, KERNEL};
use crate::sched::{self, ThreadId};
use crate::usercopy::{copy_from_user, copy_to_user, USlice};
use alloc::vec::Vec;
use bulkhead_abi::{Error, Rights, USER_END, USER_START};
use bulkhead_linux::host::{self, AppPages, ConsoleLine, PageError, Random, EPOCH_AT_BOOT_NS};
use bulkhead_linux::{Backend, Errno, Prot};
use core::fmt;

/// What the backend of one syscall reaches.
pub struct KernelBackend<'a> {
    pub name: &'a str,
    pub thread: ThreadId,
    pub console: &'a mut ConsoleLine,
    pub random: &'a mut Random,
    /// A sleep the syscall asked for: taken after the personality returns
    /// (nothing blocks inside it).
    pub sleep_ns: Option<u64>,
}

/// Prints one line of an app's output as `[name] line`.
pub fn print_line(name: &str, line: &[u8]) {
    kernel_service(|| {
        let mut text = Vec::with_capacity(line.len() + name.len() + 4);
        text.push(b'[');
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(b"] ");
        text.extend_from_slice(line);
        if text.last() != Some(&b'\n') {
            text.push(b'\n');
        }
        crate::serial::write_bytes(&text);
    });
}

fn page_error(error: Error) -> PageError {
    match error {
        Error::NotMapped => PageError::NotMapped,
        e => PageError::Errno(Errno(e.linux_errno())),
    }
}

fn rights_of(prot: Prot) -> Rights {
    Rights::for_mapping(prot.write, prot.exec)
}

/// The app's address space, with the object lock held.
fn with_space<R>(
    thread: ThreadId,
    f: impl FnOnce(&mut Kernel, ObjRef) -> Result<R, Error>,
) -> Result<R, PageError> {
    kernel_service(|| {
        let mut k = KERNEL.lock();
        let space = k.threads.get(&thread).ok_or(Error::BadState)?.space;
        f(&mut k, space)
    })
    .map_err(page_error)
}

/// The quota the app's address space charges its page tables to, which
/// pays for its pages too (the launcher made the space from the apps'
/// quota).
fn space_quota(k: &Kernel, space: ObjRef) -> Result<ObjRef, Error> {
    match k.get(space) {
        Some(Object::Space(s)) => s.quota.ok_or(Error::BadState),
        _ => Err(Error::WrongType),
    }
}

impl AppPages for KernelBackend<'_> {
    fn map_fresh(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError> {
        with_space(self.thread, |k, s| {
            let q = space_quota(k, s)?;
            let f = memory::alloc_frames(k, q, count)?;
            // The mapping's references keep the frames; with none (the
            // map failed) this reference's release frees them.
            k.add_ref(f);
            let mapped = space::map(k, s, f, Rights::ALL, 0, count, addr, rights_of(prot));
            k.release(f);
            mapped
        })
    }

    fn unmap_pages(&mut self, addr: u64, count: u64) -> Result<(), PageError> {
        with_space(self.thread, |k, s| space::unmap(k, s, addr, count))
    }

    fn protect_pages(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError> {
        with_space(self.thread, |k, s| {
            space::protect(k, s, addr, count, rights_of(prot))
        })
    }
}

impl Backend for KernelBackend<'_> {
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let src = USlice::new(addr, buf.len() as u64).map_err(|_| Errno::EFAULT)?;
        copy_from_user(buf, src).map_err(|_| Errno::EFAULT)
    }

    fn write_user(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let dst = USlice::new(addr, data.len() as u64).map_err(|_| Errno::EFAULT)?;
        // CR0.WP is set: a read-only page faults, and the copy says EFAULT.
        copy_to_user(dst, data).map_err(|_| Errno::EFAULT)
    }

    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        host::map(self, addr, len, prot)
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        host::unmap(self, addr, len)
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        host::protect(self, addr, len, prot)
    }

    fn set_fs_base(&mut self, base: u64) -> Result<(), Errno> {
        if !(base == 0 || (USER_START..USER_END).contains(&base)) {
            return Err(Errno::EPERM);
        }
        let thread = self.thread;
        kernel_service(|| {
            sched::with_thread(thread, |t| t.fs_base = base);
            x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new(base));
        });
        Ok(())
    }

    fn console_write(&mut self, bytes: &[u8]) {
        let name = self.name;
        self.console.push(bytes, |line| print_line(name, line));
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        kernel_service(|| {
            let mut n = 0;
            while n < buf.len() {
                match crate::serial::try_read() {
                    Some(b) => {
                        buf[n] = b;
                        n += 1;
                    }
                    None => break,
                }
            }
            n
        })
    }

    fn monotonic_ns(&mut self) -> u64 {
        kernel_service(crate::time::uptime_nanos)
    }

    fn realtime_ns(&mut self) -> u64 {
        EPOCH_AT_BOOT_NS.saturating_add(self.monotonic_ns())
    }

    fn sleep_ns(&mut self, ns: u64) {
        self.sleep_ns = Some(ns);
    }

    fn random(&mut self, buf: &mut [u8]) {
        self.random.fill(buf);
    }

    fn log(&mut self, message: fmt::Arguments<'_>) {
        let name = self.name;
        kernel_service(|| crate::println!("[{name}] linux: {message}"));
    }
}
