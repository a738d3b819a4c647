//! The Network screen's plan applied for real, never to this machine's own interfaces: each test
//! makes two network namespaces joined by two veth pairs, runs dnsmasq (DHCP) on the far end and
//! systemd-networkd with its own D-Bus on the near end (in their own mount namespace, over the
//! test's unit directory), and lets `netconfig::System` write units, reconfigure, check and
//! revert. Without root, namespaces, dnsmasq, D-Bus or systemd-networkd they say so and pass.

mod common;

use common::command::run;
use drs_failback::domain::network::{
    Addressing, InterfacePlan, NetworkPlan, ProxyPlan, S3Plan, S3Target, static_address,
};
use drs_failback::netconfig::System;
use drs_failback::netconfig::interfaces::Interface;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;

const NETWORKD: &str = "/lib/systemd/systemd-networkd";
const LAN: &str = "lan0";
/// A second interface the plans never name: what happens to it is the point of one test.
const OTHER: &str = "lan1";

/// Why these tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for tool in ["dnsmasq", "unshare", "nsenter", "dbus-daemon", "networkctl"] {
        if run("sh", &["-c", &format!("command -v {tool}")]).is_err() {
            return Some(format!(
                "{tool} is missing (apt-get install dnsmasq-base util-linux dbus-daemon systemd)"
            ));
        }
    }
    if !Path::new(NETWORKD).exists() {
        return Some(format!("{NETWORKD} is missing"));
    }
    let probe = format!("drsprobe{}", std::process::id());
    if let Err(e) = run("ip", &["netns", "add", &probe]) {
        return Some(format!("network namespaces are not available: {e}"));
    }
    let _ = run("ip", &["netns", "del", &probe]);
    None
}

