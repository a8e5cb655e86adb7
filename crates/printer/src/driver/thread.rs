//! The body of a printer thread: the I/O driver around the sans-IO `marlin::Link` and the
//! job that feeds it.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use marlin::{Direction, Event, Link, LinkState};
use tokio::sync::{mpsc, watch};

use super::job::{JobError, JobEvent, RunningJob, Scripts};
use super::{
    port, refusal_while_printing, Command, DriverConfig, Refusal, Reply, SerialLog, State, Status,
};

/// Longest sleep while nothing is due: only a safety net, since the port, the doorbell and
/// every deadline of the link wake the thread themselves.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How often job progress is republished in the status; milestones go out at once.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Where a printer thread's news goes.
pub(super) struct Outputs {
    pub status: watch::Sender<Status>,
    pub events: mpsc::UnboundedSender<JobEvent>,
    pub log: Arc<SerialLog>,
}

impl Outputs {
    /// Applies `change` and wakes watchers only if something actually changed.
    fn set(&self, change: impl FnOnce(&mut Status)) {
        self.status.send_if_modified(|status| {
            let before = status.clone();
            change(status);
            *status != before
        });
    }

    fn milestone(&self, event: JobEvent) {
        tracing::info!(?event, "job");
        // The receiver only goes away when Gantry is shutting down.
        let _ = self.events.send(event);
    }
}

/// Why a connection ended.
enum Ended {
    /// The owner asked the thread to stop.
    Disconnect,
    /// The port failed or the firmware stopped answering; try again later.
    Lost(String),
}

pub(super) fn run(
    config: DriverConfig,
    inbox: Receiver<(Command, Option<Reply>)>,
    bell: Arc<port::Doorbell>,
    out: Outputs,
) {
    loop {
        out.set(|s| s.state = State::Connecting);
        let ended = match port::open(&config.port, config.baud) {
            Ok(port) => {
                tracing::info!(port = %config.port.display(), "port open");
                Session::new(&config, port, &bell, &out).run(&inbox)
            }
            Err(e) => Ended::Lost(format!("cannot open {}: {e}", config.port.display())),
        };
        match ended {
            Ended::Disconnect => break,
            Ended::Lost(reason) => {
                tracing::warn!(port = %config.port.display(), %reason, "printer offline");
                out.set(|s| {
                    s.state = State::Offline;
                    s.error = Some(reason);
                    s.job = None;
                });
                if wait_or_disconnect(&inbox, config.reconnect_interval) {
                    break;
                }
            }
        }
    }
    out.set(|s| {
        s.state = State::Offline;
        s.error = None;
        s.job = None;
    });
    tracing::info!(port = %config.port.display(), "printer thread stopped");
}

/// One open port: the link, the job if any, and where news goes.
struct Session<'a> {
    port: port::NativePort,
    bell: &'a port::Doorbell,
    link: Link,
    job: Option<RunningJob>,
    out: &'a Outputs,
    last_progress: Instant,
}

