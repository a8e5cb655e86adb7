//! `gantry serve`: bind, open the store, start the printers, serve until a signal, then stop
//! in order (web, printers, database) so nothing is left half-written.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cli::{PortArg, ServeArgs};
use crate::location::{Location, RuntimeInfo};
use crate::manager::{Manager, PortSpec};
use crate::store::Store;
use crate::web::{self, AppState, ServerInfo};

/// `gantry serve`: runs the daemon until SIGINT or SIGTERM.
pub async fn serve(location: &Location, args: &ServeArgs) -> anyhow::Result<()> {
    let data_dir = location.data_dir();
    ensure_writable(&data_dir)?;
    let _log_guard = crate::logging::init_daemon(&data_dir)?;
    let daemon = Daemon::start(location, args).await?;
    shutdown_signal().await;
    tracing::info!("stopping");
    daemon.stop().await
}

/// A running daemon: the web server, the printers and the store. The tray app runs one
/// in-process; `gantry serve` runs one until a signal.
pub struct Daemon {
    pub port: u16,
    pub addresses: Vec<SocketAddr>,
    pub manager: Arc<Manager>,
    data_dir: PathBuf,
    store: Store,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<io::Result<()>>>,
}

impl Daemon {
    /// Binds, opens the store and starts the printers. Fails, without leaving anything
    /// running, when the port is taken, the data directory is unusable or the store is damaged.
    pub async fn start(location: &Location, args: &ServeArgs) -> anyhow::Result<Daemon> {
        let data_dir = location.data_dir();
        ensure_writable(&data_dir)?;
        let ports: Vec<PortArg> = args
            .serial
            .iter()
            .map(|text| text.parse::<PortArg>())
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;

        let listeners = bind_loopback(location.serve_port()).await?;
        let addresses: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        // `--port 0` lets the system choose; from here on, the port is the one actually bound.
        let port = addresses
            .first()
            .map_or(location.serve_port(), SocketAddr::port);

        let store = Store::open(&data_dir.join("gantry.db")).await?;
        let manager = Manager::new(store.clone());
        let (stop, stopping) = watch::channel(false);
        let info = Arc::new(ServerInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            port,
            addresses: addresses.clone(),
            data_dir: data_dir.clone(),
            started_at: crate::store::now(),
        });
        let app = web::router(AppState {
            manager: manager.clone(),
            info,
            stopping: stopping.clone(),
        });
        let servers = listeners
            .into_iter()
            .map(|listener| {
                let app = app
                    .clone()
                    .into_make_service_with_connect_info::<SocketAddr>();
                let mut stopping = stopping.clone();
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopping.wait_for(|stop| *stop).await;
                        })
                        .await
                })
            })
            .collect();
        let daemon = Daemon {
            port,
            addresses,
            manager,
            data_dir,
            store,
            stop,
            servers,
        };

        let shown = daemon.urls().join(" ");
        tracing::info!(addresses = %shown, data_dir = %daemon.data_dir.display(), "Gantry is serving");
        if let Err(e) = daemon
            .store
            .audit("daemon.started", None, None, Some(&shown))
            .await
        {
            tracing::warn!(error = %e, "cannot write the audit log");
        }
        if let Err(e) = start_printers(&daemon.manager, &daemon.data_dir, args, &ports).await {
            daemon.stop().await?;
            return Err(e.context("cannot start the printers"));
        }
        RuntimeInfo {
            pid: std::process::id(),
            port,
            addresses: daemon.addresses.clone(),
        }
        .write(&daemon.data_dir)
        .with_context(|| {
            format!(
                "cannot write the runtime file in {}",
                daemon.data_dir.display()
            )
        })?;
        Ok(daemon)
    }

    pub fn urls(&self) -> Vec<String> {
        self.addresses
            .iter()
            .map(|a| format!("http://{a}"))
            .collect()
    }

    /// Stops in order — web clients, printers, database — so nothing is left half-written.
    pub async fn stop(self) -> anyhow::Result<()> {
        RuntimeInfo::remove(&self.data_dir);
        let _ = self.stop.send(true);
        for server in self.servers {
            match server.await {
                Ok(Err(e)) => tracing::error!(error = %e, "the web server failed"),
                Err(e) => tracing::error!(error = %e, "the web server task failed"),
                Ok(Ok(())) => {}
            }
        }
        self.manager.shutdown().await;
        if let Err(e) = self.store.audit("daemon.stopped", None, None, None).await {
            tracing::warn!(error = %e, "cannot write the audit log");
        }
        self.store.close().await;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

async fn start_printers(
    manager: &Arc<Manager>,
    data_dir: &Path,
    args: &ServeArgs,
    ports: &[PortArg],
) -> anyhow::Result<()> {
    if args.simulate > 0 {
        manager
            .start_simulators(&data_dir.join("sim"), args.simulate)
            .await?;
    }
    for port in ports {
        let default_name = format!(
            "Printer on {}",
            port.path.file_name().map_or_else(
                || port.path.display().to_string(),
                |n| n.to_string_lossy().into()
            )
        );
        manager
            .add_port(PortSpec {
                path: port.path.clone(),
                baud: port.baud,
                default_name,
            })
            .await?;
    }
    Ok(())
}

/// Fails early, with a message a user can act on, when the data directory cannot be written.
fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    let advice = "choose another with --data-dir or GANTRY_DATA_DIR, or fix its permissions";
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the data directory {} ({advice})",
            dir.display()
        )
    })?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    match std::fs::write(&probe, b"gantry") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => bail!(
            "the data directory {} is not writable: {e} ({advice})",
            dir.display()
        ),
    }
}

/// Loopback only, IPv4 and IPv6. A machine without IPv6 gets IPv4 alone; a port in use is fatal.
async fn bind_loopback(port: u16) -> anyhow::Result<Vec<TcpListener>> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let first = bind(v4).await?;
    // With port 0 the system picks a port; serve IPv6 on the same one.
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6).await {
        Ok(listener) => listeners.push(listener),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(in_use(v6, e)),
        Err(e) => tracing::warn!(error = %e, "IPv6 loopback unavailable; serving on IPv4 only"),
    }
    Ok(listeners)
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            in_use(address, e)
        } else {
            anyhow::Error::new(e).context(format!("cannot listen on {address}"))
        }
    })
}

fn in_use(address: SocketAddr, error: io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot listen on {address}: port {} is already in use ({error}). Another Gantry or another \
         program is using it — `gantry status` shows a running Gantry; choose another port with --port \
         or GANTRY_PORT",
        address.port()
    )
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
