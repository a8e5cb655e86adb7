//! Opening things outside the app: the dashboard in the system browser, a folder in the
//! file manager. Both start another program, so they run off the main thread.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Opens `url` in the system browser (`$BROWSER` first on Linux, as `webbrowser` does).
pub fn browser(url: String) {
    tauri::async_runtime::spawn_blocking(move || match webbrowser::open(&url) {
        Ok(()) => tracing::info!(%url, "opened the dashboard"),
        Err(e) => tracing::error!(%url, error = %e, "cannot open the browser"),
    });
}

/// The address of one printer on the dashboard.
pub fn printer_url(dashboard: &str, printer_id: &str) -> String {
    format!("{dashboard}#printer-{printer_id}")
}

/// Opens a folder in the platform's file manager, creating it first so there is something
/// to show even before the first log line is written.
pub fn folder(path: PathBuf) {
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = std::fs::create_dir_all(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot create the folder");
        }
        match file_manager(&path).status() {
            Ok(status) if status.success() => {
                tracing::info!(path = %path.display(), "opened the folder")
            }
            Ok(status) => {
                tracing::warn!(path = %path.display(), %status, "the file manager failed")
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot start the file manager")
            }
        }
    });
}

fn file_manager(path: &Path) -> Command {
    let program = if cfg!(windows) {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut command = Command::new(program);
    command.arg(path);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_url_is_an_anchor_on_the_dashboard() {
        assert_eq!(
            printer_url("http://localhost:8008/", "3"),
            "http://localhost:8008/#printer-3"
        );
    }
}
