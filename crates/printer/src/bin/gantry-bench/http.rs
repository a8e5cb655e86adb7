//! Just enough HTTP/1.1 to drive the daemon's API on loopback: one request per connection,
//! the answer read to the end.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A daemon's API on `127.0.0.1:<port>`.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    pub port: u16,
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> io::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(io::Error::other)
    }
}

impl Api {
    pub fn get(&self, path: &str) -> io::Result<Answer> {
        self.request("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> io::Result<Answer> {
        self.request("POST", path, Some(content_type), body)
    }

    /// A GET whose answer must be a 2xx JSON document.
    pub fn get_json(&self, path: &str) -> io::Result<serde_json::Value> {
        let answer = self.get(path)?;
        expect_success(path, &answer)?;
        answer.json()
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> io::Result<Answer> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(kind) = content_type {
            head.push_str(&format!("Content-Type: {kind}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse(&raw)
    }
}

pub fn expect_success(what: &str, answer: &Answer) -> io::Result<()> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what}: HTTP {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    )))
}

fn parse(raw: &[u8]) -> io::Result<Answer> {
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad HTTP answer: {what}"),
        )
    };
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers are not text"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = &raw[end + 4..];
    let body = if chunked {
        dechunk(body).ok_or_else(|| bad("broken chunks"))?
    } else {
        body.to_vec()
    };
    Ok(Answer { status, body })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&raw[..eol])
            .ok()?
            .split(';')
            .next()?
            .trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}