impl<'a> Session<'a> {
    fn new(
        config: &DriverConfig,
        port: port::NativePort,
        bell: &'a port::Doorbell,
        out: &'a Outputs,
    ) -> Session<'a> {
        let now = Instant::now();
        Session {
            port,
            bell,
            link: Link::new(config.link.clone(), now),
            job: None,
            out,
            last_progress: now,
        }
    }

    fn run(mut self, inbox: &Receiver<(Command, Option<Reply>)>) -> Ended {
        let mut buf = [0u8; 4096];
        loop {
            loop {
                match inbox.try_recv() {
                    Ok((Command::Disconnect, reply)) => {
                        let _ = self.flush();
                        self.interrupt("Gantry stopped while printing");
                        answer(reply, Ok(()));
                        return Ended::Disconnect;
                    }
                    Ok((command, reply)) => {
                        let verdict = self.handle(command);
                        answer(reply, verdict);
                    }
                    Err(TryRecvError::Disconnected) => {
                        self.interrupt("Gantry stopped while printing");
                        return Ended::Disconnect;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            if let Err(reason) = self.feed() {
                self.fail(reason);
            }
            if let Err(e) = self.flush() {
                return self.lost(format!("writing to the printer failed: {e}"));
            }
            while let Some(event) = self.link.poll_event() {
                self.apply(event);
            }
            self.progress();
            if self.link.state() == LinkState::Dead {
                return self.lost("the printer stopped answering".into());
            }

            let wait = self
                .next_deadline()
                .saturating_duration_since(Instant::now());
            match port::wait(&mut self.port, self.bell, wait) {
                Ok(false) => {}
                Ok(true) => match port::read(&mut self.port, &mut buf) {
                    Ok(0) => return self.lost("the port closed".into()),
                    Ok(n) => self.link.handle_input(&buf[..n], Instant::now()),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return self.lost(format!("the printer went away: {e}")),
                },
                Err(e) => return self.lost(format!("cannot wait for the port: {e}")),
            }
            let now = Instant::now();
            if self.link.poll_timeout().is_some_and(|at| at <= now) {
                self.link.handle_timeout(now);
            }
        }
    }

    /// When the thread must look again even if the port stays quiet and no command comes: the
    /// link's next timeout, and while printing the next progress report.
    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let progress = self
            .job
            .as_ref()
            .map(|_| self.last_progress + PROGRESS_INTERVAL);
        [self.link.poll_timeout(), progress, Some(now + IDLE_WAIT)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now) // the array holds `Some(now + IDLE_WAIT)`
    }

    fn ready(&self) -> Result<(), Refusal> {
        match self.link.state() {
            LinkState::Ready => Ok(()),
            LinkState::Halted => Err(Refusal::Halted),
            LinkState::Connecting | LinkState::Dead => Err(Refusal::NotConnected),
        }
    }

    fn handle(&mut self, command: Command) -> Result<(), Refusal> {
        match command {
            Command::Send(line) => {
                self.ready()?;
                if self.job.is_some() {
                    if let Some(reason) = refusal_while_printing(&line) {
                        return Err(Refusal::Unsafe(reason));
                    }
                }
                self.link
                    .enqueue_command(&line)
                    .map_err(|e| Refusal::Invalid(e.to_string()))
            }
            Command::StartJob(spec) => {
                self.ready()?;
                if self.job.is_some() {
                    return Err(Refusal::Busy);
                }
                let id = spec.id;
                let mut job = RunningJob::open(spec, Instant::now())
                    .map_err(|e| Refusal::Invalid(e.to_string()))?;
                job.push_preamble(&mut self.link)
                    .map_err(|e| Refusal::Invalid(e.to_string()))?;
                self.out.milestone(JobEvent::Started { job: id });
                self.job = Some(job);
                self.publish_job(State::Printing);
                Ok(())
            }
            Command::Pause => {
                let job = self.job.as_mut().ok_or(Refusal::NoJob)?;
                if job.paused {
                    return Err(Refusal::AlreadyPaused);
                }
                job.paused = true;
                let (id, at, script) =
                    (job.spec.id, job.acked, job.spec.scripts.after_pause.clone());
                self.enqueue_script(&script);
                self.out.milestone(JobEvent::Paused { job: id, at });
                self.publish_job(State::Paused);
                Ok(())
            }
            Command::Resume => {
                let job = self.job.as_mut().ok_or(Refusal::NoJob)?;
                if !job.paused {
                    return Err(Refusal::NotPaused);
                }
                let (id, script) = (job.spec.id, job.spec.scripts.before_resume.clone());
                self.enqueue_script(&script);
                if let Some(job) = self.job.as_mut() {
                    job.paused = false;
                }
                self.out.milestone(JobEvent::Resumed { job: id });
                self.publish_job(State::Printing);
                Ok(())
            }
            Command::Cancel => {
                let job = self.job.take().ok_or(Refusal::NoJob)?;
                self.link.discard_job_lines();
                let script = if job.spec.scripts.after_cancel.is_empty() {
                    Scripts::default_cancel()
                } else {
                    job.spec.scripts.after_cancel.clone()
                };
                self.enqueue_script(&script);
                self.out.milestone(JobEvent::Cancelled {
                    job: job.spec.id,
                    at: job.acked,
                });
                self.publish_job(State::Ready);
                Ok(())
            }
            Command::EmergencyStop => {
                self.link.emergency_stop();
                if let Some(job) = self.job.take() {
                    let reason = "emergency stop".to_string();
                    self.out.milestone(JobEvent::Failed {
                        job: job.spec.id,
                        at: job.acked,
                        reason,
                    });
                }
                self.out.set(|s| {
                    s.state = State::Error;
                    s.error = Some("Emergency stop: the firmware has halted. Reset or power-cycle the printer.".into());
                    s.job = None;
                });
                Ok(())
            }
            // Handled by the caller, which owns the session's end.
            Command::Disconnect => Ok(()),
        }
    }

    fn enqueue_script(&mut self, script: &[String]) {
        for line in script {
            if let Err(e) = self.link.enqueue_command(line) {
                tracing::warn!(%line, error = %e, "script line refused");
            }
        }
    }

    fn feed(&mut self) -> Result<(), String> {
        match self.job.as_mut() {
            Some(job) => job
                .feed(&mut self.link)
                .map_err(|e: JobError| e.to_string()),
            None => Ok(()),
        }
    }

    /// Hands the link's lines to the kernel. No `tcdrain`: waiting for the UART to empty
    /// would idle the wire between lines on a real USB-serial adapter.
    fn flush(&mut self) -> io::Result<()> {
        while let Some(bytes) = self.link.poll_transmit(Instant::now()) {
            self.port.write_all(&bytes)?;
        }
        Ok(())
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::JobLineAcked { tag } => {
                if let Some(job) = self.job.as_mut() {
                    job.acknowledge(tag);
                }
            }
            Event::Log { direction, line } => self.out.log.push(direction == Direction::Sent, line),
            Event::Temperatures(temperatures) => self.out.set(|s| s.temperatures = temperatures),
            Event::Connected(firmware) => self.out.set(|s| {
                s.state = State::Ready;
                s.error = None;
                s.firmware = Some(firmware);
            }),
            Event::FirmwareError {
                message,
                fatal: true,
            } => {
                if let Some(job) = self.job.take() {
                    let reason = format!("the printer reported: {message}");
                    self.out.milestone(JobEvent::Failed {
                        job: job.spec.id,
                        at: job.acked,
                        reason,
                    });
                }
                self.out.set(|s| {
                    s.state = State::Error;
                    s.error = Some(message);
                    s.job = None;
                });
            }
            Event::FirmwareError {
                message,
                fatal: false,
            } => {
                tracing::info!(%message, "firmware reported an error it recovered from");
            }
            Event::Reset => {
                self.interrupt("the printer restarted");
                self.out.set(|s| {
                    s.state = State::Connecting;
                    s.error = Some("the printer restarted".into());
                });
            }
            Event::LinkDead { reason } => tracing::warn!(%reason, "link dead"),
            other => tracing::debug!(event = ?other, "printer event"),
        }
    }

    /// Reports job progress (throttled), checkpoints, and the end of a job.
    fn progress(&mut self) {
        let now = Instant::now();
        let Some(job) = self.job.as_mut() else { return };
        if let Some(at) = job.checkpoint(now) {
            self.out.milestone(JobEvent::Checkpoint {
                job: job.spec.id,
                at,
            });
        }
        if job.is_done() {
            let (id, at) = (job.spec.id, job.acked);
            self.job = None;
            self.out.milestone(JobEvent::Finished { job: id, at });
            self.publish_job(State::Ready);
        } else if now.duration_since(self.last_progress) >= PROGRESS_INTERVAL {
            self.last_progress = now;
            let status = job.status();
            self.out.set(|s| s.job = Some(status));
        }
    }

    fn publish_job(&mut self, state: State) {
        self.last_progress = Instant::now();
        let job = self.job.as_ref().map(RunningJob::status);
        self.out.set(|s| {
            s.state = state;
            s.job = job;
        });
    }

    fn fail(&mut self, reason: String) {
        if let Some(job) = self.job.take() {
            self.link.discard_job_lines();
            self.out.milestone(JobEvent::Failed {
                job: job.spec.id,
                at: job.acked,
                reason,
            });
            self.publish_job(State::Ready);
        }
    }

    /// The job cannot go on, but it can be resumed from its last acknowledged line.
    fn interrupt(&mut self, reason: &str) {
        if let Some(job) = self.job.take() {
            let reason = reason.to_string();
            self.out.milestone(JobEvent::Interrupted {
                job: job.spec.id,
                at: job.acked,
                reason,
            });
        }
    }

    fn lost(mut self, reason: String) -> Ended {
        self.interrupt(&format!(
            "the connection to the printer was lost ({reason})"
        ));
        Ended::Lost(reason)
    }
}

fn answer(reply: Option<Reply>, verdict: Result<(), Refusal>) {
    if let Some(reply) = reply {
        // The asker may have given up waiting; the verdict is then moot.
        let _ = reply.send(verdict);
    }
}

/// Sleeps for `interval` unless a disconnect arrives first; true means stop. Anything else
/// asked meanwhile is refused: the printer is not there.
fn wait_or_disconnect(inbox: &Receiver<(Command, Option<Reply>)>, interval: Duration) -> bool {
    let deadline = Instant::now() + interval;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match inbox.recv_timeout(left) {
            Ok((Command::Disconnect, reply)) => {
                answer(reply, Ok(()));
                return true;
            }
            Err(RecvTimeoutError::Disconnected) => return true,
            Ok((_, reply)) => answer(reply, Err(Refusal::NotConnected)),
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}
