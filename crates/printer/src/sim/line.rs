//! One received line as Marlin's serial reader sees it: an optional `N<n>` prefix, the command,
//! an optional `*<checksum>`, a comment it ignores.

/// XOR of every byte: the checksum hosts append after `*`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Frames `command` as line `number` the way a host does: `N<n> <command>*<checksum>`.
pub fn frame(number: u32, command: &str) -> String {
    let body = format!("N{number} {command}");
    let sum = checksum(body.as_bytes());
    format!("{body}*{sum}")
}

/// A received line split into its parts; nothing is validated yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// The number after a leading `N`, if the line starts with one.
    pub number: Option<i64>,
    /// The command without the `N` prefix, the checksum and the comment.
    pub command: String,
    /// The checksum after the last `*`, with the one computed over everything before it.
    pub checksum: Option<Checksum>,
}

/// A line's declared checksum and the one its bytes give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub declared: i64,
    pub computed: u8,
}

impl Checksum {
    pub fn matches(self) -> bool {
        self.declared == i64::from(self.computed)
    }
}

/// The bytes that matter in a line: the comment cut off, surrounding whitespace trimmed.
pub fn significant(line: &[u8]) -> &[u8] {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    line[..end].trim_ascii()
}

impl RawLine {
    /// Splits a line whose comment and surrounding whitespace are already gone.
    pub fn parse(line: &[u8]) -> Self {
        let (covered, checksum) = match line.iter().rposition(|&b| b == b'*') {
            Some(star) => (
                &line[..star],
                Some(Checksum {
                    declared: leading_integer(&line[star + 1..]),
                    computed: checksum(&line[..star]),
                }),
            ),
            None => (line, None),
        };
        let (number, command) = match covered.first() {
            Some(b'N' | b'n') => {
                let digits = &covered[1..];
                let len = integer_len(digits);
                (Some(leading_integer(digits)), &digits[len..])
            }
            _ => (None, covered),
        };
        Self {
            number,
            command: String::from_utf8_lossy(command.trim_ascii()).into_owned(),
            checksum,
        }
    }
}

/// Length of the integer (optional sign, digits) at the start of `bytes`.
fn integer_len(bytes: &[u8]) -> usize {
    let sign = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    sign + bytes[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// The integer at the start of `bytes`, 0 if there is none (as C's `strtol` reads it).
pub fn leading_integer(bytes: &[u8]) -> i64 {
    let bytes = bytes.trim_ascii_start();
    let len = integer_len(bytes);
    std::str::from_utf8(&bytes[..len])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_like_a_host() {
        assert_eq!(frame(0, "M110 N0"), "N0 M110 N0*125");
        assert_eq!(frame(1, "M115"), "N1 M115*39");
    }

    #[test]
    fn splits_number_command_and_checksum() {
        let line = RawLine::parse(b"N12 G1 X10*99");
        assert_eq!(line.number, Some(12));
        assert_eq!(line.command, "G1 X10");
        let sum = line.checksum.unwrap();
        assert_eq!(sum.declared, 99);
        assert_eq!(sum.computed, checksum(b"N12 G1 X10"));
    }

    #[test]
    fn plain_line_has_no_number_or_checksum() {
        let line = RawLine::parse(b"M105");
        assert_eq!(line.number, None);
        assert_eq!(line.checksum, None);
        assert_eq!(line.command, "M105");
    }

    #[test]
    fn comment_and_whitespace_are_not_significant() {
        assert_eq!(significant(b"  G1 X1 ; move\r"), b"G1 X1");
        assert_eq!(significant(b"; only a comment"), b"");
    }

    #[test]
    fn garbage_checksum_reads_as_zero() {
        let line = RawLine::parse(b"N1 M105*x");
        assert_eq!(line.checksum.unwrap().declared, 0);
    }
}
