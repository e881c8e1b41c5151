//! The container's running programs ("apps"): starting one from the file
//! tree, and ending one.
//!
//! Each app is a new address space, an empty capability table and one
//! thread, all paid from the container's quota. The Linux ELF loader maps
//! the program and its initial stack through the space capability; the
//! thread then joins the container, so each `syscall` it makes arrives
//! here as a Call with its badge, and its faults arrive on the same
//! endpoint with the fault badge:
//!
//! ```text
//!  badge = (slot + 1) << 1        a syscall of the app in `slot`
//!  badge = (slot + 1) << 1 | 1    a fault of that app
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_linux::host::{ConsoleLine, Random, DEFAULT_LAYOUT};
use bulkhead_linux::{Container, Errno, Process};
use bulkhead_linux_exec::{ExecConfig, ExecError, Loaded};
use bulkhead_rt::abi::container::{ImageMapping, ProcessImage};
use bulkhead_rt::abi::{CapRef, Rights};
use bulkhead_rt::sys::{self, ipc};

use crate::app_memory::{errno_of, exec_prot, AppMemory};

/// Priority of app threads: the server's own, so the IPC fast path can
/// hand over in both directions (it needs the receiver's priority at
/// least the sender's).
pub const APP_PRIORITY: u64 = bulkhead_rt::thread::DEFAULT_PRIORITY;
/// `ENOEXEC`: what a malformed program reports.
const ENOEXEC: i32 = 8;

/// The server's capabilities an app is made from.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub memory: CapRef,
    pub endpoint: CapRef,
    pub container: CapRef,
    pub console: CapRef,
    /// The container's syscalls are served in the kernel (`direct`, `sci`):
    /// the server only loads programs and hears of their ends.
    pub in_kernel: bool,
}

/// A running program.
pub struct App {
    /// Its index in the container's program list.
    pub program: usize,
    pub path: String,
    /// Its process in the server's personality (`ipc` mode; in the
    /// in-kernel modes the kernel's personality has it).
    pub process: Option<Process>,
    pub memory: AppMemory,
    pub thread: CapRef,
    table: CapRef,
    /// Console output waiting for its newline.
    pub line: ConsoleLine,
    /// The server waits for it to end before starting the next program.
    pub wait: bool,
}

/// The syscall badge of slot `slot`.
pub fn badge_of(slot: usize) -> u64 {
    ((slot as u64) + 1) << 1
}

/// The slot a badge names, and whether it is the fault badge.
pub fn slot_of(badge: u64) -> Option<(usize, bool)> {
    let slot = (badge >> 1).checked_sub(1)?;
    Some((usize::try_from(slot).ok()?, badge & 1 == 1))
}

/// What to start.
pub struct Start<'a> {
    pub program: usize,
    pub path: &'a str,
    pub argv: &'a [String],
    pub env: &'a [String],
    pub wait: bool,
}

/// Starts `start` as the app in `slot`. Errors are Linux errno values.
pub fn spawn(
    caps: &Caps,
    container: &mut Container,
    random: &mut Random,
    slot: usize,
    start: &Start,
) -> Result<App, i32> {
    let image = container.fs.read_whole_file(start.path).map_err(|e| e.0)?;
    let space = sys::space_create(caps.memory).map_err(|e| errno_of(e).0)?;
    let made = make_thread(caps, space).and_then(|(table, thread)| {
        let app = load(container, random, caps.memory, space, &image, start).and_then(|loaded| {
            let process = match caps.in_kernel {
                true => None,
                false => Some(new_process(container, &loaded)),
            };
            join(caps, thread, slot, &loaded)?;
            Ok(process)
        });
        match app {
            Ok(process) => Ok((table, thread, process)),
            Err(e) => {
                let _ = sys::cap_delete(thread);
                let _ = sys::cap_delete(table);
                Err(e)
            }
        }
    });
    let (table, thread, process) = match made {
        Ok(parts) => parts,
        Err(e) => {
            let _ = sys::cap_delete(space);
            return Err(e);
        }
    };
    Ok(App {
        program: start.program,
        path: String::from(start.path),
        process,
        memory: AppMemory {
            space,
            memory: caps.memory,
        },
        thread,
        table,
        line: ConsoleLine::default(),
        wait: start.wait,
    })
}

