//! The file library: uploads stream to disk under a temporary name and are renamed into place
//! only when complete, so a half-upload never appears as a file; names are sanitised so that
//! no upload can write outside the library.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use gcode::{detect_format, Metadata};
use tokio::io::AsyncWriteExt;

use crate::store::{FileRow, Store, StoreError};

/// Upload size limit when the settings name none: 2 GiB.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 2 << 30;
/// Settings key of the upload size limit in bytes.
pub const UPLOAD_LIMIT_SETTING: &str = "upload_limit_bytes";
/// Longest file name kept, in bytes.
const MAX_NAME: usize = 200;
/// Extensions accepted as plain G-code.
const GCODE_EXTENSIONS: &[&str] = &["gcode", "gco", "g"];
const PART_PREFIX: &str = ".upload-";
const THUMBS: &str = ".thumbnails";

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    BadName(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("the file is larger than the upload limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(
        "the upload was cut off before it finished ({received} bytes arrived); nothing was kept"
    )]
    Incomplete { received: u64 },
    #[error("there is no file with id {0}")]
    NotFound(i64),
    #[error("a file named `{0}` already exists")]
    Exists(String),
    #[error("cannot write the file library: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Upload, list, rename and delete G-code files.
#[derive(Debug, Clone)]
pub struct FileLibrary {
    dir: PathBuf,
    store: Store,
}

static UPLOADS: AtomicU64 = AtomicU64::new(0);

impl FileLibrary {
    /// Opens the library in `dir`, removing partial uploads left by a crash.
    pub fn open(dir: PathBuf, store: Store) -> io::Result<FileLibrary> {
        std::fs::create_dir_all(dir.join(THUMBS))?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(PART_PREFIX) {
                tracing::info!(file = %entry.path().display(), "removing an unfinished upload");
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(FileLibrary { dir, store })
    }

    /// The largest upload accepted, from the settings.
    pub async fn upload_limit(&self) -> Result<u64, StoreError> {
        Ok(self
            .store
            .setting::<u64>(UPLOAD_LIMIT_SETTING)
            .await?
            .unwrap_or(DEFAULT_UPLOAD_LIMIT))
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn thumbnail_path(&self, id: i64) -> PathBuf {
        self.dir.join(THUMBS).join(format!("{id}.png"))
    }

    /// Streams `body` into the library as `name`. Nothing is left behind unless it all arrives.
    pub async fn upload<S, E>(
        &self,
        name: &str,
        body: S,
        limit: u64,
        replace: bool,
    ) -> Result<FileRow, FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let name = sanitize(name)?;
        if !replace && self.store.file_by_name(&name).await?.is_some() {
            return Err(FileError::Exists(name));
        }
        let part = self.dir.join(format!(
            "{PART_PREFIX}{}-{}",
            std::process::id(),
            UPLOADS.fetch_add(1, Ordering::Relaxed)
        ));
        let result = receive(&part, body, limit).await;
        let size = match result {
            Ok(size) => size,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        let final_path = self.path_of(&name);
        tokio::fs::rename(&part, &final_path).await?;
        let scan_started = std::time::Instant::now();
        let metadata = scan(final_path).await;
        let scan_ms = scan_started.elapsed().as_millis();
        let (json, image) = stored_form(metadata);
        let row = self.store.put_file(&name, size, json).await?;
        let thumbnail = self.thumbnail_path(row.id);
        match image {
            Some(image) => tokio::fs::write(&thumbnail, image.png).await?,
            None => {
                let _ = tokio::fs::remove_file(&thumbnail).await;
            }
        }
        // The scan's time is the part of an upload's answer that grows with the file after
        // its last byte arrived; `benches/upload.rs` reads it from here.
        tracing::info!(file = %name, bytes = size, scan_ms, "file uploaded");
        Ok(row)
    }

    pub async fn get(&self, id: i64) -> Result<FileRow, FileError> {
        self.store.file(id).await?.ok_or(FileError::NotFound(id))
    }

    pub async fn metadata(&self, row: &FileRow) -> Option<Metadata> {
        row.metadata
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }

    pub async fn thumbnail(&self, id: i64) -> Option<Vec<u8>> {
        tokio::fs::read(self.thumbnail_path(id)).await.ok()
    }

    pub async fn rename(&self, id: i64, new_name: &str) -> Result<FileRow, FileError> {
        let row = self.get(id).await?;
        let name = sanitize(new_name)?;
        if name == row.name {
            return Ok(row);
        }
        if self.store.file_by_name(&name).await?.is_some() {
            return Err(FileError::Exists(name));
        }
        tokio::fs::rename(self.path_of(&row.name), self.path_of(&name)).await?;
        self.store.rename_file(id, &name).await?;
        self.get(id).await
    }

    pub async fn delete(&self, id: i64) -> Result<(), FileError> {
        let row = self.get(id).await?;
        match tokio::fs::remove_file(self.path_of(&row.name)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let _ = tokio::fs::remove_file(self.thumbnail_path(id)).await;
        self.store.delete_file(id).await?;
        Ok(())
    }
}

async fn receive<S, E>(part: &Path, mut body: S, limit: u64) -> Result<u64, FileError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(part).await?;
    let mut received: u64 = 0;
    let mut checked_format = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::info!(error = %e, received, "upload cut off");
            FileError::Incomplete { received }
        })?;
        if !checked_format && !chunk.is_empty() {
            checked_format = true;
            if let Some(reason) = detect_format(&chunk).rejection() {
                return Err(FileError::Unsupported(reason.to_string()));
            }
        }
        received += chunk.len() as u64;
        if received > limit {
            return Err(FileError::TooLarge { limit });
        }
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    Ok(received)
}

