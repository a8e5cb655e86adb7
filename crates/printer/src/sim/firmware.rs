//! The Marlin-like firmware, sans-IO: fed received bytes and the time, it queues the bytes it
//! answers and says when it next needs the clock. No threads, no pty, no sleeping, so every
//! answer can be checked in a unit test with a made-up clock.
//!
//! The model follows Marlin 2: a serial receive buffer, a line reader that validates `N` and
//! `*checksum` and fills a command queue of `BUFSIZE` lines, one command executing at a time
//! and answered with `ok` when it finishes, a planner that moves drain from, heaters that
//! approach their targets, the emergency parser, `M155` autoreport and `busy:` keep-alives.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::command::Command;
use super::faults::FaultSettings;
use super::heater::Heater;
use super::line::{significant, RawLine};
use super::rng::Rng;
use super::SimConfig;

/// The firmware version it claims to be.
const VERSION: &str = "2.1.2.4";
/// Marlin's `MAX_CMD_SIZE`: the emergency parser looks no further into a line.
const MAX_CMD_SIZE: usize = 96;
/// Leaving the target by more than this restarts the residency timer (`TEMP_HYSTERESIS`).
const TEMP_HYSTERESIS: f64 = 3.0;
/// Marlin's steps per mm on a typical Cartesian printer, for `M114`'s `Count`.
const STEPS_PER_MM: [f64; 3] = [80.0, 80.0, 400.0];
/// Guard against a scheduling bug spinning at one instant.
const MAX_STEPS_PER_INSTANT: u32 = 10_000;

/// The simulated firmware.
#[derive(Debug)]
pub struct Firmware {
    config: SimConfig,
    faults: FaultSettings,
    rng: Rng,
    power: Power,
    now: Instant,
    /// Answers with the instant each was produced, so the wire can start sending them then
    /// rather than when the I/O thread next looks.
    out: Vec<(Instant, Vec<u8>)>,
    accepted: Vec<String>,
    /// Serial receive buffer: bytes received and not yet read into the queue.
    rx: Vec<u8>,
    /// The line the emergency parser is looking at.
    ep_line: Vec<u8>,
    queue: VecDeque<Command>,
    exec: Option<Running>,
    last_n: i64,
    numbered_received: u64,
    /// Completion times of the moves in the planner, oldest first.
    planner: VecDeque<Instant>,
    hotend: Heater,
    bed: Heater,
    motion: Motion,
    fan: u8,
    autoreport: Option<Timer>,
    keepalive: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    Booting(Instant),
    Running,
    Halted,
}

/// A periodic report and when it next fires.
#[derive(Debug, Clone, Copy)]
struct Timer {
    every: Duration,
    next: Instant,
}

impl Timer {
    fn new(every: Duration, now: Instant) -> Self {
        Self {
            every,
            next: now + every,
        }
    }

    /// Whether it fires at `now`; moves on past `now` if so.
    fn fire(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        while self.next <= now {
            self.next += self.every;
        }
        true
    }
}

/// The command being executed (or an internal busy spell when `command` is `None`).
#[derive(Debug)]
struct Running {
    command: Option<Command>,
    /// Processing time ends here; the phase is looked at from then on.
    ready_at: Instant,
    phase: Phase,
    /// `echo:busy: <text>` keep-alives while it runs; `None` while heating (temperatures are
    /// reported instead).
    busy: Option<(&'static str, Timer)>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Finishes when processing time is over.
    Done,
    /// A move: finishes when the planner has a free block.
    Move,
    /// Waits for the planner to empty, then for `then` more (homing, dwell).
    Drain {
        then: Duration,
    },
    Sleep(Instant),
    Heat(HeatWait),
    /// `M0`/`M1`: until `M108` or the optional deadline.
    User(Option<Instant>),
}

#[derive(Debug, Clone, Copy)]
struct HeatWait {
    bed: bool,
    /// `R` waits for cooling too; `S` only for heating.
    wait_cooling: bool,
    reached_at: Option<Instant>,
    report: Timer,
}

#[derive(Debug, Clone, Copy, Default)]
struct Motion {
    /// X, Y, Z, E.
    pos: [f64; 4],
    relative: bool,
    e_relative: bool,
}

impl Firmware {
    /// Powers the firmware on at `now`.
    pub fn new(config: &SimConfig, faults: FaultSettings, now: Instant) -> Self {
        let mut fw = Self {
            rng: Rng::new(config.seed),
            faults,
            power: Power::Halted,
            now,
            out: Vec::new(),
            accepted: Vec::new(),
            rx: Vec::new(),
            ep_line: Vec::new(),
            queue: VecDeque::new(),
            exec: None,
            last_n: 0,
            numbered_received: 0,
            planner: VecDeque::new(),
            hotend: Heater::new(config.ambient, config.heat_rate, config.cool_rate, now),
            bed: Heater::new(config.ambient, config.bed_heat_rate, config.cool_rate, now),
            motion: Motion::default(),
            fan: 0,
            autoreport: None,
            keepalive: config.keepalive,
            config: config.clone(),
        };
        fw.reset(now);
        fw
    }

