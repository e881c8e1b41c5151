//! A small ELF64 image writer for tests (feature `builder`, needs `alloc`).
//!
//! It lays an image out as: file header, program headers, segment bytes
//! (each placed so that `offset ≡ vaddr (mod align)`), section bytes, then
//! `.symtab`, `.strtab` and `.shstrtab`, then the section-header table.
//! User sections get indices `1..` in the order they are added; `.symtab` and
//! `.strtab` are only emitted when symbols were added. Local symbols are
//! written before global ones, as the ELF specification requires.
//! It is meant for building well-formed test inputs, not for untrusted data.

use alloc::string::String;
use alloc::vec::Vec;

use crate::section::section_type;

struct SegmentSpec {
    kind: u32,
    flags: u32,
    vaddr: u64,
    bytes: Vec<u8>,
    memsz: u64,
    align: u64,
}

struct SectionSpec {
    name: String,
    kind: u32,
    flags: u64,
    addr: u64,
    bytes: Vec<u8>,
    size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

struct SymbolSpec {
    name: String,
    value: u64,
    size: u64,
    info: u8,
    shndx: u16,
}

/// Builds an ELF64 little-endian x86_64 image in memory.
pub struct ImageBuilder {
    kind: u16,
    entry: u64,
    segments: Vec<SegmentSpec>,
    sections: Vec<SectionSpec>,
    symbols: Vec<SymbolSpec>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    /// An empty `ET_EXEC` image.
    pub fn new() -> Self {
        ImageBuilder {
            kind: 2,
            entry: 0,
            segments: Vec::new(),
            sections: Vec::new(),
            symbols: Vec::new(),
        }
    }

    /// Makes the image `ET_DYN`.
    pub fn dynamic(&mut self) -> &mut Self {
        self.kind = 3;
        self
    }

    pub fn entry(&mut self, entry: u64) -> &mut Self {
        self.entry = entry;
        self
    }

    /// Adds a program header whose file bytes are `bytes`.
    pub fn segment(
        &mut self,
        kind: u32,
        flags: u32,
        vaddr: u64,
        bytes: &[u8],
        memsz: u64,
        align: u64,
    ) -> &mut Self {
        self.segments.push(SegmentSpec {
            kind,
            flags,
            vaddr,
            bytes: bytes.to_vec(),
            memsz,
            align,
        });
        self
    }

    /// Adds a section and returns its index.
    pub fn section(&mut self, name: &str, kind: u32, flags: u64, addr: u64, bytes: &[u8]) -> u16 {
        self.push_section(name, kind, flags, addr, bytes.to_vec());
        self.sections.len() as u16
    }

    /// Adds a `SHT_NOBITS` section of `size` bytes and returns its index.
    pub fn nobits_section(&mut self, name: &str, flags: u64, addr: u64, size: u64) -> u16 {
        self.push_section(name, section_type::NOBITS, flags, addr, Vec::new());
        if let Some(last) = self.sections.last_mut() {
            last.size = size;
        }
        self.sections.len() as u16
    }

    /// Adds a symbol; `kind` and `binding` are the raw `STT_*`/`STB_*` values.
    pub fn symbol(
        &mut self,
        name: &str,
        value: u64,
        size: u64,
        kind: u8,
        binding: u8,
        shndx: u16,
    ) -> &mut Self {
        self.symbols.push(SymbolSpec {
            name: name.into(),
            value,
            size,
            info: (binding << 4) | (kind & 0xf),
            shndx,
        });
        self
    }

    fn push_section(&mut self, name: &str, kind: u32, flags: u64, addr: u64, bytes: Vec<u8>) {
        self.sections.push(SectionSpec {
            name: name.into(),
            kind,
            flags,
            addr,
            size: bytes.len() as u64,
            bytes,
            link: 0,
            info: 0,
            entsize: 0,
        });
    }

    /// Writes the image.
    pub fn build(&self) -> Vec<u8> {
        let mut out = alloc::vec![0u8; 64 + 56 * self.segments.len()];
        let phdrs = self.write_segments(&mut out);
        for (index, bytes) in phdrs.iter().enumerate() {
            let at = 64 + 56 * index;
            out[at..at + 56].copy_from_slice(bytes);
        }
        let mut sections: Vec<(SectionSpec, u64)> = Vec::new();
        for spec in self.sections.iter().chain(self.symbol_sections().iter()) {
            let offset = append_aligned(&mut out, &spec.bytes, 8);
            sections.push((clone_spec(spec), offset));
        }
        let (names, name_offsets) = self.section_names(&sections);
        let names_offset = append_aligned(&mut out, &names, 1);
        let shoff = append_aligned(&mut out, &[], 8);
        self.write_section_headers(
            &mut out,
            &sections,
            &name_offsets,
            names_offset,
            names.len(),
        );
        let shnum = sections.len() as u16 + 2;
        self.write_file_header(&mut out, shoff, shnum);
        out
    }

