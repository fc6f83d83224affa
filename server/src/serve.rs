//! Serving HTTP with bounds on what a client may hold: hyper under `axum::serve` has no timer,
//! so a request that sends half its headers, or a connection that never sends anything, stays
//! open for good, and enough of them use up the process's file descriptors.
//!
//! Here each connection is watched: one idle (no request being answered) past
//! `idle_timeout`, or whose next request's headers have not all arrived within
//! `header_timeout` of its first byte, is closed. At `max_connections`, a new connection
//! closes the connection that has been idle longest; when every connection is busy, the new
//! one gets a plain 503 with `Retry-After` and is closed, never left hanging. (Bodies are
//! bounded by `security::read_body_within`.)

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use app::backend::metrics::Metrics;
use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Notify},
};
use tower::ServiceExt;

use crate::security;

/// What one client may hold, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must all arrive within this time of its first byte.
    pub header_timeout: Duration,
    /// A connection with no request in progress is closed after this long.
    pub idle_timeout: Duration,
    /// Open connections at most; see the module's comment for what happens past it.
    pub max_connections: usize,
}

/// How long connections still open at shutdown may take to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// A refused connection: how long its 503 may take to go out and the client to hang up.
const REFUSAL_LINGER: Duration = Duration::from_secs(2);
/// File descriptors kept for everything but client connections (PostgreSQL, S3, files, logs).
const RESERVED_FDS: u64 = 256;

/// Raises the soft limit on open files to the hard limit, which a service manager or the
/// shell often set far apart (1 024 and 524 288 are usual). The soft limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok(hard);
    }
    Ok(soft)
}

/// `wanted` connections, or fewer when the open-file limit could not hold them and the
/// descriptors the server needs besides.
pub fn connection_cap(wanted: usize, open_file_limit: u64) -> usize {
    let room = open_file_limit.saturating_sub(RESERVED_FDS).max(16);
    wanted
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(1)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in progress
/// finish (up to 30 s) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Option<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Registry::new(metrics));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut accept_errors = ErrorLog::default();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error, &mut accept_errors, &registry).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if registry.len() >= limits.max_connections && !registry.evict_idlest() {
            registry.count_refused();
            tokio::spawn(refuse(stream));
            continue;
        }
        let conn = registry.register();
        tokio::spawn(serve_connection(
            stream,
            router.clone(),
            remote,
            conn,
            limits,
            stopping.clone(),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while !registry.is_empty() && Instant::now() < deadline {
        registry.emptied.notified().await;
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    remote: SocketAddr,
    conn: Registered,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let state = conn.state.clone();
    let keep_alive = keep_alive_hint(limits.idle_timeout);
    let service = {
        let state = state.clone();
        tower::service_fn(move |request: Request<Incoming>| {
            let busy = Busy::start(&state);
            let http1 = request.version() <= axum::http::Version::HTTP_11;
            // The client's address, as `axum::serve` gives it to handlers.
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            let answer = router.clone().oneshot(request);
            let keep_alive = keep_alive.clone();
            async move {
                // Busy until the answer's body has gone out (pages stream).
                let mut response = answer.await?;
                // Says how long an idle connection stays open, so a client that reads it
                // (Node's fetch) keeps the connection no longer than this end does, rather than
                // send a request down one this end is closing. HTTP/1 only: HTTP/2 forbids it.
                if http1 {
                    response
                        .headers_mut()
                        .entry(axum::http::header::HeaderName::from_static("keep-alive"))
                        .or_insert(keep_alive);
                }
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _busy = &busy;
                        frame
                    }))
                }))
            }
        })
    };
    let mut builder = Builder::new(TokioExecutor::new());
    // Headers are timed here (`Conn::deadline`): hyper's own timer would also close a
    // keep-alive connection idle for the header timeout.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        state: state.clone(),
    });
    let connection = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        ended = watch_connection(&state, limits) => {
            tracing::debug!(reason = ended, "closing a connection");
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
}

/// The `Keep-Alive` header of answers: a second under the idle timeout (at least one), for the
/// request that may be on its way while the connection is closed.
fn keep_alive_hint(idle_timeout: Duration) -> axum::http::HeaderValue {
    let seconds = idle_timeout.as_secs().saturating_sub(1).max(1);
    axum::http::HeaderValue::from_str(&format!("timeout={seconds}"))
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static("timeout=1"))
}

/// Resolves when the connection should be closed: idle too long, headers too slow, or
/// evicted to make room for a new one.
async fn watch_connection(state: &Conn, limits: Limits) -> &'static str {
    loop {
        let wait = match state.deadline(limits) {
            Some((at, reason)) => match at.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => wait,
                _ => return reason,
            },
            // A request is being answered: look again later.
            None => limits.header_timeout.min(limits.idle_timeout),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.first_byte_came.notified() => {}
            () = state.evict.notified() => {
                if state.in_flight.load(Ordering::Acquire) == 0 {
                    return "evicted: too many connections";
                }
                state.evicted.store(false, Ordering::Release);
            }
        }
    }
}

/// One connection's state, shared by its reader, its service and its watcher.
struct Conn {
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// When the connection last had no request in progress (accepted, or answered one), in
    /// milliseconds since the registry's epoch.
    idle_since: AtomicU64,
    /// When the first byte of a request not yet started arrived (0: none arrived).
    first_byte: AtomicU64,
    first_byte_came: Notify,
    /// Asked to close to make room.
    evicted: AtomicBool,
    evict: Notify,
    epoch: Instant,
    requests: Arc<Requests>,
}

/// Requests being answered on all connections, for the metrics.
struct Requests {
    in_progress: AtomicUsize,
    metrics: Option<Metrics>,
}

