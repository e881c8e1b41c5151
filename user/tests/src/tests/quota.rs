//! Memory quotas: a split quota holds exactly what was asked, allocations
//! and kernel objects are charged to it, running out is an ordinary
//! `QuotaExhausted` error after which everything else keeps working, and
//! deleting what was allocated gives the charge back.

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_rt::abi::Error;
use bulkhead_rt::sys;
use bulkhead_rt::{check, check_eq, check_err, check_ok, Test};

use crate::fixture::{memory, Quota};

pub const TESTS: &[Test] = &[
    Test {
        name: "quota::split_holds_what_was_asked",
        run: split_holds_what_was_asked,
    },
    Test {
        name: "quota::exhaustion_is_an_error",
        run: exhaustion_is_an_error,
    },
    Test {
        name: "quota::freeing_returns_the_charge",
        run: freeing_returns_the_charge,
    },
    Test {
        name: "quota::oversized_requests_refused",
        run: oversized_requests_refused,
    },
    Test {
        name: "quota::kernel_objects_are_charged",
        run: kernel_objects_are_charged,
    },
];

/// Most allocations a test makes before giving up on seeing an error.
const ALLOCATION_LIMIT: usize = 4096;

fn split_holds_what_was_asked() -> Result<(), String> {
    let before = check_ok!(sys::memory_info(memory()));
    let quota = check_ok!(Quota::new(32));
    let info = check_ok!(sys::memory_info(quota.0));
    check_eq!(info.pages, 32);
    check_eq!(info.used, 0);
    let after = check_ok!(sys::memory_info(memory()));
    check!(
        after.free() + 32 <= before.free(),
        "parent still has the pages: {before:?} -> {after:?}"
    );
    Ok(())
}

/// Allocates one-page Frames from `quota` until it fails; returns them and the error.
fn allocate_until_error(quota: &Quota) -> (Vec<bulkhead_rt::abi::CapRef>, Option<Error>) {
    let mut frames = Vec::new();
    while frames.len() < ALLOCATION_LIMIT {
        match sys::frames_alloc(quota.0, 1) {
            Ok(cap) => frames.push(cap),
            Err(error) => return (frames, Some(error)),
        }
    }
    (frames, None)
}

fn exhaustion_is_an_error() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let (frames, error) = allocate_until_error(&quota);
    check_eq!(error, Some(Error::QuotaExhausted));
    check!(
        (1..=16).contains(&frames.len()),
        "{} pages from a 16-page quota",
        frames.len()
    );
    check_err!(sys::frames_alloc(quota.0, 1), Error::QuotaExhausted);
    check_err!(sys::space_create(quota.0), Error::QuotaExhausted);
    // Everything else carries on: our own quota, the console, the kernel.
    let ours = check_ok!(sys::frames_alloc(memory(), 1));
    check_ok!(sys::cap_delete(ours));
    check_ok!(sys::null());
    for cap in frames {
        check_ok!(sys::cap_delete(cap));
    }
    check_ok!(sys::frames_alloc(quota.0, 1));
    Ok(())
}

fn freeing_returns_the_charge() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let before = check_ok!(sys::memory_info(quota.0)).used;
    let frames = check_ok!(sys::frames_alloc(quota.0, 4));
    let during = check_ok!(sys::memory_info(quota.0)).used;
    check!(
        during >= before + 4,
        "4 pages charged as {}",
        during - before
    );
    check_ok!(sys::cap_delete(frames));
    check_eq!(check_ok!(sys::memory_info(quota.0)).used, before);
    // The pages can be had again, repeatedly.
    for _ in 0..8 {
        let again = check_ok!(sys::frames_alloc(quota.0, 12));
        check_ok!(sys::cap_delete(again));
    }
    check_eq!(check_ok!(sys::memory_info(quota.0)).used, before);
    Ok(())
}

fn oversized_requests_refused() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    check_err!(sys::frames_alloc(quota.0, 17), Error::QuotaExhausted);
    check_err!(sys::memory_split(quota.0, 17), Error::QuotaExhausted);
    check_err!(
        sys::frames_alloc(quota.0, u64::MAX),
        Error::QuotaExhausted | Error::InvalidArgument
    );
    check_err!(sys::frames_alloc(quota.0, 0), Error::InvalidArgument);
    check_err!(
        sys::table_create(quota.0, u32::MAX),
        Error::QuotaExhausted | Error::InvalidArgument
    );
    check_eq!(check_ok!(sys::memory_info(quota.0)).used, 0);
    Ok(())
}

fn kernel_objects_are_charged() -> Result<(), String> {
    let quota = check_ok!(Quota::new(16));
    let mut spaces = Vec::new();
    let mut last_used = 0;
    let error = loop {
        match sys::space_create(quota.0) {
            Ok(space) => spaces.push(space),
            Err(error) => break error,
        }
        let used = check_ok!(sys::memory_info(quota.0)).used;
        check!(
            used > last_used,
            "space {} was free of charge",
            spaces.len()
        );
        last_used = used;
        check!(
            spaces.len() < ALLOCATION_LIMIT,
            "16 pages paid for {} spaces",
            spaces.len()
        );
    };
    check_eq!(error, Error::QuotaExhausted);
    for space in spaces {
        check_ok!(sys::cap_delete(space));
    }
    check_eq!(check_ok!(sys::memory_info(quota.0)).used, 0);
    Ok(())
}
