//! The file library: streamed uploads, the list with slicer metadata, rename, delete, thumbnails.

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{body, parse_id, ApiError, AppState};
use crate::files::FileError;
use crate::manager::ManagerError;
use crate::store::FileRow;

/// A library file as the dashboard lists it.
#[derive(Debug, Serialize)]
pub struct FileView {
    id: i64,
    name: String,
    size: i64,
    uploaded_at: String,
    thumbnail: Option<String>,
    metadata: Option<Summary>,
}

/// The slicer metadata worth showing in a list; layer and progress maps stay on the server.
#[derive(Debug, Serialize)]
pub struct Summary {
    slicer: Option<String>,
    estimated_time_s: Option<u64>,
    filament_used_mm: Option<f64>,
    filament_used_g: Option<f64>,
    filament_type: Option<String>,
    layer_height_mm: Option<f64>,
    layer_count: Option<u32>,
    object_height_mm: Option<f64>,
    nozzle_temp_c: Option<f64>,
    bed_temp_c: Option<f64>,
}

/// What the list needs of a row's metadata JSON (`gcode::Metadata`). The layer and progress
/// arrays grow with the file, one entry per layer and per `M73`: they are counted or skipped
/// while parsing, never built, so listing big files costs neither their memory nor their time.
#[derive(Debug, Deserialize)]
struct Stored {
    slicer: Option<String>,
    slicer_version: Option<String>,
    estimated_time_s: Option<u64>,
    filament_used_mm: Option<f64>,
    filament_used_g: Option<f64>,
    filament_type: Option<String>,
    layer_height_mm: Option<f64>,
    layer_count: Option<u32>,
    object_height_mm: Option<f64>,
    nozzle_temp_c: Option<f64>,
    bed_temp_c: Option<f64>,
    #[serde(default)]
    layers: Count,
    #[serde(default)]
    thumbnails: Count,
}

/// The length of a JSON array, read without keeping its elements.
#[derive(Debug, Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        struct Counter;
        impl<'de> Visitor<'de> for Counter {
            type Value = Count;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        deserializer.deserialize_seq(Counter)
    }
}

fn view(row: FileRow) -> FileView {
    let metadata = row
        .metadata
        .as_deref()
        .and_then(|text| serde_json::from_str::<Stored>(text).ok());
    let has_thumbnail = metadata.as_ref().is_some_and(|m| m.thumbnails.0 > 0);
    FileView {
        id: row.id,
        thumbnail: has_thumbnail.then(|| format!("/api/v1/files/{}/thumbnail", row.id)),
        metadata: metadata.map(|m| Summary {
            layer_count: m
                .layer_count
                .or_else(|| u32::try_from(m.layers.0).ok().filter(|n| *n > 0)),
            slicer: m.slicer.map(|s| match m.slicer_version {
                Some(v) => format!("{s} {v}"),
                None => s,
            }),
            estimated_time_s: m.estimated_time_s,
            filament_used_mm: m.filament_used_mm,
            filament_used_g: m.filament_used_g,
            filament_type: m.filament_type,
            layer_height_mm: m.layer_height_mm,
            object_height_mm: m.object_height_mm,
            nozzle_temp_c: m.nozzle_temp_c,
            bed_temp_c: m.bed_temp_c,
        }),
        name: row.name,
        size: row.size,
        uploaded_at: row.uploaded_at,
    }
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    ManagerError::from(e).into()
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<FileView>>, ApiError> {
    let rows = state.manager.store().files().await.map_err(store_error)?;
    Ok(Json(rows.into_iter().map(view).collect()))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<FileView>, ApiError> {
    let id = parse_id("file", &id)?;
    let row = state.manager.files().get(id).await?;
    Ok(Json(view(row)))
}

/// `POST /api/v1/files?name=part.gcode[&overwrite=true]` with the file as the raw body.
/// Streams to disk.
pub async fn upload(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    request: Body,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let query = query.unwrap_or_default();
    let name = query_value(&query, "name")?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_name",
            "say the file's name with ?name=...",
        )
    })?;
    let overwrite = query_value(&query, "overwrite")?.is_some_and(|v| v == "true" || v == "1");
    let limit = upload_limit(&state).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(FileError::TooLarge { limit }.into());
    }
    let row = state
        .manager
        .files()
        .upload(&name, request.into_data_stream(), limit, overwrite)
        .await?;
    Ok((StatusCode::CREATED, Json(view(row))))
}

/// One value of a query string, decoded strictly: a name that is not UTF-8 is an error, not
/// a name full of replacement characters.
fn query_value(query: &str, key: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(raw.len());
    let mut input = raw.bytes();
    while let Some(b) = input.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [input.next(), input.next()];
                let value = match hex {
                    [Some(h), Some(l)] => std::str::from_utf8(&[h, l])
                        .ok()
                        .and_then(|s| u8::from_str_radix(s, 16).ok()),
                    _ => None,
                };
                bytes.push(value.ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("`{key}` has a broken %-escape"),
                    )
                })?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_name",
            format!("`{key}` is not valid UTF-8 text"),
        )
    })
}

