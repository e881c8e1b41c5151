//! The root server's own checks, run before the test suite when the
//! command line says `root.selftest=1`: the boot capabilities the kernel
//! promised are there with the right types and rights, the root info page
//! is consistent with them, and the simplest calls work. They use the rt
//! test framework and print in the same format as every other suite.

use alloc::string::String;

use bulkhead_rt::abi::root_info::ROOT_INFO_ADDR;
use bulkhead_rt::abi::{root_slots, ObjectType, Rights};
use bulkhead_rt::boot::{root_cap, root_info};
use bulkhead_rt::report::Tally;
use bulkhead_rt::testing::{run_and_tally, Test};
use bulkhead_rt::{check, check_eq, check_ok, println, sys};

/// The root server's checks.
pub const TESTS: &[Test] = &[
    Test {
        name: "root::slots_have_expected_types",
        run: slots_have_expected_types,
    },
    Test {
        name: "root::modules_are_read_only_frames",
        run: modules_are_read_only_frames,
    },
    Test {
        name: "root::memory_quota_is_consistent",
        run: memory_quota_is_consistent,
    },
    Test {
        name: "root::null_call_succeeds",
        run: null_call_succeeds,
    },
];

/// Runs [`TESTS`].
pub fn run() -> Tally {
    println!("root: self tests");
    run_and_tally(TESTS, None)
}

fn slots_have_expected_types() -> Result<(), String> {
    let expected = [
        (root_slots::SELF_TABLE, ObjectType::CapTable),
        (root_slots::SELF_SPACE, ObjectType::AddressSpace),
        (root_slots::SELF_THREAD, ObjectType::Thread),
        (root_slots::MEMORY, ObjectType::Memory),
        (root_slots::CONSOLE, ObjectType::Console),
        (root_slots::EXIT_PORTS, ObjectType::IoPort),
    ];
    for (slot, kind) in expected {
        let info = check_ok!(sys::cap_info(root_cap(slot)));
        check_eq!(info.object_type, Some(kind));
    }
    Ok(())
}

fn modules_are_read_only_frames() -> Result<(), String> {
    let info = root_info(ROOT_INFO_ADDR);
    check!(info.is_some(), "root info page unreadable");
    for module in info.iter().flat_map(|info| info.modules()) {
        check!(module.slot >= root_slots::FIRST_MODULE);
        let cap = check_ok!(sys::cap_info(root_cap(module.slot)));
        check_eq!(cap.object_type, Some(ObjectType::Frames));
        check!(cap.rights.contains(Rights::READ), "{}", module.name());
        check!(!cap.rights.contains(Rights::WRITE), "{}", module.name());
    }
    Ok(())
}

fn memory_quota_is_consistent() -> Result<(), String> {
    let quota = check_ok!(sys::memory_info(root_cap(root_slots::MEMORY)));
    check!(quota.used <= quota.pages, "{quota:?}");
    check!(quota.free() > 0, "{quota:?}");
    Ok(())
}

fn null_call_succeeds() -> Result<(), String> {
    check_ok!(sys::null());
    check_ok!(sys::yield_now());
    Ok(())
}
