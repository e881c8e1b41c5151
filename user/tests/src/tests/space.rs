//! Address spaces: creating, mapping, unmapping and protecting pages, the
//! W^X rule, Frames rights limiting mappings, and faults that stop only
//! the thread that made them (run in sandboxes, see `fixture`).

use alloc::string::String;

use bulkhead_rt::abi::{Error, Rights, PAGE_SIZE, USER_END};
use bulkhead_rt::mem::SharedMapping;
use bulkhead_rt::sys::{self, ThreadStatus};
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{
    own_space, page_fault_at, Quota, Sandbox, DATA_ADDR, EXIT_ENTRY, LOAD_ENTRY, STORE_ENTRY,
    SURVIVED,
};

pub const TESTS: &[Test] = &[
    Test {
        name: "space::map_write_read_back",
        run: map_write_read_back,
    },
    Test {
        name: "space::shared_frames_seen_everywhere",
        run: shared_frames_seen_everywhere,
    },
    Test {
        name: "space::unmap_removes_mapping",
        run: unmap_removes_mapping,
    },
    Test {
        name: "space::overlap_and_wx_refused",
        run: overlap_and_wx_refused,
    },
    Test {
        name: "space::frames_rights_limit_mappings",
        run: frames_rights_limit_mappings,
    },
    Test {
        name: "space::map_arguments_checked",
        run: map_arguments_checked,
    },
    Test {
        name: "space::read_only_write_faults_one_thread",
        run: read_only_write_faults_one_thread,
    },
    Test {
        name: "space::executing_data_faults",
        run: executing_data_faults,
    },
    Test {
        name: "space::protect_takes_write_away",
        run: protect_takes_write_away,
    },
    Test {
        name: "space::unmapped_access_faults",
        run: unmapped_access_faults,
    },
];

/// A scratch address in the spaces these tests create.
const ADDR: u64 = 0x0000_0040_0000_0000;
/// A window in our own space for `SharedMapping`.
const OWN_WINDOW: u64 = 0x0000_3000_0000_0000;

fn rw() -> Rights {
    Rights::READ | Rights::WRITE
}

fn map_write_read_back() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 2));
    check_ok!(sys::space_map(space, frames, 0, 2, ADDR, rw()));
    check_ok!(sys::space_write(space, ADDR + 100, b"hello"));
    let mut buffer = [0u8; 5];
    check_ok!(sys::space_read(space, ADDR + 100, &mut buffer));
    check_eq!(&buffer, b"hello");
    let mut second_page = [0xffu8; 16];
    check_ok!(sys::space_read(space, ADDR + PAGE_SIZE, &mut second_page));
    check!(
        second_page.iter().all(|&b| b == 0),
        "new frames must be zeroed"
    );
    Ok(())
}

fn shared_frames_seen_everywhere() -> Result<(), String> {
    let quota = check_ok!(Quota::new(32));
    let (first, second) = (
        check_ok!(sys::space_create(quota.0)),
        check_ok!(sys::space_create(quota.0)),
    );
    let frames = check_ok!(sys::frames_alloc(quota.0, 1));
    check_ok!(sys::space_map(first, frames, 0, 1, ADDR, rw()));
    check_ok!(sys::space_map(second, frames, 0, 1, ADDR + PAGE_SIZE, rw()));
    check_ok!(sys::space_write(first, ADDR + 8, b"shared"));
    let mut buffer = [0u8; 6];
    check_ok!(sys::space_read(second, ADDR + PAGE_SIZE + 8, &mut buffer));
    check_eq!(&buffer, b"shared");
    let own = check_ok!(SharedMapping::new(own_space(), frames, OWN_WINDOW, 1));
    check_ok!(own.read(8, &mut buffer));
    check_eq!(&buffer, b"shared");
    check_ok!(own.write(0, b"mine"));
    let mut seen = [0u8; 4];
    check_ok!(sys::space_read(first, ADDR, &mut seen));
    check_eq!(&seen, b"mine");
    Ok(())
}

fn unmap_removes_mapping() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 1));
    check_ok!(sys::space_map(space, frames, 0, 1, ADDR, rw()));
    check_ok!(sys::space_unmap(space, ADDR, 1));
    let mut buffer = [0u8; 4];
    check_err!(
        sys::space_read(space, ADDR, &mut buffer),
        Error::NotMapped | Error::BadAddress
    );
    check_err!(sys::space_unmap(space, ADDR, 1), Error::NotMapped);
    check_ok!(sys::space_map(space, frames, 0, 1, ADDR, rw()));
    Ok(())
}

fn overlap_and_wx_refused() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 2));
    check_ok!(sys::space_map(space, frames, 0, 1, ADDR, rw()));
    check_err!(
        sys::space_map(space, frames, 1, 1, ADDR, rw()),
        Error::AlreadyMapped
    );
    let wx = Rights::READ | Rights::WRITE | Rights::EXECUTE;
    check_err!(
        sys::space_map(space, frames, 1, 1, ADDR + PAGE_SIZE, wx),
        Error::WriteAndExecute
    );
    check_err!(
        sys::space_protect(space, ADDR, 1, wx),
        Error::WriteAndExecute
    );
    check_err!(
        sys::space_protect(space, ADDR + PAGE_SIZE, 1, Rights::READ),
        Error::NotMapped
    );
    Ok(())
}

