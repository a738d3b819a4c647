//! The network plan the operator builds on the Network screen, checked: addressing per
//! interface (DHCP or static), an HTTPS proxy, and a custom S3 endpoint pinned for the region's
//! S3 host names. Also the official client's variables (CONFIG_NETWORK, IPADDR, NETMASK,
//! GATEWAY, DNS, PROXY, S3_ENDPOINT) and the text of the files the plan writes. No I/O here.

use crate::domain::regions::Region;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressing {
    /// Leases from DHCP (v4) and router advertisements / DHCPv6 (v6).
    Dhcp {
        v4: bool,
        v6: bool,
    },
    Static(StaticAddress),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticAddress {
    pub address: IpAddr,
    pub prefix: u8,
    pub gateway: Option<IpAddr>,
    pub dns: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfacePlan {
    pub interface: String,
    pub addressing: Addressing,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ProxyPlan {
    /// scheme://[user:password@]host:port
    pub url: String,
    /// Comma-separated hosts reached directly.
    pub no_proxy: Option<String>,
}

// Hand-written: the URL may carry a password, and commands are logged.
impl std::fmt::Debug for ProxyPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyPlan")
            .field("url", &crate::net::redact_proxy(&self.url))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// The address that answers for the region's S3 host names (an S3 interface VPC endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Pin {
    pub address: IpAddr,
    pub hosts: Vec<String>,
}

/// What the S3 endpoint field names: an address is pinned as it is, a host name once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Target {
    Address(IpAddr),
    Host(String),
}

/// The first problem of a form: which field, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Address,
    Prefix,
    Gateway,
    Dns,
    Proxy,
    NoProxy,
    S3Endpoint,
}

fn err(field: Field, message: String) -> FieldError {
    FieldError { field, message }
}

/// An IPv4 or IPv6 address typed into the field called `what`.
pub fn address(what: &str, text: &str) -> Result<IpAddr, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!(
            "Enter the {what}, e.g. 192.168.1.20 or 2001:db8::20."
        ));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(ip);
    }
    if let Some((ip, prefix)) = t.split_once('/') {
        return Err(format!(
            "The {what} `{t}` holds a prefix: enter {ip} here and {prefix} as the prefix."
        ));
    }
    if t.contains('.') && !t.contains(':') {
        let parts: Vec<&str> = t.split('.').collect();
        if let Some(big) = parts
            .iter()
            .find(|p| p.parse::<u32>().is_ok_and(|n| n > 255))
        {
            return Err(format!(
                "The {what} `{t}` has {big}; each of the four parts of an IPv4 address is 0 to \
                 255."
            ));
        }
        if parts.len() != 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
            return Err(format!(
                "The {what} `{t}` has {} parts; an IPv4 address has four, like 192.168.1.20.",
                parts.len()
            ));
        }
    }
    Err(format!(
        "The {what} `{t}` is not an IPv4 or IPv6 address; write it like 192.168.1.20 or \
         2001:db8::20."
    ))
}

/// A prefix length (`24`) or, for IPv4, a netmask (`255.255.255.0`).
pub fn prefix(text: &str, for_address: IpAddr) -> Result<u8, String> {
    let t = text.trim().trim_start_matches('/');
    let max = if for_address.is_ipv4() { 32 } else { 128 };
    if t.is_empty() {
        return Err(if for_address.is_ipv4() {
            "Enter the prefix length (e.g. 24) or the netmask (e.g. 255.255.255.0).".into()
        } else {
            "Enter the prefix length, e.g. 64.".into()
        });
    }
    if let Ok(n) = t.parse::<u8>() {
        if (1..=max).contains(&n) {
            return Ok(n);
        }
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "The prefix {t} is out of range: it is 1 to {max} for an {} address.",
            if max == 32 { "IPv4" } else { "IPv6" }
        ));
    }
    match t.parse::<Ipv4Addr>() {
        Ok(mask) if for_address.is_ipv4() => {
            let bits = u32::from(mask);
            let ones = bits.leading_ones();
            if bits.checked_shl(ones).unwrap_or(0) != 0 {
                Err(format!(
                    "The netmask {t} is not one: its one-bits must come first, like \
                     255.255.255.0 (24) or 255.255.0.0 (16)."
                ))
            } else if ones == 0 {
                Err(
                    "The netmask 0.0.0.0 covers every address; enter the local network's \
                     netmask, e.g. 255.255.255.0."
                        .into(),
                )
            } else {
                Ok(ones as u8)
            }
        }
        Ok(_) => Err(format!(
            "A netmask ({t}) is for IPv4; give an IPv6 address a prefix length, e.g. 64."
        )),
        Err(_) => Err(format!(
            "The prefix `{t}` is neither a length (e.g. 24) nor a netmask (e.g. 255.255.255.0)."
        )),
    }
}

