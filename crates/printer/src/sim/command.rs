//! A queued command split into its word (`G1`, `M104`, `T0`) and parameters.

/// A command from the queue, parsed just enough to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The line number it arrived with, echoed by `ADVANCED_OK`.
    pub number: Option<i64>,
    /// The text as accepted (no `N`, no checksum).
    pub text: String,
    /// Command letter, upper case: `G`, `M`, `T`; `None` for text Marlin cannot parse.
    pub letter: Option<char>,
    /// Command number (`1` for `G1` and `G01`).
    pub code: u32,
    /// Where the parameters start in `text`.
    args_at: usize,
}

impl Command {
    pub fn parse(number: Option<i64>, text: String) -> Self {
        let bytes = text.as_bytes();
        let letter = bytes
            .first()
            .map(|b| b.to_ascii_uppercase())
            .filter(|b| matches!(b, b'G' | b'M' | b'T'))
            .map(char::from);
        let digits = bytes
            .iter()
            .skip(1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let (letter, code, args_at) = match letter {
            Some(l) if digits > 0 || l == 'T' => {
                let code = text[1..1 + digits].parse().unwrap_or(0);
                (Some(l), code, 1 + digits)
            }
            _ => (None, 0, 0),
        };
        Self {
            number,
            text,
            letter,
            code,
            args_at,
        }
    }

    /// `"M104"`-style name, for matching.
    pub fn is(&self, letter: char, code: u32) -> bool {
        self.letter == Some(letter) && self.code == code
    }

    /// The text after the command word, e.g. the message of `M117`.
    pub fn rest(&self) -> &str {
        self.text[self.args_at..].trim_start()
    }

    /// Whether parameter `key` is present (with or without a value).
    pub fn has(&self, key: char) -> bool {
        self.words().any(|(k, _)| k == key)
    }

    /// The value of parameter `key`, if present with a number.
    pub fn value(&self, key: char) -> Option<f64> {
        self.words().find(|(k, _)| *k == key).and_then(|(_, v)| v)
    }

    /// Letter/number pairs after the command word; letters may be glued (`X1Y2`).
    fn words(&self) -> impl Iterator<Item = (char, Option<f64>)> + '_ {
        let rest = &self.text[self.args_at..];
        let bytes = rest.as_bytes();
        let mut i = 0;
        std::iter::from_fn(move || {
            while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let key = char::from(*bytes.get(i)?).to_ascii_uppercase();
            i += 1;
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit() || matches!(bytes[i], b'.' | b'-' | b'+'))
            {
                i += 1;
            }
            Some((key, rest[start..i].parse().ok()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_and_parameters() {
        let c = Command::parse(Some(3), "G1 X10.5 Y-2 E0.3 F1200".into());
        assert!(c.is('G', 1));
        assert_eq!(c.value('X'), Some(10.5));
        assert_eq!(c.value('Y'), Some(-2.0));
        assert_eq!(c.value('F'), Some(1200.0));
        assert_eq!(c.value('Z'), None);
    }

    #[test]
    fn glued_parameters_and_leading_zero() {
        let c = Command::parse(None, "G01X1Y2".into());
        assert!(c.is('G', 1));
        assert_eq!(c.value('Y'), Some(2.0));
    }

    #[test]
    fn flag_without_value() {
        let c = Command::parse(None, "G28 X".into());
        assert!(c.has('X'));
        assert!(!c.has('Y'));
        assert_eq!(c.value('X'), None);
    }

    #[test]
    fn text_is_not_a_command() {
        assert_eq!(Command::parse(None, "hello".into()).letter, None);
        assert_eq!(Command::parse(None, "M".into()).letter, None);
    }

    #[test]
    fn tool_select() {
        let c = Command::parse(None, "T1".into());
        assert!(c.is('T', 1));
        assert_eq!(
            Command::parse(None, "M117 Hello there".into()).rest(),
            "Hello there"
        );
    }
}
