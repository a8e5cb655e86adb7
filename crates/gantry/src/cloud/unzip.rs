//! Zip archives from the cloud, unpacked with limits: a cloud (or whoever controls a download
//! link) must not be able to fill the disk, write outside the download folder, or stall the
//! link with a million tiny entries.
//!
//! The file printed is the only file, else the one `.gcode`, else the biggest G-code-like file.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Largest unpacked file.
    pub max_size: u64,
    /// Largest unpacked ÷ packed size: real G-code packs ~5–10×; bombs pack thousands.
    pub max_ratio: u64,
    pub max_entries: usize,
}

impl ZipLimits {
    pub fn new(max_size: u64) -> ZipLimits {
        ZipLimits {
            max_size,
            max_ratio: 100,
            max_entries: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnzipError {
    #[error("the archive is not a readable zip: {0}")]
    Bad(String),
    #[error("the archive has {0} entries; at most {1} are accepted")]
    TooManyEntries(usize, usize),
    #[error("the archive names a path outside its folder: {0}")]
    Traversal(String),
    #[error("the archive holds no file to print")]
    Empty,
    #[error("`{name}` unpacks to more than {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    #[error("`{name}` is packed more than {ratio}× (a zip bomb?)")]
    Ratio { name: String, ratio: u64 },
    #[error("cannot unpack: {0}")]
    Io(#[from] std::io::Error),
}

impl UnzipError {
    /// Protocol error 87: cannot unpack.
    pub const CODE: u32 = 87;
}

/// Unpacks the file to print from `archive` into `dir`; returns its path and name.
pub fn extract(
    archive: &Path,
    dir: &Path,
    limits: ZipLimits,
) -> Result<(PathBuf, String), UnzipError> {
    let bad = |e: zip::result::ZipError| UnzipError::Bad(e.to_string());
    let mut zip = zip::ZipArchive::new(File::open(archive)?).map_err(bad)?;
    if zip.len() > limits.max_entries {
        return Err(UnzipError::TooManyEntries(zip.len(), limits.max_entries));
    }
    // (index, name, size) of every file, after checking every name.
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let Some(path) = entry.enclosed_name() else {
            return Err(UnzipError::Traversal(entry.name().to_owned()));
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((index, name, entry.size(), entry.compressed_size()));
    }
    let gcode = |name: &str| {
        let lower = name.to_ascii_lowercase();
        lower.ends_with(".gcode") || lower.ends_with(".gco") || lower.ends_with(".g")
    };
    let chosen = match files.as_slice() {
        [] => return Err(UnzipError::Empty),
        [only] => only.clone(),
        many => {
            let codes: Vec<_> = many.iter().filter(|f| gcode(&f.1)).collect();
            match codes.as_slice() {
                [one] => (*one).clone(),
                _ => many
                    .iter()
                    .filter(|f| codes.is_empty() || gcode(&f.1))
                    .max_by_key(|f| f.2)
                    .cloned()
                    .ok_or(UnzipError::Empty)?,
            }
        }
    };
    let (index, name, declared, packed) = chosen;
    let too_large = || UnzipError::TooLarge {
        name: name.clone(),
        limit: limits.max_size,
    };
    if declared > limits.max_size {
        return Err(too_large());
    }
    // The header's sizes may lie: the limits are enforced on the bytes actually unpacked.
    let ratio_limit = packed.max(1).saturating_mul(limits.max_ratio);
    let limit = limits.max_size.min(ratio_limit);
    let name = super::command::sanitize_filename(&name);
    std::fs::create_dir_all(dir)?;
    let dest = dir.join(&name);
    let mut entry = zip.by_index(index).map_err(bad)?;
    let mut out = File::create(&dest)?;
    let mut buffer = vec![0u8; 128 * 1024];
    let mut written: u64 = 0;
    loop {
        let n = entry.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        written += n as u64;
        if written > limit {
            drop(out);
            let _ = std::fs::remove_file(&dest);
            return Err(if written > limits.max_size {
                too_large()
            } else {
                UnzipError::Ratio {
                    name,
                    ratio: limits.max_ratio,
                }
            });
        }
        out.write_all(&buffer[..n])?;
    }
    out.sync_all()?;
    Ok((dest, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn archive(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("a.zip");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        path
    }

    #[test]
    fn picks_the_gcode_and_unpacks_it() {
        let dir = tempfile::tempdir().unwrap();
        let zip = archive(
            dir.path(),
            &[
                ("readme.txt", b"hello"),
                ("part/cube.gcode", b"G28\nG1 X1\n"),
            ],
        );
        let (path, name) = extract(&zip, &dir.path().join("out"), ZipLimits::new(1 << 20)).unwrap();
        assert_eq!(name, "cube.gcode");
        assert_eq!(std::fs::read(path).unwrap(), b"G28\nG1 X1\n");
    }

    #[test]
    fn refuses_traversal_bombs_and_crowds() {
        let dir = tempfile::tempdir().unwrap();
        let zip = archive(dir.path(), &[("../../evil.gcode", b"G28\n")]);
        assert!(matches!(
            extract(&zip, &dir.path().join("out"), ZipLimits::new(1 << 20)),
            Err(UnzipError::Traversal(_))
        ));
        let zeros = vec![b'0'; 4 << 20];
        let zip = archive(dir.path(), &[("bomb.gcode", &zeros)]);
        assert!(matches!(
            extract(&zip, &dir.path().join("out"), ZipLimits::new(64 << 20)),
            Err(UnzipError::Ratio { .. })
        ));
        assert!(matches!(
            extract(&zip, &dir.path().join("out"), ZipLimits::new(1 << 20)),
            Err(UnzipError::TooLarge { .. })
        ));
        assert!(!dir.path().join("out/bomb.gcode").exists());
        let many: Vec<(String, Vec<u8>)> =
            (0..5).map(|i| (format!("{i}.gcode"), vec![b'G'])).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let zip = archive(dir.path(), &refs);
        let limits = ZipLimits {
            max_entries: 4,
            ..ZipLimits::new(1 << 20)
        };
        assert!(matches!(
            extract(&zip, &dir.path().join("out"), limits),
            Err(UnzipError::TooManyEntries(5, 4))
        ));
    }
}
