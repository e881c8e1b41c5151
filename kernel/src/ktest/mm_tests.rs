//! Tests of memory management: frames, kernel mappings, W^X, heap, stacks.

use super::Test;
use crate::mm::paging::{self, Access, MapError};
use crate::mm::{frames, heap, stack, PAGE_SIZE};
use crate::{check, check_eq};
use alloc::string::String;
use alloc::vec::Vec;

pub const TESTS: &[Test] = &[
    Test {
        name: "mm::frame_alloc_free",
        run: frame_alloc_free,
    },
    Test {
        name: "mm::frame_contiguous_run",
        run: frame_contiguous_run,
    },
    Test {
        name: "mm::frame_exhaustion_is_an_error",
        run: frame_exhaustion_is_an_error,
    },
    Test {
        name: "mm::map_translate_unmap",
        run: map_translate_unmap,
    },
    Test {
        name: "mm::map_refuses_double_mapping",
        run: map_refuses_double_mapping,
    },
    Test {
        name: "mm::kernel_sections_wx",
        run: kernel_sections_wx,
    },
    Test {
        name: "mm::no_kernel_page_writable_and_executable",
        run: no_page_writable_and_executable,
    },
    Test {
        name: "mm::heap_alloc",
        run: heap_alloc,
    },
    Test {
        name: "mm::stack_has_guard_page",
        run: stack_has_guard_page,
    },
];

fn frame_alloc_free() -> Result<(), String> {
    let before = frames::stats().used_frames;
    let a = frames::alloc_zeroed().map_err(|e| alloc::format!("{e}"))?;
    let b = frames::alloc().map_err(|e| alloc::format!("{e}"))?;
    check!(a != b, "two allocations returned the same frame {a:#x}");
    check!(a % PAGE_SIZE == 0 && b % PAGE_SIZE == 0);
    // SAFETY: the frame is ours and mapped through the window.
    let zero = unsafe { core::slice::from_raw_parts(crate::mm::phys_to_virt(a), 4096) };
    check!(zero.iter().all(|&x| x == 0), "alloc_zeroed frame not zero");
    check_eq!(frames::stats().used_frames, before + 2);
    // SAFETY: both frames came from the allocator and are no longer used.
    unsafe {
        frames::free(a);
        frames::free(b);
    }
    check_eq!(frames::stats().used_frames, before);
    Ok(())
}

fn frame_contiguous_run() -> Result<(), String> {
    let before = frames::stats().used_frames;
    let run = frames::alloc_contiguous(16).map_err(|e| alloc::format!("{e}"))?;
    check_eq!(run % (16 * PAGE_SIZE), 0);
    // A run is contiguous: every page is backed and writable through the window.
    for i in 0..16 {
        // SAFETY: the run is ours and mapped through the window.
        unsafe { crate::mm::phys_to_virt(run + i * PAGE_SIZE).write_volatile(i as u8) };
    }
    check_eq!(frames::stats().used_frames, before + 16);
    // SAFETY: returned with the same count, no longer used.
    unsafe { frames::free_contiguous(run, 16) };
    check_eq!(frames::stats().used_frames, before);
    Ok(())
}

fn frame_exhaustion_is_an_error() -> Result<(), String> {
    let stats = frames::stats();
    // A run larger than all of memory can never be satisfied.
    let too_many = (stats.total_frames + 1) as usize;
    check_eq!(frames::alloc_contiguous(too_many), Err(frames::OutOfFrames));
    // Take every single frame, see the error, give them all back.
    let mut taken: Vec<u64> = Vec::new();
    taken
        .try_reserve(stats.total_frames as usize)
        .map_err(|_| String::from("no heap for the frame list"))?;
    let err = loop {
        match frames::alloc() {
            Ok(frame) => taken.push(frame),
            Err(e) => break e,
        }
    };
    let count = taken.len();
    for frame in taken {
        // SAFETY: each frame was allocated above and never used.
        unsafe { frames::free(frame) };
    }
    check_eq!(err, frames::OutOfFrames);
    check!(
        count as u64 + stats.used_frames == stats.total_frames,
        "took {count} frames, {} were in use, of {}",
        stats.used_frames,
        stats.total_frames
    );
    check_eq!(frames::stats().used_frames, stats.used_frames);
    Ok(())
}

const TEST_VIRT: u64 = paging::KERNEL_SCRATCH + 0x10_0000;

