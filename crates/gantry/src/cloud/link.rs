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
use super::report::{CloudState, Reporter};
use super::settings::CloudSettings;
use super::unzip;

/// Cloud error levels, as the protocol numbers them.
const LEVEL_INFO: u32 = 20;
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
    pub user_token: Secret,
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
    task: JoinHandle<Result<(), String>>,
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
    'login: loop {
        ctx.board.set(printer, PrinterLinkState::LoggingIn);
        let token = loop {
            if *stop.borrow() {
                return finish(&ctx, printer, session);
            }
            let Some(found) = ctx.host.printers().into_iter().find(|p| p.id == printer) else {
                return finish(&ctx, printer, session);
            };
            let wait = match ctx
                .cloud
                .printer_login(&ctx.user_token, &found.identity)
                .await
            {
                Ok(PrinterLogin::Linked {
                    printer_token,
                    name,
                }) => {
                    backoff.succeed();
                    tracing::info!(printer, "printer linked to the cloud");
                    ctx.board.set(printer, PrinterLinkState::Linked { name });
                    break printer_token;
                }
                Ok(PrinterLogin::PickType { message }) => {
                    tracing::info!(printer, %message, "waiting for the printer type to be picked on the website");
                    ctx.board
                        .set(printer, PrinterLinkState::PickType { message });
                    period.max(Duration::from_secs(2))
                }
                Err(e) => {
                    let wait = backoff.fail(jitter());
                    tracing::warn!(printer, error = %e, retry_in = ?wait, "printer login failed");
                    ctx.board.set(
                        printer,
                        PrinterLinkState::Retrying {
                            error: e.to_string(),
                            failures: backoff.failures(),
                        },
                    );
                    wait
                }
            };
            if pause(&mut stop, wait).await {
                return finish(&ctx, printer, session);
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
                    if pause(&mut stop, backoff.fail(jitter())).await {
                        return finish(&ctx, printer, session);
                    }
                    continue 'login;
                }
                Err(e) => {
                    let wait = backoff.fail(jitter());
                    tracing::warn!(printer, error = %e, retry_in = ?wait, "cloud request failed; the printer carries on");
                    ctx.board.set(
                        printer,
                        PrinterLinkState::Retrying {
                            error: e.to_string(),
                            failures: backoff.failures(),
                        },
                    );
                    wait
                }
            };
            if pause(&mut stop, wait).await {
                return finish(&ctx, printer, session);
            }
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
                Ok(Err(message)) => {
                    tracing::warn!(job = %download.job.job_id, %message, "cloud job not started");
                    session.errors.push(ErrorReport {
                        code: 66,
                        message,
                        level: 40,
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
    let (progress_tx, progress) = watch::channel(0.0);
    let http = ctx.http.clone();
    let host = ctx.host.clone();
    let dest = ctx.download_dir.join(format!(
        "{}-{}.part",
        super::command::sanitize_filename(&job.job_id),
        job.filename
    ));
    let limit = (ctx.settings.max_download_mib.saturating_mul(1 << 20)).min(host.upload_limit());
    let keep = ctx.settings.keep_print_files;
    let task_job = job.clone();
    let task = tokio::spawn(async move {
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| e.to_string())?;
        }
        download::fetch(
            &http,
            &task_job.url,
            &dest,
            task_job.size,
            limit,
            &progress_tx,
        )
        .await
        .map_err(|e| format!("error {}: {e}", e.code()))?;
        let (file, name, unpacked) = if task_job.zip {
            let archive = dest.clone();
            let dir = dest.with_extension("unzipped");
            let out = dir.clone();
            let (file, name) = tokio::task::spawn_blocking(move || {
                unzip::extract(&archive, &out, unzip::ZipLimits::new(limit))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("error {}: {e}", unzip::UnzipError::CODE))?;
            (file, name, Some(dir))
        } else {
            (dest.clone(), task_job.filename.clone(), None)
        };
        let result = host
            .print_cloud_file(printer, &file, &name, &task_job.job_id)
            .await;
        if !keep || result.is_ok() {
            let _ = tokio::fs::remove_file(&dest).await;
            if let Some(dir) = unpacked {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
        }
        result
    });
    session.downloading = Some(Downloading {
        job,
        progress,
        task,
    });
    Ok(())
}
