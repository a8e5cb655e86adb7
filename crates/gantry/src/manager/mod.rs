//! The printer manager: starts a driver thread per printer, keeps the store and the job
//! journal in step with what the printers report, and fans live status out to web clients.

mod discovery;
mod jobs;
mod simulators;
mod view;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use gcode::Metadata;
use printer::driver::{
    Command, Driver, DriverConfig, JobEvents, LogLine, Refusal, SerialLog, Status,
};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::files::{FileError, FileLibrary};
use crate::store::{NewPrinter, PrinterRow, Store, StoreError};

pub use discovery::{PortStatus, PortView, SCAN_INTERVAL};
pub use jobs::{Control, Origin, SCRIPTS_SETTING};
pub use view::{
    FirmwareView, HeaterView, JobResult, JobView, LastJobView, PrinterView, TemperaturesView,
};

/// Enough for a burst of updates from many printers while a web client is briefly slow;
/// a client that falls further behind is sent a fresh snapshot instead.
const UPDATE_BUFFER: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot start the simulated printer {index}: {source}")]
    Simulator { index: u32, source: std::io::Error },
    #[error("cannot start the printer thread for {port}: {source}")]
    Driver {
        port: String,
        source: printer::driver::SpawnError,
    },
    #[error("there is no printer with id {0}")]
    UnknownPrinter(i64),
    #[error("there is no job with id {0}")]
    UnknownJob(i64),
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    NotResumable(String),
    #[error("{0}")]
    NotAPort(String),
}

/// A port to drive, and what to call the printer on first sight.
#[derive(Debug, Clone)]
pub struct PortSpec {
    pub path: PathBuf,
    pub baud: u32,
    pub default_name: String,
    /// The identity discovery worked out (USB serial or socket); `None` for a port named by
    /// the user or a simulator, whose path is its identity.
    pub identity: Option<String>,
}

impl PortSpec {
    /// Paths are stable identities for `/dev/serial/by-path/...` links and for the
    /// simulators' links in the data dir.
    fn identity(&self) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| format!("port:{}", self.path.display()))
    }
}

struct Managed {
    row: Mutex<PrinterRow>,
    status: watch::Receiver<Status>,
    log: Arc<SerialLog>,
    driver: Driver,
    /// The running job's slicer metadata, for layer and ETA.
    metadata: Mutex<Option<Arc<Metadata>>>,
    /// The last 30 minutes of temperatures, one sample a second, for the chart.
    history: Mutex<VecDeque<TemperatureSample>>,
    /// The most recent job that ended, from the journal.
    last_job: Mutex<Option<LastJobView>>,
}

/// Temperature samples kept per printer: 30 minutes at one a second.
const HISTORY_SAMPLES: usize = 30 * 60;

/// One point of the temperature chart.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TemperatureSample {
    /// Milliseconds since the Unix epoch.
    pub t: u64,
    pub tool: Option<HeaterView>,
    pub bed: Option<HeaterView>,
}

impl Managed {
    /// Records the current temperatures, at most once a second.
    fn sample(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let temps = self.status.borrow().temperatures.clone();
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if history
            .back()
            .is_some_and(|last| now.saturating_sub(last.t) < 1000)
        {
            return;
        }
        if history.len() == HISTORY_SAMPLES {
            history.pop_front();
        }
        history.push_back(TemperatureSample {
            t: now,
            tool: temps.tools.first().map(HeaterView::from),
            bed: temps.bed.as_ref().map(HeaterView::from),
        });
    }
}

impl Managed {
    fn id(&self) -> i64 {
        self.row.lock().unwrap_or_else(PoisonError::into_inner).id
    }

    fn view(&self) -> PrinterView {
        let row = self
            .row
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let metadata = self
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let last_job = self
            .last_job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        PrinterView::new(&row, &self.status.borrow(), metadata.as_deref(), last_job)
    }
}

pub struct Manager {
    store: Store,
    files: FileLibrary,
    printers: Mutex<Vec<Arc<Managed>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    simulators: Arc<simulators::Simulators>,
    ports: Mutex<discovery::Ports>,
    discovery: Mutex<Option<JoinHandle<()>>>,
    updates: broadcast::Sender<PrinterView>,
}

