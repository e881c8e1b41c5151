//! The scaling benchmark: how the fast paths and the kernel's memory hold
//! up as containers multiply (`make bench`'s second boot, whose command
//! line has `root.scaling=1,10,100,1000`).
//!
//! For each count N in turn (ascending), the root server brings the number
//! of **idle containers** up to N. Each is a real `ipc` container: its own
//! quota, endpoint, container object and syscall server in an address
//! space of its own, started from the manifest's `idle` section with the
//! server option `stay=1`, so after its (zero) programs it keeps waiting
//! in `Recv` and answering the supervisor's pings. With N of them alive it
//! measures, each as one `bench:` line named `scaling.n<N>.<figure>`:
//!
//! ```text
//!  kernel_memory_per_container   (kernel frames outside the heap and kernel
//!                                heap bytes now - before the first) / N
//!  kernel_heap_per_container     the heap's part of it
//!  server_memory_per_container   what an idle server's quota pays for itself
//!  ping_sweep.per_call           one Call + reply to every idle server in turn:
//!  ping_sweep.cr3_writes_per_call  counter ticks, CR3 writes and flushing
//!  ping_sweep.tlb_flushes_per_call CR3 writes per call (PCID recycling shows here)
//!  ipc.call_reply.cross_as.r4    the `bench` module with only that benchmark
//!  getpid.ipc (+ its counters)   a fresh `probe` container running
//!                                /bin/bench 200 ipc getpid scaling.n<N>.
//! ```
//!
//! The sweep visits more address spaces than the CPU has PCIDs once N is
//! large (or `pcid.limit=` is low): spaces then share PCIDs round-robin,
//! and a switch to one whose PCID another space used since must flush.
//! `scaling.pcids` says how many PCIDs the kernel hands out (0: the CPU
//! has none, so every CR3 write flushes).
//!
//! At the end every container is released and the usual leak check runs;
//! the run succeeds only if every step did. Test runs check the same
//! machinery on a small scale ([`check`]).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bulkhead_manifest::ContainerSpec;
use bulkhead_measure::tsc;
use bulkhead_rt::abi::root_info::{ModuleInfo, RootInfo};
use bulkhead_rt::abi::PAGE_SIZE;
use bulkhead_rt::container_report::Ending;
use bulkhead_rt::report::{result_line, Tally};
use bulkhead_rt::sys::{self, ipc};
use bulkhead_rt::{cmdline, println};

use crate::containers::Fleet;
use crate::{process, report_end, supervise};

/// The command-line option that asks for the scaling benchmark.
pub const OPTION: &str = "root.scaling";
/// The manifest section every idle container is made from.
const IDLE_SPEC: &str = "idle";
/// The manifest section of the measured container.
const PROBE_SPEC: &str = "probe";
/// Pages for an idle container's server: its image, stack, heap and
/// tables (it holds no files and runs no program; it uses about 180).
pub const IDLE_SERVER_PAGES: u64 = 208;
/// getpid calls per round in the probe (bench.c runs 5 rounds).
const PROBE_ITERATIONS: u32 = 200;
/// The native benchmark measured at each count.
const IPC_BENCH: &str = "ipc.call_reply.cross_as.r4";
/// PCIDs the kernel hands out when `pcid.limit=` does not say.
const MAX_PCIDS: u64 = 4094;
/// CPUID leaf 1, ECX bit 17: the CPU has PCIDs.
const PCID_BIT: u32 = 1 << 17;

/// The counts asked for (`1,10,100,1000`), ascending, or why not.
pub fn counts(value: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for word in value.split(',') {
        let n: usize = word
            .parse()
            .map_err(|_| alloc::format!("'{word}' is not a number of containers"))?;
        if n == 0 || counts.last().is_some_and(|&last| n <= last) {
            return Err(alloc::format!(
                "'{value}': the counts must be positive and ascending"
            ));
        }
        counts.push(n);
    }
    Ok(counts)
}

/// Runs the scaling benchmark (see the module docs) and ends the run.
pub fn run(bench: &ModuleInfo, info: &RootInfo) -> ! {
    let value = cmdline::value(info.cmdline(), OPTION).unwrap_or("");
    let success = match counts(value) {
        Ok(counts) => measure_all(bench, info, &counts),
        Err(reason) => {
            println!("root: {OPTION}={value}: {reason}");
            false
        }
    };
    crate::end_run(success)
}

/// The two manifest sections, or why not.
fn specs(fleet: &Fleet) -> Result<(ContainerSpec, ContainerSpec), String> {
    let find = |name: &str| {
        fleet
            .specs
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| alloc::format!("the manifest has no container '{name}'"))
    };
    Ok((find(IDLE_SPEC)?, find(PROBE_SPEC)?))
}