/// Addresses separated by commas or spaces.
pub fn dns_servers(text: &str) -> Result<Vec<IpAddr>, String> {
    let items: Vec<&str> = text
        .split([',', ' ', ';'])
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(
            "Enter at least one DNS server address, e.g. 192.168.1.1 (several: separate \
                    them with commas)."
                .into(),
        );
    }
    items.iter().map(|s| address("DNS server", s)).collect()
}

fn in_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn usable_host(what: &str, ip: IpAddr) -> Result<(), String> {
    let bad = if ip.is_unspecified() {
        Some("is the unspecified address")
    } else if ip.is_loopback() {
        Some("is a loopback address")
    } else if ip.is_multicast() {
        Some("is a multicast address")
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        Some("is the broadcast address")
    } else {
        None
    };
    match bad {
        Some(why) => Err(format!(
            "The {what} {ip} {why}; enter this machine's address on the local network."
        )),
        None => Ok(()),
    }
}

/// The static form's four fields, checked together (the gateway must be on the subnet).
/// `gateway` may be empty (a subnet with no way out); `dns` may not.
pub fn static_address(
    address_text: &str,
    prefix_text: &str,
    gateway_text: &str,
    dns_text: &str,
) -> Result<StaticAddress, FieldError> {
    let ip = address("address", address_text).map_err(|m| err(Field::Address, m))?;
    usable_host("address", ip).map_err(|m| err(Field::Address, m))?;
    let len = prefix(prefix_text, ip).map_err(|m| err(Field::Prefix, m))?;
    if let IpAddr::V4(v4) = ip {
        if len <= 30 {
            let host_bits = u32::from(v4) & !(u32::MAX << (32 - u32::from(len)));
            if host_bits == 0 {
                return Err(err(
                    Field::Address,
                    format!(
                        "{ip} is the network address of {ip}/{len}; enter a host address, e.g. \
                         {}.",
                        Ipv4Addr::from(u32::from(v4) + 1)
                    ),
                ));
            }
            if host_bits == !(u32::MAX << (32 - u32::from(len))) {
                return Err(err(
                    Field::Address,
                    format!(
                        "{ip} is the broadcast address of {ip}/{len}; enter a host address, \
                         e.g. {}.",
                        Ipv4Addr::from(u32::from(v4) - 1)
                    ),
                ));
            }
        }
    }
    let gateway = if gateway_text.trim().is_empty() {
        None
    } else {
        let gw = address("gateway", gateway_text).map_err(|m| err(Field::Gateway, m))?;
        usable_host("gateway", gw).map_err(|m| err(Field::Gateway, m))?;
        if gw.is_ipv4() != ip.is_ipv4() {
            return Err(err(
                Field::Gateway,
                format!(
                    "The gateway {gw} and the address {ip} are not both IPv4 or both IPv6; \
                     enter a gateway of the same kind."
                ),
            ));
        }
        if gw == ip {
            return Err(err(
                Field::Gateway,
                format!(
                    "The gateway {gw} is this machine's own address; enter the router's address."
                ),
            ));
        }
        let link_local_v6 = matches!(gw, IpAddr::V6(v6) if v6.is_unicast_link_local());
        if !link_local_v6 && !in_subnet(gw, ip, len) {
            return Err(err(
                Field::Gateway,
                format!(
                    "The gateway {gw} is outside {ip}/{len}, so it cannot be reached; check the \
                     gateway, the address and the prefix."
                ),
            ));
        }
        Some(gw)
    };
    let dns = dns_servers(dns_text).map_err(|m| err(Field::Dns, m))?;
    Ok(StaticAddress {
        address: ip,
        prefix: len,
        gateway,
        dns,
    })
}

