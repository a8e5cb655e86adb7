//! One printer's link: `printer_login`, then the `command` loop that carries the status report,
//! acknowledges the previous command and runs at most one new one per turn.
//!
//! Nothing here ever stops, pauses or cancels a print because the cloud went away: a failed
//! request only delays the next one, and the report catches up when the cloud answers again.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::api::{Ack, Cloud, CloudError, CommandRequest, ErrorReport, PrinterLogin, Secret};
use super::backoff::{jitter, Backoff};
use super::command::{CloudCommand, CloudJob, RawCommand};
use super::download;
use super::host::{JobControl, PrintHost};
use super::renew::{LinkedAccount, Renewal};
use super::report::{CloudState, Reporter};
use super::settings::CloudSettings;
use super::unzip;
use super::vault::Vault;

/// Cloud error levels, as the protocol numbers them.
const LEVEL_INFO: u32 = 20;
const LEVEL_BLOCKING: u32 = 40;
/// Longest wait between attempts while the cloud is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the dashboard and `gantry status` show for one printer's link.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PrinterLinkState {
    LoggingIn,
    Linked {
        name: Option<String>,
    },
    /// The cloud does not know the printer's type: pick it on the website.
    PickType {
        message: String,
    },
    /// The cloud is unreachable or refusing; the printer carries on locally.
    Retrying {
        error: String,
        failures: u32,
    },
}

/// Shared by the links of one account.
pub struct LinkContext<C, H> {
    pub cloud: Arc<C>,
    pub host: Arc<H>,
    pub settings: CloudSettings,
    pub account: LinkedAccount<C>,
    /// Where printer tokens are kept between runs.
    pub vault: Arc<Vault>,
    pub download_dir: PathBuf,
    pub http: reqwest::Client,
    pub board: Arc<Board>,
}

/// Each printer's link state, by printer id.
#[derive(Debug, Default)]
pub struct Board {
    states: Mutex<Vec<(i64, PrinterLinkState)>>,
}

impl Board {
    pub fn set(&self, printer: i64, state: PrinterLinkState) {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        match states.iter_mut().find(|(id, _)| *id == printer) {
            Some(entry) => entry.1 = state,
            None => states.push((printer, state)),
        }
    }

