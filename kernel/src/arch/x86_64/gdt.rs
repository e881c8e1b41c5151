//! The GDT and the TSS.
//!
//! Segment layout (the order SYSCALL/SYSRET will need: `STAR` takes the
//! kernel code selector and, for SYSRET, user data = base + 8, user code =
//! base + 16 with base = `KERNEL_DATA`):
//!
//! ```text
//!  0x00 null   0x08 kernel code   0x10 kernel data
//!  0x18 user data (RPL 3)   0x20 user code (RPL 3)   0x28 TSS (two slots)
//! ```
//!
//! The TSS holds `rsp0` (the stack for entries from ring 3, set per thread
//! later) and three interrupt stacks (IST): the double fault, NMI and
//! machine check handlers always run on a known-good stack, so a kernel stack
//! overflow (which hits the guard page below the stack) reports a clean #DF
//! instead of a triple fault.

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

/// IST slot (1-based in the IDT, 0-based in the TSS) for #DF.
pub const IST_DOUBLE_FAULT: u16 = 1;
/// IST slot for NMI.
pub const IST_NMI: u16 = 2;
/// IST slot for #MC.
pub const IST_MACHINE_CHECK: u16 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

/// Kernel code selector.
pub const KERNEL_CODE: SegmentSelector = SegmentSelector::new(1, PrivilegeLevel::Ring0);
/// Kernel data selector.
pub const KERNEL_DATA: SegmentSelector = SegmentSelector::new(2, PrivilegeLevel::Ring0);
/// User data selector.
pub const USER_DATA: SegmentSelector = SegmentSelector::new(3, PrivilegeLevel::Ring3);
/// User code selector.
pub const USER_CODE: SegmentSelector = SegmentSelector::new(4, PrivilegeLevel::Ring3);
const TSS_SELECTOR: SegmentSelector = SegmentSelector::new(5, PrivilegeLevel::Ring0);

// The IST stacks, the TSS and the GDT each fill whole pages of their own:
// System Call Isolation maps them into every restricted page table (the
// CPU needs them to deliver an interrupt), and nothing else may ride along.
#[repr(C, align(4096))]
struct IstStack([u8; IST_STACK_SIZE]);

static mut IST_STACKS: [IstStack; 3] = [const { IstStack([0; IST_STACK_SIZE]) }; 3];

/// A value alone on its page(s).
#[repr(C, align(4096))]
struct PageAligned<T>(T);

/// The TSS. Written only by `init` and by `set_kernel_stack` (which stores
/// one field with interrupts off on this CPU); read by the CPU.
static mut TSS: PageAligned<TaskStateSegment> = PageAligned(TaskStateSegment::new());
static GDT: Once<PageAligned<GlobalDescriptorTable>> = Once::new();

/// The address ranges of the IST stacks, the TSS and the GDT (page
/// aligned, whole pages).
pub fn table_ranges() -> [(u64, u64); 3] {
    fn range<T>(p: *const T) -> (u64, u64) {
        (p as u64, p as u64 + core::mem::size_of::<T>() as u64)
    }
    [
        range(core::ptr::addr_of!(IST_STACKS)),
        range(core::ptr::addr_of!(TSS)),
        range(core::ptr::addr_of!(GDT)),
    ]
}

fn ist_top(index: usize) -> VirtAddr {
    // SAFETY: only the address is taken; the stacks are used by the CPU.
    let base = unsafe { core::ptr::addr_of!(IST_STACKS[index]) } as u64;
    VirtAddr::new(base + IST_STACK_SIZE as u64)
}

/// Builds and loads the GDT and TSS, and reloads every segment register.
pub fn init() {
    // SAFETY: runs once at boot, before the TSS is loaded or shared.
    let tss: &'static TaskStateSegment = unsafe {
        let tss = &mut (*core::ptr::addr_of_mut!(TSS)).0;
        for (slot, index) in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK]
            .into_iter()
            .zip(0..)
        {
            tss.interrupt_stack_table[usize::from(slot - 1)] = ist_top(index);
        }
        tss
    };
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let selectors = [
            gdt.append(Descriptor::kernel_code_segment()),
            gdt.append(Descriptor::kernel_data_segment()),
            gdt.append(Descriptor::user_data_segment()),
            gdt.append(Descriptor::user_code_segment()),
            gdt.append(Descriptor::tss_segment(tss)),
        ];
        debug_assert_eq!(
            selectors,
            [KERNEL_CODE, KERNEL_DATA, USER_DATA, USER_CODE, TSS_SELECTOR]
        );
        PageAligned(gdt)
    });
    gdt.0.load();
    // SAFETY: the selectors name the descriptors just loaded.
    unsafe {
        CS::set_reg(KERNEL_CODE);
        DS::set_reg(KERNEL_DATA);
        ES::set_reg(KERNEL_DATA);
        SS::set_reg(KERNEL_DATA);
        FS::set_reg(SegmentSelector(0));
        GS::set_reg(SegmentSelector(0));
        load_tss(TSS_SELECTOR);
    }
}

/// Sets the stack the CPU switches to on an interrupt or exception from
/// ring 3 (TSS.RSP0): the running thread's kernel stack top (a kernel
/// address, always canonical, stored as the `VirtAddr` it is).
#[inline]
pub fn set_kernel_stack(top: u64) {
    // SAFETY: a single aligned store to a field only the CPU reads, done with
    // interrupts off on the only CPU.
    unsafe {
        core::ptr::addr_of_mut!(TSS.0.privilege_stack_table[0])
            .cast::<u64>()
            .write_volatile(top);
    }
}
