//! The interfaces as `ip -j -d addr show` reports them, with the driver and the speed from sysfs.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    /// The kernel driver (virtio_net, e1000e) or, for a virtual link, its kind (veth).
    pub driver: Option<String>,
    /// operstate: UP, DOWN, DORMANT, UNKNOWN...
    pub state: String,
    /// Cable plugged in (LOWER_UP).
    pub carrier: bool,
    pub speed_mbps: Option<u32>,
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Address {
    pub ip: IpAddr,
    pub prefix: u8,
    /// A lease (DHCP, SLAAC) rather than a static address.
    pub dynamic: bool,
}

impl Address {
    /// fe80::/10: every IPv6 link has one, it says nothing about the network.
    pub fn link_local(&self) -> bool {
        matches!(self.ip, IpAddr::V6(v6) if v6.is_unicast_link_local())
    }
}

impl Interface {
    /// The addresses that matter to the operator (not IPv6 link-local).
    pub fn routable(&self) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(|a| !a.link_local())
    }
}

#[derive(Deserialize)]
struct IpLink {
    ifname: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    operstate: String,
    #[serde(default)]
    link_type: String,
    linkinfo: Option<LinkInfo>,
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
}

#[derive(Deserialize)]
struct LinkInfo {
    info_kind: Option<String>,
}

#[derive(Deserialize)]
struct IpAddrInfo {
    local: Option<IpAddr>,
    prefixlen: Option<u8>,
    #[serde(default)]
    dynamic: bool,
}

/// Parses `ip -j -d addr show`; loopback is left out (nothing to configure there).
pub fn parse_ip_addr(json: &str) -> Result<Vec<Interface>, String> {
    let links: Vec<IpLink> = serde_json::from_str(json)
        .map_err(|e| format!("`ip -j addr` printed something unexpected ({e})"))?;
    Ok(links
        .into_iter()
        .filter(|l| l.link_type != "loopback")
        .map(|l| Interface {
            carrier: l.flags.iter().any(|f| f == "LOWER_UP"),
            driver: l.linkinfo.and_then(|i| i.info_kind),
            name: l.ifname,
            mac: l.address,
            state: l.operstate,
            speed_mbps: None,
            addresses: l
                .addr_info
                .into_iter()
                .filter_map(|a| {
                    Some(Address {
                        ip: a.local?,
                        prefix: a.prefixlen?,
                        dynamic: a.dynamic,
                    })
                })
                .collect(),
        })
        .collect())
}

/// /sys/class/net/X/speed: Mb/s, or -1 (or an error) without a link.
pub fn parse_speed(text: &str) -> Option<u32> {
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
}

#[derive(Deserialize)]
struct IpRoute {
    gateway: Option<IpAddr>,
}

/// The gateways of `ip -j route show default` (v4 or v6).
pub fn parse_default_routes(json: &str) -> Result<Vec<IpAddr>, String> {
    let routes: Vec<IpRoute> = serde_json::from_str(json)
        .map_err(|e| format!("`ip -j route` printed something unexpected ({e})"))?;
    Ok(routes.into_iter().filter_map(|r| r.gateway).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from a veth end with a DHCP lease (iproute2 6.1).
    const SAMPLE: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"operstate":"DOWN","link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[]},{"ifindex":2,"link_index":2,"ifname":"nt0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"8e:c9:b5:58:99:6b","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"10.77.0.52","prefixlen":24,"metric":1024,"broadcast":"10.77.0.255","scope":"global","dynamic":true,"label":"nt0","valid_life_time":3335,"preferred_life_time":3335},{"family":"inet6","local":"fe80::8cc9:b5ff:fe58:996b","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]},{"ifindex":3,"ifname":"eth0","flags":["BROADCAST","MULTICAST"],"operstate":"DOWN","link_type":"ether","address":"52:54:00:12:34:56","parentbus":"virtio","addr_info":[]}]"#;

    #[test]
    fn ip_json_gives_interfaces_without_loopback() {
        let ifs = parse_ip_addr(SAMPLE).unwrap();
        assert_eq!(ifs.len(), 2);
        let nt0 = &ifs[0];
        assert_eq!(nt0.name, "nt0");
        assert_eq!(nt0.mac, "8e:c9:b5:58:99:6b");
        assert_eq!(nt0.driver.as_deref(), Some("veth"));
        assert!(nt0.carrier);
        assert_eq!(nt0.state, "UP");
        assert_eq!(nt0.addresses.len(), 2);
        let lease = nt0.routable().collect::<Vec<_>>();
        assert_eq!(lease.len(), 1);
        assert_eq!(lease[0].ip.to_string(), "10.77.0.52");
        assert_eq!(lease[0].prefix, 24);
        assert!(lease[0].dynamic);
        let eth0 = &ifs[1];
        assert!(!eth0.carrier && eth0.driver.is_none() && eth0.addresses.is_empty());
        assert!(
            parse_ip_addr("not json")
                .unwrap_err()
                .contains("unexpected")
        );
    }

    #[test]
    fn speed_and_routes() {
        assert_eq!(parse_speed("1000\n"), Some(1000));
        assert_eq!(parse_speed("-1"), None);
        assert_eq!(parse_speed(""), None);
        let gws = parse_default_routes(
            r#"[{"dst":"default","gateway":"10.77.0.1","dev":"nt0","protocol":"dhcp"},{"dst":"default","dev":"ppp0"}]"#,
        )
        .unwrap();
        assert_eq!(gws, vec!["10.77.0.1".parse::<IpAddr>().unwrap()]);
    }
}
