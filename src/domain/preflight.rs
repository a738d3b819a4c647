//! Pre-flight checks: the prerequisites AWS lists for the failback client, judged from measured
//! facts. Each check says pass / warning / fail, what was measured and, when not passed, the fix
//! in one sentence. Measuring is elsewhere (`crate::preflight`).

use super::bytes::Bytes;
use super::matching::instance_fit;
use super::model::{BootMode, LocalDisk, MIN_RAM, RecoveryInstance};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warning,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name for scripts: ram, boot_mode, secure_boot, software_space, clock, ntp, rtc,
    /// drs_endpoint, s3, instance_boot_mode, local_disks, replication_port, s3_pin.
    pub id: &'static str,
    pub title: &'static str,
    pub verdict: Verdict,
    pub measured: String,
    /// What to do, one sentence; None when it passed.
    pub fix: Option<String>,
    /// The fix for a run nobody is at (`--no-prompt`, the CLI's `preflight`), when `fix` names
    /// wizard keys or screens.
    pub unattended: Option<String>,
}

/// A check as the confirmed plan carries it to the worker (and `status --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub id: String,
    pub title: String,
    pub verdict: Verdict,
    pub measured: String,
    pub fix: Option<String>,
}

impl From<&Check> for Recorded {
    fn from(c: &Check) -> Recorded {
        Recorded {
            id: c.id.into(),
            title: c.title.into(),
            verdict: c.verdict,
            measured: c.measured.clone(),
            fix: c.fix.clone(),
        }
    }
}

fn check(id: &'static str, title: &'static str, verdict: Verdict, measured: String) -> Check {
    Check {
        id,
        title,
        verdict,
        measured,
        fix: None,
        unattended: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    /// The fix without the wizard's keys, for a run nobody is at.
    fn unattended(mut self, fix: impl Into<String>) -> Check {
        self.unattended = Some(fix.into());
        self
    }

    /// The fix as a run nobody is at should print it: no wizard keys.
    pub fn unattended_fix(&self) -> Option<&str> {
        self.unattended.as_deref().or(self.fix.as_deref())
    }
}

/// The line above the checks: "3 passed, 1 warning, 0 failed".
pub fn tally(checks: &[Check]) -> String {
    let count = |v| checks.iter().filter(|c| c.verdict == v).count();
    let warnings = count(Verdict::Warning);
    format!(
        "{} passed, {} {}, {} failed",
        count(Verdict::Pass),
        warnings,
        if warnings == 1 { "warning" } else { "warnings" },
        count(Verdict::Fail)
    )
}

/// What may go wrong when the operator overrides the RAM check (shown before they confirm).
pub const RAM_OVERRIDE_RISK: &str = "AWS's replication software (a Java program) may run out of \
memory and stop mid-replication, and the failback would have to start again.";

/// MemTotal as the official client reads it: it refuses below 3,800,000 kB.
pub fn ram(total: Bytes) -> Check {
    let kb = total.get() / 1024;
    let measured = format!("MemTotal {kb} kB ({total})");
    if total.get() == 0 {
        return check(
            "ram",
            "RAM",
            Verdict::Warning,
            "MemTotal could not be read".into(),
        )
        .fix("Check that this machine has at least 4 GiB of RAM (see /proc/meminfo).");
    }
    if total < MIN_RAM {
        check("ram", "RAM", Verdict::Fail, measured)
            .fix(
                "The failback client requires at least 4GiB of RAM: give this machine more memory, \
             or override on the Pre-flight screen if you accept the risk.",
            )
            .unattended(
                "The failback client requires at least 4GiB of RAM: give this machine more memory \
             (only the wizard's Pre-flight screen can override this).",
            )
    } else {
        check("ram", "RAM", Verdict::Pass, measured)
    }
}

fn mode_name(mode: BootMode) -> &'static str {
    match mode {
        BootMode::Uefi => "UEFI",
        BootMode::Bios => "BIOS",
    }
}

/// What AWS's replication software needs in the worker's state directory: its download (about
/// 113 MB) and, while that is unpacked, the unpacked tree (about 300 MB) beside it.
pub const SOFTWARE_ROOM: Bytes = Bytes::mib(113 + 300);

