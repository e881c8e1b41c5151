//! Supervising container syscall servers: starting a server instance for
//! a container, waiting for word from the servers, restarting one that
//! crashed or stopped answering, and reading how their programs ended.
//!
//! Every server signals one notification, one bit per container (its
//! index mod 64), and the kernel signals the same bit when the server's
//! thread faults:
//!
//! ```text
//!  wake-up: for each container of a signalled bit
//!   server faulted?  stop the container's apps (ContainerStop), count the
//!                    programs it had running as killed (signal 9), and
//!                    start a new server from the next program (3 times at most)
//!   report done?     the container is finished
//!  a second without any signal: ping every running server (a Call with a
//!   timeout); one that does not answer is stopped and restarted like a
//!   crashed one
//! ```

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_manifest::ContainerSpec;
use bulkhead_rt::abi::container::PING;
use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::root_info::ModuleInfo;
use bulkhead_rt::abi::{CapRef, Error, Rights, PAGE_SIZE};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::child::{child_slots, EXTRA_CAPS, REPORT_ADDR};
use bulkhead_rt::container_report::{ContainerReport, Ending};
use bulkhead_rt::println;
use bulkhead_rt::sys::ipc::{self, Message};
use bulkhead_rt::sys::{self, ThreadStatus};

use crate::process::{self, Child, Launch};

/// Pages added to each container's quota for its server (image, stack,
/// heap holding the file tree, which may grow by 512 KiB); the server
/// splits the manifest's `memory` off for the apps.
pub const SERVER_PAGES: u64 = 448;
/// Restarts of a crashed server before the container is given up.
const MAX_RESTARTS: u32 = 3;
/// How often the supervisor pings the servers while none signals.
const PING_INTERVAL_MS: u32 = 1000;
/// How long a server may take to answer a ping (a server sleeping for an
/// app's `nanosleep` answers when it wakes).
const PING_TIMEOUT_MS: u32 = 3000;
/// Ping rounds without any event or answered ping before the supervisor
/// gives up.
const QUIET_ROUNDS: u32 = 120;
/// The Linux signal a program is counted as killed by when its server died.
const SIGKILL: i32 = 9;

/// What every server instance is started with.
pub struct Setup {
    /// The supervisor's notification (the servers get badged copies).
    pub notification: CapRef,
    /// The `linuxsrv` module.
    pub server: ModuleInfo,
}

/// What the root server handed a server instance, as the server names
/// it (for the console's `list`).
#[derive(Clone, Copy, Debug)]
pub struct Handed {
    /// Its own table, space, thread, quota, console and exit ports, in
    /// `child_slots` order.
    pub slots: [CapRef; child_slots::COUNT],
    /// Its container, endpoint, notification and archive, in the order of
    /// the server's `extra_slots`.
    pub extra: [CapRef; EXTRA_CAPS],
    /// The rights of each of those.
    pub rights: [Rights; EXTRA_CAPS],
    /// The badge of its notification capability (its container's bit).
    pub badge: u64,
    /// Its quota in pages (the apps' memory is split off it).
    pub quota_pages: u64,
}

/// One container instance under supervision.
pub struct Supervised {
    pub spec: ContainerSpec,
    pub container: CapRef,
    pub endpoint: CapRef,
    pub archive: Option<ModuleInfo>,
    pub server: Option<Child>,
    /// The program the current server instance started from.
    pub first: usize,
    pub restarts: u32,
    /// How each program ended, by index.
    pub endings: Vec<Option<Ending>>,
    /// Its number among all instances (its notification bit).
    pub index: usize,
    pub finished: bool,
    /// The manifest text its server reads its spec from (the manifest's
    /// own instances share the manifest).
    pub config: Rc<[u8]>,
    /// Its server serves the test-only calls (test runs, and the
    /// console's exploit demonstrations).
    pub test: bool,
    /// What its latest server instance was handed.
    pub handed: Option<Handed>,
    /// Started by the console (not by the manifest).
    pub console: bool,
    /// Pages of the quota the kernel charges its kernel data to
    /// (in-kernel modes; 0 for `ipc`).
    pub kernel_pages: u64,
    /// Pages added to the manifest's memory for its server
    /// ([`SERVER_PAGES`] unless the instance needs less).
    pub server_pages: u64,
    /// Its server keeps answering after the programs ended (the scaling
    /// benchmark's idle containers); it is not supervised.
    pub stay: bool,
}