    /// Appends segment bytes; returns the encoded program headers.
    fn write_segments(&self, out: &mut Vec<u8>) -> Vec<[u8; 56]> {
        let mut headers = Vec::new();
        for segment in &self.segments {
            let align = segment.align.max(1);
            while (out.len() as u64) % align != segment.vaddr % align {
                out.push(0);
            }
            let offset = out.len() as u64;
            out.extend_from_slice(&segment.bytes);
            let mut header = [0u8; 56];
            put32(&mut header, 0, segment.kind);
            put32(&mut header, 4, segment.flags);
            for (at, value) in [
                (8, offset),
                (16, segment.vaddr),
                (24, segment.vaddr),
                (32, segment.bytes.len() as u64),
                (40, segment.memsz),
                (48, segment.align),
            ] {
                put64(&mut header, at, value);
            }
            headers.push(header);
        }
        headers
    }

    /// `.symtab` and `.strtab`, when there are symbols.
    fn symbol_sections(&self) -> Vec<SectionSpec> {
        if self.symbols.is_empty() {
            return Vec::new();
        }
        let mut strtab = alloc::vec![0u8];
        let mut symtab = alloc::vec![0u8; 24];
        let is_local = |s: &&SymbolSpec| s.info >> 4 == 0;
        let locals = self.symbols.iter().filter(is_local);
        let globals = self.symbols.iter().filter(|s| !is_local(s));
        let local_count = self.symbols.iter().filter(is_local).count() as u32;
        for symbol in locals.chain(globals) {
            let mut entry = [0u8; 24];
            put32(&mut entry, 0, strtab.len() as u32);
            entry[4] = symbol.info;
            entry[6..8].copy_from_slice(&symbol.shndx.to_le_bytes());
            put64(&mut entry, 8, symbol.value);
            put64(&mut entry, 16, symbol.size);
            symtab.extend_from_slice(&entry);
            strtab.extend_from_slice(symbol.name.as_bytes());
            strtab.push(0);
        }
        let strtab_index = self.sections.len() as u32 + 2;
        let mut symtab_spec = spec(".symtab", section_type::SYMTAB, symtab);
        symtab_spec.link = strtab_index;
        symtab_spec.info = local_count + 1;
        symtab_spec.entsize = 24;
        alloc::vec![symtab_spec, spec(".strtab", section_type::STRTAB, strtab)]
    }

    fn section_names(&self, sections: &[(SectionSpec, u64)]) -> (Vec<u8>, Vec<u32>) {
        let mut names = alloc::vec![0u8];
        let mut offsets = Vec::new();
        for name in sections
            .iter()
            .map(|(s, _)| s.name.as_str())
            .chain([".shstrtab"])
        {
            offsets.push(names.len() as u32);
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        (names, offsets)
    }

    fn write_section_headers(
        &self,
        out: &mut Vec<u8>,
        sections: &[(SectionSpec, u64)],
        name_offsets: &[u32],
        names_offset: u64,
        names_len: usize,
    ) {
        out.extend_from_slice(&[0u8; 64]);
        for ((spec, offset), name) in sections.iter().zip(name_offsets) {
            out.extend_from_slice(&encode_section(spec, *offset, *name));
        }
        let mut names = spec(".shstrtab", section_type::STRTAB, Vec::new());
        names.size = names_len as u64;
        let last_name = name_offsets.last().copied().unwrap_or(0);
        out.extend_from_slice(&encode_section(&names, names_offset, last_name));
    }

    fn write_file_header(&self, out: &mut [u8], shoff: u64, shnum: u16) {
        out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
        out[16..18].copy_from_slice(&self.kind.to_le_bytes());
        out[18..20].copy_from_slice(&62u16.to_le_bytes());
        put32(out, 20, 1);
        put64(out, 24, self.entry);
        put64(out, 32, if self.segments.is_empty() { 0 } else { 64 });
        put64(out, 40, shoff);
        let halves = [64u16, 56, self.segments.len() as u16, 64, shnum, shnum - 1];
        for (index, value) in halves.into_iter().enumerate() {
            let at = 52 + 2 * index;
            out[at..at + 2].copy_from_slice(&value.to_le_bytes());
        }
    }
}

fn spec(name: &str, kind: u32, bytes: Vec<u8>) -> SectionSpec {
    SectionSpec {
        name: name.into(),
        kind,
        flags: 0,
        addr: 0,
        size: bytes.len() as u64,
        bytes,
        link: 0,
        info: 0,
        entsize: 0,
    }
}

fn clone_spec(s: &SectionSpec) -> SectionSpec {
    SectionSpec {
        name: s.name.clone(),
        bytes: s.bytes.clone(),
        ..*s
    }
}

fn encode_section(spec: &SectionSpec, offset: u64, name: u32) -> [u8; 64] {
    let mut entry = [0u8; 64];
    put32(&mut entry, 0, name);
    put32(&mut entry, 4, spec.kind);
    put64(&mut entry, 8, spec.flags);
    put64(&mut entry, 16, spec.addr);
    put64(&mut entry, 24, offset);
    put64(&mut entry, 32, spec.size);
    put32(&mut entry, 40, spec.link);
    put32(&mut entry, 44, spec.info);
    put64(&mut entry, 48, 1);
    put64(&mut entry, 56, spec.entsize);
    entry
}

/// Pads `out` to `align`, appends `bytes`, returns where they start.
fn append_aligned(out: &mut Vec<u8>, bytes: &[u8], align: usize) -> u64 {
    out.resize(out.len().next_multiple_of(align), 0);
    let offset = out.len() as u64;
    out.extend_from_slice(bytes);
    offset
}

fn put32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put64(out: &mut [u8], at: usize, value: u64) {
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
}