/// Free space in the filesystem of the worker's state directory `dir`, where the replication
/// software is downloaded and unpacked.
pub fn software_space(dir: &str, free: Result<Bytes, String>) -> Check {
    let (id, title) = ("software_space", "Software space");
    match free {
        Err(e) => check(
            id,
            title,
            Verdict::Warning,
            format!("free space in {dir} unknown ({e})"),
        )
        .fix(format!(
            "Check that {dir} can be created and has {SOFTWARE_ROOM} free for AWS's replication \
             software (df -h)."
        )),
        Ok(free) if free < SOFTWARE_ROOM => check(
            id,
            title,
            Verdict::Fail,
            format!("{free} free in {dir}; AWS's replication software needs {SOFTWARE_ROOM}"),
        )
        .fix(format!(
            "Make {SOFTWARE_ROOM} free in {dir}'s filesystem (a tmpfs is memory: add RAM or \
             mount a larger one there), or run with --state-dir on a filesystem that has it."
        )),
        Ok(free) => check(
            id,
            title,
            Verdict::Pass,
            format!("{free} free in {dir} for AWS's replication software ({SOFTWARE_ROOM} needed)"),
        ),
    }
}

/// The source's OS family, from the recovery instance's os.fullString.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsFamily {
    Linux,
    Windows,
}

pub fn os_family(full_string: &str) -> Option<OsFamily> {
    let s = full_string.to_lowercase();
    if s.contains("windows") {
        Some(OsFamily::Windows)
    } else if s.is_empty() {
        None
    } else {
        // DRS reports Linux sources by distribution (Ubuntu, Red Hat, SUSE, ...).
        Some(OsFamily::Linux)
    }
}

/// AWS's rule: Linux sources need the client booted in BIOS mode, Windows the source's mode.
/// `source_os` is None until the recovery instance is chosen.
pub fn boot_mode(mode: BootMode, source_os: Option<&str>) -> Check {
    let (id, title) = match source_os {
        None => ("boot_mode", "Boot mode"),
        Some(_) => ("instance_boot_mode", "Source boot mode"),
    };
    let here = mode_name(mode);
    match (source_os.and_then(os_family), mode) {
        (None, BootMode::Bios) if source_os.is_none() => check(
            id,
            title,
            Verdict::Pass,
            format!("{here}: right for Linux sources; checked again once the recovery instance is chosen"),
        ),
        (None, BootMode::Uefi) if source_os.is_none() => check(
            id,
            title,
            Verdict::Warning,
            format!("{here}: a Linux source needs BIOS; unknown until the recovery instance is chosen"),
        )
        .fix("If the source is Linux, reboot this machine in legacy BIOS (CSM) mode."),
        (None, _) => check(
            id,
            title,
            Verdict::Warning,
            format!("{here}; the source's OS is not reported"),
        )
        .fix("Boot in BIOS mode for a Linux source, or in the source's own mode for Windows."),
        (Some(OsFamily::Linux), BootMode::Bios) => {
            check(id, title, Verdict::Pass, format!("{here}, Linux source"))
        }
        (Some(OsFamily::Linux), BootMode::Uefi) => {
            check(id, title, Verdict::Fail, format!("{here}, Linux source"))
                .fix("Linux sources need the failback client booted in BIOS mode: reboot this machine in legacy BIOS (CSM) mode.")
        }
        (Some(OsFamily::Windows), _) => check(
            id,
            title,
            Verdict::Warning,
            format!("{here}, Windows source: must match the source server's mode"),
        )
        .fix(format!("Make sure the source server booted in {here} too; if not, reboot this machine in the other mode.")),
    }
}

/// The SecureBoot EFI variable's state (None: not readable, e.g. in a container).
pub fn secure_boot(mode: BootMode, state: Option<bool>) -> Check {
    let c = |v, m: &str| check("secure_boot", "Secure Boot", v, m.to_owned());
    match (mode, state) {
        (BootMode::Bios, _) => c(Verdict::Pass, "off (BIOS boot)"),
        (BootMode::Uefi, Some(false)) => c(Verdict::Pass, "off"),
        (BootMode::Uefi, Some(true)) => c(Verdict::Fail, "on").fix(
            "Turn Secure Boot off in the firmware setup: the replication software's kernel \
             module would not load.",
        ),
        (BootMode::Uefi, None) => c(
            Verdict::Warning,
            "unknown: the SecureBoot EFI variable cannot be read",
        )
        .fix("Check in the firmware setup that Secure Boot is off (mount efivarfs to let this check read it)."),
    }
}

/// SigV4 refuses requests signed further than this from AWS's time.
pub const SIGV4_MAX_SKEW: i64 = 300;
/// Beyond NTP jitter and latency.
const SKEW_WORTH_TELLING: i64 = 30;