/// The notification bit of container `index`.
fn bit_of(index: usize) -> u64 {
    1 << (index % 64)
}

/// Starts a server instance for `c` from program `c.first`.
pub fn start_server(c: &mut Supervised, setup: &Setup) -> Result<(), String> {
    let name = c.spec.name.as_str();
    let bits = bit_of(c.index);
    let badged = sys::cap_mint(
        setup.notification,
        None,
        Rights::WRITE | Rights::COPY | Rights::GRANT,
        bits,
    )
    .map_err(|e| alloc::format!("container {name}: notification: {e}"))?;
    let options = alloc::format!(
        "name={name} first={} archive={} signal={bits} test={} stay={}",
        c.first,
        c.archive.map_or(0, |a| a.size),
        u8::from(c.test),
        u8::from(c.stay)
    );
    let archive = c.archive.map(|a| (root_cap(a.slot), Rights::READ));
    let quota_pages = c.spec.memory_bytes.div_ceil(PAGE_SIZE) + c.server_pages;
    let extra = [
        Some((c.container, Rights::ALL)),
        Some((c.endpoint, Rights::ALL)),
        Some((badged, Rights::WRITE)),
        archive,
    ];
    let launch = Launch {
        filter: Some(&options),
        quota_pages: Some(quota_pages),
        extra,
        config: &c.config,
        priority: None,
        table_slots: Some(c.spec.slots),
    };
    let started = process::launch_with(&setup.server, &launch);
    let result = match started {
        Ok(child) => {
            let handler = ipc::set_fault_handler(child.thread, Some(badged));
            c.handed = Some(Handed {
                slots: child.handles,
                extra: child.extra,
                rights: extra.map(|e| e.map_or(Rights::empty(), |(_, r)| r)),
                badge: bits,
                quota_pages,
            });
            c.server = Some(child);
            handler.map_err(|e| alloc::format!("container {name}: fault handler: {e}"))
        }
        Err(failure) => Err(alloc::format!(
            "container {name}: cannot start its server: {failure}"
        )),
    };
    let _ = sys::cap_delete(badged);
    result
}

/// Waits for the servers until every container has finished.
pub fn supervise(all: &mut [Supervised], setup: &Setup) {
    let mut quiet_rounds = 0;
    while all.iter().any(|c| !c.finished) {
        match ipc::wait(setup.notification, PING_INTERVAL_MS) {
            Ok(bits) => {
                quiet_rounds = 0;
                for c in all.iter_mut() {
                    if bits & bit_of(c.index) != 0 && !c.finished {
                        check(c, setup);
                    }
                }
            }
            Err(Error::TimedOut) if quiet_rounds < QUIET_ROUNDS => {
                quiet_rounds += 1;
                for c in all.iter_mut() {
                    // A server that just finished (or crashed) has said so
                    // in its report or its state: look before pinging.
                    if !c.finished {
                        check(c, setup);
                    }
                    // A server that answers is alive, its programs still
                    // running (a long fuzz run, say): not a quiet round.
                    if !c.finished && ping(c, setup) {
                        quiet_rounds = 0;
                    }
                }
            }
            Err(error) => {
                println!("root: no word from the syscall servers ({error}); giving up on them");
                for c in all.iter_mut().filter(|c| !c.finished) {
                    give_up(c);
                }
                return;
            }
        }
    }
}

