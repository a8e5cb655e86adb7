//! Following the slicers' layer markers, shared by the metadata scan and modal reconstruction.
//!
//! PrusaSlicer and OrcaSlicer write `;LAYER_CHANGE` then `;Z:<z>`; BambuStudio writes
//! `; CHANGE_LAYER` then `; Z_HEIGHT: <z>`; Cura writes `;LAYER:<n>` (negative for raft layers).
//! Files that only carry `;Z:` start a layer whenever that height changes.

/// What a comment changed, if anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// A new layer started; its 0-based index in file order.
    NewLayer { index: u32 },
    /// The height of the current layer became known.
    Height { z: f64 },
}

/// The layer state as comments are fed in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracker {
    count: u32,
    z: Option<f64>,
    awaiting_z: bool,
}

impl Tracker {
    /// The 0-based index of the current layer, `None` before the first marker.
    pub fn layer(&self) -> Option<u32> {
        self.count.checked_sub(1)
    }

    /// How many layers have started.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The height of the current layer when a marker gave it.
    pub fn z(&self) -> Option<f64> {
        self.z
    }

    /// Feeds one comment (without its `;`).
    pub fn observe(&mut self, comment: &[u8]) -> Option<Change> {
        let c = trim(comment);
        if c == b"LAYER_CHANGE" || c == b"CHANGE_LAYER" {
            self.awaiting_z = true;
            return Some(self.start(None));
        }
        if let Some(rest) = c.strip_prefix(b"LAYER:") {
            // Cura numbers raft layers from below zero; we only need the order.
            return parse(rest).map(|_| {
                self.awaiting_z = false;
                self.start(None)
            });
        }
        let z = c
            .strip_prefix(b"Z:")
            .or_else(|| c.strip_prefix(b"Z_HEIGHT:"))
            .and_then(parse)?;
        if self.awaiting_z {
            self.awaiting_z = false;
            self.z = Some(z);
            return Some(Change::Height { z });
        }
        if self.z.is_some_and(|old| (old - z).abs() < 1e-6) {
            return None;
        }
        Some(self.start(Some(z)))
    }

    fn start(&mut self, z: Option<f64>) -> Change {
        self.count = self.count.saturating_add(1);
        self.z = z;
        Change::NewLayer {
            index: self.count - 1,
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

fn parse(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(trim(b)).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prusa_style() {
        let mut t = Tracker::default();
        assert_eq!(t.layer(), None);
        assert_eq!(
            t.observe(b"LAYER_CHANGE"),
            Some(Change::NewLayer { index: 0 })
        );
        assert_eq!(t.observe(b"Z:0.2"), Some(Change::Height { z: 0.2 }));
        assert_eq!(t.observe(b"HEIGHT:0.2"), None);
        assert_eq!(
            t.observe(b"LAYER_CHANGE"),
            Some(Change::NewLayer { index: 1 })
        );
        assert_eq!(t.observe(b"Z:0.4"), Some(Change::Height { z: 0.4 }));
        assert_eq!((t.layer(), t.z()), (Some(1), Some(0.4)));
    }

    #[test]
    fn bambu_cura_and_bare_z() {
        let mut t = Tracker::default();
        t.observe(b" CHANGE_LAYER");
        assert_eq!(
            t.observe(b" Z_HEIGHT: 0.2"),
            Some(Change::Height { z: 0.2 })
        );

        let mut t = Tracker::default();
        assert_eq!(t.observe(b"LAYER:-2"), Some(Change::NewLayer { index: 0 }));
        assert_eq!(t.observe(b"LAYER:0"), Some(Change::NewLayer { index: 1 }));
        assert_eq!(t.observe(b"LAYER:x"), None);

        let mut t = Tracker::default();
        assert_eq!(t.observe(b"Z:0.3"), Some(Change::NewLayer { index: 0 }));
        assert_eq!(t.observe(b"Z:0.3"), None);
        assert_eq!(t.observe(b"Z:0.5"), Some(Change::NewLayer { index: 1 }));
        assert_eq!(t.z(), Some(0.5));
    }
}
