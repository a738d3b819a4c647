//! The live system's network: its interfaces, and a Network screen plan applied with the tools
//! the live image has (systemd-networkd units and networkctl; iproute2 to read the result),
//! checked at once, and reverted on request. Only tasks call this; `update` never does.

pub mod interfaces;

use crate::domain::network::{
    Addressing, InterfacePlan, NetworkPlan, ProxyPlan, S3Pin, S3Target, hosts_with_block,
    hosts_with_pin, networkd_file_name, networkd_unit, split_hosts,
};
use interfaces::{Address, Interface};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;
use tokio::time::Instant;

/// Where the plan is written and how networkd is told (paths and commands injectable for tests).
#[derive(Debug, Clone)]
pub struct System {
    /// Put before every `ip`/`cat`/`readlink` (tests: `ip netns exec <ns>`).
    pub prefix: Vec<String>,
    /// networkd's runtime unit directory.
    pub networkd_dir: PathBuf,
    /// Makes networkd read its units again without touching any interface.
    pub reload: Vec<String>,
    /// Makes networkd apply its units to the interfaces named after it, and to those only: a
    /// restart would renew every interface's lease.
    pub reconfigure: Vec<String>,
    pub hosts_file: PathBuf,
    /// How long a lease or an address may take to show after a reload.
    pub settle: Duration,
}

impl System {
    /// The live image: networkctl (over D-Bus), /etc/hosts, and the official client's 30 s
    /// DHCP wait.
    pub fn live() -> System {
        System {
            prefix: Vec::new(),
            networkd_dir: "/run/systemd/network".into(),
            reload: ["networkctl", "reload"].map(String::from).to_vec(),
            reconfigure: ["networkctl", "reconfigure"].map(String::from).to_vec(),
            hosts_file: "/etc/hosts".into(),
            settle: Duration::from_secs(30),
        }
    }

