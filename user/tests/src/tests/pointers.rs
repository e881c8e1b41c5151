//! Bad pointers and arguments: kernel addresses, unmapped and
//! non-canonical addresses, ranges running off a mapping or wrapping
//! around, huge lengths, bad widths and ports, and unknown call numbers
//! all give errors (never a fault, never a kernel panic). The pointers are
//! passed through `sys::probe`, whose calls only read our memory.

use alloc::string::String;

use bulkhead_rt::abi::{Error, Rights, PAGE_SIZE, USER_END};
use bulkhead_rt::mem::SharedMapping;
use bulkhead_rt::sys::{self, probe, PortWidth};
use bulkhead_rt::{check_eq, check_err, check_ok, Test};

use crate::fixture::{console, exit_ports, memory, own_space, Quota, Sandbox};

pub const TESTS: &[Test] = &[
    Test {
        name: "pointers::kernel_addresses_refused",
        run: kernel_addresses_refused,
    },
    Test {
        name: "pointers::unmapped_and_noncanonical_refused",
        run: unmapped_and_noncanonical_refused,
    },
    Test {
        name: "pointers::ranges_off_a_mapping_refused",
        run: ranges_off_a_mapping_refused,
    },
    Test {
        name: "pointers::huge_and_wrapping_lengths_refused",
        run: huge_and_wrapping_lengths_refused,
    },
    Test {
        name: "pointers::space_copies_checked",
        run: space_copies_checked,
    },
    Test {
        name: "pointers::ports_checked",
        run: ports_checked,
    },
    Test {
        name: "pointers::unknown_call_refused",
        run: unknown_call_refused,
    },
    Test {
        name: "pointers::top_page_of_user_half_refused",
        run: top_page_of_user_half_refused,
    },
];

/// The last page of the canonical lower half is not user memory: a
/// `syscall` in its last two bytes would return to the non-canonical
/// `0x0000_8000_0000_0000`, which the kernel must never hand to SYSRET or
/// IRETQ. So that page can be neither mapped nor named as an entry point,
/// and every user RIP the kernel saves is canonical (the IPC fast path
/// relies on that instead of checking).
fn top_page_of_user_half_refused() -> Result<(), String> {
    const TOP_PAGE: u64 = 0x0000_7fff_ffff_f000;
    const LAST_SYSCALL: u64 = 0x0000_8000_0000_0000 - 2;
    check_eq!(USER_END, TOP_PAGE);
    let sandbox = check_ok!(Sandbox::new(Rights::READ | Rights::WRITE));
    let frames = check_ok!(sys::frames_alloc(sandbox.quota.0, 1));
    check_err!(
        sys::space_map(
            sandbox.space,
            frames,
            0,
            1,
            TOP_PAGE,
            Rights::READ | Rights::EXECUTE
        ),
        Error::BadAddress
    );
    check_err!(sandbox.start(LAST_SYSCALL, 0), Error::InvalidArgument);
    check_err!(sandbox.start(USER_END, 0), Error::InvalidArgument);
    // The page below is ordinary user memory.
    check_ok!(sys::space_map(
        sandbox.space,
        frames,
        0,
        1,
        TOP_PAGE - PAGE_SIZE,
        Rights::READ
    ));
    check_ok!(sys::null());
    Ok(())
}

/// Addresses no user buffer may name.
const KERNEL_ADDRESSES: [u64; 3] = [0xffff_8000_0000_0000, 0xffff_ffff_8020_0000, u64::MAX - 15];
/// Not canonical, or at/after the end of user space.
const NONCANONICAL: [u64; 3] = [USER_END, 0x0000_8000_0000_1000, 0x8000_0000_0000_0000];
/// Canonical user addresses nothing maps in this program.
const UNMAPPED: [u64; 2] = [0x0000_5000_0000_0000, 0x0000_7fff_ffff_e000];
/// A window in our own space.
const OWN_WINDOW: u64 = 0x0000_3100_0000_0000;

fn kernel_addresses_refused() -> Result<(), String> {
    for address in KERNEL_ADDRESSES {
        check_err!(
            probe::console_write_raw(console(), address, 8),
            Error::BadAddress
        );
    }
    Ok(())
}

