//! Tests of threads, scheduling and ring 3: kernel threads, sleeping, a
//! user thread making system calls, a user fault that stops only its
//! thread, and preemption between busy user threads.

use super::Test;
use crate::mm::phys_to_virt;
use crate::object::frames::Frames;
use crate::object::{space, Object, KERNEL};
use crate::sched::{self, Ending, ThreadId};
use crate::{check, check_eq};
use alloc::string::String;
use bulkhead_abi::{Rights, Syscall};
use core::sync::atomic::{AtomicU64, Ordering};

pub const TESTS: &[Test] = &[
    Test {
        name: "sched::kernel_thread_runs_and_exits",
        run: kernel_thread_runs_and_exits,
    },
    Test {
        name: "sched::sleep_blocks_for_ticks",
        run: sleep_blocks_for_ticks,
    },
    Test {
        name: "user::syscall_from_ring3_and_exit",
        run: syscall_from_ring3_and_exit,
    },
    Test {
        name: "user::fault_stops_only_that_thread",
        run: fault_stops_only_that_thread,
    },
    Test {
        name: "user::busy_threads_share_the_cpu",
        run: busy_threads_share_the_cpu,
    },
    Test {
        name: "user::bad_syscall_number_is_an_error",
        run: bad_syscall_number_is_an_error,
    },
    Test {
        name: "mm::pcid_loads_flush_only_when_needed",
        run: pcid_loads_flush_only_when_needed,
    },
];

static FLAG: AtomicU64 = AtomicU64::new(0);

extern "C" fn set_flag_and_exit(arg: u64) -> ! {
    FLAG.store(arg, Ordering::SeqCst);
    sched::end_current(Ending::Exited(arg + 1))
}

fn kernel_thread_runs_and_exits() -> Result<(), String> {
    FLAG.store(0, Ordering::SeqCst);
    let id = sched::spawn_kernel("test", set_flag_and_exit, 41, 20)
        .map_err(|e| alloc::format!("{e:?}"))?;
    let ending = sched::wait(id);
    check_eq!(ending, Some(Ending::Exited(42)));
    check_eq!(FLAG.load(Ordering::SeqCst), 41);
    check!(sched::release(id), "ended thread not released");
    check_eq!(sched::with_thread(id, |t| t.id), None);
    Ok(())
}

fn sleep_blocks_for_ticks() -> Result<(), String> {
    let before = crate::time::ticks();
    sched::sleep_ticks(5);
    let slept = crate::time::ticks() - before;
    check!((5..=8).contains(&slept), "slept {slept} ticks for 5");
    Ok(())
}

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;
const STACK_TOP: u64 = 0x80_0000;

/// A user address space with `code` mapped R+X at `CODE`, a zeroed data
/// page R+W at `DATA` and a stack page below `STACK_TOP`. Returns the space
/// and the data page's physical address.
fn user_space(code: &[u8]) -> Result<(crate::object::ObjRef, u64), String> {
    let mut k = KERNEL.lock();
    let s = space::create(&mut k, None).map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(s);
    let mut data_phys = 0;
    for (vaddr, rights, bytes) in [
        (CODE, Rights::READ | Rights::EXECUTE, code),
        (DATA, Rights::READ | Rights::WRITE, &[][..]),
        (STACK_TOP - 4096, Rights::READ | Rights::WRITE, &[][..]),
    ] {
        let frames = Frames::alloc(1).map_err(|e| alloc::format!("{e:?}"))?;
        let phys = frames.page(0).ok_or("no page")?;
        // SAFETY: a fresh frame, reached through the window.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), phys_to_virt(phys), bytes.len()) };
        if vaddr == DATA {
            data_phys = phys;
        }
        let f = k.insert(Object::Frames(frames), None);
        k.add_ref(f);
        space::map(&mut k, s, f, Rights::ALL, 0, 1, vaddr, rights)
            .map_err(|e| alloc::format!("{e:?}"))?;
        k.release(f);
    }
    Ok((s, data_phys))
}

fn start_user(space_ref: crate::object::ObjRef, priority: u8) -> Result<ThreadId, String> {
    let cr3 = match KERNEL.lock().get(space_ref) {
        Some(Object::Space(s)) => s.space.cr3(),
        _ => return Err("space vanished".into()),
    };
    let id = sched::create_user("test-user", cr3, priority).map_err(|e| alloc::format!("{e:?}"))?;
    sched::with_thread(id, |t| {
        let f = t.user_frame();
        f.rip = CODE;
        f.rsp = STACK_TOP;
    });
    sched::start(id).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(id)
}

fn finish(id: ThreadId, space_ref: crate::object::ObjRef) {
    sched::kill(id);
    KERNEL.lock().release(space_ref);
}

fn mov_eax(v: u64) -> [u8; 5] {
    let b = (v as u32).to_le_bytes();
    [0xb8, b[0], b[1], b[2], b[3]]
}

const SYSCALL: [u8; 2] = [0x0f, 0x05];

fn syscall_from_ring3_and_exit() -> Result<(), String> {
    // null(); rax (0 = success) is kept in ebx; exit(42 + ebx)
    let mut code = alloc::vec::Vec::new();
    code.extend(mov_eax(Syscall::Null as u64));
    code.extend(SYSCALL);
    code.extend([0x89, 0xc3]); // mov ebx, eax
    code.extend([0xbf, 42, 0, 0, 0]); // mov edi, 42
    code.extend([0x01, 0xdf]); // add edi, ebx
    code.extend(mov_eax(Syscall::ThreadExit as u64));
    code.extend(SYSCALL);
    code.extend([0xeb, 0xfe]); // jmp $ (never reached)
    let (s, _) = user_space(&code)?;
    let id = start_user(s, 20)?;
    let ending = sched::wait(id);
    finish(id, s);
    check_eq!(ending, Some(Ending::Exited(42)));
    Ok(())
}

