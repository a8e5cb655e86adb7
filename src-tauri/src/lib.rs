//! The Gantry tray app: a thin Tauri shell around the Gantry service.
//!
//! It runs the service in-process on Tauri's tokio runtime, with the same data directory
//! and port as `gantry serve` (or attaches to a daemon that already serves them), shows
//! the printers in a tray menu drawn from `tray-model`, opens the dashboard in the system
//! browser, starts at login, and notifies about printers that need a person.

mod access;
mod alerts;
mod args;
mod autostart;
mod backend;
mod cloud;
mod local_api;
mod menu;
mod open;
mod printers;
mod remote;
mod services;
mod settings;
mod shell;

use std::sync::Mutex;

use clap::Parser;
use tauri::{Manager, RunEvent};
use tracing_appender::non_blocking::WorkerGuard;

pub use args::Args;

/// Keeps the log file writer alive until the app exits, then flushes it.
struct LogGuard(Mutex<Option<WorkerGuard>>);

/// Runs the tray app until *Quit*. Exits the process.
pub fn run() {
    let args = Args::parse();
    let log_guard = match gantry::logging::init_daemon(&args.location.data_dir()) {
        Ok(guard) => Some(guard),
        Err(e) => {
            gantry::logging::init_stderr();
            tracing::warn!(error = %e, "logging to stderr only");
            None
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        autostart = args.autostart,
        "Gantry tray starting"
    );

    let app = tauri::Builder::default()
        // First, so a second launch hands over to this one before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            let at_login = Args::from_forwarded(&argv).is_some_and(|a| a.autostart);
            tracing::info!(at_login, "another launch handed over to this instance");
            if let (false, Some(shell)) = (at_login, app.try_state::<shell::Shell>()) {
                shell.open_dashboard();
            }
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(LogGuard(Mutex::new(log_guard)))
        .setup(move |app| Ok(shell::setup(app, args)?))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "the tray app cannot start");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // The app has no windows; only *Quit* ends it.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            tracing::info!("Gantry tray exiting");
            if let Some(guard) = app.try_state::<LogGuard>() {
                drop(guard.0.lock().map(|mut g| g.take()));
            }
        }
        _ => {}
    });
}