    pub fn remove(&self, printer: i64) {
        self.states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _)| *id != printer);
    }

    pub fn all(&self) -> Vec<(i64, PrinterLinkState)> {
        self.states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A download running beside the command loop.
struct Downloading {
    job: CloudJob,
    progress: watch::Receiver<f64>,
    task: JoinHandle<Result<(), (u32, String)>>,
}

/// The state of one printer's link between turns.
struct Session {
    reporter: Reporter,
    /// The ack for the last command, until a request carrying it is answered.
    ack: Option<Ack>,
    errors: Vec<ErrorReport>,
    /// One-shot report events (finish, cancel), one per request, kept until answered.
    events: VecDeque<Map<String, Value>>,
    /// The last command executed and its result, so a repeated command is acknowledged again
    /// without running twice.
    last: Option<(i64, Value)>,
    downloading: Option<Downloading>,
    /// The cloud job this printer is printing.
    cloud_job: Option<String>,
}

impl Session {
    fn new() -> Session {
        Session {
            reporter: Reporter::default(),
            ack: None,
            errors: Vec::new(),
            events: VecDeque::new(),
            last: None,
            downloading: None,
            cloud_job: None,
        }
    }
}

/// Shows a failed request on the printer's link state and says how long to back off.
fn retry_after(
    board: &Board,
    printer: i64,
    backoff: &mut Backoff,
    error: &impl std::fmt::Display,
) -> Duration {
    let wait = backoff.fail(jitter());
    board.set(
        printer,
        PrinterLinkState::Retrying {
            error: error.to_string(),
            failures: backoff.failures(),
        },
    );
    wait
}

/// Sleeps, unless the link is stopped first; returns whether it was stopped.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}

/// Runs one printer's link until `stop` turns true or the printer disappears.
pub async fn run_printer<C: Cloud, H: PrintHost>(
    ctx: Arc<LinkContext<C, H>>,
    printer: i64,
    mut stop: watch::Receiver<bool>,
) {
    let period = ctx.settings.loop_period();
    let mut backoff = Backoff::new(period, MAX_BACKOFF);
    let mut session = Session::new();
    let Some(identity) = ctx
        .host
        .printers()
        .into_iter()
        .find(|p| p.id == printer)
        .map(|p| p.identity)
    else {
        return finish(&ctx, printer, session);
    };
    // A token kept from an earlier run is used until the cloud refuses it.
    let mut kept = ctx.vault.printer_token(&identity).unwrap_or_else(|e| {
        tracing::warn!(printer, error = %e, "cannot read the kept printer token");
        None
    });
    'login: loop {
        ctx.board.set(printer, PrinterLinkState::LoggingIn);
        let token = if let Some(token) = kept.take() {
            tracing::info!(printer, "printer linked with its kept token");
            ctx.board
                .set(printer, PrinterLinkState::Linked { name: None });
            token
        } else {
            match login_printer(&ctx, printer, &mut stop, &mut backoff).await {
                Some(token) => token,
                None => return finish(&ctx, printer, session),
            }
        };
        session.reporter.reset();
        loop {
            if *stop.borrow() {
                return finish(&ctx, printer, session);
            }
            let Some(found) = ctx.host.printers().into_iter().find(|p| p.id == printer) else {
                return finish(&ctx, printer, session);
            };
            track_cloud_job(&ctx, &mut session, found.is_printing()).await;
            let mut snapshot = found.snapshot;
            if let Some(download) = &session.downloading {
                snapshot.state = Some(CloudState::Downloading);
                snapshot.percent = *download.progress.borrow();
                snapshot.filename = Some(download.job.filename.clone());
                snapshot.clouds_job_id = Some(download.job.job_id.clone());
            } else {
                snapshot.clouds_job_id = session.cloud_job.clone();
            }
            let report = session
                .reporter
                .build(&snapshot, session.events.front().cloned());
            let request = CommandRequest {
                report: report.body.clone(),
                ack: session.ack.clone(),
                errors: session.errors.clone(),
            };
            let wait = match ctx.cloud.command(&token, &request).await {
                Ok(answer) => {
                    session.reporter.answered(report);
                    session.ack = None;
                    session.errors.clear();
                    session.events.pop_front();
                    if backoff.failures() > 0 {
                        tracing::info!(printer, "the cloud answers again");
                    }
                    backoff.succeed();
                    if !matches!(
                        ctx.board.all().iter().find(|(id, _)| *id == printer),
                        Some((_, PrinterLinkState::Linked { .. }))
                    ) {
                        ctx.board
                            .set(printer, PrinterLinkState::Linked { name: None });
                    }
                    if let Some(raw) = answer {
                        execute(&ctx, &token, printer, &mut session, raw).await;
                    }
                    period
                }
                Err(CloudError::Refused(refusal)) if matches!(refusal.code, 3 | 7 | 9) => {
                    tracing::warn!(
                        printer,
                        code = refusal.code,
                        "the cloud no longer accepts this printer's token; logging in again"
                    );
                    if let Err(e) = ctx.vault.set_printer_token(&found.identity, None) {
                        tracing::warn!(printer, error = %e, "cannot remove the refused printer token");
                    }
                    if pause(&mut stop, backoff.fail(jitter())).await {
                        return finish(&ctx, printer, session);
                    }
                    continue 'login;
                }
                Err(e) => {
                    let wait = retry_after(&ctx.board, printer, &mut backoff, &e);
                    tracing::warn!(printer, error = %e, retry_in = ?wait, "cloud request failed; the printer carries on");
                    wait
                }
            };
            if pause(&mut stop, wait).await {
                return finish(&ctx, printer, session);
            }
        }
    }
}

