//! The network settings every request obeys: DRS through aws-sdk-drs and the S3 downloads of
//! AWS's replication software. The proxy comes from HTTPS_PROXY / HTTP_PROXY (ALL_PROXY as a
//! fallback) and NO_PROXY, as curl reads them; AWS_CA_BUNDLE adds trust roots (a TLS-inspecting
//! proxy, a private VPC endpoint). One TLS stack for everything: aws-smithy-http-client's
//! hyper 1 + rustls + aws-lc, already built for the SDK.

use crate::domain::network::ProxyPlan;
use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The proxy applied on the Network screen: it outranks the environment's for every request
/// made after it (and for AWS's replication software, through `child_env`).
static SESSION_PROXY: RwLock<Option<ProxyPlan>> = RwLock::new(None);

/// Sets the session's proxy; returns the one it replaces, for a revert.
pub fn set_session_proxy(proxy: Option<ProxyPlan>) -> Option<ProxyPlan> {
    let mut session = SESSION_PROXY.write().unwrap_or_else(|e| e.into_inner());
    std::mem::replace(&mut *session, proxy)
}

/// What the environment says about the network, before it is checked.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NetSettings {
    /// Proxy for https:// requests (HTTPS_PROXY, https_proxy, then ALL_PROXY).
    pub https_proxy: Option<String>,
    /// Proxy for plain http:// requests (HTTP_PROXY, http_proxy, then ALL_PROXY).
    pub http_proxy: Option<String>,
    /// Hosts reached directly, comma-separated (NO_PROXY, no_proxy): names, `.domain`, IPs,
    /// CIDR blocks, `*`.
    pub no_proxy: Option<String>,
    /// A PEM file of CA certificates trusted in addition to the system's (AWS_CA_BUNDLE).
    pub ca_bundle: Option<PathBuf>,
}

impl NetSettings {
    /// The environment's settings, under the proxy the Network screen applied (if any).
    pub fn from_env() -> NetSettings {
        let session = SESSION_PROXY.read().unwrap_or_else(|e| e.into_inner());
        NetSettings::from_lookup(|k| std::env::var(k).ok()).with_proxy(session.as_ref())
    }

    /// These settings with `proxy` (when given) for https:// and http:// requests alike, and
    /// its NO_PROXY when it has one.
    pub fn with_proxy(self, proxy: Option<&ProxyPlan>) -> NetSettings {
        match proxy {
            None => self,
            Some(p) => NetSettings {
                https_proxy: Some(p.url.clone()),
                http_proxy: Some(p.url.clone()),
                no_proxy: p.no_proxy.clone().or(self.no_proxy),
                ca_bundle: self.ca_bundle,
            },
        }
    }

    /// Reads the variables through `get` (tests pass a map instead of the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> NetSettings {
        let first = |names: &[&str]| {
            names.iter().find_map(|n| {
                get(n)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            })
        };
        NetSettings {
            https_proxy: first(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            http_proxy: first(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
            ca_bundle: first(&["AWS_CA_BUNDLE"]).map(PathBuf::from),
        }
    }

    /// The network variables to hand on to a child process (AWS's replication software): the
    /// proxy in both spellings, since programs read one or the other, and AWS_CA_BUNDLE.
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        let mut both = |upper, lower, value: &Option<String>| {
            if let Some(v) = value {
                env.push((upper, v.clone()));
                env.push((lower, v.clone()));
            }
        };
        both("HTTPS_PROXY", "https_proxy", &self.https_proxy);
        both("HTTP_PROXY", "http_proxy", &self.http_proxy);
        both("NO_PROXY", "no_proxy", &self.no_proxy);
        if let Some(bundle) = &self.ca_bundle {
            env.push(("AWS_CA_BUNDLE", bundle.display().to_string()));
        }
        env
    }
}

// Hand-written: a proxy URL may carry a password.
impl fmt::Debug for NetSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetSettings")
            .field(
                "https_proxy",
                &self.https_proxy.as_deref().map(redact_proxy),
            )
            .field("http_proxy", &self.http_proxy.as_deref().map(redact_proxy))
            .field("no_proxy", &self.no_proxy)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