    async fn exec(&self, argv: &[String]) -> Result<String, String> {
        let (program, args) = argv.split_first().ok_or("no command")?;
        let out = Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("{program} could not be started ({e})"))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed: {}",
                argv.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let argv: Vec<String> = self
            .prefix
            .iter()
            .cloned()
            .chain(args.iter().map(|s| s.to_string()))
            .collect();
        self.exec(&argv).await
    }

    /// Every interface but loopback, with driver and speed where sysfs knows them.
    pub async fn interfaces(&self) -> Result<Vec<Interface>, String> {
        let mut list =
            interfaces::parse_ip_addr(&self.run(&["ip", "-j", "-d", "addr", "show"]).await?)?;
        for i in &mut list {
            let sys = format!("/sys/class/net/{}", i.name);
            i.speed_mbps = match self.run(&["cat", &format!("{sys}/speed")]).await {
                Ok(text) => interfaces::parse_speed(&text),
                Err(_) => None,
            };
            if let Ok(link) = self
                .run(&["readlink", &format!("{sys}/device/driver")])
                .await
            {
                if let Some(name) = link.trim().rsplit('/').next().filter(|n| !n.is_empty()) {
                    i.driver = Some(name.to_owned());
                }
            }
        }
        Ok(list)
    }

    async fn gateways(&self, interface: &str) -> Vec<IpAddr> {
        let mut all = Vec::new();
        for family in ["-4", "-6"] {
            if let Ok(json) = self
                .run(&[
                    "ip", "-j", family, "route", "show", "default", "dev", interface,
                ])
                .await
            {
                all.extend(interfaces::parse_default_routes(&json).unwrap_or_default());
            }
        }
        all
    }

    fn unit_path(&self, interface: &str) -> PathBuf {
        self.networkd_dir.join(networkd_file_name(interface))
    }

    /// Writes the plan, tells networkd, waits (up to `settle`) for the result and says what it
    /// found. Whatever happens, the returned snapshot reverts what was written.
    pub async fn apply(&self, plan: &NetworkPlan) -> Applied {
        let mut snapshot = Snapshot::default();
        let mut lines = Vec::new();
        if !plan.interfaces.is_empty() {
            let before = self.interfaces().await.unwrap_or_default();
            for p in &plan.interfaces {
                let addresses = before
                    .iter()
                    .find(|i| i.name == p.interface)
                    .map(|i| i.routable().copied().collect())
                    .unwrap_or_default();
                snapshot.addresses.push((p.interface.clone(), addresses));
            }
            match self.write_units(&plan.interfaces, &mut snapshot).await {
                Ok(()) => lines.extend(self.settle_on(&plan.interfaces).await),
                Err(e) => lines.push(Line::bad("networkd", e)),
            }
        }
        if let Some(s3) = &plan.s3 {
            lines.push(
                match self.pin_s3(&s3.target, &s3.hosts, &mut snapshot).await {
                    Ok(pin) => Line::good(
                        "S3",
                        format!(
                            "{} pinned to {} in {}",
                            pin.hosts.join(", "),
                            pin.address,
                            self.hosts_file.display()
                        ),
                    ),
                    Err(e) => Line::bad("S3", e),
                },
            );
        }
        if let Some(proxy) = &plan.proxy {
            snapshot.proxy = Some(crate::net::set_session_proxy(Some(proxy.clone())));
            lines.push(Line::good(
                "proxy",
                format!(
                    "HTTPS requests go through {}",
                    crate::net::redact_proxy(&proxy.url)
                ),
            ));
        }
        Applied { snapshot, lines }
    }

    async fn write_units(
        &self,
        plans: &[InterfacePlan],
        snapshot: &mut Snapshot,
    ) -> Result<(), String> {
        let dir = &self.networkd_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| format!("{} cannot be created ({e})", dir.display()))?;
        for p in plans {
            let path = self.unit_path(&p.interface);
            let old = tokio::fs::read_to_string(&path).await.ok();
            snapshot.units.push((path.clone(), old));
            tokio::fs::write(&path, networkd_unit(p))
                .await
                .map_err(|e| format!("{} cannot be written ({e})", path.display()))?;
        }
        let names: Vec<&str> = plans.iter().map(|p| p.interface.as_str()).collect();
        self.reconfigure(&names).await
    }

    /// networkd leaves addresses it did not make itself (a lease or an address set by hand) in
    /// place: take them off first, so the interface ends up with its units' only.
    async fn reconfigure(&self, interfaces: &[&str]) -> Result<(), String> {
        // Flushed addresses come back only through the reload: never flush without one.
        let program = self.reload.first().map(String::as_str).unwrap_or_default();
        if !on_path(program) {
            return Err(format!(
                "{program} is missing, so networkd cannot be told about the change; nothing \
                 was taken off the interfaces. Configure the network from a shell (ip addr, \
                 ip route) instead."
            ));
        }
        for name in interfaces {
            self.run(&["ip", "addr", "flush", "dev", name, "scope", "global"])
                .await?;
        }
        self.exec(&self.reload).await?;
        let mut reconfigure = self.reconfigure.clone();
        reconfigure.extend(interfaces.iter().map(|s| s.to_string()));
        self.exec(&reconfigure).await.map(drop)
    }

    /// Polls until every interface shows its plan or `settle` runs out.
    async fn settle_on(&self, plans: &[InterfacePlan]) -> Vec<Line> {
        let deadline = Instant::now() + self.settle;
        loop {
            let now = self.interfaces().await.unwrap_or_default();
            let mut lines = Vec::new();
            for p in plans {
                let gateways = self.gateways(&p.interface).await;
                lines.push(judge(
                    p,
                    now.iter().find(|i| i.name == p.interface),
                    &gateways,
                    self.settle,
                ));
            }
            if lines.iter().all(|l| l.ok) || Instant::now() >= deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn pin_s3(
        &self,
        target: &S3Target,
        hosts: &[String],
        snapshot: &mut Snapshot,
    ) -> Result<S3Pin, String> {
        let address = match target {
            S3Target::Address(ip) => *ip,
            S3Target::Host(name) => {
                let found: Vec<IpAddr> = tokio::net::lookup_host((name.as_str(), 443))
                    .await
                    .map_err(|e| {
                        format!("{name} does not resolve ({e}); enter the endpoint's address instead, or check DNS")
                    })?
                    .map(|a| a.ip())
                    .collect();
                *found
                    .iter()
                    .find(|ip| ip.is_ipv4())
                    .or(found.first())
                    .ok_or(format!(
                        "{name} resolves to no address; enter the endpoint's address instead"
                    ))?
            }
        };
        let pin = S3Pin {
            address,
            hosts: hosts.to_vec(),
        };
        let path = &self.hosts_file;
        let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
        let (_, old_block) = split_hosts(&text)?;
        let new = hosts_with_pin(&text, Some(&pin))?;
        write_replacing(path, &new).await?;
        snapshot.hosts_block = Some(old_block);
        Ok(pin)
    }

    /// Puts back what `apply` replaced, then waits (up to `settle`) for the addresses that were
    /// there before.
    pub async fn revert(&self, snapshot: Snapshot) -> Vec<Line> {
        let mut lines = Vec::new();
        if let Some(old) = snapshot.proxy {
            crate::net::set_session_proxy(old);
            lines.push(Line::good(
                "proxy",
                "the proxy is back to the environment's".into(),
            ));
        }
        if let Some(old_block) = snapshot.hosts_block {
            let path = &self.hosts_file;
            let result = match tokio::fs::read_to_string(path).await {
                Ok(text) => match hosts_with_block(&text, old_block.as_deref()) {
                    Ok(new) => write_replacing(path, &new).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(format!("{} cannot be read ({e})", path.display())),
            };
            lines.push(match result {
                Ok(()) => Line::good("S3", format!("{} is back as it was", path.display())),
                Err(e) => Line::bad("S3", e),
            });
        }
        if snapshot.units.is_empty() {
            return lines;
        }
        for (path, old) in &snapshot.units {
            let result = match old {
                Some(text) => tokio::fs::write(path, text).await,
                None => tokio::fs::remove_file(path).await,
            };
            if let Err(e) = result {
                lines.push(Line::bad(
                    "networkd",
                    format!("{} cannot be restored ({e})", path.display()),
                ));
            }
        }
        let names: Vec<&str> = snapshot.addresses.iter().map(|(n, _)| n.as_str()).collect();
        if let Err(e) = self.reconfigure(&names).await {
            lines.push(Line::bad("networkd", e));
            return lines;
        }
        let deadline = Instant::now() + self.settle;
        loop {
            let now = self.interfaces().await.unwrap_or_default();
            let back: Vec<Line> = snapshot
                .addresses
                .iter()
                .map(|(name, before)| {
                    let current: Vec<Address> = now
                        .iter()
                        .find(|i| &i.name == name)
                        .map(|i| i.routable().copied().collect())
                        .unwrap_or_default();
                    if same_addresses(&current, before) {
                        Line::good(name, format!("back to {}", describe(before)))
                    } else {
                        Line::bad(
                            name,
                            format!(
                                "has {}, before it had {}",
                                describe(&current),
                                describe(before)
                            ),
                        )
                    }
                })
                .collect();
            if back.iter().all(|l| l.ok) || Instant::now() >= deadline {
                lines.extend(back);
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Whether `program` can be started: a path that exists, or a name found on PATH.
fn on_path(program: &str) -> bool {
    if program.is_empty() {
        return false;
    }
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A file replaced whole (a reader never sees half of it), with its mode kept.
async fn write_replacing(path: &std::path::Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("drs-failback.tmp");
    let mode = tokio::fs::metadata(path)
        .await
        .map(|m| m.permissions())
        .ok();
    let result = async {
        tokio::fs::write(&tmp, text).await?;
        if let Some(mode) = mode {
            tokio::fs::set_permissions(&tmp, mode).await?;
        }
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{} cannot be written ({e})", path.display())
    })
}

/// The same static addresses, and leases of the same families (a DHCP server may hand out
/// another address than last time).
fn same_addresses(a: &[Address], b: &[Address]) -> bool {
    let key = |list: &[Address]| {
        let mut v: Vec<(Option<IpAddr>, bool, u8)> = list
            .iter()
            .map(|a| match a.dynamic {
                true => (None, a.ip.is_ipv4(), 0),
                false => (Some(a.ip), a.ip.is_ipv4(), a.prefix),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    key(a) == key(b)
}

fn describe(list: &[Address]) -> String {
    if list.is_empty() {
        return "no address".into();
    }
    list.iter()
        .map(|a| {
            format!(
                "{}/{}{}",
                a.ip,
                a.prefix,
                if a.dynamic { " (lease)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `now` shows `plan`, in the operator's words.
fn judge(
    plan: &InterfacePlan,
    now: Option<&Interface>,
    gateways: &[IpAddr],
    waited: Duration,
) -> Line {
    let name = &plan.interface;
    let Some(i) = now else {
        return Line::bad(
            name,
            "is gone: it was unplugged or renamed; rescan the interfaces".into(),
        );
    };
    let cable = if i.carrier {
        ""
    } else {
        " The link is down: check the cable or the virtual switch."
    };
    let via = if gateways.is_empty() {
        String::new()
    } else {
        format!(
            ", gateway {}",
            gateways
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match &plan.addressing {
        Addressing::Static(st) => {
            let has = i
                .addresses
                .iter()
                .any(|a| a.ip == st.address && a.prefix == st.prefix);
            let route = st.gateway.is_none_or(|g| gateways.contains(&g));
            match (has, route) {
                (true, true) => {
                    Line::good(name, format!("{}/{} (static){via}", st.address, st.prefix))
                }
                (false, _) => Line::bad(
                    name,
                    format!(
                        "{}/{} is not on the interface after {} s.{cable}",
                        st.address,
                        st.prefix,
                        waited.as_secs()
                    ),
                ),
                (true, false) => Line::bad(
                    name,
                    format!(
                        "has {}/{} but no default route via {}; check the gateway.",
                        st.address,
                        st.prefix,
                        st.gateway.map(|g| g.to_string()).unwrap_or_default()
                    ),
                ),
            }
        }
        // With both asked for, an IPv4 lease is enough: many networks offer no IPv6, and
        // waiting the whole settle time for it would only delay the answer.
        Addressing::Dhcp { v4, v6: _ } => {
            let family = if *v4 { "IPv4" } else { "IPv6" };
            let leases: Vec<Address> = i.routable().filter(|a| a.dynamic).copied().collect();
            if leases.iter().any(|a| a.ip.is_ipv4() == *v4) {
                Line::good(name, format!("{} (DHCP){via}", describe(&leases)))
            } else {
                Line::bad(
                    name,
                    format!(
                        "no {family} address from DHCP after {} s; check that a DHCP server \
                         answers on this network, or enter a static address.{cable}",
                        waited.as_secs()
                    ),
                )
            }
        }
    }
}

/// One row of what apply or revert found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// An interface name, `S3`, `proxy` or `networkd`.
    pub what: String,
    pub ok: bool,
    pub text: String,
}

impl Line {
    fn good(what: &str, text: String) -> Line {
        Line {
            what: what.into(),
            ok: true,
            text,
        }
    }
    fn bad(what: &str, text: String) -> Line {
        Line {
            what: what.into(),
            ok: false,
            text,
        }
    }
}

/// What was there before `apply`, to put back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Each unit written, with the text it replaced (None: there was no such file).
    pub units: Vec<(PathBuf, Option<String>)>,
    /// Set when the hosts file was changed: the block it held before (None: none).
    pub hosts_block: Option<Option<String>>,
    /// Set when the proxy was changed: the session proxy before.
    pub proxy: Option<Option<ProxyPlan>>,
    /// Each planned interface's routable addresses before.
    pub addresses: Vec<(String, Vec<Address>)>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        *self == Snapshot::default()
    }

    /// Two applies in a row revert to the state before the first: what `newer` saw as "before"
    /// counts only for what this one did not touch.
    pub fn merge(mut self, newer: Snapshot) -> Snapshot {
        for (path, old) in newer.units {
            if !self.units.iter().any(|(p, _)| *p == path) {
                self.units.push((path, old));
            }
        }
        for (name, old) in newer.addresses {
            if !self.addresses.iter().any(|(n, _)| *n == name) {
                self.addresses.push((name, old));
            }
        }
        self.hosts_block = self.hosts_block.or(newer.hosts_block);
        self.proxy = self.proxy.or(newer.proxy);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub snapshot: Snapshot,
    pub lines: Vec<Line>,
}

impl Applied {
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|l| l.ok)
    }

    /// The demo's answer: what a real run would write, and nothing changed (so nothing to
    /// revert).
    pub fn demo(plan: &NetworkPlan) -> Applied {
        let mut lines: Vec<Line> = plan
            .interfaces
            .iter()
            .map(|p| {
                Line::good(
                    &p.interface,
                    format!(
                        "demo: not applied; a real run writes /run/systemd/network/{} and \
                         has networkd reconfigure this interface",
                        networkd_file_name(&p.interface)
                    ),
                )
            })
            .collect();
        if plan.s3.is_some() {
            lines.push(Line::good("S3", "demo: /etc/hosts left alone".into()));
        }
        if plan.proxy.is_some() {
            lines.push(Line::good("proxy", "demo: the proxy is not used".into()));
        }
        Applied {
            snapshot: Snapshot::default(),
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::network::static_address;

    fn iface(addresses: &[(&str, u8, bool)], carrier: bool) -> Interface {
        Interface {
            name: "eth0".into(),
            mac: "52:54:00:00:00:01".into(),
            driver: None,
            state: "UP".into(),
            carrier,
            speed_mbps: None,
            addresses: addresses
                .iter()
                .map(|(ip, prefix, dynamic)| Address {
                    ip: ip.parse().unwrap(),
                    prefix: *prefix,
                    dynamic: *dynamic,
                })
                .collect(),
        }
    }

    #[test]
    fn judge_says_what_is_missing() {
        let st = InterfacePlan {
            interface: "eth0".into(),
            addressing: Addressing::Static(
                static_address("10.0.0.5", "24", "10.0.0.1", "10.0.0.1").unwrap(),
            ),
        };
        let wait = Duration::from_secs(30);
        let gw: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let up = iface(&[("10.0.0.5", 24, false)], true);
        assert_eq!(
            judge(&st, Some(&up), &gw, wait).text,
            "10.0.0.5/24 (static), gateway 10.0.0.1"
        );
        let l = judge(&st, Some(&up), &[], wait);
        assert!(
            !l.ok && l.text.contains("no default route via 10.0.0.1"),
            "{}",
            l.text
        );
        let l = judge(&st, Some(&iface(&[], false)), &[], wait);
        assert!(
            l.text.contains("is not on the interface after 30 s")
                && l.text.contains("link is down"),
            "{}",
            l.text
        );
        assert!(judge(&st, None, &[], wait).text.contains("is gone"));

        let dhcp = InterfacePlan {
            interface: "eth0".into(),
            addressing: Addressing::Dhcp { v4: true, v6: true },
        };
        let l = judge(
            &dhcp,
            Some(&iface(
                &[("10.0.0.7", 24, true), ("fe80::1", 64, false)],
                true,
            )),
            &[],
            wait,
        );
        assert_eq!(l.text, "10.0.0.7/24 (lease) (DHCP)", "IPv4 is enough");
        let v6 = InterfacePlan {
            interface: "eth0".into(),
            addressing: Addressing::Dhcp {
                v4: false,
                v6: true,
            },
        };
        let l = judge(
            &v6,
            Some(&iface(&[("10.0.0.7", 24, true)], true)),
            &[],
            wait,
        );
        assert!(
            !l.ok && l.text.starts_with("no IPv6 address from DHCP after 30 s"),
            "{}",
            l.text
        );
        let l = judge(
            &dhcp,
            Some(&iface(
                &[("10.0.0.7", 24, true), ("2001:db8::7", 64, true)],
                true,
            )),
            &gw,
            wait,
        );
        assert_eq!(
            l.text,
            "10.0.0.7/24 (lease), 2001:db8::7/64 (lease) (DHCP), gateway 10.0.0.1"
        );

        // An address left from before is not a lease.
        let l = judge(
            &dhcp,
            Some(&iface(&[("10.0.0.9", 24, false)], true)),
            &[],
            wait,
        );
        assert!(
            !l.ok && l.text.starts_with("no IPv4 address from DHCP"),
            "{}",
            l.text
        );
    }

    #[test]
    fn revert_counts_another_lease_as_back_but_not_another_static_address() {
        let a = |ip: &str, dynamic| Address {
            ip: ip.parse().unwrap(),
            prefix: 24,
            dynamic,
        };
        assert!(same_addresses(
            &[a("10.0.0.51", true)],
            &[a("10.0.0.52", true)]
        ));
        assert!(!same_addresses(
            &[a("10.0.0.51", true)],
            &[a("10.0.0.51", false)]
        ));
        assert!(!same_addresses(
            &[a("10.0.0.9", false)],
            &[a("10.0.0.8", false)]
        ));
        assert!(!same_addresses(
            &[a("10.0.0.9", false), a("10.0.0.51", true)],
            &[a("10.0.0.9", false)]
        ));
    }

    #[test]
    fn a_second_apply_still_reverts_to_the_state_before_the_first() {
        let first = Snapshot {
            units: vec![("/n/10-eth0".into(), None)],
            hosts_block: Some(None),
            proxy: None,
            addresses: vec![("eth0".into(), vec![])],
        };
        let second = Snapshot {
            units: vec![
                ("/n/10-eth0".into(), Some("first plan".into())),
                ("/n/10-eth1".into(), None),
            ],
            hosts_block: Some(Some("1.2.3.4 s3\n".into())),
            proxy: Some(None),
            addresses: vec![(
                "eth0".into(),
                vec![Address {
                    ip: "10.0.0.5".parse().unwrap(),
                    prefix: 24,
                    dynamic: false,
                }],
            )],
        };
        let merged = first.merge(second);
        assert_eq!(
            merged.units,
            vec![("/n/10-eth0".into(), None), ("/n/10-eth1".into(), None)]
        );
        assert_eq!(merged.hosts_block, Some(None));
        assert_eq!(merged.proxy, Some(None));
        assert_eq!(merged.addresses, vec![("eth0".to_string(), vec![])]);
    }

    #[tokio::test]
    async fn without_its_reload_command_nothing_is_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let system = System {
            networkd_dir: dir.path().join("net"),
            reload: vec!["drs-failback-no-such-reload".into()],
            hosts_file: dir.path().join("hosts"),
            settle: Duration::ZERO,
            ..System::live()
        };
        // An interface that does not exist: had the flush run, `ip` would name it.
        let plan = NetworkPlan {
            interfaces: vec![InterfacePlan {
                interface: "drsnone0".into(),
                addressing: Addressing::Dhcp {
                    v4: true,
                    v6: false,
                },
            }],
            ..NetworkPlan::default()
        };
        let applied = system.apply(&plan).await;
        assert_eq!(applied.lines.len(), 1, "{:?}", applied.lines);
        assert!(
            applied.lines[0]
                .text
                .starts_with("drs-failback-no-such-reload is missing"),
            "{:?}",
            applied.lines
        );
        // The unit written stays in the snapshot, so a revert removes it.
        assert_eq!(applied.snapshot.units.len(), 1);
        assert!(on_path("sh") && !on_path("") && on_path("/bin/sh"));
    }
}
