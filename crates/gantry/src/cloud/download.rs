//! Cloud file downloads: resumed with `Range` after a dropped connection, judged complete
//! against the announced length, never larger than a limit.

use std::path::Path;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// As in the protocol: up to 5 attempts, each resuming where the last one stopped.
pub const ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Protocol error 65.
    #[error("cannot open the download link: {0}")]
    Link(String),
    /// Protocol error 68.
    #[error("the file server answered HTTP {0}")]
    Status(u16),
    /// Protocol error 66.
    #[error("the download is corrupt: {0}")]
    Corrupt(String),
    /// Protocol error 88: too large to load.
    #[error("the file is {size} bytes, more than this Gantry takes ({limit} bytes, the upload_limit_bytes setting); nothing was kept")]
    TooLarge { size: u64, limit: u64 },
    /// Protocol error 69.
    #[error("the download failed after {ATTEMPTS} attempts: {0}")]
    GaveUp(String),
    #[error("cannot write the download: {0}")]
    Io(#[from] std::io::Error),
}

impl DownloadError {
    pub fn code(&self) -> u32 {
        match self {
            DownloadError::Link(_) => 65,
            DownloadError::Corrupt(_) => 66,
            DownloadError::TooLarge { .. } => 88,
            DownloadError::Status(_) => 68,
            DownloadError::GaveUp(_) | DownloadError::Io(_) => 69,
        }
    }
}

/// The total size from `Content-Range: bytes a-b/total`.
fn range_total(value: &str) -> Option<u64> {
    value.rsplit('/').next()?.trim().parse().ok()
}

/// Downloads `url` into `dest`, resuming a partial `dest` left by an earlier attempt.
/// `progress` receives the percent done. Returns the size.
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
    dest: &Path,
    expected: Option<u64>,
    limit: u64,
    progress: &watch::Sender<f64>,
) -> Result<u64, DownloadError> {
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        let have = tokio::fs::metadata(dest).await.map_or(0, |m| m.len());
        if let Some(expected) = expected {
            if have == expected && have > 0 {
                return Ok(have);
            }
            if have > expected {
                tokio::fs::remove_file(dest).await?;
                continue;
            }
        }
        let mut request = http.get(url);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if attempt == 1 && e.is_builder() => {
                return Err(DownloadError::Link(e.without_url().to_string()))
            }
            Err(e) => {
                last_error = e.without_url().to_string();
                tracing::info!(attempt, error = %last_error, "download request failed; retrying");
                continue;
            }
        };
        let status = response.status();
        let (start, total) = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let total = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(range_total)
                    .ok_or_else(|| DownloadError::Corrupt("206 without a Content-Range".into()))?;
                (have, total)
            }
            // The server ignored the range (or there was none): start again from zero.
            StatusCode::OK => {
                let total = response.content_length().ok_or_else(|| {
                    DownloadError::Corrupt(
                        "no Content-Length, so completion cannot be checked".into(),
                    )
                })?;
                (0, total)
            }
            other => return Err(DownloadError::Status(other.as_u16())),
        };
        if total > limit {
            return Err(DownloadError::TooLarge { size: total, limit });
        }
        if expected.is_some_and(|e| e != total) {
            return Err(DownloadError::Corrupt(format!(
                "the cloud announced {} bytes but the server sends {total}",
                expected.unwrap_or_default()
            )));
        }
        let mut file = if start == 0 {
            tokio::fs::File::create(dest).await?
        } else {
            tokio::fs::OpenOptions::new()
                .append(true)
                .open(dest)
                .await?
        };
        let mut written = start;
        let mut response = response;
        let mut cut = None;
        loop {
            match response.chunk().await {
                Ok(None) => break,
                Ok(Some(bytes)) => {
                    written += bytes.len() as u64;
                    if written > total {
                        drop(file);
                        let _ = tokio::fs::remove_file(dest).await;
                        return Err(DownloadError::Corrupt(format!(
                            "more bytes than the {total} announced"
                        )));
                    }
                    file.write_all(&bytes).await?;
                    let percent = if total == 0 {
                        100.0
                    } else {
                        written as f64 * 100.0 / total as f64
                    };
                    progress.send_replace(percent);
                }
                Err(e) => {
                    cut = Some(e.without_url().to_string());
                    break;
                }
            }
        }
        file.flush().await?;
        file.sync_data().await?;
        if written == total {
            return Ok(total);
        }
        last_error =
            cut.unwrap_or_else(|| format!("the connection closed at {written} of {total} bytes"));
        tracing::info!(attempt, bytes = written, total, error = %last_error, "download cut off; resuming");
    }
    Err(DownloadError::GaveUp(last_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_totals() {
        assert_eq!(range_total("bytes 100-199/200"), Some(200));
        assert_eq!(range_total("bytes */200"), Some(200));
        assert_eq!(range_total("bytes 1-2/*"), None);
    }
}