/// This machine's clock against the DRS endpoint's `Date` (`skew` = service minus local, s).
pub fn clock(endpoint: &str, skew: Result<i64, String>) -> Check {
    let c = |v, m: String| check("clock", "Clock", v, m);
    match skew {
        Err(why) => c(
            Verdict::Warning,
            format!("not compared: {endpoint} gave no Date ({why})"),
        )
        .fix("Make the DRS endpoint reachable (see its row), then re-run the checks."),
        Ok(s) => {
            let way = if s > 0 { "behind" } else { "ahead of" };
            let measured = format!(
                "{} {way} {endpoint}",
                super::throughput::format_duration(s.unsigned_abs())
            );
            if s.abs() > SIGV4_MAX_SKEW {
                c(Verdict::Fail, measured).fix(
                    "AWS refuses requests signed more than 5 minutes off: set the clock (NTP, or \
                     c to set it from the endpoint's time).",
                )
                .unattended("AWS refuses requests signed more than 5 minutes off: set the clock (NTP, or date -s).")
            } else if s.abs() >= SKEW_WORTH_TELLING {
                c(Verdict::Warning, measured)
                    .fix("Set the clock right (NTP, or c to set it from the endpoint's time): TLS and the replication software need it.")
                    .unattended("Set the clock right (NTP, or date -s): TLS and the replication software need it.")
            } else if s == 0 {
                c(Verdict::Pass, format!("matches {endpoint}"))
            } else {
                c(Verdict::Pass, measured)
            }
        }
    }
}

/// Whether an SNTP server answered on UDP 123: Ok(server, offset in s) or Err(what was tried).
pub fn ntp(answer: Result<(String, i64), String>) -> Check {
    match answer {
        Ok((server, offset)) => check(
            "ntp",
            "NTP",
            Verdict::Pass,
            format!("{server} answered (offset {offset:+} s)"),
        ),
        Err(tried) => check(
            "ntp",
            "NTP",
            Verdict::Warning,
            format!("no answer on UDP 123 from {tried}"),
        )
        .fix("Allow UDP 123 out to an NTP server (the replication software keeps time with it), or name one your network reaches."),
    }
}

/// The offer to set the clock from the endpoint's `Date`: the clock is off and NTP cannot fix it.
pub fn offer_clock_set(checks: &[Check]) -> bool {
    let verdict = |id| checks.iter().find(|c| c.id == id).map(|c| c.verdict);
    matches!(verdict("clock"), Some(Verdict::Warning | Verdict::Fail))
        && checks
            .iter()
            .any(|c| c.id == "clock" && !c.measured.starts_with("not compared"))
        && verdict("ntp") == Some(Verdict::Warning)
}

/// The clock row once it is known whether `c` (set it from the endpoint's time) is offered:
/// where it is not, NTP answers, and the fix is the time sync instead.
pub fn clock_fix(mut c: Check, offered: bool) -> Check {
    let compared = !c.measured.starts_with("not compared");
    if !offered && c.id == "clock" && c.fix.is_some() && compared {
        let why = match c.verdict {
            Verdict::Fail => "AWS refuses requests signed more than 5 minutes off",
            _ => "TLS and the replication software need the right time",
        };
        c.fix = Some(format!(
            "{why}: NTP answers, so turn time sync on (`timedatectl set-ntp true`, or start \
             chronyd or ntpd) and re-run the checks with r."
        ));
    }
    c
}

/// The hardware clock's time scale, from /etc/adjtime's third line (absent means UTC). A live
/// system has no say in it: a clock off from the DRS endpoint's (`skew`, s) by a whole time
/// zone is an RTC kept in local time (as Windows keeps it) read as UTC at boot.
pub fn rtc(adjtime: Option<&str>, skew: Option<i64>) -> Check {
    let local = adjtime
        .and_then(|t| t.lines().nth(2))
        .is_some_and(|l| l.trim() == "LOCAL");
    if local {
        return check("rtc", "Hardware clock", Verdict::Warning, "local time (/etc/adjtime says LOCAL)".into())
            .fix("AWS expects the hardware clock in UTC: run `hwclock --systohc --utc` once the time is right.");
    }
    match skew.filter(|s| a_time_zone_off(*s)) {
        Some(s) => check(
            "rtc",
            "Hardware clock",
            Verdict::Warning,
            format!(
                "probably local time: the clock is off by {}, a time zone's offset",
                super::throughput::format_duration(s.unsigned_abs())
            ),
        )
        .fix("Set the clock (NTP, or c on the Pre-flight screen), then run `hwclock --systohc --utc`: AWS expects the hardware clock in UTC.")
        .unattended("Set the clock (NTP, or date -s), then run `hwclock --systohc --utc`: AWS expects the hardware clock in UTC."),
        None => check("rtc", "Hardware clock", Verdict::Pass, "UTC".into()),
    }
}

/// Off by one to fourteen hours, within 90 s of a quarter hour: what a time zone's offset
/// looks like (some are 30 or 45 minutes past the hour).
fn a_time_zone_off(skew: i64) -> bool {
    let off = skew.unsigned_abs();
    let from_quarter = off % 900;
    (3600 - 90..=14 * 3600 + 90).contains(&off) && from_quarter.min(900 - from_quarter) <= 90
}

