//! Downloading AWS's replication software from the emulator's S3 buckets, as the worker will:
//! hashes, the owner check, the manifest pair out of step, a slow bucket, unreachable S3, a
//! hostile tarball, and the proxy settings (for S3 and for DRS). Loopback only.

mod common;

use common::tls::TestCa;
use drs_failback::drs::{Auth, DrsClient, DrsTarget};
use drs_failback::emulator::{EMULATOR_INSTALLER_VERSION, Emulator};
use drs_failback::failback_software::{
    self, Progress, SoftwareError, SoftwareErrorKind, SoftwareSource,
};
use drs_failback::net::{NetSettings, Network};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

async fn emulator_with(s3_faults: serde_json::Value) -> Emulator {
    common::emulator::emulator_with(|json| json["faults"]["s3"] = s3_faults).await
}

fn source(emu: &Emulator) -> SoftwareSource {
    SoftwareSource::new(&emu.region(), Some(&emu.endpoint())).unwrap()
}

fn direct() -> Network {
    Network::new(NetSettings::default()).unwrap()
}

struct Run {
    result: Result<failback_software::Installed, SoftwareError>,
    progress: Vec<Progress>,
    dir: tempfile::TempDir,
}

async fn install(source: &SoftwareSource, network: &Network) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let result = failback_software::install(source, network, dir.path(), &tx).await;
    drop(tx);
    let mut progress = Vec::new();
    while let Some(p) = rx.recv().await {
        progress.push(p);
    }
    Run {
        result,
        progress,
        dir,
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_software_is_downloaded_verified_and_unpacked() {
    let emu = emulator_with(serde_json::json!({})).await;
    let run = install(&source(&emu), &direct()).await;
    let installed = run.result.unwrap();
    assert_eq!(installed.version, EMULATOR_INSTALLER_VERSION);
    let entry = &installed.unpacked.failback_entry;
    assert_eq!(
        entry,
        &run.dir.path().join("failback_software/failback_entry")
    );
    let mode = std::fs::metadata(entry).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    let script = std::fs::read_to_string(entry).unwrap();
    assert!(
        script.contains("failback-client-standin \"$@\""),
        "{script}"
    );
    assert!(
        installed
            .unpacked
            .jre
            .as_ref()
            .unwrap()
            .join("README")
            .is_file()
    );
    // The tarball is gone once unpacked; nothing half-done is left.
    assert_eq!(listing(run.dir.path()), ["failback_software"]);
    let last = run.progress.last().unwrap();
    assert_eq!(last.file, "failback_assets.tar.gz");
    assert_eq!(Some(last.bytes), last.total);
    assert_eq!(run.progress[0].bytes, 0);
}

#[tokio::test]
async fn a_wrong_hash_is_refused_the_file_deleted_and_nothing_unpacked() {
    let emu = emulator_with(serde_json::json!({"wrong_hash": true})).await;
    let run = install(&source(&emu), &direct()).await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::HashMismatch);
    let key = format!("{EMULATOR_INSTALLER_VERSION}/failback_assets/failback_assets.tar.gz");
    assert!(err.message.contains(&key), "{err}");
    assert!(err.message.contains("it was deleted"), "{err}");
    // Both hashes, whole.
    let hashes: Vec<&str> = err
        .message
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 128)
        .collect();
    assert_eq!(hashes.len(), 2, "{err}");
    assert_ne!(hashes[0], hashes[1]);
    assert!(
        listing(run.dir.path()).is_empty(),
        "{:?}",
        listing(run.dir.path())
    );
}

