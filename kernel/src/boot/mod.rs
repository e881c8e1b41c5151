//! Boot: two loaders, one [`BootInfo`].
//!
//! The kernel can be started by Limine (the Limine boot protocol, base
//! revision 2, see [`limine`]) or by any Multiboot2 loader such as GRUB (see
//! [`multiboot2`] and `arch::x86_64::multiboot2_entry`). Each entry path
//! translates what its loader hands over into one [`BootInfo`] and calls
//! [`crate::kernel_main`]; no code outside this module knows which loader
//! ran. Everything a `BootInfo` points at (modules, the kernel ELF, the
//! command line) lies in memory the memory map marks as not usable, and is
//! reached through the physical-memory window, which the kernel's own page
//! tables keep at the same address.

pub mod limine;
pub mod multiboot2;

use bulkhead_memmap::MemoryMap;

/// Most boot modules a `BootInfo` records; more are reported and skipped.
pub const MAX_MODULES: usize = 16;

/// A file the loader placed in memory next to the kernel.
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// The module's name: the first word of its loader command line, or its
    /// file name when the line is empty.
    pub name: &'static str,
    /// Physical address of the first byte.
    pub phys: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Everything the kernel needs from its loader.
pub struct BootInfo {
    /// Which loader ran ("Limine 8.x", "GRUB 2.06"): for the banner only.
    pub loader: &'static str,
    /// The sanitized physical memory map (the kernel image, modules and
    /// loader data are already carved out of the usable ranges).
    pub memory: MemoryMap,
    /// Virtual address at which all physical memory is mapped.
    pub phys_window: u64,
    /// Physical address the kernel image (`__kernel_start`) was loaded at.
    pub kernel_phys: u64,
    modules: [Option<Module>; MAX_MODULES],
    /// Physical address of the ACPI RSDP, if the loader found one.
    pub rsdp: Option<u64>,
    /// The kernel's own ELF file (for its symbol table), if the loader
    /// provided it.
    pub kernel_elf: Option<&'static [u8]>,
    /// The kernel command line (without the image path some loaders prepend).
    pub cmdline: &'static str,
}

impl BootInfo {
    /// The boot modules, in the order the loader listed them.
    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter().flatten()
    }

    /// The module called `name`.
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules().find(|m| m.name == name)
    }
}

/// The kernel image's linker-script bounds, as virtual addresses.
pub fn kernel_image_virt() -> (u64, u64) {
    extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }
    (
        core::ptr::addr_of!(__kernel_start) as u64,
        core::ptr::addr_of!(__kernel_end) as u64,
    )
}

/// Collects modules into the fixed-size list `BootInfo` holds.
struct ModuleList {
    slots: [Option<Module>; MAX_MODULES],
    len: usize,
}

impl ModuleList {
    const fn new() -> Self {
        Self {
            slots: [None; MAX_MODULES],
            len: 0,
        }
    }

    fn push(&mut self, module: Module) {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(module);
                self.len += 1;
            }
            None => log::warn!(
                "boot: more than {MAX_MODULES} modules; '{}' skipped",
                module.name
            ),
        }
    }
}

/// The module name: first word of the module's command line, else the last
/// path component of its file name.
fn module_name(cmdline: &'static str, path: &'static str) -> &'static str {
    match cmdline.split_whitespace().next() {
        Some(word) => word,
        None => path.rsplit('/').next().unwrap_or(path),
    }
}

/// Views `len` bytes of physical memory at `phys` through the window.
///
/// # Safety
/// The range must be memory the loader handed over and that stays reserved
/// (never given to the frame allocator) for the life of the kernel.
unsafe fn phys_slice(window: u64, phys: u64, len: u64) -> &'static [u8] {
    // SAFETY: per the contract, the range is mapped through the window and
    // never reused, so a shared 'static borrow is sound.
    unsafe { core::slice::from_raw_parts((window + phys) as *const u8, len as usize) }
}

/// Reads a NUL-terminated string through the window, or "" if it is not UTF-8.
///
/// # Safety
/// As for [`phys_slice`], for the string and its terminator.
unsafe fn c_str(ptr: *const u8) -> &'static str {
    // SAFETY: per the contract, `ptr` points at a NUL-terminated string
    // that lives for the life of the kernel.
    let cstr = unsafe { core::ffi::CStr::from_ptr(ptr.cast()) };
    cstr.to_str().unwrap_or("")
}

static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

/// Applies the memory options of the command line (`mem.limit=`,
/// `mem.punch=`), stores the finished `BootInfo` and enters the
/// loader-independent kernel.
fn enter_kernel(mut info: BootInfo) -> ! {
    let (options, _) = bulkhead_cmdline::parse(info.cmdline);
    if let Some(limit) = options.mem_limit {
        let removed = info.memory.limit(limit);
        crate::println!(
            "boot: mem.limit={limit:#x}: {} KiB of usable memory ignored",
            removed / 1024
        );
    }
    if options.mem_punch > 0 {
        let made = info.memory.punch_holes(options.mem_punch as usize);
        crate::println!(
            "boot: mem.punch={}: punched {made} one-page holes; the map now has {} regions",
            options.mem_punch,
            info.memory.len()
        );
    }
    let info = BOOT_INFO.call_once(|| info);
    crate::kernel_main(info)
}

/// Stops the boot with a message when the loader's data cannot be used.
fn boot_failure(what: core::fmt::Arguments) -> ! {
    crate::println!("bulkhead: boot failed: {what}");
    crate::arch::halt_forever()
}
