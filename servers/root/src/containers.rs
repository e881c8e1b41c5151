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
//! ```
//!
//! At the end each program with an `expect` line becomes one test result,
//! `container::<name>::<index>:<path>`, printed in the suite's format.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_manifest::{ContainerSpec, Expect, Mode};
use bulkhead_rt::abi::container::Mode as KernelMode;
use bulkhead_rt::abi::root_info::{ModuleInfo, RootInfo};
use bulkhead_rt::abi::{root_slots, CapRef, Error, Rights, PAGE_SIZE};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::child::REPORT_ADDR;
use bulkhead_rt::container_report::{ContainerReport, Ending};
use bulkhead_rt::mem::ReadOnlyMapping;
use bulkhead_rt::println;
use bulkhead_rt::report::{result_line, Tally};
use bulkhead_rt::sys::{self, ipc, ThreadStatus};

use crate::process::{self, Child, Launch, MODULE_WINDOW};

/// The boot module holding the manifest.
pub const MANIFEST_MODULE: &str = "manifest";
/// The boot module holding the syscall server.
pub const SERVER_MODULE: &str = "linuxsrv";
/// Pages added to each container's quota for its server (image, stack,
/// heap holding the file tree).
const SERVER_PAGES: u64 = 384;
/// Restarts of a crashed server before the container is given up.
const MAX_RESTARTS: u32 = 3;
/// How long the supervisor waits without hearing from any server.
const QUIET_LIMIT_MS: u32 = 120_000;
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
    finished: bool,
}

/// Runs the manifest's containers to the end; returns the test results of
/// the programs that have `expect` lines (none without a manifest).
pub fn run(info: &RootInfo, test_run: bool) -> Tally {
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
    }
    supervise(&mut all, &setup);
    for c in &all {
        judge(c, &mut tally);
    }
    tally
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
    if spec.mode != Mode::Ipc {
        return Err(alloc::format!(
            "container {name}: mode {} is not available yet; skipped",
            spec.mode.name()
        ));
    }
    let archive = match &spec.files {
        Some(module) => Some(find(info, module).ok_or_else(|| {
            alloc::format!("container {name}: no boot module '{module}' for its files; skipped")
        })?),
        None => None,
    };
    let fail = |step: &str, e: Error| alloc::format!("container {name}: {step}: {e}; skipped");
    let memory = root_cap(root_slots::MEMORY);
    let endpoint = ipc::endpoint_create(memory).map_err(|e| fail("endpoint", e))?;
    let container = sys::container_create(memory, endpoint, KernelMode::Ipc)
        .map_err(|e| fail("container", e))?;
    let mut c = Supervised {
        endings: vec![None; spec.programs.len()],
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
    while all.iter().any(|c| !c.finished) {
        let bits = match ipc::wait(setup.notification, QUIET_LIMIT_MS) {
            Ok(bits) => bits,
            Err(error) => {
                println!("root: no word from the syscall servers ({error}); giving up on them");
                for c in all.iter_mut().filter(|c| !c.finished) {
                    give_up(c);
                }
                return;
            }
        };
        for (index, c) in all.iter_mut().enumerate() {
            if bits & bit_of(index) != 0 && !c.finished {
                check(c, index, setup);
            }
        }
    }
}

/// Looks at one container after its bit was signalled.
fn check(c: &mut Supervised, index: usize, setup: &Setup) {
    let Some(child) = &c.server else { return };
    let report = read_report(child);
    if let Some(report) = &report {
        for &(program, ending) in &report.outcomes {
            if let Some(slot) = c.endings.get_mut(program) {
                *slot = Some(ending);
            }
        }
    }
    let status = sys::thread_info(child.thread).map(|i| i.status());
    if let Ok(ThreadStatus::Faulted { vector, address }) = status {
        println!(
            "root: container {}: syscall server faulted (vector {vector}, address {address:#x})",
            c.spec.name
        );
        restart_after_crash(c, index, setup, report.as_ref());
    } else if report.is_some_and(|r| r.done) {
        c.finished = true;
        if let Some(child) = c.server.take() {
            let _ = child.wait();
            child.release();
        }
    }
}

/// The server of `c` faulted: stop its apps, count its running programs
/// as killed, and start a new server from the next program.
fn restart_after_crash(
    c: &mut Supervised,
    index: usize,
    setup: &Setup,
    report: Option<&ContainerReport>,
) {
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
        let passed = matches!(
            (expect, ending),
            (Expect::Exit(want), Some(Ending::Exited(got))) if want == got
        ) || matches!(
            (expect, ending),
            (Expect::Signal(want), Some(Ending::Signaled(got))) if want == got
        );
        let name = alloc::format!("container::{}::{index}:{}", c.spec.name, program.path);
        println!("{}", result_line(&name, passed));
        if !passed {
            println!("    expected {expect:?}, got {ending:?}");
        }
        tally.record(passed);
    }
}