fn measure_all(bench: &ModuleInfo, info: &RootInfo, counts: &[usize]) -> bool {
    let mut fleet = match Fleet::open(info, false) {
        Ok(Some(fleet)) => fleet,
        Ok(None) => {
            println!("root: the scaling benchmark needs a manifest module");
            return false;
        }
        Err(()) => return false,
    };
    let (idle, probe) = match specs(&fleet) {
        Ok(specs) => specs,
        Err(reason) => {
            println!("root: scaling: {reason}");
            return false;
        }
    };
    println!(
        "bench: scaling.pcids {} pcids (PCIDs the kernel hands out; 0: the CPU has none)",
        pcids(info)
    );
    let before = sys::kernel_memory().unwrap_or_default();
    let mut success = true;
    for &n in counts {
        if let Err(reason) = grow(&mut fleet, &idle, n) {
            println!("root: scaling: {reason}");
            success = false;
            break;
        }
        success &= measure(&mut fleet, n, &before, bench, &probe);
    }
    let idle_count = fleet.instances.len();
    println!("root: scaling: releasing {idle_count} idle containers");
    success & fleet.close()
}

/// How many PCIDs address spaces get: 0 without PCID, else the
/// `pcid.limit=` of the command line or all of them.
fn pcids(info: &RootInfo) -> u64 {
    if core::arch::x86_64::__cpuid(1).ecx & PCID_BIT == 0 {
        return 0;
    }
    cmdline::value(info.cmdline(), "pcid.limit")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(MAX_PCIDS, |limit| limit.clamp(1, MAX_PCIDS))
}

/// Starts idle containers until `n` are alive, and waits until each
/// answers a ping (its server has reached its loop).
fn grow(fleet: &mut Fleet, idle: &ContainerSpec, n: usize) -> Result<(), String> {
    let first_new = fleet.instances.len();
    while fleet.instances.len() < n {
        let mut spec = idle.clone();
        spec.name = alloc::format!("{}-{}", idle.name, fleet.instances.len());
        fleet.start_idle(spec, IDLE_SERVER_PAGES)?;
    }
    for c in &fleet.instances[first_new..] {
        if !supervise::answers_ping(c) {
            return Err(alloc::format!(
                "idle container {} does not answer",
                c.spec.name
            ));
        }
    }
    println!("root: scaling: {n} idle containers alive");
    Ok(())
}

/// Prints one `bench:` line.
fn line(n: usize, name: &str, value: impl core::fmt::Display, unit: &str, note: &str) {
    println!("bench: scaling.n{n}.{name} {value} {unit} ({note})");
}

/// Everything measured with `n` idle containers alive; true if it all ran.
fn measure(
    fleet: &mut Fleet,
    n: usize,
    before: &sys::KernelMemory,
    bench: &ModuleInfo,
    probe: &ContainerSpec,
) -> bool {
    let now = sys::kernel_memory().unwrap_or_default();
    let per = |now: u64, then: u64| now.saturating_sub(then) / n as u64;
    let heap = per(now.heap_used, before.heap_used);
    line(
        n,
        "kernel_memory_per_container",
        per(now.frames, before.frames) * PAGE_SIZE + heap,
        "bytes",
        "page tables, kernel stack and kernel-heap records, per idle container",
    );
    line(
        n,
        "kernel_heap_per_container",
        heap,
        "bytes",
        "its kernel-heap part: object, thread, capability-table and mapping records",
    );
    // A server's quota pays for the server and, as a sub-quota charged in
    // full, for its apps' share (the manifest's `memory`): leave that out.
    let server_pages: u64 = fleet
        .instances
        .iter()
        .filter_map(|c| Some((c.server.as_ref()?, c.spec.memory_bytes.div_ceil(PAGE_SIZE))))
        .filter_map(|(child, apps)| Some(sys::memory_info(child.memory).ok()?.used - apps))
        .sum();
    line(
        n,
        "server_memory_per_container",
        server_pages / n as u64 * PAGE_SIZE,
        "bytes",
        "what an idle server's quota pays for itself (image, stack, heap, page tables, capability table)",
    );
    let swept = sweep(fleet, n);
    let ipc = native_ipc(bench, n);
    let getpid = probe_getpid(fleet, probe, n);
    swept && ipc && getpid
}

