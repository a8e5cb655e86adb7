//! The connection state machine.
//!
//! # Line accounting
//!
//! Every line the link sends is numbered and kept in `history`, a contiguous run of line numbers
//! ending at `next_line - 1`. Three counters walk along it:
//!
//! - `confirmed`: every line below it is known to have been accepted by the firmware;
//! - `send_ptr`: the next line to put on the wire (below `next_line` while re-sending);
//! - `next_line`: the number the next new command gets.
//!
//! Lines in `confirmed..send_ptr` are in flight; the send window limits how many. A plain `ok`
//! confirms the line of the transmission it answers; an `ADVANCED_OK` `ok N<n>` confirms
//! everything up to `n`; `Resend: k` confirms everything below `k` and rewinds `send_ptr` to `k`.
//!
//! The firmware answers transmissions in order, one `ok` each (a rejected line gets
//! `Resend:` + `ok`), so `wire` keeps the transmissions not yet answered, oldest first, to tell
//! which transmission an answer belongs to. That is what makes the duplicate-resend guards
//! exact: a `Resend:` answering a copy of a line the firmware already has (a line sent twice,
//! a re-send after a timeout that lost only the `ok`), or a line sent before an earlier rewind,
//! changes nothing. Transmissions lost on the wire leave entries that are never answered; they
//! only make the link assume less than it could, and the timeout probe recovers from that.
//! One loss the link expects: Marlin empties its serial input at every rejection, so when an
//! old copy is rejected late, the lines re-sent since may be gone with no answer at all. After
//! such a stale rejection the link sends again if nothing is confirmed within
//! `resend_ok_timeout`, instead of waiting out the communication timeout.
//!
//! Responses carry no checksum, so the link never lets a doubtful `ok` acknowledge a line:
//! after a garbled line (invalid UTF-8, control characters; possibly a rejection's `Error:` or
//! `Resend:`) or an `Unknown command` echo for a command it did not send (a fragment of a line
//! split by noise), a plain `ok` only triggers a probe. A probe sends the oldest
//! unacknowledged line again: the firmware either takes it, or rejects the copy with a
//! `Resend:` for the following line, which acknowledges it. With `ADVANCED_OK`, only an `ok`
//! naming a line number acknowledges anything.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::frame::frame;
use crate::response::{
    parse_response, strip_prefix_ci, ErrorKind, FirmwareInfo, OkResponse, Position, Response,
    Temperatures,
};

/// Tunables. `Config::default()` follows OctoPrint's defaults where the reference gives them.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sent lines kept for resend requests (at least 64).
    pub history_size: usize,
    /// How long a line may wait for its `ok` (and how long the link may stay silent while
    /// idle) before the link probes the firmware.
    pub command_timeout: Duration,
    /// Replaces `command_timeout` once the firmware has sent `busy:`.
    pub busy_timeout: Duration,
    /// While a long-running command (`G28`, `G29`, `M109`, `M190`, `M400`, …) is in flight the
    /// usual timeouts are suspended: its `ok` may take this long (counted from when it was
    /// sent or the last `ok`/`busy:`) before the link probes.
    pub long_command_timeout: Duration,
    /// Consecutive timeouts tolerated while no job line is queued or in flight; one more and
    /// the link is dead.
    pub max_timeouts_idle: u32,
    /// Consecutive timeouts tolerated while job lines are queued or in flight.
    pub max_timeouts_printing: u32,
    /// How long to wait for the answer to the hello (`M110 N0`) or to `M115`.
    pub connect_timeout: Duration,
    /// How many times the hello is retried before the link is dead.
    pub hello_retries: u32,
    /// `M105` poll interval when the firmware has no temperature autoreport
    /// (`Duration::ZERO` turns polling off).
    pub temperature_poll_interval: Duration,
    /// The `M155 S<n>` interval when the firmware reports `Cap:AUTOREPORT_TEMP:1`
    /// (0: do not use autoreport; poll instead).
    pub autoreport_interval_secs: u32,
    /// Resend requests for the same line tolerated before the link is declared stuck (dead).
    pub max_resends: u32,
    /// The largest send window. The window is 1 until the firmware reports `ADVANCED_OK`
    /// free-buffer counts; set 1 to stay strictly ping-pong.
    pub window_cap: usize,
    /// A `Resend:` is normally followed by an `ok` that does not acknowledge a line. If no `ok`
    /// arrives within this time (firmware that omits it), stop waiting for it. Also how long
    /// the link waits, after a stale rejection, for a sign that the lines it resent survived
    /// the firmware emptying its input, before it sends them again.
    pub resend_ok_timeout: Duration,
    /// Send `M113 S<busy_timeout - 1 s>` the first time `busy:` is seen, as OctoPrint does, so
    /// the keep-alive interval fits the busy timeout.
    pub set_busy_interval: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            history_size: 64,
            command_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(3),
            long_command_timeout: Duration::from_secs(30 * 60),
            max_timeouts_idle: 2,
            max_timeouts_printing: 5,
            connect_timeout: Duration::from_secs(5),
            hello_retries: 3,
            temperature_poll_interval: Duration::from_secs(1),
            autoreport_interval_secs: 1,
            max_resends: 10,
            window_cap: 8,
            resend_ok_timeout: Duration::from_millis(500),
            set_busy_interval: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Handshake in progress (hello, `M115`).
    Connecting,
    /// Identified; commands and job lines flow.
    Ready,
    /// The firmware halted (fatal error) or an emergency stop was sent. Only `M999` is accepted.
    Halted,
    /// The link gave up (no answer, stuck resends, lost history). Terminal.
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake finished: the hello was answered and `M115` (with its `Cap:` lines) too.
    Connected(FirmwareInfo),
    /// From autoreport, `M105` answers and `M109`/`M190` wait lines.
    Temperatures(Temperatures),
    /// An `M114` answer.
    Position(Position),
    /// The firmware acknowledged the job line pushed with this tag.
    JobLineAcked {
        tag: u64,
    },
    /// A command from [`Link::enqueue_command`] was acknowledged. `response` holds the lines the
    /// firmware sent for it before its `ok` (temperature reports and `busy:` lines excluded),
    /// then the `ok` line itself when it carries data (e.g. `ok T:…` for `M105`).
    CommandAcked {
        command: String,
        response: Vec<String>,
    },
    FirmwareError {
        message: String,
        fatal: bool,
    },
    Busy(String),
    /// `//action:<text>`
    Action(String),
    /// `start` was seen while connected: the firmware rebooted and every queued or in-flight
    /// line is lost. The link starts a new handshake.
    Reset,
    /// Every line sent or received, for the console.
    Log {
        direction: Direction,
        line: String,
    },
    LinkDead {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the printer link is not ready yet")]
    NotReady,
    #[error("the firmware is halted; only M999 is accepted")]
    Halted,
    #[error("the printer link is dead")]
    Dead,
    #[error("a command must be a single line")]
    Newline,
    #[error("the command is empty")]
    Empty,
    #[error("a command must not contain '*' (it would break the checksum)")]
    Asterisk,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Hello,
    Identify,
    Internal,
    Poll,
    Manual,
    Job(u64),
}

