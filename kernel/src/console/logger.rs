//! The `log` backend: `[hart N] LEVEL message` lines on the console, filtered by level.

use log::{LevelFilter, Log, Metadata, Record};

struct Console;

static LOGGER: Console = Console;

impl Log for Console {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::println!(
                "[hart {}] {:<5} {}",
                crate::arch::hart_id(),
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the backend with `level` (from `log=LEVEL` in the boot arguments).
pub fn init(level: LevelFilter) {
    // A second call keeps the first logger, which is the same one.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// The level `log=LEVEL` in `bootargs` asks for, `Info` by default.
pub fn level_from(bootargs: &str) -> LevelFilter {
    bootargs
        .split_whitespace()
        .find_map(|arg| arg.strip_prefix("log="))
        .and_then(|level| level.parse().ok())
        .unwrap_or(LevelFilter::Info)
}