/// Pings every idle server once and prints the cost per call.
fn sweep(fleet: &Fleet, n: usize) -> bool {
    let counters = ipc::kernel_counters().unwrap_or_default();
    let start = tsc();
    let answered = fleet
        .instances
        .iter()
        .filter(|c| supervise::answers_ping(c))
        .count();
    let ticks = tsc() - start;
    let after = ipc::kernel_counters().unwrap_or_default();
    let calls = fleet.instances.len().max(1) as f64;
    let per_call = |a: u64, b: u64| (b - a) as f64 / calls;
    let unit = bulkhead_measure::Unit::for_accelerator(bulkhead_measure::Accelerator::detect());
    line(
        n,
        "ping_sweep.per_call",
        ticks / calls as u64,
        unit.name(),
        "root calls every idle server once in turn (Call with PING, reply)",
    );
    line(
        n,
        "ping_sweep.cr3_writes_per_call",
        alloc::format!("{:.2}", per_call(counters.cr3_writes, after.cr3_writes)),
        "writes/call",
        "CR3 writes per call of the sweep",
    );
    line(
        n,
        "ping_sweep.tlb_flushes_per_call",
        alloc::format!("{:.2}", per_call(counters.cr3_flushes, after.cr3_flushes)),
        "flushes/call",
        "CR3 writes that flushed the TLB, per call of the sweep",
    );
    if answered != fleet.instances.len() {
        println!(
            "root: scaling: {} of {} idle servers did not answer",
            fleet.instances.len() - answered,
            fleet.instances.len()
        );
    }
    answered == fleet.instances.len()
}

/// Runs the native IPC round trip with the `bench` module.
fn native_ipc(bench: &ModuleInfo, n: usize) -> bool {
    let options = alloc::format!("only={IPC_BENCH} prefix=scaling.n{n}.");
    match process::launch(bench, Some(&options)) {
        Ok(child) => {
            let ended = report_end("bench", child.wait());
            child.release();
            ended
        }
        Err(failure) => {
            println!("root: scaling: cannot start bench: {failure}");
            false
        }
    }
}

/// Runs getpid in a fresh `probe` container, then releases it.
fn probe_getpid(fleet: &mut Fleet, probe: &ContainerSpec, n: usize) -> bool {
    let mut spec = probe.clone();
    spec.name = alloc::format!("{}-n{n}", probe.name);
    for program in &mut spec.programs {
        program.argv = [
            program.path.clone(),
            PROBE_ITERATIONS.to_string(),
            "ipc".to_string(),
            "getpid".to_string(),
            alloc::format!("scaling.n{n}."),
        ]
        .into();
    }
    let ended = match fleet.run_instance(spec, false) {
        Ok(c) => c.endings.iter().all(|e| *e == Some(Ending::Exited(0))),
        Err(reason) => {
            println!("root: scaling: {reason}");
            return false;
        }
    };
    fleet.release(fleet.instances.len() - 1);
    if !ended {
        println!("root: scaling: the probe container did not exit with 0");
    }
    ended
}

/// Idle containers the test run starts ([`check`]).
const CHECK_COUNT: usize = 8;

/// The test run's check of what the benchmark relies on: [`CHECK_COUNT`]
/// idle containers start, stay and answer, the kernel's memory grows with
/// them, and releasing them leaves nothing behind.
/// Returns the results of its tests (printed).
pub fn check(info: &RootInfo) -> Tally {
    let mut tally = Tally::default();
    let mut fleet = match Fleet::open(info, true) {
        Ok(Some(fleet)) => fleet,
        Ok(None) => return tally,
        Err(()) => {
            tally.record(false);
            return tally;
        }
    };
    let before = sys::kernel_memory().unwrap_or_default();
    let mut idle = ContainerSpec::new(IDLE_SPEC, 0);
    idle.memory_bytes = bulkhead_manifest::MIN_MEMORY;
    let grown = grow(&mut fleet, &idle, CHECK_COUNT);
    if let Err(reason) = &grown {
        println!("    {reason}");
    }
    let answering = grown.is_ok() && fleet.instances.iter().all(supervise::answers_ping);
    report(
        &mut tally,
        "scaling::idle_containers_stay_and_answer",
        answering,
    );
    let after = sys::kernel_memory().unwrap_or_default();
    let grew = after.frames > before.frames && after.heap_used > before.heap_used;
    report(
        &mut tally,
        "scaling::idle_containers_cost_kernel_memory",
        grew,
    );
    if !grew {
        println!(
            "    kernel frames {} -> {}, kernel heap {} -> {} bytes for {CHECK_COUNT} containers",
            before.frames, after.frames, before.heap_used, after.heap_used
        );
    }
    tally.record(fleet.close());
    tally
}

fn report(tally: &mut Tally, name: &str, passed: bool) {
    println!("{}", result_line(name, passed));
    tally.record(passed);
}