/// One raw HTTP/1.1 exchange, for what the client never sends.
async fn raw_get(addr: &str, path: &str, extra: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn the_emulator_refuses_a_missing_or_wrong_bucket_owner() {
    let emu = emulator_with(serde_json::json!({})).await;
    let addr = emu.endpoint().trim_start_matches("http://").to_owned();
    let path = "/aws-elastic-disaster-recovery-us-east-1/latest/manifest.json";
    for extra in ["", "x-amz-expected-bucket-owner: 111122223333\r\n"] {
        let answer = raw_get(&addr, path, extra).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(
            answer.contains("<Error><Code>AccessDenied</Code>"),
            "{answer}"
        );
    }
    let owner = drs_failback::domain::regions::find("us-east-1")
        .unwrap()
        .bucket_owner
        .clone();
    let answer = raw_get(
        &addr,
        path,
        &format!("x-amz-expected-bucket-owner: {owner}\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("installerVersion"), "{answer}");
}

#[tokio::test]
async fn a_bucket_of_another_owner_is_refused_and_explained() {
    let emu = emulator_with(serde_json::json!({"bucket_owner": "999988887777"})).await;
    let run = install(&source(&emu), &direct()).await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::AccessDenied);
    let owner = &drs_failback::domain::regions::find("us-east-1")
        .unwrap()
        .bucket_owner;
    for words in [
        "HTTP 403 AccessDenied",
        "x-amz-expected-bucket-owner",
        owner.as_str(),
        "S3_ENDPOINT",
        "latest/manifest.json",
    ] {
        assert!(err.message.contains(words), "{words}: {err}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_manifest_pair_out_of_step_is_retried_until_it_agrees() {
    let emu = emulator_with(serde_json::json!({"manifest_out_of_step_seconds": 12})).await;
    let started = Instant::now();
    let run = install(&source(&emu), &direct()).await;
    run.result.unwrap();
    // Tried at 0, 5 and 10 s while out of step; agreed at 15 s.
    assert_eq!(started.elapsed().as_secs(), 15);
}

#[tokio::test(start_paused = true)]
async fn a_manifest_pair_that_never_agrees_gives_up_after_a_minute() {
    let emu = emulator_with(serde_json::json!({"manifest_out_of_step_seconds": 3600})).await;
    let started = Instant::now();
    let run = install(&source(&emu), &direct()).await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::ManifestOutOfStep);
    assert_eq!(started.elapsed().as_secs(), 60);
    assert!(err.message.contains("still disagree after 60 s"), "{err}");
    assert!(err.message.contains("retry in a few minutes"), "{err}");
    assert!(listing(run.dir.path()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_slow_bucket_reports_growing_progress() {
    let emu = emulator_with(serde_json::json!({"bytes_per_second": 100})).await;
    let run = install(&source(&emu), &direct()).await;
    run.result.unwrap();
    let p = &run.progress;
    assert!(p.len() >= 3, "{p:?}");
    assert!(p.windows(2).all(|w| w[0].bytes < w[1].bytes), "{p:?}");
    let total = p[0].total.unwrap();
    assert!(p.iter().all(|e| e.total == Some(total)));
    assert_eq!(p.last().unwrap().bytes, total);
    // Rate and ETA once two samples exist.
    let mid = &p[p.len() / 2];
    let rate = mid.bytes_per_second.unwrap();
    assert!(rate > 0.0, "{mid:?}");
    let remaining = (total - mid.bytes) as f64;
    assert_eq!(mid.eta_seconds, Some((remaining / rate).ceil() as u64));
}

#[tokio::test]
async fn an_unknown_region_is_refused_with_the_known_ones() {
    let source = SoftwareSource::new("xx-nowhere-1", None).unwrap();
    let err = install(&source, &direct()).await.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::UnknownRegion);
    assert!(
        err.message
            .starts_with("Bad or unsupported region 'xx-nowhere-1'"),
        "{err}"
    );
    assert!(err.message.contains("eu-west-1"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_with_what_to_open() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let source = SoftwareSource::new("us-east-1", Some(&format!("http://{addr}"))).unwrap();
    let run = install(&source, &direct()).await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::Unreachable);
    assert!(
        err.message.contains(&format!("Cannot reach S3 at {addr}")),
        "{err}"
    );
    assert!(err.message.contains("--s3-endpoint"), "{err}");
    assert!(
        err.message.contains(&format!("open TCP to {addr}")),
        "{err}"
    );
}

/// What a test proxy saw: each request line.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

/// A forward proxy on loopback: CONNECT is refused (there is no internet to tunnel to);
/// absolute-form requests are forwarded one per connection.
async fn proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let record = record.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_head(&mut client).await else {
                    return;
                };
                let line = head.lines().next().unwrap_or_default().to_owned();
                record.0.lock().unwrap().push(line.clone());
                let mut words = line.split_whitespace();
                let (method, target) = (words.next().unwrap(), words.next().unwrap());
                if method == "CONNECT" {
                    let refusal = "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n";
                    let _ = client.write_all(refusal.as_bytes()).await;
                    return;
                }
                let rest = target.strip_prefix("http://").expect("absolute-form");
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let mut upstream = TcpStream::connect(authority).await.unwrap();
                let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
                for header in head.lines().skip(1).filter(|l| !l.is_empty()) {
                    let name = header.split(':').next().unwrap_or("").to_ascii_lowercase();
                    if name != "connection" && !name.starts_with("proxy-") {
                        forwarded.push_str(header);
                        forwarded.push_str("\r\n");
                    }
                }
                forwarded.push_str("connection: close\r\n\r\n");
                upstream.write_all(forwarded.as_bytes()).await.unwrap();
                upstream.write_all(&body).await.unwrap();
                let mut answer = Vec::new();
                upstream.read_to_end(&mut answer).await.unwrap();
                let _ = client.write_all(&answer).await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn plain_http_goes_through_http_proxy_as_absolute_form_requests() {
    let emu = emulator_with(serde_json::json!({})).await;
    let (proxy_url, seen) = proxy().await;
    let network = Network::new(NetSettings {
        http_proxy: Some(proxy_url),
        ..NetSettings::default()
    })
    .unwrap();
    let run = install(&source(&emu), &network).await;
    run.result.unwrap();
    let lines = seen.lines();
    let base = emu.endpoint();
    let key = format!("{EMULATOR_INSTALLER_VERSION}/failback_assets/failback_assets.tar.gz");
    let expected = [
        format!("GET {base}/aws-elastic-disaster-recovery-us-east-1/latest/manifest.json HTTP/1.1"),
        format!(
            "GET {base}/aws-elastic-disaster-recovery-hashes-us-east-1/latest/manifest.json.sha512 HTTP/1.1"
        ),
        format!("GET {base}/aws-elastic-disaster-recovery-hashes-us-east-1/{key}.sha512 HTTP/1.1"),
        format!("GET {base}/aws-elastic-disaster-recovery-us-east-1/{key} HTTP/1.1"),
    ];
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn https_to_s3_tunnels_through_https_proxy_and_falls_back_to_dual_stack() {
    let (proxy_url, seen) = proxy().await;
    let network = Network::new(NetSettings {
        https_proxy: Some(proxy_url.clone()),
        ..NetSettings::default()
    })
    .unwrap();
    let source = SoftwareSource::new("eu-west-1", None).unwrap();
    let run = install(&source, &network).await;
    let err = run.result.unwrap_err();
    let regional = "aws-elastic-disaster-recovery-eu-west-1.s3.eu-west-1.amazonaws.com";
    let dual = "aws-elastic-disaster-recovery-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com";
    assert_eq!(
        seen.lines(),
        [
            format!("CONNECT {regional}:443 HTTP/1.1"),
            format!("CONNECT {dual}:443 HTTP/1.1"),
        ]
    );
    assert_eq!(err.kind, SoftwareErrorKind::Unreachable);
    assert!(
        err.message
            .contains(&format!("Cannot reach S3 at {regional} or {dual}")),
        "{err}"
    );
    assert!(
        err.message.contains(&format!("HTTPS_PROXY={proxy_url}")),
        "{err}"
    );
    assert!(err.message.contains("NO_PROXY"), "{err}");
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let emu = emulator_with(serde_json::json!({})).await;
    let (proxy_url, seen) = proxy().await;
    let network = Network::new(NetSettings {
        http_proxy: Some(proxy_url.clone()),
        https_proxy: Some(proxy_url),
        no_proxy: Some("localhost,127.0.0.1".into()),
        ca_bundle: None,
    })
    .unwrap();
    let run = install(&source(&emu), &network).await;
    run.result.unwrap();
    assert_eq!(seen.lines(), Vec::<String>::new());
}

#[tokio::test]
async fn drs_calls_take_the_same_proxy_settings() {
    let emu = emulator_with(serde_json::json!({})).await;
    let (proxy_url, seen) = proxy().await;
    let network = Network::new(NetSettings {
        http_proxy: Some(proxy_url),
        ..NetSettings::default()
    })
    .unwrap();
    let target = DrsTarget {
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        auth: Auth::Static(emu.credentials()[0].credentials.clone()),
    };
    let client = DrsClient::connect_via(&target, &network).await.unwrap();
    client.verify().await.unwrap();
    assert_eq!(
        seen.lines(),
        [format!(
            "POST {}/DescribeRecoveryInstances HTTP/1.1",
            emu.endpoint()
        )]
    );
}

// ---- hostile or broken tarballs ----

enum Item<'a> {
    File(&'a str, u32, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// A tar.gz written header by header: tar::Builder itself refuses `..`, so names are set raw.
fn tarball(dir: &Path, items: &[Item]) -> std::path::PathBuf {
    let path = dir.join("failback_assets.tar.gz");
    let file = std::fs::File::create(&path).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    for item in items {
        let mut header = tar::Header::new_gnu();
        let (name, data): (&str, &[u8]) = match item {
            Item::File(name, mode, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                (name, data)
            }
            Item::Dir(name) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (name, b"")
            }
            Item::Symlink(name, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_link_name(target).unwrap();
                (name, b"")
            }
        };
        let raw = &mut header.as_gnu_mut().unwrap().name;
        raw.fill(0);
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
    path
}

fn refused(items: &[Item], words: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tar = tarball(dir.path(), items);
    let dest = dir.path().join("failback_software");
    let err = failback_software::unpack(&tar, &dest).unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::BadArchive, "{err}");
    assert!(err.message.contains(words), "{words}: {err}");
    assert!(err.message.contains("Nothing was unpacked"), "{err}");
    assert_eq!(listing(dir.path()), ["failback_assets.tar.gz"]);
}

const ENTRY: Item = Item::File("failback_entry", 0o755, b"#!/bin/sh\n");

#[test]
fn entries_that_escape_the_directory_are_refused() {
    refused(
        &[ENTRY, Item::File("../escaped", 0o644, b"x")],
        "entry '../escaped' would be written outside",
    );
    refused(
        &[ENTRY, Item::File("jre/../../escaped", 0o644, b"x")],
        "entry 'jre/../../escaped' would be written outside",
    );
    refused(
        &[ENTRY, Item::File("/tmp/escaped", 0o644, b"x")],
        "entry '/tmp/escaped' would be written outside",
    );
    refused(
        &[ENTRY, Item::Symlink("jre", "/usr/lib/jvm")],
        "entry 'jre' links to '/usr/lib/jvm', outside",
    );
    refused(
        &[ENTRY, Item::Dir("jre/"), Item::Symlink("jre/up", "../..")],
        "entry 'jre/up' links to '../..', outside",
    );
    // Each link looks inside on its own; together they lead out.
    refused(
        &[ENTRY, Item::Symlink("a", "b/.."), Item::Symlink("b", ".")],
        "entry 'a' links outside",
    );
}

#[test]
fn a_tarball_without_an_executable_failback_entry_says_so() {
    refused(
        &[Item::Dir("jre/"), Item::File("README", 0o644, b"x")],
        "holds no failback_entry at its top (it holds: README, jre)",
    );
    refused(
        &[Item::File("failback_entry", 0o644, b"#!/bin/sh\n")],
        "its failback_entry is not executable",
    );
}

#[test]
fn a_good_tarball_replaces_an_earlier_unpacking() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("failback_software");
    std::fs::create_dir_all(dest.join("old")).unwrap();
    let tar = tarball(
        dir.path(),
        &[
            Item::Dir("./jre/"),
            Item::File("./jre/release", 0o644, b"JAVA_VERSION=17"),
            Item::Symlink("./jre/current", "release"),
            Item::File("./failback_entry", 0o6777, b"#!/bin/sh\n"),
        ],
    );
    let unpacked = failback_software::unpack(&tar, &dest).unwrap();
    assert_eq!(unpacked.failback_entry, dest.join("failback_entry"));
    assert_eq!(unpacked.jre, Some(dest.join("jre")));
    assert_eq!(listing(&dest), ["failback_entry", "jre"]);
    assert_eq!(
        std::fs::read_to_string(dest.join("jre/current")).unwrap(),
        "JAVA_VERSION=17"
    );
    // Executable, but neither set-id nor writable by others.
    let mode = std::fs::metadata(&unpacked.failback_entry)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755, "{mode:o}");
}

// ---- AWS_CA_BUNDLE ----

/// A test CA for the emulator's TLS front on 127.0.0.1.
fn local_ca() -> TestCa {
    TestCa::new("drs-failback test CA", &["localhost", "127.0.0.1"])
}

/// A TLS front for the emulator on 127.0.0.1, presenting `ca`'s server certificate. Returns
/// its https:// URL.
async fn tls_front(emu: &Emulator, ca: &TestCa) -> String {
    let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let upstream = emu.endpoint().trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                // A client that does not trust the CA gives up in the handshake.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    url
}

fn with_ca(ca: &TestCa) -> Network {
    Network::new(NetSettings {
        ca_bundle: Some(ca.ca_file()),
        ..NetSettings::default()
    })
    .unwrap()
}

/// The livecd pins an S3_ENDPOINT given as an IP in DNS for s3.<region>.amazonaws.com: the
/// endpoint's certificate names that host, never the address.
#[tokio::test]
async fn an_s3_endpoint_given_as_an_ip_is_reached_under_s3s_regional_name() {
    let emu = emulator_with(serde_json::json!({})).await;
    assert_eq!(emu.region(), "us-east-1");
    let ca = TestCa::new(
        "drs-failback test CA for S3 names",
        &["s3.us-east-1.amazonaws.com"],
    );
    let url = tls_front(&emu, &ca).await;
    // As S3_ENDPOINT holds it: no scheme, the address (and here a port).
    let ip = url.trim_start_matches("https://");
    let source = SoftwareSource::new(&emu.region(), Some(ip)).unwrap();
    install(&source, &with_ca(&ca)).await.result.unwrap();
    // What it does when the certificate is not trusted names both the host and the address.
    let err = install(&source, &direct()).await.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::Tls, "{err}");
    let port = ip.rsplit(':').next().unwrap();
    assert!(
        err.message.contains(&format!(
            "S3 at s3.us-east-1.amazonaws.com:{port} (S3_ENDPOINT's 127.0.0.1)"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_private_ca_in_aws_ca_bundle_is_trusted_for_s3() {
    let emu = emulator_with(serde_json::json!({})).await;
    let ca = local_ca();
    let url = tls_front(&emu, &ca).await;
    let source = SoftwareSource::new(&emu.region(), Some(&url)).unwrap();
    install(&source, &with_ca(&ca)).await.result.unwrap();

    let err = install(&source, &direct()).await.result.unwrap_err();
    assert_eq!(err.kind, SoftwareErrorKind::Tls, "{err}");
    let host = url.trim_start_matches("https://");
    assert!(
        err.message
            .contains(&format!("secure connection to S3 at {host} failed")),
        "{err}"
    );
    assert!(err.message.contains("no AWS_CA_BUNDLE is set"), "{err}");
    assert!(
        err.message
            .contains("set AWS_CA_BUNDLE to its CA certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_private_ca_in_aws_ca_bundle_is_trusted_for_drs() {
    let emu = emulator_with(serde_json::json!({})).await;
    let ca = local_ca();
    let target = DrsTarget {
        region: emu.region(),
        endpoint: Some(tls_front(&emu, &ca).await),
        auth: Auth::Static(emu.credentials()[0].credentials.clone()),
    };
    let trusted = DrsClient::connect_via(&target, &with_ca(&ca))
        .await
        .unwrap();
    trusted.verify().await.unwrap();
    let untrusted = DrsClient::connect_via(&target, &direct()).await.unwrap();
    let err = untrusted.verify().await.unwrap_err();
    assert_eq!(err.kind, drs_failback::drs::DrsErrorKind::Tls, "{err}");
}
