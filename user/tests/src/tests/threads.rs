//! Threads: exit codes reach `thread_wait`, state changes are reported,
//! a busy-looping thread at the same priority starves nobody, SSE
//! registers survive preemption between two threads using all of them,
//! suspension stops a thread until it is resumed, and a faulting thread
//! disturbs no other thread.

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use bulkhead_rt::abi::{Error, Rights, ThreadState};
use bulkhead_rt::arch::sse_round;
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::{spawn, JoinHandle};
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{
    fill_page, own_thread_spec, page_fault_at, Sandbox, DATA_ADDR, PRIORITY, STACK_ADDR,
    STORE_ENTRY,
};
use bulkhead_rt::abi::{Syscall, PAGE_SIZE};

pub const TESTS: &[Test] = &[
    Test {
        name: "threads::exit_code_reaches_wait",
        run: exit_code_reaches_wait,
    },
    Test {
        name: "threads::states_reported",
        run: states_reported,
    },
    Test {
        name: "threads::busy_loop_starves_nobody",
        run: busy_loop_starves_nobody,
    },
    Test {
        name: "threads::sse_state_survives_preemption",
        run: sse_state_survives_preemption,
    },
    Test {
        name: "threads::suspend_stops_until_resume",
        run: suspend_stops_until_resume,
    },
    Test {
        name: "threads::fault_disturbs_no_other_thread",
        run: fault_disturbs_no_other_thread,
    },
    Test {
        name: "threads::bad_arguments_refused",
        run: bad_arguments_refused,
    },
    Test {
        name: "threads::fs_and_gs_bases_are_per_thread",
        run: fs_and_gs_bases_are_per_thread,
    },
];

/// How long the test thread sleeps to let others run.
const SETTLE: Duration = Duration::from_millis(50);
/// SSE rounds per thread, and spin budget per round.
const SSE_ROUNDS: u64 = 4;
const SSE_BUDGET: u64 = 1 << 26;

/// A thread counting in `counter` until `stop` is set; exits 0.
fn counter_thread(counter: &Arc<AtomicU64>, stop: &Arc<AtomicBool>) -> Result<JoinHandle, Error> {
    let (counter, stop) = (counter.clone(), stop.clone());
    spawn(&own_thread_spec(), move || {
        while !stop.load(Ordering::Relaxed) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        0
    })
}

/// Whether `counter` moves while we sleep.
fn advances(counter: &AtomicU64) -> Result<bool, Error> {
    let before = counter.load(Ordering::Relaxed);
    sys::sleep(SETTLE)?;
    Ok(counter.load(Ordering::Relaxed) > before)
}

fn exit_code_reaches_wait() -> Result<(), String> {
    let handle = check_ok!(spawn(&own_thread_spec(), || 42));
    check_eq!(check_ok!(handle.join()), ThreadStatus::Exited(42));
    let negative = check_ok!(spawn(&own_thread_spec(), || -3));
    check_eq!(
        check_ok!(negative.join()),
        ThreadStatus::Exited((-3i64) as u64)
    );
    Ok(())
}

fn states_reported() -> Result<(), String> {
    let sandbox = check_ok!(Sandbox::new(Rights::READ));
    let idle = check_ok!(sys::thread_create(
        sandbox.quota.0,
        sandbox.space,
        sandbox.table,
        1
    ));
    check_eq!(
        check_ok!(sys::thread_info(idle)).state,
        Some(ThreadState::Inactive)
    );
    let handle = check_ok!(spawn(&own_thread_spec(), || {
        let _ = sys::sleep(Duration::from_secs(1));
        0
    }));
    check_ok!(sys::sleep(SETTLE));
    check_eq!(
        check_ok!(sys::thread_info(handle.cap())).state,
        Some(ThreadState::Blocked)
    );
    let thread = handle.cap();
    check_eq!(check_ok!(handle.join()), ThreadStatus::Exited(0));
    check_err!(
        sys::thread_info(thread),
        Error::InvalidCap | Error::StaleCap
    );
    Ok(())
}

fn busy_loop_starves_nobody() -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (first, second) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let busy_first = check_ok!(counter_thread(&first, &stop));
    let busy_second = check_ok!(counter_thread(&second, &stop));
    // Getting here again at all means the busy threads did not starve us.
    let both_ran = check_ok!(advances(&first)) && check_ok!(advances(&second));
    stop.store(true, Ordering::Relaxed);
    check_eq!(check_ok!(busy_first.join()), ThreadStatus::Exited(0));
    check_eq!(check_ok!(busy_second.join()), ThreadStatus::Exited(0));
    check!(
        both_ran,
        "a busy thread at the same priority starved the other"
    );
    Ok(())
}

/// Runs SSE rounds; exits 0, 1 if a pattern was clobbered, 2 if the other
/// thread never ran during a round.
fn sse_worker(seed: u64, own: Arc<AtomicU64>, other: Arc<AtomicU64>) -> i32 {
    let mut interleaved = 0;
    for round in 0..SSE_ROUNDS {
        let result = sse_round(seed ^ round, &own, &other, SSE_BUDGET);
        if !result.intact {
            return 1;
        }
        interleaved += u64::from(result.other_ran);
    }
    if interleaved > 0 {
        0
    } else {
        2
    }
}

