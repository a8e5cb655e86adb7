//! The printer manager: starts a driver thread per printer, keeps the store in step with
//! what the printers report, and fans live status out to web clients.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use printer::driver::{Command, Driver, DriverConfig, State, Status};
use printer::sim::{SimConfig, SimPrinter};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::store::{NewPrinter, PrinterRow, Store, StoreError};

/// Enough for a burst of updates from many printers while a web client is briefly slow;
/// a client that falls further behind is sent a fresh snapshot instead.
const UPDATE_BUFFER: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the simulated printer {index}: {source}")]
    Simulator { index: u32, source: std::io::Error },
    #[error("cannot start the printer thread for {port}: {source}")]
    Driver {
        port: String,
        source: printer::driver::DriverError,
    },
    #[error("there is no printer with id {0}")]
    UnknownPrinter(i64),
    #[error("printer {0} is disconnected")]
    Disconnected(i64),
}

/// A printer as the dashboard and the API show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrinterView {
    pub id: i64,
    pub identity: String,
    pub name: String,
    pub port: String,
    pub baud: Option<i64>,
    pub state: State,
    pub error: Option<String>,
    pub firmware: Option<FirmwareView>,
    pub temperatures: TemperaturesView,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirmwareView {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub machine_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TemperaturesView {
    pub tools: Vec<HeaterView>,
    pub bed: Option<HeaterView>,
    pub chamber: Option<HeaterView>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct HeaterView {
    pub actual: f64,
    pub target: Option<f64>,
}

impl From<&marlin::Heater> for HeaterView {
    fn from(heater: &marlin::Heater) -> HeaterView {
        HeaterView {
            actual: heater.actual,
            target: heater.target,
        }
    }
}

impl PrinterView {
    fn new(row: &PrinterRow, status: &Status) -> PrinterView {
        let temps = &status.temperatures;
        PrinterView {
            id: row.id,
            identity: row.identity.clone(),
            name: row.name.clone(),
            port: row.port.clone(),
            baud: row.baud,
            state: status.state,
            error: status.error.clone(),
            firmware: status.firmware.as_ref().map(|f| FirmwareView {
                name: f.name.clone(),
                uuid: f.uuid.clone(),
                machine_type: f.machine_type.clone(),
            }),
            temperatures: TemperaturesView {
                tools: temps.tools.iter().map(HeaterView::from).collect(),
                bed: temps.bed.as_ref().map(HeaterView::from),
                chamber: temps.chamber.as_ref().map(HeaterView::from),
            },
        }
    }
}

/// A port to drive, and what to call the printer on first sight.
#[derive(Debug, Clone)]
pub struct PortSpec {
    pub path: PathBuf,
    pub baud: u32,
    pub default_name: String,
}

impl PortSpec {
    /// A port named by the user or by a simulator: its path is its identity, which is stable
    /// for `/dev/serial/by-path/...` links and for the simulators' links in the data dir.
    fn identity(&self) -> String {
        format!("port:{}", self.path.display())
    }
}

struct Managed {
    row: Mutex<PrinterRow>,
    status: watch::Receiver<Status>,
    driver: Mutex<Option<Driver>>,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl Managed {
    fn view(&self) -> PrinterView {
        let row = self.row.lock().unwrap_or_else(PoisonError::into_inner);
        PrinterView::new(&row, &self.status.borrow())
    }
}

pub struct Manager {
    store: Store,
    printers: Mutex<Vec<Arc<Managed>>>,
    simulators: Mutex<Vec<SimPrinter>>,
    updates: broadcast::Sender<PrinterView>,
}

impl Manager {
    pub fn new(store: Store) -> Arc<Manager> {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Arc::new(Manager {
            store,
            printers: Mutex::new(Vec::new()),
            simulators: Mutex::new(Vec::new()),
            updates,
        })
    }

    /// Live printer updates: one message per change of any printer.
    pub fn subscribe(&self) -> broadcast::Receiver<PrinterView> {
        self.updates.subscribe()
    }

    pub fn printers(&self) -> Vec<PrinterView> {
        self.entries().iter().map(|p| p.view()).collect()
    }

    pub fn printer(&self, id: i64) -> Option<PrinterView> {
        self.entries().iter().map(|p| p.view()).find(|p| p.id == id)
    }

    /// Hands a command to the printer's thread; the thread decides whether the printer may take it now.
    pub fn command(&self, id: i64, command: Command) -> Result<(), ManagerError> {
        let entry = self
            .entries()
            .into_iter()
            .find(|p| p.row.lock().unwrap_or_else(PoisonError::into_inner).id == id)
            .ok_or(ManagerError::UnknownPrinter(id))?;
        let driver = entry.driver.lock().unwrap_or_else(PoisonError::into_inner);
        let driver = driver.as_ref().ok_or(ManagerError::Disconnected(id))?;
        driver
            .send(command)
            .map_err(|_| ManagerError::Disconnected(id))
    }

    fn entries(&self) -> Vec<Arc<Managed>> {
        self.printers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts `count` simulated printers whose ports are linked at stable paths under
    /// `dir`, and connects to each through the same path as a real printer.
    pub async fn start_simulators(
        self: &Arc<Self>,
        dir: &Path,
        count: u32,
    ) -> Result<(), ManagerError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| ManagerError::Simulator { index: 0, source })?;
        for index in 0..count {
            let link = dir.join(format!("printer-{index}"));
            let config = SimConfig {
                name: format!("Gantry Sim {}", index + 1),
                uuid: simulator_uuid(index),
                link: Some(link.clone()),
                ..SimConfig::default()
            };
            let sim = SimPrinter::spawn(config)
                .map_err(|source| ManagerError::Simulator { index, source })?;
            self.simulators
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sim);
            let spec = PortSpec {
                path: link,
                baud: crate::cli::DEFAULT_BAUD,
                default_name: format!("Simulated printer {}", index + 1),
            };
            self.add_port(spec).await?;
        }
        Ok(())
    }

    /// Registers the printer on `spec` and starts its driver thread.
    pub async fn add_port(self: &Arc<Self>, spec: PortSpec) -> Result<i64, ManagerError> {
        let identity = spec.identity();
        let port = spec.path.display().to_string();
        let row = self
            .store
            .upsert_printer(&NewPrinter {
                identity: &identity,
                default_name: &spec.default_name,
                port: &port,
                baud: Some(spec.baud),
                profile: None,
            })
            .await?;
        let id = row.id;
        let driver = Driver::spawn(DriverConfig::new(&spec.path, spec.baud)).map_err(|source| {
            ManagerError::Driver {
                port: port.clone(),
                source,
            }
        })?;
        let managed = Arc::new(Managed {
            row: Mutex::new(row),
            status: driver.status(),
            driver: Mutex::new(Some(driver)),
            watcher: Mutex::new(None),
        });
        let watcher = tokio::spawn(watch_printer(self.clone(), managed.clone()));
        *managed
            .watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(watcher);
        self.printers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(managed);
        tracing::info!(id, %identity, %port, "printer added");
        Ok(id)
    }

    /// Disconnects every printer (waiting for each thread to close its port) and stops the simulators.
    pub async fn shutdown(&self) {
        let entries =
            std::mem::take(&mut *self.printers.lock().unwrap_or_else(PoisonError::into_inner));
        let drivers: Vec<Driver> = entries
            .iter()
            .filter_map(|p| {
                p.driver
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
            })
            .collect();
        let count = drivers.len();
        if let Err(e) =
            tokio::task::spawn_blocking(move || drivers.into_iter().for_each(Driver::shutdown))
                .await
        {
            tracing::error!(error = %e, "stopping the printer threads failed");
        }
        for entry in entries {
            let watcher = entry
                .watcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(watcher) = watcher {
                let _ = watcher.await;
            }
        }
        let simulators = std::mem::take(
            &mut *self
                .simulators
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let _ =
            tokio::task::spawn_blocking(move || simulators.into_iter().for_each(SimPrinter::stop))
                .await;
        tracing::info!(printers = count, "printers disconnected");
    }
}

/// Forwards one printer's status changes to subscribers and records its firmware identity.
async fn watch_printer(manager: Arc<Manager>, managed: Arc<Managed>) {
    let mut status = managed.status.clone();
    let mut recorded_firmware = None;
    loop {
        let firmware = status.borrow_and_update().firmware.clone();
        if firmware.is_some() && firmware != recorded_firmware {
            let id = managed
                .row
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .id;
            if let Some(f) = &firmware {
                if let Err(e) = manager
                    .store
                    .record_firmware(
                        id,
                        f.name.as_deref(),
                        f.uuid.as_deref(),
                        f.machine_type.as_deref(),
                    )
                    .await
                {
                    tracing::warn!(id, error = %e, "cannot record the printer's firmware");
                }
            }
            recorded_firmware = firmware;
        }
        // No subscribers is normal (no dashboard open).
        let _ = manager.updates.send(managed.view());
        if status.changed().await.is_err() {
            break;
        }
    }
}

/// A fixed, well-formed UUID per simulator index, so that each simulated printer keeps
/// its identity across restarts like a real one.
fn simulator_uuid(index: u32) -> String {
    format!("6a7e5c1e-0000-4000-8000-{:012x}", index + 1)
}
