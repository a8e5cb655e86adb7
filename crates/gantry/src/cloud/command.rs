//! The commands a cloud may send, decoded into an explicit allow-list.
//!
//! The original client looked a command's name up by reflection on its printer objects; Gantry
//! never dispatches by name: anything not listed here is acknowledged as unknown and logged.

use serde::Deserialize;
use serde_json::Value;

/// A command as the cloud sends it in a `command` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RawCommand {
    pub command: String,
    pub number: Value,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub is_link: bool,
    #[serde(default)]
    pub job_id: Option<Value>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub zip: bool,
}

/// A cloud print job: a file to download and print.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudJob {
    /// The cloud's job id; a start is executed at most once per id.
    pub job_id: String,
    pub url: String,
    pub filename: String,
    pub size: Option<u64>,
    pub zip: bool,
}

/// What Gantry will do for a cloud. Each variant maps onto one local action.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudCommand {
    /// `gcodes` with `is_link`: download and print a file.
    PrintLink(CloudJob),
    /// `gcodes` without a link: G-code lines sent to the printer at once.
    Gcodes(Vec<String>),
    Pause,
    Resume,
    Cancel,
    EmergencyStop,
    SetName(String),
    /// `get_jobs_list`: fetch the cloud's job queue for this printer.
    GetJobsList,
    StartJobById(String),
    StartNextJob,
}

/// Why a command was not decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Cloud error 40: a name outside the allow-list.
    #[error("unknown command `{0}`")]
    Unknown(String),
    /// Cloud error 112: a number that is not a number.
    #[error("the command number {0} is not a number")]
    BadNumber(String),
    /// Cloud error 110: arguments that do not fit the command.
    #[error("bad arguments for `{command}`: {reason}")]
    BadPayload {
        command: String,
        reason: &'static str,
    },
}

impl DecodeError {
    /// The error code reported back to the cloud, as the protocol numbers them.
    pub fn code(&self) -> u32 {
        match self {
            DecodeError::Unknown(_) => 40,
            DecodeError::BadNumber(_) => 112,
            DecodeError::BadPayload { .. } => 110,
        }
    }
}

/// Longest file name kept from the cloud, as in the protocol.
const MAX_FILENAME: usize = 253;

impl RawCommand {
    /// The command number to acknowledge; the cloud sends it as a number or a numeric string.
    pub fn number(&self) -> Result<i64, DecodeError> {
        match &self.number {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| DecodeError::BadNumber(n.to_string())),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| DecodeError::BadNumber(s.clone())),
            other => Err(DecodeError::BadNumber(other.to_string())),
        }
    }

    pub fn decode(&self) -> Result<CloudCommand, DecodeError> {
        let bad = |reason| DecodeError::BadPayload {
            command: self.command.clone(),
            reason,
        };
        Ok(match self.command.as_str() {
            "gcodes" if self.is_link => {
                let url = first_string(&self.payload).ok_or_else(|| bad("no link"))?;
                let job_id = self
                    .job_id
                    .as_ref()
                    .and_then(scalar_text)
                    .ok_or_else(|| bad("no job_id"))?;
                CloudCommand::PrintLink(CloudJob {
                    job_id,
                    url,
                    filename: sanitize_filename(self.filename.as_deref().unwrap_or("cloud-job")),
                    size: self.size,
                    zip: self.zip,
                })
            }
            "gcodes" => {
                let text = first_string(&self.payload).ok_or_else(|| bad("no G-code"))?;
                CloudCommand::Gcodes(gcode_lines(&text))
            }
            "pause" => CloudCommand::Pause,
            "resume" | "unpause" => CloudCommand::Resume,
            "cancel" => CloudCommand::Cancel,
            "emergency_stop" => CloudCommand::EmergencyStop,
            "set_name" => {
                let name = first_string(&self.payload).ok_or_else(|| bad("no name"))?;
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 100 {
                    return Err(bad("a name is 1 to 100 characters"));
                }
                CloudCommand::SetName(name.to_owned())
            }
            "get_jobs_list" => CloudCommand::GetJobsList,
            "start_job_by_id" => CloudCommand::StartJobById(
                first_scalar(&self.payload).ok_or_else(|| bad("no job id"))?,
            ),
            "start_next_job" => CloudCommand::StartNextJob,
            other => return Err(DecodeError::Unknown(other.to_owned())),
        })
    }
}

