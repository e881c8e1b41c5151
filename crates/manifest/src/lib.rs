//! The container manifest: which containers the root server starts, and
//! which programs run in them.
//!
//! The manifest is a text boot module, one directive per line:
//!
//! ```text
//! # comments start with '#'; blank lines are ignored; leading whitespace is ignored
//! container alpha            # starts a container: name is 1-15 chars of [a-z0-9_-], unique
//! mode ipc                   # ipc | direct | sci | sci-sticky   (default ipc); several
//!                            # modes start one copy per mode (see below)
//! memory 16M                 # quota: bytes, optional K, M or G suffix, 1M to 4G (default 16M)
//! files alpha-files          # boot module holding the cpio archive (default: an empty tree)
//! threads 16                 # limit on app threads/processes, 1 to 1024 (default 32)
//! slots 64                   # capability slots of its server, 16 to 4096 (default 256)
//! env HOME=/                 # environment for every program of this container (repeatable)
//! run /bin/hello a "b c"     # start a program, wait for it to end (repeatable)
//! spawn /bin/worker          # start a program without waiting
//! expect 0                   # exit status the previous run/spawn must end with;
//!                            # or `expect signal 11` for killed by a signal,
//!                            # or `expect refused` for not started (a limit)
//! ```
//!
//! Every directive after a `container` line belongs to that container, up
//! to the next `container` line. Words are split as described in
//! [`words`]: whitespace separates, double quotes group (with `\"` and
//! `\\` inside), and a `#` starting a word begins a comment. A program's
//! first word is its absolute path, which is also its `argv[0]`; a line
//! has at most 32 arguments and 4096 bytes. `mode`, `memory`, `files`,
//! `threads` and `slots` may each appear once per container.
//!
//! Design and invariants: [`parse`] never fails as a whole and never
//! panics. It returns every container it could read completely and one
//! [`ManifestError`] per bad line, naming the line and the reason. A
//! container with any bad line is skipped entirely (starting half a
//! container would be worse than not starting it), while the others are
//! kept. A line before the first `container` belongs to no container and
//! is always an error, and so is a second container with the same name
//! (that one is skipped; the first is kept).
//!
//! A `mode` line naming several modes (`mode ipc direct sci sci-sticky`)
//! makes one container per mode with the same programs and files, for
//! running one suite under every placement: the first keeps the name, the
//! others are named `<name>-<mode>` (`alpha-direct`, `alpha-sci`, ...).
//!
//! [`ContainerSpec::to_text`] writes a container back as manifest text
//! (see [`text`]).

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod text;
mod values;
pub mod words;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

pub use values::{
    MAX_ARGS, MAX_MEMORY, MAX_MODULE_NAME_LEN, MAX_NAME_LEN, MAX_SLOTS, MAX_THREADS, MIN_MEMORY,
    MIN_SLOTS,
};

/// Longest accepted line, in bytes (without the newline).
pub const MAX_LINE_LEN: usize = 4096;
/// Defaults for a container that does not say.
pub const DEFAULT_MEMORY: u64 = 16 << 20;
pub const DEFAULT_THREADS: u32 = 32;
pub const DEFAULT_SLOTS: u32 = 256;

/// Where a container's system calls run (see the design brief).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A per-container user-mode syscall server, reached by IPC.
    #[default]
    Ipc,
    /// In the kernel, on the full kernel page table.
    Direct,
    /// In the kernel, on a restricted page table filled on demand and
    /// emptied at every syscall exit.
    Sci,
    /// Like `Sci`, but faulted-in pages stay mapped between syscalls.
    SciSticky,
}

impl Mode {
    /// All modes, in the order the manifest documentation lists them.
    pub const ALL: [Mode; 4] = [Mode::Ipc, Mode::Direct, Mode::Sci, Mode::SciSticky];

    /// The manifest spelling.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Ipc => "ipc",
            Mode::Direct => "direct",
            Mode::Sci => "sci",
            Mode::SciSticky => "sci-sticky",
        }
    }

    /// The mode spelled `name`, if any.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

