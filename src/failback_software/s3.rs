//! S3 for the replication software: URLs for a region's buckets (path-style on an endpoint
//! override, else virtual-hosted with the dual-stack host as fallback), GETs with the
//! bucket-owner header and time limits, bodies streamed with progress, failures in words.

use super::verify::Sha512Stream;
use super::{Progress, REQUEST_TIMEOUT, SoftwareError, SoftwareErrorKind as Kind};
use crate::domain::regions::Region;
use crate::domain::throughput::{RateWindow, eta_seconds};
use crate::net::{Network, Pin, error_chain, is_tls_failure, redact_proxy};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Manifests and hash files are a few hundred bytes; anything huge is not one.
const SMALL_OBJECT_LIMIT: usize = 1 << 20;
/// Progress reports at most this often (and always the first and the last).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// An S3 endpoint override (`--s3-endpoint`, `S3_ENDPOINT`): a VPC endpoint, the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Endpoint {
    /// scheme://host[:port][/path], without a trailing slash.
    base: String,
    /// Given as a bare IP address (as the livecd's S3_ENDPOINT holds it): as start.sh pins
    /// it in DNS, it stands for `s3.<region>.amazonaws.com`, whose name TLS checks (a
    /// certificate names hosts, not addresses). A URL is taken as it is.
    pinned: Option<std::net::IpAddr>,
}

impl S3Endpoint {
    /// Takes a URL, or a bare host name or IP address (then https://).
    pub fn parse(text: &str) -> Result<S3Endpoint, SoftwareError> {
        let text = text.trim().trim_end_matches('/');
        let bare = !text.contains("://");
        let url = if text.contains("://") {
            text.to_owned()
        } else {
            format!("https://{text}")
        };
        let bad = |why: &str| {
            SoftwareError::new(
                Kind::BadEndpoint,
                format!(
                    "The S3 endpoint '{text}' {why}. Give a URL such as \
                     https://bucket.vpce-0123-abcd.s3.us-east-1.vpce.amazonaws.com \
                     (--s3-endpoint or S3_ENDPOINT), or leave it unset for S3's own hosts."
                ),
            )
        };
        let uri: http::Uri = url.parse().map_err(|_| bad("is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(bad("is neither http:// nor https://"));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("names no host"));
        }
        if uri.query().is_some() {
            return Err(bad("has a query string"));
        }
        let pinned = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse().ok())
            .filter(|_| bare);
        Ok(S3Endpoint { base: url, pinned })
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The name and address to resolve it to, when given as a bare IP (for `region`).
    pub fn pin(&self, region: &str) -> Option<Pin> {
        self.pinned.map(|ip| Pin {
            name: regional_host(region),
            ip,
        })
    }

    fn uri(&self) -> http::Uri {
        self.base.parse().expect("checked by parse")
    }

    fn host(&self) -> String {
        self.uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }
}

/// S3's regional name, which an endpoint given as an IP stands for.
fn regional_host(region: &str) -> String {
    format!("s3.{region}.amazonaws.com")
}

/// Path-style on an override (a bare IP standing for S3's regional name); else
/// virtual-hosted on the regional host, then dual-stack.
pub(super) fn urls(
    region: &Region,
    endpoint: Option<&S3Endpoint>,
    bucket: &str,
    key: &str,
) -> Vec<Target> {
    if let Some((e, ip)) = endpoint.and_then(|e| Some((e, e.pinned?))) {
        let uri = e.uri();
        let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        let path = uri.path().trim_end_matches('/');
        let name = regional_host(&region.code);
        return vec![Target {
            url: format!("https://{name}{port}{path}/{bucket}/{key}"),
            host: format!("{name}{port} (S3_ENDPOINT's {ip})"),
        }];
    }
    match endpoint {
        Some(e) => vec![Target {
            url: format!("{}/{bucket}/{key}", e.as_str()),
            host: e.host(),
        }],
        None => ["s3", "s3.dualstack"]
            .iter()
            .map(|prefix| {
                let host = format!("{bucket}.{prefix}.{}.amazonaws.com", region.code);
                Target {
                    url: format!("https://{host}/{key}"),
                    host,
                }
            })
            .collect(),
    }
}

/// One candidate host for a request.
pub(super) struct Target {
    pub(super) url: String,
    /// host[:port], as messages name it.
    host: String,
}

pub(super) struct S3<'a> {
    pub region: &'a Region,
    endpoint: Option<S3Endpoint>,
    network: &'a Network,
    connector: SharedHttpConnector,
}

