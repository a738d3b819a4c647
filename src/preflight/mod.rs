//! Measuring for the pre-flight checks (`domain::preflight` judges): this machine's facts, the
//! DRS endpoint and S3 (DNS, TCP, TLS and the `Date` they answer with), and an SNTP query.

mod https;
mod sntp;

pub use https::{Answer, probe};
pub use sntp::{ntp_servers, query};

use crate::domain::model::HostFacts;
use crate::domain::preflight::{self as rules, Check};
use crate::net::Network;
use serde::Serialize;
use std::time::Duration;

/// How long each network stage may take (DNS, TCP, the HTTP answer, an NTP reply).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the network checks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// The DRS endpoint: a custom one, or the region's default.
    pub drs_url: String,
    /// The first URL the replication software's manifest is fetched from; Err: why there is none.
    pub s3_url: Result<String, String>,
    /// Its published hash's, when that is another host (the hashes bucket).
    pub s3_hash_url: Option<String>,
    /// S3_ENDPOINT given as an IP: the name in `s3_url` resolves to it, as for the download.
    pub s3_pin: Option<crate::net::Pin>,
    /// NTP servers, host or host:port.
    pub ntp_servers: Vec<String>,
    pub timeout: Duration,
    /// The worker's state directory: the replication software is downloaded there.
    pub state_dir: std::path::PathBuf,
}

impl Targets {
    /// The region's endpoints (or the overrides) and this machine's NTP servers.
    pub fn new(region: &str, drs_endpoint: Option<&str>, s3_endpoint: Option<&str>) -> Targets {
        let drs_url = drs_endpoint
            .map(str::to_owned)
            .unwrap_or_else(|| crate::domain::validate::default_endpoint(region));
        let source = crate::failback_software::SoftwareSource::new(region, s3_endpoint);
        let s3_pin = source.as_ref().ok().and_then(|s| s.pin());
        let s3_hash_url = source
            .as_ref()
            .ok()
            .and_then(|s| s.manifest_hash_url().ok());
        let s3_url = source
            .and_then(|s| s.manifest_url())
            .map_err(|e| e.to_string());
        let host = |url: &str| https::authority(url).map(|(host, port, _)| (host, port));
        let s3_hash_url = s3_hash_url.filter(|h| {
            s3_url
                .as_deref()
                .is_ok_and(|u| host(u).is_some() && host(u) != host(h))
        });
        let read = |p: &str| std::fs::read_to_string(p).ok();
        Targets {
            drs_url,
            s3_url,
            s3_hash_url,
            s3_pin,
            ntp_servers: ntp_servers(
                read("/etc/systemd/timesyncd.conf").as_deref(),
                read("/etc/chrony/chrony.conf").as_deref(),
                read("/etc/ntp.conf").as_deref(),
            ),
            timeout: TIMEOUT,
            state_dir: crate::worker::default_state_dir(false),
        }
    }
}

/// Free bytes (root's: the worker runs as root) in the filesystem that holds `dir`, or its
/// nearest existing parent when the worker has not made it yet.
fn free_bytes(dir: &std::path::Path) -> Result<crate::domain::bytes::Bytes, String> {
    let existing = dir
        .ancestors()
        .find(|d| d.exists())
        .ok_or_else(|| format!("{} and its parents are missing", dir.display()))?;
    let path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes())
        .map_err(|e| e.to_string())?;
    // SAFETY: statvfs fills the zeroed struct from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(crate::domain::bytes::Bytes(
        (st.f_bfree as u64).saturating_mul(st.f_frsize as u64),
    ))
}

/// What the checks found: the rows, and the skew the clock could be set from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Service minus local time (s), from the DRS endpoint's `Date`.
    pub clock_skew_seconds: Option<i64>,
    /// The clock is off and NTP cannot fix it: setting it from the endpoint's time is offered.
    pub offer_clock_set: bool,
}

/// The machine-only checks from facts already read.
pub fn machine(facts: &HostFacts) -> Vec<Check> {
    vec![
        rules::ram(facts.ram),
        rules::boot_mode(facts.boot_mode, None),
        rules::secure_boot(facts.boot_mode, facts.secure_boot),
    ]
}

