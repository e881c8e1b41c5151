//! The logic of the root server's interactive console, apart from any
//! I/O, so that it builds for the host and is tested there.
//!
//! After the manifest's containers have run, the root server
//! (`servers/root/src/console.rs`) reads lines from the serial port, or
//! from the `root.script=` option of the kernel command line, and runs
//! the commands this crate parses:
//!
//! ```text
//!  serial byte -> edit::LineEditor::feed -> echo / erase / a whole line
//!  whole line  -> command::parse         -> Command, or an error that
//!                                           suggests what was meant
//!  root.script -> script::lines          -> the same lines, no echo
//! ```
//!
//! [`suggest`] finds the nearest word (command or container name) to a
//! mistyped one, [`outcome`] words how a program ended and what an
//! exploit demonstration's ending means in each mode, and [`table`] lines
//! columns up. See `docs/console.md` for the commands as a user sees them.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod command;
pub mod edit;
pub mod outcome;
pub mod script;
pub mod suggest;
pub mod table;

pub use command::{parse, Command, ParseError, COMMANDS};
pub use edit::{Action, LineEditor};
pub use outcome::{Demo, Outcome};

/// The prompt printed before each line.
pub const PROMPT: &str = "bulkhead> ";
