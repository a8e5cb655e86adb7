//! Server facts and the printer's connection and profile: what clients read when they test
//! a connection or add the server.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{shape, Caller, OpError};
use crate::access::secret;
use crate::web::AppState;

/// The OctoPrint release whose API this subset follows. Slicers check that `text` starts
/// with "OctoPrint"; Cura and Home Assistant compare versions.
pub const OCTOPRINT_VERSION: &str = "1.11.8";
/// Settings key of this installation's stable id (Home Assistant's unique id for it).
const UUID_SETTING: &str = "octoprint_uuid";
const BAUDRATES: &[u32] = &[250000, 230400, 115200, 57600, 38400, 19200, 9600];

pub async fn version(_caller: Caller) -> Json<Value> {
    Json(json!({
        "api": "0.1",
        "server": OCTOPRINT_VERSION,
        "text": format!("OctoPrint {OCTOPRINT_VERSION} (Gantry {})", env!("CARGO_PKG_VERSION")),
    }))
}

pub async fn server(_caller: Caller) -> Json<Value> {
    Json(json!({ "version": OCTOPRINT_VERSION, "safemode": null }))
}

/// A UUID made once per installation and kept in the settings.
async fn installation_uuid(state: &AppState) -> Result<String, OpError> {
    let store = state.manager.store();
    if let Some(uuid) = store.setting::<String>(UUID_SETTING).await? {
        return Ok(uuid);
    }
    let random = secret::token()
        .map_err(|e| OpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // 32 hex digits from the random token's digest, laid out as a version-4 UUID.
    let hex = secret::digest(&random);
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    store.set_setting(UUID_SETTING, &uuid).await?;
    Ok(uuid)
}

/// The settings fields Cura's plugin and Home Assistant read; no webcam, no SD card, and no
/// UFP plugin (so Cura sends plain G-code).
pub async fn settings(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Value>, OpError> {
    let uuid = installation_uuid(&state).await?;
    Ok(Json(json!({
        "api": { "allowCrossOrigin": false },
        "feature": { "sdSupport": false },
        "gcodeAnalysis": { "runAt": "idle" },
        "webcam": {
            "webcamEnabled": false,
            "streamUrl": "",
            "snapshotUrl": "",
            "flipH": false,
            "flipV": false,
            "rotate90": false,
            "bitrate": "",
            "snapshotSslValidation": true,
        },
        "plugins": {
            "discovery": { "upnpUuid": uuid, "publicHost": null, "publicPort": null, "httpUsername": null, "httpPassword": null },
            "tracking": { "enabled": false, "unique_id": uuid },
        },
    })))
}

fn user(caller: &Caller) -> Value {
    json!({
        "name": caller.name,
        "active": true,
        "admin": caller.key.is_none(),
        "user": true,
        "apikey": null,
        "groups": ["users"],
        "roles": ["user"],
        "permissions": [],
    })
}

/// `{"passive": true}` logs nobody in: it says who the key (or the local visitor) is.
pub async fn login(
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    match body.get("passive") {
        Some(Value::Bool(true)) => Ok(Json(user(&caller))),
        _ => Err(OpError::bad_request(
            "Gantry supports only passive login ({\"passive\": true}) here; sign in on the dashboard",
        )),
    }
}

pub async fn current_user(caller: Caller) -> Json<Value> {
    Json(user(&caller))
}

/// One profile, `_default`, describing the caller's printer.
pub async fn printer_profiles(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let printer = caller.printer(&state);
    let name = printer
        .as_ref()
        .map_or("Printer", |p| p.name.as_str())
        .to_owned();
    let model = printer
        .as_ref()
        .and_then(|p| p.firmware.as_ref())
        .and_then(|f| f.machine_type.clone())
        .unwrap_or_default();
    let tools = printer
        .as_ref()
        .map_or(1, |p| p.temperatures.tools.len().max(1));
    // Assumed until the printer reports temperatures without a bed.
    let heated_bed = printer
        .as_ref()
        .is_none_or(|p| p.temperatures.tools.is_empty() || p.temperatures.bed.is_some());
    let heated_chamber = printer
        .as_ref()
        .is_some_and(|p| p.temperatures.chamber.is_some());
    let axis = |speed: u32| json!({ "speed": speed, "inverted": false });
    Json(json!({
        "profiles": {
            "_default": {
                "id": "_default",
                "name": name,
                "model": model,
                "color": "default",
                "current": true,
                "default": true,
                "heatedBed": heated_bed,
                "heatedChamber": heated_chamber,
                "extruder": {
                    "count": tools,
                    "sharedNozzle": false,
                    "nozzleDiameter": 0.4,
                    "offsets": vec![[0.0, 0.0]; tools],
                },
                "axes": { "x": axis(6000), "y": axis(6000), "z": axis(200), "e": axis(300) },
            }
        }
    }))
}

pub async fn connection(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let printer = caller.printer(&state);
    let port = printer.as_ref().map(|p| p.port.clone());
    Json(json!({
        "current": {
            "state": shape::state_text(printer.as_ref()),
            "port": port,
            "baudrate": printer.as_ref().and_then(|p| p.baud),
            "printerProfile": "_default",
        },
        "options": {
            "ports": port.into_iter().collect::<Vec<_>>(),
            "baudrates": BAUDRATES,
            "printerProfiles": [{ "id": "_default", "name": printer.as_ref().map_or("Printer", |p| p.name.as_str()) }],
            "portPreference": null,
            "baudratePreference": null,
            "printerProfilePreference": "_default",
            "autoconnect": true,
        },
    }))
}

#[derive(Deserialize)]
pub struct ConnectionCommand {
    command: String,
}

/// Gantry keeps each printer's port open (and reopens it) by itself, so `connect` succeeds
/// without doing anything and `disconnect` is refused with the reason.
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ConnectionCommand>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    let printer = caller
        .printer(&state)
        .ok_or_else(|| OpError::conflict("There is no printer"))?;
    match body.command.as_str() {
        "connect" => {
            tracing::debug!(printer = printer.id, "connect asked; the printer thread connects by itself");
            Ok(StatusCode::NO_CONTENT)
        }
        "disconnect" => Err(OpError::conflict(
            "Gantry keeps its printers connected; unplug the printer or stop Gantry to release the port",
        )),
        "fake_ack" => Err(OpError::bad_request("fake_ack is not supported")),
        other => Err(OpError::bad_request(format!("Unknown command: {other}"))),
    }
}
