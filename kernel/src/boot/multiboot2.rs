//! The Multiboot2 path: turns GRUB's boot information into a [`BootInfo`].
//!
//! `arch::x86_64::multiboot2_entry` has already switched to long mode on
//! boot page tables that map physical memory at [`PHYS_WINDOW`], so the
//! boot information (a physical address from `ebx`) is read through that
//! window. Multiboot2 has no "kernel file" tag, so the GRUB configuration
//! loads the kernel ELF a second time as a module named `kernel`; its symbol
//! table then serves exception reports exactly as under Limine.

use super::{boot_failure, enter_kernel, kernel_image_virt, BootInfo, Module, ModuleList};
use crate::arch::x86_64::multiboot2_entry::{KERNEL_VMA, PHYS_WINDOW};
use bulkhead_memmap::{MemoryMap, Region, RegionKind};
use multiboot2::{BootInformation, BootInformationHeader, MemoryAreaType};

const BOOTLOADER_MAGIC: u32 = 0x36d7_6289;
/// Ranges carved out of usable memory: the kernel, the boot information
/// and up to 62 modules.
const MAX_RESERVED: usize = 64;

/// Rust entry of the Multiboot2 path, called from the 32-bit trampoline on
/// the boot stack with the loader's magic and the boot information pointer.
pub extern "C" fn multiboot2_main(magic: u32, info_phys: u32) -> ! {
    crate::serial::init();
    if magic != BOOTLOADER_MAGIC {
        boot_failure(format_args!("bad Multiboot2 magic {magic:#x}"));
    }
    let header = (PHYS_WINDOW + u64::from(info_phys)) as *const BootInformationHeader;
    // SAFETY: GRUB placed a valid boot information structure at `info_phys`,
    // which the boot page tables map through the window; it is kept reserved.
    let mbi = match unsafe { BootInformation::load(header) } {
        Ok(mbi) => mbi,
        Err(e) => boot_failure(format_args!("unreadable Multiboot2 information: {e:?}")),
    };
    enter_kernel(boot_info(&mbi, u64::from(info_phys)))
}

fn boot_info(mbi: &BootInformation, info_phys: u64) -> BootInfo {
    let (start, end) = kernel_image_virt();
    let kernel_phys = start - KERNEL_VMA;
    // Every module's memory must be carved out, recorded in `BootInfo` or not.
    let mut reserved = [(0u64, 0u64); MAX_RESERVED];
    if mbi.module_tags().count() + 2 > MAX_RESERVED {
        boot_failure(format_args!("more than {} boot modules", MAX_RESERVED - 2));
    }
    reserved[0] = (kernel_phys, end - KERNEL_VMA);
    reserved[1] = (info_phys, info_phys + mbi.total_size() as u64);

    let mut modules = ModuleList::new();
    let mut kernel_elf = None;
    for (i, tag) in mbi.module_tags().enumerate() {
        let (phys, end) = (u64::from(tag.start_address()), u64::from(tag.end_address()));
        if let Some(slot) = reserved.get_mut(i + 2) {
            *slot = (phys, end);
        }
        // SAFETY: the string lives in the (reserved) boot information.
        let cmdline: &'static str = unsafe { &*(tag.cmdline().unwrap_or("") as *const str) };
        let name = super::module_name(cmdline, "");
        let len = end.saturating_sub(phys);
        if name == "kernel" {
            // SAFETY: module memory is reserved for the life of the kernel.
            kernel_elf = Some(unsafe { super::phys_slice(PHYS_WINDOW, phys, len) });
        } else {
            modules.push(Module { name, phys, len });
        }
    }

    BootInfo {
        loader: loader_name(mbi),
        memory: memory_map(mbi, &reserved),
        phys_window: PHYS_WINDOW,
        kernel_phys,
        modules: modules.slots,
        rsdp: rsdp(mbi),
        kernel_elf,
        cmdline: command_line(mbi),
    }
}

fn memory_map(mbi: &BootInformation, reserved: &[(u64, u64)]) -> MemoryMap {
    let Some(tag) = mbi.memory_map_tag() else {
        boot_failure(format_args!("the loader gave no memory map"));
    };
    let regions = tag.memory_areas().iter().map(|area| Region {
        start: area.start_address(),
        end: area.end_address(),
        kind: match area.typ() {
            MemoryAreaType::Available => RegionKind::Usable,
            MemoryAreaType::AcpiAvailable => RegionKind::AcpiReclaimable,
            MemoryAreaType::ReservedHibernate => RegionKind::AcpiNvs,
            MemoryAreaType::Defective => RegionKind::BadMemory,
            _ => RegionKind::Reserved,
        },
    });
    match MemoryMap::sanitize(regions, reserved) {
        Ok(map) => map,
        Err(e) => boot_failure(format_args!("unusable memory map: {e:?}")),
    }
}

fn rsdp(mbi: &BootInformation) -> Option<u64> {
    // The tags hold a copy of the RSDP right after their 8-byte header; that
    // copy, in the reserved boot information, is what ACPI parsing reads.
    const TAG_HEADER: u64 = 8;
    let tag_addr = mbi
        .rsdp_v2_tag()
        .map(|t| t as *const _ as *const u8 as u64)
        .or_else(|| mbi.rsdp_v1_tag().map(|t| t as *const _ as *const u8 as u64))?;
    Some(tag_addr + TAG_HEADER - PHYS_WINDOW)
}

fn command_line(mbi: &BootInformation) -> &'static str {
    let line = mbi
        .command_line_tag()
        .and_then(|t| t.cmdline().ok())
        .unwrap_or("");
    // SAFETY: the string lives in the reserved boot information.
    unsafe { &*(line as *const str) }
}

fn loader_name(mbi: &BootInformation) -> &'static str {
    let name = mbi
        .boot_loader_name_tag()
        .and_then(|t| t.name().ok())
        .unwrap_or("a Multiboot2 loader");
    // SAFETY: the string lives in the reserved boot information.
    unsafe { &*(name as *const str) }
}
