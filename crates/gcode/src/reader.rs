//! Streaming a G-code file as the commands to send, one line at a time.
//!
//! The reader owns one line buffer and one text buffer and reuses them, so memory stays constant
//! however large the file. Every command carries its 1-based source line and the byte offset just
//! after that line: the job journal stores the pair and progress is bytes acknowledged / total.

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::format::{detect_format, Format};
use crate::line;

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading G-code: {0}")]
    Io(#[from] std::io::Error),
    /// The command part of a line is not UTF-8. The line is skipped; reading may go on.
    #[error("line {line}: invalid UTF-8 at byte offset {offset} of the file")]
    InvalidUtf8 { line: u64, offset: u64 },
    /// The line is longer than [`line::MAX_LINE`] bytes; it is skipped, reading may go on.
    #[error("line {line}: longer than {} bytes", line::MAX_LINE)]
    LineTooLong { line: u64 },
    /// A resume position does not fall at the start of a line, so the journal and the file
    /// disagree (the file was changed or the position is corrupt).
    #[error("byte offset {offset} is not the end of a line of this file")]
    NotLineBoundary { offset: u64 },
    /// Binary G-code or not G-code at all: nothing of it may reach a printer. Reported once,
    /// then the reader is at its end.
    #[error("{}", .0.rejection().unwrap_or("unsupported file"))]
    Unsupported(Format),
}

/// One command, borrowed from the reader's buffers until the next read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the file.
    pub number: u64,
    /// Byte offset just after this line, terminator included.
    pub end_offset: u64,
    /// The command, comments stripped and whitespace normalised. Empty only for comment-only
    /// lines when [`Reader::keep_comment_lines`] is on.
    pub command: &'a str,
    /// The `;` comment without the `;`, raw bytes (comments need not be UTF-8).
    pub comment: Option<&'a [u8]>,
}

/// One command, owned; what the [`Iterator`] implementation yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub number: u64,
    pub end_offset: u64,
    pub text: String,
}

/// A streaming reader over any [`BufRead`]; a `BufReader<File>` in practice.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    raw: Vec<u8>,
    text: String,
    line: u64,
    offset: u64,
    keep_comment_lines: bool,
    check: Check,
}

/// Whether the file's format still has to be checked before its first line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Pending,
    Text,
    Rejected,
}

impl<R: BufRead> Reader<R> {
    /// A reader at the start of `inner`, which must be at the start of the file.
    pub fn new(inner: R) -> Self {
        Self::at(inner, 0, 0)
    }

    fn at(inner: R, line: u64, offset: u64) -> Self {
        Self {
            inner,
            raw: Vec::with_capacity(256),
            text: String::with_capacity(256),
            line,
            offset,
            keep_comment_lines: false,
            // A resumed job was checked when it started.
            check: if offset == 0 {
                Check::Pending
            } else {
                Check::Text
            },
        }
    }

    /// Also yield lines that hold only a comment (with an empty command), for callers that
    /// follow slicer markers such as `;LAYER:`. Blank lines are never yielded.
    pub fn keep_comment_lines(mut self, keep: bool) -> Self {
        self.keep_comment_lines = keep;
        self
    }

    /// The number of the last line read (0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Bytes consumed so far: the end offset of the last line read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next command, or `None` at end of file.
    ///
    /// A line with invalid UTF-8 or over-long is reported as an error and skipped, so the next
    /// call continues with the following line; the caller decides whether to go on.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, ReadError> {
        match self.check {
            Check::Text => {}
            Check::Rejected => return Ok(None),
            Check::Pending => {
                let format = detect_format(self.inner.fill_buf()?);
                if format != Format::Text {
                    self.check = Check::Rejected;
                    return Err(ReadError::Unsupported(format));
                }
                self.check = Check::Text;
            }
        }
        // The comment's range in `raw`, found first so the borrow is only taken once at the end.
        let comment = loop {
            let start = self.offset;
            let (consumed, truncated) = line::read_line_capped(&mut self.inner, &mut self.raw)?;
            if consumed == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.offset += consumed as u64;
            if truncated {
                return Err(ReadError::LineTooLong { line: self.line });
            }
            let mut raw = line::strip_eol(&self.raw);
            let mut bom = 0usize;
            if start == 0 {
                if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
                    raw = rest;
                    bom = 3;
                }
            }
            let split = line::split(raw);
            if let Err(at) = line::normalise(split.command, &mut self.text) {
                return Err(ReadError::InvalidUtf8 {
                    line: self.line,
                    offset: start + (bom + at) as u64,
                });
            }
            let comment = split.comment.map(|c| {
                let from = bom + split.command.len() + 1;
                from..from + c.len()
            });
            if !self.text.is_empty() || (self.keep_comment_lines && comment.is_some()) {
                break comment;
            }
        };
        Ok(Some(Line {
            number: self.line,
            end_offset: self.offset,
            command: &self.text,
            comment: comment.map(|r| &self.raw[r]),
        }))
    }

    /// Reads forward, without validating anything, until line `line` has been consumed; for
    /// resuming on a stream that cannot seek. Stops early at end of file.
    pub fn skip_through_line(&mut self, line: u64) -> Result<(), ReadError> {
        while self.line < line {
            let (consumed, _) = line::read_line_capped(&mut self.inner, &mut self.raw)?;
            if consumed == 0 {
                break;
            }
            self.line += 1;
            self.offset += consumed as u64;
        }
        Ok(())
    }
}

