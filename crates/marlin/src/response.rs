//! Parsing one line received from a Marlin-family firmware.
//!
//! [`parse_response`] never panics and never fails: a line it does not recognise is
//! [`Response::Other`].

/// One heater: its current temperature and, when reported, its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heater {
    pub actual: f64,
    pub target: Option<f64>,
}

/// The temperatures in one report (`T:` / `T<n>:` tools, `B:` bed, `C:` chamber).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Temperatures {
    /// Tools in index order. A bare `T:` is tool 0 when no `T<n>:` is reported.
    pub tools: Vec<Heater>,
    pub bed: Option<Heater>,
    pub chamber: Option<Heater>,
}

/// An `M114` position report (`X:.. Y:.. Z:.. E:.. Count ...`; the stepper counts are dropped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub e: Option<f64>,
}

/// What the firmware said about itself in answer to `M115`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirmwareInfo {
    /// `FIRMWARE_NAME`
    pub name: Option<String>,
    /// `UUID`
    pub uuid: Option<String>,
    /// `MACHINE_TYPE`
    pub machine_type: Option<String>,
    /// `EXTRUDER_COUNT`
    pub extruder_count: Option<u32>,
    /// Every `KEY:value` pair of the firmware line, in order.
    pub fields: Vec<(String, String)>,
    /// Every `Cap:NAME:0|1` line, in order.
    pub capabilities: Vec<(String, bool)>,
}

impl FirmwareInfo {
    /// Whether the firmware reported `Cap:<name>:1` (case-insensitive; the last report wins).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .is_some_and(|(_, on)| *on)
    }

    /// Fold the `KEY:value` pairs of a firmware line into this info.
    pub fn add_fields(&mut self, fields: &[(String, String)]) {
        for (key, value) in fields {
            match key.as_str() {
                "FIRMWARE_NAME" => self.name = Some(value.clone()),
                "UUID" => self.uuid = Some(value.clone()),
                "MACHINE_TYPE" => self.machine_type = Some(value.clone()),
                "EXTRUDER_COUNT" => self.extruder_count = value.trim().parse().ok(),
                _ => {}
            }
            self.fields.push((key.clone(), value.clone()));
        }
    }
}

/// An `ok` line. `line`, `planner_free` and `buffer_free` are Marlin's `ADVANCED_OK`
/// fields (`ok N<line> P<planner free> B<command buffer free>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OkResponse {
    pub line: Option<u32>,
    pub planner_free: Option<u32>,
    pub buffer_free: Option<u32>,
    /// Temperatures carried by the `ok` (the answer to `M105`).
    pub temperatures: Option<Temperatures>,
    /// Whatever follows `ok` apart from the `ADVANCED_OK` fields, trimmed.
    pub rest: String,
}

/// How an `Error:` line is handled (the reference's classification, first match wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `No Line Number with checksum`, `missing linenumber`: the firmware dropped the line and
    /// sends no resend and no `ok`.
    Recoverable,
    /// Line number / checksum / format errors: a `Resend:` follows.
    Resend,
    /// SD card errors and `unknown command`.
    Ignorable,
    /// The firmware has halted (`kill() called`, thermal runaway, `Printer halted`, `!!`, …).
    Fatal,
    /// Anything else.
    Other,
}

/// One line from the firmware, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Ok(OkResponse),
    /// A temperature line without `ok`: `M155` autoreport or an `M109`/`M190` wait line.
    Temperature(Temperatures),
    /// `Resend: <n>` / `rs N<n>`: resend from line `n`.
    Resend(u32),
    /// `busy: <reason>` / `echo:busy: <reason>`.
    Busy(String),
    Wait,
    Start,
    Error {
        kind: ErrorKind,
        message: String,
    },
    /// The `M115` firmware line as `KEY:value` pairs.
    FirmwareInfo(Vec<(String, String)>),
    /// `Cap:<NAME>:<0|1>`.
    Capability {
        name: String,
        enabled: bool,
    },
    Position(Position),
    /// `echo:<text>` (other than `echo:busy:`).
    Echo(String),
    /// `//action:<text>`.
    Action(String),
    Other(String),
}

