//! Starting the containers of the `manifest` boot module, supervising
//! their syscall servers, and judging how their programs ended.
//!
//! For each container the manifest describes, the root server makes a
//! quota (the container's memory plus room for its server), a syscall
//! endpoint and a container object paid from it, and starts one instance
//! of the `linuxsrv` module holding only those, the file archive and the
//! console (see `bulkhead-linux-server`). It is the supervisor of every
//! server:
//!
//! ```text
//!  one notification, one bit per container (index mod 64)
//!   <- the server signals it whenever its report page changes
//!   <- the kernel signals it when the server's thread faults
//!  wake-up: for each container of a signalled bit
//!   server faulted?  stop the container's apps (ContainerStop), count the
//!                    programs it had running as killed (signal 9), and
//!                    start a new server from the next program (3 times at most)
//!   report done?     the container is finished
//!  a second without any signal: ping every running server (a Call with a
//!   timeout); one that does not answer is stopped and restarted like a
//!   crashed one
//! ```
//!
//! At the end each program with an `expect` line becomes one test result,
//! `container::<name>::<index>:<path>`, printed in the suite's format.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_manifest::{ContainerSpec, Expect, Mode};
use bulkhead_rt::abi::container::{Mode as KernelMode, PING};
use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::root_info::{ModuleInfo, RootInfo};
use bulkhead_rt::abi::{root_slots, CapRef, Error, Rights, PAGE_SIZE};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::child::REPORT_ADDR;
use bulkhead_rt::container_report::{ContainerReport, Ending};
use bulkhead_rt::mem::ReadOnlyMapping;
use bulkhead_rt::println;
use bulkhead_rt::report::{result_line, Tally};
use bulkhead_rt::sys::ipc::{self, Message};
use bulkhead_rt::sys::{self, ThreadStatus};

use crate::process::{self, Child, Launch, MODULE_WINDOW};

/// The boot module holding the manifest.
pub const MANIFEST_MODULE: &str = "manifest";
/// The boot module holding the syscall server.
pub const SERVER_MODULE: &str = "linuxsrv";
/// Pages added to each container's quota for its server (image, stack,
/// heap holding the file tree, which may grow by 512 KiB); the server
/// splits the manifest's `memory` off for the apps.
const SERVER_PAGES: u64 = 448;

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
struct Setup<'a> {
    notification: CapRef,
    server: ModuleInfo,
    manifest: &'a [u8],
    test_run: bool,
}

/// One container under supervision.
struct Supervised {
    spec: ContainerSpec,
    container: CapRef,
    endpoint: CapRef,
    archive: Option<ModuleInfo>,
    server: Option<Child>,
    /// The program the current server instance started from.
    first: usize,
    restarts: u32,
    /// How each program ended, by index.
    endings: Vec<Option<Ending>>,
    /// Its position in the manifest (its notification bit).
    index: usize,
    finished: bool,
}

/// Runs the manifest's containers to the end, all at once or (with
/// `sequential`, for the benchmarks) one after the other; returns the test
/// results of the programs that have `expect` lines (none without a
/// manifest).
pub fn run(info: &RootInfo, test_run: bool, sequential: bool) -> Tally {
    let mut tally = Tally::default();
    let Some(manifest) = find(info, MANIFEST_MODULE) else {
        return tally;
    };
    let Some(server) = find(info, SERVER_MODULE) else {
        println!("root: a manifest but no '{SERVER_MODULE}' module: no containers started");
        tally.record(false);
        return tally;
    };
    let text = match read_module(&manifest) {
        Ok(text) => text,
        Err(error) => {
            println!("root: cannot read the manifest: {error}");
            tally.record(false);
            return tally;
        }
    };
    let parsed = bulkhead_manifest::parse_bytes(&text);
    for error in &parsed.errors {
        match error.container.as_deref() {
            Some(skipped) => println!("root: manifest {error} (container '{skipped}' skipped)"),
            None => println!("root: manifest {error}"),
        }
    }
    let before = Census::take();
    let Ok(notification) = ipc::notification_create(root_cap(root_slots::MEMORY)) else {
        println!("root: cannot create the supervisor's notification");
        tally.record(false);
        return tally;
    };
    let setup = Setup {
        notification,
        server,
        manifest: &text,
        test_run,
    };
    let mut all: Vec<Supervised> = Vec::new();
    for (index, spec) in parsed.containers.into_iter().enumerate() {
        match create(info, spec, index, &setup) {
            Ok(c) => all.push(c),
            Err(reason) => {
                println!("root: {reason}");
                tally.record(false);
            }
        }
        if sequential {
            if let Some(last) = all.last_mut() {
                supervise(core::slice::from_mut(last), &setup);
            }
        }
    }
    supervise(&mut all, &setup);
    for c in &all {
        judge(c, &mut tally);
    }
    for c in &all {
        let _ = sys::cap_delete(c.container);
        let _ = sys::cap_delete(c.endpoint);
    }
    let _ = sys::cap_delete(notification);
    tally.record(nothing_leaked(&before));
    tally
}