/// Checks that `c`'s server still answers; one that does not within
/// [`PING_TIMEOUT_MS`] is treated as crashed. True if it answered.
fn ping(c: &mut Supervised, setup: &Setup) -> bool {
    match ping_call(c) {
        Ok(reply) if reply.mrs[0] == 0 => true,
        outcome => {
            println!(
                "root: container {}: its syscall server did not answer a ping within {} ms ({:?}); \
                 stopping it",
                c.spec.name,
                PING_TIMEOUT_MS,
                outcome.err()
            );
            let report = c.server.as_ref().and_then(read_report);
            if let Some(report) = &report {
                record(c, report);
            }
            restart(c, setup, report.as_ref());
            false
        }
    }
}

/// Calls `c`'s server with `PING`, waiting at most [`PING_TIMEOUT_MS`].
fn ping_call(c: &Supervised) -> Result<Message, Error> {
    let request = Message {
        info: MessageInfo::new(1).with_timeout_ms(PING_TIMEOUT_MS),
        mrs: [PING, 0, 0, 0, 0, 0, 0, 0],
    };
    ipc::call(c.endpoint, &request)
}

/// Whether `c`'s server answers a ping (nothing is done if it does not).
pub fn answers_ping(c: &Supervised) -> bool {
    ping_call(c).is_ok_and(|reply| reply.mrs[0] == 0)
}

/// Copies a server's outcomes into `c`.
fn record(c: &mut Supervised, report: &ContainerReport) {
    for &(program, ending) in &report.outcomes {
        if let Some(slot) = c.endings.get_mut(program) {
            *slot = Some(ending);
        }
    }
}

/// Looks at one container after its bit was signalled.
fn check(c: &mut Supervised, setup: &Setup) {
    let Some(child) = &c.server else { return };
    let report = read_report(child);
    let status = sys::thread_info(child.thread).map(|i| i.status());
    if let Some(report) = &report {
        record(c, report);
    }
    let done = report.as_ref().is_some_and(|r| r.done);
    if let Ok(ThreadStatus::Faulted { vector, address }) = status {
        println!(
            "root: container {}: syscall server faulted (vector {vector}, address {address:#x})",
            c.spec.name
        );
        restart(c, setup, report.as_ref());
    } else if let (Ok(ThreadStatus::Exited(code)), false) = (status, done) {
        println!(
            "root: container {}: syscall server exited (code {}) before its programs ended",
            c.spec.name, code as i64
        );
        restart(c, setup, report.as_ref());
    } else if done {
        c.finished = true;
        if let Some(child) = c.server.take() {
            let _ = child.wait();
            child.release();
        }
    }
}

/// The server of `c` faulted or stopped answering: stop it and its apps,
/// count its running programs as killed, and start a new server from the
/// next program.
fn restart(c: &mut Supervised, setup: &Setup, report: Option<&ContainerReport>) {
    let stopped = sys::container_stop(c.container).unwrap_or(0);
    println!(
        "root: container {}: {stopped} app thread(s) stopped",
        c.spec.name
    );
    let last = report.and_then(|r| r.last_started);
    if let Some(last) = last {
        let first = c.first;
        for ending in c.endings.iter_mut().take(last + 1).skip(first) {
            ending.get_or_insert(Ending::Signaled(SIGKILL));
        }
    }
    if let Some(child) = c.server.take() {
        child.release();
    }
    c.first = last.map_or(c.first, |l| l + 1);
    c.restarts += 1;
    if c.first >= c.spec.programs.len() || c.restarts > MAX_RESTARTS {
        c.finished = true;
        return;
    }
    println!(
        "root: container {}: restarting its syscall server from program {}",
        c.spec.name, c.first
    );
    if let Err(reason) = start_server(c, setup) {
        println!("root: {reason}");
        c.finished = true;
    }
}

fn read_report(child: &Child) -> Option<ContainerReport> {
    let mut page = vec![0u8; PAGE_SIZE as usize];
    sys::space_read(child.space, REPORT_ADDR, &mut page).ok()?;
    ContainerReport::decode(&page)
}

/// Stops a container whose server went quiet.
fn give_up(c: &mut Supervised) {
    let _ = sys::container_stop(c.container);
    if let Some(child) = c.server.take() {
        child.release();
    }
    c.finished = true;
}
