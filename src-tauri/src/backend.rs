//! Where the Gantry service runs for this tray: in this process (the usual case), or in a
//! daemon that already owned the port when the tray started (then the tray is its client).

use std::path::{Path, PathBuf};

use gantry::cli::ServeArgs;
use gantry::daemon::Daemon;
use gantry::location::Location;
use gantry::manager::PrinterView;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::remote;

/// A change in the printers, from either kind of backend.
#[derive(Debug)]
pub enum Update {
    /// The whole list; printers missing from it are gone.
    Snapshot(Vec<PrinterView>),
    /// One printer changed (or appeared). Boxed: a view is large and most updates are these.
    Printer(Box<PrinterView>),
}

pub enum Backend {
    /// The service runs on this process's tokio runtime; quitting stops it.
    InProcess { daemon: Daemon, data_dir: PathBuf },
    /// Another process serves this port; quitting the tray leaves it running.
    Attached { port: u16, data_dir: PathBuf },
}

impl Backend {
    /// Attaches to a Gantry already serving this data directory or port; otherwise starts the
    /// service here. Printer changes go to `updates` from then on.
    pub async fn start(
        location: &Location,
        serve: &ServeArgs,
        updates: mpsc::Sender<Update>,
    ) -> anyhow::Result<Backend> {
        // The data directory's own daemon first (it may use another port), then the port.
        let mut candidates = vec![location.client_port(), location.serve_port()];
        candidates.dedup();
        for port in candidates {
            if let Some(backend) = Self::attach(port, &updates).await {
                return Ok(backend);
            }
        }
        match Daemon::start(location, serve).await {
            Ok(daemon) => {
                tokio::spawn(forward(daemon.manager.clone(), updates));
                Ok(Backend::InProcess {
                    daemon,
                    data_dir: location.data_dir(),
                })
            }
            // Lost a race with a daemon starting at the same moment: attach to it instead.
            Err(e) => match Self::attach(location.serve_port(), &updates).await {
                Some(backend) => Ok(backend),
                None => Err(e),
            },
        }
    }

    async fn attach(port: u16, updates: &mpsc::Sender<Update>) -> Option<Backend> {
        let info = remote::probe(port).await?;
        tracing::info!(
            port,
            pid = info.pid,
            version = %info.version,
            "a Gantry is already running; the tray attaches to it"
        );
        tokio::spawn(remote::follow(port, updates.clone()));
        Some(Backend::Attached {
            port,
            data_dir: info.data_dir,
        })
    }

    pub fn port(&self) -> u16 {
        match self {
            Backend::InProcess { daemon, .. } => daemon.port,
            Backend::Attached { port, .. } => *port,
        }
    }

    /// The service's data directory (the attached daemon's own, which may differ from ours).
    pub fn data_dir(&self) -> &Path {
        match self {
            Backend::InProcess { data_dir, .. } | Backend::Attached { data_dir, .. } => data_dir,
        }
    }

    /// Whether quitting the tray stops the printers.
    pub fn runs_here(&self) -> bool {
        matches!(self, Backend::InProcess { .. })
    }

    /// The dashboard's address. `localhost` rather than an IP: it is the name the dashboard's
    /// host check and the browser's secure-context rules both treat as local.
    pub fn dashboard_url(&self) -> String {
        format!("http://localhost:{}/", self.port())
    }

    /// Stops the in-process service in order (web, printers, database); an attached daemon
    /// is left alone.
    pub async fn stop(self) {
        if let Backend::InProcess { daemon, .. } = self {
            if let Err(e) = daemon.stop().await {
                tracing::error!(error = %e, "the service did not stop cleanly");
            }
        }
    }
}

/// Feeds the in-process manager's changes to the tray: a snapshot, then one message per
/// change; a fresh snapshot whenever the tray fell behind.
async fn forward(manager: std::sync::Arc<gantry::manager::Manager>, updates: mpsc::Sender<Update>) {
    // Subscribe before the snapshot, so no change falls between the two.
    let mut changes = manager.subscribe();
    if updates
        .send(Update::Snapshot(manager.printers()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let update = match changes.recv().await {
            Ok(printer) => Update::Printer(Box::new(printer)),
            Err(RecvError::Lagged(_)) => Update::Snapshot(manager.printers()),
            Err(RecvError::Closed) => return,
        };
        if updates.send(update).await.is_err() {
            return;
        }
    }
}
