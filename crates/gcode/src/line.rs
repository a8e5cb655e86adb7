//! Turning one raw line of a file into the command a printer should see.
//!
//! Works on bytes so comments never have to be valid UTF-8: they are never sent, and slicers
//! sometimes write file names in a legacy code page there. Only the command text is validated.

/// The parts of one raw line (without its line ending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// Command bytes with comments removed, not yet trimmed.
    pub command: &'a [u8],
    /// The `;` comment, without the `;`, if the line has one.
    pub comment: Option<&'a [u8]>,
}

/// Removes the line terminator (`\n`, `\r\n`, or a lone trailing `\r`).
pub fn strip_eol(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// Splits off the `;` comment. `(…)` comments are left to [`normalise`], which has to copy anyway.
pub fn split(raw: &[u8]) -> Split<'_> {
    match memchr::memchr(b';', raw) {
        Some(i) => Split {
            command: &raw[..i],
            comment: Some(&raw[i + 1..]),
        },
        None => Split {
            command: raw,
            comment: None,
        },
    }
}

/// Copies `command` into `out` without `(…)` comments, with runs of whitespace collapsed to one
/// space and no leading or trailing whitespace. An unclosed `(` comments out the rest of the line,
/// as the firmwares that accept parentheses do.
///
/// Returns the byte index in `command` of the first invalid UTF-8 sequence, if any.
pub fn normalise(command: &[u8], out: &mut String) -> Result<(), usize> {
    out.clear();
    // Validate first: the common case is pure ASCII and then the copy below cannot split a
    // multi-byte character, because it only cuts at ASCII delimiters.
    let text = match std::str::from_utf8(command) {
        Ok(t) => t,
        Err(e) => {
            // Invalid bytes inside a parenthesised comment are not an error: strip first.
            let mut stripped = Vec::with_capacity(command.len());
            let mut in_paren = false;
            let mut origin = Vec::with_capacity(command.len());
            for (i, &b) in command.iter().enumerate() {
                match (in_paren, b) {
                    (false, b'(') => in_paren = true,
                    (true, b')') => {
                        // Like the valid path: a comment separates the words around it.
                        in_paren = false;
                        stripped.push(b' ');
                        origin.push(i);
                    }
                    (false, _) => {
                        stripped.push(b);
                        origin.push(i);
                    }
                    (true, _) => {}
                }
            }
            return match std::str::from_utf8(&stripped) {
                Ok(t) => {
                    push_normalised(t, out);
                    Ok(())
                }
                Err(e2) => Err(origin
                    .get(e2.valid_up_to())
                    .copied()
                    .unwrap_or(e.valid_up_to())),
            };
        }
    };
    push_normalised(text, out);
    Ok(())
}

fn push_normalised(text: &str, out: &mut String) {
    if !text.is_ascii() {
        return push_normalised_unicode(text, out);
    }
    // ASCII fast path: the common case, and cutting at any byte is a character boundary.
    let is_space = |b: u8| b.is_ascii_whitespace() || b == 0x0B;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => match memchr::memchr(b')', &bytes[i + 1..]) {
                Some(j) => i += j + 2,
                None => break,
            },
            b if is_space(b) => i += 1,
            _ => {
                let start = i;
                while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'(' {
                    i += 1;
                }
                push_token(out, &text[start..i]);
            }
        }
    }
}

/// The same rules with Unicode whitespace, for commands with non-ASCII text (`M117 Café`).
fn push_normalised_unicode(text: &str, out: &mut String) {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return;
        }
        if let Some(inside) = rest.strip_prefix('(') {
            match inside.find(')') {
                Some(j) => rest = &inside[j + 1..],
                None => return,
            }
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '(')
            .unwrap_or(rest.len());
        push_token(out, &rest[..end]);
        rest = &rest[end..];
    }
}

fn push_token(out: &mut String, token: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(token);
}

/// The longest line kept in memory. G-code lines are short; the longest real ones are slicer
/// comments of a few kilobytes. Anything longer is truncated so a file without newlines cannot
/// exhaust memory.
pub const MAX_LINE: usize = 1 << 20;

/// Reads one line (with its terminator) into `buf`, keeping at most [`MAX_LINE`] bytes of it.
///
/// Returns how many bytes were consumed from `inner` (0 at end of file) and whether the line was
/// cut. Unlike `BufRead::read_until` the memory used is bounded whatever the input.
pub fn read_line_capped<R: std::io::BufRead + ?Sized>(
    inner: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    if buf.capacity() > 4 * 64 * 1024 {
        // One giant line must not pin a giant buffer for the rest of a long job.
        buf.shrink_to(64 * 1024);
    }
    let mut consumed = 0;
    let mut truncated = false;
    loop {
        let available = match inner.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, truncated));
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if chunk.len() > room {
            truncated = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        inner.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, truncated));
        }
    }
}

