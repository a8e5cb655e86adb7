//! What the cloud link needs from the printers, as a small trait, and its implementation on
//! the printer manager. The link never reaches into the manager otherwise.

use std::future::Future;
use std::path::Path;

use printer::driver::State;

use super::api::PrinterIdentity;
use super::report::{CloudState, Snapshot};
use crate::manager::{Control, Manager, Origin, PrinterView};

/// A printer as the link sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPrinter {
    pub id: i64,
    pub identity: PrinterIdentity,
    pub name: String,
    pub snapshot: Snapshot,
}

impl HostPrinter {
    pub fn is_printing(&self) -> bool {
        matches!(
            self.snapshot.state,
            Some(CloudState::Printing | CloudState::Paused)
        )
    }
}

/// A job control for the running print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobControl {
    Pause,
    Resume,
    Cancel,
    EmergencyStop,
}

pub trait PrintHost: Send + Sync + 'static {
    fn printers(&self) -> Vec<HostPrinter>;

    fn control(
        &self,
        printer: i64,
        control: JobControl,
    ) -> impl Future<Output = Result<(), String>> + Send;

    fn send_gcode(
        &self,
        printer: i64,
        line: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;

    fn rename(&self, printer: i64, name: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// Whether a cloud job with this id was already started here (persisted across restarts).
    fn cloud_job_started(
        &self,
        cloud_job_id: &str,
    ) -> impl Future<Output = Result<bool, String>> + Send;

    /// The journal's state of the job started for this cloud job: `printing`, `finished`, ….
    fn cloud_job_outcome(&self, cloud_job_id: &str) -> impl Future<Output = Option<String>> + Send;

    /// Adds a downloaded file to the library and prints it through the same path as a local
    /// print; a second call with the same cloud job id does not start it again.
    fn print_cloud_file(
        &self,
        printer: i64,
        file: &Path,
        name: &str,
        cloud_job_id: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Largest file the library takes (the `upload_limit_bytes` setting).
    fn upload_limit(&self) -> impl Future<Output = Result<u64, String>> + Send;
}

/// The protocol identifies printers by USB ids; Gantry sends the generic pseudo-ids and a
/// serial number made from the printer's stored identity. Never the firmware UUID: it is only
/// known after `M115`, and a serial number that changes then makes the cloud see two printers.
pub fn cloud_identity(view: &PrinterView) -> PrinterIdentity {
    let snr: String = view
        .identity
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PrinterIdentity {
        vid: "XXXX".into(),
        pid: "XXXX".into(),
        snr,
    }
}

pub fn snapshot(view: &PrinterView) -> Snapshot {
    let state = match view.state {
        State::Connecting | State::Offline => CloudState::Connecting,
        State::Ready => CloudState::Ready,
        State::Printing => CloudState::Printing,
        State::Paused => CloudState::Paused,
        State::Error => CloudState::Error,
    };
    let temps = &view.temperatures;
    let bed = temps.bed;
    let heaters = std::iter::once(bed).chain(temps.tools.iter().copied().map(Some));
    let (actual, target): (Vec<f64>, Vec<f64>) = heaters
        .map(|h| h.map_or((0.0, 0.0), |h| (h.actual, h.target.unwrap_or(0.0))))
        .unzip();
    let job = view.job.as_ref();
    Snapshot {
        state: Some(state),
        percent: job.map_or(0.0, |j| j.progress),
        temps: actual,
        target_temps: target,
        line_number: job.map(|j| j.line),
        coords: None,
        filename: job.map(|j| j.file_name.clone()),
        clouds_job_id: None,
    }
}

impl PrintHost for Manager {
    fn printers(&self) -> Vec<HostPrinter> {
        Manager::printers(self)
            .iter()
            .map(|view| HostPrinter {
                id: view.id,
                identity: cloud_identity(view),
                name: view.name.clone(),
                snapshot: snapshot(view),
            })
            .collect()
    }

    async fn control(&self, printer: i64, control: JobControl) -> Result<(), String> {
        let control = match control {
            JobControl::Pause => Control::Pause,
            JobControl::Resume => Control::Resume,
            JobControl::Cancel => Control::Cancel,
            JobControl::EmergencyStop => Control::EmergencyStop,
        };
        Manager::control(self, printer, control)
            .await
            .map_err(|e| e.to_string())
    }

    async fn send_gcode(&self, printer: i64, line: &str) -> Result<(), String> {
        self.send_command(printer, line)
            .await
            .map_err(|e| e.to_string())
    }

    async fn rename(&self, printer: i64, name: &str) -> Result<(), String> {
        Manager::rename(self, printer, name)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn cloud_job_started(&self, cloud_job_id: &str) -> Result<bool, String> {
        self.store()
            .job_by_cloud_id(cloud_job_id)
            .await
            .map(|job| job.is_some())
            .map_err(|e| e.to_string())
    }

    async fn cloud_job_outcome(&self, cloud_job_id: &str) -> Option<String> {
        match self.store().job_by_cloud_id(cloud_job_id).await {
            Ok(job) => job.map(|j| j.state),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the job journal");
                None
            }
        }
    }

    async fn print_cloud_file(
        &self,
        printer: i64,
        file: &Path,
        name: &str,
        cloud_job_id: &str,
    ) -> Result<(), String> {
        let handle = tokio::fs::File::open(file)
            .await
            .map_err(|e| format!("cannot open the download: {e}"))?;
        let stream = futures_util::stream::unfold(handle, |mut handle| async move {
            use tokio::io::AsyncReadExt;
            let mut buffer = vec![0u8; 128 * 1024];
            match handle.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buffer)), handle))
                }
                Err(e) => Some((Err(e), handle)),
            }
        });
        let limit = PrintHost::upload_limit(self).await?;
        let row = self
            .files()
            .upload(name, Box::pin(stream), limit, true)
            .await
            .map_err(|e| e.to_string())?;
        self.start_job(printer, row.id, Origin::Cloud, Some(cloud_job_id))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn upload_limit(&self) -> Result<u64, String> {
        self.files().upload_limit().await.map_err(|e| e.to_string())
    }
}