/// `printer_login` until it gives a token; `None` when the link stops, the printer goes, or
/// the sign-in is lost. A refused user token is renewed first.
async fn login_printer<C: Cloud, H: PrintHost>(
    ctx: &LinkContext<C, H>,
    printer: i64,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Option<Secret> {
    let period = ctx.settings.loop_period();
    // A token refused right after its renewal is not renewed again at once: that would ask the
    // provider in a tight loop.
    let mut just_renewed = false;
    loop {
        if *stop.borrow() {
            return None;
        }
        let found = ctx.host.printers().into_iter().find(|p| p.id == printer)?;
        let user_token = ctx.account.user_token().await;
        let wait = match ctx.cloud.printer_login(&user_token, &found.identity).await {
            Ok(PrinterLogin::Linked {
                printer_token,
                name,
            }) => {
                backoff.succeed();
                tracing::info!(printer, "printer linked to the cloud");
                if let Err(e) = ctx
                    .vault
                    .set_printer_token(&found.identity, Some(&printer_token))
                {
                    tracing::warn!(printer, error = %e, "cannot keep the printer token; the printer logs in again at the next start");
                }
                ctx.board.set(printer, PrinterLinkState::Linked { name });
                return Some(printer_token);
            }
            Err(CloudError::Refused(refusal)) if refusal.code == 3 && !just_renewed => {
                tracing::info!(
                    printer,
                    "the cloud refused the user token; renewing the sign-in"
                );
                match ctx.account.renew(&user_token).await {
                    Renewal::Renewed(_) => {
                        just_renewed = true;
                        Duration::ZERO
                    }
                    Renewal::Lost(_) => return None,
                    Renewal::Later(error) => {
                        let wait = backoff.fail(jitter());
                        tracing::warn!(printer, %error, retry_in = ?wait, "cannot renew the sign-in yet");
                        ctx.board.set(
                            printer,
                            PrinterLinkState::Retrying {
                                error,
                                failures: backoff.failures(),
                            },
                        );
                        wait
                    }
                }
            }
            Ok(PrinterLogin::PickType { message }) => {
                tracing::info!(printer, %message, "waiting for the printer type to be picked on the website");
                ctx.board
                    .set(printer, PrinterLinkState::PickType { message });
                period.max(Duration::from_secs(2))
            }
            Err(e) => {
                just_renewed = false;
                let wait = retry_after(&ctx.board, printer, backoff, &e);
                tracing::warn!(printer, error = %e, retry_in = ?wait, "printer login failed");
                wait
            }
        };
        if pause(stop, wait).await {
            return None;
        }
    }
}

/// Stopping a link leaves the printer alone; only a running download is abandoned (its partial
/// file stays, so a repeated command resumes it).
fn finish<C, H>(ctx: &LinkContext<C, H>, printer: i64, session: Session) {
    if let Some(download) = session.downloading {
        download.task.abort();
    }
    ctx.board.remove(printer);
}

/// Notices a download that ended, and a cloud print that ended, and queues the report events.
async fn track_cloud_job<C: Cloud, H: PrintHost>(
    ctx: &LinkContext<C, H>,
    session: &mut Session,
    printing: bool,
) {
    if let Some(download) = &session.downloading {
        if download.task.is_finished() {
            let Some(download) = session.downloading.take() else {
                return;
            };
            match download.task.await {
                Ok(Ok(())) => session.cloud_job = Some(download.job.job_id.clone()),
                Ok(Err((code, message))) => {
                    tracing::warn!(job = %download.job.job_id, code, %message, "cloud job not started");
                    session.errors.push(ErrorReport {
                        code,
                        message,
                        level: LEVEL_BLOCKING,
                    });
                }
                Err(e) => tracing::warn!(error = %e, "the download task ended abnormally"),
            }
        }
        return;
    }
    let Some(job) = session.cloud_job.clone() else {
        return;
    };
    if printing {
        return;
    }
    let outcome = ctx.host.cloud_job_outcome(&job).await;
    match outcome.as_deref() {
        Some("printing" | "paused") => {}
        Some("finished") => {
            session
                .events
                .push_back(event(json!({"state": "printing", "percent": 100})));
            session
                .events
                .push_back(event(json!({"state": "ready", "percent": 100})));
            session.cloud_job = None;
        }
        _ => {
            session.events.push_back(event(json!({"state": "cancel"})));
            session.cloud_job = None;
        }
    }
}

fn event(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Runs one command and records the ack to send with the next request.
async fn execute<C: Cloud, H: PrintHost>(
    ctx: &LinkContext<C, H>,
    token: &Secret,
    printer: i64,
    session: &mut Session,
    raw: RawCommand,
) {
    let number = match raw.number() {
        Ok(number) => number,
        Err(e) => {
            tracing::warn!(printer, command = %raw.command, error = %e, "cloud command refused");
            session.errors.push(ErrorReport {
                code: e.code(),
                message: e.to_string(),
                level: LEVEL_INFO,
            });
            return;
        }
    };
    if let Some((last, result)) = &session.last {
        if *last == number {
            tracing::info!(
                printer,
                number,
                "the cloud repeated a command; acknowledging it again without running it"
            );
            session.ack = Some(Ack {
                number,
                result: result.clone(),
            });
            return;
        }
    }
    let result = match raw.decode() {
        Ok(command) => {
            tracing::info!(printer, number, command = %raw.command, "cloud command");
            run(ctx, token, printer, session, command).await
        }
        Err(e) => {
            tracing::warn!(printer, number, command = %raw.command, error = %e, "cloud command refused");
            Err((e.code(), e.to_string()))
        }
    };
    let result = match result {
        Ok(()) => Value::Bool(true),
        Err((code, message)) => {
            session.errors.push(ErrorReport {
                code,
                message: message.clone(),
                level: LEVEL_INFO,
            });
            Value::String(message)
        }
    };
    session.last = Some((number, result.clone()));
    session.ack = Some(Ack { number, result });
}

async fn run<C: Cloud, H: PrintHost>(
    ctx: &LinkContext<C, H>,
    token: &Secret,
    printer: i64,
    session: &mut Session,
    command: CloudCommand,
) -> Result<(), (u32, String)> {
    /// Protocol error 109: the command failed while running.
    const FAILED: u32 = 109;
    let failed = |e: String| (FAILED, e);
    match command {
        CloudCommand::PrintLink(job) => start_download(ctx, printer, session, job).await,
        CloudCommand::Gcodes(lines) => {
            for line in lines {
                ctx.host.send_gcode(printer, &line).await.map_err(failed)?;
            }
            Ok(())
        }
        CloudCommand::Pause => ctx
            .host
            .control(printer, JobControl::Pause)
            .await
            .map_err(failed),
        CloudCommand::Resume => ctx
            .host
            .control(printer, JobControl::Resume)
            .await
            .map_err(failed),
        CloudCommand::Cancel => {
            if let Some(download) = session.downloading.take() {
                download.task.abort();
                session.events.push_back(event(json!({"state": "cancel"})));
                return Ok(());
            }
            ctx.host
                .control(printer, JobControl::Cancel)
                .await
                .map_err(failed)
        }
        CloudCommand::EmergencyStop => ctx
            .host
            .control(printer, JobControl::EmergencyStop)
            .await
            .map_err(failed),
        CloudCommand::SetName(name) => ctx.host.rename(printer, &name).await.map_err(failed),
        // The queue lives in the cloud; Gantry starts jobs from it but keeps no copy.
        CloudCommand::GetJobsList => Ok(()),
        CloudCommand::StartJobById(id) => ctx
            .cloud
            .start_queued_job(token, Some(&id))
            .await
            .map_err(|e| failed(e.to_string())),
        CloudCommand::StartNextJob => ctx
            .cloud
            .start_queued_job(token, None)
            .await
            .map_err(|e| failed(e.to_string())),
    }
}

/// Protocol error 108: one download at a time.
const DOWNLOAD_BUSY: u32 = 108;

async fn start_download<C: Cloud, H: PrintHost>(
    ctx: &LinkContext<C, H>,
    printer: i64,
    session: &mut Session,
    job: CloudJob,
) -> Result<(), (u32, String)> {
    if session.downloading.is_some() {
        return Err((DOWNLOAD_BUSY, "a download is already running".into()));
    }
    match ctx.host.cloud_job_started(&job.job_id).await {
        Ok(true) => {
            tracing::info!(printer, job = %job.job_id, "cloud job already started once; not starting it again");
            return Ok(());
        }
        Ok(false) => {}
        Err(e) => return Err((109, e)),
    }
    let limit = download_limit(ctx).await;
    if let Some(size) = job.size.filter(|size| *size > limit) {
        let error = download::DownloadError::TooLarge { size, limit };
        tracing::warn!(printer, job = %job.job_id, %error, "cloud job refused");
        return Err((error.code(), error.to_string()));
    }
    let (progress_tx, progress) = watch::channel(0.0);
    let fetch = Fetch {
        http: ctx.http.clone(),
        dest: ctx.download_dir.join(format!(
            "{}-{}.part",
            super::command::sanitize_filename(&job.job_id),
            job.filename
        )),
        limit,
        keep: ctx.settings.keep_print_files,
    };
    let task = tokio::spawn(fetch.run(ctx.host.clone(), printer, job.clone(), progress_tx));
    session.downloading = Some(Downloading {
        job,
        progress,
        task,
    });
    Ok(())
}

/// The largest cloud file taken: the library's upload limit (`upload_limit_bytes`), the same
/// for a cloud job as for an upload from the dashboard or a slicer.
async fn download_limit<C, H: PrintHost>(ctx: &LinkContext<C, H>) -> u64 {
    match ctx.host.upload_limit().await {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the upload limit; using the default");
            crate::files::DEFAULT_UPLOAD_LIMIT
        }
    }
}

/// Protocol error 85: the file could not be loaded for printing.
const LOAD_FAILED: u32 = 85;

/// One cloud file: downloaded, unpacked when zipped, and handed to the printer.
struct Fetch {
    http: reqwest::Client,
    dest: PathBuf,
    limit: u64,
    keep: bool,
}

impl Fetch {
    async fn run<H: PrintHost>(
        self,
        host: Arc<H>,
        printer: i64,
        job: CloudJob,
        progress: watch::Sender<f64>,
    ) -> Result<(), (u32, String)> {
        if let Some(dir) = self.dest.parent() {
            if let Err(e) = tokio::fs::create_dir_all(dir).await {
                let error = download::DownloadError::Io(e);
                return Err((error.code(), error.to_string()));
            }
        }
        let fetched = download::fetch(
            &self.http, &job.url, &self.dest, job.size, self.limit, &progress,
        )
        .await;
        if let Err(error) = fetched {
            // A cut-off download stays to be resumed when the command comes again; a file
            // refused for its size is never kept.
            if matches!(error, download::DownloadError::TooLarge { .. }) {
                let _ = tokio::fs::remove_file(&self.dest).await;
            }
            return Err((error.code(), error.to_string()));
        }
        let (file, name, unpacked) = if job.zip {
            let archive = self.dest.clone();
            let dir = self.dest.with_extension("unzipped");
            let out = dir.clone();
            let limit = self.limit;
            let unpacked = tokio::task::spawn_blocking(move || {
                unzip::extract(&archive, &out, unzip::ZipLimits::new(limit))
            })
            .await
            .map_err(|e| (unzip::UnzipError::CODE, e.to_string()))?;
            match unpacked {
                Ok((file, name)) => (file, name, Some(dir)),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&self.dest).await;
                    let _ = tokio::fs::remove_dir_all(&dir).await;
                    return Err((unzip::UnzipError::CODE, e.to_string()));
                }
            }
        } else {
            (self.dest.clone(), job.filename.clone(), None)
        };
        let result = host
            .print_cloud_file(printer, &file, &name, &job.job_id)
            .await
            .map_err(|e| (LOAD_FAILED, e));
        if !self.keep || result.is_ok() {
            let _ = tokio::fs::remove_file(&self.dest).await;
            if let Some(dir) = unpacked {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
        }
        result
    }
}