fn make_thread(caps: &Caps, space: CapRef) -> Result<(CapRef, CapRef), i32> {
    let table = sys::table_create(caps.memory, 1).map_err(|e| errno_of(e).0)?;
    match sys::thread_create(caps.memory, space, table, APP_PRIORITY) {
        Ok(thread) => Ok((table, thread)),
        Err(e) => {
            let _ = sys::cap_delete(table);
            Err(errno_of(e).0)
        }
    }
}

/// Loads the ELF image and its stack into `space`, paying from `memory`.
fn load(
    container: &Container,
    random: &mut Random,
    memory: CapRef,
    space: CapRef,
    image: &[u8],
    start: &Start,
) -> Result<Loaded, i32> {
    let argv: Vec<&[u8]> = start.argv.iter().map(|a| a.as_bytes()).collect();
    let envp: Vec<&[u8]> = start.env.iter().map(|e| e.as_bytes()).collect();
    let mut seed = [0u8; 16];
    random.fill(&mut seed);
    let config = ExecConfig::linux_defaults(start.path.as_bytes(), seed);
    let mut memory = AppMemory { space, memory };
    bulkhead_linux_exec::load(&mut memory, image, &argv, &envp, &config).map_err(|error| {
        match error {
            // Out of memory or slots: the caller reports the errno.
            ExecError::Target(Errno(e)) => e,
            malformed => {
                bulkhead_rt::println!(
                    "[{}] cannot start {}: {malformed}",
                    container.name(),
                    start.path
                );
                ENOEXEC
            }
        }
    })
}

/// The process record of a loaded program, in the server's personality.
fn new_process(container: &mut Container, loaded: &Loaded) -> Process {
    let mut process = container.new_process(None, DEFAULT_LAYOUT);
    for &(addr, len, prot) in &loaded.mappings {
        process.note_mapping(addr, len, exec_prot(prot));
    }
    process.set_brk_start(loaded.brk_start);
    process
}

/// What the kernel's personality must know of a loaded program.
fn process_image(loaded: &Loaded) -> Result<ProcessImage, i32> {
    let mut image = ProcessImage {
        brk_start: loaded.brk_start,
        count: loaded.mappings.len() as u64,
        ..ProcessImage::default()
    };
    let slots = image
        .mappings
        .get_mut(..loaded.mappings.len())
        .ok_or(ENOEXEC)?;
    for (slot, &(addr, len, prot)) in slots.iter_mut().zip(&loaded.mappings) {
        *slot = ImageMapping {
            addr,
            len,
            prot: exec_prot(prot).to_linux(),
        };
    }
    Ok(image)
}

/// Points the thread at the program, routes its faults and syscalls here,
/// and starts it.
fn join(caps: &Caps, thread: CapRef, slot: usize, loaded: &Loaded) -> Result<(), i32> {
    let fail = |e| errno_of(e).0;
    sys::thread_set_entry(thread, loaded.entry, loaded.stack_pointer, 0).map_err(fail)?;
    let fault_cap =
        sys::cap_mint(caps.endpoint, None, Rights::WRITE, badge_of(slot) | 1).map_err(fail)?;
    let routed = ipc::set_fault_handler(thread, Some(fault_cap));
    let _ = sys::cap_delete(fault_cap);
    routed.map_err(fail)?;
    if caps.in_kernel {
        let image = process_image(loaded)?;
        sys::container_add_process(caps.container, thread, badge_of(slot), &image).map_err(fail)?;
    } else {
        sys::container_add_thread(caps.container, thread, badge_of(slot)).map_err(fail)?;
    }
    sys::thread_start(thread).map_err(fail)
}

impl App {
    /// Stops the app for good and frees its memory; returns its program.
    pub fn end(mut self, container: &mut Container, console: CapRef) -> usize {
        crate::backend::flush_line(console, container.name(), &mut self.line);
        if let Some(mut process) = self.process {
            process.close_all_files(&mut container.fs);
            container.process_exited(process.pid());
        }
        let _ = sys::cap_delete(self.thread);
        let _ = sys::cap_delete(self.table);
        let _ = sys::cap_delete(self.memory.space);
        self.program
    }
}

/// The Linux signal a CPU exception stands for.
pub fn signal_for(vector: u64) -> i32 {
    const SIGILL: i32 = 4;
    const SIGTRAP: i32 = 5;
    const SIGBUS: i32 = 7;
    const SIGFPE: i32 = 8;
    const SIGSEGV: i32 = 11;
    match vector {
        0 | 16 | 19 => SIGFPE,
        1 | 3 => SIGTRAP,
        6 => SIGILL,
        17 => SIGBUS,
        _ => SIGSEGV,
    }
}