/// A network setting that cannot be used; the message names the variable and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError(pub String);

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetError {}

/// The error's whole `source()` chain as one line: connector errors hide the useful part deep.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Whether a connection failure's words are about TLS (certificates, the handshake) rather
/// than reaching the host.
pub fn is_tls_failure(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "tls",
        "certificate",
        "handshake",
        "invalid peer",
        "unknownissuer",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// A proxy URL as messages may show it: without a password (also in `user:pw@host:port`,
/// which is taken as an http proxy).
pub fn redact_proxy(url: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .map_or((None, url), |(scheme, rest)| (Some(scheme), rest));
    match (scheme, rest.rsplit_once('@')) {
        (Some(scheme), Some((_, host))) => format!("{scheme}://***@{host}"),
        (None, Some((_, host))) => format!("***@{host}"),
        (_, None) => url.to_owned(),
    }
}

/// Checked settings, ready to make connections. Cheap to clone.
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

/// Connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

/// A host name answered with a fixed address, as the livecd's start.sh pins an S3_ENDPOINT
/// given as an IP in DNS for `s3.<region>.amazonaws.com`: TLS then checks the certificate
/// against the name. Every other name (a proxy's) is looked up as usual.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pin {
    pub name: String,
    pub ip: IpAddr,
}

impl ResolveDns for Pin {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        if name.eq_ignore_ascii_case(&self.name) {
            return DnsFuture::ready(Ok(vec![self.ip]));
        }
        DnsFuture::new(async move {
            tokio::net::lookup_host((name, 0))
                .await
                .map(|addrs| addrs.map(|a| a.ip()).collect())
                .map_err(ResolveDnsError::new)
        })
    }
}

struct Inner {
    settings: NetSettings,
    tls: TlsContext,
    http_proxy: ProxyConfig,
    https_proxy: ProxyConfig,
    /// One connection pool per timeout pair (and pinned name), as aws-smithy-http-client's
    /// own client keeps.
    connectors: Mutex<HashMap<(Timeouts, Option<Pin>), SharedHttpConnector>>,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Network")
            .field(&self.inner.settings)
            .finish()
    }
}

fn proxy_config(
    variable: &str,
    url: &Option<String>,
    no_proxy: &Option<String>,
    make: fn(String) -> Result<ProxyConfig, aws_smithy_http_client::proxy::ProxyError>,
) -> Result<ProxyConfig, NetError> {
    let Some(url) = url else {
        return Ok(ProxyConfig::disabled());
    };
    // curl and hyper-util take `host:port` as an http proxy.
    let full = if url.contains("://") {
        url.clone()
    } else {
        format!("http://{url}")
    };
    let config = make(full).map_err(|e| {
        NetError(format!(
            "{variable} is '{}', which is not a proxy URL ({e}). Set it to http://host:port, or \
             unset it to connect directly.",
            redact_proxy(url)
        ))
    })?;
    Ok(match no_proxy {
        Some(rules) => config.no_proxy(rules),
        None => config,
    })
}

fn trust_store(bundle: &Option<PathBuf>) -> Result<TrustStore, NetError> {
    let store = TrustStore::default();
    let Some(path) = bundle else {
        return Ok(store);
    };
    let pem = std::fs::read(path).map_err(|e| {
        NetError(format!(
            "AWS_CA_BUNDLE is {}, which cannot be read ({e}). Point it at a PEM file of CA \
             certificates, or unset it.",
            path.display()
        ))
    })?;
    // aws-smithy-http-client panics on a bad certificate when it builds a connection: check
    // each one here, where the operator can still be told.
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| {
        NetError(format!(
            "AWS_CA_BUNDLE is {}, which {why}. Point it at a PEM file of CA certificates \
             (-----BEGIN CERTIFICATE-----), or unset it.",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("is not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            bad(format!(
                "holds a certificate (number {}) that cannot be used ({e})",
                i + 1
            ))
        })?;
    }
    Ok(store.with_pem_certificate(pem))
}