#[derive(Debug)]
struct Entry {
    n: u32,
    command: String,
    kind: Kind,
    long_running: bool,
    response: Vec<String>,
}

/// A rejection in progress: Marlin answers a bad line with `Error:…, Last Line: <n>`, then
/// `Resend: <n+1>`, then an `ok` that acknowledges nothing.
#[derive(Debug, Clone, Copy)]
struct Rejection {
    /// The transmission being rejected.
    tx: Option<Tx>,
    /// The line the firmware wants next (from `Resend:`, or from the error's `Last Line:`).
    k: Option<u32>,
    /// The `Resend:` line has been handled; only its `ok` is still expected.
    resent: bool,
    since: Instant,
}

/// See [`Link::flush_watch`](Link).
#[derive(Debug, Clone, Copy)]
struct FlushWatch {
    deadline: Instant,
    confirmed: u32,
}

/// One transmission not yet answered.
#[derive(Debug, Clone, Copy)]
struct Tx {
    line: u32,
    /// Sent before a rewind to a line at or below it: the firmware rejects it.
    doomed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Hello,
    Identify,
    Connected,
}

/// The sans-IO Marlin link. See the crate documentation.
pub struct Link {
    config: Config,
    state: LinkState,
    phase: Phase,
    hello_attempts: u32,
    connect_deadline: Instant,
    gathering: FirmwareInfo,
    firmware: Option<FirmwareInfo>,

    rx: Vec<u8>,
    events: VecDeque<Event>,
    emergency: Vec<u8>,

    history: VecDeque<Entry>,
    next_line: u32,
    send_ptr: u32,
    confirmed: u32,
    wire: VecDeque<Tx>,
    rejection: Option<Rejection>,
    /// Set by a stale rejection: Marlin empties its receive buffer whenever it rejects a line,
    /// so copies sent after the rejected one may be gone without a word. Unless a line beyond
    /// `confirmed` is confirmed by `deadline`, the link sends again from the first unconfirmed.
    flush_watch: Option<FlushWatch>,
    /// A garbled line (invalid UTF-8, control characters) arrived since the last `ok`: it may
    /// have been the `Error:`/`Resend:` of a rejection, so the next plain `ok` proves nothing.
    suspect: bool,
    /// The line of the last acted-on resend request and how many times in a row it came.
    resend_streak: (u32, u32),
    window: usize,
    advanced_ok: bool,

    internal: VecDeque<String>,
    manual: VecDeque<String>,
    jobs: VecDeque<(String, u64)>,
    jobs_unacked: usize,

    poll_outstanding: bool,
    next_poll: Option<Instant>,
    probe_pending: bool,

    busy_mode: bool,
    busy_interval_sent: bool,
    /// When the oldest in-flight line's wait for an `ok` started counting (first transmission
    /// into an empty window, or the last `ok`/`busy:`/probe).
    last_progress: Instant,
    /// For the idle timeout: the last time anything was received or a probe was sent.
    last_activity: Instant,
    timeouts: u32,
    pending_error: Option<String>,
    /// A hello was re-sent after a `start` banner, so one more `ok` than expected may come.
    spare_hello_ok: bool,
}

const LONG_RUNNING: &[&str] = &[
    "G4", "G28", "G29", "G30", "G32", "G33", "G34", "G35", "M48", "M109", "M116", "M190", "M191",
    "M226", "M303", "M400", "M600",
];