impl Requests {
    fn add(&self, n: isize) {
        let now = if n > 0 {
            self.in_progress.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            self.in_progress.fetch_sub(1, Ordering::AcqRel) - 1
        };
        if let Some(metrics) = &self.metrics {
            metrics.set("haul_http_requests_in_progress", &[], now as f64);
        }
    }
}

impl Conn {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.epoch + Duration::from_millis(millis)
    }

    /// When the connection should be closed if nothing changes, and why. None while a
    /// request is being answered.
    fn deadline(&self, limits: Limits) -> Option<(Instant, &'static str)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let idle = (
            self.at(self.idle_since.load(Ordering::Acquire)) + limits.idle_timeout,
            "idle timeout",
        );
        let first = self.first_byte.load(Ordering::Acquire);
        if first == 0 {
            return Some(idle);
        }
        let headers = (self.at(first) + limits.header_timeout, "header timeout");
        Some(if headers.0 < idle.0 { headers } else { idle })
    }
}

/// A request being answered; its drop marks the connection idle from now.
struct Busy(Arc<Conn>);

impl Busy {
    fn start(state: &Arc<Conn>) -> Self {
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        state.first_byte.store(0, Ordering::Release);
        state.requests.add(1);
        Self(state.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.requests.add(-1);
    }
}

/// The socket, noting when a request's first byte arrives.
struct Tracked {
    inner: TcpStream,
    state: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && this.state.in_flight.load(Ordering::Acquire) == 0
            && this.state.first_byte.load(Ordering::Acquire) == 0
        {
            this.state
                .first_byte
                .store(this.state.now(), Ordering::Release);
            // The header timeout now runs: the watcher's deadline moved closer.
            this.state.first_byte_came.notify_one();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The open connections.
struct Registry {
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    epoch: Instant,
    emptied: Notify,
    metrics: Option<Metrics>,
    requests: Arc<Requests>,
}

/// A connection in the registry, removed when dropped (its task ended).
struct Registered {
    id: u64,
    state: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let left = {
            let mut open = self.registry.lock();
            open.remove(&self.id);
            open.len()
        };
        self.registry.gauge(left);
        if left == 0 {
            self.registry.emptied.notify_waiters();
        }
    }
}

impl Registry {
    fn new(metrics: Option<Metrics>) -> Self {
        Self {
            open: Mutex::default(),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
            emptied: Notify::new(),
            requests: Arc::new(Requests {
                in_progress: AtomicUsize::new(0),
                metrics: metrics.clone(),
            }),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn register(self: &Arc<Self>) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            first_byte_came: Notify::new(),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            epoch: self.epoch,
            requests: self.requests.clone(),
        });
        state.idle_since.store(state.now(), Ordering::Release);
        let open = {
            let mut open = self.lock();
            open.insert(id, state.clone());
            open.len()
        };
        self.gauge(open);
        Registered {
            id,
            state,
            registry: self.clone(),
        }
    }

    /// Asks the connection idle longest (not already asked) to close. False when every
    /// connection is answering a request.
    fn evict_idlest(&self) -> bool {
        let open = self.lock();
        let idlest = open
            .values()
            .filter(|c| {
                c.in_flight.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire)
            })
            .min_by_key(|c| c.idle_since.load(Ordering::Acquire));
        let Some(conn) = idlest else {
            return false;
        };
        conn.evicted.store(true, Ordering::Release);
        conn.evict.notify_one();
        if let Some(metrics) = &self.metrics {
            metrics.count("haul_http_connections_evicted_total", &[], 1);
        }
        true
    }

    fn count_refused(&self) {
        if let Some(metrics) = &self.metrics {
            metrics.count("haul_http_connections_refused_total", &[], 1);
        }
    }

    fn gauge(&self, open: usize) {
        if let Some(metrics) = &self.metrics {
            metrics.set("haul_http_connections_open", &[], open as f64);
        }
    }
}

/// Answers a connection past the cap with a 503 (with the headers every answer carries) and
/// closes it once the client has read it, or after a short wait.
async fn refuse(mut stream: TcpStream) {
    let body = "Too many connections right now. Try again in a moment.\n";
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\ncache-control: no-cache\r\n",
        body.len()
    );
    for (name, value) in security::HEADERS {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str(&format!(
        "{}: {}\r\n\r\n{body}",
        axum::http::header::CONTENT_SECURITY_POLICY,
        security::NON_PAGE_POLICY
    ));
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client still sends until it hangs up: closing a socket with unread
        // data resets it, and a reset can discard the answer before the client reads it.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    })
    .await;
}

/// At most one line a second about failing accepts (out of file descriptors, say).
#[derive(Default)]
struct ErrorLog {
    last: Option<Instant>,
    skipped: u64,
}

/// A failed accept: errors of one connection (reset before accepted) are skipped; others
/// (out of file descriptors) make room by closing an idle connection and wait a moment, as
/// retrying at once would spin.
async fn accept_failed(error: &io::Error, log: &mut ErrorLog, registry: &Registry) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    let now = Instant::now();
    if log
        .last
        .is_none_or(|last| now - last >= Duration::from_secs(1))
    {
        tracing::warn!(%error, skipped = log.skipped, "accepting a connection failed");
        log.last = Some(now);
        log.skipped = 0;
    } else {
        log.skipped += 1;
    }
    registry.evict_idlest();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_servers_own_files() {
        assert_eq!(connection_cap(10_000, 1_048_576), 10_000);
        assert_eq!(connection_cap(10_000, 1_024), 768);
        assert_eq!(connection_cap(10_000, 100), 16);
    }
}
