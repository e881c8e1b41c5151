//! The page the kernel hands the root server at start: which boot modules
//! exist, which capability slot holds each, how much memory the root quota
//! holds, and the kernel command line (so user-land tests honour `test=`).
//!
//! The kernel maps it read-only at [`ROOT_INFO_ADDR`] in the root server's
//! address space and passes that address in `rdi` to the entry point. All
//! fields are plain integers and byte arrays, so it is the same on both
//! sides without any serialisation.

/// Where the root info page is mapped in the root server.
pub const ROOT_INFO_ADDR: u64 = 0x0000_7fff_f000_0000;
/// Identifies a valid root info page.
pub const ROOT_INFO_MAGIC: u64 = 0x4275_6c6b_6865_6164; // "Bulkhead"
/// Most modules described.
pub const MAX_ROOT_MODULES: usize = 16;
/// Longest module name kept (longer names are cut).
pub const MODULE_NAME_LEN: usize = 32;
/// Longest command line kept.
pub const CMDLINE_LEN: usize = 512;

/// One boot module, available to the root server as a Frames capability
/// in slot `slot` with READ, COPY and GRANT (it can never be mapped
/// writable or executable from that capability).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleInfo {
    pub name: [u8; MODULE_NAME_LEN],
    pub name_len: u32,
    /// Capability slot of the module's Frames (READ only).
    pub slot: u32,
    /// Size of the module in bytes (the Frames are rounded up to pages).
    pub size: u64,
}

impl ModuleInfo {
    /// The module's name.
    pub fn name(&self) -> &str {
        let len = (self.name_len as usize).min(MODULE_NAME_LEN);
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }
}

/// The root info page.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RootInfo {
    pub magic: u64,
    /// Pages in the memory quota at [`crate::root_slots::MEMORY`].
    pub memory_pages: u64,
    pub module_count: u64,
    pub modules: [ModuleInfo; MAX_ROOT_MODULES],
    pub cmdline_len: u64,
    pub cmdline: [u8; CMDLINE_LEN],
    /// In test builds: the in-kernel tests that ran before the root server
    /// started, so the user-land runner can print one combined summary.
    pub kernel_tests_passed: u64,
    pub kernel_tests_failed: u64,
    /// Non-zero in test builds: the root server runs the user-land suite
    /// and ends the run through the exit ports.
    pub test_run: u64,
}

impl RootInfo {
    /// The described modules.
    pub fn modules(&self) -> &[ModuleInfo] {
        let n = (self.module_count as usize).min(MAX_ROOT_MODULES);
        &self.modules[..n]
    }

    /// The kernel command line.
    pub fn cmdline(&self) -> &str {
        let len = (self.cmdline_len as usize).min(CMDLINE_LEN);
        core::str::from_utf8(&self.cmdline[..len]).unwrap_or("")
    }
}

const _: () = assert!(core::mem::size_of::<RootInfo>() <= crate::PAGE_SIZE as usize);