/// Classify one line received from the firmware (without its line ending). Never panics.
pub fn parse_response(line: &str) -> Response {
    let line = line.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let lower = line.to_ascii_lowercase();

    if let Some(ok) = parse_ok(line) {
        return Response::Ok(ok);
    }
    if lower.starts_with("resend") || lower.starts_with("rs") {
        if let Some(n) =
            parse_resend_number(&line[if lower.starts_with("resend") { 6 } else { 2 }..])
        {
            return Response::Resend(n);
        }
        return Response::Other(line.to_string());
    }
    if let Some(message) = strip_prefix_ci(line, "error:") {
        let message = message.trim().to_string();
        return Response::Error {
            kind: classify_error(&message),
            message,
        };
    }
    if let Some(message) = strip_prefix_ci(line, "fatal:") {
        return Response::Error {
            kind: ErrorKind::Fatal,
            message: format!("fatal: {}", message.trim()),
        };
    }
    if let Some(message) = line.strip_prefix("!!") {
        return Response::Error {
            kind: ErrorKind::Fatal,
            message: message.trim().to_string(),
        };
    }
    if let Some(rest) = strip_prefix_ci(line, "busy:") {
        return Response::Busy(rest.trim().to_string());
    }
    if let Some(rest) = strip_prefix_ci(line, "echo:busy:") {
        return Response::Busy(rest.trim().to_string());
    }
    if let Some(rest) = line.strip_prefix("//action:") {
        return Response::Action(rest.trim().to_string());
    }
    if let Some(rest) = strip_prefix_ci(line, "echo:") {
        return Response::Echo(rest.trim().to_string());
    }
    if lower == "wait" {
        return Response::Wait;
    }
    if lower == "start" {
        return Response::Start;
    }
    if let Some(rest) = strip_prefix_ci(line, "cap:") {
        if let Some((name, value)) = rest.rsplit_once(':') {
            let value = value.trim();
            if !name.trim().is_empty() && (value == "0" || value == "1") {
                return Response::Capability {
                    name: name.trim().to_string(),
                    enabled: value == "1",
                };
            }
        }
        return Response::Other(line.to_string());
    }
    if line.starts_with("FIRMWARE_NAME:") || line.contains(" FIRMWARE_NAME:") {
        return Response::FirmwareInfo(parse_key_values(line));
    }
    if let Some(rest) = line.strip_prefix("NAME. ") {
        // Malyan: `NAME. Malyan VER: 3.0 MODEL: M200 HW: HA02`
        let mut fields = vec![];
        let (name, rest) = match rest.find(" VER:") {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        fields.push(("FIRMWARE_NAME".to_string(), name.trim().to_string()));
        fields.extend(parse_key_values(rest.trim()));
        return Response::FirmwareInfo(fields);
    }
    if line.starts_with("X:") {
        if let Some(p) = parse_position(line) {
            return Response::Position(p);
        }
    }
    if starts_with_temperature(line) {
        if let Some(t) = parse_temperatures(line) {
            return Response::Temperature(t);
        }
    }
    Response::Other(line.to_string())
}

pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

fn parse_ok(line: &str) -> Option<OkResponse> {
    let rest = line.strip_prefix("ok")?;
    if rest
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
    {
        return None; // "okay", "ok123" …
    }
    let mut ok = OkResponse::default();
    let mut kept = vec![];
    for token in rest.split_whitespace() {
        let first = token.as_bytes()[0];
        let advanced = matches!(first, b'N' | b'P' | b'B')
            && token.len() >= 2
            && token.bytes().skip(1).all(|b| b.is_ascii_digit());
        let value = || token[1..].parse::<u32>().ok();
        match first {
            b'N' if advanced && ok.line.is_none() => ok.line = value(),
            b'P' if advanced && ok.planner_free.is_none() => ok.planner_free = value(),
            b'B' if advanced && ok.buffer_free.is_none() => ok.buffer_free = value(),
            _ => kept.push(token),
        }
    }
    ok.rest = kept.join(" ");
    if !ok.rest.is_empty() {
        ok.temperatures = parse_temperatures(&ok.rest);
    }
    Some(ok)
}

/// The first integer after `Resend`/`rs`, optionally prefixed by `N` or `N:` (and `:`).
fn parse_resend_number(rest: &str) -> Option<u32> {
    let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    let rest = rest
        .strip_prefix('N')
        .or_else(|| rest.strip_prefix('n'))
        .unwrap_or(rest);
    let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The reference's error classification (first match wins), on the message after `Error:`.
pub(crate) fn classify_error(message: &str) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&["no line number with checksum", "missing linenumber"]) {
        ErrorKind::Recoverable
    } else if any(&[
        "printer halted",
        "kill() called",
        "kill caused",
        "thermal runaway",
        "thermal malfunction",
        "heating failed",
        "maxtemp",
        "mintemp",
        "watchdog barked",
        "printer stopped",
        "m999",
        "fatal:",
        "invalid extruder number",
    ]) {
        ErrorKind::Fatal
    } else if any(&[
        "line number",
        "linenumber",
        "checksum",
        "format error",
        "expected line",
    ]) {
        ErrorKind::Resend
    } else if any(&[
        "volume.init",
        "openroot",
        "workdir",
        "error writing to file",
        "cannot open",
        "open failed",
        "cannot enter",
        "unknown command",
    ]) {
        ErrorKind::Ignorable
    } else {
        ErrorKind::Other
    }
}