/// One HTTPS host probed stage by stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostProbe {
    /// What was asked for, e.g. drs.us-east-1.amazonaws.com:443.
    pub host: String,
    /// The proxy connected to instead, when one is set (then DNS and TCP are to it).
    pub proxy: Option<String>,
    pub dns: Result<String, String>,
    /// Connected address and milliseconds; None when not reached.
    pub tcp: Option<Result<String, String>>,
    /// None when not reached, or not HTTPS.
    pub tls: Option<Result<(), String>>,
    /// The HTTP answer ("answered (HTTP 404)": any answer proves the way), None when not reached.
    pub answer: Option<Result<String, String>>,
}

/// A host that could not be checked at all (bad network settings, an unknown region).
pub fn not_checked(id: &'static str, title: &'static str, host: &str, why: &str) -> Check {
    check(
        id,
        title,
        Verdict::Fail,
        format!("{host}: not checked: {why}"),
    )
    .fix("Correct what the message names, then re-run the checks with r.")
    .unattended("Correct what the message names, then run again.")
}

/// DNS, TCP and TLS to the DRS endpoint or S3.
pub fn host(id: &'static str, title: &'static str, p: &HostProbe) -> Check {
    let via = match &p.proxy {
        Some(proxy) => format!(" via proxy {proxy} (DNS and TCP are to the proxy)"),
        None => String::new(),
    };
    let name = format!("{}{via}", p.host);
    let c = |v, m: String| check(id, title, v, m);
    match (&p.dns, &p.tcp, &p.tls, &p.answer) {
        (Err(e), ..) => c(Verdict::Fail, format!("{name}: DNS failed ({e})")).fix(
            "Check the DNS servers (/etc/resolv.conf) and that this name resolves from here.",
        ),
        (Ok(_), Some(Err(e)), ..) => {
            // The port asked for: a custom endpoint need not be on 443.
            let port = p
                .host
                .rsplit_once(':')
                .map(|(_, port)| port)
                .filter(|port| port.parse::<u16>().is_ok())
                .unwrap_or("443");
            c(Verdict::Fail, format!("{name}: TCP failed ({e})")).fix(format!(
                "Open TCP {port} outbound to this host (firewall, security group), or set HTTPS_PROXY."
            ))
        }
        (Ok(_), Some(Ok(_)), Some(Err(e)), _) => c(Verdict::Fail, format!("{name}: TLS failed ({e})"))
            .fix("A proxy or firewall intercepts TLS: trust its CA with AWS_CA_BUNDLE, or exempt AWS from inspection."),
        (Ok(_), Some(Ok(_)), _, Some(Err(e))) => c(Verdict::Fail, format!("{name}: connected, but {e}"))
            .fix("Something between here and the host holds the connection: check the firewall, proxy or custom endpoint."),
        (Ok(ip), Some(Ok(tcp)), tls, Some(Ok(answer))) => {
            let tls = if tls.is_some() { ", TLS ok" } else { "" };
            c(Verdict::Pass, format!("{name}: {ip}, TCP {tcp}{tls}, {answer}"))
        }
        (Ok(ip), ..) => c(Verdict::Fail, format!("{name}: {ip}, not reached"))
            .fix("Re-run the checks with r.")
            .unattended("Run again."),
    }
}

/// DNS, TCP and TLS to each host of one service (S3: the assets and the hashes buckets): the
/// first that fails decides the row, else every one is listed as passed.
pub fn hosts(id: &'static str, title: &'static str, probes: &[HostProbe]) -> Check {
    let mut checks = probes.iter().map(|p| host(id, title, p));
    let Some(mut row) = checks.next() else {
        return not_checked(id, title, title, "no host to check");
    };
    for c in checks {
        if row.verdict != Verdict::Pass {
            break;
        }
        if c.verdict == Verdict::Pass {
            row.measured = format!("{}; {}", row.measured, c.measured);
        } else {
            row = c;
        }
    }
    row
}

/// Whether this machine's free disks can take the chosen instance's volumes (fractional-GiB rule).
pub fn local_disks(instance: &RecoveryInstance, disks: &[LocalDisk]) -> Check {
    let measured = format!(
        "{} volumes ({}), {} local disks",
        instance.volumes.len(),
        instance.total_bytes(),
        disks.len()
    );
    match instance_fit(instance, disks) {
        Ok(()) => check("local_disks", "Local disks", Verdict::Pass, measured),
        Err(why) => check("local_disks", "Local disks", Verdict::Fail, format!("{measured}: {why}"))
            .fix("Attach enough disks, each at least as large as its volume, or choose another recovery instance."),
    }
}

/// Where the failback client pairs with the recovery instance's agent.
pub const REPLICATION_PORT: u16 = 1500;

/// Why TCP 1500 could not be tried, and what the operator checks by hand instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchecked {
    pub why: String,
    /// One sentence.
    pub verify: String,
}

