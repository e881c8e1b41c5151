//! Capabilities: types and rights are reported and enforced, copies can
//! only lose rights, COPY and GRANT gate copying, badges are set once,
//! invalid, deleted and stale handles are refused, and revocation reaches
//! copies held in another table (observed by a thread using that table).

use alloc::string::String;

use bulkhead_rt::abi::{CapRef, Error, ObjectType, Rights};
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::thread::{self, ThreadSpec};
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{console, exit_ports, memory, own_space, own_table, own_thread, PRIORITY};

pub const TESTS: &[Test] = &[
    Test {
        name: "caps::info_reports_types",
        run: info_reports_types,
    },
    Test {
        name: "caps::write_needs_write_right",
        run: write_needs_write_right,
    },
    Test {
        name: "caps::copies_never_gain_rights",
        run: copies_never_gain_rights,
    },
    Test {
        name: "caps::copy_and_grant_rights_enforced",
        run: copy_and_grant_rights_enforced,
    },
    Test {
        name: "caps::wrong_type_refused",
        run: wrong_type_refused,
    },
    Test {
        name: "caps::invalid_handles_refused",
        run: invalid_handles_refused,
    },
    Test {
        name: "caps::deleted_cap_refused",
        run: deleted_cap_refused,
    },
    Test {
        name: "caps::stale_handle_after_reuse",
        run: stale_handle_after_reuse,
    },
    Test {
        name: "caps::badge_set_once",
        run: badge_set_once,
    },
    Test {
        name: "caps::revoke_removes_copies",
        run: revoke_removes_copies,
    },
    Test {
        name: "caps::revoke_reaches_other_tables",
        run: revoke_reaches_other_tables,
    },
];

fn info_reports_types() -> Result<(), String> {
    let expected = [
        (own_table(), ObjectType::CapTable),
        (own_space(), ObjectType::AddressSpace),
        (own_thread(), ObjectType::Thread),
        (memory(), ObjectType::Memory),
        (console(), ObjectType::Console),
        (exit_ports(), ObjectType::IoPort),
    ];
    for (cap, kind) in expected {
        check_eq!(check_ok!(sys::cap_info(cap)).object_type, Some(kind));
    }
    let frames = check_ok!(sys::frames_alloc(memory(), 1));
    check_eq!(
        check_ok!(sys::cap_info(frames)).object_type,
        Some(ObjectType::Frames)
    );
    check_ok!(sys::cap_delete(frames));
    Ok(())
}

fn write_needs_write_right() -> Result<(), String> {
    let read_only = check_ok!(sys::cap_copy(console(), None, Rights::READ | Rights::COPY));
    check_eq!(
        check_ok!(sys::cap_info(read_only)).rights,
        Rights::READ | Rights::COPY
    );
    check_err!(
        sys::console_write(read_only, b"must not appear\n"),
        Error::NoRights
    );
    let write_only = check_ok!(sys::cap_copy(console(), None, Rights::WRITE));
    let mut buffer = [0u8; 4];
    check_err!(sys::console_read(write_only, &mut buffer), Error::NoRights);
    check_ok!(sys::cap_delete(read_only));
    check_ok!(sys::cap_delete(write_only));
    Ok(())
}

fn copies_never_gain_rights() -> Result<(), String> {
    let narrow = check_ok!(sys::cap_copy(console(), None, Rights::READ | Rights::COPY));
    let again = check_ok!(sys::cap_copy(narrow, None, Rights::ALL));
    let rights = check_ok!(sys::cap_info(again)).rights;
    check!(
        (Rights::READ | Rights::COPY).contains(rights),
        "copy gained {rights:?}"
    );
    check_err!(
        sys::console_write(again, b"must not appear\n"),
        Error::NoRights
    );
    check_ok!(sys::cap_delete(again));
    check_ok!(sys::cap_delete(narrow));
    Ok(())
}

fn copy_and_grant_rights_enforced() -> Result<(), String> {
    let table = check_ok!(sys::table_create(memory(), 4));
    let no_copy = check_ok!(sys::cap_copy(console(), None, Rights::READ | Rights::WRITE));
    check_err!(sys::cap_copy(no_copy, None, Rights::READ), Error::NoRights);
    let no_grant = check_ok!(sys::cap_copy(console(), None, Rights::WRITE | Rights::COPY));
    check_ok!(sys::cap_copy(no_grant, None, Rights::WRITE));
    check_err!(
        sys::cap_copy(no_grant, Some(table), Rights::WRITE),
        Error::NoRights
    );
    check_ok!(sys::cap_copy(console(), Some(table), Rights::WRITE));
    Ok(())
}

fn wrong_type_refused() -> Result<(), String> {
    check_err!(sys::console_write(memory(), b"x"), Error::WrongType);
    check_err!(sys::frames_alloc(console(), 1), Error::WrongType);
    check_err!(sys::space_create(own_space()), Error::WrongType);
    check_err!(sys::thread_start(console()), Error::WrongType);
    check_err!(
        sys::cap_copy(console(), Some(memory()), Rights::READ),
        Error::WrongType
    );
    Ok(())
}

