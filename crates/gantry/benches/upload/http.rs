//! A minimal HTTP/1.1 client on a raw TCP socket that streams a file as the request body
//! (with `sendfile` under `std::io::copy` on Linux), so the client never holds the file in
//! memory and costs the machine as little as possible.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The daemon may take this long to answer after the last byte (fsync, metadata scan).
const ANSWER_PATIENCE: Duration = Duration::from_secs(600);
const BOUNDARY: &str = "----gantry-bench-7d1f0b5c";

/// One request's answer and timings.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// From connecting to writing the body's last byte.
    pub sent_after: Duration,
    /// From connecting to reading the whole answer.
    pub answered_after: Duration,
}

/// `POST path` with the file as the raw body (the dashboard's `/api/v1/files`).
pub fn post_file(port: u16, path: &str, file: &Path) -> Result<Answer, String> {
    let length = file_len(file)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    exchange(port, &head, b"", file, b"")
}

/// `POST path` as `multipart/form-data` with the file in the `file` field, as slicers send
/// it to OctoPrint's `/api/files/local`.
pub fn post_multipart(
    port: u16,
    path: &str,
    file: &Path,
    file_name: &str,
) -> Result<Answer, String> {
    let before = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let after = format!(
        "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"select\"\r\n\r\nfalse\r\n--{BOUNDARY}--\r\n"
    );
    let length = before.len() as u64 + file_len(file)? + after.len() as u64;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n"
    );
    exchange(port, &head, before.as_bytes(), file, after.as_bytes())
}

/// `GET path`, for the JSON that follows an upload.
pub fn get(port: u16, path: &str) -> Result<Answer, String> {
    let started = Instant::now();
    let mut stream = connect(port)?;
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let sent_after = started.elapsed();
    read_answer(&mut stream, started, sent_after)
}

fn file_len(file: &Path) -> Result<u64, String> {
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(ANSWER_PATIENCE))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

fn exchange(
    port: u16,
    head: &str,
    before: &[u8],
    file: &Path,
    after: &[u8],
) -> Result<Answer, String> {
    let started = Instant::now();
    let mut stream = connect(port)?;
    let mut source = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let sent = (|| -> io::Result<()> {
        stream.write_all(head.as_bytes())?;
        stream.write_all(before)?;
        io::copy(&mut source, &mut stream)?;
        stream.write_all(after)
    })();
    let sent_after = started.elapsed();
    match (sent, read_answer(&mut stream, started, sent_after)) {
        (_, Ok(answer)) => Ok(answer),
        // The daemon may answer early (and close) when it refuses the upload.
        (Err(e), Err(_)) => Err(format!("sending the file: {e}")),
        (Ok(()), Err(e)) => Err(e),
    }
}

fn read_answer(
    stream: &mut TcpStream,
    started: Instant,
    sent_after: Duration,
) -> Result<Answer, String> {
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading the answer: {e}"))?;
    let answered_after = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok(Answer {
        status,
        body: body.to_owned(),
        sent_after,
        answered_after,
    })
}
