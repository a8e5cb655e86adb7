//! Line framing: `N<n> <cmd>*<checksum>\n`.

/// The Marlin/RepRap line checksum: the XOR of every byte.
pub fn checksum(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |acc, b| acc ^ b)
}

/// Frame `command` as line `line_number`: `N{n} {cmd}*{cs}\n`, where `cs` is the decimal
/// [`checksum`] of everything before the `*`.
pub fn frame(line_number: u32, command: &str) -> String {
    let body = format!("N{line_number} {command}");
    let cs = checksum(body.as_bytes());
    format!("{body}*{cs}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(frame(0, "M110 N0"), "N0 M110 N0*125\n");
        assert_eq!(frame(1, "M115"), "N1 M115*39\n");
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"N0 M110 N0"), 125);
        assert_eq!(checksum(&[0xff, 0x0f]), 0xf0);
    }
}