impl<R: BufRead + Seek> Reader<R> {
    /// A reader positioned just after line `line`, which ends at byte `end_offset`: the pair a
    /// job journal records for the last acknowledged command. Checks that `end_offset` really
    /// ends a line of this file so a changed file is caught instead of sending half a line.
    pub fn resume_after(mut inner: R, line: u64, end_offset: u64) -> Result<Self, ReadError> {
        if end_offset > 0 {
            inner.seek(SeekFrom::Start(end_offset - 1))?;
            let mut prev = [0u8; 1];
            let n = read_some(&mut inner, &mut prev)?;
            let at_eof = inner.fill_buf()?.is_empty();
            // A line ends with `\n`, except the file's last line, which ends at end of file.
            if n == 0 || (prev[0] != b'\n' && !at_eof) {
                return Err(ReadError::NotLineBoundary { offset: end_offset });
            }
        } else {
            inner.seek(SeekFrom::Start(0))?;
        }
        Ok(Self::at(inner, line, end_offset))
    }
}

fn read_some<R: Read>(inner: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match inner.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Command, ReadError>;

    /// Allocates one `String` per command; the printer driver's hot loop should prefer
    /// [`Reader::next_line`], which does not.
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_line() {
            Ok(Some(l)) => Some(Ok(Command {
                number: l.number,
                end_offset: l.end_offset,
                text: l.command.to_owned(),
            })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn all(input: &[u8]) -> Vec<Result<Command, ReadError>> {
        Reader::new(Cursor::new(input.to_vec())).collect()
    }

    #[test]
    fn yields_commands_with_lines_and_offsets() {
        let input = b"; header\r\nG28 ; home\r\n\r\n  G1   X1 Y2\nM104 S200";
        let cmds: Vec<Command> = all(input).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            cmds,
            vec![
                Command {
                    number: 2,
                    end_offset: 22,
                    text: "G28".into()
                },
                Command {
                    number: 4,
                    end_offset: 37,
                    text: "G1 X1 Y2".into()
                },
                Command {
                    number: 5,
                    end_offset: 46,
                    text: "M104 S200".into()
                },
            ]
        );
    }

    #[test]
    fn binary_gcode_is_refused_once() {
        let out = all(b"GCDE\x01\x00\x00\x00\x01\x00G28\n");
        assert_eq!(out.len(), 1);
        let err = out.into_iter().next().unwrap().unwrap_err();
        assert!(matches!(
            err,
            ReadError::Unsupported(Format::Binary { version: Some(1) })
        ));
        assert!(err.to_string().contains("bgcode"));
    }

    #[test]
    fn bom_is_ignored() {
        let cmds: Vec<_> = all(b"\xEF\xBB\xBFG28\n")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(cmds[0].text, "G28");
    }

    #[test]
    fn invalid_utf8_is_reported_and_skipped() {
        let out = all(b"G28\nM117 caf\xe9\nG1 X1 ; caf\xe9\n");
        assert!(matches!(out[0], Ok(ref c) if c.text == "G28"));
        match &out[1] {
            Err(ReadError::InvalidUtf8 { line, offset }) => {
                assert_eq!((*line, *offset), (2, 12));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(out[2], Ok(ref c) if c.text == "G1 X1" && c.number == 3));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn comment_lines_on_request() {
        let mut r =
            Reader::new(Cursor::new(b";LAYER:0\n\nG1 X1\n".to_vec())).keep_comment_lines(true);
        let l = r.next_line().unwrap().unwrap();
        assert_eq!(
            (l.number, l.command, l.comment),
            (1, "", Some(&b"LAYER:0"[..]))
        );
        let l = r.next_line().unwrap().unwrap();
        assert_eq!((l.number, l.command), (3, "G1 X1"));
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.offset(), 16);
    }

    #[test]
    fn too_long_line_is_an_error_not_an_allocation() {
        let mut input = vec![b'G'; line::MAX_LINE + 10];
        input.extend_from_slice(b"\nG28\n");
        let out = all(&input);
        assert!(matches!(out[0], Err(ReadError::LineTooLong { line: 1 })));
        assert!(matches!(out[1], Ok(ref c) if c.text == "G28" && c.number == 2));
    }

    #[test]
    fn resume_after_a_line() {
        let input = b"G28\n;c\nG1 X1\nG1 X2\n".to_vec();
        let first: Vec<Command> = all(&input).into_iter().map(Result::unwrap).collect();
        let resume = &first[1];
        let r = Reader::resume_after(Cursor::new(input.clone()), resume.number, resume.end_offset)
            .unwrap();
        let rest: Vec<Command> = r.map(Result::unwrap).collect();
        assert_eq!(rest, first[2..].to_vec());

        let err = Reader::resume_after(Cursor::new(input.clone()), 3, 9).unwrap_err();
        assert!(matches!(err, ReadError::NotLineBoundary { offset: 9 }));
        let err = Reader::resume_after(Cursor::new(input.clone()), 9, 500).unwrap_err();
        assert!(matches!(err, ReadError::NotLineBoundary { .. }));
    }

    #[test]
    fn resume_at_end_without_trailing_newline() {
        let input = b"G28\nG1 X1".to_vec();
        let mut r = Reader::resume_after(Cursor::new(input), 2, 9).unwrap();
        assert!(r.next_line().unwrap().is_none());
    }

    #[test]
    fn skip_through_line_counts_raw_lines() {
        let mut r = Reader::new(Cursor::new(b"G28\n;c\n\nG1 X1\n".to_vec()));
        r.skip_through_line(3).unwrap();
        assert_eq!((r.line_number(), r.offset()), (3, 8));
        let l = r.next_line().unwrap().unwrap();
        assert_eq!((l.number, l.command), (4, "G1 X1"));
    }
}
