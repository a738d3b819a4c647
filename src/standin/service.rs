//! The stand-in's calls to the service: the private `*ForDrs` actions (shapes in
//! `emulator::failback_client`), SigV4-signed, over plain HTTP to the emulator.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::drs::StaticCredentials;

/// Retries of a throttled, failing or unreachable call before giving up.
const ATTEMPTS: u32 = 5;
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Service {
    /// `http://host:port`
    endpoint: String,
    region: String,
    credentials: StaticCredentials,
    pub instance_id: String,
    pub client_id: String,
}

/// What the service refused, in its own words.
#[derive(Debug)]
pub struct Refused {
    pub error_type: String,
    pub message: String,
    retry_after: Option<Duration>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.error_type)
    }
}

impl Service {
    pub fn new(
        endpoint: &str,
        region: &str,
        credentials: StaticCredentials,
        instance_id: &str,
    ) -> Service {
        Service {
            endpoint: endpoint.to_owned(),
            region: region.to_owned(),
            credentials,
            instance_id: instance_id.to_owned(),
            client_id: String::new(),
        }
    }

    /// Calls `action` for this client's recovery instance (and pairing, once paired).
    pub async fn call(&self, action: &str, mut body: Value) -> Result<Value, String> {
        body["recoveryInstanceID"] = json!(self.instance_id);
        if !self.client_id.is_empty() {
            body["failbackClientID"] = json!(self.client_id);
        }
        let body = body.to_string();
        let mut attempt = 1;
        loop {
            let outcome = tokio::time::timeout(TIMEOUT, self.send(action, &body)).await;
            let retry_after = match outcome {
                Ok(Ok(Ok(value))) => return Ok(value),
                Ok(Ok(Err(refused))) => match refused.retry_after {
                    Some(wait) if attempt < ATTEMPTS => wait,
                    _ => return Err(format!("{action}: {refused}")),
                },
                Ok(Err(e)) if attempt < ATTEMPTS => {
                    tracing::debug!("{action}: {e}; retrying");
                    Duration::from_millis(200 << attempt)
                }
                Ok(Err(e)) => return Err(format!("{action}: cannot reach {}: {e}", self.endpoint)),
                Err(_) if attempt < ATTEMPTS => Duration::from_millis(200),
                Err(_) => {
                    return Err(format!(
                        "{action}: {} did not answer in {TIMEOUT:?}",
                        self.endpoint
                    ));
                }
            };
            attempt += 1;
            tokio::time::sleep(retry_after).await;
        }
    }

    /// One request: Ok(Ok) answered 200, Ok(Err) refused, Err not answered.
    async fn send(&self, action: &str, body: &str) -> Result<Result<Value, Refused>, String> {
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let url = format!("{}/{action}", self.endpoint);
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), host.clone()),
        ];
        let c = &self.credentials;
        let identity = aws_credential_types::Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            c.session_token.clone(),
            None,
            "failback-client-standin",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("drs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        for (k, v) in instructions.headers() {
            headers.push((k.to_string(), v.to_string()));
        }
        let mut request = Request::post(format!("/{action}"));
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| e.to_string())?;

        let stream = TcpStream::connect(&host).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        let connection = tokio::spawn(connection);
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let error_type = header("x-amzn-errortype");
        let retry_after = header("x-amz-retry-after").and_then(|ms| ms.parse().ok());
        let payload = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        connection.abort();
        let value: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        if status == 200 {
            return Ok(Ok(value));
        }
        let retryable = matches!(status, 429 | 500 | 502 | 503);
        Ok(Err(Refused {
            error_type: error_type.unwrap_or_else(|| format!("HTTP {status}")),
            message: value["message"].as_str().unwrap_or("no message").to_owned(),
            retry_after: retryable.then(|| Duration::from_millis(retry_after.unwrap_or(500))),
        }))
    }
}
