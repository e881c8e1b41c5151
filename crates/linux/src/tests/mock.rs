//! A mock backend and a test harness.
//!
//! [`MockBackend`] keeps the app's memory as a sparse map of 4 KiB pages,
//! each with its protection, and checks every access the way the real
//! backends must: a byte that is unmapped (or not readable / writable) is
//! `EFAULT`. It caps the number of pages so a test can prove that huge
//! requests fail cleanly instead of exhausting the host. Clocks advance by
//! a fixed step per reading, randomness is a deterministic xorshift, and
//! console output and log lines are captured for assertions.
//!
//! [`Harness`] bundles a container, one process and the mock, with a bump
//! allocator in a mapped scratch area for building syscall arguments.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;

use crate::{
    handle, Backend, Container, Errno, Fs, MemoryLayout, Outcome, Process, Prot, PAGE_SIZE,
};

pub const SCRATCH: u64 = 0x10_0000;
pub const SCRATCH_PAGES: u64 = 256;
pub const IMAGE_END: u64 = 0x40_0123;
pub const MMAP_BASE: u64 = 0x7f00_0000_0000;
pub const MMAP_END: u64 = 0x7ff0_0000_0000;
pub const PAGE_BUDGET: usize = 8192;

type Page = (Box<[u8; 4096]>, Prot);

pub struct MockBackend {
    pub pages: BTreeMap<u64, Page>,
    pub console_out: Vec<u8>,
    pub console_in: Vec<u8>,
    pub logs: Vec<String>,
    pub fs_base: u64,
    pub clock_ns: u64,
    pub slept_ns: u64,
    pub random_state: u64,
}

impl MockBackend {
    pub fn new() -> MockBackend {
        MockBackend {
            pages: BTreeMap::new(),
            console_out: Vec::new(),
            console_in: Vec::new(),
            logs: Vec::new(),
            fs_base: 0,
            clock_ns: 1_000_000_000,
            slept_ns: 0,
            random_state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Visits each page piece of `[addr, addr+len)`, checking access.
    fn for_each_piece(
        &mut self,
        addr: u64,
        len: usize,
        need_write: bool,
        mut visit: impl FnMut(&mut [u8; 4096], usize, usize, usize),
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        // Check everything first so a failed copy changes nothing.
        let mut cursor = addr;
        while cursor < end {
            let page = cursor - cursor % PAGE_SIZE;
            match self.pages.get(&page) {
                Some((_, prot)) if prot.read && (!need_write || prot.write) => {}
                _ => return Err(Errno::EFAULT),
            }
            cursor = page + PAGE_SIZE;
        }
        let mut cursor = addr;
        let mut done = 0usize;
        while cursor < end {
            let page = cursor - cursor % PAGE_SIZE;
            let in_page = (cursor - page) as usize;
            let take = ((PAGE_SIZE - (cursor - page)).min(end - cursor)) as usize;
            let (bytes, _) = self.pages.get_mut(&page).ok_or(Errno::EFAULT)?;
            visit(bytes, in_page, done, take);
            done += take;
            cursor += take as u64;
        }
        Ok(())
    }

    /// Reads app memory ignoring protection (for assertions).
    pub fn peek(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        for offset in 0..len as u64 {
            let at = addr + offset;
            let (bytes, _) = self.pages.get(&(at - at % PAGE_SIZE))?;
            out.push(bytes[(at % PAGE_SIZE) as usize]);
        }
        Some(out)
    }

    pub fn prot_at(&self, addr: u64) -> Option<Prot> {
        self.pages
            .get(&(addr - addr % PAGE_SIZE))
            .map(|(_, prot)| *prot)
    }
}

impl Backend for MockBackend {
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.for_each_piece(addr, buf.len(), false, |page, in_page, done, take| {
            buf[done..done + take].copy_from_slice(&page[in_page..in_page + take]);
        })
    }

    fn write_user(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.for_each_piece(addr, data.len(), true, |page, in_page, done, take| {
            page[in_page..in_page + take].copy_from_slice(&data[done..done + take]);
        })
    }

    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        assert_eq!(addr % PAGE_SIZE, 0, "map of unaligned address");
        assert_eq!(len % PAGE_SIZE, 0, "map of unaligned length");
        let count = len / PAGE_SIZE;
        if count as usize > PAGE_BUDGET.saturating_sub(self.pages.len()) {
            return Err(Errno::ENOMEM);
        }
        for index in 0..count {
            let page = addr + index * PAGE_SIZE;
            assert!(
                !self.pages.contains_key(&page),
                "map over a mapped page {page:#x}"
            );
            self.pages.insert(page, (Box::new([0; 4096]), prot));
        }
        Ok(())
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        assert_eq!(addr % PAGE_SIZE, 0);
        assert!(
            len / PAGE_SIZE <= 1 << 20,
            "unmap of a huge range was passed to the backend"
        );
        let end = addr.saturating_add(len);
        let doomed: Vec<u64> = self.pages.range(addr..end).map(|(page, _)| *page).collect();
        for page in doomed {
            self.pages.remove(&page);
        }
        Ok(())
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        let end = addr.saturating_add(len);
        for (_, (_, page_prot)) in self.pages.range_mut(addr..end) {
            *page_prot = prot;
        }
        Ok(())
    }

    fn set_fs_base(&mut self, base: u64) -> Result<(), Errno> {
        self.fs_base = base;
        Ok(())
    }