impl Network {
    /// Checks the settings (proxy URLs parse, the CA bundle holds certificates).
    pub fn new(settings: NetSettings) -> Result<Network, NetError> {
        let https_proxy = proxy_config(
            "HTTPS_PROXY",
            &settings.https_proxy,
            &settings.no_proxy,
            ProxyConfig::https,
        )?;
        let http_proxy = proxy_config(
            "HTTP_PROXY",
            &settings.http_proxy,
            &settings.no_proxy,
            ProxyConfig::http,
        )?;
        let tls = TlsContext::builder()
            .with_trust_store(trust_store(&settings.ca_bundle)?)
            .build()
            .map_err(|e| NetError(format!("the TLS settings cannot be used: {e}")))?;
        Ok(Network {
            inner: Arc::new(Inner {
                settings,
                tls,
                http_proxy,
                https_proxy,
                connectors: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The process environment's settings, checked.
    pub fn from_env() -> Result<Network, NetError> {
        Network::new(NetSettings::from_env())
    }

    pub fn settings(&self) -> &NetSettings {
        &self.inner.settings
    }

    /// The HTTP client for aws-config and SDK clients (`.http_client(...)`).
    pub fn sdk_http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    /// A connector with these timeouts, shared by every caller asking for the same ones.
    pub fn connector(
        &self,
        settings: &HttpConnectorSettings,
        sleep: Option<SharedAsyncSleep>,
    ) -> SharedHttpConnector {
        self.pinned_connector(settings, sleep, None)
    }

    /// As `connector`, with `pin`'s name resolved to its address.
    pub fn pinned_connector(
        &self,
        settings: &HttpConnectorSettings,
        sleep: Option<SharedAsyncSleep>,
        pin: Option<Pin>,
    ) -> SharedHttpConnector {
        let key = (
            (settings.connect_timeout(), settings.read_timeout()),
            pin.clone(),
        );
        let mut cache = self
            .inner
            .connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                let build = |proxy: &ProxyConfig| {
                    let mut builder = Connector::builder()
                        .connector_settings(settings.clone())
                        .proxy_config(proxy.clone());
                    builder.set_sleep_impl(sleep.clone());
                    let builder = builder
                        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                        .tls_context(self.inner.tls.clone());
                    match &pin {
                        Some(pin) => builder.build_with_resolver(pin.clone()),
                        None => builder.build(),
                    }
                };
                SharedHttpConnector::new(ByScheme {
                    http: build(&self.inner.http_proxy),
                    https: build(&self.inner.https_proxy),
                })
            })
            .clone()
    }
}

impl HttpClient for Network {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector(settings, components.sleep_impl())
    }
}

/// aws-smithy-http-client's ProxyConfig carries one proxy URL; http:// and https:// requests
/// each get the connector built with their own.
#[derive(Debug)]
struct ByScheme {
    http: Connector,
    https: Connector,
}

impl HttpConnector for ByScheme {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if request.uri().starts_with("http://") {
            self.http.call(request)
        } else {
            self.https.call(request)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn an_applied_proxy_outranks_the_environment_and_keeps_the_ca_bundle() {
        let env = NetSettings {
            https_proxy: Some("http://env:1".into()),
            http_proxy: None,
            no_proxy: Some("env.local".into()),
            ca_bundle: Some("/ca.pem".into()),
        };
        assert_eq!(env.clone().with_proxy(None), env);
        let applied = env.clone().with_proxy(Some(&ProxyPlan {
            url: "http://screen:3128".into(),
            no_proxy: None,
        }));
        assert_eq!(applied.https_proxy.as_deref(), Some("http://screen:3128"));
        assert_eq!(applied.http_proxy.as_deref(), Some("http://screen:3128"));
        assert_eq!(applied.no_proxy.as_deref(), Some("env.local"));
        assert_eq!(applied.ca_bundle, env.ca_bundle);
        let own = env.with_proxy(Some(&ProxyPlan {
            url: "http://screen:3128".into(),
            no_proxy: Some(".internal".into()),
        }));
        assert_eq!(own.no_proxy.as_deref(), Some(".internal"));
    }

    #[test]
    fn variables_are_read_in_curls_order() {
        let s = NetSettings::from_lookup(lookup(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:1"),
            ("ALL_PROXY", "http://all:1"),
            ("no_proxy", "169.254.169.254,.internal"),
            ("AWS_CA_BUNDLE", "/etc/ca.pem"),
        ]));
        assert_eq!(s.https_proxy.as_deref(), Some("http://upper:1"));
        assert_eq!(s.http_proxy.as_deref(), Some("http://all:1"));
        assert_eq!(s.no_proxy.as_deref(), Some("169.254.169.254,.internal"));
        assert_eq!(s.ca_bundle, Some(PathBuf::from("/etc/ca.pem")));
        let empty = NetSettings::from_lookup(lookup(&[("HTTPS_PROXY", " ")]));
        assert_eq!(empty, NetSettings::default());
    }

    #[test]
    fn a_bad_proxy_is_named_without_its_password() {
        let err = Network::new(NetSettings {
            https_proxy: Some("socks5://user:secret@proxy:1080".into()),
            ..NetSettings::default()
        })
        .unwrap_err();
        assert!(
            err.0
                .starts_with("HTTPS_PROXY is 'socks5://***@proxy:1080'"),
            "{err}"
        );
        assert!(!err.0.contains("secret"), "{err}");
        let settings = NetSettings {
            http_proxy: Some("http://user:secret@proxy:3128".into()),
            ..NetSettings::default()
        };
        let shown = format!("{settings:?} {:?}", Network::new(settings.clone()).unwrap());
        assert!(!shown.contains("secret"), "{shown}");
        // host:port alone is an http proxy, as curl takes it.
        assert!(
            Network::new(NetSettings {
                https_proxy: Some("proxy.corp:3128".into()),
                ..NetSettings::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn a_proxy_without_a_scheme_is_named_without_its_password_too() {
        let settings = NetSettings {
            https_proxy: Some("user:secret@proxy.corp:3128".into()),
            ..NetSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("secret") && shown.contains("***@proxy.corp:3128"),
            "{shown}"
        );
        let bad = NetSettings {
            https_proxy: Some("user:secret@proxy corp:3128".into()),
            ..NetSettings::default()
        };
        let Err(err) = Network::new(bad) else {
            panic!("a proxy with a space in its host was taken");
        };
        assert!(
            err.0.starts_with("HTTPS_PROXY is '***@proxy corp:3128'"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_ca_bundle_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let with = |p: &std::path::Path| {
            Network::new(NetSettings {
                ca_bundle: Some(p.to_owned()),
                ..NetSettings::default()
            })
        };
        let err = with(&missing).unwrap_err();
        assert!(err.0.contains("cannot be read"), "{err}");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        assert!(
            with(&not_pem)
                .unwrap_err()
                .0
                .contains("holds no certificate")
        );
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = with(&garbage).unwrap_err();
        assert!(err.0.contains("cannot be used"), "{err}");
    }

    #[tokio::test]
    async fn a_pinned_name_resolves_to_its_address_and_others_as_usual() {
        let pin = Pin {
            name: "s3.us-east-1.amazonaws.com".into(),
            ip: [10, 0, 1, 5].into(),
        };
        let pinned = pin.resolve_dns("S3.us-east-1.amazonaws.com").await.unwrap();
        assert_eq!(pinned, vec![IpAddr::from([10, 0, 1, 5])]);
        let other = pin.resolve_dns("localhost").await.unwrap();
        assert!(other.iter().all(|ip| ip.is_loopback()) && !other.is_empty());
    }

    #[test]
    fn children_get_the_proxy_in_both_spellings() {
        let s = NetSettings {
            https_proxy: Some("http://p:3128".into()),
            no_proxy: Some("10.0.0.0/8".into()),
            ..NetSettings::default()
        };
        let env = s.child_env();
        assert!(env.contains(&("HTTPS_PROXY", "http://p:3128".into())));
        assert!(env.contains(&("https_proxy", "http://p:3128".into())));
        assert!(env.contains(&("no_proxy", "10.0.0.0/8".into())));
        assert!(
            !env.iter()
                .any(|(k, _)| k.starts_with("HTTP_") || *k == "http_proxy")
        );
    }
}