/// The proxy field (`http://host:port`, or `host:port`, as curl takes it) and NO_PROXY.
pub fn proxy(url_text: &str, no_proxy_text: &str) -> Result<ProxyPlan, FieldError> {
    let t = url_text.trim();
    let bad = |why: &str| {
        err(
            Field::Proxy,
            format!(
                "The proxy {why}; write it as http://proxy.example.com:3128 (add user:password@ \
                 before the host if it asks for a login)."
            ),
        )
    };
    if t.is_empty() {
        return Err(bad("is empty"));
    }
    let url = if t.contains("://") {
        t.to_owned()
    } else {
        format!("http://{t}")
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("must start with http:// or https://"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    if uri.port_u16().is_none() {
        return Err(bad("names no port"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("has a path; a proxy is a host and a port only"));
    }
    let np = no_proxy_text.trim();
    let no_proxy = if np.is_empty() {
        None
    } else {
        if let Some(entry) = np
            .split(',')
            .map(str::trim)
            .find(|e| e.is_empty() || e.contains(char::is_whitespace))
        {
            let message = if entry.is_empty() {
                "NO_PROXY has an empty entry (two commas in a row, or one at the end); remove it."
                    .to_string()
            } else {
                format!(
                    "NO_PROXY entry `{entry}` has a space; separate hosts with commas, e.g. \
                     169.254.169.254,.internal"
                )
            };
            return Err(err(Field::NoProxy, message));
        }
        Some(np.split(',').map(str::trim).collect::<Vec<_>>().join(","))
    };
    Ok(ProxyPlan {
        url: url.trim_end_matches('/').to_owned(),
        no_proxy,
    })
}

/// The S3 endpoint field: an address, a host name, or a URL (only its host counts).
pub fn s3_target(text: &str) -> Result<S3Target, FieldError> {
    let t = text.trim().trim_end_matches('/');
    let bad = |why: String| {
        err(
            Field::S3Endpoint,
            format!(
                "The S3 endpoint {why}; enter the VPC endpoint's address or name, e.g. \
                 bucket.vpce-0123-abcd.s3.us-east-1.vpce.amazonaws.com, or leave it empty."
            ),
        )
    };
    if t.is_empty() {
        return Err(bad("is empty".into()));
    }
    let uri: Option<http::Uri> = t.contains("://").then(|| t.parse().ok()).flatten();
    let host = match &uri {
        Some(u) => u.host().unwrap_or(""),
        None => t,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(S3Target::Address(ip));
    }
    if host.is_empty()
        || !host.contains('.')
        || host
            .split('.')
            .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(bad(format!("`{t}` is not a host name or an address")));
    }
    Ok(S3Target::Host(host.to_ascii_lowercase()))
}

/// The host names AWS's replication software and this program reach S3 by in `region`, which
/// the official client pins to a custom S3 endpoint's address.
pub fn s3_pinned_hosts(region: &Region) -> Vec<String> {
    let r = &region.code;
    vec![
        format!("s3.{r}.amazonaws.com"),
        format!("{}.s3.{r}.amazonaws.com", region.assets_bucket),
        format!("{}.s3.{r}.amazonaws.com", region.hashes_bucket),
    ]
}

/// What to pin for S3: the endpoint (resolved when applied) and the names it answers for in
/// `region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Plan {
    pub target: S3Target,
    /// The region whose host names are pinned (a code, e.g. eu-west-1).
    pub region: String,
    pub hosts: Vec<String>,
}

impl S3Plan {
    pub fn new(target: S3Target, region: &Region) -> S3Plan {
        S3Plan {
            target,
            region: region.code.clone(),
            hosts: s3_pinned_hosts(region),
        }
    }

    /// The same endpoint pinned for the host names of `region` instead, when that is another
    /// known region (the pin follows the plan's region).
    pub fn moved_to(&self, region: &str) -> Option<S3Plan> {
        let region = super::regions::find(region.trim())?;
        (region.code != self.region).then(|| S3Plan::new(self.target.clone(), region))
    }
}

/// Everything the Network screen applies at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPlan {
    pub interfaces: Vec<InterfacePlan>,
    pub proxy: Option<ProxyPlan>,
    pub s3: Option<S3Plan>,
}

