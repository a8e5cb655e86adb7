//! The sockets the dashboard listens on, and live rebinding between loopback and every
//! interface.
//!
//! One `axum::serve` runs for the daemon's whole life on an [`Incoming`] queue. Acceptor tasks,
//! one per bound socket, feed that queue; rebinding replaces only the acceptor tasks, so
//! connections already being served (open pages, WebSockets, API calls) never notice.
//! With TLS on, each connection's first byte tells a TLS handshake from plain HTTP, so one port
//! serves both (plain HTTP from another machine is then answered with a redirect).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS record starts with this content type (handshake).
const TLS_HANDSHAKE: u8 = 0x16;
/// A connection that has not said anything (or finished its handshake) by then is dropped.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections between accept and the HTTP server at one time; more are turned away.
const MAX_PENDING: usize = 256;

/// Who is on the other end of a connection: the TCP peer, never a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
}

impl Peer {
    /// Local means the TCP peer is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x).
    pub fn is_local(&self) -> bool {
        is_loopback(self.remote.ip())
    }
}

pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

impl Connected<IncomingStream<'_, Incoming>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Incoming>) -> Peer {
        *stream.remote_addr()
    }
}

/// A served connection, plain or TLS.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The queue `axum::serve` takes connections from.
pub struct Incoming {
    rx: mpsc::Receiver<(Conn, Peer)>,
    local: Peer,
}

impl axum::serve::Listener for Incoming {
    type Io = Conn;
    type Addr = Peer;

    async fn accept(&mut self) -> (Conn, Peer) {
        match self.rx.recv().await {
            Some(next) => next,
            // Every sender is gone only when the daemon is stopping; graceful shutdown ends
            // the server without another accept.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(self.local)
    }
}

/// Which interfaces to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Loopback,
    AllInterfaces,
}

/// Owns the bound sockets and can swap them while the server runs.
pub struct Binder {
    port: u16,
    tx: mpsc::Sender<(Conn, Peer)>,
    tls: Arc<StdMutex<Option<TlsAcceptor>>>,
    pending: Arc<Semaphore>,
    acceptors: Mutex<Vec<(SocketAddr, JoinHandle<()>)>>,
    scope: StdMutex<Scope>,
}