fn map_translate_unmap() -> Result<(), String> {
    let frame = frames::alloc_zeroed().map_err(|e| alloc::format!("{e}"))?;
    paging::map_page(TEST_VIRT, frame, Access::ReadWrite).map_err(|e| alloc::format!("{e:?}"))?;
    check_eq!(paging::translate(TEST_VIRT + 0x123), Some(frame + 0x123));
    // SAFETY: just mapped read/write.
    unsafe { (TEST_VIRT as *mut u64).write_volatile(0xb01d_face) };
    // SAFETY: the frame is mapped through the window too.
    let via_window = unsafe { (crate::mm::phys_to_virt(frame) as *const u64).read_volatile() };
    check_eq!(via_window, 0xb01d_face);
    check_eq!(paging::unmap_page(TEST_VIRT), Ok(frame));
    check_eq!(paging::translate(TEST_VIRT), None);
    check_eq!(paging::unmap_page(TEST_VIRT), Err(MapError::NotMapped));
    // SAFETY: unmapped above, no longer used.
    unsafe { frames::free(frame) };
    Ok(())
}

fn map_refuses_double_mapping() -> Result<(), String> {
    let frame = frames::alloc_zeroed().map_err(|e| alloc::format!("{e}"))?;
    let virt = TEST_VIRT + PAGE_SIZE;
    paging::map_page(virt, frame, Access::ReadOnly).map_err(|e| alloc::format!("{e:?}"))?;
    let again = paging::map_page(virt, frame, Access::ReadWrite);
    let flags = paging::page_flags(virt);
    paging::unmap_page(virt).map_err(|e| alloc::format!("{e:?}"))?;
    // SAFETY: unmapped above.
    unsafe { frames::free(frame) };
    check_eq!(again, Err(MapError::AlreadyMapped));
    let flags = flags.ok_or("mapping vanished")?;
    check!(!flags.contains(x86_64::structures::paging::PageTableFlags::WRITABLE));
    check_eq!(
        paging::map_page(TEST_VIRT + 1, frame, Access::ReadOnly),
        Err(MapError::BadAddress)
    );
    Ok(())
}

fn kernel_sections_wx() -> Result<(), String> {
    use x86_64::structures::paging::PageTableFlags as F;
    for (start, end, access) in paging::kernel_sections() {
        check!(start < end && start % PAGE_SIZE == 0 && end % PAGE_SIZE == 0);
        for page in (start..end).step_by(PAGE_SIZE as usize) {
            let flags =
                paging::page_flags(page).ok_or_else(|| alloc::format!("{page:#x} not mapped"))?;
            let (w, x) = (flags.contains(F::WRITABLE), !flags.contains(F::NO_EXECUTE));
            let ok = match access {
                Access::ReadExecute => !w && x,
                Access::ReadOnly => !w && !x,
                Access::ReadWrite => w && !x,
                Access::Device => false,
            };
            check!(ok, "page {page:#x} of a {access:?} section has W={w} X={x}");
        }
    }
    Ok(())
}

fn no_page_writable_and_executable() -> Result<(), String> {
    use x86_64::structures::paging::PageTableFlags as F;
    let mut bad = None;
    let mut pages = 0u64;
    paging::for_each_kernel_mapping(|virt, _size, flags| {
        pages += 1;
        if flags.contains(F::WRITABLE) && !flags.contains(F::NO_EXECUTE) && bad.is_none() {
            bad = Some(virt);
        }
    });
    check!(pages > 0, "walked no mappings");
    check!(
        bad.is_none(),
        "writable and executable kernel page at {:#x}",
        bad.unwrap_or(0)
    );
    Ok(())
}

fn heap_alloc() -> Result<(), String> {
    let (used_before, total) = heap::stats();
    check!(total >= 1 << 20, "heap has only {total} bytes");
    let mut v: Vec<u64> = (0..10_000).collect();
    v.retain(|x| x % 3 == 0);
    check_eq!(v.len(), 3334);
    check_eq!(
        v.iter().sum::<u64>(),
        (0..10_000u64).filter(|x| x % 3 == 0).sum()
    );
    let big: Vec<u8> = alloc::vec![0xa5; 512 * 1024];
    check!(big.iter().all(|&b| b == 0xa5));
    drop(big);
    drop(v);
    check_eq!(heap::stats().0, used_before);
    let mut huge: Vec<u8> = Vec::new();
    check!(
        huge.try_reserve(usize::MAX / 2).is_err(),
        "impossible reservation succeeded"
    );
    Ok(())
}

fn stack_has_guard_page() -> Result<(), String> {
    let s = stack::alloc().map_err(|e| alloc::format!("{e:?}"))?;
    check_eq!(s.top - s.bottom, stack::STACK_PAGES * PAGE_SIZE);
    check!(
        paging::translate(s.bottom).is_some(),
        "stack bottom unmapped"
    );
    check!(paging::translate(s.top - 8).is_some(), "stack top unmapped");
    check_eq!(paging::translate(s.guard()), None);
    // The boot switched onto such a stack: the current one has a guard too.
    let here = &s as *const _ as u64;
    check!(
        here >= paging::KERNEL_STACKS,
        "running on a stack outside the stack area: {here:#x}"
    );
    Ok(())
}