/// Runs every check that needs no recovery instance. `network` is the checked proxy and CA
/// settings, or why they cannot be used.
pub async fn run(
    facts: &HostFacts,
    adjtime: Option<&str>,
    targets: &Targets,
    network: &Result<Network, String>,
) -> Report {
    let mut checks = machine(facts);
    checks.push(rules::software_space(
        &targets.state_dir.display().to_string(),
        free_bytes(&targets.state_dir),
    ));
    let net = match network {
        Ok(net) => net,
        Err(e) => {
            let ntp = query(&targets.ntp_servers, targets.timeout).await;
            checks.push(rules::clock(&targets.drs_url, Err(e.clone())));
            checks.push(rules::ntp(ntp));
            checks.push(rules::rtc(adjtime, None));
            checks.push(rules::not_checked(
                "drs_endpoint",
                "DRS endpoint",
                &targets.drs_url,
                e,
            ));
            checks.push(rules::not_checked("s3", "S3", "S3", e));
            return Report {
                checks,
                clock_skew_seconds: None,
                offer_clock_set: false,
            };
        }
    };
    let s3 = async {
        let url = targets.s3_url.as_ref().map_err(Clone::clone)?;
        let pin = targets.s3_pin.as_ref();
        let hash = async {
            match &targets.s3_hash_url {
                Some(h) => Some(probe(h, pin, net, targets.timeout).await),
                None => None,
            }
        };
        let (manifest, hash) = tokio::join!(probe(url, pin, net, targets.timeout), hash);
        Ok::<_, String>(
            std::iter::once(manifest.probe)
                .chain(hash.map(|a| a.probe))
                .collect::<Vec<_>>(),
        )
    };
    let (drs, s3, ntp) = tokio::join!(
        probe(&targets.drs_url, None, net, targets.timeout),
        s3,
        query(&targets.ntp_servers, targets.timeout)
    );
    let skew = drs.skew.as_ref().ok().map(|s| s.seconds);
    checks.push(rules::clock(&drs.probe.host, drs.skew.map(|s| s.seconds)));
    checks.push(rules::ntp(ntp));
    checks.push(rules::rtc(adjtime, skew));
    checks.push(rules::host("drs_endpoint", "DRS endpoint", &drs.probe));
    checks.push(match s3 {
        Ok(probes) => rules::hosts("s3", "S3", &probes),
        Err(e) => rules::not_checked("s3", "S3", "S3", &e),
    });
    let offer_clock_set = rules::offer_clock_set(&checks);
    let checks = checks
        .into_iter()
        .map(|c| rules::clock_fix(c, offer_clock_set))
        .collect();
    Report {
        checks,
        clock_skew_seconds: skew,
        offer_clock_set,
    }
}

/// TCP 1500 (`port`) to the recovery instance, at the address `use_private_ip` names; not
/// tried when `connect` is false (the demo's emulator runs no agent).
pub async fn replication_port(
    instance_id: &str,
    use_private_ip: Result<bool, String>,
    private_ips: &[String],
    connect: bool,
    port: u16,
    timeout: Duration,
) -> Check {
    let target = rules::replication_address(use_private_ip, private_ips, instance_id);
    let tcp = match (&target, connect) {
        (Ok((ip, _)), true) => Some(match ip.parse::<std::net::IpAddr>() {
            Ok(ip) => https::connect(std::net::SocketAddr::new(ip, port), timeout).await,
            Err(_) => Err(format!("`{ip}` is not an IP address")),
        }),
        _ => None,
    };
    rules::replication_port(target, port, tcp, !connect)
}

/// Measures this machine and the network, then judges (blocking reads run off the loop).
pub async fn measure(targets: &Targets) -> Report {
    let facts = tokio::task::spawn_blocking(crate::host::facts).await;
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("reading this machine's facts failed: {e}");
            return Report {
                checks: Vec::new(),
                clock_skew_seconds: None,
                offer_clock_set: false,
            };
        }
    };
    let adjtime = tokio::fs::read_to_string("/etc/adjtime").await.ok();
    let network = Network::from_env().map_err(|e| e.0);
    run(&facts, adjtime.as_deref(), targets, &network).await
}

/// `preflight --json`.
pub fn json(region: &str, report: &Report) -> String {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    value["region"] = region.into();
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// `preflight`: one line per check, the fix indented under it.
pub fn text(region: &str, report: &Report) -> String {
    use crate::domain::preflight::Verdict;
    let mut out = format!("Pre-flight checks (region {region})");
    for c in &report.checks {
        let tag = match c.verdict {
            Verdict::Pass => "PASS",
            Verdict::Warning => "WARN",
            Verdict::Fail => "FAIL",
        };
        out.push_str(&format!("\n{tag}  {:<16} {}", c.title, c.measured));
        // The CLI's report: nobody at a wizard to press its keys.
        if let Some(fix) = c.unattended_fix() {
            out.push_str(&format!("\n      {:<16} fix: {fix}", ""));
        }
    }
    out
}

/// Sets the system clock (CLOCK_REALTIME); needs root (CAP_SYS_TIME).
pub fn set_system_clock(to: std::time::SystemTime) -> Result<(), String> {
    let since = to
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "that time is before 1970".to_owned())?;
    let ts = libc::timespec {
        tv_sec: since.as_secs() as libc::time_t,
        tv_nsec: since.subsec_nanos() as libc::c_long,
    };
    // SAFETY: clock_settime reads the timespec we pass and nothing else.
    let rc = unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "the clock could not be set ({}): run as root, or set it with `date -s`",
            std::io::Error::last_os_error()
        ))
    }
}