fn fault_stops_only_that_thread() -> Result<(), String> {
    // xor ebx, ebx; mov [rbx], eax  -> #PF writing address 0
    let (s, _) = user_space(&[0x31, 0xdb, 0x89, 0x03, 0xeb, 0xfe])?;
    let id = start_user(s, 20)?;
    let ending = sched::wait(id);
    finish(id, s);
    match ending {
        Some(Ending::Faulted {
            vector,
            address,
            rip,
        }) => {
            check_eq!((vector, address, rip), (14, 0, CODE + 2));
        }
        other => return Err(alloc::format!("thread ended with {other:?}")),
    }
    Ok(())
}

fn busy_threads_share_the_cpu() -> Result<(), String> {
    // mov rbx, DATA (+8 for the second thread); loop: inc qword [rbx]; jmp loop
    let busy = |offset: u64| {
        let mut c = alloc::vec![0x48, 0xbb];
        c.extend((DATA + offset).to_le_bytes());
        c.extend([0x48, 0xff, 0x03, 0xeb, 0xfb]);
        c
    };
    let (s1, data1) = user_space(&busy(0))?;
    let (s2, data2) = user_space(&busy(8))?;
    let a = start_user(s1, 10)?;
    let b = start_user(s2, 10)?;
    sched::set_priority(sched::current(), 10);
    sched::sleep_ticks(20);
    sched::set_priority(sched::current(), sched::MAX_PRIORITY / 2);
    // SAFETY: the data pages are mapped through the window.
    let (n1, n2) = unsafe {
        (
            (phys_to_virt(data1) as *const u64).read_volatile(),
            (phys_to_virt(data2 + 8) as *const u64).read_volatile(),
        )
    };
    finish(a, s1);
    finish(b, s2);
    check!(
        n1 > 1000 && n2 > 1000,
        "counters {n1} and {n2}: one thread starved"
    );
    Ok(())
}

fn bad_syscall_number_is_an_error() -> Result<(), String> {
    // mov eax, 9999; syscall; mov edi, eax; mov eax, exit; syscall
    let mut code = alloc::vec::Vec::new();
    code.extend(mov_eax(9999));
    code.extend(SYSCALL);
    code.extend([0x89, 0xc7]); // mov edi, eax
    code.extend(mov_eax(Syscall::ThreadExit as u64));
    code.extend(SYSCALL);
    let (s, _) = user_space(&code)?;
    let id = start_user(s, 20)?;
    let ending = sched::wait(id);
    finish(id, s);
    check_eq!(
        ending,
        Some(Ending::Exited(bulkhead_abi::Error::NoSuchCall as u64))
    );
    Ok(())
}

/// Two address spaces loaded in turn: with PCID only the first load of
/// each flushes (later ones keep the TLB via the no-flush bit); a page
/// changed in a space that is not loaded is dropped with INVPCID (no flush
/// on the next load) or, without INVPCID, by flushing on the next load;
/// without PCID every load flushes. Either way each write counts.
fn pcid_loads_flush_only_when_needed() -> Result<(), String> {
    use crate::mm::pcid;
    let mut k = KERNEL.lock();
    let a = space::create(&mut k, None).map_err(|e| alloc::format!("{e:?}"))?;
    let b = space::create(&mut k, None).map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(a);
    k.add_ref(b);
    let cr3 = |r| match k.get(r) {
        Some(Object::Space(s)) => s.space.cr3(),
        _ => 0,
    };
    let (ca, cb) = (cr3(a), cr3(b));
    let kernel = crate::mm::paging::kernel_pml4();
    let before = pcid::counters();
    for cr3 in [ca, cb, ca, cb, kernel] {
        pcid::load(cr3);
    }
    let after = pcid::counters();
    let (writes, flushes) = (after.0 - before.0, after.1 - before.1);
    // One page of the unloaded space changes: INVPCID drops just that
    // address and the next load keeps the rest; without INVPCID the next
    // load must flush (the CR3-reload fallback).
    pcid::invalidate_page(ca, 0x40_0000);
    let before_page = pcid::counters().1;
    pcid::load(ca);
    pcid::load(kernel);
    let page_flushes = pcid::counters().1 - before_page;
    // All of the unloaded space's entries must go: the next load flushes.
    pcid::invalidate(ca);
    let before_stale = pcid::counters().1;
    pcid::load(ca);
    pcid::load(kernel);
    let stale_flushes = pcid::counters().1 - before_stale;
    k.release(a);
    k.release(b);
    check_eq!(writes, 5);
    if pcid::enabled() {
        check!(
            ca & 0xfff != 0 && cb & 0xfff != 0 && ca & 0xfff != cb & 0xfff,
            "PCIDs {ca:#x} {cb:#x}"
        );
        // a, b: first use flushes; a, b again: no flush; kernel: as it comes.
        check!((2..=3).contains(&flushes), "{flushes} flushing loads of 5");
        check!(
            stale_flushes >= 1,
            "an invalidated PCID was loaded without a flush"
        );
        if pcid::invpcid() {
            check_eq!(page_flushes, 0);
        } else {
            check!(
                page_flushes >= 1,
                "a changed page's PCID was reloaded without a flush"
            );
        }
    } else {
        check_eq!(flushes, 5);
    }
    Ok(())
}
