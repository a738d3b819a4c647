//! One host, stage by stage: DNS, TCP (to the proxy when one is set), then an HTTP GET through
//! the program's own connector (proxy, AWS_CA_BUNDLE), whose answer proves TLS and carries the
//! `Date` the clock is compared with.

use crate::domain::preflight::HostProbe;
use crate::drs::ClockSkew;
use crate::net::{Network, Pin, error_chain, is_tls_failure, redact_proxy};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpStream, lookup_host};

#[derive(Debug)]
pub struct Answer {
    pub probe: HostProbe,
    /// From the answer's `Date`; Err says why there is none.
    pub skew: Result<ClockSkew, String>,
}

/// host:port of a URL (default port by scheme), and whether it is HTTPS.
pub(super) fn authority(url: &str) -> Option<(String, u16, bool)> {
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let uri: http::Uri = full.parse().ok()?;
    let https = uri.scheme_str() == Some("https");
    let host = uri.host()?.to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Some((host, port, https))
}

/// Whether NO_PROXY sends `host` direct: a name, a `.domain` suffix, or `*`.
fn bypasses(host: &str, no_proxy: Option<&str>) -> bool {
    no_proxy.unwrap_or_default().split(',').any(|rule| {
        let rule = rule.trim().trim_start_matches('.');
        !rule.is_empty() && (rule == "*" || host == rule || host.ends_with(&format!(".{rule}")))
    })
}

/// A TCP connection to `addr`: "in 12 ms", or why not.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(format!("in {} ms", started.elapsed().as_millis())),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

/// `pin`: a name answered with a fixed address (S3_ENDPOINT given as an IP), as the
/// connection itself resolves it.
pub async fn probe(url: &str, pin: Option<&Pin>, network: &Network, timeout: Duration) -> Answer {
    let Some((host, port, https)) = authority(url) else {
        let probe = HostProbe {
            host: url.to_owned(),
            proxy: None,
            dns: Err("not a URL".into()),
            tcp: None,
            tls: None,
            answer: None,
        };
        return Answer {
            probe,
            skew: Err("not a URL".into()),
        };
    };
    let settings = network.settings();
    let proxy = if https {
        &settings.https_proxy
    } else {
        &settings.http_proxy
    }
    .clone()
    .filter(|_| !bypasses(&host, settings.no_proxy.as_deref()));
    // DNS and TCP go where the connection really goes: the proxy (curl's default port 1080).
    let (to_host, to_port) = match &proxy {
        Some(p) => authority(p).map_or((p.clone(), 1080), |(h, port, _)| {
            let port = if p.contains(&format!(":{port}")) {
                port
            } else {
                1080
            };
            (h, port)
        }),
        None => (host.clone(), port),
    };
    let mut probe = HostProbe {
        host: format!("{host}:{port}"),
        proxy: proxy.as_deref().map(redact_proxy),
        dns: Err(String::new()),
        tcp: None,
        tls: None,
        answer: None,
    };
    let no_skew = |why: &str| Err(why.to_owned());

    // The name is in the row already; a proxy's is not.
    let named = |e: String| match &proxy {
        Some(_) => format!("{to_host}: {e}"),
        None => e,
    };
    let pinned = pin
        .filter(|p| proxy.is_none() && p.name.eq_ignore_ascii_case(&to_host))
        .map(|p| std::net::SocketAddr::new(p.ip, to_port));
    let lookup = async {
        match pinned {
            Some(addr) => Ok(vec![addr].into_iter()),
            None => lookup_host((to_host.as_str(), to_port))
                .await
                .map(|a| a.collect::<Vec<_>>().into_iter()),
        }
    };
    let addr = match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(a) => a,
            None => {
                probe.dns = Err(named("no address".into()));
                return Answer {
                    probe,
                    skew: no_skew("DNS failed"),
                };
            }
        },
        Ok(Err(e)) => {
            probe.dns = Err(named(e.to_string()));
            return Answer {
                probe,
                skew: no_skew("DNS failed"),
            };
        }
        Err(_) => {
            probe.dns = Err(named(format!("no answer within {} s", timeout.as_secs())));
            return Answer {
                probe,
                skew: no_skew("DNS failed"),
            };
        }
    };
    probe.dns = Ok(addr.ip().to_string());

    match connect(addr, timeout).await {
        Ok(how) => probe.tcp = Some(Ok(format!("{addr} {how}"))),
        Err(e) => {
            probe.tcp = Some(Err(format!("{addr}: {e}")));
            return Answer {
                probe,
                skew: no_skew("TCP failed"),
            };
        }
    }

    let request = http::Request::builder()
        .method("GET")
        .uri(url)
        .header(
            "user-agent",
            concat!("drs-failback/", env!("CARGO_PKG_VERSION")),
        )
        .body(SdkBody::empty())
        .map_err(|e| e.to_string())
        .and_then(|r| HttpRequest::try_from(r).map_err(|e| e.to_string()));
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            probe.answer = Some(Err(e.clone()));
            return Answer {
                probe,
                skew: Err(e),
            };
        }
    };
    // The outer timeout bounds the whole wait and says so; the connector's own come later.
    let connector = network.pinned_connector(
        &HttpConnectorSettings::builder()
            .connect_timeout(timeout * 2)
            .read_timeout(timeout * 2)
            .build(),
        None,
        pin.cloned(),
    );
    match tokio::time::timeout(timeout, connector.call(request)).await {
        Ok(Ok(response)) => {
            if https {
                probe.tls = Some(Ok(()));
            }
            probe.answer = Some(Ok(format!(
                "answered (HTTP {})",
                response.status().as_u16()
            )));
            let skew = response
                .headers()
                .get("date")
                .and_then(|d| ClockSkew::from_date(d, SystemTime::now()))
                .ok_or_else(|| "the answer had no Date".to_owned());
            Answer { probe, skew }
        }
        Ok(Err(e)) => {
            let text = error_chain(&e);
            if https && is_tls_failure(&text) {
                probe.tls = Some(Err(text.clone()));
            } else {
                probe.answer = Some(Err(format!("the request failed ({text})")));
            }
            Answer {
                probe,
                skew: Err(text),
            }
        }
        Err(_) => {
            let why = format!("no answer within {} s", timeout.as_secs());
            probe.answer = Some(Err(why.clone()));
            Answer {
                probe,
                skew: Err(why),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_scheme() {
        assert_eq!(
            authority("https://drs.us-east-1.amazonaws.com"),
            Some(("drs.us-east-1.amazonaws.com".into(), 443, true))
        );
        assert_eq!(
            authority("http://127.0.0.1:8443/x"),
            Some(("127.0.0.1".into(), 8443, false))
        );
        assert_eq!(
            authority("proxy.corp:3128"),
            Some(("proxy.corp".into(), 3128, false))
        );
    }

    #[test]
    fn no_proxy_rules_send_hosts_direct() {
        let rules = Some("169.254.169.254, .internal,amazonaws.com");
        assert!(bypasses("drs.us-east-1.amazonaws.com", rules));
        assert!(bypasses("a.internal", rules));
        assert!(!bypasses("example.com", rules));
        assert!(bypasses("anything", Some("*")));
        assert!(!bypasses("anything", None));
    }
}
