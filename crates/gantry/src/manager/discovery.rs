//! Finding printers: the serial ports are scanned every two seconds; a port that matches a
//! known printer board is probed and, when a firmware answers, driven like any other printer.
//! A port another program holds is reported as busy and never opened.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use printer::discovery::{probe, Candidate, DiscoveryEvent, ProbeError, Scanner};
use serde::Serialize;

use super::{Manager, PortSpec};

pub const SCAN_INTERVAL: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// A serial port as the dashboard lists it under "Serial ports".
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PortView {
    pub path: PathBuf,
    pub identity: String,
    pub usb: Option<String>,
    pub product: Option<String>,
    pub profile: Option<String>,
    pub status: PortStatus,
    /// What the status means for the user, with the next step.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PortStatus {
    Printer,
    Probing,
    Busy,
    NoAnswer,
    Unknown,
}

impl Manager {
    /// Starts the port scan; it ends when the manager shuts down.
    pub fn start_discovery(self: &Arc<Self>) {
        let manager = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut scanner = Scanner::new(Vec::<PathBuf>::new());
            loop {
                // The scan reads sysfs and /proc: blocking work, off the async threads.
                let scanned = tokio::task::spawn_blocking(move || {
                    let events = scanner.scan();
                    (scanner, events)
                })
                .await;
                let Ok((returned, events)) = scanned else {
                    break;
                };
                scanner = returned;
                for event in events {
                    manager.discovered(event);
                }
                tokio::time::sleep(SCAN_INTERVAL).await;
            }
        });
        *self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    /// Every serial port seen, with what Gantry makes of it.
    pub fn ports(&self) -> Vec<PortView> {
        self.ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn set_port(&self, view: PortView) {
        self.ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(view.path.clone(), view);
    }

    fn set_port_status(&self, path: &PathBuf, status: PortStatus, detail: String) {
        if let Some(view) = self
            .ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(path)
        {
            view.status = status;
            view.detail = detail;
        }
    }

    fn discovered(self: &Arc<Self>, event: DiscoveryEvent) {
        match event {
            DiscoveryEvent::Added(candidate) => self.candidate(*candidate),
            DiscoveryEvent::Removed { path, .. } => {
                self.ports
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&path);
            }
            DiscoveryEvent::BusyChanged { path, busy } => match busy {
                Some(holder) => {
                    self.set_port_status(&path, PortStatus::Busy, busy_detail(&holder.to_string()))
                }
                None => self.set_port_status(
                    &path,
                    PortStatus::Unknown,
                    "free again; replug it to probe it".into(),
                ),
            },
        }
    }

    fn candidate(self: &Arc<Self>, candidate: Candidate) {
        let path = candidate.port.path.clone();
        let usb = candidate.port.usb.as_ref();
        let mut view = PortView {
            path: path.clone(),
            identity: candidate.identity.key.clone(),
            usb: usb.map(|u| format!("{:04x}:{:04x}", u.vid, u.pid)),
            product: usb.and_then(|u| u.product.clone()),
            profile: candidate.profile.map(|p| p.name.clone()),
            status: PortStatus::Unknown,
            detail: String::new(),
        };
        let managed = self.entries().iter().any(|p| {
            p.row.lock().unwrap_or_else(PoisonError::into_inner).port == path.display().to_string()
        });
        if managed {
            view.status = PortStatus::Printer;
            view.detail = "connected".into();
            self.set_port(view);
            return;
        }
        if let Some(holder) = &candidate.busy {
            view.status = PortStatus::Busy;
            view.detail = busy_detail(&holder.to_string());
            self.set_port(view);
            return;
        }
        if !candidate.may_open() {
            view.detail = "not a known printer board, so Gantry leaves it alone; if it is a printer, add it by its port".into();
            self.set_port(view);
            return;
        }
        view.status = PortStatus::Probing;
        view.detail = "asking the firmware who it is…".into();
        self.set_port(view);
        let manager = Arc::clone(self);
        let bauds = candidate.bauds().to_vec();
        let identity = candidate.identity.key.clone();
        let fallback_name = candidate
            .profile
            .map(|p| p.name.clone())
            .unwrap_or_else(|| path.display().to_string());
        tokio::spawn(async move {
            let probe_path = path.clone();
            let probed =
                tokio::task::spawn_blocking(move || probe(&probe_path, &bauds, PROBE_TIMEOUT))
                    .await;
            match probed {
                Ok(Ok(found)) => {
                    let default_name = found.firmware.machine_type.clone().unwrap_or(fallback_name);
                    let spec = PortSpec { path: path.clone(), baud: found.baud, default_name, identity: Some(identity) };
                    match manager.add_port(spec).await {
                        Ok(_) => manager.set_port_status(&path, PortStatus::Printer, "connected".into()),
                        Err(e) => manager.set_port_status(&path, PortStatus::NoAnswer, e.to_string()),
                    }
                }
                Ok(Err(ProbeError::Busy { holder, .. })) => {
                    let who = holder.map_or_else(|| "another program".to_string(), |h| h.to_string());
                    manager.set_port_status(&path, PortStatus::Busy, busy_detail(&who));
                }
                Ok(Err(e)) => manager.set_port_status(
                    &path,
                    PortStatus::NoAnswer,
                    format!("{e}; check the printer is switched on, then replug it or add it by port with its baud rate"),
                ),
                Err(e) => tracing::error!(error = %e, "probe task failed"),
            }
        });
    }
}

fn busy_detail(holder: &str) -> String {
    format!("in use ({holder}); Gantry will not take it over — close that program to use the printer here")
}

/// Ports by path, for the manager's state.
pub(super) type Ports = BTreeMap<PathBuf, PortView>;

impl Manager {
    /// *Add printer by port*: a port the user names (a pty, a `/dev/serial/by-path/...` link, a
    /// board without a known USB id). Without a baud rate the usual ones are tried.
    pub async fn add_by_port(
        self: &Arc<Self>,
        path: PathBuf,
        baud: Option<u32>,
    ) -> Result<i64, super::ManagerError> {
        use super::ManagerError::NotAPort;
        let shown = path.display().to_string();
        if self
            .entries()
            .iter()
            .any(|p| p.row.lock().unwrap_or_else(PoisonError::into_inner).port == shown)
        {
            return Err(NotAPort(format!("{shown} is already connected")));
        }
        if !path.exists() {
            return Err(NotAPort(format!("there is no port {shown}")));
        }
        let bauds = baud.map_or_else(|| printer::discovery::DEFAULT_BAUDS.to_vec(), |b| vec![b]);
        let probe_path = path.clone();
        let probed = tokio::task::spawn_blocking(move || probe(&probe_path, &bauds, PROBE_TIMEOUT))
            .await
            .map_err(|e| NotAPort(e.to_string()))?
            .map_err(|e| NotAPort(e.to_string()))?;
        let default_name = probed.firmware.machine_type.clone().unwrap_or_else(|| {
            format!(
                "Printer on {}",
                path.file_name()
                    .map_or(shown.clone(), |n| n.to_string_lossy().into_owned())
            )
        });
        self.add_port(PortSpec {
            path,
            baud: probed.baud,
            default_name,
            identity: None,
        })
        .await
    }
}
