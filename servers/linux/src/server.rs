//! The serving loop: start the container's programs in manifest order,
//! answer their syscalls through the personality, end them, and keep the
//! supervisor informed.
//!
//! Besides its apps, the supervisor calls it (badge 0) to check that it
//! still answers (`PING`).
//!
//! The loop owns at most one pending reply: after a syscall that returns,
//! the next receive is a ReplyRecv carrying the result (one kernel entry
//! for both, and the fast path when the app is the only caller). An app
//! that exits, faults or cannot be started gets no reply; its outcome goes
//! into the report.
//!
//! The common case is kept short, for every syscall alike: while one app
//! keeps calling, [`Server::serve_app`] holds its parts lent to the
//! personality (a [`Caller`]) and answers each call with a one-word
//! ReplyRecv, so a call costs no app lookup, no message copies and no
//! check of which programs may start (that can change only when an app
//! ends, and then no reply is due). Any other message goes back to the
//! general loop.

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_linux::{Caller, Container, Outcome};
use bulkhead_manifest::ContainerSpec;
use bulkhead_rt::abi::container::{
    test_calls, EVENT_EXITED, PING, SUPERVISOR_BADGE, TEST_CRASH_SERVER, TEST_HANG_SERVER,
};
use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, Error};
use bulkhead_rt::child::REPORT_ADDR;
use bulkhead_rt::container_report::{ContainerReport, Ending};
use bulkhead_rt::sys::ipc::{self, Received};
use bulkhead_rt::{println, sys};

use crate::apps::{self, App, Caps, Start};
use crate::backend::{random_from_clock, AppBackend};
use bulkhead_linux::host::Random;

/// What serving a message leaves the loop to do.
enum Next {
    /// Reply with this value, then receive.
    Reply(i64),
    /// Replied and received already: serve this next.
    Received(Result<Received, Error>),
    /// No reply is due: receive.
    Receive,
}

impl From<Option<i64>> for Next {
    fn from(reply: Option<i64>) -> Next {
        reply.map_or(Next::Receive, Next::Reply)
    }
}

/// How the server tells its supervisor that the report changed.
pub struct Supervisor {
    pub notification: CapRef,
    pub bits: u64,
    /// The server's own space (the report page is in it).
    pub space: CapRef,
}

/// One container's server state.
pub struct Server {
    spec: ContainerSpec,
    container: Container,
    caps: Caps,
    supervisor: Supervisor,
    test: bool,
    /// Keep serving (the supervisor's pings) after every program ended,
    /// until the container is released: the scaling benchmark's idle
    /// containers.
    stay: bool,
    apps: Vec<Option<App>>,
    report: ContainerReport,
    random: Random,
}

impl Server {
    pub fn new(
        spec: ContainerSpec,
        container: Container,
        caps: Caps,
        supervisor: Supervisor,
        test: bool,
        stay: bool,
    ) -> Server {
        let mut spec = spec;
        // Every program learns which placement serves it (the benchmark
        // names its figures with it); the programs cannot tell otherwise.
        spec.env
            .push(alloc::format!("BULKHEAD_MODE={}", spec.mode.name()));
        Server {
            spec,
            container,
            caps,
            supervisor,
            test,
            stay,
            apps: Vec::new(),
            report: ContainerReport::default(),
            random: random_from_clock(),
        }
    }

