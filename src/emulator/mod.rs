//! DRS emulator: an HTTP server on 127.0.0.1 that speaks the DRS wire protocol (restJson1,
//! SigV4-checked) and plays a scenario. It powers `--demo` and the tests; the product talks to
//! it through the real `aws-sdk-drs` client like to any other endpoint.

pub mod content;
mod failback_client;
pub mod held;
mod ops;
mod s3;
mod scenario;
mod sigv4;
mod state;

pub use s3::EMULATOR_INSTALLER_VERSION;
pub use scenario::Scenario;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::domain::time;
use crate::drs::StaticCredentials;
use scenario::CredentialSpec;
use sigv4::{KnownKey, SignedRequest};
use state::Engine;

/// Requests larger than this are refused (DRS requests are small JSON documents).
const MAX_BODY_BYTES: usize = 1 << 20;

/// What a front door allows a connection, so idle or slow clients cannot hold it open.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// A request's headers must arrive within this of the connection opening or its last
    /// answer: it closes idle keep-alive connections and slowloris alike.
    header_timeout: Duration,
    /// The whole body must arrive within this once the headers have.
    body_timeout: Duration,
    /// Connections served at once; more are closed as soon as accepted.
    max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(20),
            max_connections: 64,
        }
    }
}

/// A credential the scenario knows, for the demo's credential picker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmulatorCredential {
    /// e.g. "full access"
    pub label: String,
    pub credentials: StaticCredentials,
    /// What using it demonstrates.
    pub description: String,
}

/// Every credential `scenario` knows, as the demo offers them; the first is the default.
pub fn credentials_of(scenario: &Scenario) -> Vec<EmulatorCredential> {
    scenario
        .credentials
        .iter()
        .map(|c| EmulatorCredential {
            label: c.label.clone(),
            credentials: c.credentials.clone(),
            description: c.description.clone(),
        })
        .collect()
}

/// A running emulator; dropping it stops serving.
pub struct Emulator {
    addr: SocketAddr,
    region: String,
    credentials: Vec<EmulatorCredential>,
    engine: Arc<Engine>,
    accept: JoinHandle<()>,
    // Dropped with the emulator: open connections see it and close.
    _shutdown: watch::Sender<()>,
}

struct Shared {
    engine: Arc<Engine>,
    limits: Limits,
    /// The scenario region's S3 buckets (the replication software), on the same port.
    s3: Option<s3::Buckets>,
    region: String,
    credentials: Vec<CredentialSpec>,
    requests: AtomicU64,
}

impl Emulator {
    /// Binds (127.0.0.1:0 for an ephemeral port) and serves in a tokio task.
    pub async fn start(listen: SocketAddr, scenario: Scenario) -> std::io::Result<Emulator> {
        Emulator::start_with(listen, scenario, Limits::default()).await
    }

    async fn start_with(
        listen: SocketAddr,
        scenario: Scenario,
        limits: Limits,
    ) -> std::io::Result<Emulator> {
        if !listen.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the DRS emulator only listens on loopback, not {listen}"),
            ));
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let region = scenario.region.clone();
        let credentials = credentials_of(&scenario);
        // The tarball's stand-in failback_entry runs this very program.
        let program = std::env::current_exe()?;
        let buckets = s3::Buckets::new(&scenario, &program)?;
        let shared = Arc::new(Shared {
            s3: buckets,
            region: region.clone(),
            credentials: scenario.credentials.clone(),
            engine: Arc::new(Engine::new(scenario)),
            limits,
            requests: AtomicU64::new(0),
        });
        let engine = shared.engine.clone();
        let (shutdown, watcher) = watch::channel(());
        let accept = tokio::spawn(accept_loop(listener, shared, watcher));
        tracing::info!(%addr, "DRS emulator listening");
        Ok(Emulator {
            addr,
            region,
            credentials,
            engine,
            accept,
            _shutdown: shutdown,
        })
    }

    /// e.g. `http://127.0.0.1:40123`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn region(&self) -> String {
        self.region.clone()
    }

    /// Every credential the scenario knows; the first is the demo's default.
    pub fn credentials(&self) -> Vec<EmulatorCredential> {
        self.credentials.clone()
    }

    /// SHA-256 (hex) of the first `len` bytes of a recovery-instance volume's content (the
    /// whole volume when `len` is larger): what a target disk holds after a lossless failback.
    /// None for an unknown instance or volume.
    pub fn volume_sha256(&self, instance_id: &str, volume: &str, len: u64) -> Option<String> {
        let content = self
            .engine
            .with(|w, _| w.volume_content(instance_id, volume))?;
        Some(content.sha256(len))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!("DRS emulator accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!("DRS emulator at its connection limit: closing a new connection");
            drop(stream);
            continue;
        };
        // Small pieces (a slow S3 answer) must not wait for delayed ACKs: paused-time tests
        // never let that real time pass.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        // One task per connection: the SDK may hold two keep-alive connections at once.
        tokio::spawn(async move {
            let _slot = slot;
            let header_timeout = shared.limits.header_timeout;
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!("DRS emulator connection ended: {e}");
                    }
                }
                _ = shutdown.changed() => {}
            }
        });
    }
}