/// The address TCP 1500 goes to, as GetFailbackReplicationConfiguration's usePrivateIP says
/// (`use_private_ip`: its answer, or why it could not be read): the address and which one it
/// is, or why it cannot be checked. `ips` are the addresses DescribeRecoveryInstances lists for
/// recovery instance `id`: those its own interfaces carry, so never its public IPv4 address,
/// which EC2 maps to it outside the instance.
pub fn replication_address(
    use_private_ip: Result<bool, String>,
    ips: &[String],
    id: &str,
) -> Result<(String, &'static str), Unchecked> {
    let nc = "(e.g. nc -vz <address> 1500)";
    match use_private_ip {
        Err(why) => Err(Unchecked {
            why: format!(
                "usePrivateIP unknown ({why}), so not whether the private or the public address \
                 is used"
            ),
            verify: format!(
                "Check by hand that TCP 1500 answers from this machine at {id}'s private IP (over \
                 the VPN or Direct Connect) or its public IP, whichever its failback replication \
                 settings in the DRS console use {nc}."
            ),
        }),
        Ok(true) => ips
            .first()
            .map(|ip| (ip.clone(), "private IP, as usePrivateIP says"))
            .ok_or_else(|| Unchecked {
                why: "usePrivateIP is on, but DRS reports no private IP for it".into(),
                verify: format!(
                    "Find {id}'s private IP in the EC2 console and check by hand that TCP 1500 \
                     answers there from this machine {nc}."
                ),
            }),
        Ok(false) => Err(Unchecked {
            // Short: Review shows it whole beside the disks at 80x24; the fix names the instance.
            why:
                "usePrivateIP is off: the public IP is used, which DRS does not report (EC2 keeps \
                  it)"
                .into(),
            verify: format!(
                "Find {id}'s public IPv4 address in the EC2 console and check by hand that TCP \
                 1500 answers there from this machine {nc}; its security group must admit this \
                 machine's public address."
            ),
        }),
    }
}

/// TCP 1500 to the recovery instance: `tcp` is the connection's result ("in 12 ms" or the
/// error), None when not tried: the address is unknown, or `demo` (the emulator runs no agent).
pub fn replication_port(
    target: Result<(String, &'static str), Unchecked>,
    port: u16,
    tcp: Option<Result<String, String>>,
    demo: bool,
) -> Check {
    let c = |v, m: String| check("replication_port", "TCP 1500", v, m);
    let open = "Open TCP 1500 from this machine to the recovery instance (its security group, \
                and the VPN or Direct Connect route for a private IP).";
    let demo_fix = "Nothing to do in the demo; a real failback checks this connection here.";
    match (target, tcp) {
        (Ok((addr, which)), _) if demo => c(
            Verdict::Warning,
            format!(
                "demo: {addr}:{port} ({which}) not tried: the emulator runs no replication agent"
            ),
        )
        .fix(demo_fix),
        (Err(u), _) if demo => c(
            Verdict::Warning,
            format!(
                "demo: not tried, the emulator runs no replication agent ({})",
                u.why
            ),
        )
        .fix(demo_fix),
        (Err(u), _) => c(Verdict::Warning, format!("not checked: {}", u.why)).fix(u.verify),
        (Ok((addr, which)), None) => c(
            Verdict::Warning,
            format!("{addr}:{port} ({which}): not tried"),
        )
        .fix(open),
        (Ok((addr, which)), Some(Ok(how))) => c(
            Verdict::Pass,
            format!("connected {how} to {addr}:{port} ({which})"),
        ),
        (Ok((addr, which)), Some(Err(e))) => {
            c(Verdict::Fail, format!("{e}, to {addr}:{port} ({which})")).fix(open)
        }
    }
}

/// The S3 pin this program holds in /etc/hosts (`pinned`: the endpoint pinned for one region's
/// host names) against the plan's `region`: pinned for another region, AWS's program would
/// reach this region's S3 host names without the endpoint. None when it is this region's.
pub fn s3_pin(pinned: &super::network::S3Plan, region: &str) -> Option<Check> {
    let region = region.trim();
    (pinned.region != region).then(|| {
        check(
            "s3_pin",
            "S3 pin",
            Verdict::Fail,
            format!(
                "/etc/hosts pins the S3 endpoint for {}'s host names ({}), but the plan's region \
                 is {region}",
                pinned.region,
                pinned.hosts.join(", ")
            ),
        )
        .fix(format!(
            "Open the Network screen (Ctrl-N) and press Enter to pin the S3 endpoint for \
             {region}, or Ctrl-R there to take the pin away."
        ))
        .unattended(format!(
            "Pin the S3 endpoint for {region} (--s3-endpoint), or take the pin for {} out of \
             /etc/hosts.",
            pinned.region
        ))
    })
}

/// A check the demo shows but does not stop at (it measures this machine, not the emulator's):
/// a failure becomes a warning that says a real failback would stop.
pub fn rehearsed(mut c: Check) -> Check {
    if c.verdict == Verdict::Fail {
        c.verdict = Verdict::Warning;
        c.measured
            .push_str(" (a real failback stops here; the demo goes on)");
    }
    c
}

/// The worst verdict, for exit codes and summaries.
pub fn worst(checks: &[Check]) -> Verdict {
    checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass)
}

