//! Pre-flight checks against fakes: the emulator with its clock 6 minutes off, an endpoint that
//! refuses, one that hangs, a name that does not resolve, an NTP server that answers or not.

mod common;

use common::emulator::emulator_with;
use drs_failback::domain::bytes::Bytes;
use drs_failback::domain::model::{BootMode, HostFacts};
use drs_failback::domain::preflight::{Check, Verdict};
use drs_failback::net::{NetSettings, Network};
use drs_failback::preflight::{self, Report, Targets};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, UdpSocket};

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

fn facts() -> HostFacts {
    HostFacts {
        identity: Default::default(),
        ram: Bytes::gib(8),
        cpus: 2,
        cpu_model: String::new(),
        boot_mode: BootMode::Bios,
        secure_boot: None,
        nics: Vec::new(),
    }
}

fn targets(drs: &str, s3: Option<&str>, ntp: Vec<String>, timeout: Duration) -> Targets {
    let mut t = Targets::new("us-east-1", Some(drs), s3);
    t.ntp_servers = ntp;
    t.timeout = timeout;
    t
}

async fn run(t: &Targets) -> Report {
    let net = Network::new(NetSettings::default()).map_err(|e| e.0);
    preflight::run(&facts(), None, t, &net).await
}

fn row<'a>(r: &'a Report, id: &str) -> &'a Check {
    r.checks.iter().find(|c| c.id == id).unwrap()
}

/// A UDP port nobody answers on (the socket stays bound, so nothing else gets it).
async fn silent_ntp() -> (UdpSocket, String) {
    let s = UdpSocket::bind(SocketAddr::from(LOOPBACK)).await.unwrap();
    let addr = s.local_addr().unwrap().to_string();
    (s, addr)
}

