//! Files: the multipart upload slicers send (streamed to disk through the library, never held
//! in memory), the list, one file's facts, and `select` (optionally printing at once).
//!
//! Only the form fields a client may set are read (`file`, `filename`, `path`, `select`,
//! `print`, `noOverwrite`); anything else, such as the server-internal `file.path` that caused
//! OctoPrint's CVE-2025-48067, is read past and ignored.

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use printer::driver::State as PrinterState;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{base_url, shape, Caller, OpError};
use crate::access::Peer;
use crate::files::FileError;
use crate::manager::Origin;
use crate::store::FileRow;
use crate::web::AppState;

/// Settings key of the upload size limit in bytes (shared with `/api/v1/files`).
/// Form fields other than the file are short; a longer one is refused, not buffered.
const MAX_FIELD: usize = 64 * 1024;
/// Multipart framing around the file may add this much to its size.
const FORM_OVERHEAD: u64 = 64 * 1024;

const INVALID_NAME: &str = "Can not upload file, invalid file name";

async fn upload_limit(state: &AppState) -> Result<u64, OpError> {
    Ok(state.manager.files().upload_limit().await?)
}

/// `true`, `yes`, `y` and `1` are yes, as in OctoPrint.
fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "y" | "1"
    )
}

/// A folder or file name that tries to leave the library, or is absolute.
fn traverses(path: &str) -> bool {
    path.starts_with(['/', '\\'])
        || path.contains('\0')
        || path.split(['/', '\\']).any(|segment| segment == "..")
}

/// A short field's text; a field that is not UTF-8 or too long is refused.
async fn small_text(mut field: Field<'_>) -> Result<String, OpError> {
    let name = field.name().unwrap_or("").to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| OpError::bad_request(format!("The upload was cut off: {e}")))?
    {
        if bytes.len() + chunk.len() > MAX_FIELD {
            return Err(OpError::bad_request(format!(
                "The form field `{name}` is too long"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| OpError::bad_request(format!("The form field `{name}` is not UTF-8 text")))
}

/// What the form asked for besides the file.
#[derive(Default)]
struct Form {
    select: bool,
    print: bool,
    no_overwrite: bool,
    filename: Option<String>,
}

/// Stores the file part, refusing names that traverse and files that are being printed.
async fn store_file(
    state: &AppState,
    field: Field<'_>,
    form: &Form,
    limit: u64,
) -> Result<FileRow, OpError> {
    let raw = match &form.filename {
        Some(name) => name.clone(),
        None => field.file_name().map(str::to_owned).ok_or_else(|| {
            OpError::bad_request("The file part has no file name (or one that is not UTF-8)")
        })?,
    };
    if raw.trim().is_empty() || traverses(&raw) || raw.contains(['/', '\\']) {
        return Err(OpError::bad_request(INVALID_NAME));
    }
    let name = crate::files::sanitize(&raw)?;
    if let Some(existing) = state.manager.store().file_by_name(&name).await? {
        if form.no_overwrite {
            return Err(OpError::conflict(format!(
                "File {name} already exists and noOverwrite was true"
            )));
        }
        if state.manager.store().file_in_use(existing.id).await? {
            return Err(OpError::conflict(
                "Trying to overwrite file that is currently being printed",
            ));
        }
    }
    Ok(state
        .manager
        .files()
        .upload(&name, field, limit, true)
        .await?)
}

/// `POST /api/files/local` (multipart). 201 with `Location` and OctoPrint's body; `select`
/// and `print` only take effect on a connected, idle printer (the upload succeeds anyway,
/// with `effectiveSelect`/`effectivePrint` false, as in OctoPrint).
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, OpError> {
    let mut multipart = multipart.map_err(|e| OpError::bad_request(e.body_text()))?;
    let limit = upload_limit(&state).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit.saturating_add(FORM_OVERHEAD)) {
        return Err(FileError::TooLarge { limit }.into());
    }
    let mut form = Form::default();
    let mut stored: Option<FileRow> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                // The file is complete on disk by now, but the request is not: keep nothing.
                if let Some(row) = stored.take() {
                    let _ = state.manager.files().delete(row.id).await;
                }
                return Err(OpError::bad_request(format!("The upload was cut off: {e}")));
            }
        };
        let outcome = match field.name().unwrap_or("") {
            "file" if stored.is_some() => Err(OpError::bad_request("Only one file per upload")),
            "file" => store_file(&state, field, &form, limit)
                .await
                .map(|row| stored = Some(row)),
            "foldername" => Err(OpError::bad_request(
                "Gantry's file library has no folders; upload a file",
            )),
            "path" => small_text(field).await.and_then(|path| {
                if traverses(&path) {
                    Err(OpError::bad_request(INVALID_NAME))
                } else {
                    // The library is flat: any other folder is the library itself.
                    Ok(())
                }
            }),
            "select" => small_text(field).await.map(|v| form.select = truthy(&v)),
            "print" => small_text(field).await.map(|v| form.print = truthy(&v)),
            "noOverwrite" => small_text(field)
                .await
                .map(|v| form.no_overwrite = truthy(&v)),
            "filename" => small_text(field).await.map(|v| form.filename = Some(v)),
            // `userdata`, and whatever else a client sends, is not used.
            _ => small_text(field).await.map(|_| ()),
        };
        if let Err(e) = outcome {
            if let Some(row) = stored.take() {
                let _ = state.manager.files().delete(row.id).await;
            }
            return Err(e);
        }
    }
    let row = stored.ok_or_else(|| OpError::bad_request("No file to upload"))?;
    let (selected, printed) =
        select_and_print(&state, &caller, &row, form.select || form.print, form.print).await;
    let base = base_url(&headers, peer.as_ref().map(|Extension(p)| p));
    let location = shape::resource(&base, &row.name);
    let body = json!({
        "done": true,
        "effectiveSelect": selected,
        "effectivePrint": printed,
        "files": { "local": {
            "name": row.name,
            "display": row.name,
            "path": row.name,
            "origin": "local",
            "refs": { "resource": location },
        }},
    });
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// After an upload: selects (and prints) the file when the printer is idle. Failures only
/// make the `effective*` flags false.
async fn select_and_print(
    state: &AppState,
    caller: &Caller,
    row: &FileRow,
    select: bool,
    print: bool,
) -> (bool, bool) {
    if !select {
        return (false, false);
    }
    let Some(printer) = caller
        .printer(state)
        .filter(|p| p.state == PrinterState::Ready)
    else {
        return (false, false);
    };
    state.api_keys.select(caller.client(), Some(row.id));
    if !print {
        return (true, false);
    }
    match state
        .manager
        .start_job(printer.id, row.id, Origin::OctoPrint, None)
        .await
    {
        Ok(_) => (true, true),
        Err(e) => {
            tracing::info!(file = %row.name, error = %e, "upload asked to print, but the print did not start");
            (true, false)
        }
    }
}

