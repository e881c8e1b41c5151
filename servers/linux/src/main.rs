//! `bulkhead-linux-server`: one container's Linux syscall server (`ipc`
//! mode).
//!
//! The root server starts one instance per `ipc` container, holding only
//! that container's capabilities: its memory quota (which pays for the
//! server; the manifest's `memory` is split off for the apps), the container, the container's syscall
//! endpoint, a badged capability to the supervisor's notification, the
//! read-only file archive, and the console. Its option string names the
//! container (`name=alpha first=0 archive=N signal=BITS test=0|1`, and
//! `stay=1` to keep answering after the programs ended), and the
//! whole manifest sits in its configuration pages; it reads its own
//! container's section.
//!
//! It fills the container's file tree from the archive, then starts the
//! container's programs in order (`run` waits for the programs before it
//! and then for its own to end before the next; `spawn` does not wait)
//! and serves their syscalls:
//!
//! ```text
//!  loop:  ReplyRecv(endpoint, previous result)   (Recv when none is due)
//!         badge -> app slot; fault badge -> the app crashed
//!         MR0..MR6 = Linux number and arguments
//!         bulkhead_linux::Caller::handle(...) -> Return(v): reply v next time round
//!                                             -> Exit(status): end the app
//! ```
//!
//! After each start and end it rewrites its report page and signals the
//! supervisor (see `bulkhead_rt::container_report`); when every program
//! has ended it marks the report done and exits. With `test=1` the Linux
//! number `TEST_CRASH_SERVER` makes it crash on purpose, for the
//! fault-isolation tests.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod app_memory;
mod apps;
mod backend;
mod server;

use alloc::string::String;
use alloc::vec;

use bulkhead_linux::{Container, Fs};
use bulkhead_manifest::ContainerSpec;
use bulkhead_rt::abi::PAGE_SIZE;
use bulkhead_rt::boot::{child_cap, start_child};
use bulkhead_rt::child::{StartInfo, CONFIG_ADDR};
use bulkhead_rt::mem::ReadOnlyMapping;
use bulkhead_rt::{child_slots, cmdline, println, sys};

bulkhead_rt::entry!(main);

// The personality and the loader keep their own copy of the end of user
// space (they are pure crates, built on the host too); this server uses
// all three, so it checks that they agree with the kernel's.
const _: () = assert!(
    bulkhead_linux::address_space::USER_END == bulkhead_rt::abi::USER_END
        && bulkhead_linux_exec::USER_LIMIT == bulkhead_rt::abi::USER_END
);

/// Pages the heap starts with (it grows on demand).
const HEAP_INITIAL_PAGES: u64 = 64;
/// Where the file archive is mapped while the tree is filled from it.
const ARCHIVE_WINDOW: u64 = 0x0000_2000_0000_0000;

/// Positions of the server's capabilities in `StartInfo::extra`.
pub mod extra_slots {
    pub const CONTAINER: usize = 0;
    pub const ENDPOINT: usize = 1;
    pub const SUPERVISOR: usize = 2;
    pub const ARCHIVE: usize = 3;
}

fn main(argument: u64) -> i32 {
    let Some(start) = start_child(argument, "linux-server", HEAP_INITIAL_PAGES) else {
        return 2;
    };
    let memory = child_cap(child_slots::MEMORY);
    let space = child_cap(child_slots::SELF_SPACE);
    let options = start.filter().unwrap_or("");
    let name = cmdline::value(options, "name").unwrap_or("?");
    let Some(spec) = own_spec(start, name) else {
        println!("[{name}] linux-server: my container is not in the manifest");
        return 2;
    };
    let fs = match files(start, options) {
        Ok(fs) => fs,
        Err(reason) => {
            println!("[{name}] linux-server: cannot read the file archive: {reason}");
            return 2;
        }
    };
    let number = |key| cmdline::value(options, key).and_then(|v| v.parse().ok());
    // The apps get exactly the manifest's memory, split off so that an
    // app exhausting it cannot starve the server's own heap.
    let apps_memory = match sys::memory_split(memory, spec.memory_bytes.div_ceil(PAGE_SIZE)) {
        Ok(quota) => quota,
        Err(error) => {
            println!("[{name}] linux-server: cannot set aside the apps' memory: {error}");
            return 2;
        }
    };
    // Files live in the server's heap: let them grow by a quarter of what
    // is left of the server's share (a quarter, because a growing file's
    // buffer is copied when it doubles), so no write can exhaust the heap.
    let left = sys::memory_info(memory).map_or(0, |m| m.free());
    let mut fs = fs;
    fs.set_limit(fs.used_bytes().saturating_add(left * PAGE_SIZE / 4));
    let in_kernel = spec.mode != bulkhead_manifest::Mode::Ipc;
    let mut server = server::Server::new(
        spec,
        Container::new(name, fs),
        apps::Caps {
            memory: apps_memory,
            endpoint: start.extra[extra_slots::ENDPOINT],
            container: start.extra[extra_slots::CONTAINER],
            console: child_cap(child_slots::CONSOLE),
            in_kernel,
        },
        server::Supervisor {
            notification: start.extra[extra_slots::SUPERVISOR],
            bits: number("signal").unwrap_or(1),
            space,
        },
        cmdline::flag(options, "test"),
        cmdline::flag(options, "stay"),
    );
    server.run(number("first").unwrap_or(0) as usize);
    0
}

/// This container's section of the manifest in the configuration pages.
fn own_spec(start: &StartInfo, name: &str) -> Option<ContainerSpec> {
    let mut text = vec![0u8; usize::try_from(start.config_len).ok()?];
    let own_space = child_cap(child_slots::SELF_SPACE);
    sys::space_read(own_space, CONFIG_ADDR, &mut text).ok()?;
    bulkhead_manifest::parse_bytes(&text)
        .containers
        .into_iter()
        .find(|c| c.name == name)
}

/// The file tree, filled from the archive (an empty tree if there is none).
fn files(start: &StartInfo, options: &str) -> Result<Fs, String> {
    let archive = start.extra[extra_slots::ARCHIVE];
    let len = cmdline::value(options, "archive")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let fs = if archive.is_null() || len == 0 {
        Fs::new()
    } else {
        let own_space = child_cap(child_slots::SELF_SPACE);
        let mapping = ReadOnlyMapping::new(own_space, archive, ARCHIVE_WINDOW, len)
            .map_err(|e| alloc::format!("{e}"))?;
        Fs::from_cpio(mapping.bytes()).map_err(|e| alloc::format!("{e}"))?
    };
    Ok(fs)
}
