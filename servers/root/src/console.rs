//! The interactive console over the serial port: after the manifest's
//! containers have run in a `make run` boot, the root server reads
//! commands typed on the serial line and answers them (see
//! `docs/console.md`). The line editing, parsing and wording live in the
//! host-tested `bulkhead-console` crate; this module reads the serial
//! port, runs the commands with the container [`Fleet`], and prints.
//!
//! ```text
//!  ConsoleRead (non-blocking; 20 ms sleep when nothing waits)
//!    -> LineEditor: echo, erase, a whole line
//!    -> command::parse -> help | list | run | stats | bench | exploit | exit
//!  root.script=a;b,c  -> the lines "a", "b c" instead, then exit
//! ```
//!
//! The console runs only outside test runs, and `root.console=0` turns it
//! off. `exit` releases every container instance, checks that nothing
//! leaked, prints the run's summary and ends the emulator with its verdict.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bulkhead_console::command::{help_lines, unknown_container};
use bulkhead_console::outcome::{explain, short};
use bulkhead_console::{script, Action, Command, Demo, LineEditor, Outcome, PROMPT};
use bulkhead_manifest::text::quote;
use bulkhead_manifest::{ContainerSpec, Mode, Program};
use bulkhead_rt::abi::{root_slots, CapRef};
use bulkhead_rt::boot::root_cap;
use bulkhead_rt::container_report::Ending;
use bulkhead_rt::report::Tally;
use bulkhead_rt::{cmdline, print, println, sys};

use crate::containers::Fleet;
use crate::show;

/// How long to sleep when no input is waiting.
const POLL: Duration = Duration::from_millis(20);
/// Console-started instances kept for `stats`; beyond that the oldest go.
const MAX_KEPT: usize = 16;
/// Iterations per round of `/bin/bench` (five rounds per operation).
const BENCH_ITERATIONS: &str = "100";

/// Whether the console runs: unless `root.console=0` (or `off`, `no`,
/// `false`).
pub fn enabled(cmdline: &str) -> bool {
    !matches!(
        cmdline::value(cmdline, "root.console"),
        Some("0" | "off" | "no" | "false")
    )
}

/// Where lines come from.
enum Input {
    /// The serial port, through the console capability.
    Serial {
        console: CapRef,
        editor: LineEditor,
        /// Bytes read but not yet fed to the editor.
        pending: VecDeque<u8>,
    },
    /// `root.script=`: these lines, then the end.
    Script(VecDeque<String>),
}

impl Input {
    /// The next line, after printing the prompt; `None` at the end.
    fn next_line(&mut self) -> Option<String> {
        match self {
            Input::Script(lines) => {
                let line = lines.pop_front()?;
                println!("{PROMPT}{line}");
                Some(line)
            }
            Input::Serial {
                console,
                editor,
                pending,
            } => {
                print!("{PROMPT}");
                read_line(*console, editor, pending)
            }
        }
    }
}

/// Reads and echoes one line from the serial port.
fn read_line(
    console: CapRef,
    editor: &mut LineEditor,
    pending: &mut VecDeque<u8>,
) -> Option<String> {
    loop {
        let Some(byte) = pending.pop_front() else {
            let mut buffer = [0u8; 64];
            match sys::console_read(console, &mut buffer) {
                Ok(0) => {
                    let _ = sys::sleep(POLL);
                }
                Ok(n) => pending.extend(&buffer[..n]),
                Err(error) => {
                    println!("\nconsole: cannot read the serial port ({error}); ending");
                    return None;
                }
            }
            continue;
        };
        match editor.feed(byte) {
            Action::Nothing => {}
            Action::Echo(c) => bulkhead_rt::console::write_bytes(&[c]),
            Action::Erase(n) => {
                for _ in 0..n {
                    bulkhead_rt::console::write_bytes(b"\x08 \x08");
                }
            }
            Action::Line(line) => {
                println!();
                return Some(line);
            }
            Action::Cancel => print!("^C\n{PROMPT}"),
            Action::End => {
                println!("exit");
                return None;
            }
        }
    }
}

/// How a server reported a program's end, for the console's words.
pub fn outcome(ending: Option<Ending>) -> Option<Outcome> {
    ending.map(|e| match e {
        Ending::Exited(status) => Outcome::Exited(status),
        Ending::Signaled(signal) => Outcome::Signaled(signal),
        Ending::NotStarted(errno) => Outcome::NotStarted(errno),
    })
}

