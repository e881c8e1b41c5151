//! Starting the containers of the `manifest` boot module, and judging how
//! their programs ended.
//!
//! For each container the manifest describes, the root server makes a
//! quota (the container's memory plus room for its server), a syscall
//! endpoint and a container object paid from it, and starts one instance
//! of the `linuxsrv` module holding only those, the file archive and the
//! console (see `bulkhead-linux-server`). It supervises every server (see
//! [`crate::supervise`]).
//!
//! A [`Fleet`] holds the manifest and every container instance started
//! from it: the manifest's own ([`Fleet::run_manifest`]) and, in a `make
//! run` boot, the console's fresh instances of one container with one
//! program ([`Fleet::run_instance`]). Instances are kept, container and
//! endpoint capabilities included, until the fleet is closed, so their
//! statistics can still be read after their programs ended; closing
//! releases everything and checks that nothing leaked.
//!
//! At the end each program with an `expect` line becomes one test result,
//! `container::<name>::<index>:<path>`, printed in the suite's format.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bulkhead_manifest::{ContainerSpec, Expect, Mode};
use bulkhead_rt::abi::container::Mode as KernelMode;
use bulkhead_rt::abi::root_info::{ModuleInfo, RootInfo};
use bulkhead_rt::abi::{root_slots, CapRef, Error, PAGE_SIZE};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::container_report::Ending;
use bulkhead_rt::mem::ReadOnlyMapping;
use bulkhead_rt::println;
use bulkhead_rt::report::{result_line, Tally};
use bulkhead_rt::sys::{self, ipc};

use crate::process::MODULE_WINDOW;
use crate::supervise::{self, start_server, Setup, Supervised};

/// The boot module holding the manifest.
pub const MANIFEST_MODULE: &str = "manifest";
/// The boot module holding the syscall server.
pub const SERVER_MODULE: &str = "linuxsrv";

/// Runs the manifest's containers to the end, all at once or (with
/// `sequential`, for the benchmarks) one after the other, releases them
/// and checks that nothing leaked; returns the test results of the
/// programs that have `expect` lines and of the leak check (none without
/// a manifest).
pub fn run(info: &RootInfo, test_run: bool, sequential: bool) -> Tally {
    let mut tally = Tally::default();
    match Fleet::open(info, test_run) {
        Ok(None) => {}
        Err(()) => tally.record(false),
        Ok(Some(mut fleet)) => {
            tally = fleet.run_manifest(sequential);
            tally.record(fleet.close());
        }
    }
    tally
}

/// Runs the manifest's containers to the end like [`run`], but keeps
/// them (for the console): returns the test results and the fleet
/// (`None` without a manifest or when it could not be opened).
pub fn run_kept(info: &RootInfo) -> (Tally, Option<Fleet>) {
    let mut tally = Tally::default();
    match Fleet::open(info, false) {
        Ok(None) => (tally, None),
        Err(()) => {
            tally.record(false);
            (tally, None)
        }
        Ok(Some(mut fleet)) => (fleet.run_manifest(false), Some(fleet)),
    }
}

/// The manifest and every container instance started from it.
pub struct Fleet {
    setup: Setup,
    /// The boot modules (for the containers' file archives).
    modules: Vec<ModuleInfo>,
    /// The manifest's text, which the manifest's servers read.
    manifest: Rc<[u8]>,
    test_run: bool,
    /// The manifest's containers, as parsed (one per mode of a `mode`
    /// line naming several).
    pub specs: Vec<ContainerSpec>,
    /// Every instance still held: the manifest's, then the console's.
    pub instances: Vec<Supervised>,
    /// The next instance's number (its notification bit, mod 64).
    next_index: usize,
    /// The kernel's census before the first container was made.
    before: Census,
}