    /// Runs the programs from index `first` on, serving them until every
    /// one has ended (and on, with `stay`, until the container goes).
    pub fn run(&mut self, first: usize) {
        let mut next = first;
        'serving: loop {
            while next < self.spec.programs.len() && self.may_start(next) {
                self.start(next);
                next += 1;
            }
            if next >= self.spec.programs.len() && self.apps.iter().all(Option::is_none) {
                if !self.stay {
                    break;
                }
                if !self.report.done {
                    self.report.done = true;
                    self.publish();
                }
            }
            // Only a message that gets no reply can end an app, so only
            // then may a program start or the last one have ended.
            let mut received = ipc::recv(self.caps.endpoint, MessageInfo::default());
            loop {
                let message = match received {
                    Ok(message) => message,
                    Err(error) => {
                        println!(
                            "[{}] linux-server: receive failed: {error}",
                            self.container.name()
                        );
                        break 'serving;
                    }
                };
                received = match self.handle(message) {
                    Next::Reply(value) => ipc::reply_word_recv(self.caps.endpoint, value as u64),
                    Next::Received(received) => received,
                    Next::Receive => break,
                };
            }
        }
        if !self.report.done {
            self.report.done = true;
            self.publish();
        }
    }

    /// Whether program `index` may start now: nothing starts while a `run`
    /// program is alive, and a `run` program also waits until every
    /// program before it has ended (so `spawn, spawn, run` is "start two,
    /// then run the third once they are done").
    fn may_start(&self, index: usize) -> bool {
        let mut alive = self.apps.iter().flatten();
        if self.spec.programs[index].wait {
            alive.next().is_none()
        } else {
            !alive.any(|app| app.wait)
        }
    }

    /// Starts program `index` in a free slot, or records why it could not.
    fn start(&mut self, index: usize) {
        let program = &self.spec.programs[index];
        let slot = self
            .apps
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.apps.len());
        let start = Start {
            program: index,
            path: &program.path,
            argv: &program.argv,
            env: &self.spec.env,
            wait: program.wait,
        };
        let started = if self.apps.iter().flatten().count() >= self.spec.threads as usize {
            Err(bulkhead_linux::Errno::EAGAIN.0)
        } else {
            apps::spawn(
                &self.caps,
                &mut self.container,
                &mut self.random,
                slot,
                &start,
            )
        };
        match started {
            Ok(app) => {
                if slot == self.apps.len() {
                    self.apps.push(None);
                }
                self.apps[slot] = Some(app);
                self.report.last_started = Some(index);
            }
            Err(errno) => {
                let path: &String = &program.path;
                let name = bulkhead_linux::Errno(errno).name().unwrap_or("?");
                println!(
                    "[{}] cannot start {path}: {name} (errno {errno})",
                    self.container.name()
                );
                self.report
                    .outcomes
                    .push((index, Ending::NotStarted(errno)));
            }
        }
        self.publish();
    }

    /// Serves one message.
    fn handle(&mut self, r: Received) -> Next {
        match apps::slot_of(r.badge) {
            Some((slot, false)) if !self.caps.in_kernel => self.serve_app(slot, r),
            _ => Next::from(self.handle_other(&r)),
        }
    }

    /// Serves the syscall `r` of the app in `slot`, and its next ones for
    /// as long as it is the one calling (each call finds the app and
    /// lends its parts to the personality only once); returns what the
    /// first message from anyone else needs.
    fn serve_app(&mut self, slot: usize, mut r: Received) -> Next {
        let Some(App {
            process: Some(process),
            memory,
            thread,
            line,
            ..
        }) = self.apps.get_mut(slot).and_then(Option::as_mut)
        else {
            return Next::from(self.handle_other(&r));
        };
        let name = self.spec.name.as_str();
        let mut backend = AppBackend {
            memory: *memory,
            thread: *thread,
            console: self.caps.console,
            name,
            line,
            random: &mut self.random,
        };
        let mut caller = Caller::new(&mut self.container, process, &mut backend);
        let (badge, test) = (r.badge, self.test);
        let status = loop {
            let [nr, a0, a1, a2, a3, a4, a5, _] = r.message.mrs;
            let value = match test.then(|| test_call(name, nr, a0)).flatten() {
                Some(value) => value,
                None => match caller.handle(nr, [a0, a1, a2, a3, a4, a5]) {
                    Outcome::Return(value) => value,
                    Outcome::Exit(status) => break status,
                },
            };
            r = match ipc::reply_word_recv(self.caps.endpoint, value as u64) {
                Ok(next) if next.badge == badge => next,
                other => return Next::Received(other),
            };
        };
        self.end(slot, Ending::Exited(status));
        Next::Receive
    }

    /// Serves any message but an app's syscall (the supervisor's, a fault
    /// report, an in-kernel app's end, a call from a slot with no app);
    /// returns the reply due, if any.
    fn handle_other(&mut self, r: &Received) -> Option<i64> {
        if r.badge == SUPERVISOR_BADGE {
            return Some(self.control(r.message.mrs[0]));
        }
        let (slot, fault) = apps::slot_of(r.badge)?;
        let mrs = r.message.mrs;
        if fault {
            let signal = apps::signal_for(mrs[0]);
            let path = self.apps.get(slot)?.as_ref()?.path.as_str();
            println!(
                "[{}] {path} killed by signal {signal}: vector {} at rip {:#x}, address {:#x}",
                self.container.name(),
                mrs[0],
                mrs[2],
                mrs[1]
            );
            self.end(slot, Ending::Signaled(signal));
            return None;
        }
        if self.caps.in_kernel {
            // The kernel serves the app's syscalls; only its end comes here.
            if mrs[0] == EVENT_EXITED {
                self.end(slot, Ending::Exited(mrs[1] as i32));
                return None;
            }
            return Some(-i64::from(bulkhead_linux::Errno::ENOSYS.0));
        }
        // A syscall from a slot whose app is gone.
        if self.test {
            return test_call(&self.spec.name, mrs[0], mrs[1]);
        }
        None
    }

    /// A call from the supervisor: `PING` is answered at once (0); anything
    /// else is refused (-1).
    fn control(&self, request: u64) -> i64 {
        if request == PING {
            0
        } else {
            -1
        }
    }

    /// Ends the app in `slot` with `ending` and reports it.
    fn end(&mut self, slot: usize, ending: Ending) {
        let Some(app) = self.apps.get_mut(slot).and_then(Option::take) else {
            return;
        };
        if !self.caps.in_kernel {
            // The kernel counts an ipc app's syscalls in its thread record,
            // which goes with the thread capability: a census now has the
            // container bank them, so ContainerInfo keeps counting them.
            let _ = sys::container_info(self.caps.container);
        }
        let program = app.end(&mut self.container, self.caps.console);
        self.report.outcomes.push((program, ending));
        self.publish();
    }

    /// Rewrites the report page and signals the supervisor.
    fn publish(&self) {
        let page = self.report.encode();
        if let Err(error) = sys::space_write(self.supervisor.space, REPORT_ADDR, &page) {
            println!(
                "[{}] linux-server: cannot write the report: {error}",
                self.container.name()
            );
        }
        let _ = ipc::signal(self.supervisor.notification, self.supervisor.bits);
    }
}

/// In test runs, Linux numbers no Linux uses break the server on
/// purpose: for the supervisor's tests one crashes it, one makes it
/// spin forever without answering anyone; for the exploit
/// demonstrations JUMP and PEEK have the same bugs as the kernel's
/// test calls (`kernel/src/personality/test_calls.rs`), here reaching
/// only the server's own memory, and a kernel symbol or another
/// container's data cannot even be named.
fn test_call(name: &str, number: u64, arg: u64) -> Option<i64> {
    const ENOENT: i64 = 2;
    match number {
        test_calls::JUMP => return Some(bulkhead_rt::arch::demo_jump(arg) as i64),
        test_calls::PEEK => return Some(bulkhead_rt::arch::demo_peek(arg) as i64),
        test_calls::SYMBOL | test_calls::PEER_DATA => return Some(-ENOENT),
        _ => {}
    }
    if number == TEST_CRASH_SERVER {
        println!("[{name}] linux-server: crashing on request");
        bulkhead_rt::arch::crash_now();
    }
    if number == TEST_HANG_SERVER {
        println!("[{name}] linux-server: hanging on request");
        loop {
            core::hint::spin_loop();
        }
    }
    None
}