/// The metadata as the files table keeps it, and the thumbnail, which is kept as its own PNG
/// file rather than as base64 in every row. The layer and progress arrays grow with the file
/// (one entry per layer and per `M73`): they are dropped as soon as they are text, so the two
/// are never in memory together while the database writes the row.
fn stored_form(metadata: Option<Metadata>) -> (Option<String>, Option<gcode::Thumbnail>) {
    let Some(mut metadata) = metadata else {
        return (None, None);
    };
    let image = metadata.thumbnail.take();
    (serde_json::to_string(&metadata).ok(), image)
}

/// Slicer metadata, read once at upload; a file it cannot read is still printable.
async fn scan(path: PathBuf) -> Option<Metadata> {
    match tokio::task::spawn_blocking(move || gcode::scan_path(&path)).await {
        Ok(Ok(metadata)) => Some(metadata),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the file's metadata");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "metadata scan failed");
            None
        }
    }
}

/// A safe library name from whatever the client sent: the last path component only, no
/// control or reserved characters, no leading dot, a G-code extension, at most 200 bytes.
pub fn sanitize(raw: &str) -> Result<String, FileError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches([' ', '.'])
        .to_string();
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), ext.to_ascii_lowercase()),
        _ => {
            return Err(FileError::BadName(format!(
                "`{raw}` has no file extension; upload a .gcode file"
            )))
        }
    };
    if extension == "bgcode" {
        return Err(FileError::Unsupported(
            "binary G-code (.bgcode) is not supported yet; export plain .gcode from the slicer"
                .into(),
        ));
    }
    if !GCODE_EXTENSIONS.contains(&extension.as_str()) {
        return Err(FileError::Unsupported(format!(
            "`.{extension}` files cannot be printed; upload G-code (.gcode, .gco or .g)"
        )));
    }
    let mut stem = stem;
    while stem.len() + extension.len() + 1 > MAX_NAME {
        stem.pop();
    }
    Ok(format!("{stem}.{extension}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_directories_and_dangerous_characters() {
        assert_eq!(sanitize("benchy.gcode").unwrap(), "benchy.gcode");
        assert_eq!(sanitize("../../etc/passwd.gcode").unwrap(), "passwd.gcode");
        assert_eq!(sanitize("..\\..\\x.GCODE").unwrap(), "x.gcode");
        assert_eq!(sanitize("/abs/path/part.gco").unwrap(), "part.gco");
        assert_eq!(sanitize(".hidden.gcode").unwrap(), "hidden.gcode");
        assert_eq!(sanitize("a\u{0}b\nc?.g").unwrap(), "a_b_c_.g");
        assert_eq!(
            sanitize("Über Teil (2).gcode").unwrap(),
            "Über Teil (2).gcode"
        );
        let long = format!("{}.gcode", "x".repeat(500));
        assert_eq!(sanitize(&long).unwrap().len(), MAX_NAME);
    }

    #[test]
    fn the_stored_metadata_leaves_the_thumbnail_to_its_own_file() {
        let text = "; generated by PrusaSlicer 2.7.1+linux on 2024-01-10 at 10:00:00 UTC\n\
            ; thumbnail begin 16x16 108\n\
            ; iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP438BAEiJN9aiGUQ1DSg\n\
            ; MAnHV/EBlpJJcAAAAASUVORK5CYII=\n\
            ; thumbnail end\n\
            M73 P0 R10\n;LAYER_CHANGE\n;Z:0.2\nG1 X1 Y1 E1\n";
        let metadata = gcode::scan(text.as_bytes()).unwrap();
        let png = metadata.thumbnail.clone().unwrap().png;
        assert!(png.starts_with(b"\x89PNG"));
        let (json, image) = stored_form(Some(metadata.clone()));
        let json = json.unwrap();
        assert!(!json.contains("iVBORw0KGgo"), "{json}");
        assert_eq!(image.unwrap().png, png);
        let back: Metadata = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            Metadata {
                thumbnail: None,
                ..metadata
            }
        );
        assert!(matches!(stored_form(None), (None, None)));
    }

    #[test]
    fn only_plain_gcode_is_accepted() {
        assert!(
            matches!(sanitize("part.bgcode"), Err(FileError::Unsupported(m)) if m.contains("bgcode"))
        );
        assert!(matches!(
            sanitize("model.stl"),
            Err(FileError::Unsupported(_))
        ));
        assert!(matches!(
            sanitize("noextension"),
            Err(FileError::BadName(_))
        ));
        assert!(matches!(sanitize("../.."), Err(FileError::BadName(_))));
        assert!(matches!(sanitize(".gcode"), Err(FileError::BadName(_))));
        assert!(matches!(sanitize(""), Err(FileError::BadName(_))));
    }
}