impl Fleet {
    /// Reads the manifest (printing its errors) and makes the
    /// supervisor's notification. `Ok(None)` when the boot has no
    /// manifest; `Err` after a failure it has printed.
    pub fn open(info: &RootInfo, test_run: bool) -> Result<Option<Fleet>, ()> {
        let Some(manifest) = find(info.modules(), MANIFEST_MODULE) else {
            return Ok(None);
        };
        let Some(server) = find(info.modules(), SERVER_MODULE) else {
            println!("root: a manifest but no '{SERVER_MODULE}' module: no containers started");
            return Err(());
        };
        let text = read_module(&manifest).map_err(|error| {
            println!("root: cannot read the manifest: {error}");
        })?;
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
            return Err(());
        };
        Ok(Some(Fleet {
            setup: Setup {
                notification,
                server,
            },
            modules: info.modules().to_vec(),
            manifest: Rc::from(text),
            test_run,
            specs: parsed.containers,
            instances: Vec::new(),
            next_index: 0,
            before,
        }))
    }

    /// Starts the manifest's containers and runs them to the end, all at
    /// once or one after the other; returns the results of the programs
    /// with `expect` lines (and a failure per container not started).
    pub fn run_manifest(&mut self, sequential: bool) -> Tally {
        let mut tally = Tally::default();
        let start = self.instances.len();
        for spec in self.specs.clone() {
            let config = Rc::clone(&self.manifest);
            match self.create(spec, config, self.test_run, false) {
                Ok(c) => self.instances.push(c),
                Err(reason) => {
                    println!("root: {reason}");
                    tally.record(false);
                }
            }
            if sequential {
                if let Some(last) = self.instances.last_mut() {
                    supervise::supervise(core::slice::from_mut(last), &self.setup);
                }
            }
        }
        supervise::supervise(&mut self.instances[start..], &self.setup);
        for c in &self.instances[start..] {
            judge(c, &mut tally);
        }
        tally
    }

    /// Starts a fresh instance of `spec` (its server reads a manifest
    /// holding only `spec`), with the test-only calls if `test`, and
    /// supervises it until its programs have ended. The instance is kept.
    pub fn run_instance(&mut self, spec: ContainerSpec, test: bool) -> Result<&Supervised, String> {
        let config = Rc::from(spec.to_text().into_bytes());
        let c = self.create(spec, config, test, true)?;
        self.instances.push(c);
        let setup = &self.setup;
        let last = self
            .instances
            .last_mut()
            .ok_or_else(|| String::from("the instance is gone"))?;
        supervise::supervise(core::slice::from_mut(last), setup);
        Ok(last)
    }

    /// Starts an instance of `spec` whose server keeps answering after its
    /// programs ended, with `server_pages` for the server, and leaves it
    /// running unsupervised (the scaling benchmark's idle containers).
    pub fn start_idle(&mut self, spec: ContainerSpec, server_pages: u64) -> Result<(), String> {
        let config = Rc::from(spec.to_text().into_bytes());
        let mut c = self.create_unstarted(spec, config, false, true)?;
        c.server_pages = server_pages;
        c.stay = true;
        self.start(&mut c)?;
        self.instances.push(c);
        Ok(())
    }

    /// Releases instance `position` (its server, if it still runs, its
    /// container and its endpoint).
    pub fn release(&mut self, position: usize) {
        if position < self.instances.len() {
            release(self.instances.remove(position));
        }
    }

    /// Releases every instance and the notification, then checks that
    /// nothing leaked (one test, printed); true if it passed.
    pub fn close(self) -> bool {
        for c in self.instances {
            release(c);
        }
        let _ = sys::cap_delete(self.setup.notification);
        nothing_leaked(&self.before)
    }

    /// Makes container `spec`'s quota, endpoint and container, and starts
    /// its server.
    fn create(
        &mut self,
        spec: ContainerSpec,
        config: Rc<[u8]>,
        test: bool,
        console: bool,
    ) -> Result<Supervised, String> {
        let mut c = self.create_unstarted(spec, config, test, console)?;
        self.start(&mut c)?;
        Ok(c)
    }

    /// Starts `c`'s server, or deletes its container and endpoint if it
    /// cannot start.
    fn start(&self, c: &mut Supervised) -> Result<(), String> {
        start_server(c, &self.setup).inspect_err(|_| {
            let _ = sys::cap_delete(c.container);
            let _ = sys::cap_delete(c.endpoint);
        })
    }

    /// Makes container `spec`'s endpoint and container, not yet its
    /// server.
    fn create_unstarted(
        &mut self,
        spec: ContainerSpec,
        config: Rc<[u8]>,
        test: bool,
        console: bool,
    ) -> Result<Supervised, String> {
        let index = self.next_index;
        self.next_index += 1;
        let name = spec.name.clone();
        let archive = match &spec.files {
            Some(module) => Some(find(&self.modules, module).ok_or_else(|| {
                alloc::format!("container {name}: no boot module '{module}' for its files; skipped")
            })?),
            None => None,
        };
        let fail = |step: &str, e: Error| alloc::format!("container {name}: {step}: {e}; skipped");
        let memory = root_cap(root_slots::MEMORY);
        let endpoint = ipc::endpoint_create(memory).map_err(|e| fail("endpoint", e))?;
        let mode = kernel_mode(spec.mode);
        let (container, kernel_pages) = match mode {
            KernelMode::Ipc => (sys::container_create(memory, endpoint, mode), 0),
            mode => create_in_kernel(&name, mode, endpoint, archive.as_ref()),
        };
        let container = match container {
            Ok(c) => c,
            Err(e) => {
                let _ = sys::cap_delete(endpoint);
                return Err(fail("container", e));
            }
        };
        Ok(Supervised {
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
            config,
            test,
            handed: None,
            console,
            kernel_pages,
            server_pages: supervise::SERVER_PAGES,
            stay: false,
        })
    }
}