/// How a console instance's first program went.
struct Ran {
    /// The instance's label (`alpha #5`).
    label: String,
    outcome: Option<Outcome>,
    /// The syscalls the kernel counted for the instance.
    syscalls: u64,
}

/// The console's state.
struct Console {
    fleet: Option<Fleet>,
    /// The boot's test results so far (the run's summary at `exit`).
    boot: Tally,
    input: Input,
}

/// Runs the console until `exit` or the end of input, then ends the run.
pub fn run(cmdline: &str, fleet: Option<Fleet>, boot: Tally) -> ! {
    let input = match cmdline::value(cmdline, "root.script") {
        Some(value) => {
            let lines = script::lines(value);
            println!(
                "root: console: running {} line(s) of root.script, then exit",
                lines.len()
            );
            Input::Script(lines.into())
        }
        None => {
            println!(
                "root: console on the serial port: type 'help' for the commands, 'exit' to end \
                 (the containers above are kept for 'list' and 'stats')"
            );
            Input::Serial {
                console: root_cap(root_slots::CONSOLE),
                editor: LineEditor::new(),
                pending: VecDeque::new(),
            }
        }
    };
    let mut console = Console { fleet, boot, input };
    while let Some(line) = console.input.next_line() {
        match bulkhead_console::parse(&line) {
            Ok(None) => {}
            Ok(Some(Command::Exit)) => break,
            Ok(Some(command)) => console.dispatch(command),
            Err(error) => println!("{error}"),
        }
    }
    console.exit()
}

impl Console {
    fn dispatch(&mut self, command: Command) {
        match command {
            Command::Help => {
                println!("commands:");
                for line in help_lines() {
                    println!("{line}");
                }
                println!("(a bare program name means /bin/<name>; Ctrl-U clears the line; see docs/console.md)");
            }
            Command::List => match &self.fleet {
                Some(fleet) => show::list(fleet),
                None => no_manifest(),
            },
            Command::Run { container, argv } => self.run_program(&container, argv),
            Command::Stats { container } => self.stats(container.as_deref()),
            Command::Bench => self.bench(),
            Command::Exploit => self.exploit(),
            Command::Exit => {}
        }
    }

    /// `run`: one program in a fresh instance of container `name`.
    fn run_program(&mut self, name: &str, argv: Vec<String>) {
        let Some(fleet) = self.fleet.as_ref() else {
            return no_manifest();
        };
        let Some(spec) = fleet.specs.iter().find(|s| s.name == name) else {
            let names = fleet.specs.iter().map(|s| s.name.as_str());
            return println!("{}", unknown_container(name, names));
        };
        let mut spec = spec.clone();
        let words: Vec<String> = argv.iter().map(|a| quote(a)).collect();
        let command = words.join(" ");
        spec.programs = vec![program(argv)];
        println!(
            "console: running {command} in a fresh instance of {} ({} mode)",
            spec.name, spec.mode
        );
        if let Some(ran) = self.start(spec, false) {
            let ending = ran
                .outcome
                .map_or_else(|| String::from("did not report an end"), |o| o.to_string());
            println!(
                "console: {command} in {} {ending} ({} syscalls)",
                ran.label, ran.syscalls
            );
        }
    }

    /// Starts and supervises one console instance (keeping at most
    /// [`MAX_KEPT`]); says how its first program ended.
    fn start(&mut self, spec: ContainerSpec, test: bool) -> Option<Ran> {
        let fleet = self.fleet.as_mut()?;
        trim(fleet);
        match fleet.run_instance(spec, test) {
            Ok(c) => Some(Ran {
                label: show::label(c),
                outcome: outcome(c.endings.first().copied().flatten()),
                syscalls: sys::container_info(c.container).map_or(0, |i| i.syscalls),
            }),
            Err(reason) => {
                println!("console: {reason}");
                None
            }
        }
    }

    /// `stats [<container>]`.
    fn stats(&self, filter: Option<&str>) {
        let Some(fleet) = &self.fleet else {
            return no_manifest();
        };
        if let Some(name) = filter {
            let known = show::names(fleet);
            if !known.iter().any(|k| k == name) {
                return println!(
                    "{}",
                    unknown_container(name, known.iter().map(String::as_str))
                );
            }
        }
        show::stats(fleet, filter);
    }

