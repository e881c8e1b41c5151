//! In-kernel containers (`direct`, `sci`, `sci-sticky`): the setup and
//! the process image are checked before anything is made; a member's
//! Linux syscalls are served by the kernel's personality (no IPC), and
//! only its exit reaches the endpoint, as `EVENT_EXITED` with the status.
//!
//! The members here run Rust closures in this program's space (under SCI
//! their restricted table shares its user half) and speak through
//! `bulkhead_rt::linux`.

use alloc::string::String;

use bulkhead_rt::abi::container::{
    ImageMapping, KernelSetup, Mode, ProcessImage, EVENT_EXITED, MAX_IMAGE_MAPPINGS, MAX_NAME,
};
use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error, PAGE_SIZE};
use bulkhead_rt::linux;
use bulkhead_rt::sys::{self, ipc, ThreadStatus};
use bulkhead_rt::thread::spawn_prepared;
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{memory, own_thread_spec, Quota};

pub const TESTS: &[Test] = &[
    Test {
        name: "in_kernel::setup_is_checked",
        run: setup_is_checked,
    },
    Test {
        name: "in_kernel::process_image_is_checked",
        run: process_image_is_checked,
    },
    Test {
        name: "in_kernel::members_are_served_in_the_kernel",
        run: members_are_served_in_the_kernel,
    },
];

const GETPID: u64 = 39;
const EXIT_GROUP: u64 = 231;
const BADGE: u64 = 0x42;
const ENOSYS: i64 = 38;
const IN_KERNEL: [Mode; 3] = [Mode::Direct, Mode::Sci, Mode::SciSticky];

/// Pages a quota needs for an in-kernel container with no archive.
fn pages(mode: Mode) -> u64 {
    bulkhead_rt::abi::container::kernel_data_pages(0, mode) + 1
}