/// The error of `Mode::from_str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownMode;

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(name: &str) -> Result<Mode, UnknownMode> {
        Mode::parse(name).ok_or(UnknownMode)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a program is expected to end (for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expect {
    /// `expect N`: exits with status N (0 to 255).
    Exit(i32),
    /// `expect signal N`: killed by signal N (1 to 64).
    Signal(i32),
    /// `expect refused`: not started at all, because a limit (threads,
    /// memory, capability slots) refused it.
    Refused,
}

/// One `run` or `spawn` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The absolute path of the program (also `argv[0]`).
    pub path: String,
    /// All arguments, `argv[0]` included.
    pub argv: Vec<String>,
    /// `run` (true: wait for it to end) or `spawn` (false).
    pub wait: bool,
    pub expect: Option<Expect>,
}

/// One container, completely and correctly described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub mode: Mode,
    pub memory_bytes: u64,
    /// The boot module holding the container's cpio archive.
    pub files: Option<String>,
    pub threads: u32,
    /// Capability slots of the syscall server's table (its apps' spaces,
    /// tables and threads live there).
    pub slots: u32,
    /// `KEY=VALUE` entries, in manifest order.
    pub env: Vec<String>,
    /// Programs, in manifest order.
    pub programs: Vec<Program>,
    /// Line number of the `container` line (1-based).
    pub line: usize,
}

impl ContainerSpec {
    /// A container with every default.
    pub fn new(name: &str, line: usize) -> Self {
        ContainerSpec {
            name: name.to_string(),
            mode: Mode::default(),
            memory_bytes: DEFAULT_MEMORY,
            files: None,
            threads: DEFAULT_THREADS,
            slots: DEFAULT_SLOTS,
            env: Vec::new(),
            programs: Vec::new(),
            line,
        }
    }
}

/// One bad line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line number.
    pub line: usize,
    /// The container the line belongs to (and that is therefore skipped),
    /// if it has a valid name.
    pub container: Option<String>,
    pub reason: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The result of parsing: the good containers and every error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub containers: Vec<ContainerSpec>,
    pub errors: Vec<ManifestError>,
}

impl Manifest {
    /// The container called `name`, if it was parsed.
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.containers.iter().find(|spec| spec.name == name)
    }
}

/// Parses a manifest (see the crate documentation).
pub fn parse(text: &str) -> Manifest {
    parse_bytes(text.as_bytes())
}

/// Parses a manifest given as bytes; a line that is not valid UTF-8 is an
/// error of its container.
pub fn parse_bytes(bytes: &[u8]) -> Manifest {
    let mut parser = Parser::default();
    for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
        parser.line(index.saturating_add(1), line);
    }
    parser.finish()
}

/// Which single-valued directives a container has already given.
#[derive(Default)]
struct Seen {
    mode: bool,
    memory: bool,
    files: bool,
    threads: bool,
    slots: bool,
}

/// The container being read.
struct Current {
    spec: ContainerSpec,
    /// The name errors are attributed to (None for an invalid name).
    name: Option<String>,
    /// False once any of its lines was bad: it will be skipped.
    valid: bool,
    seen: Seen,
    /// Further modes of a `mode` line naming several: one copy each.
    more_modes: Vec<Mode>,
    /// The line of its `container` directive.
    line: usize,
}

#[derive(Default)]
struct Parser {
    manifest: Manifest,
    current: Option<Current>,
    names: Vec<String>,
}

impl Parser {
    fn line(&mut self, number: usize, bytes: &[u8]) {
        if bytes.len() > MAX_LINE_LEN {
            return self.error(number, format!("line longer than {MAX_LINE_LEN} bytes"));
        }
        let Ok(text) = core::str::from_utf8(bytes) else {
            return self.error(number, "line is not valid UTF-8".to_string());
        };
        let words = match words::split_words(text) {
            Ok(words) => words,
            Err(words::WordsError::UnterminatedQuote) => {
                return self.error(number, "unterminated quote".to_string())
            }
            Err(words::WordsError::TooManyWords) => {
                return self.error(number, format!("too many arguments (at most {MAX_ARGS})"))
            }
        };
        let Some((directive, args)) = words.split_first() else {
            return;
        };
        if directive == "container" {
            return self.start_container(number, args);
        }
        let result = match self.current.as_mut() {
            Some(current) => apply(current, directive, args),
            None if is_directive(directive) => Err(format!(
                "'{directive}' before any 'container' line (it belongs to no container)"
            )),
            None => Err(unknown_directive(directive)),
        };
        if let Err(reason) = result {
            self.error(number, reason);
        }
    }

