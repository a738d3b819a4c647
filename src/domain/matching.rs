//! Which recovery instance is this machine: the identification hints DRS kept about the source
//! machine, weighed against what this machine reports about itself.

use std::cmp::Reverse;

use super::fit::fit;
use super::mapping::{Choice, auto_map, is_free_disk};
use super::model::{HostIdentity, LocalDisk, RecoveryInstance};

// A hardware id alone outweighs every softer hint together (60 + 30 + 20), and a MAC outweighs
// names, which clones and rebuilt machines share.
const HARDWARE_ID: u32 = 200;
const MAC: u32 = 60;
const FQDN: u32 = 30;
const HOSTNAME: u32 = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchReport {
    pub score: u32,
    /// What matched, for the operator: "hostname web-01", "MAC 52:54:00:12:34:56", ...
    pub reasons: Vec<String>,
}

pub fn match_instance(host: &HostIdentity, instance: &RecoveryInstance) -> MatchReport {
    let hints = &instance.hints;
    let mut report = MatchReport::default();
    let mut add = |weight: u32, reason: String| {
        report.score += weight;
        report.reasons.push(reason);
    };

    if let (Some(ours), Some(theirs)) = (&host.vmware_uuid, &hints.vmware_uuid)
        && same_vmware_uuid(ours, theirs)
    {
        add(HARDWARE_ID, "VMware UUID".into());
    }
    if let (Some(ours), Some(theirs)) = (&host.aws_instance_id, &hints.aws_instance_id)
        && !ours.trim().is_empty()
        && ours.trim().eq_ignore_ascii_case(theirs.trim())
    {
        add(HARDWARE_ID, format!("AWS instance id {}", theirs.trim()));
    }

    let host_macs: Vec<String> = host.macs.iter().filter_map(|m| normal_mac(m)).collect();
    let mut shared: Vec<String> = Vec::new();
    for mac in instance.macs.iter().filter_map(|m| normal_mac(m)) {
        if host_macs.contains(&mac) && !shared.contains(&mac) {
            shared.push(mac);
        }
    }
    for (i, mac) in shared.into_iter().enumerate() {
        // One NIC or several, a MAC match is one piece of evidence.
        add(if i == 0 { MAC } else { 0 }, format!("MAC {mac}"));
    }

    if let (Some(ours), Some(theirs)) = (&host.fqdn, &hints.fqdn)
        && let Some(ours) = normal_fqdn(ours)
        && Some(&ours) == normal_fqdn(theirs).as_ref()
    {
        add(FQDN, format!("FQDN {}", theirs.trim()));
    }

    let theirs = hints
        .hostname
        .as_deref()
        .and_then(short_name)
        .or_else(|| hints.fqdn.as_deref().and_then(short_name));
    if let Some(ours) = short_name(&host.hostname)
        && ours != "localhost"
        && Some(&ours) == theirs.as_ref()
    {
        add(HOSTNAME, format!("hostname {ours}"));
    }
    report
}

/// Lower-case colon form, or None for what is not a usable MAC (wrong length, all zeros).
fn normal_mac(mac: &str) -> Option<String> {
    let hex: String = mac
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 12
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
        || hex.bytes().all(|b| b == b'0')
    {
        return None;
    }
    let pairs: Vec<&str> = (0..12).step_by(2).map(|i| &hex[i..i + 2]).collect();
    Some(pairs.join(":"))
}

fn normal_fqdn(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

fn short_name(name: &str) -> Option<String> {
    let short = name.trim().split('.').next()?.to_ascii_lowercase();
    (!short.is_empty()).then_some(short)
}

/// VMware shows the SMBIOS UUID with its first three fields in either byte order (the guest's
/// /sys and vSphere disagree on older hardware versions), so both orders count.
fn same_vmware_uuid(a: &str, b: &str) -> bool {
    let hex = |s: &str| -> Option<String> {
        let h: String = s
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect::<String>()
            .to_ascii_lowercase();
        (h.len() == 32 && h.bytes().any(|b| b != b'0')).then_some(h)
    };
    let (Some(a), Some(b)) = (hex(a), hex(b)) else {
        return false;
    };
    let swap = |h: &str, from: usize, to: usize| -> String {
        (from..to).step_by(2).rev().map(|i| &h[i..i + 2]).collect()
    };
    let swapped = format!(
        "{}{}{}{}",
        swap(&b, 0, 8),
        swap(&b, 8, 12),
        swap(&b, 12, 16),
        &b[16..]
    );
    a == b || a == swapped
}

/// The instance that is clearly this machine: the single highest positive score. A tie is no
/// answer: picking the wrong instance overwrites disks with another machine's data.
pub fn best_match(host: &HostIdentity, instances: &[RecoveryInstance]) -> Option<usize> {
    let mut best = BestMatch::default();
    for (index, i) in instances.iter().enumerate() {
        best.offer(index, match_instance(host, i).score);
    }
    best.index()
}

/// `best_match` kept up to date as instances arrive a page at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BestMatch {
    score: u32,
    first: usize,
    ties: usize,
}

