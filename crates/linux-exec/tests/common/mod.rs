//! Test helpers: a mock address space and small ELF images.
//!
//! `MockTarget` keeps a sparse map of 4 KiB pages. It rejects what a real
//! address space would reject (misaligned or overlapping maps, writes to
//! unmapped or read-only pages, protecting unmapped pages) and records
//! every call, so tests can check both the result and the order of work.

#![allow(dead_code)]

use std::collections::BTreeMap;

use bulkhead_elf::builder::ImageBuilder;
use bulkhead_linux_exec::{ExecConfig, Prot};

pub const PAGE: u64 = 4096;
/// At most this many pages (16 MiB) may be mapped in a mock.
pub const PAGE_BUDGET: u64 = 4096;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;
pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Map(u64, u64, Prot),
    Write(u64, usize),
    Protect(u64, u64, Prot),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockError {
    Misaligned,
    AlreadyMapped(u64),
    NotMapped(u64),
    ReadOnly(u64),
    Injected,
    /// More than `PAGE_BUDGET` pages requested (a real space has a quota).
    OutOfMemory,
}

struct Page {
    bytes: Vec<u8>,
    prot: Prot,
}

#[derive(Default)]
pub struct MockTarget {
    pages: BTreeMap<u64, Page>,
    pub calls: Vec<Call>,
    /// Fail the call with this index (0-based), to test error propagation.
    pub fail_at: Option<usize>,
}

impl MockTarget {
    pub fn new() -> Self {
        Self::default()
    }

    /// A target whose call number `index` (0-based) fails.
    pub fn failing_at(index: usize) -> Self {
        MockTarget {
            fail_at: Some(index),
            ..Self::default()
        }
    }

    /// Reads `len` bytes at `addr`, if every page is mapped.
    pub fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        (0..len as u64)
            .map(|i| {
                let at = addr + i;
                let page = self.pages.get(&(at & !(PAGE - 1)))?;
                Some(page.bytes[(at % PAGE) as usize])
            })
            .collect()
    }

    pub fn prot_at(&self, addr: u64) -> Option<Prot> {
        self.pages.get(&(addr & !(PAGE - 1))).map(|page| page.prot)
    }

    pub fn mapped_pages(&self) -> usize {
        self.pages.len()
    }

    fn injected(&mut self, call: Call) -> Result<(), MockError> {
        let index = self.calls.len();
        self.calls.push(call);
        if self.fail_at == Some(index) {
            return Err(MockError::Injected);
        }
        Ok(())
    }

    fn page_range(addr: u64, len: u64) -> Result<std::ops::Range<u64>, MockError> {
        if !addr.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) || len == 0 {
            return Err(MockError::Misaligned);
        }
        Ok(addr / PAGE..(addr + len) / PAGE)
    }
}

impl bulkhead_linux_exec::ExecTarget for MockTarget {
    type Error = MockError;

    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), MockError> {
        self.injected(Call::Map(addr, len, prot))?;
        let range = Self::page_range(addr, len)?;
        if range.end - range.start > PAGE_BUDGET - self.pages.len() as u64 {
            return Err(MockError::OutOfMemory);
        }
        if let Some(page) = range.clone().find(|p| self.pages.contains_key(&(p * PAGE))) {
            return Err(MockError::AlreadyMapped(page * PAGE));
        }
        for page in range {
            let bytes = vec![0; PAGE as usize];
            self.pages.insert(page * PAGE, Page { bytes, prot });
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MockError> {
        self.injected(Call::Write(addr, bytes.len()))?;
        for (i, &byte) in bytes.iter().enumerate() {
            let at = addr + i as u64;
            let page = self
                .pages
                .get_mut(&(at & !(PAGE - 1)))
                .ok_or(MockError::NotMapped(at))?;
            if !page.prot.write {
                return Err(MockError::ReadOnly(at));
            }
            page.bytes[(at % PAGE) as usize] = byte;
        }
        Ok(())
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), MockError> {
        self.injected(Call::Protect(addr, len, prot))?;
        for page in Self::page_range(addr, len)? {
            let entry = self
                .pages
                .get_mut(&(page * PAGE))
                .ok_or(MockError::NotMapped(page * PAGE))?;
            entry.prot = prot;
        }
        Ok(())
    }
}

pub const R: Prot = Prot {
    read: true,
    write: false,
    exec: false,
};
pub const RW: Prot = Prot {
    read: true,
    write: true,
    exec: false,
};
pub const RX: Prot = Prot {
    read: true,
    write: false,
    exec: true,
};
pub const RWX: Prot = Prot {
    read: true,
    write: true,
    exec: true,
};

pub fn config() -> ExecConfig<'static> {
    ExecConfig::linux_defaults(b"/bin/test", *b"0123456789abcdef")
}

pub const TEXT: &[u8] = b"\x90\x90\x90\xc3 text bytes";
pub const DATA: &[u8] = b"initialised data";

/// A typical static executable: text (r-x) at 0x401000, data (rw-) with a
/// 0x2000-byte .bss at 0x402000, a PT_TLS and a PT_GNU_STACK.
pub fn exec_image() -> Vec<u8> {
    let mut builder = ImageBuilder::new();
    builder
        .entry(0x401002)
        .segment(
            PT_LOAD,
            PF_R | PF_X,
            0x401000,
            TEXT,
            TEXT.len() as u64,
            PAGE,
        )
        .segment(PT_LOAD, PF_R | PF_W, 0x402000, DATA, 0x2000, PAGE)
        .segment(PT_TLS, PF_R, 0x402000, &[], 8, 8)
        .segment(PT_GNU_STACK, PF_R | PF_W, 0, &[], 0, 16);
    builder.build()
}

/// The same layout as a position-independent executable at address 0x1000.
pub fn pie_image() -> Vec<u8> {
    let mut builder = ImageBuilder::new();
    builder
        .dynamic()
        .entry(0x1000)
        .segment(PT_LOAD, PF_R | PF_X, 0x1000, TEXT, TEXT.len() as u64, PAGE)
        .segment(PT_LOAD, PF_R | PF_W, 0x2000, DATA, 0x1800, PAGE);
    builder.build()
}

/// Offset of program header `index` in an ImageBuilder image.
pub fn phdr_at(index: usize) -> usize {
    64 + 56 * index
}

pub fn put_u16(image: &mut [u8], at: usize, value: u16) {
    image[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub fn put_u32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub fn put_u64(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

pub fn get_u64(image: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(image[at..at + 8].try_into().unwrap())
}

/// Program header field offsets.
pub const P_OFFSET: usize = 8;
pub const P_VADDR: usize = 16;
pub const P_FILESZ: usize = 32;
pub const P_MEMSZ: usize = 40;
pub const P_ALIGN: usize = 48;

/// A deterministic xorshift64* generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}
