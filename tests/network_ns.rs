//! The Network screen's plan applied for real, never to this machine's own interfaces: each test
//! makes two network namespaces joined by a veth pair, runs dnsmasq (DHCP) on the far end and
//! systemd-networkd on the near end (in its own mount namespace, over the test's unit
//! directory), and lets `netconfig::System` write units, restart networkd, check and revert.
//! Without root, namespaces, dnsmasq or systemd-networkd they say so and pass.

mod common;

use common::command::run;
use drs_failback::domain::network::{
    Addressing, InterfacePlan, NetworkPlan, ProxyPlan, S3Plan, S3Target, s3_pinned_hosts,
    static_address,
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

/// Why these tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for tool in ["dnsmasq", "unshare"] {
        if run("sh", &["-c", &format!("command -v {tool}")]).is_err() {
            return Some(format!(
                "{tool} is missing (apt-get install dnsmasq-base util-linux)"
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

/// Two namespaces (`near` with lan0, `far` with sw0 at 10.77.0.1/24), a networkd on the near
/// side, dnsmasq on the far side when asked. Everything goes when it is dropped.
struct Lab {
    near: String,
    far: String,
    dir: tempfile::TempDir,
    dnsmasq: Option<Child>,
}

impl Lab {
    fn new(tag: &str, dhcp_server: bool) -> Lab {
        let id = std::process::id();
        let lab = Lab {
            near: format!("drsnet-{id}-{tag}-near"),
            far: format!("drsnet-{id}-{tag}-far"),
            dir: tempfile::tempdir().unwrap(),
            dnsmasq: None,
        };
        let mut lab = lab;
        for ns in [&lab.near, &lab.far] {
            run("ip", &["netns", "add", ns]).unwrap();
        }
        run(
            "ip",
            &[
                "link", "add", LAN, "netns", &lab.near, "type", "veth", "peer", "name", "sw0",
                "netns", &lab.far,
            ],
        )
        .unwrap();
        for args in [
            "addr add 10.77.0.1/24 dev sw0",
            "link set sw0 up",
            "link set lo up",
        ] {
            let mut full = vec!["-n", lab.far.as_str()];
            full.extend(args.split(' '));
            run("ip", &full).unwrap();
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
                        "--bind-interfaces",
                        "--conf-file=/dev/null",
                    ])
                    .arg("--dhcp-range=10.77.0.50,10.77.0.60,1h")
                    .arg(format!("--dhcp-leasefile={}", leases.display()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        let restart = lab.dir.path().join("restart-networkd");
        std::fs::write(&restart, lab.restart_script()).unwrap();
        lab
    }

    /// What `systemctl restart systemd-networkd` does on the live image, for this lab's networkd:
    /// stop the running one (waiting until it is gone), start one over the lab's unit directory.
    /// udev's wait is skipped by a read-only /sys, as in a container.
    fn restart_script(&self) -> String {
        let d = self.dir.path().display();
        format!(
            r#"#!/bin/sh
pid=$(cat {d}/networkd.pid 2>/dev/null)
if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    while [ -e /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null; do sleep 0.05; done
fi
setsid ip netns exec {ns} unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run &&
    mkdir -p /run/systemd/network /run/systemd/netif &&
    chown systemd-network:systemd-network /run/systemd/netif 2>/dev/null;
    mount --bind {d}/net /run/systemd/network &&
    mount --bind {d}/empty /etc/systemd/network &&
    mount --bind {d}/empty /usr/lib/systemd/network &&
    mount -o remount,bind,ro /sys &&
    exec {NETWORKD}' >>{d}/networkd.log 2>&1 &
echo $! >{d}/networkd.pid
"#,
            ns = self.near
        )
    }

    fn system(&self, settle: Duration) -> System {
        System {
            prefix: ["ip", "netns", "exec", &self.near]
                .map(String::from)
                .to_vec(),
            networkd_dir: self.dir.path().join("net"),
            reload: vec![
                "sh".into(),
                self.dir
                    .path()
                    .join("restart-networkd")
                    .display()
                    .to_string(),
            ],
            hosts_file: self.dir.path().join("hosts"),
            settle,
        }
    }

    /// The lab's "image" configuration for lan0, and networkd started on it.
    fn baseline(&self, network_section: &str) {
        std::fs::write(
            self.dir.path().join("net/80-lab.network"),
            format!("[Match]\nName={LAN}\n\n[Network]\n{network_section}"),
        )
        .unwrap();
        run(
            "sh",
            &[&self
                .dir
                .path()
                .join("restart-networkd")
                .display()
                .to_string()],
        )
        .unwrap();
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
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("networkd.pid")) {
            let _ = run("kill", &[pid.trim()]);
        }
        if let Some(mut child) = self.dnsmasq.take() {
            let _ = child.kill();
            let _ = child.wait();
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
    let lab = Lab::new("st", true);
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
async fn dhcp_gets_a_lease_from_dnsmasq_and_revert_restores_the_static_address() {
    skip_unless_available!();
    let lab = Lab::new("dh", true);
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
    let lab = Lab::new("nd", false);
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
        s3: Some(S3Plan {
            target: S3Target::Address("10.77.0.8".parse().unwrap()),
            hosts: s3_pinned_hosts(region),
        }),
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