macro_rules! skip_unless_available {
    () => {
        if let Some(why) = unavailable() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

/// Waits for a condition on a real process's doing, up to 30 s.
fn wait_for(what: &str, ok: impl Fn() -> bool) {
    common::until(what, Duration::from_secs(30), ok)
}

/// Two namespaces (`near` with lan0 and lan1, `far` with sw0 at 10.77.0.1/24 and sw1 at
/// 10.77.1.1/24), a D-Bus system bus and networkd on the near side in a mount namespace of their
/// own (`anchor` is the bus's pid), dnsmasq on the far side when asked. Everything goes when it
/// is dropped.
struct Lab {
    near: String,
    far: String,
    dir: tempfile::TempDir,
    anchor: Option<Child>,
    networkd: Option<Child>,
    dnsmasq: Option<Child>,
}

impl Lab {
    fn new(tag: &str, dhcp_server: bool) -> Lab {
        let id = std::process::id();
        let mut lab = Lab {
            near: format!("drsnet-{id}-{tag}-near"),
            far: format!("drsnet-{id}-{tag}-far"),
            dir: tempfile::tempdir().unwrap(),
            anchor: None,
            networkd: None,
            dnsmasq: None,
        };
        for ns in [&lab.near, &lab.far] {
            run("ip", &["netns", "add", ns]).unwrap();
        }
        for (near, far, net) in [(LAN, "sw0", 0), (OTHER, "sw1", 1)] {
            run(
                "ip",
                &[
                    "link", "add", near, "netns", &lab.near, "type", "veth", "peer", "name", far,
                    "netns", &lab.far,
                ],
            )
            .unwrap();
            for args in [
                format!("addr add 10.77.{net}.1/24 dev {far}"),
                format!("link set {far} up"),
                "link set lo up".into(),
            ] {
                let mut full = vec!["-n", lab.far.as_str()];
                full.extend(args.split(' '));
                run("ip", &full).unwrap();
            }
        }
        for sub in ["net", "empty"] {
            std::fs::create_dir(lab.dir.path().join(sub)).unwrap();
        }
        if dhcp_server {
            let leases = lab.dir.path().join("leases");
            lab.dnsmasq = Some(
                Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &lab.far,
                        "dnsmasq",
                        "--no-daemon",
                        "--port=0",
                    ])
                    .args([
                        "--interface=sw0",
                        "--interface=sw1",
                        "--bind-interfaces",
                        "--conf-file=/dev/null",
                        "--log-dhcp",
                    ])
                    .arg("--dhcp-range=10.77.0.50,10.77.0.60,1h")
                    .arg("--dhcp-range=10.77.1.50,10.77.1.60,1h")
                    .arg(format!("--dhcp-leasefile={}", leases.display()))
                    .arg(format!("--log-facility={}", lab.dhcp_log().display()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        // The bus and networkd share a mount namespace with their own /run over the lab's unit
        // directory; udev's wait is skipped by a read-only /sys, as in a container.
        let d = lab.dir.path().display();
        let setup = format!(
            "mount -t tmpfs -o mode=0755 tmpfs /run &&
             mkdir -p /run/systemd/network /run/systemd/netif /run/dbus &&
             chown systemd-network:systemd-network /run/systemd/netif 2>/dev/null;
             mount --bind {d}/net /run/systemd/network &&
             mount --bind {d}/empty /etc/systemd/network &&
             mount --bind {d}/empty /usr/lib/systemd/network &&
             mount -o remount,bind,ro /sys &&
             exec dbus-daemon --system --nofork --nopidfile"
        );
        lab.anchor = Some(
            Command::new("ip")
                .args([
                    "netns", "exec", &lab.near, "unshare", "-m", "sh", "-c", &setup,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let socket = lab.in_namespace_path("/run/dbus/system_bus_socket");
        wait_for("the lab's D-Bus listens", || socket.exists());
        lab
    }

    fn dhcp_log(&self) -> PathBuf {
        self.dir.path().join("dhcp.log")
    }

    /// How many leases dnsmasq has acknowledged on `far` (sw0, sw1) so far.
    fn acks(&self, far: &str) -> usize {
        std::fs::read_to_string(self.dhcp_log())
            .unwrap_or_default()
            .matches(&format!("DHCPACK({far})"))
            .count()
    }

    fn anchor_pid(&self) -> String {
        self.anchor.as_ref().unwrap().id().to_string()
    }

    /// `path` as the lab's bus and networkd see it.
    fn in_namespace_path(&self, path: &str) -> PathBuf {
        Path::new("/proc")
            .join(self.anchor_pid())
            .join("root")
            .join(path.trim_start_matches('/'))
    }

    /// `argv` run in the lab's network and mount namespaces.
    fn inside(&self, argv: &[&str]) -> Vec<String> {
        ["nsenter", "-t", &self.anchor_pid(), "-m", "-n"]
            .iter()
            .chain(argv)
            .map(|s| s.to_string())
            .collect()
    }

    fn system(&self, settle: Duration) -> System {
        System {
            prefix: ["ip", "netns", "exec", &self.near]
                .map(String::from)
                .to_vec(),
            networkd_dir: self.dir.path().join("net"),
            reload: self.inside(&["networkctl", "reload"]),
            reconfigure: self.inside(&["networkctl", "reconfigure"]),
            hosts_file: self.dir.path().join("hosts"),
            settle,
        }
    }

    /// The lab's "image" configuration for `interface`.
    fn image_unit(&self, interface: &str, network_section: &str) {
        std::fs::write(
            self.dir
                .path()
                .join(format!("net/80-lab-{interface}.network")),
            format!("[Match]\nName={interface}\n\n[Network]\n{network_section}"),
        )
        .unwrap();
    }

    /// The lab's "image" configuration for lan0, and networkd started on it.
    fn baseline(&mut self, network_section: &str) {
        self.image_unit(LAN, network_section);
        let log = std::fs::File::create(self.dir.path().join("networkd.log")).unwrap();
        let argv = self.inside(&[NETWORKD]);
        self.networkd = Some(
            Command::new(&argv[0])
                .args(&argv[1..])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    /// networkd's own word on `interface`: `configured` once it is done with it.
    fn setup_state(&self, interface: &str) -> String {
        let argv = self.inside(&["networkctl", "list", "--no-legend", interface]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run(argv[0], &argv[1..])
            .unwrap_or_default()
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned()
    }

    fn unit(&self) -> PathBuf {
        self.dir.path().join("net/10-drs-failback-lan0.network")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("networkd.log")).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in [&mut self.networkd, &mut self.anchor, &mut self.dnsmasq] {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for ns in [&self.near, &self.far] {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

fn lan(ifs: &[Interface]) -> &Interface {
    ifs.iter().find(|i| i.name == LAN).expect("lan0 is listed")
}

fn routable(i: &Interface) -> Vec<(String, u8, bool)> {
    i.routable()
        .map(|a| (a.ip.to_string(), a.prefix, a.dynamic))
        .collect()
}

/// Waits for networkd (a real process) to reach a state, up to 30 s.
async fn until(system: &System, what: &str, ok: impl Fn(&Interface) -> bool) -> Interface {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ifs = system.interfaces().await.unwrap();
        if ok(lan(&ifs)) {
            return lan(&ifs).clone();
        }
        assert!(Instant::now() < deadline, "{what}: {:?}", lan(&ifs));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn leased(i: &Interface) -> bool {
    i.routable().any(|a| a.dynamic && a.ip.is_ipv4())
}

fn static_plan(address: &str) -> NetworkPlan {
    NetworkPlan {
        interfaces: vec![InterfacePlan {
            interface: LAN.into(),
            addressing: Addressing::Static(
                static_address(address, "255.255.255.0", "10.77.0.1", "10.77.0.1").unwrap(),
            ),
        }],
        ..NetworkPlan::default()
    }
}

fn dhcp_plan() -> NetworkPlan {
    NetworkPlan {
        interfaces: vec![InterfacePlan {
            interface: LAN.into(),
            addressing: Addressing::Dhcp {
                v4: true,
                v6: false,
            },
        }],
        ..NetworkPlan::default()
    }
}

#[tokio::test]
async fn static_address_replaces_the_lease_and_revert_brings_the_lease_back() {
    skip_unless_available!();
    let mut lab = Lab::new("st", true);
    let system = lab.system(Duration::from_secs(30));
    lab.baseline("DHCP=ipv4\n");
    let before = until(&system, "the baseline lease", leased).await;
    assert_eq!(before.mac.len(), 17);
    assert_eq!(before.driver.as_deref(), Some("veth"));
    assert_eq!(before.speed_mbps, Some(10000));
    assert!(before.carrier);

    let applied = system.apply(&static_plan("10.77.0.200")).await;
    assert!(applied.ok(), "{:?}\n{}", applied.lines, lab.log());
    assert_eq!(applied.lines[0].what, LAN);
    assert_eq!(
        applied.lines[0].text,
        "10.77.0.200/24 (static), gateway 10.77.0.1"
    );
    let unit = std::fs::read_to_string(lab.unit()).unwrap();
    assert!(unit.contains("Address=10.77.0.200/24\nGateway=10.77.0.1\nDNS=10.77.0.1\n"));
    let now = lan(&system.interfaces().await.unwrap()).clone();
    assert_eq!(routable(&now), vec![("10.77.0.200".to_string(), 24, false)]);

    let lines = system.revert(applied.snapshot).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}\n{}", lab.log());
    assert!(!lab.unit().exists(), "the unit is removed");
    let after = lan(&system.interfaces().await.unwrap()).clone();
    assert_eq!(routable(&after), routable(&before));
    assert_eq!(
        lines.last().unwrap().text,
        format!(
            "back to {}/24 (lease)",
            before.routable().next().unwrap().ip
        )
    );
}

#[tokio::test]
async fn applying_and_reverting_one_interface_leaves_the_other_interfaces_lease_alone() {
    skip_unless_available!();
    let mut lab = Lab::new("ot", true);
    let system = lab.system(Duration::from_secs(30));
    lab.image_unit(OTHER, "DHCP=ipv4\n");
    lab.baseline("DHCP=ipv4\n");
    until(&system, "the baseline lease", leased).await;
    let other_done = || lab.setup_state(OTHER) == "configured" && lab.acks("sw1") > 0;
    wait_for("lan1's baseline lease", other_done);
    let other = |ifs: &[Interface]| {
        routable(
            ifs.iter()
                .find(|i| i.name == OTHER)
                .expect("lan1 is listed"),
        )
    };
    let before = other(&system.interfaces().await.unwrap());
    let acks = lab.acks("sw1");

    let applied = system.apply(&static_plan("10.77.0.200")).await;
    assert!(applied.ok(), "{:?}\n{}", applied.lines, lab.log());
    let lines = system.revert(applied.snapshot).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}\n{}", lab.log());

    // Had networkd started lan1 over, it would say so only once lan1 had a lease again.
    wait_for("networkd done with lan1", other_done);
    assert_eq!(
        lab.acks("sw1"),
        acks,
        "lan1 asked for its lease again:\n{}",
        std::fs::read_to_string(lab.dhcp_log()).unwrap_or_default()
    );
    assert_eq!(other(&system.interfaces().await.unwrap()), before);
}

#[tokio::test]
async fn dhcp_gets_a_lease_from_dnsmasq_and_revert_restores_the_static_address() {
    skip_unless_available!();
    let mut lab = Lab::new("dh", true);
    let system = lab.system(Duration::from_secs(30));
    lab.baseline("Address=10.77.0.9/24\n");
    until(&system, "the baseline address", |i| {
        routable(i) == vec![("10.77.0.9".to_string(), 24, false)]
    })
    .await;

    let applied = system.apply(&dhcp_plan()).await;
    assert!(applied.ok(), "{:?}\n{}", applied.lines, lab.log());
    let now = lan(&system.interfaces().await.unwrap()).clone();
    let lease: Vec<IpAddr> = now.routable().map(|a| a.ip).collect();
    assert_eq!(lease.len(), 1, "{now:?}");
    let IpAddr::V4(v4) = lease[0] else {
        panic!("{now:?}")
    };
    assert!(
        (50..=60).contains(&v4.octets()[3]),
        "from dnsmasq's range: {v4}"
    );
    assert_eq!(
        applied.lines[0].text,
        format!("{v4}/24 (lease) (DHCP), gateway 10.77.0.1"),
        "dnsmasq names itself as the router"
    );

    let lines = system.revert(applied.snapshot).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}\n{}", lab.log());
    assert_eq!(lines.last().unwrap().text, "back to 10.77.0.9/24");
    assert!(!lab.unit().exists());
}

#[tokio::test]
async fn no_dhcp_server_is_reported_and_the_static_address_comes_back() {
    skip_unless_available!();
    let mut lab = Lab::new("nd", false);
    let system = lab.system(Duration::from_secs(3));
    lab.baseline("Address=10.77.0.9/24\n");
    until(&system, "the baseline address", |i| {
        i.routable().count() == 1
    })
    .await;

    let applied = system.apply(&dhcp_plan()).await;
    assert!(!applied.ok());
    assert_eq!(
        applied.lines[0].text,
        "no IPv4 address from DHCP after 3 s; check that a DHCP server answers on this network, \
         or enter a static address."
    );
    let lines = system.revert(applied.snapshot).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}\n{}", lab.log());
}

#[tokio::test]
async fn s3_pin_and_proxy_are_applied_and_reverted_exactly() {
    // Files and this process's settings only: no namespace needed.
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let original = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n";
    std::fs::write(&hosts, original).unwrap();
    let system = System {
        hosts_file: hosts.clone(),
        ..System::live()
    };
    let region = drs_failback::domain::regions::find("us-east-1").unwrap();
    let plan = NetworkPlan {
        interfaces: Vec::new(),
        proxy: Some(ProxyPlan {
            url: "http://proxy.lab:3128".into(),
            no_proxy: Some(".internal".into()),
        }),
        s3: Some(S3Plan::new(
            S3Target::Address("10.77.0.8".parse().unwrap()),
            region,
        )),
    };
    let applied = system.apply(&plan).await;
    assert!(applied.ok(), "{:?}", applied.lines);
    let text = std::fs::read_to_string(&hosts).unwrap();
    assert!(text.starts_with(original));
    assert!(text.contains(&format!(
        "\n10.77.0.8\ts3.us-east-1.amazonaws.com {}.s3.us-east-1.amazonaws.com",
        region.assets_bucket
    )));
    let net = drs_failback::net::NetSettings::from_env();
    assert_eq!(net.https_proxy.as_deref(), Some("http://proxy.lab:3128"));
    assert_eq!(net.no_proxy.as_deref(), Some(".internal"));

    let lines = system.revert(applied.snapshot).await;
    assert!(lines.iter().all(|l| l.ok), "{lines:?}");
    assert_eq!(std::fs::read_to_string(&hosts).unwrap(), original);
    assert_ne!(
        drs_failback::net::NetSettings::from_env()
            .https_proxy
            .as_deref(),
        Some("http://proxy.lab:3128")
    );

    // A block this program cannot delimit is left alone, with a message.
    let broken = format!(
        "{original}# BEGIN drs-failback: S3 endpoint pinned by the Network screen\n1.2.3.4 x\n"
    );
    std::fs::write(&hosts, &broken).unwrap();
    let applied = system
        .apply(&NetworkPlan {
            proxy: None,
            ..plan
        })
        .await;
    assert!(!applied.ok());
    assert!(
        applied.lines[0]
            .text
            .contains("(line 3) without its END line"),
        "{:?}",
        applied.lines
    );
    assert_eq!(std::fs::read_to_string(&hosts).unwrap(), broken);
    assert!(applied.snapshot.is_empty());
}