async fn upload_limit(state: &AppState) -> Result<u64, ApiError> {
    state
        .manager
        .files()
        .upload_limit()
        .await
        .map_err(store_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    name: String,
}

pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<Rename>, JsonRejection>,
) -> Result<Json<FileView>, ApiError> {
    let id = parse_id("file", &id)?;
    let request = body(request)?;
    refuse_if_printing(&state, id).await?;
    let row = state.manager.files().rename(id, &request.name).await?;
    Ok(Json(view(row)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("file", &id)?;
    refuse_if_printing(&state, id).await?;
    state.manager.files().delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refuse_if_printing(state: &AppState, id: i64) -> Result<(), ApiError> {
    if state
        .manager
        .store()
        .file_in_use(id)
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "file_in_use",
            "a printer is printing this file; cancel or finish the print first",
        ));
    }
    Ok(())
}

pub async fn thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id("file", &id)?;
    let png = state
        .manager
        .files()
        .thumbnail(id)
        .await
        .ok_or_else(|| ApiError::not_found(format!("file {id} has no thumbnail")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        png,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRUSASLICER: &str = "; generated by PrusaSlicer 2.7.1+linux on 2024-01-10 at 10:00:00 UTC\n\
        ; thumbnail begin 16x16 108\n\
        ; iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP438BAEiJN9aiGUQ1DSg\n\
        ; MAnHV/EBlpJJcAAAAASUVORK5CYII=\n\
        ; thumbnail end\n\
        M73 P0 R10\n;LAYER_CHANGE\n;Z:0.2\nG1 X1 Y1 E1\nM73 P50 R5\n;LAYER_CHANGE\n;Z:0.4\nG1 X2 Y2 E1\n\
        ; filament used [mm] = 12.5\n; filament used [g] = 0.04\n\
        ; estimated printing time (normal mode) = 1h 2m 3s\n\
        ; filament_type = PETG\n; layer_height = 0.2\n; temperature = 240\n; bed_temperature = 85\n";

    fn row(metadata: Option<String>) -> FileRow {
        FileRow {
            id: 7,
            name: "part.gcode".into(),
            size: 1234,
            uploaded_at: "2026-01-01T00:00:00Z".into(),
            metadata,
        }
    }

    #[test]
    fn the_list_reads_what_the_full_metadata_says_without_building_its_arrays() {
        let metadata = gcode::scan(PRUSASLICER.as_bytes()).unwrap();
        assert_eq!(metadata.layers.len(), 2);
        assert_eq!(metadata.layer_count, Some(2));
        let view = view(row(serde_json::to_string(&metadata).ok()));
        assert_eq!(view.thumbnail.as_deref(), Some("/api/v1/files/7/thumbnail"));
        let summary = view.metadata.unwrap();
        assert_eq!(summary.layer_count, Some(2));
        assert_eq!(
            summary.slicer,
            Some(format!(
                "{} {}",
                metadata.slicer.unwrap(),
                metadata.slicer_version.unwrap()
            ))
        );
        assert_eq!(summary.estimated_time_s, Some(3723));
        assert_eq!(summary.estimated_time_s, metadata.estimated_time_s);
        assert_eq!(summary.filament_used_mm, Some(12.5));
        assert_eq!(summary.filament_used_g, metadata.filament_used_g);
        assert_eq!(summary.filament_type.as_deref(), Some("PETG"));
        assert_eq!(summary.layer_height_mm, Some(0.2));
        assert_eq!(summary.object_height_mm, metadata.object_height_mm);
        assert_eq!(summary.nozzle_temp_c, Some(240.0));
        assert_eq!(summary.bed_temp_c, Some(85.0));
    }

    #[test]
    fn the_layer_count_falls_back_to_the_markers_and_bad_json_is_no_metadata() {
        let json = r#"{"layers":[{"offset":0,"index":0,"z":0.2},{"offset":9,"index":1,"z":null}],
                       "thumbnails":[],"progress_hints":[{"offset":3,"percent":1.0,"remaining_s":null}]}"#;
        let view = view(row(Some(json.into())));
        assert_eq!(view.thumbnail, None);
        assert_eq!(view.metadata.unwrap().layer_count, Some(2));
        assert!(view_of("not json").metadata.is_none());
        assert!(view_of(r#"{"layers": 3}"#).metadata.is_none());
        assert!(super::view(row(None)).metadata.is_none());
    }

    fn view_of(json: &str) -> FileView {
        view(row(Some(json.into())))
    }
}