/// Calls `f` with every line of `inner` (terminator included) and the number of bytes it took
/// in the input, which is larger than the slice only when the line was cut at [`MAX_LINE`].
///
/// Lines that lie whole inside the reader's buffer are passed in place, not copied: this is the
/// metadata scan's hot loop.
pub fn for_each_line<R, F>(inner: &mut R, carry: &mut Vec<u8>, mut f: F) -> std::io::Result<()>
where
    R: std::io::BufRead + ?Sized,
    F: FnMut(&[u8], usize),
{
    carry.clear();
    // Bytes of the partial line in `carry` as taken from the input (more than `carry.len()` once
    // the line is cut).
    let mut carried = 0usize;
    loop {
        let available = match inner.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if carried > 0 {
                f(carry, carried);
            }
            return Ok(());
        }
        let used = if carried > 0 {
            let (chunk, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..=i], true),
                None => (available, false),
            };
            let room = MAX_LINE.saturating_sub(carry.len());
            carry.extend_from_slice(&chunk[..chunk.len().min(room)]);
            carried += chunk.len();
            if done {
                f(carry, carried);
                carry.clear();
                carried = 0;
            }
            chunk.len()
        } else {
            let mut start = 0;
            while let Some(i) = memchr::memchr(b'\n', &available[start..]) {
                let end = start + i + 1;
                f(&available[start..end], end - start);
                start = end;
            }
            let rest = &available[start..];
            carry.extend_from_slice(&rest[..rest.len().min(MAX_LINE)]);
            carried = rest.len();
            available.len()
        };
        inner.consume(used);
        if carry.capacity() > 4 * 64 * 1024 && carried == 0 {
            carry.shrink_to(64 * 1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &[u8]) -> Result<String, usize> {
        let mut out = String::new();
        normalise(split(strip_eol(s)).command, &mut out).map(|()| out)
    }

    #[test]
    fn strips_comments_and_whitespace() {
        assert_eq!(clean(b"G1  X1\tY2 ; move\r\n").unwrap(), "G1 X1 Y2");
        assert_eq!(clean(b"  G28 (home) X ; c").unwrap(), "G28 X");
        assert_eq!(clean(b"G1(c)X1").unwrap(), "G1 X1");
        assert_eq!(clean(b"M117 hi (unclosed").unwrap(), "M117 hi");
        assert_eq!(clean(b"   ;only a comment").unwrap(), "");
        assert_eq!(clean(b"\r\n").unwrap(), "");
    }

    #[test]
    fn unicode_text_and_odd_whitespace() {
        assert_eq!(
            clean("M117 Caf\u{e9}\u{a0} ok (x) ".as_bytes()).unwrap(),
            "M117 Caf\u{e9} ok"
        );
        assert_eq!(clean(b"\x0bG28\x0b\x0cX").unwrap(), "G28 X");
    }

    #[test]
    fn comments_may_hold_any_bytes() {
        assert_eq!(clean(b"G1 X1 ; caf\xe9").unwrap(), "G1 X1");
        assert_eq!(clean(b"G1 (caf\xe9) X1").unwrap(), "G1 X1");
        assert_eq!(clean(b"G1(caf\xe9)X1").unwrap(), "G1 X1");
    }

    #[test]
    fn invalid_command_bytes_are_located() {
        assert_eq!(clean(b"M117 caf\xe9"), Err(8));
        assert_eq!(clean(b"(x)M117 \xff"), Err(8));
    }

    #[test]
    fn for_each_line_matches_read_line_capped() {
        use std::io::{BufReader, Cursor};
        let short = b"G1 X1\r\n;c\n\nlonger line across buffers\nlast".to_vec();
        let mut long = short.clone();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 5));
        long.extend_from_slice(b"\nend\n");
        let cases = [
            (1, &short),
            (3, &short),
            (7, &short),
            (4096, &long),
            (1 << 16, &long),
        ];
        for (cap, input) in cases {
            let mut expected = Vec::new();
            let mut r = BufReader::with_capacity(cap, Cursor::new(input.clone()));
            let mut buf = Vec::new();
            loop {
                let (n, _) = read_line_capped(&mut r, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                expected.push((buf.clone(), n));
            }
            let mut got = Vec::new();
            let mut r = BufReader::with_capacity(cap, Cursor::new(input.clone()));
            for_each_line(&mut r, &mut Vec::new(), |l, n| got.push((l.to_vec(), n))).unwrap();
            assert_eq!(got, expected, "buffer capacity {cap}");
            assert_eq!(got.iter().map(|(_, n)| n).sum::<usize>(), input.len());
        }
    }

    #[test]
    fn split_finds_comment() {
        let s = split(b"G1 X1;LAYER:3");
        assert_eq!(s.command, b"G1 X1");
        assert_eq!(s.comment, Some(&b"LAYER:3"[..]));
    }
}