impl BestMatch {
    pub fn offer(&mut self, index: usize, score: u32) {
        if score > self.score {
            *self = BestMatch {
                score,
                first: index,
                ties: 1,
            };
        } else if score == self.score && score > 0 {
            self.ties += 1;
        }
    }

    /// The index of the single best-scoring instance, if one stands out.
    pub fn index(&self) -> Option<usize> {
        (self.ties == 1).then_some(self.first)
    }
}

/// Whether this machine's free disks can take every volume of the instance (as `auto_map` would
/// place them); the error says why not.
pub fn instance_fit(instance: &RecoveryInstance, disks: &[LocalDisk]) -> Result<(), String> {
    let volumes = &instance.volumes;
    if volumes.is_empty() {
        return Ok(());
    }
    let free: Vec<&LocalDisk> = disks.iter().filter(|d| is_free_disk(d)).collect();
    let not_counted = if free.len() < disks.len() {
        " (the boot medium and disks in use don't count)"
    } else {
        ""
    };
    let Some(largest) = free.iter().map(|d| d.bytes).max() else {
        return Err(format!("no free local disk{not_counted}"));
    };
    if volumes.len() > free.len() {
        let disks_word = if free.len() == 1 { "disk" } else { "disks" };
        return Err(format!(
            "{} volumes but only {} free local {disks_word}{not_counted}",
            volumes.len(),
            free.len()
        ));
    }
    let choices = auto_map(volumes, disks);
    let unplaced = volumes
        .iter()
        .zip(&choices)
        .filter(|(_, c)| **c == Choice::Unmapped)
        .map(|(v, _)| v)
        .min_by_key(|v| Reverse(v.bytes));
    match unplaced {
        None => Ok(()),
        Some(v) if !fit(v.bytes, largest).ok() => Err(format!(
            "{} ({}) is larger than any free local disk (largest {largest})",
            v.device_name, v.bytes
        )),
        Some(v) => Err(format!(
            "{} ({}) has no free local disk left once the other volumes are placed",
            v.device_name, v.bytes
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bytes::{Bytes, GIB};
    use crate::domain::fixtures::disk_gib;
    use crate::domain::model::{IdentificationHints, RecoveryVolume};

    fn instance(id: &str) -> RecoveryInstance {
        RecoveryInstance {
            id: id.into(),
            source_server_id: "s-1234567890abcdef0".into(),
            ec2_instance_id: None,
            ec2_state: None,
            is_drill: false,
            hints: IdentificationHints::default(),
            os: None,
            macs: Vec::new(),
            private_ips: Vec::new(),
            volumes: Vec::new(),
            replication: Default::default(),
            failback: Default::default(),
        }
    }

    fn named(id: &str, hostname: &str) -> RecoveryInstance {
        let mut i = instance(id);
        i.hints.hostname = Some(hostname.into());
        i
    }

    fn host(hostname: &str) -> HostIdentity {
        HostIdentity {
            hostname: hostname.into(),
            ..Default::default()
        }
    }

    fn with_volumes(sizes_gib: &[u64]) -> RecoveryInstance {
        let mut i = instance("i-0123456789abcdef0");
        i.volumes = sizes_gib
            .iter()
            .enumerate()
            .map(|(k, &gib)| RecoveryVolume {
                device_name: format!("/dev/xvd{}", char::from(b'a' + k as u8)),
                bytes: Bytes::gib(gib),
            })
            .collect();
        i
    }

    #[test]
    fn hostname_matches_case_insensitively() {
        let report = match_instance(&host("WEB-01"), &named("i-1", "web-01"));
        assert_eq!(report.score, HOSTNAME);
        assert_eq!(report.reasons, ["hostname web-01"]);
    }

    #[test]
    fn hostname_matches_the_short_name_of_either_side() {
        assert_eq!(
            match_instance(&host("web-01.corp.example"), &named("i-1", "web-01")).score,
            HOSTNAME
        );
        let mut by_fqdn = instance("i-1");
        by_fqdn.hints.fqdn = Some("Web-01.corp.example".into());
        assert_eq!(
            match_instance(&host("web-01"), &by_fqdn).reasons,
            ["hostname web-01"]
        );
    }

    #[test]
    fn different_or_generic_hostnames_do_not_match() {
        assert_eq!(
            match_instance(&host("web-02"), &named("i-1", "web-01")).score,
            0
        );
        assert_eq!(
            match_instance(&host("localhost"), &named("i-1", "localhost")).score,
            0
        );
        assert_eq!(match_instance(&host(""), &named("i-1", "")).score, 0);
    }

    #[test]
    fn fqdn_matches_ignoring_case_and_trailing_dot() {
        let mut h = host("other");
        h.fqdn = Some("WEB-01.corp.example.".into());
        let mut i = instance("i-1");
        i.hints.fqdn = Some("web-01.corp.example".into());
        let report = match_instance(&h, &i);
        assert_eq!(report.score, FQDN);
        assert_eq!(report.reasons, ["FQDN web-01.corp.example"]);
    }

    #[test]
    fn mac_matches_across_separators_and_case() {
        let mut h = host("x");
        h.macs = vec!["0A-00-27-00-00-01".into(), "52.54.00.12.34.56".into()];
        let mut i = instance("i-1");
        i.macs = vec!["52:54:00:12:34:56".into(), "0a:00:27:00:00:01".into()];
        let report = match_instance(&h, &i);
        assert_eq!(
            report.score, MAC,
            "several shared MACs are one piece of evidence"
        );
        assert_eq!(
            report.reasons,
            ["MAC 52:54:00:12:34:56", "MAC 0a:00:27:00:00:01"]
        );
    }

    #[test]
    fn malformed_and_zero_macs_never_match() {
        let mut h = host("x");
        h.macs = vec![
            "00:00:00:00:00:00".into(),
            "52:54:00".into(),
            "zz:54:00:12:34:56".into(),
        ];
        let mut i = instance("i-1");
        i.macs = h.macs.clone();
        assert_eq!(match_instance(&h, &i), MatchReport::default());
    }

    #[test]
    fn vmware_uuid_matches_in_either_byte_order_and_spelling() {
        let mut h = host("x");
        h.vmware_uuid = Some("4231A1B2-C3D4-E5F6-0718-293A4B5C6D7E".into());
        let mut i = instance("i-1");
        i.hints.vmware_uuid = Some("42 31 a1 b2 c3 d4 e5 f6-07 18 29 3a 4b 5c 6d 7e".into());
        assert_eq!(match_instance(&h, &i).reasons, ["VMware UUID"]);
        i.hints.vmware_uuid = Some("b2a13142-d4c3-f6e5-0718-293a4b5c6d7e".into());
        assert_eq!(match_instance(&h, &i).score, HARDWARE_ID);
        i.hints.vmware_uuid = Some("4231a1b2-c3d4-e5f6-0718-293a4b5c6d7f".into());
        assert_eq!(match_instance(&h, &i).score, 0);
    }

    #[test]
    fn aws_instance_id_matches_case_insensitively() {
        let mut h = host("x");
        h.aws_instance_id = Some("i-0ABC123def4567890".into());
        let mut i = instance("i-1");
        i.hints.aws_instance_id = Some(" i-0abc123def4567890 ".into());
        let report = match_instance(&h, &i);
        assert_eq!(report.score, HARDWARE_ID);
        assert_eq!(report.reasons, ["AWS instance id i-0abc123def4567890"]);
    }

    #[test]
    fn instance_without_hints_scores_nothing() {
        let mut h = host("web-01");
        h.macs = vec!["52:54:00:12:34:56".into()];
        h.vmware_uuid = Some("4231a1b2-c3d4-e5f6-0718-293a4b5c6d7e".into());
        assert_eq!(match_instance(&h, &instance("i-1")), MatchReport::default());
    }

    #[test]
    fn hardware_id_outweighs_every_soft_hint_together_and_mac_outweighs_names() {
        let mut h = host("web-01");
        h.fqdn = Some("web-01.corp".into());
        h.macs = vec!["52:54:00:12:34:56".into()];
        h.aws_instance_id = Some("i-0abc".into());
        let mut soft = named("i-soft", "web-01");
        soft.hints.fqdn = Some("web-01.corp".into());
        soft.macs = h.macs.clone();
        let mut hard = instance("i-hard");
        hard.hints.aws_instance_id = Some("i-0abc".into());
        assert_eq!(best_match(&h, &[soft.clone(), hard]), Some(1));

        let mut names = named("i-names", "web-01");
        names.hints.fqdn = Some("web-01.corp".into());
        let mut mac = instance("i-mac");
        mac.macs = h.macs.clone();
        assert_eq!(best_match(&h, &[names, mac]), Some(1));
    }

    #[test]
    fn best_match_picks_the_single_highest_score() {
        let instances = [
            named("i-1", "db-01"),
            named("i-2", "web-01"),
            named("i-3", "app"),
        ];
        assert_eq!(best_match(&host("web-01"), &instances), Some(1));
    }

    #[test]
    fn best_match_refuses_to_guess_between_equal_scores() {
        let instances = [named("i-1", "web-01"), named("i-2", "WEB-01")];
        assert_eq!(best_match(&host("web-01"), &instances), None);
    }

    #[test]
    fn best_match_needs_some_evidence() {
        assert_eq!(best_match(&host("web-01"), &[named("i-1", "db-01")]), None);
        assert_eq!(best_match(&host("web-01"), &[]), None);
    }

    #[test]
    fn instance_fits_when_every_volume_finds_a_free_disk() {
        let disks = [disk_gib("/dev/sda", 10), disk_gib("/dev/sdb", 100)];
        assert_eq!(instance_fit(&with_volumes(&[50, 8]), &disks), Ok(()));
    }

    #[test]
    fn instance_with_a_volume_larger_than_every_free_disk_says_so() {
        let disks = [
            disk_gib("/dev/sda", 100),
            disk_gib("/dev/sdb", 100),
            disk_gib("/dev/sdc", 100),
        ];
        assert_eq!(
            instance_fit(&with_volumes(&[10, 20, 500]), &disks),
            Err("/dev/xvdc (500 GiB) is larger than any free local disk (largest 100 GiB)".into())
        );
    }

    #[test]
    fn instance_with_more_volumes_than_free_disks_says_so() {
        let disks = [disk_gib("/dev/sda", 100), disk_gib("/dev/sdb", 100)];
        assert_eq!(
            instance_fit(&with_volumes(&[1, 1, 1]), &disks),
            Err("3 volumes but only 2 free local disks".into())
        );
    }

    #[test]
    fn boot_medium_and_mounted_disks_are_not_free() {
        let mut boot = disk_gib("/dev/sda", 100);
        boot.is_boot_medium = true;
        let mut mounted = disk_gib("/dev/sdb", 100);
        mounted.mounts = vec!["/mnt".into()];
        let disks = [boot, mounted, disk_gib("/dev/sdc", 100)];
        assert_eq!(
            instance_fit(&with_volumes(&[1, 1]), &disks),
            Err("2 volumes but only 1 free local disk (the boot medium and disks in use don't count)".into())
        );
        assert_eq!(
            instance_fit(&with_volumes(&[1]), &disks[..2]),
            Err("no free local disk (the boot medium and disks in use don't count)".into())
        );
        assert_eq!(instance_fit(&with_volumes(&[1]), &disks), Ok(()));
    }

    #[test]
    fn instance_whose_volumes_cannot_all_be_placed_names_the_one_left_over() {
        let disks = [disk_gib("/dev/sda", 100), disk_gib("/dev/sdb", 10)];
        assert_eq!(
            instance_fit(&with_volumes(&[60, 60]), &disks),
            Err(
                "/dev/xvdb (60 GiB) has no free local disk left once the other volumes are placed"
                    .into()
            )
        );
    }

    #[test]
    fn instance_fit_accepts_the_fractional_gib_exception() {
        let mut fractional = disk_gib("/dev/sda", 0);
        fractional.bytes = Bytes(9 * GIB + 3 * GIB / 4);
        assert_eq!(instance_fit(&with_volumes(&[10]), &[fractional]), Ok(()));
    }
}