fn unmapped_and_noncanonical_refused() -> Result<(), String> {
    for address in NONCANONICAL.into_iter().chain(UNMAPPED) {
        check_err!(
            probe::console_write_raw(console(), address, 8),
            Error::BadAddress
        );
    }
    Ok(())
}

fn ranges_off_a_mapping_refused() -> Result<(), String> {
    let frames = check_ok!(sys::frames_alloc(memory(), 1));
    let window = check_ok!(SharedMapping::new(own_space(), frames, OWN_WINDOW, 1));
    check_ok!(window.write(PAGE_SIZE - 4, b"ok!\n"));
    // The last bytes of the page are fine; one byte further is not mapped.
    let end = window.address() + window.len();
    check_eq!(
        check_ok!(probe::console_write_raw(console(), end - 4, 4)),
        4
    );
    check_err!(
        probe::console_write_raw(console(), end - 4, 5),
        Error::BadAddress
    );
    check_err!(
        probe::console_write_raw(console(), end - 4, PAGE_SIZE),
        Error::BadAddress
    );
    drop(window);
    check_err!(
        probe::console_write_raw(console(), end - 4, 4),
        Error::BadAddress
    );
    check_ok!(sys::cap_delete(frames));
    Ok(())
}

fn huge_and_wrapping_lengths_refused() -> Result<(), String> {
    let text = b"x";
    let start = text.as_ptr() as u64;
    for len in [u64::MAX, u64::MAX - start + 2, USER_END, 1 << 40] {
        check_err!(
            probe::console_write_raw(console(), start, len),
            Error::BadAddress | Error::InvalidArgument
        );
    }
    Ok(())
}

fn space_copies_checked() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let space = check_ok!(sys::space_create(quota.0));
    let frames = check_ok!(sys::frames_alloc(quota.0, 1));
    let target = 0x0000_0040_0000_0000;
    check_ok!(sys::space_map(
        space,
        frames,
        0,
        1,
        target,
        Rights::READ | Rights::WRITE
    ));
    let source = b"abcd";
    let source_at = source.as_ptr() as u64;
    check_ok!(probe::space_write_raw(space, target, source_at, 4));
    for bad in KERNEL_ADDRESSES
        .into_iter()
        .chain(NONCANONICAL)
        .chain(UNMAPPED)
    {
        check_err!(
            probe::space_write_raw(space, target, bad, 4),
            Error::BadAddress
        );
        check_err!(
            probe::space_write_raw(space, bad, source_at, 4),
            Error::BadAddress | Error::NotMapped
        );
    }
    check_err!(
        probe::space_write_raw(space, target + PAGE_SIZE - 2, source_at, 4),
        Error::BadAddress | Error::NotMapped
    );
    let mut buffer = [0u8; 4];
    check_err!(
        sys::space_read(space, USER_END - 2, &mut buffer),
        Error::BadAddress
    );
    check_ok!(sys::space_read(space, target, &mut buffer));
    check_eq!(&buffer, b"abcd");
    Ok(())
}

fn ports_checked() -> Result<(), String> {
    let ports = exit_ports();
    // Port 0x80 (POST codes) is outside the exit-port capability.
    check_err!(
        sys::port_write(ports, 0x80, PortWidth::Byte, 0),
        Error::PortOutOfRange
    );
    check_err!(
        sys::port_read(ports, 0x60, PortWidth::Byte),
        Error::PortOutOfRange
    );
    check_err!(
        probe::port_write_raw(ports, 0xf4, 3, 0),
        Error::InvalidArgument
    );
    check_err!(
        probe::port_write_raw(ports, 0xf4, 8, 0),
        Error::InvalidArgument
    );
    check_err!(
        probe::port_write_raw(ports, 1 << 16, 1, 0),
        Error::PortOutOfRange | Error::InvalidArgument
    );
    // A port number so large that port + width wraps must not pass the
    // range check.
    check_err!(
        probe::port_write_raw(ports, u64::MAX - 1, 4, 0),
        Error::PortOutOfRange
    );
    check_err!(
        sys::port_write(console(), 0xf4, PortWidth::Byte, 0),
        Error::WrongType
    );
    Ok(())
}

fn unknown_call_refused() -> Result<(), String> {
    check_err!(probe::unassigned_call(), Error::NoSuchCall);
    check_ok!(sys::null());
    Ok(())
}