/// The kernel's view of memory and objects, and the root server's heap
/// (which may grow meanwhile without that being a leak).
struct Census {
    problems: u64,
    frames: u64,
    objects: u64,
    heap_pages: u64,
}

impl Census {
    fn take() -> Census {
        let check = ipc::kernel_check().unwrap_or(ipc::KernelCheck {
            problems: u64::MAX,
            frames_used: 0,
            live_objects: 0,
        });
        Census {
            problems: check.problems,
            frames: check.frames_used,
            objects: check.live_objects,
            heap_pages: (bulkhead_rt::heap::usage().1 as u64).div_ceil(PAGE_SIZE),
        }
    }
}

/// Page-table pages the root server's own space may have gained.
const ROOT_TABLE_SLACK: u64 = 8;

/// One test: once every container is gone, the kernel's self-check finds
/// no problem, and every frame and object the containers used is back.
fn nothing_leaked(before: &Census) -> bool {
    let after = Census::take();
    let heap_growth = after.heap_pages.saturating_sub(before.heap_pages);
    let passed = after.problems == 0
        && after.frames <= before.frames + heap_growth + ROOT_TABLE_SLACK
        && after.objects <= before.objects;
    println!(
        "{}",
        result_line("container::kernel_self_check_and_nothing_leaked", passed)
    );
    println!(
        "    frames in use {} -> {} (root heap grew {heap_growth} pages), live objects {} -> {}, \
         self-check problems {}",
        before.frames, after.frames, before.objects, after.objects, after.problems
    );
    passed
}

fn find(info: &RootInfo, name: &str) -> Option<ModuleInfo> {
    info.modules().iter().find(|m| m.name() == name).copied()
}

/// A module's bytes (copied out of a read-only window).
fn read_module(module: &ModuleInfo) -> Result<Vec<u8>, Error> {
    let size = usize::try_from(module.size).map_err(|_| Error::InvalidArgument)?;
    let own_space = root_cap(root_slots::SELF_SPACE);
    let window = ReadOnlyMapping::new(own_space, root_cap(module.slot), MODULE_WINDOW, size)?;
    Ok(window.bytes().to_vec())
}

/// Makes container `spec`'s quota, endpoint and container, and starts its
/// server.
fn create(
    info: &RootInfo,
    spec: ContainerSpec,
    index: usize,
    setup: &Setup,
) -> Result<Supervised, String> {
    let name = spec.name.clone();
    let archive = match &spec.files {
        Some(module) => Some(find(info, module).ok_or_else(|| {
            alloc::format!("container {name}: no boot module '{module}' for its files; skipped")
        })?),
        None => None,
    };
    let fail = |step: &str, e: Error| alloc::format!("container {name}: {step}: {e}; skipped");
    let memory = root_cap(root_slots::MEMORY);
    let endpoint = ipc::endpoint_create(memory).map_err(|e| fail("endpoint", e))?;
    let container = match kernel_mode(spec.mode) {
        KernelMode::Ipc => sys::container_create(memory, endpoint, KernelMode::Ipc),
        mode => create_in_kernel(&name, mode, endpoint, archive.as_ref()),
    };
    let container = match container {
        Ok(c) => c,
        Err(e) => {
            let _ = sys::cap_delete(endpoint);
            return Err(fail("container", e));
        }
    };
    let mut c = Supervised {
        endings: vec![None; spec.programs.len()],
        index,
        spec,
        container,
        endpoint,
        archive,
        server: None,
        first: 0,
        restarts: 0,
        finished: false,
    };
    if let Err(reason) = start_server(&mut c, index, setup) {
        let _ = sys::cap_delete(container);
        let _ = sys::cap_delete(endpoint);
        return Err(reason);
    }
    Ok(c)
}

/// The kernel's name for a manifest mode.
fn kernel_mode(mode: Mode) -> KernelMode {
    match mode {
        Mode::Ipc => KernelMode::Ipc,
        Mode::Direct => KernelMode::Direct,
        Mode::Sci => KernelMode::Sci,
        Mode::SciSticky => KernelMode::SciSticky,
    }
}