/// `GET /api/files` and `/api/files/local`.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, OpError> {
    let base = base_url(&headers, peer.as_ref().map(|Extension(p)| p));
    let files = state.manager.files();
    let mut entries = Vec::new();
    for row in state.manager.store().files().await? {
        entries.push(shape::file(files, &base, &row).await);
    }
    let (free, total) = disk_space(&files.path_of(""));
    Ok(Json(
        json!({ "files": entries, "free": free, "total": total }),
    ))
}

async fn find(state: &AppState, path: &str) -> Result<FileRow, OpError> {
    state
        .manager
        .store()
        .file_by_name(path)
        .await?
        .ok_or_else(|| OpError::new(StatusCode::NOT_FOUND, "File not found"))
}

/// `GET /api/files/local/<path>`.
pub async fn info(
    State(state): State<AppState>,
    _caller: Caller,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Json<Value>, OpError> {
    let row = find(&state, &path).await?;
    let base = base_url(&headers, peer.as_ref().map(|Extension(p)| p));
    Ok(Json(shape::file(state.manager.files(), &base, &row).await))
}

#[derive(Deserialize)]
pub struct FileCommand {
    command: String,
    #[serde(default)]
    print: bool,
}

/// `POST /api/files/local/<path>` `{"command": "select", "print": true}`.
pub async fn command(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<String>,
    body: Result<Json<FileCommand>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    if body.command != "select" {
        return Err(OpError::bad_request(format!(
            "Unsupported command `{}`; Gantry supports `select` here",
            body.command
        )));
    }
    let row = find(&state, &path).await?;
    let printer = caller
        .printer(&state)
        .filter(shape::operational)
        .ok_or_else(OpError::not_operational)?;
    if printer.state != PrinterState::Ready {
        return Err(OpError::conflict(
            "Printer is already printing, cannot select a new file",
        ));
    }
    state.api_keys.select(caller.client(), Some(row.id));
    if body.print {
        state
            .manager
            .start_job(printer.id, row.id, Origin::OctoPrint, None)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Free and total bytes of the library's file system (0 when unknown).
#[cfg(not(unix))]
fn disk_space(_dir: &std::path::Path) -> (u64, u64) {
    (0, 0)
}

/// Free and total bytes of the library's file system (0 when unknown).
#[cfg(unix)]
// The field types differ between platforms (32 or 64 bits).
#[allow(clippy::unnecessary_cast)]
fn disk_space(dir: &std::path::Path) -> (u64, u64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return (0, 0);
    };
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string that outlives the call, and `stats` points
    // to writable memory of the right type; statvfs(3) writes it fully on success.
    let result = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
    if result != 0 {
        return (0, 0);
    }
    // SAFETY: statvfs returned 0, so it initialised the whole struct.
    let stats = unsafe { stats.assume_init() };
    let fragment = stats.f_frsize as u64;
    (
        (stats.f_bavail as u64).saturating_mul(fragment),
        (stats.f_blocks as u64).saturating_mul(fragment),
    )
}
