//! Logs go to stderr and to a daily-rotated file in `<data dir>/logs`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// How many daily log files to keep.
const KEEP_FILES: usize = 7;

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("GANTRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to stderr only: for the short-lived client subcommands.
pub fn init_stderr() {
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
}

/// Logs to stderr and to the rotating file. Keep the guard alive: dropping it flushes the file.
pub fn init_daemon(data_dir: &Path) -> anyhow::Result<WorkerGuard> {
    let dir = data_dir.join("logs");
    std::fs::create_dir_all(&dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("gantry")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(&dir)?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(file))
        .try_init();
    Ok(guard)
}