impl Manager {
    pub fn new(store: Store, files: FileLibrary) -> Arc<Manager> {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Arc::new(Manager {
            store,
            files,
            printers: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            simulators: Arc::default(),
            ports: Mutex::new(discovery::Ports::new()),
            discovery: Mutex::new(None),
            updates,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn files(&self) -> &FileLibrary {
        &self.files
    }

    /// Live printer updates: one message per change of any printer.
    pub fn subscribe(&self) -> broadcast::Receiver<PrinterView> {
        self.updates.subscribe()
    }

    pub fn printers(&self) -> Vec<PrinterView> {
        self.entries().iter().map(|p| p.view()).collect()
    }

    pub fn printer(&self, id: i64) -> Option<PrinterView> {
        self.entry(id).ok().map(|p| p.view())
    }

    fn entries(&self) -> Vec<Arc<Managed>> {
        self.printers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn entry(&self, id: i64) -> Result<Arc<Managed>, ManagerError> {
        self.entries()
            .into_iter()
            .find(|p| p.id() == id)
            .ok_or(ManagerError::UnknownPrinter(id))
    }

    /// Renames a printer; the name is what the dashboard, the tray and the cloud show.
    pub async fn rename(&self, id: i64, name: &str) -> Result<PrinterView, ManagerError> {
        let entry = self.entry(id)?;
        self.store.rename_printer(id, name).await?;
        entry
            .row
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .name = name.to_owned();
        let view = entry.view();
        let _ = self.updates.send(view.clone());
        Ok(view)
    }

    /// A manual G-code line for the printer; refused while printing unless it is safe then.
    pub async fn send_command(&self, id: i64, line: &str) -> Result<(), ManagerError> {
        Ok(self
            .entry(id)?
            .driver
            .request(Command::Send(line.to_owned()))
            .await?)
    }

    /// The printer's temperatures over the last 30 minutes, oldest first.
    pub fn temperature_history(&self, id: i64) -> Result<Vec<TemperatureSample>, ManagerError> {
        let entry = self.entry(id)?;
        let history = entry.history.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(history.iter().copied().collect())
    }

    /// The printer's serial lines after sequence number `after`.
    pub fn console(&self, id: i64, after: u64) -> Result<Vec<LogLine>, ManagerError> {
        Ok(self.entry(id)?.log.since(after))
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
            self.simulators
                .start(index, &link)
                .map_err(|source| ManagerError::Simulator { index, source })?;
            let spec = PortSpec {
                path: link,
                baud: crate::cli::DEFAULT_BAUD,
                default_name: format!("Simulated printer {}", index + 1),
                identity: None,
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
        if self.entry(id).is_ok() {
            // The printer came back on another port (replugged into another socket): the old
            // thread, offline since, makes way for one on the new port.
            let old = {
                let mut printers = self.printers.lock().unwrap_or_else(PoisonError::into_inner);
                let at = printers.iter().position(|p| p.id() == id);
                at.map(|i| printers.remove(i))
            };
            if let Some(old) = old {
                let _ = old.driver.send(Command::Disconnect);
            }
        }
        let last_job = self.last_ended_job(id).await;
        let (driver, events) =
            Driver::spawn(DriverConfig::new(&spec.path, spec.baud)).map_err(|source| {
                ManagerError::Driver {
                    port: port.clone(),
                    source,
                }
            })?;
        let managed = Arc::new(Managed {
            row: Mutex::new(row),
            status: driver.status(),
            log: driver.log(),
            driver,
            metadata: Mutex::new(None),
            history: Mutex::new(VecDeque::new()),
            last_job: Mutex::new(last_job),
        });
        let task = tokio::spawn(follow(self.clone(), managed.clone(), events));
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
        self.printers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(managed);
        tracing::info!(id, %identity, %port, "printer added");
        Ok(id)
    }

    /// Disconnects every printer (waiting for each thread to close its port and for its
    /// last milestones to reach the journal) and stops the simulators.
    pub async fn shutdown(&self) {
        if let Some(scan) = self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            scan.abort();
        }
        let entries =
            std::mem::take(&mut *self.printers.lock().unwrap_or_else(PoisonError::into_inner));
        let count = entries.len();
        for entry in &entries {
            let _ = entry.driver.send(Command::Disconnect);
        }
        // The follow tasks hold the last references; they end when the threads do.
        drop(entries);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            let _ = task.await;
        }
        let simulators = self.simulators.clone();
        let _ = tokio::task::spawn_blocking(move || simulators.stop_all()).await;
        tracing::info!(printers = count, "printers disconnected");
    }
}

/// Follows one printer: forwards status changes to subscribers, records its firmware identity,
/// and writes its job milestones to the journal. Ends when the printer thread does.
async fn follow(manager: Arc<Manager>, managed: Arc<Managed>, mut events: JobEvents) {
    let mut status = managed.status.clone();
    let mut recorded_firmware = None;
    let mut thread_running = true;
    loop {
        let firmware = status.borrow_and_update().firmware.clone();
        if firmware.is_some() && firmware != recorded_firmware {
            if let Some(f) = &firmware {
                let id = managed.id();
                let (name, uuid, machine) = (
                    f.name.as_deref(),
                    f.uuid.as_deref(),
                    f.machine_type.as_deref(),
                );
                if let Err(e) = manager.store.record_firmware(id, name, uuid, machine).await {
                    tracing::warn!(id, error = %e, "cannot record the printer's firmware");
                }
            }
            recorded_firmware = firmware;
        }
        managed.sample();
        // No subscribers is normal (no dashboard open).
        let _ = manager.updates.send(managed.view());
        tokio::select! {
            changed = status.changed(), if thread_running => {
                if changed.is_err() {
                    thread_running = false;
                }
            }
            event = events.recv() => match event {
                Some(event) => manager.journal(&managed, event).await,
                None => break,
            },
        }
    }
    // The thread has ended (its channels closed), so dropping the handle joins it at once.
}