/// Checks that stop the journey: fails, except the RAM one once the operator overrode it.
pub fn blocking(checks: &[Check], ram_overridden: bool) -> Vec<&Check> {
    checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail && !(ram_overridden && c.id == "ram"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bytes::GIB;

    #[test]
    fn the_tally_says_warning_for_one_and_warnings_for_more() {
        let c = |verdict| check("id", "T", verdict, String::new());
        let (pass, warning, fail) = (c(Verdict::Pass), c(Verdict::Warning), c(Verdict::Fail));
        assert_eq!(
            tally(&[pass.clone(), warning.clone()]),
            "1 passed, 1 warning, 0 failed"
        );
        assert_eq!(
            tally(&[pass, warning.clone(), warning, fail]),
            "1 passed, 2 warnings, 1 failed"
        );
        assert_eq!(tally(&[]), "0 passed, 0 warnings, 0 failed");
    }

    #[test]
    fn a_run_nobody_is_at_is_told_no_wizard_keys() {
        let pinned = super::super::network::S3Plan {
            target: super::super::network::S3Target::Host("s3.example".into()),
            region: "eu-west-1".into(),
            hosts: vec!["s3.eu-west-1.amazonaws.com".into()],
        };
        let unreached = HostProbe {
            tcp: None,
            tls: None,
            answer: None,
            ..probe()
        };
        let checks = [
            ram(Bytes(GIB)),
            clock("drs.example", Ok(600)),
            clock("drs.example", Ok(90)),
            rtc(None, Some(3600)),
            not_checked("s3", "S3", "s3.example", "no region"),
            host("s3", "S3", &unreached),
            s3_pin(&pinned, "us-east-1").unwrap(),
        ];
        for c in &checks {
            let fix = c.unattended_fix().unwrap();
            for key in [
                " c ", " c,", " r.", " r,", "Ctrl-", "press", "screen (", "Enter",
            ] {
                assert!(!fix.contains(key), "{}: {fix:?} names {key:?}", c.id);
            }
            // The wizard's words are kept for the wizard.
            assert_ne!(c.fix.as_deref(), Some(fix), "{}", c.id);
        }
    }

    #[test]
    fn ram_is_refused_below_the_official_clients_memtotal() {
        let below = ram(Bytes(3_799_999 * 1024));
        assert_eq!(below.verdict, Verdict::Fail);
        assert_eq!(below.measured, "MemTotal 3799999 kB (3.62 GiB)");
        assert!(below.fix.unwrap().contains("requires at least 4GiB of RAM"));
        assert_eq!(ram(Bytes(3_800_000 * 1024)).verdict, Verdict::Pass);
        assert_eq!(ram(Bytes(0)).verdict, Verdict::Warning);
    }

    #[test]
    fn the_software_needs_its_download_and_unpacked_tree_free_in_the_state_directory() {
        let dir = "/run/drs-failback";
        let short = software_space(dir, Ok(Bytes::mib(412)));
        assert_eq!(short.verdict, Verdict::Fail);
        assert_eq!(
            short.measured,
            "412 MiB free in /run/drs-failback; AWS's replication software needs 413 MiB"
        );
        assert!(short.fix.unwrap().contains("--state-dir"));
        assert_eq!(
            blocking(&[software_space(dir, Ok(Bytes::mib(412)))], true).len(),
            1
        );
        let enough = software_space(dir, Ok(SOFTWARE_ROOM));
        assert_eq!(enough.verdict, Verdict::Pass);
        assert_eq!(enough.fix, None);
        let unknown = software_space(dir, Err("No such file or directory".into()));
        assert_eq!(unknown.verdict, Verdict::Warning);
        assert!(unknown.measured.contains("No such file"));
        assert!(unknown.fix.unwrap().contains("/run/drs-failback"));
    }

    #[test]
    fn an_overridden_ram_check_no_longer_blocks() {
        let checks = vec![ram(Bytes(2 * GIB)), secure_boot(BootMode::Uefi, Some(true))];
        assert_eq!(blocking(&checks, false).len(), 2);
        let left = blocking(&checks, true);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, "secure_boot");
    }

    #[test]
    fn boot_mode_follows_the_documented_rule() {
        assert_eq!(boot_mode(BootMode::Bios, None).verdict, Verdict::Pass);
        let uefi = boot_mode(BootMode::Uefi, None);
        assert_eq!(uefi.verdict, Verdict::Warning);
        assert!(
            uefi.measured
                .contains("unknown until the recovery instance is chosen")
        );
        let linux = boot_mode(BootMode::Uefi, Some("Ubuntu 22.04.3 LTS"));
        assert_eq!(linux.verdict, Verdict::Fail);
        assert_eq!(linux.id, "instance_boot_mode");
        assert!(linux.fix.unwrap().contains("BIOS"));
        assert_eq!(
            boot_mode(BootMode::Bios, Some("Red Hat Enterprise Linux 9")).verdict,
            Verdict::Pass
        );
        let win = boot_mode(BootMode::Uefi, Some("Microsoft Windows Server 2019"));
        assert_eq!(win.verdict, Verdict::Warning);
        assert!(win.fix.unwrap().contains("booted in UEFI too"));
        assert_eq!(
            boot_mode(BootMode::Bios, Some("")).verdict,
            Verdict::Warning
        );
    }

    #[test]
    fn secure_boot_on_fails_and_unknown_warns() {
        let on = secure_boot(BootMode::Uefi, Some(true));
        assert_eq!(on.verdict, Verdict::Fail);
        assert!(on.fix.unwrap().contains("kernel module would not load"));
        assert_eq!(secure_boot(BootMode::Uefi, None).verdict, Verdict::Warning);
        assert_eq!(
            secure_boot(BootMode::Uefi, Some(false)).verdict,
            Verdict::Pass
        );
        assert_eq!(secure_boot(BootMode::Bios, None).verdict, Verdict::Pass);
    }

    #[test]
    fn six_minutes_off_fails_and_a_minute_warns() {
        let off = clock("drs", Ok(360));
        assert_eq!(off.verdict, Verdict::Fail);
        assert_eq!(off.measured, "6m 00s behind drs");
        assert!(off.fix.unwrap().contains("more than 5 minutes"));
        assert_eq!(clock("drs", Ok(-60)).verdict, Verdict::Warning);
        assert_eq!(clock("drs", Ok(-60)).measured, "1m 00s ahead of drs");
        assert_eq!(clock("drs", Ok(2)).verdict, Verdict::Pass);
        assert_eq!(
            clock("drs", Err("refused".into())).verdict,
            Verdict::Warning
        );
    }

    #[test]
    fn the_clock_is_offered_only_when_off_and_ntp_is_silent() {
        let silent = ntp(Err("127.0.0.1:9".into()));
        assert_eq!(silent.measured, "no answer on UDP 123 from 127.0.0.1:9");
        assert!(offer_clock_set(&[clock("d", Ok(400)), silent.clone()]));
        assert!(!offer_clock_set(&[clock("d", Ok(1)), silent.clone()]));
        assert!(!offer_clock_set(&[clock("d", Err("x".into())), silent]));
        let answered = ntp(Ok(("pool.ntp.org".into(), 400)));
        assert!(!offer_clock_set(&[clock("d", Ok(400)), answered]));
    }

    #[test]
    fn c_is_named_only_where_it_is_offered() {
        let answered = ntp(Ok(("pool.ntp.org".into(), 360)));
        let off = clock("d", Ok(360));
        assert!(!offer_clock_set(&[off.clone(), answered]));
        let fixed = clock_fix(off.clone(), false);
        assert_eq!(
            fixed.fix.as_deref(),
            Some(
                "AWS refuses requests signed more than 5 minutes off: NTP answers, so turn time \
                 sync on (`timedatectl set-ntp true`, or start chronyd or ntpd) and re-run the \
                 checks with r."
            )
        );
        assert_eq!(clock_fix(off.clone(), true), off);
        let right = clock("d", Ok(1));
        assert_eq!(clock_fix(right.clone(), false), right);
        let unknown = clock("d", Err("refused".into()));
        assert_eq!(clock_fix(unknown.clone(), false), unknown);
    }

    #[test]
    fn an_rtc_in_local_time_is_noted() {
        let local = "0.0 0 0.0\n0\nLOCAL\n";
        assert_eq!(rtc(Some(local), None).verdict, Verdict::Warning);
        assert_eq!(
            rtc(Some("0.0 0 0.0\n0\nUTC\n"), Some(0)).verdict,
            Verdict::Pass
        );
        assert_eq!(rtc(None, None).verdict, Verdict::Pass);
    }

    #[test]
    fn a_clock_off_by_a_time_zone_is_an_rtc_kept_in_local_time() {
        // Two hours behind (Central Europe in summer), with seconds of drift and latency.
        let cest = rtc(None, Some(7200 + 40));
        assert_eq!(cest.verdict, Verdict::Warning);
        assert_eq!(
            cest.measured,
            "probably local time: the clock is off by 2h 00m, a time zone's offset"
        );
        assert_eq!(
            cest.fix.as_deref(),
            Some(
                "Set the clock (NTP, or c on the Pre-flight screen), then run `hwclock \
                 --systohc --utc`: AWS expects the hardware clock in UTC."
            )
        );
        // Ahead by 5h30 (India), and behind by 5h45 (Nepal).
        assert_eq!(rtc(None, Some(-19800)).verdict, Verdict::Warning);
        assert_eq!(rtc(None, Some(20700 - 60)).verdict, Verdict::Warning);
        // Minutes off, or hours and minutes that no zone has: the clock is just wrong.
        for skew in [400, -3000, 7200 + 420, 16 * 3600] {
            assert_eq!(rtc(None, Some(skew)).verdict, Verdict::Pass, "{skew}");
        }
    }

    fn probe() -> HostProbe {
        HostProbe {
            host: "drs.us-east-1.amazonaws.com:443".into(),
            proxy: None,
            dns: Ok("52.0.0.1".into()),
            tcp: Some(Ok("52.0.0.1:443 in 12 ms".into())),
            tls: Some(Ok(())),
            answer: Some(Ok("answered (HTTP 404)".into())),
        }
    }

    #[test]
    fn each_failing_stage_names_its_fix() {
        let ok = host("drs_endpoint", "DRS endpoint", &probe());
        assert_eq!(ok.verdict, Verdict::Pass);
        assert_eq!(
            ok.measured,
            "drs.us-east-1.amazonaws.com:443: 52.0.0.1, TCP 52.0.0.1:443 in 12 ms, TLS ok, answered (HTTP 404)"
        );
        let dns = HostProbe {
            dns: Err("no such host".into()),
            ..probe()
        };
        let c = host("s3", "S3", &dns);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.fix.unwrap().contains("/etc/resolv.conf"));
        let tls = HostProbe {
            tls: Some(Err("invalid peer certificate".into())),
            proxy: Some("http://proxy:3128".into()),
            ..probe()
        };
        let c = host("s3", "S3", &tls);
        assert!(
            c.measured
                .contains("via proxy http://proxy:3128 (DNS and TCP are to the proxy)")
        );
        assert!(c.fix.unwrap().contains("AWS_CA_BUNDLE"));
    }

    #[test]
    fn every_host_of_a_service_is_checked_and_the_first_failure_decides() {
        let hashes = HostProbe {
            host: "hashes.s3.us-east-1.amazonaws.com:443".into(),
            ..probe()
        };
        let both = hosts("s3", "S3", &[probe(), hashes.clone()]);
        assert_eq!(both.verdict, Verdict::Pass);
        assert!(
            both.measured
                .contains("; hashes.s3.us-east-1.amazonaws.com:443: 52.0.0.1"),
            "{both:?}"
        );
        let refused = HostProbe {
            tcp: Some(Err("Connection refused".into())),
            ..hashes
        };
        let c = hosts("s3", "S3", &[probe(), refused]);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.measured
                .starts_with("hashes.s3.us-east-1.amazonaws.com:443: TCP failed"),
            "{c:?}"
        );
        assert_eq!(hosts("s3", "S3", &[probe()]), host("s3", "S3", &probe()));
    }

    #[test]
    fn local_disks_follow_the_fractional_gib_rule() {
        use crate::domain::fixtures::{disk, disk_gib, vol};
        let instance = RecoveryInstance {
            id: "i-0123456789abcdef0".into(),
            source_server_id: "s-1234567890abcdef0".into(),
            ec2_instance_id: None,
            ec2_state: None,
            is_drill: false,
            hints: Default::default(),
            os: None,
            macs: Vec::new(),
            private_ips: Vec::new(),
            volumes: vec![vol("/dev/xvda", 10), vol("/dev/xvdb", 20)],
            replication: Default::default(),
            failback: Default::default(),
        };
        let fractional = disk("/dev/sdb", Bytes(GIB * 39 / 4));
        let ok = local_disks(&instance, &[fractional.clone(), disk_gib("/dev/sdc", 20)]);
        assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
        let short = local_disks(&instance, &[fractional]);
        assert_eq!(short.verdict, Verdict::Fail);
        assert!(
            short
                .measured
                .contains("2 volumes but only 1 free local disk"),
            "{short:?}"
        );
    }

    #[test]
    fn verdicts_serialise_in_lower_case() {
        let json = serde_json::to_value(ram(Bytes(8 * GIB))).unwrap();
        assert_eq!(json["verdict"], "pass");
        assert_eq!(json["id"], "ram");
        assert!(json["fix"].is_null());
    }
}
