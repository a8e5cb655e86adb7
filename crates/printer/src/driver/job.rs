//! A print job as the printer thread runs it: the file streams from disk one line at a time,
//! and the journal position only advances when the firmware acknowledges a line.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use gcode::{ReadError, Reader};
use marlin::Link;
use serde::{Deserialize, Serialize};

/// How often the journal position is reported while printing: at least once a second, so a
/// crash or an unplugged cable loses at most a second of progress.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// What the printer thread needs to run a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub id: i64,
    pub path: PathBuf,
    pub name: String,
    /// Continue an interrupted job after this point instead of starting at the top.
    pub resume: Option<ResumePoint>,
    pub scripts: Scripts,
}

/// Where to pick an interrupted job up, and the commands that restore the printer first.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    /// The last line of the file already printed (1-based); streaming restarts after it.
    pub after_line: u64,
    /// The byte offset just after that line.
    pub offset: u64,
    pub preamble: Vec<String>,
}

/// User-configurable G-code run around pauses and cancellations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scripts {
    pub after_pause: Vec<String>,
    pub before_resume: Vec<String>,
    pub after_cancel: Vec<String>,
}

impl Scripts {
    /// Heaters and fan off, motors released: what a cancelled print should leave behind.
    pub fn default_cancel() -> Vec<String> {
        ["M104 S0", "M140 S0", "M106 S0", "M84"]
            .map(String::from)
            .to_vec()
    }
}

/// The journal position: how far the firmware has acknowledged the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub line: u64,
    pub offset: u64,
}

/// How a job ended, for the journal.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    Started {
        job: i64,
    },
    Checkpoint {
        job: i64,
        at: Position,
    },
    Paused {
        job: i64,
        at: Position,
    },
    Resumed {
        job: i64,
    },
    Finished {
        job: i64,
        at: Position,
    },
    Cancelled {
        job: i64,
        at: Position,
    },
    /// The firmware reported a fatal error, or the file could not be read.
    Failed {
        job: i64,
        at: Position,
        reason: String,
    },
    /// The link was lost (unplugged, reset, Gantry stopping): resumable from `at`.
    Interrupted {
        job: i64,
        at: Position,
        reason: String,
    },
}

/// The live view of a job, published with the printer's status.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub id: i64,
    pub name: String,
    pub total_bytes: u64,
    pub acked: Position,
    pub paused: bool,
    pub started_at: SystemTime,
    pub resumed_from_line: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("the printer refused a line: {0}")]
    Link(#[from] marlin::LinkError),
}

/// Feeds the link from the file and tracks what the firmware has acknowledged.
pub struct RunningJob {
    pub spec: JobSpec,
    reader: Reader<BufReader<File>>,
    /// Lines handed to the link, oldest first: (tag, position after the line).
    in_flight: VecDeque<(u64, Position)>,
    next_tag: u64,
    pub acked: Position,
    last_checkpoint: (Instant, Position),
    pub total_bytes: u64,
    pub paused: bool,
    end_of_file: bool,
    pub started_at: SystemTime,
}

impl RunningJob {
    pub fn open(spec: JobSpec, now: Instant) -> Result<RunningJob, JobError> {
        let open_error = |source| JobError::Open {
            path: spec.path.display().to_string(),
            source,
        };
        let file = File::open(&spec.path).map_err(open_error)?;
        let total_bytes = file.metadata().map_err(open_error)?.len();
        let (reader, acked) = match &spec.resume {
            Some(point) => (
                Reader::resume_after(BufReader::new(file), point.after_line, point.offset)?,
                Position {
                    line: point.after_line,
                    offset: point.offset,
                },
            ),
            None => (Reader::new(BufReader::new(file)), Position::default()),
        };
        Ok(RunningJob {
            spec,
            reader,
            in_flight: VecDeque::new(),
            next_tag: 1,
            acked,
            last_checkpoint: (now, acked),
            total_bytes,
            paused: false,
            end_of_file: false,
            started_at: SystemTime::now(),
        })
    }

    /// Queues the resume preamble ahead of the file's lines; its lines carry the resume
    /// position, so acknowledging them moves nothing.
    pub fn push_preamble(&mut self, link: &mut Link) -> Result<(), JobError> {
        let preamble = self
            .spec
            .resume
            .as_ref()
            .map(|p| p.preamble.clone())
            .unwrap_or_default();
        for line in preamble {
            self.push(link, &line, self.acked)?;
        }
        Ok(())
    }

    /// Hands the link as many lines as its window takes.
    pub fn feed(&mut self, link: &mut Link) -> Result<(), JobError> {
        while !self.paused && !self.end_of_file && link.wants_job_line() {
            match self.reader.next_line()? {
                Some(line) => {
                    let at = Position {
                        line: line.number,
                        offset: line.end_offset,
                    };
                    let command = line.command.to_owned();
                    self.push(link, &command, at)?;
                }
                None => {
                    // A final M400 whose acknowledgement proves every earlier line was taken:
                    // a plain `ok` can, rarely, be the late answer to a rejected line.
                    // It stands for the whole file, trailing comments included.
                    let end = Position {
                        line: self.reader.line_number(),
                        offset: self.reader.offset(),
                    };
                    self.push(link, "M400", end)?;
                    self.end_of_file = true;
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, link: &mut Link, command: &str, at: Position) -> Result<(), JobError> {
        let tag = self.next_tag;
        self.next_tag += 1;
        link.push_job_line(command, tag)?;
        self.in_flight.push_back((tag, at));
        Ok(())
    }

    /// The firmware acknowledged the line with `tag` (and so every line before it).
    pub fn acknowledge(&mut self, tag: u64) {
        while let Some(&(front, at)) = self.in_flight.front() {
            if front > tag {
                break;
            }
            self.in_flight.pop_front();
            self.acked = at;
        }
    }

    pub fn is_done(&self) -> bool {
        self.end_of_file && self.in_flight.is_empty()
    }

    /// A checkpoint for the journal when the position moved and a second has passed.
    pub fn checkpoint(&mut self, now: Instant) -> Option<Position> {
        let (at, last) = self.last_checkpoint;
        if self.acked != last && now.duration_since(at) >= CHECKPOINT_INTERVAL {
            self.last_checkpoint = (now, self.acked);
            return Some(self.acked);
        }
        None
    }

    pub fn status(&self) -> JobStatus {
        JobStatus {
            id: self.spec.id,
            name: self.spec.name.clone(),
            total_bytes: self.total_bytes,
            acked: self.acked,
            paused: self.paused,
            started_at: self.started_at,
            resumed_from_line: self.spec.resume.as_ref().map(|r| r.after_line),
        }
    }
}