    /// Bytes to send to the host, oldest first.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.take_timed_output()
            .into_iter()
            .flat_map(|(_, bytes)| bytes)
            .collect()
    }

    /// Bytes to send to the host, oldest first, each run with the instant it was produced.
    pub fn take_timed_output(&mut self) -> Vec<(Instant, Vec<u8>)> {
        std::mem::take(&mut self.out)
    }

    /// Command lines accepted into the queue since the last call (no `N`, no checksum).
    pub fn take_accepted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.accepted)
    }

    pub fn is_halted(&self) -> bool {
        self.power == Power::Halted
    }

    /// Hotend and bed temperatures (actual, target) at the last instant seen.
    pub fn temperatures(&self) -> [(f64, f64); 2] {
        [
            (self.hotend.temp(), self.hotend.target()),
            (self.bed.temp(), self.bed.target()),
        ]
    }

    /// When the firmware next has something to do by itself, if ever.
    pub fn next_wakeup(&self) -> Option<Instant> {
        match self.power {
            Power::Booting(at) => return Some(at),
            Power::Halted => return None,
            Power::Running if self.faults.silent => return None,
            Power::Running => {}
        }
        let exec = self.exec.as_ref().and_then(|run| self.exec_deadline(run));
        let busy = self
            .exec
            .as_ref()
            .and_then(|run| run.busy.filter(|_| !self.keepalive.is_zero()))
            .map(|(_, timer)| timer.next);
        let report = self.autoreport.map(|timer| timer.next);
        [exec, busy, report].into_iter().flatten().min()
    }

    fn exec_deadline(&self, run: &Running) -> Option<Instant> {
        if self.now < run.ready_at {
            return Some(run.ready_at);
        }
        match run.phase {
            Phase::Done => Some(run.ready_at),
            Phase::Move => self.planner.front().copied(),
            Phase::Drain { .. } => self.planner.back().copied(),
            Phase::Sleep(until) => Some(until),
            Phase::User(deadline) => deadline,
            Phase::Heat(wait) => {
                let heater = if wait.bed { &self.bed } else { &self.hotend };
                let settle = match wait.reached_at {
                    Some(at) => Some(at + self.config.temp_residency),
                    // A hair past the exact solution, so the window is surely reached then.
                    None => heater
                        .time_to_reach(self.config.temp_window)
                        .map(|eta| self.now + eta + Duration::from_millis(1)),
                };
                Some(settle.map_or(wait.report.next, |s| s.min(wait.report.next)))
            }
        }
    }

    /// Runs everything that is due up to `now`, each at its own instant.
    pub fn advance(&mut self, now: Instant) {
        let now = now.max(self.now);
        let mut steps = 0;
        let mut last = self.now;
        while let Some(at) = self.next_wakeup().filter(|&at| at <= now) {
            steps = if at == last { steps + 1 } else { 0 };
            if steps > MAX_STEPS_PER_INSTANT {
                tracing::error!(
                    ?at,
                    "simulated firmware stuck at one instant; skipping ahead"
                );
                break;
            }
            last = at;
            self.run_at(at.max(self.now));
        }
        self.run_at(now);
    }

    /// Bytes arriving from the host at `now`.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        self.advance(now);
        if self.power != Power::Running || self.faults.silent {
            return;
        }
        if self.config.emergency_parser {
            for &b in bytes {
                self.emergency_parse(b);
                if self.power != Power::Running {
                    return;
                }
            }
        }
        let room = self
            .config
            .rx_buffer_bytes
            .map_or(usize::MAX, |cap| cap.saturating_sub(self.rx.len()));
        if bytes.len() > room {
            tracing::debug!(lost = bytes.len() - room, "serial receive buffer overflow");
        }
        self.rx.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.run_at(now);
    }

    /// New fault knobs from now on.
    pub fn set_faults(&mut self, faults: FaultSettings, now: Instant) {
        self.advance(now);
        let waking = self.faults.silent && !faults.silent;
        self.faults = faults;
        if waking {
            // A hung firmware that recovers reports on its normal rhythm from now on.
            if let Some(timer) = &mut self.autoreport {
                *timer = Timer::new(timer.every, now);
            }
            let keepalive = self.keepalive;
            if let Some((_, timer)) = self.exec.as_mut().and_then(|run| run.busy.as_mut()) {
                *timer = Timer::new(keepalive, now);
            }
        }
        self.run_at(now);
    }

    /// Be busy for `duration`: the running command takes that much longer, or, when idle, an
    /// internal job (think of a move started from the LCD) holds the firmware.
    pub fn busy_for(&mut self, duration: Duration, now: Instant) {
        self.advance(now);
        if self.power != Power::Running {
            return;
        }
        match &mut self.exec {
            Some(run) => run.ready_at = run.ready_at.max(now) + duration,
            None => {
                self.exec = Some(Running {
                    command: None,
                    ready_at: now + duration,
                    phase: Phase::Done,
                    busy: Some(("processing", Timer::new(self.keepalive, now))),
                })
            }
        }
    }

    /// A fatal error: the reason, then Marlin's kill message; nothing answers after that.
    pub fn fatal(&mut self, reason: &str, now: Instant) {
        self.advance(now);
        if self.power == Power::Running {
            self.kill(Some(reason), now);
        }
    }

    /// Reboots as after a DTR reset: state cleared, `start` banner after the boot delay.
    pub fn reset(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.hotend.set_target(0.0, now);
        self.bed.set_target(0.0, now);
        self.rx.clear();
        self.ep_line.clear();
        self.queue.clear();
        self.exec = None;
        self.last_n = 0;
        self.planner.clear();
        self.motion = Motion::default();
        self.fan = 0;
        self.autoreport = None;
        self.keepalive = self.config.keepalive;
        self.power = Power::Booting(now + self.config.boot_delay);
        self.run_at(now);
    }

    /// Everything due at `now`, which is no earlier than any instant seen before.
    fn run_at(&mut self, now: Instant) {
        self.now = now;
        self.hotend.advance(now);
        self.bed.advance(now);
        match self.power {
            Power::Booting(at) if at <= now => self.boot(),
            Power::Running => {}
            Power::Booting(_) | Power::Halted => return,
        }
        if self.faults.silent {
            return;
        }
        self.step_exec(now);
        if let Some(run) = &mut self.exec {
            if let Some((text, timer)) = &mut run.busy {
                if !self.keepalive.is_zero() && timer.fire(now) {
                    let line = format!("echo:busy: {text}");
                    self.emit(&line);
                }
            }
        }
        if let Some(timer) = &mut self.autoreport {
            if timer.fire(now) {
                let line = self.temperature_report();
                self.emit(&line);
            }
        }
    }

    fn boot(&mut self) {
        self.power = Power::Running;
        self.emit("start");
        self.emit(&format!("echo:Marlin {VERSION}"));
        self.emit("echo: Last Updated: 2024-06-01 | Author: (Gantry simulator)");
        self.emit("echo:Compiled: Jun  1 2024");
        self.emit("echo: Free Memory: 4096  PlannerBufferBytes: 1408");
    }

    /// Executes queued commands until one has to wait.
    fn step_exec(&mut self, now: Instant) {
        loop {
            if self.power != Power::Running {
                return;
            }
            if self.exec.is_none() {
                self.read_serial();
                let Some(command) = self.queue.front().cloned() else {
                    return;
                };
                self.start(command, now);
            }
            if !self.progress(now) {
                return;
            }
            self.complete(now);
        }
    }

    /// Begins a command: its processing time, then the phase it waits in.
    fn start(&mut self, command: Command, now: Instant) {
        let ready_at = now + self.faults.command_latency;
        let mut busy = Some("processing");
        let phase = match (command.letter, command.code) {
            (Some('G'), 0..=3) => Phase::Move,
            (Some('G'), 4) => {
                let ms =
                    command.value('P').unwrap_or(0.0) + command.value('S').unwrap_or(0.0) * 1e3;
                Phase::Drain {
                    then: Duration::from_secs_f64(ms.max(0.0) / 1e3),
                }
            }
            (Some('G'), 28) => Phase::Drain {
                then: self.config.home_duration,
            },
            (Some('M'), 400) => Phase::Drain {
                then: Duration::ZERO,
            },
            (Some('M'), 0 | 1) => {
                busy = Some("paused for user");
                let ms =
                    command.value('P').unwrap_or(0.0) + command.value('S').unwrap_or(0.0) * 1e3;
                Phase::User((ms > 0.0).then(|| ready_at + Duration::from_secs_f64(ms / 1e3)))
            }
            (Some('M'), code @ (109 | 190)) => {
                let bed = code == 190;
                let wait_cooling = command.value('R').is_some();
                if let Some(target) = command.value('R').or_else(|| command.value('S')) {
                    let heater = if bed { &mut self.bed } else { &mut self.hotend };
                    heater.set_target(target, now);
                }
                busy = None;
                Phase::Heat(HeatWait {
                    bed,
                    wait_cooling,
                    reached_at: None,
                    report: Timer {
                        every: Duration::from_secs(1),
                        next: ready_at,
                    },
                })
            }
            _ => Phase::Done,
        };
        self.exec = Some(Running {
            command: Some(command),
            ready_at,
            phase,
            busy: busy.map(|text| (text, Timer::new(self.keepalive, now))),
        });
    }

    /// Whether the running command is finished at `now`.
    fn progress(&mut self, now: Instant) -> bool {
        let Some(run) = &self.exec else {
            return false;
        };
        if now < run.ready_at {
            return false;
        }
        let phase = run.phase;
        self.prune_planner(now);
        let (done, next) = match phase {
            Phase::Done => (true, phase),
            Phase::Move => (
                self.planner.len() < self.config.planner_blocks.max(1),
                phase,
            ),
            Phase::Drain { then } if self.planner.is_empty() => {
                if then.is_zero() {
                    (true, phase)
                } else {
                    (false, Phase::Sleep(now + then))
                }
            }
            Phase::Drain { .. } => (false, phase),
            Phase::Sleep(until) => (now >= until, phase),
            Phase::User(deadline) => (deadline.is_some_and(|d| now >= d), phase),
            Phase::Heat(wait) => {
                let (done, wait) = self.heat_step(wait, now);
                (done, Phase::Heat(wait))
            }
        };
        if let Some(run) = &mut self.exec {
            run.phase = next;
        }
        done
    }

    /// One look at a heater `M109`/`M190` waits for; reports once a second while waiting.
    fn heat_step(&mut self, mut wait: HeatWait, now: Instant) -> (bool, HeatWait) {
        let heater = if wait.bed { &self.bed } else { &self.hotend };
        let (temp, target) = (heater.temp(), heater.target());
        let window = self.config.temp_window + 1e-9;
        if target <= 0.0 || (!wait.wait_cooling && temp > target + window) {
            return (true, wait);
        }
        let off_by = (temp - target).abs();
        if off_by <= window {
            wait.reached_at.get_or_insert(now);
        } else if off_by > TEMP_HYSTERESIS {
            wait.reached_at = None;
        }
        let residency = self.config.temp_residency;
        if wait.reached_at.is_some_and(|at| now >= at + residency) {
            return (true, wait);
        }
        if wait.report.fire(now) {
            let left = match wait.reached_at {
                Some(at) => (residency.saturating_sub(now - at)).as_secs().to_string(),
                None => "?".to_owned(),
            };
            let line = format!("{} W:{left}", self.temperature_report());
            self.emit(&line);
        }
        (false, wait)
    }

    /// Finishes the running command: its effects, its answer, its `ok`.
    fn complete(&mut self, now: Instant) {
        let Some(run) = self.exec.take() else {
            return;
        };
        let Some(command) = run.command else {
            return;
        };
        let send_ok = self.execute(&command, now);
        if send_ok && self.power == Power::Running {
            let ok = self.ok_line(command.number);
            self.emit(&ok);
        }
        if self.power == Power::Running {
            self.queue.pop_front();
        }
    }

    /// What a finished command does; `false` when it answers without the usual `ok`.
    fn execute(&mut self, cmd: &Command, now: Instant) -> bool {
        match (cmd.letter, cmd.code) {
            (Some('G'), 0..=3) => {
                self.move_to(cmd);
                let start = self.planner.back().map_or(now, |&t| t.max(now));
                self.planner.push_back(start + self.config.planner_drain);
            }
            (Some('G'), 28) => {
                let all = !"XYZ".chars().any(|axis| cmd.has(axis));
                for (i, axis) in "XYZ".chars().enumerate() {
                    if all || cmd.has(axis) {
                        self.motion.pos[i] = 0.0;
                    }
                }
            }
            (Some('G'), 90) => self.motion.relative = false,
            (Some('G'), 91) => self.motion.relative = true,
            (Some('G'), 92) => {
                let all = !"XYZE".chars().any(|axis| cmd.has(axis));
                for (i, axis) in "XYZE".chars().enumerate() {
                    if all {
                        self.motion.pos[i] = 0.0;
                    } else if let Some(v) = cmd.value(axis) {
                        self.motion.pos[i] = v;
                    }
                }
            }
            (Some('G'), 4 | 21) => {}
            (Some('M'), 82) => self.motion.e_relative = false,
            (Some('M'), 83) => self.motion.e_relative = true,
            (Some('M'), 104 | 140) => {
                let bed = cmd.code == 140;
                if !bed && !self.valid_tool(cmd) {
                    return true;
                }
                if let Some(target) = cmd.value('S') {
                    let heater = if bed { &mut self.bed } else { &mut self.hotend };
                    heater.set_target(target, now);
                }
            }
            (Some('M'), 105) => {
                let line = format!("ok{}", self.temperature_report());
                self.emit(&line);
                return false;
            }
            (Some('M'), 106) => {
                self.fan = cmd.value('S').unwrap_or(255.0).clamp(0.0, 255.0) as u8;
            }
            (Some('M'), 107) => self.fan = 0,
            (Some('M'), 109 | 190) => {}
            (Some('M'), 110) => {}
            (Some('M'), 112) => {
                self.kill(None, now);
                return false;
            }
            (Some('M'), 113) => match cmd.value('S') {
                Some(s) => self.keepalive = Duration::from_secs_f64(s.clamp(0.0, 60.0)),
                None => {
                    let line = format!("echo:M113 S{}", self.keepalive.as_secs());
                    self.emit(&line);
                }
            },
            (Some('M'), 114) => {
                let [x, y, z, e] = self.motion.pos;
                let count = |i: usize| (self.motion.pos[i] * STEPS_PER_MM[i]).round() as i64;
                let line = format!(
                    "X:{x:.2} Y:{y:.2} Z:{z:.2} E:{e:.2} Count X:{} Y:{} Z:{}",
                    count(0),
                    count(1),
                    count(2)
                );
                self.emit(&line);
            }
            (Some('M'), 115) => self.report_firmware(),
            (Some('M'), 118) => {
                let mut text = cmd.rest();
                let mut prefix = "";
                while let Some((flag, rest)) = text
                    .split_once(' ')
                    .filter(|(f, _)| matches!(*f, "E1" | "A1" | "P0" | "P1" | "P2" | "E0" | "A0"))
                {
                    match flag {
                        "E1" => prefix = "echo:",
                        "A1" => prefix = "//",
                        _ => {}
                    }
                    text = rest;
                }
                let line = format!("{prefix}{text}");
                self.emit(&line);
            }
            (Some('M'), 155) if self.config.autoreport_temp => {
                if let Some(s) = cmd.value('S') {
                    self.autoreport =
                        (s >= 1.0).then(|| Timer::new(Duration::from_secs_f64(s.min(60.0)), now));
                }
            }
            (Some('M'), 410) => self.planner.clear(),
            (
                Some('M'),
                0
                | 1
                | 17
                | 18
                | 73
                | 75..=77
                | 84
                | 92
                | 108
                | 117
                | 201
                | 203..=206
                | 220
                | 221
                | 400
                | 500..=502
                | 999,
            ) => {}
            (Some('T'), 0) => {}
            (Some('T'), n) => {
                let line = format!("echo:T{n} Invalid extruder");
                self.emit(&line);
            }
            _ => {
                let line = format!("echo:Unknown command: \"{}\"", cmd.text);
                self.emit(&line);
            }
        }
        true
    }

    fn valid_tool(&mut self, cmd: &Command) -> bool {
        match cmd.value('T') {
            Some(t) if t != 0.0 => {
                let line = format!("echo:M{} Invalid extruder {t}", cmd.code);
                self.emit(&line);
                false
            }
            _ => true,
        }
    }

    fn move_to(&mut self, cmd: &Command) {
        for (i, axis) in "XYZE".chars().enumerate() {
            if let Some(v) = cmd.value(axis) {
                let relative = if i == 3 {
                    self.motion.relative || self.motion.e_relative
                } else {
                    self.motion.relative
                };
                self.motion.pos[i] = if relative { self.motion.pos[i] + v } else { v };
            }
        }
    }

    fn report_firmware(&mut self) {
        let line = format!(
            "FIRMWARE_NAME:Marlin {VERSION} (Gantry simulator) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin \
             PROTOCOL_VERSION:1.0 MACHINE_TYPE:{} EXTRUDER_COUNT:1 UUID:{}",
            self.config.name, self.config.uuid
        );
        self.emit(&line);
        let caps = [
            ("SERIAL_XON_XOFF", false),
            ("BINARY_FILE_TRANSFER", false),
            ("EEPROM", true),
            ("VOLUMETRIC", true),
            ("AUTOREPORT_POS", false),
            ("AUTOREPORT_TEMP", self.config.autoreport_temp),
            ("PROGRESS", false),
            ("PRINT_JOB", true),
            ("AUTOLEVEL", false),
            ("RUNOUT", false),
            ("Z_PROBE", false),
            ("LEVELING_DATA", false),
            ("BUILD_PERCENT", true),
            ("SOFTWARE_POWER", false),
            ("TOGGLE_LIGHTS", false),
            ("CASE_LIGHT_BRIGHTNESS", false),
            ("EMERGENCY_PARSER", self.config.emergency_parser),
            ("HOST_ACTION_COMMANDS", false),
            ("PROMPT_SUPPORT", false),
            ("SDCARD", false),
            ("AUTOREPORT_SD_STATUS", false),
            ("LONG_FILENAME", false),
            ("EXTENDED_M20", false),
            ("THERMAL_PROTECTION", true),
            ("MOTION_MODES", false),
            ("ARCS", true),
            ("BABYSTEPPING", false),
            ("CHAMBER_TEMPERATURE", false),
            ("ADVANCED_OK", self.faults.advanced_ok),
        ];
        for (name, on) in caps {
            let line = format!("Cap:{name}:{}", u8::from(on));
            self.emit(&line);
        }
    }

    /// `ok`, or with `ADVANCED_OK` the line number, free planner blocks and free queue slots.
    /// Like Marlin, the command being acknowledged still occupies its queue slot here.
    fn ok_line(&self, number: Option<i64>) -> String {
        let mut ok = String::from("ok");
        if self.faults.advanced_ok {
            if let Some(n) = number {
                let _ = write!(ok, " N{n}");
            }
            let planner_free = self
                .config
                .planner_blocks
                .saturating_sub(self.planner.len());
            let queue_free = self.faults.rx_buffer_lines.saturating_sub(self.queue.len());
            let _ = write!(ok, " P{planner_free} B{queue_free}");
        }
        ok
    }

    /// ` T:.. /.. B:.. /.. @:.. B@:..`, the body of `M105`, autoreport and heating reports.
    fn temperature_report(&self) -> String {
        format!(
            " T:{:.2} /{:.2} B:{:.2} /{:.2} @:{} B@:{}",
            self.hotend.temp(),
            self.hotend.target(),
            self.bed.temp(),
            self.bed.target(),
            self.hotend.power(),
            self.bed.power()
        )
    }

    fn prune_planner(&mut self, now: Instant) {
        while self.planner.front().is_some_and(|&done| done <= now) {
            self.planner.pop_front();
        }
    }

    /// Reads complete lines from the receive buffer into the queue while it has room.
    fn read_serial(&mut self) {
        while self.queue.len() < self.faults.rx_buffer_lines.max(1) {
            let Some(end) = self.rx.iter().position(|&b| b == b'\n' || b == b'\r') else {
                return;
            };
            let line: Vec<u8> = self.rx.drain(..=end).collect();
            let line = significant(&line[..end]);
            if !line.is_empty() {
                self.read_line(line.to_vec());
            }
        }
    }

    /// Validates one line as Marlin's reader does and queues it, or asks for it again.
    fn read_line(&mut self, mut bytes: Vec<u8>) {
        let mut raw = RawLine::parse(&bytes);
        if raw.number.is_some() {
            self.numbered_received += 1;
            if raw.checksum.is_some() && self.should_corrupt() {
                self.corrupt(&mut bytes);
                raw = RawLine::parse(&bytes);
            }
        }
        let command = Command::parse(raw.number, raw.command);
        let m110 = command.is('M', 110);
        match raw.number {
            Some(n) => {
                if !m110 && n != self.last_n + 1 {
                    return self.line_error("Line Number is not Last Line Number+1");
                }
                match raw.checksum {
                    None => return self.line_error("No Checksum with line number"),
                    Some(sum) if !sum.matches() => return self.line_error("checksum mismatch"),
                    Some(_) => {}
                }
                self.last_n = n;
            }
            None if raw.checksum.is_some() => {
                // Marlin reports it but neither asks for the line again nor acknowledges it.
                let line = format!(
                    "Error:No Line Number with checksum, Last Line: {}",
                    self.last_n
                );
                return self.emit(&line);
            }
            None => {}
        }
        if m110 {
            // `M110 N<x>` sets the line number as the line is read, so lines read behind it in
            // the same burst are checked against the new number.
            if let Some(n) = command.value('N') {
                self.last_n = n as i64;
            }
        }
        if self.config.record_accepted {
            self.accepted.push(command.text.clone());
        }
        self.queue.push_back(command);
    }

    fn should_corrupt(&mut self) -> bool {
        let forced = self
            .faults
            .resend_every
            .is_some_and(|n| n > 0 && self.numbered_received % u64::from(n) == 0);
        forced || self.rng.chance(self.faults.corrupt_rate)
    }

    /// Changes one byte covered by the checksum, as line noise would.
    fn corrupt(&mut self, bytes: &mut [u8]) {
        const NOISE: &[u8] = b"0123456789XYZEFGMS.-";
        let Some(star) = bytes.iter().rposition(|&b| b == b'*') else {
            return;
        };
        // Prefer the command over the line number, so the error is a checksum mismatch.
        let start = bytes[..star]
            .iter()
            .position(|&b| b == b' ')
            .map_or(0, |space| space + 1);
        let start = if start < star { start } else { 0 };
        if star == 0 {
            return;
        }
        let at = start + self.rng.below(star - start);
        let mut pick = self.rng.below(NOISE.len());
        if NOISE[pick] == bytes[at] {
            pick = (pick + 1) % NOISE.len();
        }
        bytes[at] = NOISE[pick];
    }

    /// Marlin's answer to a bad line: the error, then `Resend:` and `ok`; the rest of the
    /// receive buffer is flushed.
    fn line_error(&mut self, message: &str) {
        let line = format!("Error:{message}, Last Line: {}", self.last_n);
        self.emit(&line);
        let times = if self.faults.duplicate_resend { 2 } else { 1 };
        for _ in 0..times {
            let line = format!("Resend: {}", self.last_n + 1);
            self.emit(&line);
            if !self.faults.resend_without_ok {
                self.emit("ok");
            }
        }
        self.rx.clear();
    }

    /// The emergency parser sees every byte as it arrives, even while the queue is full.
    fn emergency_parse(&mut self, byte: u8) {
        if byte != b'\n' && byte != b'\r' {
            if self.ep_line.len() < MAX_CMD_SIZE {
                self.ep_line.push(byte);
            }
            return;
        }
        let line = std::mem::take(&mut self.ep_line);
        let raw = RawLine::parse(significant(&line));
        let command = Command::parse(raw.number, raw.command);
        if command.is('M', 112) {
            if self.config.record_accepted {
                self.accepted.push(command.text.clone());
            }
            self.kill(None, self.now);
        } else if command.is('M', 108) {
            if let Some(run) = &mut self.exec {
                if matches!(run.phase, Phase::Heat(_) | Phase::User(_)) {
                    run.phase = Phase::Done;
                }
            }
        } else if command.is('M', 410) {
            self.planner.clear();
        }
    }

    fn kill(&mut self, reason: Option<&str>, now: Instant) {
        if let Some(reason) = reason {
            let line = format!("Error:{reason}");
            self.emit(&line);
        }
        self.emit("Error:Printer halted. kill() called!");
        self.hotend.set_target(0.0, now);
        self.bed.set_target(0.0, now);
        self.power = Power::Halted;
        self.queue.clear();
        self.exec = None;
        self.rx.clear();
        self.planner.clear();
        self.autoreport = None;
    }

    fn emit(&mut self, line: &str) {
        if self.out.last().is_none_or(|(at, _)| *at != self.now) {
            self.out.push((self.now, Vec::new()));
        }
        if let Some((_, bytes)) = self.out.last_mut() {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
    }
}
