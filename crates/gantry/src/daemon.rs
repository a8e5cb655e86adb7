//! `gantry serve`: bind, open the store, start the printers, serve until a signal, then stop
//! in order (web, printers, database) so nothing is left half-written.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::{Access, Binder, Peer, Scope};
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
    access: Arc<Access>,
    pub cloud: Arc<crate::cloud::CloudService<Manager>>,
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

        // Loopback first, whatever the settings say: a port in use fails before anything else.
        let (binder, incoming) = Binder::bind(location.serve_port(), Scope::Loopback)
            .await
            .map_err(|e| bind_error(location.serve_port(), e))?;
        // `--port 0` lets the system choose; from here on, the port is the one actually bound.
        let port = binder.port();

        let store = Store::open(&data_dir.join("gantry.db")).await?;
        // Applies the stored access settings: may rebind to every interface, load TLS.
        let access = Arc::new(Access::start(store.clone(), &data_dir, binder).await?);
        let addresses = access.binder().addresses().await;
        for job in store.interrupt_orphaned_jobs().await? {
            tracing::warn!(
                job = job.id,
                line = job.acked_line,
                "a print was cut short by a crash; it can be resumed"
            );
        }
        let files = crate::files::FileLibrary::open(data_dir.join("files"), store.clone())
            .with_context(|| format!("cannot open the file library in {}", data_dir.display()))?;
        let manager = Manager::new(store.clone(), files);
        let (stop, stopping) = watch::channel(false);
        let info = Arc::new(ServerInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            port,
            addresses: addresses.clone(),
            data_dir: data_dir.clone(),
            started_at: crate::store::now(),
        });
        let cloud =
            crate::cloud::CloudService::start(store.clone(), manager.clone(), data_dir.clone())
                .await
                .context("cannot start the cloud link")?;
        access.set_owner_verifier(Some(Arc::new(crate::cloud::owner::CloudOwner::new(
            store.clone(),
            cloud.linked_flag(),
        ))));
        let api_keys = Arc::new(crate::apikeys::ApiKeys::load(store.clone()).await?);
        access.set_api_key_verifier(Some(api_keys.clone()));
        let app = web::router(AppState {
            manager: manager.clone(),
            info,
            stopping: stopping.clone(),
            access: access.clone(),
            cloud: cloud.clone(),
            api_keys,
        });
        // One server for the daemon's life; the sockets feeding it can change (external access).
        let app = app.into_make_service_with_connect_info::<Peer>();
        let mut server_stopping = stopping.clone();
        let servers = vec![tokio::spawn(async move {
            axum::serve(incoming, app)
                .with_graceful_shutdown(async move {
                    let _ = server_stopping.wait_for(|stop| *stop).await;
                })
                .await
        })];
        let daemon = Daemon {
            port,
            addresses,
            manager,
            data_dir,
            store,
            access,
            cloud,
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
        self.access.close().await;
        let _ = self.stop.send(true);
        for server in self.servers {
            match server.await {
                Ok(Err(e)) => tracing::error!(error = %e, "the web server failed"),
                Err(e) => tracing::error!(error = %e, "the web server task failed"),
                Ok(Ok(())) => {}
            }
        }
        // The links first: they report on the printers, which stop next.
        self.cloud.shutdown().await;
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
    if !args.no_discovery {
        manager.start_discovery();
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
                identity: None,
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

/// A port in use gets advice; anything else is reported as is.
fn bind_error(port: u16, error: io::Error) -> anyhow::Error {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    if error.kind() == io::ErrorKind::AddrInUse {
        in_use(address, error)
    } else {
        anyhow::Error::new(error).context(format!("cannot listen on {address}"))
    }
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
