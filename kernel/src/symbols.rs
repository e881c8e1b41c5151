//! The kernel's own symbols, for reports: `rip 0x... <name+0x1c>`.
//!
//! Both loaders hand over the kernel ELF (Limine's executable-file response,
//! or the `kernel` module GRUB loads); its `.symtab` is read into a sorted
//! table once the heap exists. Until then, or if the file is missing or
//! stripped, addresses print bare.

use bulkhead_symbols::SymbolTable;
use core::fmt;
use spin::Once;

static TABLE: Once<Option<SymbolTable>> = Once::new();

/// Reads the symbol table from the kernel ELF image.
pub fn init(kernel_elf: Option<&'static [u8]>) {
    TABLE.call_once(|| match kernel_elf.map(SymbolTable::from_elf) {
        Some(Ok(table)) => Some(table),
        Some(Err(e)) => {
            log::warn!("symbols: cannot read the kernel ELF: {e:?}");
            None
        }
        None => {
            log::warn!("symbols: the loader did not provide the kernel ELF");
            None
        }
    });
}

/// The table, once read.
pub fn table() -> Option<&'static SymbolTable> {
    TABLE.get().and_then(Option::as_ref)
}

/// `<symbol+0xoffset>` for `addr`, or `<?>` if unknown.
pub fn describe(addr: u64) -> impl fmt::Display {
    struct Described(u64);
    impl fmt::Display for Described {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match table().and_then(|t| t.lookup(self.0)) {
                Some(sym) => write!(f, "<{sym}>"),
                None => f.write_str("<?>"),
            }
        }
    }
    Described(addr)
}

/// The symbol containing `addr`: (name, offset).
pub fn lookup(addr: u64) -> Option<(&'static str, u64)> {
    table()
        .and_then(|t| t.lookup(addr))
        .map(|s| (s.name, s.offset))
}

/// One line about the table for the banner.
pub fn describe_table() -> impl fmt::Display {
    struct Summary;
    impl fmt::Display for Summary {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match table() {
                Some(t) => write!(f, "{} kernel functions", t.len()),
                None => f.write_str("none (reports show bare addresses)"),
            }
        }
    }
    Summary
}

/// The address of the kernel symbol named `name` (raw or demangled).
pub fn address_of(name: &str) -> Option<u64> {
    let table = table()?;
    let found = table.iter().find(|s| {
        s.name == name || {
            use core::fmt::Write;
            let mut text = alloc::string::String::new();
            let _ = write!(text, "{}", s.demangled());
            text == name
        }
    });
    found.map(|s| s.start)
}