fn frames_rights_limit_mappings() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 1));
    let read_only = check_ok!(sys::cap_copy(frames, None, Rights::READ | Rights::COPY));
    check_err!(
        sys::space_map(space, read_only, 0, 1, ADDR, rw()),
        Error::NoRights
    );
    let exec = Rights::READ | Rights::EXECUTE;
    check_err!(
        sys::space_map(space, read_only, 0, 1, ADDR, exec),
        Error::NoRights
    );
    check_ok!(sys::space_map(space, read_only, 0, 1, ADDR, Rights::READ));
    // A page mapped read-only cannot be written even with WRITE on the space.
    check_err!(sys::space_write(space, ADDR, b"x"), Error::NoRights);
    let space_ro = check_ok!(sys::cap_copy(space, None, Rights::READ | Rights::COPY));
    check_err!(sys::space_write(space_ro, ADDR, b"x"), Error::NoRights);
    let mut byte = [0u8; 1];
    check_ok!(sys::space_read(space_ro, ADDR, &mut byte));
    Ok(())
}

fn map_arguments_checked() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 2));
    check_err!(
        sys::space_map(space, frames, 1, 2, ADDR, rw()),
        Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 0, ADDR, rw()),
        Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 1, ADDR + 8, rw()),
        Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 1, 0, rw()),
        Error::BadAddress | Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 2, USER_END - PAGE_SIZE, rw()),
        Error::BadAddress | Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 1, 0xffff_8000_0000_0000, rw()),
        Error::BadAddress | Error::InvalidArgument
    );
    check_err!(
        sys::space_map(space, frames, 0, 1, USER_END, rw()),
        Error::BadAddress | Error::InvalidArgument
    );
    check_err!(
        sys::space_unmap(space, ADDR, u64::MAX),
        Error::BadAddress | Error::InvalidArgument
    );
    Ok(())
}

fn read_only_write_faults_one_thread() -> Result<(), String> {
    let sandbox = check_ok!(Sandbox::new(Rights::READ));
    check_eq!(
        check_ok!(sandbox.run(LOAD_ENTRY, DATA_ADDR)),
        ThreadStatus::Exited(0)
    );
    let thread = check_ok!(sandbox.start(STORE_ENTRY, DATA_ADDR));
    check_eq!(
        check_ok!(crate::fixture::wait_end(thread)),
        page_fault_at(DATA_ADDR)
    );
    // We keep running, the faulted thread stays stopped, the page unchanged.
    check_ok!(sys::null());
    check_eq!(
        check_ok!(sys::thread_info(thread)).status(),
        page_fault_at(DATA_ADDR)
    );
    let mut first = [0u8; 1];
    check_ok!(sys::space_read(sandbox.space, DATA_ADDR, &mut first));
    check_eq!(first[0], 0xb8, "the read-only page was modified");
    check_eq!(
        check_ok!(sandbox.run(EXIT_ENTRY, 0)),
        ThreadStatus::Exited(0)
    );
    Ok(())
}

fn executing_data_faults() -> Result<(), String> {
    let sandbox = check_ok!(Sandbox::new(Rights::READ | Rights::WRITE));
    check_eq!(
        check_ok!(sandbox.run(EXIT_ENTRY, 0)),
        ThreadStatus::Exited(0)
    );
    // The data page holds a valid exit stub: only NX can stop it.
    check_eq!(
        check_ok!(sandbox.run(DATA_ADDR, 0)),
        page_fault_at(DATA_ADDR)
    );
    check_ok!(sys::null());
    Ok(())
}

fn protect_takes_write_away() -> Result<(), String> {
    let sandbox = check_ok!(Sandbox::new(Rights::READ | Rights::WRITE));
    let survived = ThreadStatus::Exited(u64::from(SURVIVED));
    check_eq!(
        check_ok!(sandbox.run(STORE_ENTRY, DATA_ADDR + 64)),
        survived
    );
    let mut byte = [0u8; 1];
    check_ok!(sys::space_read(sandbox.space, DATA_ADDR + 64, &mut byte));
    check_eq!(byte[0], 1);
    check_ok!(sys::space_protect(
        sandbox.space,
        DATA_ADDR,
        1,
        Rights::READ
    ));
    let fault = page_fault_at(DATA_ADDR + 64);
    check_eq!(check_ok!(sandbox.run(STORE_ENTRY, DATA_ADDR + 64)), fault);
    check_ok!(sys::space_protect(
        sandbox.space,
        DATA_ADDR,
        1,
        Rights::READ | Rights::WRITE
    ));
    check_eq!(
        check_ok!(sandbox.run(STORE_ENTRY, DATA_ADDR + 64)),
        survived
    );
    Ok(())
}

fn unmapped_access_faults() -> Result<(), String> {
    let sandbox = check_ok!(Sandbox::new(Rights::READ));
    check_ok!(sys::space_unmap(sandbox.space, DATA_ADDR, 1));
    check_eq!(
        check_ok!(sandbox.run(LOAD_ENTRY, DATA_ADDR + 8)),
        page_fault_at(DATA_ADDR + 8)
    );
    Ok(())
}
