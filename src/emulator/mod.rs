//! DRS emulator: an HTTP server on 127.0.0.1 that speaks the DRS wire protocol (restJson1,
//! SigV4-checked) and plays a scenario. It powers `--demo` and the tests; the product talks to
//! it through the real `aws-sdk-drs` client like to any other endpoint.

mod ops;
mod s3;
mod scenario;
mod sigv4;
mod state;

pub use s3::EMULATOR_INSTALLER_VERSION;
pub use scenario::Scenario;
pub use state::{AssociatedVolume, Association, ClientStatus, FailbackClientLink};

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
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::time;
use crate::drs::StaticCredentials;
use scenario::CredentialSpec;
use sigv4::{KnownKey, SignedRequest};
use state::Engine;

/// Requests larger than this are refused (DRS requests are small JSON documents).
const MAX_BODY_BYTES: usize = 1 << 20;

/// A credential the scenario knows, for the demo's credential picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorCredential {
    /// e.g. "full access"
    pub label: String,
    pub credentials: StaticCredentials,
    /// What using it demonstrates.
    pub description: String,
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
    /// The scenario region's S3 buckets (the replication software), on the same port.
    s3: Option<s3::Buckets>,
    region: String,
    credentials: Vec<CredentialSpec>,
    requests: AtomicU64,
}

impl Emulator {
    /// Binds (127.0.0.1:0 for an ephemeral port) and serves in a tokio task.
    pub async fn start(listen: SocketAddr, scenario: Scenario) -> std::io::Result<Emulator> {
        if !listen.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the DRS emulator only listens on loopback, not {listen}"),
            ));
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let region = scenario.region.clone();
        let credentials = scenario
            .credentials
            .iter()
            .map(|c| EmulatorCredential {
                label: c.label.clone(),
                credentials: c.credentials.clone(),
                description: c.description.clone(),
            })
            .collect();
        // The tarball's stand-in failback_entry runs this very program.
        let program = std::env::current_exe()?;
        let buckets = s3::Buckets::new(&scenario, &program)?;
        let shared = Arc::new(Shared {
            s3: buckets,
            region: region.clone(),
            credentials: scenario.credentials.clone(),
            engine: Arc::new(Engine::new(scenario)),
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

    /// The failback client's private channel to this emulator, for the demo replicator.
    pub fn failback_client(&self) -> FailbackClientLink {
        FailbackClientLink::new(self.engine.clone())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
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
        // Small pieces (a slow S3 answer) must not wait for delayed ACKs: paused-time tests
        // never let that real time pass.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        // One task per connection: the SDK may hold two keep-alive connections at once.
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
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
        .body(Full::new(Bytes::from(body.to_string())))
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
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
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
    let lookup = |key: &str| {
        shared
            .credentials
            .iter()
            .find(|c| c.credentials.access_key_id == key)
            .map(|c| KnownKey {
                secret: &c.credentials.secret_access_key,
                session_token: c.credentials.session_token.as_deref(),
                expired: c.expired,
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
    let op = match parts.method {
        hyper::Method::POST => parts.uri.path().trim_start_matches('/'),
        _ => "",
    };
    let result = shared
        .engine
        .with(|world, t| ops::handle(world, t, caller, op, &body));
    match result {
        Ok(value) => {
            tracing::debug!(op, "DRS emulator answered");
            reply(shared, now, 200, &value, None)
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