impl<'a> S3<'a> {
    pub fn new(region: &'a Region, endpoint: Option<S3Endpoint>, network: &'a Network) -> S3<'a> {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(REQUEST_TIMEOUT)
            .read_timeout(REQUEST_TIMEOUT)
            .build();
        let pin = endpoint.as_ref().and_then(|e| e.pin(&region.code));
        S3 {
            region,
            endpoint,
            network,
            connector: network.pinned_connector(&settings, None, pin),
        }
    }

    fn targets(&self, bucket: &str, key: &str) -> Vec<Target> {
        urls(self.region, self.endpoint.as_ref(), bucket, key)
    }

    pub async fn get_small(&self, bucket: &str, key: &str) -> Result<Vec<u8>, SoftwareError> {
        let (target, response) = self.get(bucket, key).await?;
        let mut body = response.into_body();
        let mut out = Vec::new();
        while let Some(frame) = self.next_frame(&mut body, &target, key, out.len()).await? {
            out.extend_from_slice(&frame);
            if out.len() > SMALL_OBJECT_LIMIT {
                return Err(SoftwareError::new(
                    Kind::BadManifest,
                    format!(
                        "{} sent more than 1 MiB for {key}, which is a small text file: check \
                         the S3 endpoint.",
                        target.host
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// Streams the object into `path`, hashing it; returns its SHA-512. The file is removed
    /// if anything fails.
    pub async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        progress: &mpsc::UnboundedSender<Progress>,
    ) -> Result<String, SoftwareError> {
        let (target, response) = self.get(bucket, key).await?;
        let total = response
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let result = self
            .stream(response, &target, key, total, path, progress)
            .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        result
    }

    async fn stream(
        &self,
        response: HttpResponse,
        target: &Target,
        key: &str,
        total: Option<u64>,
        path: &Path,
        progress: &mpsc::UnboundedSender<Progress>,
    ) -> Result<String, SoftwareError> {
        let file_name = key.rsplit('/').next().unwrap_or(key).to_owned();
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| SoftwareError::io("create", path, e))?;
        let mut hash = Sha512Stream::default();
        let started = Instant::now();
        let mut window = RateWindow::new(5.0);
        let mut last_report: Option<(Instant, u64)> = None;
        let mut bytes = 0u64;
        let mut report = |bytes: u64, force: bool| {
            let now = Instant::now();
            let recent = last_report.is_some_and(|(t, _)| now - t < PROGRESS_EVERY);
            let said = last_report.is_some_and(|(_, b)| b == bytes);
            if said || (recent && !force) {
                return;
            }
            last_report = Some((now, bytes));
            window.push((now - started).as_secs_f64(), bytes);
            let rate = window.rate();
            let _ = progress.send(Progress {
                file: file_name.clone(),
                bytes,
                total,
                bytes_per_second: rate,
                eta_seconds: total.and_then(|t| eta_seconds(t.saturating_sub(bytes), rate)),
            });
        };
        report(0, true);
        let mut body = response.into_body();
        while let Some(data) = self
            .next_frame(&mut body, target, key, bytes as usize)
            .await?
        {
            hash.update(&data);
            file.write_all(&data)
                .await
                .map_err(|e| SoftwareError::io("write", path, e))?;
            bytes += data.len() as u64;
            report(bytes, false);
        }
        if let Some(t) = total.filter(|t| *t != bytes) {
            return Err(SoftwareError::new(
                Kind::Http,
                format!(
                    "{} ended {file_name} after {bytes} of {t} bytes. Retry; if it keeps \
                     happening, check the proxy or the network for dropped connections.",
                    target.host
                ),
            ));
        }
        file.flush()
            .await
            .map_err(|e| SoftwareError::io("write", path, e))?;
        report(bytes, true);
        Ok(hash.finish())
    }

    /// The next body chunk, or None at the end; 20 s without a byte is a failure.
    async fn next_frame(
        &self,
        body: &mut SdkBody,
        target: &Target,
        key: &str,
        so_far: usize,
    ) -> Result<Option<bytes::Bytes>, SoftwareError> {
        loop {
            let frame = tokio::time::timeout(REQUEST_TIMEOUT, body.frame())
                .await
                .map_err(|_| {
                    SoftwareError::new(
                        Kind::Unreachable,
                        format!(
                            "{} stopped sending {key} for {} s after {so_far} bytes. Check the \
                             network and the proxy, then retry.",
                            target.host,
                            REQUEST_TIMEOUT.as_secs()
                        ),
                    )
                })?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(SoftwareError::new(
                        Kind::Http,
                        format!(
                            "The download of {key} from {} broke off after {so_far} bytes ({}). \
                             Retry; if it keeps happening, check the proxy or the network.",
                            target.host,
                            error_chain(e.as_ref())
                        ),
                    ));
                }
                // Trailers carry nothing for us.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// A GET that answered 200, from the first host that could be reached.
    async fn get(&self, bucket: &str, key: &str) -> Result<(Target, HttpResponse), SoftwareError> {
        let targets = self.targets(bucket, key);
        let mut failures = Vec::new();
        for target in targets {
            let request = http::Request::builder()
                .method("GET")
                .uri(&target.url)
                .header("x-amz-expected-bucket-owner", &self.region.bucket_owner)
                .header(
                    "user-agent",
                    concat!("drs-failback/", env!("CARGO_PKG_VERSION")),
                )
                .body(SdkBody::empty())
                .map_err(|e| SoftwareError::new(Kind::BadEndpoint, format!("{}: {e}", target.url)))
                .and_then(|r| {
                    HttpRequest::try_from(r).map_err(|e| {
                        SoftwareError::new(Kind::BadEndpoint, format!("{}: {e}", target.url))
                    })
                })?;
            tracing::debug!(url = %target.url, "S3 GET");
            let call = self.connector.call(request);
            // The connector's read timeout ends at the headers; this bounds the whole wait.
            let answer = tokio::time::timeout(REQUEST_TIMEOUT * 2, call).await;
            match answer {
                Ok(Ok(response)) if response.status().as_u16() == 200 => {
                    return Ok((target, response));
                }
                Ok(Ok(response)) => return Err(self.refusal(bucket, key, &target, response).await),
                Ok(Err(e)) => failures.push((target.host, error_chain(&e))),
                Err(_) => failures.push((target.host, "no answer in time".to_owned())),
            }
        }
        Err(self.unreachable(&failures))
    }

    fn unreachable(&self, failures: &[(String, String)]) -> SoftwareError {
        let hosts: Vec<&str> = failures.iter().map(|(h, _)| h.as_str()).collect();
        let details: Vec<String> = failures.iter().map(|(h, e)| format!("{h}: {e}")).collect();
        if failures.iter().any(|(_, e)| is_tls_failure(e)) {
            let bundle = match &self.network.settings().ca_bundle {
                Some(b) => format!("AWS_CA_BUNDLE ({}) does not vouch for it", b.display()),
                None => "no AWS_CA_BUNDLE is set".to_owned(),
            };
            return SoftwareError::new(
                Kind::Tls,
                format!(
                    "The secure connection to S3 at {} failed ({}); {bundle}. If a proxy or the \
                     S3 endpoint uses its own certificate authority, set AWS_CA_BUNDLE to its CA \
                     certificate (PEM); check the clock too (certificates depend on it).",
                    hosts.join(" or "),
                    details.join("; ")
                ),
            );
        }
        let settings = self.network.settings();
        let plain = self
            .endpoint
            .as_ref()
            .is_some_and(|e| e.as_str().starts_with("http://"));
        let proxy = match plain {
            true => settings.http_proxy.as_deref().map(|p| (p, "HTTP_PROXY")),
            false => settings.https_proxy.as_deref().map(|p| (p, "HTTPS_PROXY")),
        };
        let what_to_open = match (&self.endpoint, proxy) {
            (_, Some((p, variable))) => format!(
                "A proxy is set ({variable}={}): check that it is up and allows {}, or list \
                 the host in NO_PROXY to connect directly",
                redact_proxy(p),
                hosts.join(" and ")
            ),
            (Some(_), None) => format!(
                "Check the S3 endpoint URL (--s3-endpoint, S3_ENDPOINT) and that this machine \
                 can open TCP to {}",
                hosts.join(" and ")
            ),
            (None, None) => format!(
                "Open TCP 443 from this machine to {}, or set HTTPS_PROXY to a proxy that can \
                 reach them, or set S3_ENDPOINT (--s3-endpoint) to an S3 VPC endpoint",
                hosts.join(" and ")
            ),
        };
        SoftwareError::new(
            Kind::Unreachable,
            format!(
                "Cannot reach S3 at {} to download AWS's replication software ({}). {what_to_open}.",
                hosts.join(" or "),
                details.join("; ")
            ),
        )
    }

    /// A non-200 answer in words; S3's XML error code is read when it sent one.
    async fn refusal(
        &self,
        bucket: &str,
        key: &str,
        target: &Target,
        response: HttpResponse,
    ) -> SoftwareError {
        let status = response.status().as_u16();
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let code = xml_field(&text, "Code").unwrap_or_default();
        let message = xml_field(&text, "Message").unwrap_or_default();
        let said = match (code.is_empty(), message.is_empty()) {
            (true, _) => format!("HTTP {status}"),
            (false, true) => format!("HTTP {status} {code}"),
            (false, false) => format!("HTTP {status} {code}: {message}"),
        };
        let r = self.region;
        match status {
            403 => SoftwareError::new(
                Kind::AccessDenied,
                format!(
                    "S3 at {} refused s3://{bucket}/{key} ({said}). Every download carries \
                     x-amz-expected-bucket-owner: {}, the account that owns AWS's buckets for \
                     {}, and S3 refuses when the bucket belongs to anyone else. Check the region; \
                     with S3_ENDPOINT (--s3-endpoint), check that the endpoint serves AWS's \
                     bucket and that its policy allows the download.",
                    target.host, r.bucket_owner, r.code
                ),
            ),
            404 => SoftwareError::new(
                Kind::NotFound,
                format!(
                    "S3 at {} has no {key} in bucket {bucket} ({said}). Check the region (AWS \
                     publishes the replication software per region) and S3_ENDPOINT \
                     (--s3-endpoint); if the key names a version, the manifest may be newer than \
                     its files: retry in a few minutes.",
                    target.host
                ),
            ),
            _ => SoftwareError::new(
                Kind::Http,
                format!(
                    "S3 at {} answered {said} for s3://{bucket}/{key}. Retry in a moment; if it \
                     persists, check the proxy and the AWS Health Dashboard.",
                    target.host
                ),
            ),
        }
    }
}

/// `<Code>AccessDenied</Code>` from S3's error document.
fn xml_field(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::regions;

    #[test]
    fn endpoints_are_urls_or_hosts() {
        let e = S3Endpoint::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(e.as_str(), "http://127.0.0.1:9000");
        assert_eq!(e.host(), "127.0.0.1:9000");
        let e = S3Endpoint::parse("bucket.vpce-1.s3.us-east-1.vpce.amazonaws.com").unwrap();
        assert_eq!(
            e.as_str(),
            "https://bucket.vpce-1.s3.us-east-1.vpce.amazonaws.com"
        );
        let err = S3Endpoint::parse("ftp://x").unwrap_err();
        assert_eq!(err.kind, Kind::BadEndpoint);
        assert!(err.message.contains("--s3-endpoint"), "{err}");
        assert!(S3Endpoint::parse("http://h/?a=b").is_err());
    }

    #[test]
    fn a_bare_ip_stands_for_s3s_regional_name_and_a_url_for_itself() {
        let region = regions::find("eu-west-1").unwrap();
        let network = Network::new(Default::default()).unwrap();
        let url = |endpoint: &str| {
            let s3 = S3::new(region, Some(S3Endpoint::parse(endpoint).unwrap()), &network);
            let t = s3.targets("b", "latest/manifest.json").remove(0);
            (t.url, t.host)
        };
        assert_eq!(
            url("10.0.1.5"),
            (
                "https://s3.eu-west-1.amazonaws.com/b/latest/manifest.json".into(),
                "s3.eu-west-1.amazonaws.com (S3_ENDPOINT's 10.0.1.5)".into()
            )
        );
        assert_eq!(
            url("[fd00::5]:8443").0,
            "https://s3.eu-west-1.amazonaws.com:8443/b/latest/manifest.json"
        );
        assert_eq!(
            url("https://10.0.1.5").0,
            "https://10.0.1.5/b/latest/manifest.json"
        );
        assert_eq!(
            url("s3.vpce.example").0,
            "https://s3.vpce.example/b/latest/manifest.json"
        );
    }

    #[test]
    fn urls_are_path_style_on_an_override_and_virtual_hosted_otherwise() {
        let region = regions::find("eu-west-1").unwrap();
        let network = Network::new(Default::default()).unwrap();
        let aws = S3::new(region, None, &network);
        let urls: Vec<String> = aws
            .targets("b", "latest/manifest.json")
            .into_iter()
            .map(|t| t.url)
            .collect();
        assert_eq!(
            urls,
            [
                "https://b.s3.eu-west-1.amazonaws.com/latest/manifest.json",
                "https://b.s3.dualstack.eu-west-1.amazonaws.com/latest/manifest.json"
            ]
        );
        let endpoint = S3Endpoint::parse("http://127.0.0.1:9000").unwrap();
        let local = S3::new(region, Some(endpoint), &network);
        let targets = local.targets("b", "k/x");
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].url, "http://127.0.0.1:9000/b/k/x");
    }

    #[test]
    fn unreachable_s3_says_what_to_open() {
        let region = regions::find("eu-west-1").unwrap();
        let failures = [
            (
                "a.s3.eu-west-1.amazonaws.com".to_owned(),
                "dns error".to_owned(),
            ),
            (
                "a.s3.dualstack.eu-west-1.amazonaws.com".to_owned(),
                "dns error".to_owned(),
            ),
        ];
        let direct = Network::new(Default::default()).unwrap();
        let err = S3::new(region, None, &direct).unreachable(&failures);
        assert_eq!(err.kind, Kind::Unreachable);
        assert!(
            err.message.contains(
                "Open TCP 443 from this machine to a.s3.eu-west-1.amazonaws.com and \
                 a.s3.dualstack.eu-west-1.amazonaws.com, or set HTTPS_PROXY"
            ),
            "{err}"
        );
        assert!(err.message.contains("S3_ENDPOINT (--s3-endpoint)"), "{err}");
        let proxied = Network::new(crate::net::NetSettings {
            https_proxy: Some("http://u:pw@proxy:3128".into()),
            ..Default::default()
        })
        .unwrap();
        let err = S3::new(region, None, &proxied).unreachable(&failures);
        assert!(
            err.message.contains("HTTPS_PROXY=http://***@proxy:3128"),
            "{err}"
        );
        assert!(!err.message.contains("pw"), "{err}");
    }

    fn answer(status: u16, xml: &str) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::from(xml.to_owned()))
    }

    #[tokio::test]
    async fn refusals_say_what_they_mean() {
        let region = regions::find("eu-west-1").unwrap();
        let network = Network::new(Default::default()).unwrap();
        let s3 = S3::new(region, None, &network);
        let target = &s3.targets("bkt", "1.2/failback_assets/x.tar.gz")[0];
        let doc = |code: &str| format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
        let err = s3
            .refusal(
                "bkt",
                "1.2/failback_assets/x.tar.gz",
                target,
                answer(404, &doc("NoSuchKey")),
            )
            .await;
        assert_eq!(err.kind, Kind::NotFound);
        assert!(
            err.message.contains(
                "has no 1.2/failback_assets/x.tar.gz in bucket bkt (HTTP 404 NoSuchKey: m)"
            ),
            "{err}"
        );
        let err = s3
            .refusal("bkt", "k", target, answer(403, &doc("AccessDenied")))
            .await;
        assert_eq!(err.kind, Kind::AccessDenied);
        assert!(
            err.message.contains(&format!(
                "x-amz-expected-bucket-owner: {}",
                region.bucket_owner
            )),
            "{err}"
        );
        let err = s3.refusal("bkt", "k", target, answer(503, "")).await;
        assert_eq!(err.kind, Kind::Http);
        assert!(
            err.message.contains("answered HTTP 503 for s3://bkt/k"),
            "{err}"
        );
    }

    #[test]
    fn s3_error_documents_are_read() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_field(xml, "Message").as_deref(), Some("Access Denied"));
        assert_eq!(xml_field("nope", "Code"), None);
    }
}
