//! The Limine path: the kernel's Limine requests and their translation into
//! a [`BootInfo`].
//!
//! Limine (base revision 2) scans the kernel image for the request
//! structures below, fills in their responses, and enters [`limine_main`]
//! through the entry-point request (the ELF entry point belongs to the
//! Multiboot2 path) in long mode on its own page tables, with all physical
//! memory mapped at the HHDM offset. That offset becomes
//! `BootInfo::phys_window`. Limine's memory map already marks the kernel,
//! the modules and its own data as not usable, and Limine-owned memory
//! ("bootloader reclaimable") is left alone, so the stack, the responses and
//! the strings they point to stay valid for the life of the kernel.

use super::{boot_failure, enter_kernel, kernel_image_virt, BootInfo, Module, ModuleList};
use bulkhead_memmap::{MemoryMap, Region, RegionKind};
use limine::memory_map::EntryType;
use limine::request::{
    BootloaderInfoRequest, EntryPointRequest, ExecutableAddressRequest, ExecutableCmdlineRequest,
    ExecutableFileRequest, HhdmRequest, MemoryMapRequest, ModuleRequest, RequestsEndMarker,
    RequestsStartMarker, RsdpRequest, StackSizeRequest,
};
use limine::BaseRevision;

#[used]
#[link_section = ".limine_requests_start"]
static START_MARKER: RequestsStartMarker = RequestsStartMarker::new();

#[used]
#[link_section = ".limine_requests"]
static BASE_REVISION: BaseRevision = BaseRevision::with_revision(2);

#[used]
#[link_section = ".limine_requests"]
static ENTRY_POINT: EntryPointRequest = EntryPointRequest::new().with_entry_point(limine_main);

#[used]
#[link_section = ".limine_requests"]
static STACK_SIZE: StackSizeRequest = StackSizeRequest::new().with_size(256 * 1024);

#[used]
#[link_section = ".limine_requests"]
static HHDM: HhdmRequest = HhdmRequest::new();

#[used]
#[link_section = ".limine_requests"]
static MEMORY_MAP: MemoryMapRequest = MemoryMapRequest::new();

#[used]
#[link_section = ".limine_requests"]
static MODULES: ModuleRequest = ModuleRequest::new();

#[used]
#[link_section = ".limine_requests"]
static RSDP: RsdpRequest = RsdpRequest::new();

#[used]
#[link_section = ".limine_requests"]
static EXECUTABLE_FILE: ExecutableFileRequest = ExecutableFileRequest::new();

#[used]
#[link_section = ".limine_requests"]
static EXECUTABLE_ADDRESS: ExecutableAddressRequest = ExecutableAddressRequest::new();

#[used]
#[link_section = ".limine_requests"]
static CMDLINE: ExecutableCmdlineRequest = ExecutableCmdlineRequest::new();

#[used]
#[link_section = ".limine_requests"]
static LOADER_INFO: BootloaderInfoRequest = BootloaderInfoRequest::new();

#[used]
#[link_section = ".limine_requests_end"]
static END_MARKER: RequestsEndMarker = RequestsEndMarker::new();

/// Entry of the Limine path.
extern "C" fn limine_main() -> ! {
    crate::serial::init();
    if !BASE_REVISION.is_supported() {
        boot_failure(format_args!("this Limine does not support base revision 2"));
    }
    let Some(hhdm) = HHDM.get_response() else {
        boot_failure(format_args!("Limine gave no HHDM offset"));
    };
    let window = hhdm.offset();
    let (start, _) = kernel_image_virt();
    let kernel_phys = match EXECUTABLE_ADDRESS.get_response() {
        Some(addr) => addr.physical_base() + (start - addr.virtual_base()),
        None => boot_failure(format_args!("Limine gave no kernel address")),
    };

    let mut modules = ModuleList::new();
    for file in MODULES.get_response().map(|r| r.modules()).unwrap_or(&[]) {
        // SAFETY: Limine's strings live in memory it never reclaims here.
        let (cmdline, path) = unsafe { (file_str(file.string()), file_str(file.path())) };
        modules.push(Module {
            name: super::module_name(cmdline, path),
            phys: file.addr() as u64 - window,
            len: file.size(),
        });
    }

    let kernel_elf = EXECUTABLE_FILE.get_response().map(|r| {
        let file = r.file();
        // SAFETY: the kernel file sits in executable-and-modules memory,
        // which is never handed to the frame allocator.
        unsafe { core::slice::from_raw_parts(file.addr() as *const u8, file.size() as usize) }
    });

    enter_kernel(BootInfo {
        loader: loader_name(),
        memory: memory_map(),
        phys_window: window,
        kernel_phys,
        modules: modules.slots,
        // Before base revision 3 the RSDP address is virtual (in the HHDM).
        rsdp: RSDP
            .get_response()
            .map(|r| (r.address() as u64).wrapping_sub(window)),
        kernel_elf,
        cmdline: command_line(),
    })
}

fn memory_map() -> MemoryMap {
    let Some(response) = MEMORY_MAP.get_response() else {
        boot_failure(format_args!("Limine gave no memory map"));
    };
    let regions = response.entries().iter().map(|entry| Region {
        start: entry.base,
        end: entry.base.saturating_add(entry.length),
        kind: match entry.entry_type {
            EntryType::USABLE => RegionKind::Usable,
            EntryType::ACPI_RECLAIMABLE => RegionKind::AcpiReclaimable,
            EntryType::ACPI_NVS => RegionKind::AcpiNvs,
            EntryType::BAD_MEMORY => RegionKind::BadMemory,
            EntryType::BOOTLOADER_RECLAIMABLE => RegionKind::Bootloader,
            EntryType::EXECUTABLE_AND_MODULES => RegionKind::KernelAndModules,
            EntryType::FRAMEBUFFER => RegionKind::Framebuffer,
            _ => RegionKind::Reserved,
        },
    });
    match MemoryMap::sanitize(regions, &[]) {
        Ok(map) => map,
        Err(e) => boot_failure(format_args!("unusable memory map: {e:?}")),
    }
}

/// The command line: from the executable-cmdline request (newer Limine), else
/// the kernel file's string (Limine 8).
fn command_line() -> &'static str {
    // SAFETY: Limine's strings live in memory it never reclaims here.
    unsafe {
        match (CMDLINE.get_response(), EXECUTABLE_FILE.get_response()) {
            (Some(r), _) => file_str(r.cmdline()),
            (None, Some(r)) => file_str(r.file().string()),
            (None, None) => "",
        }
    }
}

fn loader_name() -> &'static str {
    LOADER_INFO
        .get_response()
        .map_or("Limine", |info| info.name())
}

/// Extends a Limine string to `'static`.
///
/// # Safety
/// The string must live in memory that is never reclaimed.
unsafe fn file_str(s: &core::ffi::CStr) -> &'static str {
    // SAFETY: per the contract.
    unsafe { super::c_str(s.as_ptr().cast()) }
}