/// An in-kernel container: its kernel data (the personality's arena) is
/// paid from a quota of its own, split off for it.
fn create_in_kernel(
    name: &str,
    mode: KernelMode,
    endpoint: CapRef,
    archive: Option<&ModuleInfo>,
) -> Result<CapRef, Error> {
    let (cap, len) = archive.map_or((CapRef::NULL, 0), |a| (root_cap(a.slot), a.size));
    let pages = bulkhead_rt::abi::container::kernel_data_pages(len, mode) + 1;
    let quota = sys::memory_split(root_cap(root_slots::MEMORY), pages)?;
    let setup = sys::kernel_setup(name, cap, len);
    let container = sys::container_create_in_kernel(quota, endpoint, mode, &setup);
    // The container holds its quota.
    let _ = sys::cap_delete(quota);
    container
}

/// The notification bit of container `index`.
fn bit_of(index: usize) -> u64 {
    1 << (index % 64)
}

/// Starts a server instance for `c` from program `c.first`.
fn start_server(c: &mut Supervised, index: usize, setup: &Setup) -> Result<(), String> {
    let name = c.spec.name.as_str();
    let bits = bit_of(index);
    let badged = sys::cap_mint(
        setup.notification,
        None,
        Rights::WRITE | Rights::COPY | Rights::GRANT,
        bits,
    )
    .map_err(|e| alloc::format!("container {name}: notification: {e}"))?;
    let options = alloc::format!(
        "name={name} first={} archive={} signal={bits} test={}",
        c.first,
        c.archive.map_or(0, |a| a.size),
        u8::from(setup.test_run)
    );
    let archive = c.archive.map(|a| (root_cap(a.slot), Rights::READ));
    let launch = Launch {
        filter: Some(&options),
        quota_pages: Some(c.spec.memory_bytes.div_ceil(PAGE_SIZE) + SERVER_PAGES),
        extra: [
            Some((c.container, Rights::ALL)),
            Some((c.endpoint, Rights::ALL)),
            Some((badged, Rights::WRITE)),
            archive,
        ],
        config: setup.manifest,
        priority: None,
        table_slots: Some(c.spec.slots),
    };
    let started = process::launch_with(&setup.server, &launch);
    let result = match started {
        Ok(child) => {
            let handler = ipc::set_fault_handler(child.thread, Some(badged));
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
fn supervise(all: &mut [Supervised], setup: &Setup) {
    let mut quiet_rounds = 0;
    while all.iter().any(|c| !c.finished) {
        match ipc::wait(setup.notification, PING_INTERVAL_MS) {
            Ok(bits) => {
                quiet_rounds = 0;
                for c in all.iter_mut() {
                    let index = c.index;
                    if bits & bit_of(index) != 0 && !c.finished {
                        check(c, index, setup);
                    }
                }
            }
            Err(Error::TimedOut) if quiet_rounds < QUIET_ROUNDS => {
                quiet_rounds += 1;
                for c in all.iter_mut() {
                    let index = c.index;
                    // A server that just finished (or crashed) has said so
                    // in its report or its state: look before pinging.
                    if !c.finished {
                        check(c, index, setup);
                    }
                    // A server that answers is alive, its programs still
                    // running (a long fuzz run, say): not a quiet round.
                    if !c.finished && ping(c, index, setup) {
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
fn ping(c: &mut Supervised, index: usize, setup: &Setup) -> bool {
    let request = Message {
        info: MessageInfo::new(1).with_timeout_ms(PING_TIMEOUT_MS),
        mrs: [PING, 0, 0, 0, 0, 0, 0, 0],
    };
    match ipc::call(c.endpoint, &request) {
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
            restart(c, index, setup, report.as_ref());
            false
        }
    }
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
fn check(c: &mut Supervised, index: usize, setup: &Setup) {
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
        restart(c, index, setup, report.as_ref());
    } else if let (Ok(ThreadStatus::Exited(code)), false) = (status, done) {
        println!(
            "root: container {}: syscall server exited (code {}) before its programs ended",
            c.spec.name, code as i64
        );
        restart(c, index, setup, report.as_ref());
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
fn restart(c: &mut Supervised, index: usize, setup: &Setup, report: Option<&ContainerReport>) {
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
    if let Err(reason) = start_server(c, index, setup) {
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

/// One test result per program with an `expect` line.
fn judge(c: &Supervised, tally: &mut Tally) {
    for (index, program) in c.spec.programs.iter().enumerate() {
        let Some(expect) = program.expect else {
            continue;
        };
        let ending = c.endings[index];
        let passed = match (expect, ending) {
            (Expect::Exit(want), Some(Ending::Exited(got))) => want == got,
            (Expect::Signal(want), Some(Ending::Signaled(got))) => want == got,
            (Expect::Refused, Some(Ending::NotStarted(_))) => true,
            _ => false,
        };
        let name = alloc::format!("container::{}::{index}:{}", c.spec.name, program.path);
        println!("{}", result_line(&name, passed));
        if !passed {
            println!("    expected {expect:?}, got {ending:?}");
        }
        tally.record(passed);
    }
}