    /// `bench`: `/bin/bench` in a fresh container of each mode.
    fn bench(&mut self) {
        let Some(base) = self.base() else { return };
        println!(
            "console: /bin/bench {BENCH_ITERATIONS} (5 rounds of {BENCH_ITERATIONS} per operation) \
             in a fresh copy of {} in each mode, one after the other",
            base.name
        );
        for mode in Mode::ALL {
            let mut spec = base.clone();
            spec.name = match mode {
                Mode::Ipc => String::from("bench"),
                mode => alloc::format!("bench-{mode}"),
            };
            spec.mode = mode;
            spec.env.push(String::from("BENCH_UNIT=cycles"));
            spec.programs = vec![program(vec![
                String::from("/bin/bench"),
                String::from(BENCH_ITERATIONS),
            ])];
            if let Some(ran) = self.start(spec, false) {
                println!("console: bench in {}: {}", ran.label, short(ran.outcome));
            }
        }
        println!(
            "console: the figures are time stamp counter ticks per operation; `make run` runs QEMU \
             without -icount, so they are cycles of the emulated clock (they vary from run to run); \
             `make bench` counts instructions instead (-icount), repeatable to the tick"
        );
    }

    /// `exploit`: `/bin/exploit jump` and `peek` in an ipc, a direct and
    /// an sci container.
    fn exploit(&mut self) {
        let Some(base) = self.base() else { return };
        println!(
            "console: /bin/exploit jump, then /bin/exploit peek, in a fresh copy of {} in modes ipc, \
             direct and sci",
            base.name
        );
        println!(
            "console: (the ipc server is started with its deliberate bugs; the kernel has them \
             when built with the exploit-demos feature, as make run's and make test's are)"
        );
        let demos = [Demo::Jump, Demo::Peek];
        let mut results = Vec::new();
        for mode in [Mode::Ipc, Mode::Direct, Mode::Sci] {
            let mut spec = base.clone();
            spec.name = alloc::format!("exploit-{mode}");
            spec.mode = mode;
            spec.programs = demos
                .iter()
                .map(|d| program(vec![String::from("/bin/exploit"), String::from(d.arg())]))
                .collect();
            let Some(fleet) = self.fleet.as_mut() else {
                return;
            };
            trim(fleet);
            match fleet.run_instance(spec, true) {
                Ok(c) => {
                    for (demo, ending) in demos.iter().zip(&c.endings) {
                        results.push((mode, *demo, outcome(*ending)));
                    }
                }
                Err(reason) => println!("console: {reason}"),
            }
        }
        println!("console: what happened:");
        for (mode, demo, ending) in results {
            let meaning = ending.map_or("no end reported", |o| explain(mode.name(), demo, o));
            println!(
                "  {:<6} {}: {}: {meaning}",
                mode.name(),
                demo.arg(),
                short(ending)
            );
        }
    }

    /// The container bench and exploit copy (the manifest's first).
    fn base(&self) -> Option<ContainerSpec> {
        let Some(fleet) = &self.fleet else {
            no_manifest();
            return None;
        };
        let base = fleet.specs.first().cloned();
        if base.is_none() {
            println!("console: the manifest has no container to copy");
        }
        base
    }

    /// `exit`: release everything, check for leaks, end the run.
    fn exit(self) -> ! {
        let mut total = self.boot;
        if let Some(fleet) = self.fleet {
            println!("console: releasing every container instance");
            total.record(fleet.close());
        }
        println!("root: results of the boot and the console session:");
        println!("{}", total.summary_line());
        crate::end_run(total.all_passed())
    }
}

/// A `run` program with `argv` (its path first).
fn program(argv: Vec<String>) -> Program {
    Program {
        path: argv.first().cloned().unwrap_or_default(),
        argv,
        wait: true,
        expect: None,
    }
}

/// Releases the oldest console instances beyond [`MAX_KEPT`] - 1, making
/// room for one more.
fn trim(fleet: &mut Fleet) {
    while fleet.instances.iter().filter(|c| c.console).count() >= MAX_KEPT {
        let Some(oldest) = fleet.instances.iter().position(|c| c.console) else {
            return;
        };
        println!(
            "console: releasing {} (at most {MAX_KEPT} console instances are kept)",
            show::label(&fleet.instances[oldest])
        );
        fleet.release(oldest);
    }
}

fn no_manifest() {
    println!("console: this boot has no manifest, so no containers");
}