/// Bad names, archives and quotas are refused; a good setup makes a
/// container of each in-kernel mode.
fn setup_is_checked() -> Result<(), String> {
    let ep = check_ok!(ipc::endpoint_create(memory()));
    let quota = check_ok!(Quota::new(pages(Mode::Sci)));
    let create =
        |setup: &KernelSetup| sys::container_create_in_kernel(quota.0, ep, Mode::Direct, setup);
    let mut bad = sys::kernel_setup("kt", CapRef::NULL, 0);
    bad.name_len = 0;
    check_err!(create(&bad), Error::InvalidArgument);
    bad.name_len = MAX_NAME as u64 + 1;
    check_err!(create(&bad), Error::InvalidArgument);
    bad = sys::kernel_setup("\u{ff}x", CapRef::NULL, 0);
    bad.name[0] = 0xff;
    check_err!(create(&bad), Error::InvalidArgument);
    check_err!(create(&sys::kernel_setup("kt", ep, 10)), Error::WrongType);
    let frames = check_ok!(sys::frames_alloc(memory(), 1));
    check_err!(
        create(&sys::kernel_setup("kt", frames, 2 * PAGE_SIZE)),
        Error::InvalidArgument
    );
    // A page of zeros is no cpio archive.
    check_err!(
        create(&sys::kernel_setup("kt", frames, PAGE_SIZE)),
        Error::InvalidArgument
    );
    check_ok!(sys::cap_delete(frames));
    let tiny = check_ok!(Quota::new(4));
    check_err!(
        sys::container_create_in_kernel(
            tiny.0,
            ep,
            Mode::Sci,
            &sys::kernel_setup("kt", CapRef::NULL, 0)
        ),
        Error::QuotaExhausted
    );
    for mode in IN_KERNEL {
        let c = check_ok!(sys::container_create_in_kernel(
            quota.0,
            ep,
            mode,
            &sys::kernel_setup("kt", CapRef::NULL, 0)
        ));
        let info = check_ok!(sys::container_info(c));
        check_eq!(info.mode, Some(mode));
        check_eq!(info.members, 0);
        check_ok!(sys::cap_delete(c));
        check_eq!(check_ok!(sys::memory_info(quota.0)).used, 0);
    }
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// Joining an in-kernel container needs a process image: none, too many
/// mappings, unknown protection bits and a bad pointer are refused.
fn process_image_is_checked() -> Result<(), String> {
    let ep = check_ok!(ipc::endpoint_create(memory()));
    let quota = check_ok!(Quota::new(pages(Mode::Direct)));
    let c = check_ok!(sys::container_create_in_kernel(
        quota.0,
        ep,
        Mode::Direct,
        &sys::kernel_setup("kt", CapRef::NULL, 0)
    ));
    let thread = check_ok!(spawn_prepared(
        &own_thread_spec(),
        move |t| {
            let mut image = ProcessImage {
                count: MAX_IMAGE_MAPPINGS as u64 + 1,
                ..ProcessImage::default()
            };
            check_result(
                sys::container_add_thread(c, t, BADGE),
                Error::InvalidArgument,
            )?;
            check_result(
                sys::container_add_process(c, t, BADGE, &image),
                Error::InvalidArgument,
            )?;
            image.count = 1;
            image.mappings[0] = ImageMapping {
                addr: 0x40_0000,
                len: PAGE_SIZE,
                prot: 1 << 7,
            };
            check_result(
                sys::container_add_process(c, t, BADGE, &image),
                Error::InvalidArgument,
            )?;
            check_result(
                sys::probe::container_add_process_raw(c, t, BADGE, 0x10),
                Error::BadAddress,
            )?;
            Ok(())
        },
        || 0
    ));
    check_eq!(check_ok!(thread.join()), ThreadStatus::Exited(0));
    check_eq!(check_ok!(sys::container_info(c)).members, 0);
    check_ok!(sys::cap_delete(c));
    check_ok!(sys::cap_delete(ep));
    Ok(())
}

/// `Err(Error::InvalidState)` unless `result` is exactly `Err(want)`.
fn check_result(result: Result<(), Error>, want: Error) -> Result<(), Error> {
    match result {
        Err(e) if e == want => Ok(()),
        _ => Err(Error::BadState),
    }
}

/// In each in-kernel mode a member's getpid is answered by the kernel
/// (pid 1, the container's first process), an unknown call gets ENOSYS,
/// nothing reaches the endpoint until `exit_group(5)`, which arrives as
/// `EVENT_EXITED` with status 5 and the member's badge.
fn members_are_served_in_the_kernel() -> Result<(), String> {
    for mode in IN_KERNEL {
        let ep = check_ok!(ipc::endpoint_create(memory()));
        let quota = check_ok!(Quota::new(pages(mode)));
        let c = check_ok!(sys::container_create_in_kernel(
            quota.0,
            ep,
            mode,
            &sys::kernel_setup("kt", CapRef::NULL, 0)
        ));
        let image = ProcessImage::default();
        let member = check_ok!(spawn_prepared(
            &own_thread_spec(),
            move |t| sys::container_add_process(c, t, BADGE, &image),
            || {
                let pid = linux::syscall(GETPID, [0; 6]);
                let unknown = linux::syscall(999, [0; 6]);
                let status = if pid == 1 && unknown == -ENOSYS { 5 } else { 6 };
                linux::syscall(EXIT_GROUP, [status, 0, 0, 0, 0, 0]);
                loop {
                    core::hint::spin_loop();
                }
            }
        ));
        let r = check_ok!(ipc::recv(ep, MessageInfo::default()));
        check_eq!(
            (r.badge, r.message.mrs[0], r.message.mrs[1]),
            (BADGE, EVENT_EXITED, 5)
        );
        let info = check_ok!(sys::container_info(c));
        check_eq!(info.mode, Some(mode));
        check!(info.syscalls >= 3);
        check!(check_ok!(sys::container_stop(c)) <= 1);
        check_eq!(check_ok!(member.join()), ThreadStatus::Exited(u64::MAX));
        check_ok!(sys::cap_delete(c));
        check_ok!(sys::cap_delete(ep));
    }
    Ok(())
}