fn invalid_handles_refused() -> Result<(), String> {
    check_err!(sys::cap_info(CapRef::NULL), Error::InvalidCap);
    check_err!(
        sys::console_write(CapRef::new(1 << 30, 0), b"x"),
        Error::InvalidCap
    );
    let unused = CapRef::new(200, 0); // beyond our used slots
    check_err!(sys::cap_info(unused), Error::InvalidCap | Error::StaleCap);
    check_err!(
        sys::cap_copy(console(), Some(CapRef::new(1 << 30, 0)), Rights::READ),
        Error::InvalidCap
    );
    Ok(())
}

fn deleted_cap_refused() -> Result<(), String> {
    let copy = check_ok!(sys::cap_copy(console(), None, Rights::ALL));
    check_ok!(sys::cap_delete(copy));
    check_err!(
        sys::console_write(copy, b"must not appear\n"),
        Error::InvalidCap | Error::StaleCap
    );
    check_err!(sys::cap_delete(copy), Error::InvalidCap | Error::StaleCap);
    // The source is untouched.
    check_eq!(
        check_ok!(sys::cap_info(console())).object_type,
        Some(ObjectType::Console)
    );
    Ok(())
}

fn stale_handle_after_reuse() -> Result<(), String> {
    let old = check_ok!(sys::cap_copy(console(), None, Rights::ALL));
    check_ok!(sys::cap_delete(old));
    // The kernel fills the lowest free slot, so the next copy reuses it.
    let new = check_ok!(sys::cap_copy(memory(), None, Rights::ALL));
    check_eq!(new.index(), old.index(), "slot not reused");
    check!(new.generation() != old.generation());
    check_err!(sys::cap_info(old), Error::StaleCap);
    check_err!(
        sys::console_write(old, b"must not appear\n"),
        Error::StaleCap
    );
    check_eq!(
        check_ok!(sys::cap_info(new)).object_type,
        Some(ObjectType::Memory)
    );
    check_ok!(sys::cap_delete(new));
    Ok(())
}

fn badge_set_once() -> Result<(), String> {
    let badged = check_ok!(sys::cap_mint(console(), None, Rights::ALL, 0xbad6e));
    check_eq!(check_ok!(sys::cap_info(badged)).badge, 0xbad6e);
    check_err!(
        sys::cap_mint(badged, None, Rights::ALL, 7),
        Error::AlreadyBadged
    );
    let copy = check_ok!(sys::cap_copy(badged, None, Rights::ALL));
    check_eq!(check_ok!(sys::cap_info(copy)).badge, 0xbad6e);
    check_ok!(sys::cap_delete(copy));
    check_ok!(sys::cap_delete(badged));
    Ok(())
}

fn revoke_removes_copies() -> Result<(), String> {
    let parent = check_ok!(sys::cap_copy(console(), None, Rights::ALL));
    let child = check_ok!(sys::cap_copy(parent, None, Rights::ALL));
    let grandchild = check_ok!(sys::cap_copy(child, None, Rights::ALL));
    check_ok!(sys::cap_revoke(parent));
    check_err!(sys::cap_info(child), Error::InvalidCap | Error::StaleCap);
    check_err!(
        sys::cap_info(grandchild),
        Error::InvalidCap | Error::StaleCap
    );
    check_eq!(
        check_ok!(sys::cap_info(parent)).object_type,
        Some(ObjectType::Console)
    );
    check_ok!(sys::cap_delete(parent));
    Ok(())
}

/// Runs a thread in our space whose capability table is `table` and which
/// looks up `cap_there`, a handle in that table; its exit code is 0 or the
/// error code.
fn info_from_table(table: CapRef, cap_there: CapRef) -> Result<ThreadStatus, Error> {
    let spec = ThreadSpec {
        memory: memory(),
        space: own_space(),
        table,
        priority: PRIORITY,
    };
    let handle = thread::spawn(&spec, move || match sys::cap_info(cap_there) {
        Ok(_) => 0,
        Err(error) => error as i32,
    })?;
    handle.join()
}

fn revoke_reaches_other_tables() -> Result<(), String> {
    let other = check_ok!(sys::table_create(memory(), 4));
    let parent = check_ok!(sys::cap_copy(console(), None, Rights::ALL));
    let there = check_ok!(sys::cap_copy(parent, Some(other), Rights::WRITE));
    check_eq!(
        check_ok!(info_from_table(other, there)),
        ThreadStatus::Exited(0)
    );
    check_ok!(sys::cap_revoke(parent));
    let after = check_ok!(info_from_table(other, there));
    let refused = [Error::InvalidCap as u64, Error::StaleCap as u64];
    check!(
        matches!(after, ThreadStatus::Exited(code) if refused.contains(&code)),
        "the copy in the other table survived revocation: {after:?}"
    );
    check_ok!(sys::cap_delete(parent));
    Ok(())
}