fn sse_state_survives_preemption() -> Result<(), String> {
    let (a, b) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (a2, b2) = (a.clone(), b.clone());
    let first = check_ok!(spawn(&own_thread_spec(), move || sse_worker(
        0x1111, a2, b2
    )));
    let (a3, b3) = (a.clone(), b.clone());
    let second = check_ok!(spawn(&own_thread_spec(), move || sse_worker(
        0x2222, b3, a3
    )));
    let ends = (check_ok!(first.join()), check_ok!(second.join()));
    let ok = ThreadStatus::Exited(0);
    check!(
        ends.0 == ok && ends.1 == ok,
        "exit 1 = xmm clobbered, 2 = never interleaved: {ends:?}"
    );
    Ok(())
}

fn suspend_stops_until_resume() -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let handle = check_ok!(counter_thread(&counter, &stop));
    check!(check_ok!(advances(&counter)), "the counter never ran");
    check_ok!(sys::thread_suspend(handle.cap()));
    check_ok!(sys::sleep(SETTLE));
    check_eq!(
        check_ok!(sys::thread_info(handle.cap())).state,
        Some(ThreadState::Suspended)
    );
    let frozen = !check_ok!(advances(&counter));
    check_ok!(sys::thread_resume(handle.cap()));
    let resumed = check_ok!(advances(&counter));
    stop.store(true, Ordering::Relaxed);
    check_eq!(check_ok!(handle.join()), ThreadStatus::Exited(0));
    check!(frozen, "a suspended thread kept running");
    check!(resumed, "a resumed thread did not run");
    Ok(())
}

fn fault_disturbs_no_other_thread() -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let bystander = check_ok!(counter_thread(&counter, &stop));
    let sandbox = check_ok!(Sandbox::new(Rights::READ));
    check_eq!(
        check_ok!(sandbox.run(STORE_ENTRY, DATA_ADDR)),
        page_fault_at(DATA_ADDR)
    );
    let still_running = check_ok!(advances(&counter));
    stop.store(true, Ordering::Relaxed);
    check_eq!(check_ok!(bystander.join()), ThreadStatus::Exited(0));
    check!(still_running, "a fault elsewhere stopped the bystander");
    Ok(())
}

fn bad_arguments_refused() -> Result<(), String> {
    let handle = check_ok!(spawn(&own_thread_spec(), || {
        let _ = sys::sleep(Duration::from_millis(20));
        0
    }));
    check_err!(sys::thread_start(handle.cap()), Error::BadState);
    check_err!(
        sys::thread_set_fs_base(handle.cap(), 0x8000_0000_0000_0000),
        Error::BadAddress | Error::InvalidArgument
    );
    check_eq!(check_ok!(handle.join()), ThreadStatus::Exited(0));
    Ok(())
}

/// A thread reads `fs:[0]` and `gs:[0]` and exits with their sum: the FS
/// and GS bases set for it (and not the kernel's GS) are what it sees.
fn fs_and_gs_bases_are_per_thread() -> Result<(), String> {
    const CODE: u64 = 0x0400_0000;
    let sandbox = check_ok!(Sandbox::new(Rights::READ | Rights::WRITE));
    let frames = check_ok!(sys::frames_alloc(sandbox.quota.0, 1));
    let mut code = alloc::vec![0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0]; // mov eax, fs:[0]
    code.extend([0x89, 0xc7]); // mov edi, eax
    code.extend([0x65, 0x8b, 0x04, 0x25, 0, 0, 0, 0]); // mov eax, gs:[0]
    code.extend([0x01, 0xc7]); // add edi, eax
    code.push(0xb8); // mov eax, ThreadExit
    code.extend((Syscall::ThreadExit as u32).to_le_bytes());
    code.extend([0x0f, 0x05]); // syscall
    check_ok!(fill_page(
        sandbox.space,
        frames,
        0,
        CODE,
        &code,
        Rights::READ | Rights::EXECUTE
    ));
    check_ok!(sys::space_write(
        sandbox.space,
        DATA_ADDR + 64,
        &7u32.to_le_bytes()
    ));
    check_ok!(sys::space_write(
        sandbox.space,
        DATA_ADDR + 72,
        &35u32.to_le_bytes()
    ));
    let thread = check_ok!(sys::thread_create(
        sandbox.quota.0,
        sandbox.space,
        sandbox.table,
        PRIORITY
    ));
    check_ok!(sys::thread_set_entry(
        thread,
        CODE,
        STACK_ADDR + PAGE_SIZE - 8,
        0
    ));
    check_ok!(sys::thread_set_fs_base(thread, DATA_ADDR + 64));
    check_ok!(sys::thread_set_gs_base(thread, DATA_ADDR + 72));
    check_ok!(sys::thread_start(thread));
    let end = check_ok!(crate::fixture::wait_end(thread));
    let _ = sys::cap_delete(thread);
    check_eq!(end, ThreadStatus::Exited(42));
    Ok(())
}