/// The official client's variables, as the Network screen's fields start.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Prefill {
    /// CONFIG_NETWORK=1: IPADDR, NETMASK, GATEWAY, DNS as given (some may be empty).
    pub static_fields: Option<[String; 4]>,
    pub proxy: Option<String>,
    pub s3_endpoint: Option<String>,
    /// What is wrong with them, naming the variable and what to do.
    pub problem: Option<String>,
}

// Hand-written: PROXY may carry a password.
impl std::fmt::Debug for Prefill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefill")
            .field("static_fields", &self.static_fields)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::net::redact_proxy),
            )
            .field("s3_endpoint", &self.s3_endpoint)
            .field("problem", &self.problem)
            .finish()
    }
}

const OFFICIAL_STATIC: [&str; 4] = ["IPADDR", "NETMASK", "GATEWAY", "DNS"];

pub fn prefill(get: impl Fn(&str) -> Option<String>) -> Prefill {
    let value = |k: &str| {
        get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut out = Prefill {
        proxy: value("PROXY"),
        s3_endpoint: value("S3_ENDPOINT"),
        ..Prefill::default()
    };
    match value("CONFIG_NETWORK").as_deref() {
        None | Some("0") => {}
        Some("1") => {
            let fields = OFFICIAL_STATIC.map(|k| value(k).unwrap_or_default());
            let missing: Vec<&str> = OFFICIAL_STATIC
                .iter()
                .zip(&fields)
                .filter(|(_, v)| v.is_empty())
                .map(|(k, _)| *k)
                .collect();
            if !missing.is_empty() {
                let (names, verb) = match missing.as_slice() {
                    [one] => (one.to_string(), "is"),
                    [init @ .., last] => (format!("{} and {last}", init.join(", ")), "are"),
                    [] => unreachable!("not empty"),
                };
                out.problem = Some(format!(
                    "CONFIG_NETWORK=1 needs all four of IPADDR, NETMASK, GATEWAY and DNS; \
                     {names} {verb} missing. Fill in the field here, or set the variable and \
                     start again."
                ));
            }
            out.static_fields = Some(fields);
        }
        Some(other) => {
            out.problem = Some(format!(
                "CONFIG_NETWORK is `{other}`; set it to 1 for a static address (with IPADDR, \
                 NETMASK, GATEWAY and DNS), or unset it for DHCP."
            ));
        }
    }
    out
}

/// The marked lines around the block of /etc/hosts this program owns.
pub const HOSTS_BEGIN: &str = "# BEGIN drs-failback: S3 endpoint pinned by the Network screen";
pub const HOSTS_END: &str = "# END drs-failback";

/// `hosts` without this program's block, and the block's lines (None when there is none).
/// A BEGIN line without its END is refused: the end of the block is not known.
pub fn split_hosts(hosts: &str) -> Result<(String, Option<String>), String> {
    let mut rest = String::new();
    let mut block: Option<String> = None;
    let mut inside = None;
    for (n, line) in hosts.lines().enumerate() {
        match (inside, line.trim_end()) {
            (None, l) if l == HOSTS_BEGIN => {
                inside = Some(n + 1);
                block.get_or_insert_with(String::new);
            }
            (Some(_), l) if l == HOSTS_END => inside = None,
            (Some(_), _) => {
                let b = block.get_or_insert_with(String::new);
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    if let Some(line) = inside {
        return Err(format!(
            "The hosts file has drs-failback's BEGIN line (line {line}) without its END line; \
             remove the block by hand, then apply again."
        ));
    }
    Ok((rest, block))
}

/// `hosts` with this program's block holding `lines` (removed when None).
pub fn hosts_with_block(hosts: &str, lines: Option<&str>) -> Result<String, String> {
    let (mut rest, _) = split_hosts(hosts)?;
    if let Some(lines) = lines {
        rest.push_str(&format!("{HOSTS_BEGIN}\n{lines}{HOSTS_END}\n"));
    }
    Ok(rest)
}

/// `hosts` with this program's block replaced by `pin` (or removed when None).
pub fn hosts_with_pin(hosts: &str, pin: Option<&S3Pin>) -> Result<String, String> {
    let lines = pin.map(|p| format!("{}\t{}\n", p.address, p.hosts.join(" ")));
    hosts_with_block(hosts, lines.as_deref())
}

/// The systemd-networkd unit for one interface's plan (the live image runs networkd).
pub fn networkd_unit(plan: &InterfacePlan) -> String {
    let mut s = format!(
        "# Written by drs-failback's Network screen; removed when it reverts.\n[Match]\nName={}\n\n[Network]\n",
        plan.interface
    );
    match &plan.addressing {
        Addressing::Dhcp { v4, v6 } => {
            let dhcp = match (v4, v6) {
                (true, true) => "yes",
                (true, false) => "ipv4",
                (false, true) => "ipv6",
                (false, false) => "no",
            };
            s.push_str(&format!(
                "DHCP={dhcp}\nIPv6AcceptRA={}\n",
                if *v6 { "yes" } else { "no" }
            ));
            s.push_str("LinkLocalAddressing=ipv6\n");
        }
        Addressing::Static(st) => {
            s.push_str(&format!("Address={}/{}\n", st.address, st.prefix));
            if let Some(gw) = st.gateway {
                s.push_str(&format!("Gateway={gw}\n"));
            }
            for d in &st.dns {
                s.push_str(&format!("DNS={d}\n"));
            }
            s.push_str("IPv6AcceptRA=no\nLinkLocalAddressing=ipv6\n");
        }
    }
    s
}

/// The file name of an interface's unit: sorts before the image's 80-wired.network, so it wins.
pub fn networkd_file_name(interface: &str) -> String {
    format!("10-drs-failback-{interface}.network")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_bad_address_gets_its_own_message() {
        let cases = [
            ("", "Enter the address, e.g. 192.168.1.20"),
            (
                "192.168.1.20/24",
                "holds a prefix: enter 192.168.1.20 here and 24 as the prefix",
            ),
            ("192.168.1.300", "has 300; each of the four parts"),
            ("192.168.1", "has 3 parts; an IPv4 address has four"),
            ("fe80::zz", "is not an IPv4 or IPv6 address"),
            ("eth0", "is not an IPv4 or IPv6 address"),
        ];
        for (text, want) in cases {
            let e = address("address", text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert_eq!(address("address", " 10.0.0.5 ").unwrap(), v4("10.0.0.5"));
        assert_eq!(
            address("address", "2001:db8::5").unwrap(),
            v4("2001:db8::5")
        );
    }

    #[test]
    fn prefix_takes_a_length_or_a_netmask() {
        let a = v4("10.0.0.5");
        assert_eq!(prefix("24", a).unwrap(), 24);
        assert_eq!(prefix("/16", a).unwrap(), 16);
        assert_eq!(prefix("255.255.255.0", a).unwrap(), 24);
        assert_eq!(prefix("255.255.240.0", a).unwrap(), 20);
        assert!(
            prefix("255.0.255.0", a)
                .unwrap_err()
                .contains("one-bits must come first")
        );
        assert!(
            prefix("0.0.0.0", a)
                .unwrap_err()
                .contains("covers every address")
        );
        assert!(prefix("33", a).unwrap_err().contains("1 to 32 for an IPv4"));
        assert!(prefix("0", a).unwrap_err().contains("out of range"));
        assert!(prefix("abc", a).unwrap_err().contains("neither a length"));
        let six = v4("2001:db8::5");
        assert_eq!(prefix("64", six).unwrap(), 64);
        assert!(
            prefix("129", six)
                .unwrap_err()
                .contains("1 to 128 for an IPv6")
        );
        assert!(
            prefix("255.255.255.0", six)
                .unwrap_err()
                .contains("for IPv4")
        );
    }

    #[test]
    fn static_form_rules() {
        let ok = static_address(
            "192.168.1.20",
            "255.255.255.0",
            "192.168.1.1",
            "1.1.1.1, 8.8.8.8",
        )
        .unwrap();
        assert_eq!(ok.prefix, 24);
        assert_eq!(ok.gateway, Some(v4("192.168.1.1")));
        assert_eq!(ok.dns, vec![v4("1.1.1.1"), v4("8.8.8.8")]);
        let cases = [
            (
                ["192.168.1.0", "24", "", "1.1.1.1"],
                Field::Address,
                "is the network address",
            ),
            (
                ["192.168.1.255", "24", "", "1.1.1.1"],
                Field::Address,
                "is the broadcast address",
            ),
            (
                ["127.0.0.5", "8", "", "1.1.1.1"],
                Field::Address,
                "is a loopback address",
            ),
            (
                ["0.0.0.0", "8", "", "1.1.1.1"],
                Field::Address,
                "unspecified",
            ),
            (
                ["224.0.0.5", "8", "", "1.1.1.1"],
                Field::Address,
                "multicast",
            ),
            (
                ["192.168.1.20", "", "", "1.1.1.1"],
                Field::Prefix,
                "Enter the prefix length",
            ),
            (
                ["192.168.1.20", "24", "10.0.0.1", "1.1.1.1"],
                Field::Gateway,
                "The gateway 10.0.0.1 is outside 192.168.1.20/24",
            ),
            (
                ["192.168.1.20", "24", "192.168.1.20", "1.1.1.1"],
                Field::Gateway,
                "this machine's own address",
            ),
            (
                ["192.168.1.20", "24", "fe80::1", "1.1.1.1"],
                Field::Gateway,
                "not both IPv4",
            ),
            (
                ["192.168.1.20", "24", "192.168.1.1", ""],
                Field::Dns,
                "at least one DNS server",
            ),
            (
                ["192.168.1.20", "24", "192.168.1.1", "1.1.1.1,1.1.1"],
                Field::Dns,
                "The DNS server `1.1.1` has 3 parts",
            ),
        ];
        for ([a, p, g, d], field, want) in cases {
            let e = static_address(a, p, g, d).unwrap_err();
            assert_eq!(e.field, field, "{a} {p} {g} {d}: {}", e.message);
            assert!(e.message.contains(want), "{a} {p} {g} {d}: {}", e.message);
        }
        // A /31 point-to-point link has no network or broadcast address; IPv6 may route through
        // the router's link-local address.
        assert!(static_address("10.0.0.0", "31", "10.0.0.1", "10.0.0.1").is_ok());
        assert!(static_address("2001:db8::5", "64", "fe80::1", "2001:db8::53").is_ok());
        assert!(
            static_address("10.0.0.5", "24", "", "10.0.0.1")
                .unwrap()
                .gateway
                .is_none()
        );
    }

    #[test]
    fn proxy_rules() {
        let p = proxy("proxy.corp:3128", " .internal, 10.0.0.0/8 ").unwrap();
        assert_eq!(p.url, "http://proxy.corp:3128");
        assert_eq!(p.no_proxy.as_deref(), Some(".internal,10.0.0.0/8"));
        assert!(
            proxy("http://u:p@proxy:8080/", "")
                .unwrap()
                .no_proxy
                .is_none()
        );
        for (url, want) in [
            ("", "is empty"),
            ("socks5://proxy:1080", "must start with http://"),
            ("http://proxy.corp", "names no port"),
            ("http://proxy.corp:3128/path", "has a path"),
            ("http://pro xy:1", "is not a URL"),
        ] {
            let e = proxy(url, "").unwrap_err();
            assert_eq!(e.field, Field::Proxy);
            assert!(e.message.contains(want), "{url}: {}", e.message);
        }
        let e = proxy("p:1", "a,,b").unwrap_err();
        assert_eq!(e.field, Field::NoProxy);
        assert!(e.message.contains("empty entry"), "{}", e.message);
        assert!(
            proxy("p:1", "a b")
                .unwrap_err()
                .message
                .contains("`a b` has a space")
        );
    }

    #[test]
    fn a_proxy_password_never_reaches_debug_output() {
        let p = proxy("http://user:s3cret@proxy:3128", "").unwrap();
        let shown = format!(
            "{:?}",
            NetworkPlan {
                proxy: Some(p),
                ..NetworkPlan::default()
            }
        );
        assert!(
            !shown.contains("s3cret") && shown.contains("***@proxy:3128"),
            "{shown}"
        );
    }

    #[test]
    fn s3_endpoint_field() {
        assert_eq!(
            s3_target("10.1.2.3").unwrap(),
            S3Target::Address(v4("10.1.2.3"))
        );
        assert_eq!(
            s3_target("https://Bucket.vpce-1.s3.us-east-1.vpce.amazonaws.com/").unwrap(),
            S3Target::Host("bucket.vpce-1.s3.us-east-1.vpce.amazonaws.com".into())
        );
        assert_eq!(
            s3_target("http://[fd00::5]:443").unwrap(),
            S3Target::Address(v4("fd00::5"))
        );
        assert!(
            s3_target("not a host")
                .unwrap_err()
                .message
                .contains("is not a host name")
        );
        let region = crate::domain::regions::find("eu-west-1").unwrap();
        let hosts = s3_pinned_hosts(region);
        assert_eq!(hosts[0], "s3.eu-west-1.amazonaws.com");
        assert_eq!(
            hosts[1],
            format!("{}.s3.eu-west-1.amazonaws.com", region.assets_bucket)
        );
        assert_eq!(hosts.len(), 3);
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_prefilled_proxy_password_never_shows_in_debug() {
        let p = prefill(env(&[("PROXY", "http://ops:S3cret@proxy.corp:3128")]));
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("S3cret") && shown.contains("http://***@proxy.corp:3128"),
            "{shown}"
        );
    }

    #[test]
    fn official_variables_prefill_and_name_what_is_missing() {
        let full = prefill(env(&[
            ("CONFIG_NETWORK", "1"),
            ("IPADDR", "10.0.0.5"),
            ("NETMASK", "255.255.255.0"),
            ("GATEWAY", "10.0.0.1"),
            ("DNS", "10.0.0.2"),
            ("PROXY", "http://p:3128"),
            ("S3_ENDPOINT", "10.0.0.9"),
        ]));
        assert_eq!(full.problem, None);
        assert_eq!(
            full.static_fields,
            Some(["10.0.0.5", "255.255.255.0", "10.0.0.1", "10.0.0.2"].map(String::from))
        );
        assert_eq!(full.proxy.as_deref(), Some("http://p:3128"));
        assert_eq!(full.s3_endpoint.as_deref(), Some("10.0.0.9"));

        for (missing, want) in [
            ("NETMASK", "NETMASK is missing"),
            ("GATEWAY", "GATEWAY is missing"),
            ("DNS", "DNS is missing"),
            ("IPADDR", "IPADDR is missing"),
        ] {
            let vars: Vec<(&str, &str)> = [
                ("CONFIG_NETWORK", "1"),
                ("IPADDR", "10.0.0.5"),
                ("NETMASK", "24"),
                ("GATEWAY", "10.0.0.1"),
                ("DNS", "10.0.0.2"),
            ]
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
            let p = prefill(env(&vars));
            let problem = p.problem.unwrap();
            assert!(problem.contains(want), "{problem}");
            assert!(problem.contains("all four of IPADDR, NETMASK, GATEWAY and DNS"));
            // What was given is kept.
            assert_eq!(
                p.static_fields
                    .unwrap()
                    .iter()
                    .filter(|v| v.is_empty())
                    .count(),
                1
            );
        }
        let two = prefill(env(&[
            ("CONFIG_NETWORK", "1"),
            ("IPADDR", "10.0.0.5"),
            ("DNS", "x"),
        ]));
        assert!(
            two.problem
                .unwrap()
                .contains("NETMASK and GATEWAY are missing")
        );
        assert_eq!(prefill(env(&[("IPADDR", "10.0.0.5")])), Prefill::default());
        assert!(
            prefill(env(&[("CONFIG_NETWORK", "yes")]))
                .problem
                .unwrap()
                .contains("set it to 1")
        );
    }

    #[test]
    fn hosts_block_is_replaced_and_removed_leaving_the_rest() {
        let base = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
        let pin = S3Pin {
            address: v4("10.0.0.9"),
            hosts: vec![
                "s3.eu-west-1.amazonaws.com".into(),
                "b.s3.eu-west-1.amazonaws.com".into(),
            ],
        };
        let with = hosts_with_pin(base, Some(&pin)).unwrap();
        assert_eq!(
            with,
            format!(
                "{base}{HOSTS_BEGIN}\n10.0.0.9\ts3.eu-west-1.amazonaws.com b.s3.eu-west-1.amazonaws.com\n{HOSTS_END}\n"
            )
        );
        let other = S3Pin {
            address: v4("10.0.0.10"),
            ..pin
        };
        let again = hosts_with_pin(&with, Some(&other)).unwrap();
        assert_eq!(again.matches(HOSTS_BEGIN).count(), 1);
        assert!(again.contains("10.0.0.10\t") && !again.contains("10.0.0.9"));
        assert_eq!(hosts_with_pin(&again, None).unwrap(), base);
        // A file without a final newline keeps its last line whole.
        assert!(
            hosts_with_pin("1.2.3.4 x", Some(&other))
                .unwrap()
                .starts_with("1.2.3.4 x\n#")
        );
        let broken = format!("{base}{HOSTS_BEGIN}\n1.2.3.4 y\n");
        assert!(
            hosts_with_pin(&broken, None)
                .unwrap_err()
                .contains("(line 3) without its END")
        );
        assert_eq!(split_hosts(base).unwrap(), (base.to_string(), None));
    }

    #[test]
    fn networkd_units() {
        let dhcp = InterfacePlan {
            interface: "eth0".into(),
            addressing: Addressing::Dhcp {
                v4: true,
                v6: false,
            },
        };
        let u = networkd_unit(&dhcp);
        assert!(u.contains("[Match]\nName=eth0\n") && u.contains("DHCP=ipv4\nIPv6AcceptRA=no\n"));
        let st = InterfacePlan {
            interface: "eth1".into(),
            addressing: Addressing::Static(
                static_address("10.0.0.5", "24", "10.0.0.1", "10.0.0.2 10.0.0.3").unwrap(),
            ),
        };
        let u = networkd_unit(&st);
        assert!(u.contains("Address=10.0.0.5/24\nGateway=10.0.0.1\nDNS=10.0.0.2\nDNS=10.0.0.3\n"));
        assert!(networkd_file_name("eth1").as_str() < "80-wired.network");
    }
}