/// An SNTP server on 127.0.0.1 whose clock is `offset` seconds ahead of ours.
async fn fake_ntp(offset: i64) -> String {
    let s = UdpSocket::bind(SocketAddr::from(LOOPBACK)).await.unwrap();
    let addr = s.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((_, from)) = s.recv_from(&mut buf).await {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let t = (now + offset + 2_208_988_800) as u32;
            let mut reply = [0u8; 48];
            reply[0] = 0x24; // version 4, mode 4 (server)
            reply[40..44].copy_from_slice(&t.to_be_bytes());
            let _ = s.send_to(&reply, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn a_clock_six_minutes_off_fails_and_setting_it_is_offered_when_ntp_is_silent() {
    let emu = emulator_with(|j| j["clock_offset_seconds"] = 360.into()).await;
    let (_ntp, ntp) = silent_ntp().await;
    let url = emu.endpoint();
    let t = targets(&url, Some(&url), vec![ntp.clone()], Duration::from_secs(1));
    let r = run(&t).await;
    let host = url.trim_start_matches("http://");
    let clock = row(&r, "clock");
    assert_eq!(clock.verdict, Verdict::Fail, "{clock:?}");
    // The emulator's second may tick between its Date and our reading.
    assert!(
        [
            format!("6m 00s behind {host}"),
            format!("5m 59s behind {host}")
        ]
        .contains(&clock.measured),
        "{clock:?}"
    );
    assert_eq!(
        clock.fix.as_deref(),
        Some(
            "AWS refuses requests signed more than 5 minutes off: set the clock (NTP, or c to \
             set it from the endpoint's time)."
        )
    );
    assert!(matches!(r.clock_skew_seconds, Some(359..=360)), "{r:?}");
    let ntp_row = row(&r, "ntp");
    assert_eq!(ntp_row.measured, format!("no answer on UDP 123 from {ntp}"));
    assert!(r.offer_clock_set);
    // The emulator serves S3 too: any answer (here a refusal without the bucket-owner
    // header) proves DNS, TCP and TLS.
    let s3 = row(&r, "s3");
    assert_eq!(s3.verdict, Verdict::Pass, "{s3:?}");
    assert!(s3.measured.ends_with("answered (HTTP 403)"), "{s3:?}");
    assert_eq!(row(&r, "drs_endpoint").verdict, Verdict::Pass);
}

#[tokio::test]
async fn a_clock_two_hours_behind_is_a_hardware_clock_kept_in_local_time() {
    // The machine ran Windows, which keeps the RTC in local time (UTC+2); the live system read
    // it as UTC, and has no /etc/adjtime to say otherwise.
    let emu = emulator_with(|j| j["clock_offset_seconds"] = 7200.into()).await;
    let (_ntp, ntp) = silent_ntp().await;
    let url = emu.endpoint();
    let t = targets(&url, Some(&url), vec![ntp], Duration::from_secs(1));
    let r = run(&t).await;
    assert_eq!(row(&r, "clock").verdict, Verdict::Fail);
    let rtc = row(&r, "rtc");
    assert_eq!(rtc.verdict, Verdict::Warning, "{rtc:?}");
    assert!(
        [
            "probably local time: the clock is off by 2h 00m, a time zone's offset",
            "probably local time: the clock is off by 1h 59m, a time zone's offset",
        ]
        .contains(&rtc.measured.as_str()),
        "{rtc:?}"
    );
    assert!(r.offer_clock_set);
}

#[tokio::test]
async fn a_clock_off_while_ntp_answers_is_fixed_by_time_sync_not_offered_c() {
    let emu = emulator_with(|j| j["clock_offset_seconds"] = 360.into()).await;
    let ntp = fake_ntp(360).await;
    let url = emu.endpoint();
    let r = run(&targets(
        &url,
        Some(&url),
        vec![ntp],
        Duration::from_secs(5),
    ))
    .await;
    assert!(!r.offer_clock_set);
    let clock = row(&r, "clock");
    assert_eq!(clock.verdict, Verdict::Fail);
    let fix = clock.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("NTP answers, so turn time sync on (`timedatectl set-ntp true`")
            && !fix.contains(" c "),
        "{fix}"
    );
}

#[tokio::test]
async fn a_right_clock_and_an_answering_ntp_pass() {
    let emu = emulator_with(|_| {}).await;
    let ntp = fake_ntp(0).await;
    let url = emu.endpoint();
    let r = run(&targets(
        &url,
        Some(&url),
        vec![ntp.clone()],
        Duration::from_secs(5),
    ))
    .await;
    assert_eq!(row(&r, "clock").verdict, Verdict::Pass, "{r:?}");
    let n = row(&r, "ntp");
    assert_eq!(n.verdict, Verdict::Pass);
    assert!(
        n.measured.starts_with(&format!("{ntp} answered (offset ")),
        "{n:?}"
    );
    assert!(!r.offer_clock_set);
}

#[tokio::test]
async fn an_ntp_server_six_minutes_ahead_is_measured() {
    let ntp = fake_ntp(360).await;
    let (server, offset) = preflight::query(&[ntp.clone()], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(server, ntp);
    assert!((359..=361).contains(&offset), "{offset}");
}

#[tokio::test]
async fn an_endpoint_that_refuses_names_the_port_and_the_fix() {
    let port = {
        let l = std::net::TcpListener::bind(SocketAddr::from(LOOPBACK)).unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let (_ntp, ntp) = silent_ntp().await;
    let r = run(&targets(
        &url,
        Some(&url),
        vec![ntp],
        Duration::from_secs(1),
    ))
    .await;
    let drs = row(&r, "drs_endpoint");
    assert_eq!(drs.verdict, Verdict::Fail);
    assert_eq!(
        drs.measured,
        format!(
            "127.0.0.1:{port}: TCP failed (127.0.0.1:{port}: Connection refused (os error 111))"
        )
    );
    assert_eq!(
        drs.fix,
        Some(format!(
            "Open TCP {port} outbound to this host (firewall, security group), or set HTTPS_PROXY."
        ))
    );
    let clock = row(&r, "clock");
    assert_eq!(clock.verdict, Verdict::Warning);
    assert_eq!(
        clock.measured,
        format!("not compared: 127.0.0.1:{port} gave no Date (TCP failed)")
    );
    assert!(!r.offer_clock_set, "no time to set it from");
}

#[tokio::test]
async fn an_endpoint_that_hangs_is_given_up_on_after_the_timeout() {
    // The kernel completes the handshake; nothing ever answers.
    let listener = TcpListener::bind(SocketAddr::from(LOOPBACK)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let (_ntp, ntp) = silent_ntp().await;
    let r = run(&targets(
        &url,
        Some(&url),
        vec![ntp],
        Duration::from_secs(1),
    ))
    .await;
    let drs = row(&r, "drs_endpoint");
    assert_eq!(drs.verdict, Verdict::Fail);
    assert_eq!(
        drs.measured,
        format!("{addr}: connected, but no answer within 1 s")
    );
    assert_eq!(
        drs.fix.as_deref(),
        Some(
            "Something between here and the host holds the connection: check the firewall, \
             proxy or custom endpoint."
        )
    );
    drop(listener);
}

#[tokio::test]
async fn a_name_that_does_not_resolve_fails_at_dns() {
    let (_ntp, ntp) = silent_ntp().await;
    let t = targets(
        "https://drs.x.invalid",
        Some("https://s3.x.invalid"),
        vec![ntp],
        Duration::from_secs(1),
    );
    let r = run(&t).await;
    for (id, host) in [("drs_endpoint", "drs.x.invalid"), ("s3", "s3.x.invalid")] {
        let c = row(&r, id);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.measured.starts_with(&format!("{host}:443: DNS failed (")),
            "{c:?}"
        );
        assert_eq!(
            c.fix.as_deref(),
            Some("Check the DNS servers (/etc/resolv.conf) and that this name resolves from here.")
        );
    }
}

#[tokio::test]
async fn the_s3_host_is_the_regions_assets_bucket_and_an_unknown_region_is_named() {
    let t = Targets::new("eu-west-1", None, None);
    assert_eq!(t.drs_url, "https://drs.eu-west-1.amazonaws.com");
    assert_eq!(
        t.s3_url.as_deref(),
        Ok(
            "https://aws-elastic-disaster-recovery-eu-west-1.s3.eu-west-1.amazonaws.com/latest/manifest.json"
        )
    );
    // The manifest's hash comes from the hashes bucket: another host, checked too.
    assert_eq!(
        t.s3_hash_url.as_deref(),
        Some(
            "https://aws-elastic-disaster-recovery-hashes-eu-west-1.s3.eu-west-1.amazonaws.com/latest/manifest.json.sha512"
        )
    );
    // An S3 endpoint serves both buckets: one host.
    let t = Targets::new("eu-west-1", None, Some("https://s3.corp.example"));
    assert_eq!(t.s3_hash_url, None);
    let t = Targets::new("xx-nowhere-1", None, None);
    assert_eq!(t.s3_hash_url, None);
    assert!(
        t.s3_url
            .unwrap_err()
            .starts_with("Bad or unsupported region 'xx-nowhere-1'")
    );
}

/// The recovery instance the TCP 1500 checks name.
const RI: &str = "i-0123456789abcdef0";

#[tokio::test]
async fn tcp_1500_is_tried_at_the_private_ip_when_use_private_ip_says_so() {
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let ips = vec!["127.0.0.1".to_owned()];
    let t = Duration::from_secs(2);
    let c = preflight::replication_port(RI, Ok(true), &ips, true, port, t).await;
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(
        c.measured.starts_with("connected in ")
            && c.measured.ends_with(&format!(
                " ms to 127.0.0.1:{port} (private IP, as usePrivateIP says)"
            )),
        "{c:?}"
    );

    drop(open);
    let c = preflight::replication_port(RI, Ok(true), &ips, true, port, t).await;
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(c.measured.contains("refused"), "{c:?}");
    assert_eq!(
        c.fix.as_deref(),
        Some(
            "Open TCP 1500 from this machine to the recovery instance (its security group, and \
             the VPN or Direct Connect route for a private IP)."
        )
    );

    // Not readable, or the public IP (which DRS does not report): said, never guessed.
    let denied = Err("these credentials may not call GetFailbackReplicationConfiguration".into());
    let c = preflight::replication_port(RI, denied, &ips, true, port, t).await;
    assert_eq!(c.verdict, Verdict::Warning);
    assert_eq!(
        c.measured,
        "not checked: usePrivateIP unknown (these credentials may not call \
         GetFailbackReplicationConfiguration), so not whether the private or the public address \
         is used"
    );
    assert_eq!(
        c.fix.as_deref(),
        Some(
            "Check by hand that TCP 1500 answers from this machine at i-0123456789abcdef0's \
             private IP (over the VPN or Direct Connect) or its public IP, whichever its failback \
             replication settings in the DRS console use (e.g. nc -vz <address> 1500)."
        )
    );
    // The public IP: DRS lists only the addresses on the instance's own interfaces.
    let c = preflight::replication_port(RI, Ok(false), &ips, true, port, t).await;
    assert_eq!(c.verdict, Verdict::Warning);
    assert_eq!(
        c.measured,
        "not checked: usePrivateIP is off: the public IP is used, which DRS does not report \
         (EC2 keeps it)"
    );
    assert_eq!(
        c.fix.as_deref(),
        Some(
            "Find i-0123456789abcdef0's public IPv4 address in the EC2 console and check by hand \
             that TCP 1500 answers there from this machine (e.g. nc -vz <address> 1500); its \
             security group must admit this machine's public address."
        )
    );
    let c = preflight::replication_port(RI, Ok(true), &[], true, port, t).await;
    assert_eq!(
        c.measured,
        "not checked: usePrivateIP is on, but DRS reports no private IP for it"
    );
    assert!(
        c.fix
            .as_deref()
            .unwrap()
            .starts_with("Find i-0123456789abcdef0's private IP"),
        "{c:?}"
    );
    // The demo does not try (the emulator runs no agent), and says so.
    let c = preflight::replication_port(RI, Ok(true), &ips, false, 1500, t).await;
    assert_eq!(c.verdict, Verdict::Warning);
    assert!(c.measured.starts_with("demo: 127.0.0.1:1500"), "{c:?}");
    let c = preflight::replication_port(RI, Ok(false), &ips, false, 1500, t).await;
    assert_eq!(
        c.measured,
        "demo: not tried, the emulator runs no replication agent (usePrivateIP is off: the \
         public IP is used, which DRS does not report (EC2 keeps it))"
    );
}

/// S3_ENDPOINT given as an IP is checked where the download goes: S3's regional name,
/// resolved to that address (here a listener that is not TLS, so the check gets as far as TLS).
#[tokio::test]
async fn an_s3_endpoint_given_as_an_ip_is_checked_under_s3s_regional_name() {
    let listener = TcpListener::bind(SocketAddr::from(LOOPBACK)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let emu = emulator_with(|_| {}).await;
    let (_ntp, ntp) = silent_ntp().await;
    let t = targets(
        &emu.endpoint(),
        Some(&addr.to_string()),
        vec![ntp],
        Duration::from_secs(2),
    );
    assert_eq!(
        t.s3_url.as_deref().unwrap().split('/').nth(2),
        Some(format!("s3.us-east-1.amazonaws.com:{}", addr.port()).as_str())
    );
    let s3 = row(&run(&t).await, "s3").clone();
    assert!(
        s3.measured.starts_with(&format!(
            "s3.us-east-1.amazonaws.com:{}: TLS failed",
            addr.port()
        )),
        "{s3:?}"
    );
}