/// The `Last Line: <n>` of a Marlin line-number or checksum error.
fn last_line(message: &str) -> Option<u32> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("last line:")? + "last line:".len();
    let digits: String = message[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn command_code(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or("")
}

fn is_long_running(command: &str) -> bool {
    let code = command_code(command);
    LONG_RUNNING.iter().any(|c| c.eq_ignore_ascii_case(code))
}

impl Link {
    /// A new link in state `Connecting`, with the numbered hello `M110 N0` queued.
    pub fn new(config: Config, now: Instant) -> Link {
        let mut config = config;
        config.history_size = config.history_size.max(64);
        config.window_cap = config.window_cap.max(1);
        let mut link = Link {
            config,
            state: LinkState::Connecting,
            phase: Phase::Hello,
            hello_attempts: 0,
            connect_deadline: now,
            gathering: FirmwareInfo::default(),
            firmware: None,
            rx: Vec::new(),
            events: VecDeque::new(),
            emergency: Vec::new(),
            history: VecDeque::new(),
            next_line: 0,
            send_ptr: 0,
            confirmed: 0,
            wire: VecDeque::new(),
            rejection: None,
            flush_watch: None,
            suspect: false,
            resend_streak: (0, 0),
            window: 1,
            advanced_ok: false,
            internal: VecDeque::new(),
            manual: VecDeque::new(),
            jobs: VecDeque::new(),
            jobs_unacked: 0,
            poll_outstanding: false,
            next_poll: None,
            probe_pending: false,
            busy_mode: false,
            busy_interval_sent: false,
            last_progress: now,
            last_activity: now,
            timeouts: 0,
            pending_error: None,
            spare_hello_ok: false,
        };
        link.hello(now);
        link
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    /// What `M115` reported, once connected.
    pub fn firmware(&self) -> Option<&FirmwareInfo> {
        self.firmware.as_ref()
    }

    // ---------------------------------------------------------------- input

    /// Feed bytes read from the port, in any chunking. Lines end at `\n`; `\r` is stripped;
    /// invalid UTF-8 is replaced.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.rx.extend_from_slice(bytes);
        while let Some(pos) = self.rx.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.rx.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&raw[..raw.len() - 1]);
            let text = text.trim_end_matches('\r').to_string();
            self.handle_line(text, now);
        }
        // A firmware that never sends a newline must not grow the buffer without bound.
        if self.rx.len() > 4096 {
            let raw = std::mem::take(&mut self.rx);
            self.handle_line(String::from_utf8_lossy(&raw).into_owned(), now);
        }
    }

    fn handle_line(&mut self, line: String, now: Instant) {
        if self.state == LinkState::Dead {
            return;
        }
        self.events.push_back(Event::Log {
            direction: Direction::Received,
            line: line.clone(),
        });
        self.last_activity = now;

        let mut response = parse_response(&line);
        if let Some(number) = self.pending_error.take() {
            // `Error:0` alone on a line: the message is on the next line.
            let joined = format!("Error:{number} {}", line.trim());
            response = parse_response(&joined);
        }
        let garbled = line.contains(char::REPLACEMENT_CHARACTER);
        if garbled || line.chars().any(|c| c.is_control() && c != '\t') {
            self.suspect = true;
        }
        if garbled && matches!(response, Response::Resend(_)) {
            // Noise in a line makes its numbers worthless: `Resend: 8\u{fffd}` may have been
            // `Resend: 85`. The `ok` after it is then suspect, and the probe that causes
            // recovers.
            response = Response::Other(line.clone());
        }
        if !matches!(
            response,
            Response::Ok(_) | Response::Resend(_) | Response::Error { .. }
        ) && self.rejection.is_some_and(|r| r.resent)
        {
            // Firmware that sends `Resend:` without an `ok` after it.
            self.rejection = None;
        }

        match response {
            Response::Ok(ok) => self.on_ok(ok, &line, now),
            Response::Resend(k) => self.on_resend(k, now),
            Response::Error { kind, message } => self.on_error(kind, message, now),
            Response::Busy(reason) => {
                self.last_progress = now;
                self.timeouts = 0;
                self.busy_mode = true;
                if self.config.set_busy_interval
                    && !self.busy_interval_sent
                    && self.state == LinkState::Ready
                {
                    self.busy_interval_sent = true;
                    let secs = self.config.busy_timeout.as_secs().saturating_sub(1).max(1);
                    self.internal.push_back(format!("M113 S{secs}"));
                }
                self.events.push_back(Event::Busy(reason));
            }
            Response::Wait => self.on_wait(now),
            Response::Start => self.on_start(now),
            Response::Temperature(t) => self.events.push_back(Event::Temperatures(t)),
            Response::Position(p) => {
                self.collect(line);
                self.events.push_back(Event::Position(p));
            }
            Response::FirmwareInfo(fields) => {
                if self.phase == Phase::Identify {
                    self.gathering.add_fields(&fields);
                    self.spare_hello_ok = false;
                }
                self.collect(line);
            }
            Response::Capability { name, enabled } => {
                if self.phase == Phase::Identify {
                    self.gathering.capabilities.push((name, enabled));
                }
                self.collect(line);
            }
            Response::Action(text) => {
                self.collect(line);
                self.events.push_back(Event::Action(text));
            }
            Response::Echo(text) => {
                if self.unknown_command_not_ours(&text) {
                    // Noise split one of our lines and the firmware ran a fragment: an `ok`
                    // that answers none of our lines follows.
                    self.suspect = true;
                }
                self.collect(line);
            }
            Response::Other(_) => self.collect(line),
        }
    }

    /// `Unknown command: "<cmd>"` about a command that is not the oldest line in flight.
    fn unknown_command_not_ours(&self, echo: &str) -> bool {
        let Some(rest) = strip_prefix_ci(echo, "Unknown command:") else {
            return false;
        };
        let quoted = rest.trim().trim_matches('"');
        let ours = (self.confirmed < self.send_ptr)
            .then(|| self.entry(self.confirmed))
            .flatten()
            .is_some_and(|e| e.command.eq_ignore_ascii_case(quoted));
        !ours
    }

    /// Attach a received line to the oldest in-flight line when that is a manual command.
    fn collect(&mut self, line: String) {
        if self.confirmed < self.send_ptr {
            if let Some(entry) = self.entry_mut(self.confirmed) {
                if entry.kind == Kind::Manual {
                    entry.response.push(line);
                }
            }
        }
    }

    fn on_ok(&mut self, ok: OkResponse, line: &str, now: Instant) {
        self.timeouts = 0;
        self.last_progress = now;
        if let Some(t) = &ok.temperatures {
            self.events.push_back(Event::Temperatures(t.clone()));
        }
        let garbled = line.contains(char::REPLACEMENT_CHARACTER);
        if let (Some(_), Some(free), false) = (ok.line, ok.buffer_free, garbled) {
            // `B` counts free command slots while the acknowledged command still holds its
            // own, so the buffer holds at least `B + 1` lines. Keeping that many in flight
            // never overruns it: each one is either on the wire or in a slot. Sizing the
            // window from the latest `B` instead would count lines still on the wire twice
            // and leave the wire idle between them.
            self.advanced_ok = true;
            self.window = self
                .window
                .max(free as usize + 1)
                .clamp(1, self.config.window_cap);
        }
        let carries_data = ok.temperatures.is_some() || !ok.rest.is_empty();
        let suspect = std::mem::take(&mut self.suspect) && self.phase != Phase::Hello;

        // A `start` banner during the hello makes the link say hello again, and the firmware
        // may answer both hellos. A plain `ok` in the identify phase before any M115 report line
        // is then the answer to the first hello, not to M115: skip it once. (If it was M115's
        // after all, the connect timeout asks again.)
        if self.phase == Phase::Identify
            && self.spare_hello_ok
            && ok.line.is_none()
            && !carries_data
            && self.gathering == FirmwareInfo::default()
        {
            self.spare_hello_ok = false;
            return;
        }

        let mut accepted = None;
        if let Some(rejection) = self.rejection.take() {
            // The `ok` of a rejected line. If its `Resend:` was lost, the error said which
            // line the firmware wants.
            if !rejection.resent {
                if let Some(k) = rejection.k {
                    self.resend(k, rejection.tx, now);
                }
            }
        } else {
            // Transmissions of lines already confirmed cannot be what an acceptance answers:
            // they are copies whose answer was lost, or were lost themselves.
            while self
                .wire
                .front()
                .is_some_and(|tx| !tx.doomed && tx.line < self.confirmed)
            {
                self.wire.pop_front();
            }
            if let Some(tx) = self.wire.pop_front() {
                if !tx.doomed {
                    accepted = Some(tx.line);
                }
            }
        }
        if let Some(n) = ok.line.filter(|_| !garbled) {
            // ADVANCED_OK names the line it acknowledges, which beats counting; numbers
            // outside what was sent are from before the hello.
            if n < self.next_line && self.phase != Phase::Hello {
                accepted = Some(n);
            }
        } else if self.advanced_ok {
            // With ADVANCED_OK every numbered line's `ok` names it; one without a number
            // answers something else (a rejection, an unnumbered line made by noise).
            accepted = None;
        } else if accepted.is_some() && (suspect || garbled) {
            // This `ok` may answer a rejection whose `Error:`/`Resend:` was garbled. Probe
            // by sending the oldest unconfirmed line again: the firmware either takes it or
            // rejects it as a duplicate with a `Resend:` that confirms it.
            accepted = None;
            if self.confirmed < self.send_ptr {
                self.send_ptr = self.confirmed;
            }
        }
        if let Some(n) = accepted {
            if carries_data && n >= self.confirmed {
                if let Some(entry) = self.entry_mut(n) {
                    if entry.kind == Kind::Manual {
                        entry.response.push(line.to_string());
                    }
                }
            }
            self.confirm_through(n, now);
        }
    }

    fn on_resend(&mut self, k: u32, now: Instant) {
        let answered = match self.rejection.take() {
            Some(r) if !r.resent => r.tx,
            _ => self.take_rejected(Some(k)),
        };
        self.resend(k, answered, now);
        // The `ok` that follows answers the rejected line (even across a new hello).
        self.rejection = Some(Rejection {
            tx: None,
            k: Some(k),
            resent: true,
            since: now,
        });
    }

    fn resend(&mut self, k: u32, answered: Option<Tx>, now: Instant) {
        let stale = answered.is_some_and(|tx| tx.doomed || tx.line < k);
        if self.phase == Phase::Hello {
            if k == 1 {
                // The hello arrived (twice): the firmware expects line 1.
                self.confirm_through(0, now);
            } else {
                // The firmware still counts lines from before the hello.
                self.rehello(now);
            }
            return;
        }
        if k > self.next_line {
            // The firmware counts lines this link never sent (it was reset without `start`,
            // or the hello was lost). Retrying the hello is the only way to agree again.
            if self.state == LinkState::Connecting {
                self.rehello(now);
            }
            return;
        }
        if k > 0 {
            self.confirm_through(k - 1, now);
        }
        if stale {
            // The firmware emptied its receive buffer when it rejected this old copy, perhaps
            // with the copies sent since the request it already answered.
            if self.confirmed < self.send_ptr {
                self.flush_watch = Some(FlushWatch {
                    deadline: now + self.config.resend_ok_timeout,
                    confirmed: self.confirmed,
                });
            }
            return;
        }
        if k >= self.send_ptr {
            return;
        }
        // A genuine request: rewind.
        let oldest = self.history.front().map_or(self.next_line, |e| e.n);
        if k < oldest {
            self.die(format!(
                "the firmware asked for line {k}, older than the resend history"
            ));
            return;
        }
        if self.resend_streak.0 == k {
            self.resend_streak.1 += 1;
        } else {
            self.resend_streak = (k, 1);
        }
        if self.resend_streak.1 > self.config.max_resends {
            self.die(format!(
                "communication stuck: line {k} requested {} times",
                self.resend_streak.1
            ));
            return;
        }
        self.rewind(k, now);
    }

    /// The transmission a rejection answers. The firmware rejects a line when it reads it,
    /// but acknowledges a line only once it has executed it, so with several lines in flight
    /// a rejection overtakes the `ok`s of the lines queued ahead of it: it answers the oldest
    /// transmission of line `k` (the one the firmware wants) or later, not the oldest of all.
    fn take_rejected(&mut self, k: Option<u32>) -> Option<Tx> {
        let at = match k {
            Some(k) => self.wire.iter().position(|tx| tx.line >= k)?,
            None => 0,
        };
        self.wire.remove(at)
    }

    /// Send again from line `k`. Every transmission still unanswered for a line at or after `k`
    /// will be rejected by the firmware (it waits for `k`), so its answers change nothing.
    fn rewind(&mut self, k: u32, now: Instant) {
        for tx in self.wire.iter_mut() {
            if tx.line >= k {
                tx.doomed = true;
            }
        }
        self.confirmed = self.confirmed.min(k);
        self.send_ptr = self.send_ptr.min(k);
        self.last_progress = now;
    }

    fn on_error(&mut self, kind: ErrorKind, message: String, now: Instant) {
        if !message.is_empty() && message.bytes().all(|b| b.is_ascii_digit()) {
            self.pending_error = Some(message);
            return;
        }
        match kind {
            ErrorKind::Resend => {
                // Not collected into a command's response: the line is sent again.
                if self.rejection.is_none_or(|r| r.resent) {
                    let k = last_line(&message)
                        .filter(|_| !message.contains(char::REPLACEMENT_CHARACTER))
                        .map(|n| n.saturating_add(1));
                    self.rejection = Some(Rejection {
                        tx: self.take_rejected(k),
                        k,
                        resent: false,
                        since: now,
                    });
                }
            }
            ErrorKind::Ignorable => {
                self.collect(format!("Error:{message}"));
            }
            ErrorKind::Recoverable => {
                // The firmware dropped the line it answers without a resend or an `ok`: send
                // it again (OctoPrint fakes an `ok` and lets the next line provoke the resend).
                let dropped = self
                    .wire
                    .pop_front()
                    .filter(|tx| !tx.doomed)
                    .map(|tx| tx.line);
                if let Some(line) = dropped {
                    let k = line.max(self.confirmed);
                    if k < self.send_ptr {
                        self.rewind(k, now);
                    }
                }
            }
            ErrorKind::Other => {
                self.collect(format!("Error:{message}"));
                self.events.push_back(Event::FirmwareError {
                    message,
                    fatal: false,
                });
            }
            ErrorKind::Fatal => {
                self.halt();
                self.events.push_back(Event::FirmwareError {
                    message,
                    fatal: true,
                });
            }
        }
    }

    fn on_wait(&mut self, now: Instant) {
        match self.phase {
            // During the handshake `wait` stands for a lost `ok`.
            Phase::Hello => self.on_ok(OkResponse::default(), "wait", now),
            // `M115` was lost: send it again.
            Phase::Identify => {
                if self.confirmed < self.send_ptr {
                    self.send_ptr = self.confirmed;
                }
            }
            Phase::Connected => {
                // While printing, `wait` (the firmware's queue is empty) means an in-flight
                // line or its `ok` was lost: probe by sending the oldest one again.
                if self.state == LinkState::Ready
                    && self.jobs_unacked > 0
                    && self.confirmed < self.send_ptr
                {
                    self.send_ptr = self.confirmed;
                    self.last_progress = now;
                }
            }
        }
    }

    fn on_start(&mut self, now: Instant) {
        if self.phase == Phase::Connected || self.state == LinkState::Halted {
            self.events.push_back(Event::Reset);
        }
        self.spare_hello_ok = self.phase == Phase::Hello;
        self.hello_attempts = 0;
        self.rehello(now);
    }

    // ---------------------------------------------------------------- confirmations

    fn entry_mut(&mut self, n: u32) -> Option<&mut Entry> {
        let first = self.history.front()?.n;
        let idx = n.checked_sub(first)? as usize;
        self.history.get_mut(idx)
    }

    fn entry(&self, n: u32) -> Option<&Entry> {
        let first = self.history.front()?.n;
        let idx = n.checked_sub(first)? as usize;
        self.history.get(idx)
    }

    /// Every line up to and including `n` has been accepted.
    fn confirm_through(&mut self, n: u32, now: Instant) {
        while self.confirmed <= n && self.confirmed < self.next_line {
            let c = self.confirmed;
            self.confirmed += 1;
            let Some(entry) = self.entry_mut(c) else {
                continue;
            };
            let kind = entry.kind.clone();
            let command = entry.command.clone();
            let response = std::mem::take(&mut entry.response);
            // A line confirmed twice (after a rewind below an earlier confirmation) reports once.
            entry.kind = Kind::Internal;
            match kind {
                Kind::Hello => {
                    self.phase = Phase::Identify;
                    self.gathering = FirmwareInfo::default();
                    self.internal.push_back("M115".to_string());
                    self.connect_deadline = now + self.config.connect_timeout;
                }
                Kind::Identify => self.connected(now),
                Kind::Internal => {}
                Kind::Poll => self.poll_outstanding = false,
                Kind::Manual => {
                    if self.state == LinkState::Halted
                        && command_code(&command).eq_ignore_ascii_case("M999")
                    {
                        self.state = LinkState::Ready;
                    }
                    self.events
                        .push_back(Event::CommandAcked { command, response });
                }
                Kind::Job(tag) => {
                    self.jobs_unacked = self.jobs_unacked.saturating_sub(1);
                    self.events.push_back(Event::JobLineAcked { tag });
                }
            }
        }
        if self.send_ptr < self.confirmed {
            self.send_ptr = self.confirmed;
        }
        if self.resend_streak.1 > 0 && self.confirmed > self.resend_streak.0 {
            self.resend_streak = (0, 0);
        }
        self.trim_history();
    }

    fn trim_history(&mut self) {
        while self.history.len() > self.config.history_size
            && self.history.front().is_some_and(|e| e.n < self.confirmed)
        {
            self.history.pop_front();
        }
        while self.wire.len() > self.config.history_size {
            self.wire.pop_front();
        }
    }

    fn connected(&mut self, now: Instant) {
        let info = std::mem::take(&mut self.gathering);
        self.phase = Phase::Connected;
        self.state = LinkState::Ready;
        self.timeouts = 0;
        self.last_activity = now;
        let autoreport =
            info.has_capability("AUTOREPORT_TEMP") && self.config.autoreport_interval_secs > 0;
        if autoreport {
            self.internal
                .push_back(format!("M155 S{}", self.config.autoreport_interval_secs));
            self.next_poll = None;
        } else if !self.config.temperature_poll_interval.is_zero() {
            self.next_poll = Some(now);
        }
        self.firmware = Some(info.clone());
        self.events.push_back(Event::Connected(info));
    }

    // ---------------------------------------------------------------- handshake and teardown

    fn hello(&mut self, now: Instant) {
        self.phase = Phase::Hello;
        self.state = LinkState::Connecting;
        self.history.clear();
        self.wire.clear();
        self.internal.clear();
        self.manual.clear();
        self.jobs.clear();
        self.jobs_unacked = 0;
        self.rejection = None;
        self.flush_watch = None;
        self.suspect = false;
        self.resend_streak = (0, 0);
        self.window = 1;
        self.advanced_ok = false;
        self.poll_outstanding = false;
        self.next_poll = None;
        self.probe_pending = false;
        self.busy_mode = false;
        self.busy_interval_sent = false;
        self.pending_error = None;
        self.gathering = FirmwareInfo::default();
        self.history.push_back(Entry {
            n: 0,
            command: "M110 N0".to_string(),
            kind: Kind::Hello,
            long_running: false,
            response: vec![],
        });
        self.next_line = 1;
        self.send_ptr = 0;
        self.confirmed = 0;
        self.connect_deadline = now + self.config.connect_timeout;
        self.last_progress = now;
        self.last_activity = now;
    }

    fn rehello(&mut self, now: Instant) {
        if self.state == LinkState::Dead {
            return;
        }
        self.hello_attempts += 1;
        if self.hello_attempts > self.config.hello_retries {
            self.die("no answer to the hello (M110 N0)".to_string());
            return;
        }
        self.hello(now);
    }

    fn halt(&mut self) {
        if self.state == LinkState::Dead {
            return;
        }
        self.state = LinkState::Halted;
        self.jobs.clear();
        self.manual.clear();
        self.internal.clear();
        self.probe_pending = false;
        // Whatever is in flight or waiting to be sent again is abandoned (not acknowledged).
        self.send_ptr = self.next_line;
        self.confirmed = self.next_line;
        self.jobs_unacked = 0;
        self.rejection = None;
        self.flush_watch = None;
    }

    fn die(&mut self, reason: String) {
        if self.state == LinkState::Dead {
            return;
        }
        self.state = LinkState::Dead;
        self.jobs.clear();
        self.manual.clear();
        self.internal.clear();
        self.events.push_back(Event::LinkDead { reason });
    }

    // ---------------------------------------------------------------- output

    fn in_flight(&self) -> usize {
        self.send_ptr.saturating_sub(self.confirmed) as usize
    }

    fn long_running_in_flight(&self) -> bool {
        (self.confirmed..self.send_ptr).any(|n| self.entry(n).is_some_and(|e| e.long_running))
    }

    fn poll_due(&self, now: Instant) -> bool {
        self.state == LinkState::Ready
            && !self.poll_outstanding
            && self.next_poll.is_some_and(|t| now >= t)
            && !self.long_running_in_flight()
    }

    /// The next new command to number and send, if any may go now.
    fn next_command(&mut self, now: Instant) -> Option<(String, Kind)> {
        match (self.state, self.phase) {
            (LinkState::Dead, _) => None,
            (_, Phase::Hello) => None,
            (_, Phase::Identify) => self.internal.pop_front().map(|c| {
                let kind = if c == "M115" {
                    Kind::Identify
                } else {
                    Kind::Internal
                };
                (c, kind)
            }),
            (LinkState::Halted, _) => self.manual.pop_front().map(|c| (c, Kind::Manual)),
            _ => {
                if let Some(c) = self.internal.pop_front() {
                    return Some((c, Kind::Internal));
                }
                if self.probe_pending {
                    self.probe_pending = false;
                    self.poll_outstanding = true;
                    return Some(("M105".to_string(), Kind::Poll));
                }
                if let Some(c) = self.manual.pop_front() {
                    return Some((c, Kind::Manual));
                }
                if self.poll_due(now) {
                    self.poll_outstanding = true;
                    self.next_poll = Some(now + self.config.temperature_poll_interval);
                    return Some(("M105".to_string(), Kind::Poll));
                }
                self.jobs.pop_front().map(|(c, tag)| (c, Kind::Job(tag)))
            }
        }
    }

    /// The next bytes to write to the port: complete lines, each ending in `\n`. Call until
    /// it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if !self.emergency.is_empty() {
            return Some(std::mem::take(&mut self.emergency));
        }
        if self.state == LinkState::Dead {
            return None;
        }
        let mut out = Vec::new();
        while self.in_flight() < self.window {
            if self.send_ptr >= self.next_line {
                let Some((command, kind)) = self.next_command(now) else {
                    break;
                };
                let n = self.next_line;
                let command = if command_code(&command).eq_ignore_ascii_case("M110") {
                    // Keep the firmware's numbering equal to this link's.
                    format!("M110 N{n}")
                } else {
                    command
                };
                if matches!(kind, Kind::Job(_)) {
                    self.jobs_unacked += 1;
                }
                let long_running = is_long_running(&command);
                self.history.push_back(Entry {
                    n,
                    command,
                    kind,
                    long_running,
                    response: vec![],
                });
                self.next_line += 1;
            }
            let n = self.send_ptr;
            let Some(entry) = self.entry_mut(n) else {
                // Cannot happen: history always holds every unconfirmed line.
                self.die(format!("line {n} missing from the history"));
                return None;
            };
            let line = frame(n, &entry.command);
            if self.in_flight() == 0 {
                self.last_progress = now;
            }
            self.events.push_back(Event::Log {
                direction: Direction::Sent,
                line: line.trim_end().to_string(),
            });
            out.extend_from_slice(line.as_bytes());
            self.wire.push_back(Tx {
                line: n,
                doomed: false,
            });
            self.send_ptr += 1;
            if self.phase != Phase::Connected {
                break;
            }
        }
        self.trim_history();
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---------------------------------------------------------------- time

    fn comm_deadline(&self) -> Option<Instant> {
        if self.state != LinkState::Ready {
            return None;
        }
        if self.in_flight() > 0 {
            if self.long_running_in_flight() {
                // Not from the last line received: autoreport keeps that fresh even when the
                // long command's `ok` was lost.
                return Some(self.last_progress + self.config.long_command_timeout);
            }
            let timeout = if self.busy_mode {
                self.config.busy_timeout
            } else {
                self.config.command_timeout
            };
            Some(self.last_progress + timeout)
        } else if self.send_ptr < self.next_line {
            None // a rewind is waiting to be sent
        } else {
            Some(self.last_activity + self.config.command_timeout)
        }
    }

    /// When [`Link::handle_timeout`] must be called next (`None`: only input can change
    /// anything). It may already have passed, e.g. when a temperature poll is due: call
    /// `handle_timeout` and then [`Link::poll_transmit`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        match self.state {
            LinkState::Dead => return None,
            LinkState::Connecting => consider(Some(self.connect_deadline)),
            LinkState::Ready => {
                consider(self.comm_deadline());
                // Only when the poll could go out then (else an `ok` makes room for it).
                if !self.poll_outstanding
                    && self.in_flight() < self.window
                    && !self.long_running_in_flight()
                {
                    consider(self.next_poll);
                }
            }
            LinkState::Halted => {}
        }
        consider(
            self.rejection
                .map(|r| r.since + self.config.resend_ok_timeout),
        );
        consider(self.flush_watch.map(|w| w.deadline));
        next
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(watch) = self.flush_watch.filter(|w| now >= w.deadline) {
            self.flush_watch = None;
            if self.confirmed <= watch.confirmed && self.confirmed < self.send_ptr {
                // Nothing came through: what was sent since is gone or will be rejected.
                let from = self.confirmed;
                self.rewind(from, now);
            }
        }
        if let Some(r) = self.rejection {
            if now >= r.since + self.config.resend_ok_timeout {
                // No `ok` after the rejection (or no `Resend:` after the error).
                self.rejection = None;
                if !r.resent {
                    if let Some(k) = r.k {
                        self.resend(k, r.tx, now);
                    }
                }
            }
        }
        match self.state {
            LinkState::Dead | LinkState::Halted => {}
            LinkState::Connecting => {
                if now >= self.connect_deadline {
                    self.rehello(now);
                }
            }
            LinkState::Ready => {
                if self.comm_deadline().is_some_and(|d| now >= d) {
                    self.timeouts += 1;
                    let limit = if self.jobs_unacked > 0 || !self.jobs.is_empty() {
                        self.config.max_timeouts_printing
                    } else {
                        self.config.max_timeouts_idle
                    };
                    if self.timeouts > limit {
                        self.die(format!(
                            "no answer from the firmware after {} timeouts",
                            self.timeouts - 1
                        ));
                        return;
                    }
                    if self.in_flight() > 0 {
                        // Probe by sending the oldest unacknowledged line again: the firmware
                        // either accepts it (it was lost) or rejects it as a duplicate with a
                        // `Resend:` for the next line (its `ok` was lost).
                        self.send_ptr = self.confirmed;
                    } else {
                        self.probe_pending = true;
                    }
                    self.last_progress = now;
                    self.last_activity = now;
                }
            }
        }
    }

    // ---------------------------------------------------------------- commands

    fn check_command(command: &str) -> Result<String, LinkError> {
        if command.contains(['\n', '\r']) {
            return Err(LinkError::Newline);
        }
        let command = command.split(';').next().unwrap_or("").trim();
        if command.is_empty() {
            return Err(LinkError::Empty);
        }
        if command.contains('*') {
            return Err(LinkError::Asterisk);
        }
        Ok(command.to_string())
    }

    /// Queue a user/manual/script command: numbered and checksummed, sent before further job
    /// lines. Its `ok` produces [`Event::CommandAcked`]. While halted only `M999` is accepted.
    pub fn enqueue_command(&mut self, command: &str) -> Result<(), LinkError> {
        let command = Self::check_command(command)?;
        match self.state {
            LinkState::Dead => Err(LinkError::Dead),
            LinkState::Connecting => Err(LinkError::NotReady),
            LinkState::Halted if !command_code(&command).eq_ignore_ascii_case("M999") => {
                Err(LinkError::Halted)
            }
            _ => {
                self.manual.push_back(command);
                Ok(())
            }
        }
    }

    /// Whether the driver should push the next job line now.
    pub fn wants_job_line(&self) -> bool {
        self.state == LinkState::Ready && self.jobs.len() < self.window
    }

    /// Queue one job line; `tag` comes back in [`Event::JobLineAcked`] once the firmware has
    /// acknowledged it.
    pub fn push_job_line(&mut self, line: &str, tag: u64) -> Result<(), LinkError> {
        let command = Self::check_command(line)?;
        match self.state {
            LinkState::Ready => {
                self.jobs.push_back((command, tag));
                Ok(())
            }
            LinkState::Connecting => Err(LinkError::NotReady),
            LinkState::Halted => Err(LinkError::Halted),
            LinkState::Dead => Err(LinkError::Dead),
        }
    }

    /// Drops the job lines queued but not yet numbered, for a cancelled job; returns how many.
    /// Lines already numbered stay in the stream (the firmware's line count depends on them)
    /// and their acknowledgements still arrive.
    pub fn discard_job_lines(&mut self) -> usize {
        let dropped = self.jobs.len();
        self.jobs.clear();
        dropped
    }

    /// `M112` out of band, ahead of every queue: once plain and once numbered. Queued commands
    /// and job lines are dropped and the link is `Halted`.
    pub fn emergency_stop(&mut self) {
        let n = self.next_line;
        let numbered = frame(n, "M112");
        self.emergency.extend_from_slice(b"M112\n");
        self.emergency.extend_from_slice(numbered.as_bytes());
        self.events.push_back(Event::Log {
            direction: Direction::Sent,
            line: "M112".to_string(),
        });
        self.events.push_back(Event::Log {
            direction: Direction::Sent,
            line: numbered.trim_end().to_string(),
        });
        if self.state == LinkState::Dead {
            return;
        }
        self.halt();
        self.history.push_back(Entry {
            n,
            command: "M112".to_string(),
            kind: Kind::Internal,
            long_running: false,
            response: vec![],
        });
        self.next_line = n + 1;
        self.send_ptr = self.next_line;
        self.confirmed = self.next_line;
        self.wire.push_back(Tx {
            line: n,
            doomed: false,
        });
    }
}