/// Stops what still runs of `c` and deletes its capabilities.
fn release(mut c: Supervised) {
    if let Some(child) = c.server.take() {
        let _ = sys::container_stop(c.container);
        child.release();
    }
    let _ = sys::cap_delete(c.container);
    let _ = sys::cap_delete(c.endpoint);
}

/// The kernel's view of memory and objects, and the root server's heap
/// (which may grow meanwhile without that being a leak).
struct Census {
    problems: u64,
    frames: u64,
    objects: u64,
    heap_pages: u64,
    /// Frames the kernel keeps once grown into (its heap's and its own
    /// page tables', which grow with many containers).
    kernel_kept: u64,
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
            kernel_kept: sys::kernel_memory().map_or(0, |m| m.kept_frames),
        }
    }
}

/// Page-table pages the root server's own space may have gained.
const ROOT_TABLE_SLACK: u64 = 8;

/// One test: once every container is gone, the kernel's self-check finds
/// no problem, and every frame and object the containers used is back.
/// The root server's heap may have grown meanwhile (it does not shrink):
/// its frames, and one Frames object per chunk of at least
/// [`bulkhead_rt::heap::GROW_PAGES`], are not a leak; nor are the frames
/// the kernel's heap and its own page tables grew by.
fn nothing_leaked(before: &Census) -> bool {
    let after = Census::take();
    let heap_growth = after.heap_pages.saturating_sub(before.heap_pages);
    let heap_chunks = heap_growth.div_ceil(bulkhead_rt::heap::GROW_PAGES);
    let kernel_growth = after.kernel_kept.saturating_sub(before.kernel_kept);
    let passed = after.problems == 0
        && after.frames <= before.frames + heap_growth + kernel_growth + ROOT_TABLE_SLACK
        && after.objects <= before.objects + heap_chunks;
    println!(
        "{}",
        result_line("container::kernel_self_check_and_nothing_leaked", passed)
    );
    println!(
        "    frames in use {} -> {} (root heap grew {heap_growth} pages, the kernel's heap and \
         tables {kernel_growth}), live objects {} -> {}, self-check problems {}",
        before.frames, after.frames, before.objects, after.objects, after.problems
    );
    passed
}

/// The module called `name`.
pub fn find(modules: &[ModuleInfo], name: &str) -> Option<ModuleInfo> {
    modules.iter().find(|m| m.name() == name).copied()
}

/// A module's bytes (copied out of a read-only window).
fn read_module(module: &ModuleInfo) -> Result<Vec<u8>, Error> {
    let size = usize::try_from(module.size).map_err(|_| Error::InvalidArgument)?;
    let own_space = root_cap(root_slots::SELF_SPACE);
    let window = ReadOnlyMapping::new(own_space, root_cap(module.slot), MODULE_WINDOW, size)?;
    Ok(window.bytes().to_vec())
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
/// paid from a quota of its own, split off for it; returns the container
/// and that quota's pages.
fn create_in_kernel(
    name: &str,
    mode: KernelMode,
    endpoint: CapRef,
    archive: Option<&ModuleInfo>,
) -> (Result<CapRef, Error>, u64) {
    let (cap, len) = archive.map_or((CapRef::NULL, 0), |a| (root_cap(a.slot), a.size));
    let pages = bulkhead_rt::abi::container::kernel_data_pages(len, mode) + 1;
    let quota = match sys::memory_split(root_cap(root_slots::MEMORY), pages) {
        Ok(quota) => quota,
        Err(e) => return (Err(e), 0),
    };
    let setup = sys::kernel_setup(name, cap, len);
    let container = sys::container_create_in_kernel(quota, endpoint, mode, &setup);
    // The container holds its quota.
    let _ = sys::cap_delete(quota);
    (container, pages)
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
