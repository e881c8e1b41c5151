//! What the console's `list` and `stats` print: the manifest's
//! containers with their programs and the capabilities their servers
//! were handed, and the kernel's syscall counts of every container
//! instance the root server still holds.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_console::outcome::short;
use bulkhead_console::table::{columns, size};
use bulkhead_manifest::text::quote;
use bulkhead_manifest::ContainerSpec;
use bulkhead_rt::abi::{CapRef, Rights, PAGE_SIZE};
use bulkhead_rt::println;
use bulkhead_rt::sys;

use crate::console::outcome;
use crate::containers::{Fleet, SERVER_MODULE};
use crate::supervise::{Handed, Supervised};

/// `alpha`, or `alpha #7` for an instance the console started.
pub fn label(c: &Supervised) -> String {
    if c.console {
        alloc::format!("{} #{}", c.spec.name, c.index + 1)
    } else {
        c.spec.name.clone()
    }
}

/// Every container name `stats` knows: the manifest's and the console's
/// instances' (bench, exploit), without repeats.
pub fn names(fleet: &Fleet) -> Vec<String> {
    let mut names: Vec<String> = fleet.specs.iter().map(|s| s.name.clone()).collect();
    for c in &fleet.instances {
        if !names.contains(&c.spec.name) {
            names.push(c.spec.name.clone());
        }
    }
    names
}

fn strings<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| String::from(*c)).collect()
}

/// `list`: each container of the manifest.
pub fn list(fleet: &Fleet) {
    if fleet.specs.is_empty() {
        return println!("console: the manifest describes no containers");
    }
    for spec in &fleet.specs {
        let instance = fleet
            .instances
            .iter()
            .find(|c| !c.console && c.spec.name == spec.name);
        container(spec, instance);
    }
}

fn container(spec: &ContainerSpec, c: Option<&Supervised>) {
    let files = spec.files.as_deref().unwrap_or("none (an empty tree)");
    let env = if spec.env.is_empty() {
        String::from("none")
    } else {
        spec.env.join(" ")
    };
    println!(
        "{}: mode {}, memory {}, files {files}, {} threads at most, env {env}",
        spec.name,
        spec.mode,
        size(spec.memory_bytes),
        spec.threads
    );
    let mut rows = vec![strings(["#", "program", "ended"])];
    for (index, program) in spec.programs.iter().enumerate() {
        let argv: Vec<String> = program.argv.iter().map(|a| quote(a)).collect();
        let verb = if program.wait { "run" } else { "spawn" };
        let ended = c.map_or(String::from("-"), |c| {
            short(outcome(c.endings.get(index).copied().flatten()))
        });
        rows.push(vec![
            alloc::format!("{index}"),
            alloc::format!("{verb} {}", argv.join(" ")),
            ended,
        ]);
    }
    for line in columns(&rows, 2) {
        println!("{line}");
    }
    let Some(c) = c else {
        return println!("  not started (see the boot log)");
    };
    match &c.handed {
        Some(handed) => capabilities(c, handed),
        None => println!("  its server was never started"),
    }
}

/// The capabilities `c`'s (latest) server was handed, as it names them.
fn capabilities(c: &Supervised, handed: &Handed) {
    let role = if c.spec.mode == bulkhead_manifest::Mode::Ipc {
        "serves the apps' syscalls over IPC"
    } else {
        "a launcher: the kernel serves the syscalls"
    };
    let restarts = match c.restarts {
        0 => String::from("never restarted"),
        n => alloc::format!("restarted {n} time(s)"),
    };
    let state = if c.finished { "finished" } else { "running" };
    println!("  server: {SERVER_MODULE} ({role}), {state}, {restarts}; its table holds:");
    let own = handed.slots.map(|s| s.index());
    let as_root = || String::from("as root's");
    let mut rows = vec![
        strings(["slot", "capability", "rights", "for"]),
        vec![
            alloc::format!("{}-{}", own[0], own[2]),
            String::from("table, space, thread"),
            as_root(),
            String::from("itself"),
        ],
        vec![
            alloc::format!("{}", own[3]),
            String::from("memory"),
            as_root(),
            alloc::format!(
                "its quota: {} pages, the apps' {} split off",
                handed.quota_pages,
                size(c.spec.memory_bytes)
            ),
        ],
        vec![
            alloc::format!("{}", own[4]),
            String::from("console"),
            as_root(),
            String::from("the serial console (the apps' output)"),
        ],
        vec![
            alloc::format!("{}", own[5]),
            String::from("exit ports"),
            as_root(),
            String::from("QEMU's exit port (every child gets it)"),
        ],
    ];
    let archive = match c.archive {
        Some(a) => alloc::format!("boot module {}: its files ({} bytes)", a.name(), a.size),
        None => String::from("none: its tree starts empty"),
    };
    let extra: [(&str, String); 4] = [
        (
            "container",
            String::from("apps join it; ContainerInfo, ContainerStop"),
        ),
        (
            "endpoint",
            String::from("the apps' syscalls (ipc) and exits arrive here"),
        ),
        (
            "notification",
            alloc::format!(
                "badge {:#x}: wakes the root server (supervisor)",
                handed.badge
            ),
        ),
        ("archive", archive),
    ];
    for ((cap, r), (what, why)) in handed.extra.iter().zip(handed.rights).zip(extra) {
        if !cap.is_null() {
            rows.push(vec![slot(*cap), String::from(what), rights(r), why]);
        }
    }
    for line in columns(&rows, 4) {
        println!("{line}");
    }
    if c.kernel_pages > 0 {
        println!(
            "  the container holds a quota of {} pages ({}) for its kernel data",
            c.kernel_pages,
            size(c.kernel_pages * PAGE_SIZE)
        );
    }
}

fn slot(cap: CapRef) -> String {
    alloc::format!("{}", cap.index())
}

/// `stats`: the kernel's counts for every instance still held (of
/// container `filter` only, if given).
pub fn stats(fleet: &Fleet, filter: Option<&str>) {
    let mut rows = vec![strings([
        "instance", "mode", "live", "syscalls", "programs",
    ])];
    for c in &fleet.instances {
        if filter.is_some_and(|f| f != c.spec.name) {
            continue;
        }
        let programs: Vec<String> = c
            .spec
            .programs
            .iter()
            .zip(&c.endings)
            .map(|(p, e)| {
                let name = p.path.rsplit('/').next().unwrap_or(&p.path);
                alloc::format!("{name} {}", short(outcome(*e)))
            })
            .collect();
        let (mode, live, calls) = match sys::container_info(c.container) {
            Ok(info) => (
                info.mode.map_or("?", |m| m.name()),
                alloc::format!("{}", info.members),
                alloc::format!("{}", info.syscalls),
            ),
            Err(error) => ("?", String::from("?"), alloc::format!("({error})")),
        };
        rows.push(vec![
            label(c),
            String::from(mode),
            live,
            calls,
            programs.join(", "),
        ]);
    }
    if rows.len() == 1 {
        return println!("console: no container instance is held");
    }
    for line in columns(&rows, 2) {
        println!("{line}");
    }
    println!(
        "  (the kernel's ContainerInfo: live member threads, and Linux syscalls made by members"
    );
    println!(
        "  alive or ended, forwarded in ipc or served in the kernel; '#N': started by the console)"
    );
}

/// Rights in words: `all`, `write`, `read+grant`.
fn rights(r: Rights) -> String {
    if r == Rights::ALL {
        return String::from("all");
    }
    let names: Vec<&str> = r.iter_names().map(|(n, _)| n).collect();
    names.join("+").to_lowercase()
}
