//! The kernel command line, parsed once at boot into [`Options`].
//!
//! Unknown options and bad values are reported on the console, never
//! silently ignored; the boot goes on with the defaults for them.

use bulkhead_cmdline::LogLevel;

/// The parsed command line.
pub type Options = bulkhead_cmdline::Options<'static>;
use spin::Once;

static OPTIONS: Once<Options> = Once::new();
static LINE: Once<&'static str> = Once::new();

/// Parses `cmdline`, installs the logger at the chosen level and returns
/// the options.
pub fn init(cmdline: &'static str) -> &'static Options {
    LINE.call_once(|| cmdline);
    let options = OPTIONS.call_once(|| bulkhead_cmdline::parse(cmdline).0);
    crate::logger::init(level_filter(options.loglevel));
    options
}

/// Prints every problem found in the command line.
pub fn report_diagnostics() {
    let line = LINE.get().copied().unwrap_or("");
    crate::println!("command line: '{line}'");
    let (_, diagnostics) = bulkhead_cmdline::parse(line);
    for d in diagnostics.iter() {
        crate::println!("command line: {d}");
    }
}

/// The options (defaults before [`init`]).
pub fn options() -> &'static Options {
    OPTIONS.call_once(Options::default)
}

fn level_filter(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}
