//! Levelled kernel logging over the serial console, through the `log` facade.
//!
//! Lines look like `[  1.234567] INFO  mm: 120 MiB usable`: uptime (once the
//! TSC is calibrated), level, and the message, which by convention starts
//! with its subsystem (`mm:`, `acpi:`). The level comes from the `loglevel=`
//! kernel command-line option; records above it are dropped before
//! formatting.

use log::{LevelFilter, Log, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let micros = crate::time::uptime_micros();
        crate::println!(
            "[{:4}.{:06}] {:5} {}",
            micros / 1_000_000,
            micros % 1_000_000,
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger at `level`.
pub fn init(level: LevelFilter) {
    // A second call (there is none) would only fail to replace the logger.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