/// The payload as one argument: a scalar, the first of a list, or a dict's only value.
fn first_value(payload: &Value) -> Option<&Value> {
    match payload {
        Value::Array(items) => items.first(),
        Value::Object(map) if map.len() == 1 => map.values().next(),
        Value::Null => None,
        other => Some(other),
    }
}

fn first_string(payload: &Value) -> Option<String> {
    first_value(payload)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn first_scalar(payload: &Value) -> Option<String> {
    first_value(payload).and_then(scalar_text)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// G-code text from the cloud, one command per line, comments and blanks dropped.
fn gcode_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split(';').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Keeps `[A-Za-z0-9._+-]`, at most 253 characters, never a hidden or empty name.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_FILENAME)
        .collect();
    while clean.starts_with('.') {
        clean.replace_range(0..1, "_");
    }
    if clean.is_empty() {
        clean.push_str("cloud-job");
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> RawCommand {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn allow_listed_commands_decode() {
        let cases = [
            ("pause", CloudCommand::Pause),
            ("resume", CloudCommand::Resume),
            ("unpause", CloudCommand::Resume),
            ("cancel", CloudCommand::Cancel),
            ("emergency_stop", CloudCommand::EmergencyStop),
            ("get_jobs_list", CloudCommand::GetJobsList),
            ("start_next_job", CloudCommand::StartNextJob),
        ];
        for (name, expected) in cases {
            let command = raw(json!({"command": name, "number": 3}));
            assert_eq!(command.decode().unwrap(), expected, "{name}");
            assert_eq!(command.number().unwrap(), 3);
        }
    }

    #[test]
    fn reflection_era_names_are_unknown() {
        for name in [
            "__init__",
            "quit_application",
            "update_software",
            "sender.close",
            "_run",
            "set_verbose",
        ] {
            let err = raw(json!({"command": name, "number": 1}))
                .decode()
                .unwrap_err();
            assert_eq!(err, DecodeError::Unknown(name.into()));
            assert_eq!(err.code(), 40);
        }
    }

    #[test]
    fn links_carry_the_job_and_a_safe_name() {
        let command = raw(json!({
            "command": "gcodes", "number": "7", "payload": ["http://c/files/a.gcode"],
            "is_link": true, "job_id": 991, "filename": "../../etc/pa ss wd.gcode", "size": 120
        }));
        assert_eq!(command.number().unwrap(), 7);
        assert_eq!(
            command.decode().unwrap(),
            CloudCommand::PrintLink(CloudJob {
                job_id: "991".into(),
                url: "http://c/files/a.gcode".into(),
                filename: "pa_ss_wd.gcode".into(),
                size: Some(120),
                zip: false,
            })
        );
        let no_job =
            raw(json!({"command": "gcodes", "number": 1, "payload": "x", "is_link": true}));
        assert_eq!(no_job.decode().unwrap_err().code(), 110);
    }

    #[test]
    fn bad_numbers_and_payloads_are_refused() {
        assert_eq!(
            raw(json!({"command": "pause", "number": "x"}))
                .number()
                .unwrap_err()
                .code(),
            112
        );
        assert_eq!(
            raw(json!({"command": "set_name", "number": 1, "payload": ["  "]}))
                .decode()
                .unwrap_err()
                .code(),
            110
        );
        assert_eq!(
            raw(json!({"command": "set_name", "number": 1, "payload": {"name": "Lab 3"}}))
                .decode()
                .unwrap(),
            CloudCommand::SetName("Lab 3".into())
        );
    }

    #[test]
    fn raw_gcodes_are_split_into_lines() {
        let command =
            raw(json!({"command": "gcodes", "number": -1, "payload": "G28 ; home\n\nM105\r\n"}));
        assert_eq!(
            command.decode().unwrap(),
            CloudCommand::Gcodes(vec!["G28".into(), "M105".into()])
        );
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitize_filename(".hidden"), "_hidden");
        assert_eq!(sanitize_filename(""), "cloud-job");
        assert_eq!(sanitize_filename("a b+c.gcode"), "a_b+c.gcode");
        assert_eq!(sanitize_filename(&"x".repeat(400)).len(), 253);
    }
}