/// Split `KEY:value KEY2:value two` on keys matching `[A-Z][A-Z0-9_]*:` at the start of the
/// line or after whitespace.
fn parse_key_values(line: &str) -> Vec<(String, String)> {
    let bytes = line.as_bytes();
    let mut keys: Vec<(usize, usize)> = vec![]; // (key start, value start)
    let mut i = 0;
    while i < bytes.len() {
        if (i == 0 || bytes[i - 1].is_ascii_whitespace()) && bytes[i].is_ascii_uppercase() {
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_uppercase() || bytes[j].is_ascii_digit() || bytes[j] == b'_')
            {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b':' {
                keys.push((i, j + 1));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    keys.iter()
        .enumerate()
        .map(|(k, &(start, value))| {
            let end = keys.get(k + 1).map_or(line.len(), |next| next.0);
            (
                line[start..value - 1].to_string(),
                line[value..end].trim().to_string(),
            )
        })
        .collect()
}

fn parse_position(line: &str) -> Option<Position> {
    let head = line.split(" Count").next().unwrap_or(line);
    let (mut x, mut y, mut z, mut e) = (None, None, None, None);
    for token in head.split_whitespace() {
        let Some((axis, value)) = token.split_once(':') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        match axis {
            "X" => x = x.or(Some(v)),
            "Y" => y = y.or(Some(v)),
            "Z" => z = z.or(Some(v)),
            "E" => e = e.or(Some(v)),
            _ => {}
        }
    }
    Some(Position {
        x: x?,
        y: y?,
        z: z?,
        e,
    })
}

/// A line without `ok` counts as a temperature line when its first token is a heater reading.
fn starts_with_temperature(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let Some((sensor, _)) = first.split_once(':') else {
        return false;
    };
    sensor_kind(sensor).is_some()
}

enum Sensor {
    BareTool,
    Tool(usize),
    Bed,
    Chamber,
}

fn sensor_kind(sensor: &str) -> Option<Sensor> {
    match sensor {
        "T" => Some(Sensor::BareTool),
        "B" => Some(Sensor::Bed),
        "C" => Some(Sensor::Chamber),
        _ => {
            let n = sensor.strip_prefix('T')?;
            if n.is_empty() || n.len() > 3 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse().ok().map(Sensor::Tool)
        }
    }
}

/// Read every `<sensor>:<actual>[ /<target>]` reading. `None` when no tool, bed or chamber
/// reading is present.
fn parse_temperatures(text: &str) -> Option<Temperatures> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut bare = None;
    let mut tools: Vec<(usize, Heater)> = vec![];
    let mut temps = Temperatures::default();
    let mut any = false;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        let Some((sensor, value)) = token.split_once(':') else {
            continue;
        };
        let Some(kind) = sensor_kind(sensor) else {
            continue;
        };
        let (actual, mut target) = match value.split_once('/') {
            Some((a, t)) => (a, Some(t)),
            None => (value, None),
        };
        let Ok(actual) = actual.parse::<f64>() else {
            continue;
        };
        if !actual.is_finite() {
            continue;
        }
        if target.is_none() {
            if let Some(next) = tokens.get(i).and_then(|t| t.strip_prefix('/')) {
                target = Some(next);
                i += 1;
            }
        }
        let target = target
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite());
        let heater = Heater { actual, target };
        any = true;
        match kind {
            Sensor::BareTool => bare = bare.or(Some(heater)),
            Sensor::Tool(n) => {
                if !tools.iter().any(|(m, _)| *m == n) {
                    tools.push((n, heater));
                }
            }
            Sensor::Bed => temps.bed = temps.bed.or(Some(heater)),
            Sensor::Chamber => temps.chamber = temps.chamber.or(Some(heater)),
        }
    }
    if !any {
        return None;
    }
    if tools.is_empty() {
        temps.tools = bare.into_iter().collect();
    } else {
        tools.sort_by_key(|(n, _)| *n);
        temps.tools = tools.into_iter().map(|(_, h)| h).collect();
    }
    Some(temps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(actual: f64, target: f64) -> Heater {
        Heater {
            actual,
            target: Some(target),
        }
    }

    #[test]
    fn plain_ok() {
        assert_eq!(parse_response("ok"), Response::Ok(OkResponse::default()));
        assert_eq!(parse_response("ok\r"), Response::Ok(OkResponse::default()));
        assert!(matches!(parse_response("okay then"), Response::Other(_)));
    }

    #[test]
    fn advanced_ok() {
        let Response::Ok(ok) = parse_response("ok N42 P15 B3") else {
            panic!()
        };
        assert_eq!(
            (ok.line, ok.planner_free, ok.buffer_free),
            (Some(42), Some(15), Some(3))
        );
        assert_eq!(ok.temperatures, None);
        assert_eq!(ok.rest, "");
    }

    #[test]
    fn ok_with_temperatures() {
        let Response::Ok(ok) = parse_response("ok T:210.00 /210.00 B:60.00 /60.00 @:127 B@:0")
        else {
            panic!()
        };
        assert_eq!(ok.line, None);
        assert_eq!(ok.buffer_free, None, "B:60 is the bed, not ADVANCED_OK's B");
        let t = ok.temperatures.unwrap();
        assert_eq!(t.tools, vec![h(210.0, 210.0)]);
        assert_eq!(t.bed, Some(h(60.0, 60.0)));
        assert_eq!(t.chamber, None);
    }

    #[test]
    fn multi_tool_temperatures() {
        let Response::Ok(ok) =
            parse_response("ok T:200.0 /200.0 B:55.1 /60.0 T0:200.0 /200.0 T1:25.3 /0.0 C:30.0 /35.0 @:0 B@:0 @0:0 @1:0")
        else {
            panic!()
        };
        let t = ok.temperatures.unwrap();
        assert_eq!(t.tools, vec![h(200.0, 200.0), h(25.3, 0.0)]);
        assert_eq!(t.bed, Some(h(55.1, 60.0)));
        assert_eq!(t.chamber, Some(h(30.0, 35.0)));
    }

    #[test]
    fn autoreport_and_wait_lines() {
        assert_eq!(
            parse_response("T:210.00 /210.00 B:60.00 /60.00 @:127 B@:0"),
            Response::Temperature(Temperatures {
                tools: vec![h(210.0, 210.0)],
                bed: Some(h(60.0, 60.0)),
                chamber: None
            })
        );
        assert_eq!(
            parse_response(" T:185.63 /210.00 B:60.00 /60.00 @:127 W:?"),
            Response::Temperature(Temperatures {
                tools: vec![h(185.63, 210.0)],
                bed: Some(h(60.0, 60.0)),
                chamber: None
            })
        );
        assert_eq!(
            parse_response("T:21.5/0.0 B:20.1/0.0"),
            Response::Temperature(Temperatures {
                tools: vec![h(21.5, 0.0)],
                bed: Some(h(20.1, 0.0)),
                chamber: None
            })
        );
        let Response::Temperature(t) = parse_response("T:185.6 E:0 W:?") else {
            panic!()
        };
        assert_eq!(
            t.tools,
            vec![Heater {
                actual: 185.6,
                target: None
            }]
        );
    }

    #[test]
    fn resend_forms() {
        for line in [
            "Resend: 42",
            "Resend:42",
            "rs N42",
            "rs N:42",
            "RESEND: N42",
            "rs 42",
        ] {
            assert_eq!(parse_response(line), Response::Resend(42), "{line}");
        }
        assert!(matches!(parse_response("Resend: "), Response::Other(_)));
    }

    #[test]
    fn busy_wait_start() {
        assert_eq!(
            parse_response("echo:busy: processing"),
            Response::Busy("processing".into())
        );
        assert_eq!(
            parse_response("busy: paused for user"),
            Response::Busy("paused for user".into())
        );
        assert_eq!(
            parse_response("echo:busy: paused for input"),
            Response::Busy("paused for input".into())
        );
        assert_eq!(parse_response("wait"), Response::Wait);
        assert_eq!(parse_response("start"), Response::Start);
    }

    #[test]
    fn errors_are_classified() {
        let kind = |l: &str| match parse_response(l) {
            Response::Error { kind, .. } => kind,
            other => panic!("{l}: {other:?}"),
        };
        assert_eq!(
            kind("Error:Line Number is not Last Line Number+1, Last Line: 41"),
            ErrorKind::Resend
        );
        assert_eq!(kind("Error: expected line 42 got 44"), ErrorKind::Resend);
        assert_eq!(
            kind("Error:checksum mismatch, Last Line: 41"),
            ErrorKind::Resend
        );
        assert_eq!(kind("Error: Checksum mismatch"), ErrorKind::Resend);
        assert_eq!(
            kind("Error:No Checksum with line number, Last Line: 41"),
            ErrorKind::Resend
        );
        assert_eq!(
            kind("Error:No Line Number with checksum, Last Line: 41"),
            ErrorKind::Recoverable
        );
        assert_eq!(
            kind("Error:Thermal Runaway, system stopped! Heater_ID: bed"),
            ErrorKind::Fatal
        );
        assert_eq!(
            kind("Error:Printer halted. kill() called!"),
            ErrorKind::Fatal
        );
        assert_eq!(
            kind("Error:Printer stopped due to errors. Fix the error and use M999 to restart. (Temperature is reset. Set it after restarting)"),
            ErrorKind::Fatal
        );
        assert_eq!(
            kind("Error:MAXTEMP triggered, system stopped! Heater_ID: 0"),
            ErrorKind::Fatal
        );
        assert_eq!(kind("!! kill"), ErrorKind::Fatal);
        assert_eq!(kind("fatal: something"), ErrorKind::Fatal);
        assert_eq!(kind("Error:volume.init failed"), ErrorKind::Ignorable);
        assert_eq!(
            kind("Error:open failed, File: x.gco."),
            ErrorKind::Ignorable
        );
        assert_eq!(
            kind("Error:Unknown command: \"G999\""),
            ErrorKind::Ignorable
        );
        assert_eq!(kind("Error:something new"), ErrorKind::Other);
    }

    #[test]
    fn firmware_line() {
        let line = "FIRMWARE_NAME:Marlin 2.1.2.1 (Feb 26 2024 12:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff";
        let Response::FirmwareInfo(fields) = parse_response(line) else {
            panic!()
        };
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "FIRMWARE_NAME",
                "SOURCE_CODE_URL",
                "PROTOCOL_VERSION",
                "MACHINE_TYPE",
                "EXTRUDER_COUNT",
                "UUID"
            ]
        );
        let mut info = FirmwareInfo::default();
        info.add_fields(&fields);
        assert_eq!(
            info.name.as_deref(),
            Some("Marlin 2.1.2.1 (Feb 26 2024 12:00:00)")
        );
        assert_eq!(info.machine_type.as_deref(), Some("Ender-3 V2"));
        assert_eq!(info.extruder_count, Some(1));
        assert_eq!(
            info.uuid.as_deref(),
            Some("cede2a2f-41a2-4748-9b12-c55c62f367ff")
        );

        let Response::FirmwareInfo(fields) =
            parse_response("NAME. Malyan VER: 3.0 MODEL: M200 HW: HA02")
        else {
            panic!()
        };
        assert_eq!(fields[0], ("FIRMWARE_NAME".into(), "Malyan".into()));
        assert_eq!(fields[1], ("VER".into(), "3.0".into()));
    }

    #[test]
    fn capabilities() {
        assert_eq!(
            parse_response("Cap:AUTOREPORT_TEMP:1"),
            Response::Capability {
                name: "AUTOREPORT_TEMP".into(),
                enabled: true
            }
        );
        assert_eq!(
            parse_response("Cap:EMERGENCY_PARSER:0"),
            Response::Capability {
                name: "EMERGENCY_PARSER".into(),
                enabled: false
            }
        );
        let info = FirmwareInfo {
            capabilities: vec![("AUTOREPORT_TEMP".into(), true), ("EEPROM".into(), false)],
            ..Default::default()
        };
        assert!(info.has_capability("AUTOREPORT_TEMP"));
        assert!(info.has_capability("autoreport_temp"));
        assert!(!info.has_capability("EEPROM"));
        assert!(!info.has_capability("MISSING"));
    }

    #[test]
    fn position() {
        assert_eq!(
            parse_response("X:10.00 Y:10.00 Z:0.30 E:1.23 Count X:800 Y:800 Z:240"),
            Response::Position(Position {
                x: 10.0,
                y: 10.0,
                z: 0.3,
                e: Some(1.23)
            })
        );
        assert_eq!(
            parse_response("X:0.00 Y:0.00 Z:0.00 E:0.00 Count: A:0 B:0 C:0"),
            Response::Position(Position {
                x: 0.0,
                y: 0.0,
                z: 0.0,
                e: Some(0.0)
            })
        );
    }

    #[test]
    fn echo_action_other() {
        assert_eq!(
            parse_response("echo:Unknown command: \"G999\""),
            Response::Echo("Unknown command: \"G999\"".into())
        );
        assert_eq!(
            parse_response("echo:Active Extruder: 1"),
            Response::Echo("Active Extruder: 1".into())
        );
        assert_eq!(
            parse_response("//action:pause"),
            Response::Action("pause".into())
        );
        assert_eq!(
            parse_response("//action:prompt_begin Filament runout"),
            Response::Action("prompt_begin Filament runout".into())
        );
        assert_eq!(
            parse_response("SD card ok"),
            Response::Other("SD card ok".into())
        );
        assert_eq!(
            parse_response("File opened: NAME.GCO Size: 1234"),
            Response::Other("File opened: NAME.GCO Size: 1234".into())
        );
        assert_eq!(parse_response(""), Response::Other(String::new()));
        assert_eq!(
            parse_response("\u{fffd}\u{fffd}ok"),
            Response::Other("\u{fffd}\u{fffd}ok".into())
        );
    }
}
