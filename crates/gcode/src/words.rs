//! The words of a cleaned command (`G1 X10 Y-2.5 F3000`), as letter and number pairs.
//!
//! Only numeric words are meaningful here; text arguments (`M117 Hello`) yield whatever parses
//! and callers only look at the letters they know for the command they matched.

/// One `letter number` word, the letter upper-cased.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Word {
    pub letter: u8,
    pub value: f64,
}

/// The command's code: `G1` is `(b'G', 1)`. Sub-codes (`G29.1`) and text are `None`.
pub fn code(command: &str) -> Option<(u8, u32)> {
    let first = words(command).next()?;
    let whole = first.value as u32;
    (first.value >= 0.0 && f64::from(whole) == first.value).then_some((first.letter, whole))
}

/// Iterates over the words of `command`, accepting `G1X1Y2` as well as `G1 X1 Y2`.
pub fn words(command: &str) -> Words<'_> {
    Words {
        rest: command.as_bytes(),
    }
}

/// The value of the first word with `letter` after the command code, if any.
pub fn param(command: &str, letter: u8) -> Option<f64> {
    words(command)
        .skip(1)
        .find(|w| w.letter == letter)
        .map(|w| w.value)
}

/// Iterator returned by [`words`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl Iterator for Words<'_> {
    type Item = Word;

    fn next(&mut self) -> Option<Word> {
        loop {
            let start = self.rest.iter().position(u8::is_ascii_alphabetic)?;
            let letter = self.rest[start].to_ascii_uppercase();
            let tail = &self.rest[start + 1..];
            let len = number_len(tail);
            self.rest = &tail[len..];
            if len == 0 {
                // A bare letter (`G28 X`) carries no number; callers that care use `has_letter`.
                continue;
            }
            // The bytes are ASCII digits, sign and dot, so they are valid UTF-8.
            let text = std::str::from_utf8(&tail[..len]).ok()?;
            if let Ok(value) = text.parse::<f64>() {
                return Some(Word { letter, value });
            }
        }
    }
}

/// Whether the command mentions axis `letter` at all, with or without a number (`G28 X Y`).
pub fn has_letter(command: &str, letter: u8) -> bool {
    command
        .as_bytes()
        .iter()
        .skip(1)
        .any(|b| b.to_ascii_uppercase() == letter)
}

fn number_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    if i == digits_start {
        // Not a number: leave the spaces for the next scan.
        return 0;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words() {
        let w: Vec<_> = words("G1 X10 Y-2.5 e.5 F3000").collect();
        assert_eq!(w.len(), 5);
        assert_eq!(
            w[1],
            Word {
                letter: b'X',
                value: 10.0
            }
        );
        assert_eq!(w[2].value, -2.5);
        assert_eq!(
            w[3],
            Word {
                letter: b'E',
                value: 0.5
            }
        );
        assert_eq!(code("G1 X10"), Some((b'G', 1)));
        assert_eq!(code("g91"), Some((b'G', 91)));
        assert_eq!(code("G29.1"), None);
        assert_eq!(param("M104 S215 T0", b'S'), Some(215.0));
        assert_eq!(param("M104 T0", b'S'), None);
    }

    #[test]
    fn compact_and_bare_letters() {
        let w: Vec<_> = words("G1X1Y2").collect();
        assert_eq!(w.len(), 3);
        assert_eq!(code("G28 X Y"), Some((b'G', 28)));
        assert!(has_letter("G28 X Y", b'Y'));
        assert!(!has_letter("G28 X Y", b'Z'));
        assert_eq!(words("G28 X Y").count(), 1);
    }
}
