//! Thumbnails embedded as base64 comment blocks:
//! `; thumbnail begin 300x300 12345` … `; thumbnail end` (PNG), and the `thumbnail_QOI` and
//! `thumbnail_JPG` variants. Only the largest PNG is decoded and kept; the others are listed.

use base64::Engine as _;
use serde::{Deserialize, Serialize, Serializer};

/// Encoded text beyond this is not collected: no real thumbnail is near it, and a hostile file
/// must not make the scanner hold an unbounded block.
const MAX_ENCODED: usize = 8 << 20;

/// The image format a thumbnail block declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Png,
    Qoi,
    Jpg,
}

/// A thumbnail block as declared by its `begin` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// The base64 length the slicer declared.
    pub encoded_len: usize,
}

/// The decoded PNG thumbnail. Serialises the image as a base64 string for JSON.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    #[serde(serialize_with = "as_base64")]
    pub png: Vec<u8>,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

fn as_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Collects thumbnail blocks from comments fed in file order.
#[derive(Debug, Default)]
pub struct Collector {
    pub infos: Vec<ThumbnailInfo>,
    pub best: Option<Thumbnail>,
    open: Option<Open>,
}

#[derive(Debug)]
struct Open {
    info: ThumbnailInfo,
    /// `None` when this block is not worth decoding (not PNG, not larger, or too big).
    text: Option<String>,
}

impl Collector {
    /// A non-comment line inside a block means the block is broken: drop it.
    pub fn interrupt(&mut self) {
        if self.open.take().is_some() {
            tracing::warn!("thumbnail block interrupted by a command; ignored");
        }
    }

    /// Feeds a trimmed comment. Returns whether it belonged to thumbnails.
    pub fn observe(&mut self, comment: &str) -> bool {
        if let Some(open) = &mut self.open {
            if is_end(comment) {
                self.finish();
            } else if let Some(text) = &mut open.text {
                if text.len() + comment.len() > MAX_ENCODED {
                    tracing::warn!("thumbnail larger than {MAX_ENCODED} bytes of base64; ignored");
                    open.text = None;
                } else {
                    text.push_str(comment);
                }
            }
            return true;
        }
        let Some(info) = parse_begin(comment) else {
            return false;
        };
        let area = |w: u32, h: u32| u64::from(w) * u64::from(h);
        let larger = self
            .best
            .as_ref()
            .is_none_or(|b| area(info.width, info.height) > area(b.width, b.height));
        let text = (info.format == ImageFormat::Png && larger && info.encoded_len <= MAX_ENCODED)
            .then(|| String::with_capacity(info.encoded_len));
        self.open = Some(Open { info, text });
        true
    }

    fn finish(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let info = open.info;
        if let Some(text) = open.text {
            match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                Ok(png) if png.starts_with(PNG_MAGIC) => {
                    self.best = Some(Thumbnail {
                        width: info.width,
                        height: info.height,
                        png,
                    });
                }
                Ok(_) => tracing::warn!(
                    "thumbnail {}x{} is not a PNG; ignored",
                    info.width,
                    info.height
                ),
                Err(e) => tracing::warn!(
                    "thumbnail {}x{}: bad base64 ({e}); ignored",
                    info.width,
                    info.height
                ),
            }
        }
        self.infos.push(info);
    }
}

fn is_end(comment: &str) -> bool {
    matches!(
        comment,
        "thumbnail end" | "thumbnail_QOI end" | "thumbnail_JPG end" | "thumbnail_PNG end"
    )
}

fn parse_begin(comment: &str) -> Option<ThumbnailInfo> {
    let mut parts = comment.split_ascii_whitespace();
    let format = match parts.next()? {
        "thumbnail" | "thumbnail_PNG" => ImageFormat::Png,
        "thumbnail_QOI" => ImageFormat::Qoi,
        "thumbnail_JPG" => ImageFormat::Jpg,
        _ => return None,
    };
    if parts.next()? != "begin" {
        return None;
    }
    let (w, h) = parts.next()?.split_once('x')?;
    let encoded_len = parts.next()?.parse().ok()?;
    Some(ThumbnailInfo {
        format,
        width: w.parse().ok()?,
        height: h.parse().ok()?,
        encoded_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_b64(extra: u8) -> String {
        let mut bytes = PNG_MAGIC.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 13, extra]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn keeps_largest_png() {
        let mut c = Collector::default();
        let small = png_b64(1);
        let big = png_b64(2);
        for line in [
            format!("thumbnail begin 16x16 {}", small.len()),
            small[..4].to_string(),
            small[4..].to_string(),
            "thumbnail end".into(),
            "thumbnail_QOI begin 400x400 8".into(),
            "cW9pZg==".into(),
            "thumbnail_QOI end".into(),
            format!("thumbnail begin 220x124 {}", big.len()),
            big.clone(),
            "thumbnail end".into(),
        ] {
            assert!(c.observe(&line));
        }
        assert!(!c.observe("layer_height = 0.2"));
        let best = c.best.unwrap();
        assert_eq!((best.width, best.height), (220, 124));
        assert_eq!(best.png.last(), Some(&2));
        assert_eq!(c.infos.len(), 3);
        assert_eq!(c.infos[1].format, ImageFormat::Qoi);
    }

    #[test]
    fn bad_blocks_are_ignored() {
        let mut c = Collector::default();
        c.observe("thumbnail begin 16x16 8");
        c.observe("!!!!");
        c.observe("thumbnail end");
        assert!(c.best.is_none());
        c.observe("thumbnail begin 16x16 8");
        c.interrupt();
        assert!(c.open.is_none());
        assert!(c.best.is_none());
        assert!(!c.observe("thumbnail begin axb 8"));
    }
}