    fn console_write(&mut self, bytes: &[u8]) {
        self.console_out.extend_from_slice(bytes);
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let count = buf.len().min(self.console_in.len());
        buf[..count].copy_from_slice(&self.console_in[..count]);
        self.console_in.drain(..count);
        count
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.clock_ns = self.clock_ns.saturating_add(1000);
        self.clock_ns
    }

    fn realtime_ns(&mut self) -> u64 {
        self.clock_ns = self.clock_ns.saturating_add(1000);
        self.clock_ns.saturating_add(1_700_000_000_000_000_000)
    }

    fn sleep_ns(&mut self, ns: u64) {
        self.slept_ns = self.slept_ns.saturating_add(ns);
        self.clock_ns = self.clock_ns.saturating_add(ns);
    }

    fn random(&mut self, buf: &mut [u8]) {
        for byte in buf {
            let mut x = self.random_state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.random_state = x;
            *byte = x as u8;
        }
    }

    fn log(&mut self, message: core::fmt::Arguments<'_>) {
        self.logs.push(std::format!("{message}"));
    }
}

pub struct Harness {
    pub container: Container,
    pub process: Process,
    pub backend: MockBackend,
    next_scratch: u64,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_fs(Fs::new())
    }

    pub fn with_fs(fs: Fs) -> Harness {
        let mut container = Container::new("test", fs);
        let layout = MemoryLayout {
            mmap_base: MMAP_BASE,
            mmap_end: MMAP_END,
        };
        let mut process = container.new_process(None, layout);
        let mut backend = MockBackend::new();
        backend
            .map(SCRATCH, SCRATCH_PAGES * PAGE_SIZE, Prot::READ_WRITE)
            .unwrap();
        process.note_mapping(SCRATCH, SCRATCH_PAGES * PAGE_SIZE, Prot::READ_WRITE);
        process.set_brk_start(IMAGE_END);
        Harness {
            container,
            process,
            backend,
            next_scratch: SCRATCH,
        }
    }

    pub fn outcome(&mut self, nr: u64, args: &[u64]) -> Outcome {
        let mut all = [0u64; 6];
        all[..args.len()].copy_from_slice(args);
        handle(
            &mut self.container,
            &mut self.process,
            &mut self.backend,
            nr,
            all,
        )
    }

    /// Runs a syscall that must return (not exit).
    pub fn sys(&mut self, nr: u64, args: &[u64]) -> i64 {
        match self.outcome(nr, args) {
            Outcome::Return(value) => value,
            Outcome::Exit(status) => panic!("syscall {nr} exited with {status}"),
        }
    }

    /// Scratch memory for arguments (8-byte aligned, zeroed).
    pub fn alloc(&mut self, len: usize) -> u64 {
        let addr = self.next_scratch;
        self.next_scratch = (addr + len as u64 + 7) & !7;
        assert!(
            self.next_scratch <= SCRATCH + SCRATCH_PAGES * PAGE_SIZE,
            "scratch exhausted"
        );
        self.backend.write_user(addr, &std::vec![0; len]).unwrap();
        addr
    }

    pub fn bytes(&mut self, data: &[u8]) -> u64 {
        let addr = self.alloc(data.len());
        self.backend.write_user(addr, data).unwrap();
        addr
    }

    pub fn cstr(&mut self, text: &str) -> u64 {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        self.bytes(&data)
    }

    pub fn mem(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = std::vec![0; len];
        self.backend.read_user(addr, &mut buf).unwrap();
        buf
    }

    pub fn u64_at(&mut self, addr: u64) -> u64 {
        u64::from_le_bytes(self.mem(addr, 8).try_into().unwrap())
    }

    pub fn open(&mut self, path: &str, flags: u64, mode: u64) -> i64 {
        let path = self.cstr(path);
        self.sys(2, &[path, flags, mode])
    }

    pub fn write_fd(&mut self, fd: i64, data: &[u8]) -> i64 {
        let buf = self.bytes(data);
        self.sys(1, &[fd as u64, buf, data.len() as u64])
    }

    pub fn read_fd(&mut self, fd: i64, len: usize) -> (i64, Vec<u8>) {
        let buf = self.alloc(len);
        let result = self.sys(0, &[fd as u64, buf, len as u64]);
        let got = if result > 0 {
            self.mem(buf, result as usize)
        } else {
            Vec::new()
        };
        (result, got)
    }

    /// `stat` a path and return the 144-byte buffer, or the error.
    pub fn stat(&mut self, path: &str) -> Result<Vec<u8>, i64> {
        let path = self.cstr(path);
        let buf = self.alloc(144);
        match self.sys(4, &[path, buf]) {
            0 => Ok(self.mem(buf, 144)),
            error => Err(error),
        }
    }

    pub fn path_call(&mut self, nr: u64, path: &str, rest: &[u64]) -> i64 {
        let path = self.cstr(path);
        let mut args = std::vec![path];
        args.extend_from_slice(rest);
        self.sys(nr, &args)
    }
}

/// A field of a stat buffer.
pub fn stat_field(stat: &[u8], offset: usize, width: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..width].copy_from_slice(&stat[offset..offset + width]);
    u64::from_le_bytes(bytes)
}

pub fn err(errno: Errno) -> i64 {
    errno.as_return()
}

impl Harness {
    pub fn backend_write(&mut self, addr: u64, data: &[u8]) {
        self.backend.write_user(addr, data).unwrap();
    }
}