fn reply(
    shared: &Shared,
    now: i64,
    status: u16,
    body: &Value,
    error: Option<(&str, Option<u64>)>,
) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(body).unwrap_or_default();
    reply_bytes(shared, now, status, body, error)
}

fn reply_bytes(
    shared: &Shared,
    now: i64,
    status: u16,
    body: Vec<u8>,
    error: Option<(&str, Option<u64>)>,
) -> Response<Full<Bytes>> {
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("date", time::http_date(now))
        .header(
            "x-amzn-requestid",
            format!("{n:08x}-d125-4e3a-8f00-{:012x}", now.unsigned_abs()),
        );
    if let Some((error_type, retry_after_ms)) = error {
        builder = builder.header("x-amzn-errortype", error_type);
        if let Some(ms) = retry_after_ms {
            builder = builder
                .header("retry-after", ms.div_ceil(1000).to_string())
                .header("x-amz-retry-after", ms.to_string());
        }
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// S3 GETs for the region's buckets go to the buckets; everything else is DRS.
async fn route(shared: &Shared, req: Request<Incoming>) -> Response<s3::S3Body> {
    if let Some(buckets) = &shared.s3
        && let Some((bucket, key)) = buckets.route(req.method(), req.uri().path())
    {
        let owner = req
            .headers()
            .get("x-amz-expected-bucket-owner")
            .and_then(|v| v.to_str().ok());
        tracing::debug!(bucket, key, "S3 emulator answered");
        return buckets.respond(req.method(), bucket, key, owner);
    }
    respond(shared, req).await.map(BodyExt::boxed_unsync)
}

async fn respond(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let collect = Limited::new(body, MAX_BODY_BYTES).collect();
    let body = match tokio::time::timeout(shared.limits.body_timeout, collect).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        _ => {
            let now = shared.engine.server_now();
            let body = json!({"message": "The request body could not be read or is too large", "reason": "cannotParse", "fieldList": []});
            return reply(shared, now, 400, &body, Some(("ValidationException", None)));
        }
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let now = shared.engine.server_now();
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    let op = match parts.method {
        hyper::Method::POST => parts.uri.path().trim_start_matches('/'),
        _ => "",
    };
    // A session that ends mid-run ends for the public operations (see CredentialSpec).
    let since_pairing = shared.engine.read(|w, t| w.paired_at.map(|p| t - p));
    let ended = |c: &CredentialSpec| {
        ops::OPERATIONS.contains(&op)
            && c.session_ends_after_pairing
                .zip(since_pairing)
                .is_some_and(|(end, since)| since >= end)
    };
    let lookup = |key: &str| {
        shared
            .credentials
            .iter()
            .find(|c| c.credentials.access_key_id == key)
            .map(|c| KnownKey {
                secret: &c.credentials.secret_access_key,
                session_token: c.credentials.session_token.as_deref(),
                expired: c.expired || ended(c),
            })
    };
    let caller = match sigv4::verify(&signed, &shared.region, "drs", now, lookup) {
        Ok(key) => shared
            .credentials
            .iter()
            .find(|c| c.credentials.access_key_id == key),
        Err(rejection) => {
            tracing::debug!(
                path = parts.uri.path(),
                error = rejection.error_type(),
                "DRS emulator refused a signature"
            );
            return reply(
                shared,
                now,
                rejection.status(),
                &json!({"message": rejection.message()}),
                Some((rejection.error_type(), None)),
            );
        }
    };
    let Some(caller) = caller else {
        return reply(
            shared,
            now,
            403,
            &json!({"message": "The security token included in the request is invalid."}),
            Some(("UnrecognizedClientException", None)),
        );
    };
    let result = if ops::changes_nothing(op) {
        let read = |world: &_, t| ops::handle_read(world, t, caller, op, &body);
        shared.engine.read(read)
    } else {
        let write = |world: &mut _, t| ops::handle(world, t, caller, op, &body);
        shared.engine.with(write)
    };
    match result {
        Ok(value) => {
            tracing::debug!(op, "DRS emulator answered");
            reply_bytes(shared, now, 200, value, None)
        }
        Err(e) => {
            tracing::debug!(op, error = e.error_type(), "DRS emulator answered an error");
            reply(
                shared,
                now,
                e.status(),
                &e.body(),
                Some((e.error_type(), e.retry_after_ms())),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::Instant;

    async fn emulator(limits: Limits) -> Emulator {
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Emulator::start_with(listen, Scenario::embedded_default(), limits)
            .await
            .unwrap()
    }

    /// Reads until the server closes the connection; true if it did (EOF or reset).
    async fn closed_by_server(stream: &mut TcpStream) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_the_header_timeout() {
        let limits = Limits::default();
        let emu = emulator(limits).await;
        let mut stream = TcpStream::connect(emu.addr).await.unwrap();
        let opened = Instant::now();
        // Virtual time: the guard only turns a server that never closes into a failure.
        let guard = tokio::time::sleep(limits.header_timeout * 10);
        tokio::select! {
            closed = closed_by_server(&mut stream) => assert!(closed),
            _ = guard => panic!("the idle connection was never closed"),
        }
        assert!(
            opened.elapsed() >= limits.header_timeout,
            "{:?}",
            opened.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slowloris_client_is_cut_off_before_its_headers_end() {
        let limits = Limits::default();
        let emu = emulator(limits).await;
        let mut stream = TcpStream::connect(emu.addr).await.unwrap();
        stream
            .write_all(b"POST /ListExtensibleSourceServers HTTP/1.1\r\n")
            .await
            .unwrap();
        // One header byte a second: the headers would take 200 s to arrive.
        let header = b"x-slow: ".iter().chain([b'a'; 190].iter()).copied();
        let mut header = header.collect::<Vec<u8>>().into_iter();
        let opened = Instant::now();
        let mut buf = [0u8; 256];
        let cut_off = loop {
            tokio::select! {
                read = stream.read(&mut buf) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        break true;
                    }
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => match header.next() {
                    Some(b) => {
                        if stream.write_all(&[b]).await.is_err() {
                            break true;
                        }
                    }
                    None => break false,
                },
            }
        };
        assert!(cut_off, "the server waited for every header byte");
        assert!(opened.elapsed() >= limits.header_timeout);
        assert!(header.len() > 0, "closed before the headers were complete");
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_are_closed_at_once() {
        let limits = Limits {
            // Nothing times out during this test: only the cap closes connections.
            header_timeout: Duration::from_secs(3600),
            max_connections: 2,
            ..Limits::default()
        };
        let emu = emulator(limits).await;
        let request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(emu.addr).await.unwrap();
            // Answered, so the server holds a slot for it.
            s.write_all(request).await.unwrap();
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"HTTP/1.1 403");
            held.push(s);
        }
        let mut extra = TcpStream::connect(emu.addr).await.unwrap();
        // A closed socket may refuse the write; either way no answer comes.
        let _ = extra.write_all(request).await;
        let mut buf = [0u8; 12];
        let read = extra.read(&mut buf).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "answered past the cap: {read:?}"
        );
    }
}
