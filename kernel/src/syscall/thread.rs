//! Threads: create, configure, start, suspend, resume, exit, wait, and the
//! scheduler calls (yield, sleep).
//!
//! Blocking calls (sleep, wait) look up their capability with the object
//! layer locked, then block with no lock held.

use super::{locked, lookup, Caller, Results};
use crate::object::{memory, Object, ThreadContext};
use crate::sched::{self, Ending, State, MAX_PRIORITY};
use bulkhead_abi::{Error, ObjectType, Rights, ThreadState, USER_END};

/// Pages charged for a thread: its kernel stack, guard, and FPU area.
const THREAD_PAGES: u64 = crate::mm::stack::STACK_PAGES + 2;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// `Yield()`.
pub fn yield_now(_: &mut Caller) -> Result<Results, Error> {
    sched::yield_now();
    Ok([0; 3])
}

/// `Sleep(nanoseconds)`: at least that long. The wait starts part-way
/// through the current tick, so one tick more than the duration covers is
/// waited (a sleep of 0 still yields for one tick).
pub fn sleep(caller: &mut Caller) -> Result<Results, Error> {
    sleep_at_least(caller.arg(0));
    Ok([0; 3])
}

/// Blocks the current thread for at least `nanos` (see [`sleep`]).
pub fn sleep_at_least(nanos: u64) {
    let hz = u64::from(crate::time::timer_hz().max(1));
    let ticks = nanos.saturating_mul(hz).div_ceil(NANOS_PER_SECOND);
    sched::sleep_ticks(ticks.saturating_add(1));
}

fn priority_arg(caller: &Caller, i: usize) -> Result<u8, Error> {
    u8::try_from(caller.arg(i))
        .ok()
        .filter(|p| *p <= MAX_PRIORITY)
        .ok_or(Error::InvalidArgument)
}

/// `ThreadCreate(quota, space, table, priority)` → a new, inactive thread.
pub fn create(caller: &mut Caller) -> Result<Results, Error> {
    let priority = priority_arg(caller, 3)?;
    locked(|k| {
        let q = super::memory::quota(k, caller, 0)?;
        let (space, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(1),
            ObjectType::AddressSpace,
            Rights::WRITE,
        )?;
        let (table_obj, _, _) = lookup(
            k,
            caller,
            caller.cap_arg(2),
            ObjectType::CapTable,
            Rights::WRITE,
        )?;
        let (Some(Object::Space(s)), Some(Object::Table(table))) = (k.get(space), k.get(table_obj))
        else {
            return Err(Error::WrongType);
        };
        let (cr3, table) = (s.space.cr3(), *table);
        memory::charge(k, q, THREAD_PAGES)?;
        let id = match sched::create_user("user", cr3, priority) {
            Ok(id) => id,
            Err(_) => {
                memory::uncharge(k, q, THREAD_PAGES);
                return Err(Error::OutOfMemory);
            }
        };
        let object = k.insert(Object::Thread(id), Some((q, THREAD_PAGES)));
        k.add_ref(q);
        k.hold(object, space);
        k.hold(object, table_obj);
        k.threads.insert(
            id,
            ThreadContext {
                table,
                space,
                fault_handler: None,
            },
        );
        super::memory::grant_new(k, caller, object)
    })
}

fn user_address(value: u64) -> Result<u64, Error> {
    (value < USER_END)
        .then_some(value)
        .ok_or(Error::InvalidArgument)
}

/// `ThreadSetEntry(thread, rip, rsp, argument)`: only before it starts.
pub fn set_entry(caller: &mut Caller) -> Result<Results, Error> {
    let (rip, rsp, arg) = (
        user_address(caller.arg(1))?,
        user_address(caller.arg(2))?,
        caller.arg(3),
    );
    let id = caller.thread_arg(Rights::WRITE)?;
    sched::with_thread(id, |t| {
        if t.state != State::Inactive || !t.user {
            return Err(Error::BadState);
        }
        let frame = t.user_frame();
        frame.rip = rip;
        frame.rsp = rsp;
        frame.rdi = arg;
        Ok([0; 3])
    })
    .ok_or(Error::InvalidCap)?
}

/// `ThreadStart(thread)`.
pub fn start(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::WRITE)?;
    sched::start(id).map_err(|_| Error::BadState)?;
    Ok([0; 3])
}

/// `ThreadSuspend(thread)`.
pub fn suspend(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::WRITE)?;
    match sched::suspend(id) {
        Some(State::Ended(_)) | Some(State::Inactive) => Err(Error::BadState),
        Some(_) => Ok([0; 3]),
        None => Err(Error::InvalidCap),
    }
}

/// `ThreadResume(thread)`.
pub fn resume(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::WRITE)?;
    match sched::resume(id) {
        Some(State::Suspended) => Ok([0; 3]),
        Some(_) => Err(Error::BadState),
        None => Err(Error::InvalidCap),
    }
}

/// `ThreadExit(code)`: does not return.
pub fn exit(caller: &mut Caller) -> Result<Results, Error> {
    sched::end_current(Ending::Exited(caller.arg(0)))
}

fn describe(state: State) -> Results {
    match state {
        State::Ended(Ending::Exited(code)) => [ThreadState::Exited as u64, code, 0],
        State::Ended(Ending::Killed) => [ThreadState::Exited as u64, u64::MAX, 0],
        State::Ended(Ending::Faulted {
            vector, address, ..
        }) => [ThreadState::Faulted as u64, u64::from(vector), address],
        other => [other.abi() as u64, 0, 0],
    }
}

/// `ThreadWait(thread)` → state, exit code or fault vector, fault address.
pub fn wait(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::READ)?;
    if id == caller.thread {
        return Err(Error::BadState);
    }
    let ending = sched::wait(id).ok_or(Error::InvalidCap)?;
    Ok(describe(State::Ended(ending)))
}

/// `ThreadSetPriority(thread, priority)`.
pub fn set_priority(caller: &mut Caller) -> Result<Results, Error> {
    let priority = priority_arg(caller, 1)?;
    let id = caller.thread_arg(Rights::WRITE)?;
    sched::set_priority(id, priority).ok_or(Error::InvalidCap)?;
    Ok([0; 3])
}

/// `ThreadInfo(thread)` → state, code or vector, address.
pub fn info(caller: &mut Caller) -> Result<Results, Error> {
    let id = caller.thread_arg(Rights::READ)?;
    let state = sched::with_thread(id, |t| t.state).ok_or(Error::InvalidCap)?;
    Ok(describe(state))
}

/// `ThreadSetGsBase(thread, base)`. While the thread is in the kernel its
/// user GS base sits in `IA32_KERNEL_GS_BASE` (swapgs swapped it there).
pub fn set_gs_base(caller: &mut Caller) -> Result<Results, Error> {
    let base = user_address(caller.arg(1))?;
    let id = caller.thread_arg(Rights::WRITE)?;
    sched::with_thread(id, |t| t.gs_base = base).ok_or(Error::InvalidCap)?;
    if id == caller.thread {
        x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::new(base));
    }
    Ok([0; 3])
}

/// `ThreadSetFsBase(thread, base)`.
pub fn set_fs_base(caller: &mut Caller) -> Result<Results, Error> {
    let base = user_address(caller.arg(1))?;
    let id = caller.thread_arg(Rights::WRITE)?;
    sched::with_thread(id, |t| t.fs_base = base).ok_or(Error::InvalidCap)?;
    if id == caller.thread {
        x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new(base));
    }
    Ok([0; 3])
}