impl Binder {
    /// Binds `port` (0: let the system choose) on `scope` and returns the binder and the queue
    /// to serve. A port in use is an error.
    pub async fn bind(port: u16, scope: Scope) -> io::Result<(Binder, Incoming)> {
        let (tx, rx) = mpsc::channel(64);
        let listeners = bind_scope(port, scope)?;
        let first = listeners[0].local_addr()?;
        let binder = Binder {
            port: first.port(),
            tx,
            tls: Arc::default(),
            pending: Arc::new(Semaphore::new(MAX_PENDING)),
            acceptors: Mutex::new(Vec::new()),
            scope: StdMutex::new(scope),
        };
        binder.spawn_acceptors(listeners).await;
        let local = Peer {
            remote: first,
            local: first,
            tls: false,
        };
        Ok((binder, Incoming { rx, local }))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn scope(&self) -> Scope {
        *self.scope.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn addresses(&self) -> Vec<SocketAddr> {
        self.acceptors
            .lock()
            .await
            .iter()
            .map(|(a, _)| *a)
            .collect()
    }

    /// Turns TLS on (with this acceptor) or off for connections accepted from now on.
    pub fn set_tls(&self, acceptor: Option<TlsAcceptor>) {
        *self.tls.lock().unwrap_or_else(|p| p.into_inner()) = acceptor;
    }

    /// Listens on `scope` instead of the current sockets; connections already accepted are
    /// untouched. On failure the previous scope is restored.
    pub async fn rebind(&self, scope: Scope) -> io::Result<Vec<SocketAddr>> {
        let mut acceptors = self.acceptors.lock().await;
        let previous = self.scope();
        // The old sockets must be closed first: 0.0.0.0:P cannot be bound while 127.0.0.1:P is.
        for (_, task) in acceptors.drain(..) {
            task.abort();
            let _ = task.await;
        }
        let (result, listeners) = match bind_scope(self.port, scope) {
            Ok(listeners) => (Ok(()), listeners),
            Err(e) => {
                tracing::error!(error = %e, ?scope, "cannot listen; going back to the previous sockets");
                (Err(e), bind_scope(self.port, previous)?)
            }
        };
        if result.is_ok() {
            *self.scope.lock().unwrap_or_else(|p| p.into_inner()) = scope;
        }
        drop(acceptors);
        self.spawn_acceptors(listeners).await;
        result?;
        Ok(self.addresses().await)
    }

    /// Stops listening (at shutdown).
    pub async fn close(&self) {
        for (_, task) in self.acceptors.lock().await.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }

    async fn spawn_acceptors(&self, listeners: Vec<TcpListener>) {
        let mut acceptors = self.acceptors.lock().await;
        for listener in listeners {
            let Ok(address) = listener.local_addr() else {
                continue;
            };
            let task = tokio::spawn(accept_loop(
                listener,
                self.tx.clone(),
                self.tls.clone(),
                self.pending.clone(),
            ));
            acceptors.push((address, task));
        }
    }
}

impl Drop for Binder {
    /// A daemon that fails to start must not leave its sockets listening.
    fn drop(&mut self) {
        if let Ok(mut acceptors) = self.acceptors.try_lock() {
            for (_, task) in acceptors.drain(..) {
                task.abort();
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tx: mpsc::Sender<(Conn, Peer)>,
    tls: Arc<StdMutex<Option<TlsAcceptor>>>,
    pending: Arc<Semaphore>,
) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "too many connections waiting; turning one away");
            continue;
        };
        let local = stream.local_addr().unwrap_or(remote);
        let acceptor = tls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let conn = match acceptor {
                None => Some((Conn::Plain(stream), false)),
                Some(acceptor) => {
                    tokio::time::timeout(FIRST_BYTES_TIMEOUT, classify(stream, acceptor))
                        .await
                        .ok()
                        .flatten()
                }
            };
            if let Some((conn, tls)) = conn {
                let _ = tx.send((conn, Peer { remote, local, tls })).await;
            }
        });
    }
}

/// Plain HTTP, or a TLS handshake (completed here so the HTTP server only sees plaintext).
async fn classify(stream: TcpStream, acceptor: TlsAcceptor) -> Option<(Conn, bool)> {
    let mut first = [0u8; 1];
    let n = stream.peek(&mut first).await.ok()?;
    if n == 1 && first[0] == TLS_HANDSHAKE {
        match acceptor.accept(stream).await {
            Ok(tls) => Some((Conn::Tls(Box::new(tls)), true)),
            Err(e) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                None
            }
        }
    } else {
        Some((Conn::Plain(stream), false))
    }
}

fn bind_scope(port: u16, scope: Scope) -> io::Result<Vec<TcpListener>> {
    let (v4, v6): (IpAddr, IpAddr) = match scope {
        Scope::Loopback => (Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()),
        Scope::AllInterfaces => (Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into()),
    };
    let first = bind_one(SocketAddr::new(v4, port))?;
    // With port 0 the system picked one; IPv6 uses the same.
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    match bind_one(SocketAddr::new(v6, port)) {
        Ok(listener) => listeners.push(listener),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
        Err(e) => tracing::warn!(error = %e, "IPv6 unavailable; serving on IPv4 only"),
    }
    Ok(listeners)
}

fn bind_one(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if address.is_ipv6() {
        // Separate IPv4 and IPv6 sockets, so that [::] does not also claim 0.0.0.0.
        socket.set_only_v6(true)?;
    }
    #[cfg(unix)]
    // Lets a rebind reuse the port while old connections sit in TIME_WAIT. (On Windows the
    // same option would let another program steal the port, so it is Unix only.)
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_are_local() {
        for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.231.0.2",
            "192.168.1.5",
            "::ffff:10.0.0.1",
            "fe80::1",
            "0.0.0.0",
            "::",
        ] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }
}
