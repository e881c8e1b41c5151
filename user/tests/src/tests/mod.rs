//! The suite, grouped by what it checks: [`space`] (address spaces and
//! faults), [`caps`] (capability rights, deletion, revocation), [`pointers`]
//! (bad user pointers and arguments), [`quota`] (memory accounting),
//! [`threads`] (scheduling, SSE state, isolation of faults), [`ipc`],
//! [`ipc_cache`] (the kernel's remembered endpoint lookups never outlive a
//! capability), [`containers`] (forwarding a member's Linux syscalls) and [`in_kernel`]
//! (containers whose syscalls the kernel serves).

mod caps;
mod containers;
mod in_kernel;
mod ipc;
mod ipc_cache;
mod pointers;
mod quota;
mod space;
mod threads;

use alloc::vec::Vec;

use bulkhead_rt::Test;

/// Every test, in running order.
pub fn all() -> Vec<Test> {
    [
        space::TESTS,
        caps::TESTS,
        pointers::TESTS,
        quota::TESTS,
        threads::TESTS,
        ipc::TESTS,
        ipc_cache::TESTS,
        containers::TESTS,
        in_kernel::TESTS,
    ]
    .concat()
}