    /// Ends the current container and starts the next one.
    fn start_container(&mut self, number: usize, args: &[String]) {
        self.end_container();
        let name = values::single("container", args).and_then(values::container_name);
        let (name, reason) = match name {
            Ok(name) if self.names.contains(&name) => {
                let reason = format!("duplicate container name {}", values::quoted(&name));
                (Some(name), Some(reason))
            }
            Ok(name) => (Some(name), None),
            Err(reason) => (None, Some(reason)),
        };
        if let Some(name) = &name {
            self.names.push(name.clone());
        }
        self.current = Some(Current {
            spec: ContainerSpec::new(name.as_deref().unwrap_or(""), number),
            name,
            valid: true,
            seen: Seen::default(),
            more_modes: Vec::new(),
            line: number,
        });
        if let Some(reason) = reason {
            self.error(number, reason);
        }
    }

    /// Records an error against the current container (which is skipped).
    fn error(&mut self, line: usize, reason: String) {
        let container = self.current.as_mut().and_then(|current| {
            current.valid = false;
            current.name.clone()
        });
        self.manifest.errors.push(ManifestError {
            line,
            container,
            reason,
        });
    }

    fn end_container(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        if !current.valid {
            return;
        }
        let spec = current.spec;
        let mut copies = Vec::new();
        for mode in &current.more_modes {
            let name = format!("{}-{}", spec.name, mode.name());
            if self.names.contains(&name) {
                let reason = format!(
                    "the copy for mode {mode} would be called {}, a name already used",
                    values::quoted(&name)
                );
                self.manifest.errors.push(ManifestError {
                    line: current.line,
                    container: Some(spec.name.clone()),
                    reason,
                });
                continue;
            }
            self.names.push(name.clone());
            let mut copy = spec.clone();
            copy.name = name;
            copy.mode = *mode;
            copies.push(copy);
        }
        self.manifest.containers.push(spec);
        self.manifest.containers.append(&mut copies);
    }

    fn finish(mut self) -> Manifest {
        self.end_container();
        self.manifest
    }
}

const DIRECTIVES: [&str; 10] = [
    "container",
    "mode",
    "memory",
    "files",
    "threads",
    "slots",
    "env",
    "run",
    "spawn",
    "expect",
];

fn is_directive(word: &str) -> bool {
    DIRECTIVES.contains(&word)
}

fn unknown_directive(word: &str) -> String {
    format!(
        "unknown directive {} (expected container, mode, memory, files, threads, slots, env, run, spawn or expect)",
        values::quoted(word)
    )
}

/// Applies one directive (other than `container`) to `current`.
fn apply(current: &mut Current, directive: &str, args: &[String]) -> Result<(), String> {
    let spec = &mut current.spec;
    let seen = &mut current.seen;
    match directive {
        "mode" => once(&mut seen.mode, directive)?,
        "memory" => once(&mut seen.memory, directive)?,
        "files" => once(&mut seen.files, directive)?,
        "threads" => once(&mut seen.threads, directive)?,
        "slots" => once(&mut seen.slots, directive)?,
        _ => {}
    }
    match directive {
        "mode" => {
            let (first, more) = values::modes(args)?;
            spec.mode = first;
            current.more_modes = more;
        }
        "memory" => spec.memory_bytes = values::single(directive, args).and_then(values::memory)?,
        "files" => {
            let name = values::single(directive, args).and_then(values::module_name)?;
            spec.files = Some(name);
        }
        "threads" => spec.threads = values::single(directive, args).and_then(values::threads)?,
        "slots" => spec.slots = values::single(directive, args).and_then(values::slots)?,
        "env" => {
            let entry = values::single(directive, args).and_then(values::env)?;
            spec.env.push(entry);
        }
        "run" | "spawn" => spec.programs.push(program(directive, args)?),
        "expect" => set_expect(spec, args)?,
        _ => return Err(unknown_directive(directive)),
    }
    Ok(())
}

/// Errors if a single-valued directive was already given.
fn once(seen: &mut bool, directive: &str) -> Result<(), String> {
    if core::mem::replace(seen, true) {
        return Err(format!("'{directive}' given twice for this container"));
    }
    Ok(())
}

fn program(directive: &str, args: &[String]) -> Result<Program, String> {
    let argv = values::program_args(directive, args)?;
    Ok(Program {
        path: argv.first().cloned().unwrap_or_default(),
        argv,
        wait: directive == "run",
        expect: None,
    })
}

fn set_expect(spec: &mut ContainerSpec, args: &[String]) -> Result<(), String> {
    let Some(program) = spec.programs.last_mut() else {
        return Err("'expect' without a preceding run or spawn".to_string());
    };
    if program.expect.is_some() {
        return Err(format!(
            "program {} already has an 'expect'",
            values::quoted(&program.path)
        ));
    }
    program.expect = Some(values::expect(args)?);
    Ok(())
}
