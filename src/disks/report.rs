//! `drs-failback disks`: what the wizard sees of this machine's disks and why one cannot be
//! chosen, as text for people and JSON (stable field names) for scripts and the image's test.

use crate::domain::block::{BlockDisk, BlockSystem, DiskKind, Filesystem};
use crate::domain::bytes::Bytes;
use crate::domain::local_disks::{self, refusals};
use crate::domain::mapping::{DmValueFormat, local_name};
use crate::domain::model::LocalDisk;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Debug, Serialize)]
pub struct Report {
    pub disks: Vec<DiskReport>,
    /// Facts that could not be read on this machine, each with why.
    pub missing: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FilesystemReport {
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub uuid: Option<String>,
    /// Bytes in use: from statvfs when mounted, from the superblock for ext2/3/4; else null.
    pub used_bytes: Option<u64>,
    /// True when `used_bytes` still counts some of the filesystem's metadata (an unmounted ext
    /// filesystem whose superblock does not record its overhead).
    pub used_estimated: bool,
}

#[derive(Debug, Serialize)]
pub struct PartitionReport {
    pub name: String,
    pub device: String,
    pub devnum: String,
    pub number: Option<u32>,
    pub bytes: u64,
    pub filesystem: Option<FilesystemReport>,
    pub links: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HolderReport {
    pub name: String,
    pub devnum: String,
    /// `LVM`, `MD RAID`, `dm-crypt`, `multipath`, `device-mapper`, `block device`
    pub kind: String,
    pub detail: Option<String>,
    /// The device it sits on: the disk, a partition of it, or another holder.
    pub holds: String,
}

#[derive(Debug, Serialize)]
pub struct ReasonReport {
    /// `boot-medium`, `mounted`, `swap`, `held`, `other-path`, `read-only`
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct DiskReport {
    pub name: String,
    pub device: String,
    pub devnum: String,
    /// `disk`, `multipath` or `virtual` (loop, ram, zram)
    pub kind: String,
    pub bytes: u64,
    pub size: String,
    pub logical_sector_bytes: u32,
    pub physical_sector_bytes: u32,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
    pub wwn: Option<String>,
    pub transport: Option<String>,
    pub rotational: Option<bool>,
    pub removable: bool,
    pub read_only: bool,
    pub partition_table: Option<String>,
    pub filesystem: Option<FilesystemReport>,
    pub partitions: Vec<PartitionReport>,
    pub holders: Vec<HolderReport>,
    pub mounts: Vec<String>,
    pub swaps: Vec<String>,
    pub links: Vec<String>,
    /// The name used for each `--dm-value-format` (null where the disk has no such link).
    pub names: BTreeMap<String, Option<String>>,
    pub boot_medium: bool,
    /// False when what is on the disk could not be read.
    pub contents_known: bool,
    pub contents: String,
    /// The file a loop device reads and writes.
    pub backing_file: Option<String>,
    /// True when the wizard lets it receive a volume.
    pub selectable: bool,
    /// Why it cannot be chosen, most serious first; empty when selectable.
    pub reasons: Vec<ReasonReport>,
}

fn fs_report(fs: &Option<Filesystem>) -> Option<FilesystemReport> {
    fs.as_ref().map(|fs| FilesystemReport {
        kind: fs.kind.clone(),
        label: fs.label.clone(),
        uuid: fs.uuid.clone(),
        used_bytes: fs.used_bytes,
        used_estimated: fs.used_estimated,
    })
}

/// `local` is the wizard's view of `disk`, judged among the other disks listed.
fn disk_report(disk: &BlockDisk, local: LocalDisk) -> DiskReport {
    let reasons: Vec<ReasonReport> = refusals(&local)
        .iter()
        .map(|r| ReasonReport {
            code: r.code().into(),
            message: r.describe(),
        })
        .collect();
    DiskReport {
        name: disk.name.clone(),
        device: disk.devnode.clone(),
        devnum: disk.devnum.to_string(),
        kind: match disk.kind {
            DiskKind::Disk => "disk",
            DiskKind::Multipath => "multipath",
            DiskKind::Virtual => "virtual",
        }
        .into(),
        bytes: disk.bytes,
        size: Bytes(disk.bytes).to_string(),
        logical_sector_bytes: disk.logical_sector,
        physical_sector_bytes: disk.physical_sector,
        model: disk.model.clone(),
        vendor: disk.vendor.clone(),
        serial: disk.serial.clone(),
        wwn: disk.wwn.clone(),
        transport: disk.transport.clone(),
        rotational: disk.rotational,
        removable: disk.removable,
        read_only: disk.read_only,
        partition_table: disk.table.clone(),
        filesystem: fs_report(&disk.filesystem),
        partitions: disk
            .partitions
            .iter()
            .map(|p| PartitionReport {
                name: p.name.clone(),
                device: format!("/dev/{}", p.name),
                devnum: p.devnum.to_string(),
                number: p.number,
                bytes: p.bytes,
                filesystem: fs_report(&p.filesystem),
                links: p.links.clone(),
            })
            .collect(),
        holders: disk
            .holders
            .iter()
            .map(|h| HolderReport {
                name: h.name.clone(),
                devnum: h.devnum.to_string(),
                kind: h.kind.label().into(),
                detail: h.detail.clone(),
                holds: h.holds.clone(),
            })
            .collect(),
        names: DmValueFormat::ALL
            .iter()
            .map(|&f| (f.as_arg().to_owned(), local_name(&local, f)))
            .collect(),
        backing_file: disk.backing_file.clone(),
        selectable: reasons.is_empty(),
        reasons,
        mounts: local.mounts,
        swaps: local.swaps,
        links: local.links,
        boot_medium: local.is_boot_medium,
        contents_known: disk.contents_known,
        contents: local.contents,
    }
}

/// The listed disks (loop, ram and zram devices only with `include_loop`), in the order read.
pub fn report(system: &BlockSystem, include_loop: bool) -> Report {
    let listed = system
        .disks
        .iter()
        .filter(|d| local_disks::is_listed(d, include_loop));
    Report {
        disks: listed
            .zip(local_disks::local_disks(system, include_loop))
            .map(|(d, local)| disk_report(d, local))
            .collect(),
        missing: system.missing.clone(),
    }
}

pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report holds only strings, numbers, lists")
}

/// One block per disk: what it is, whether it may be chosen and why not, what is on it.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    if report.disks.is_empty() {
        out.push_str("No disks found.\n");
    }
    for d in &report.disks {
        let what: Vec<&str> = [&d.transport, &d.vendor, &d.model, &d.serial]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mut what = match what.is_empty() {
            true => "no model or serial".to_owned(),
            false => what.join(" "),
        };
        if d.removable {
            what.push_str(" (removable)");
        }
        out.push_str(&format!("{}  {}  {what}\n", d.device, d.size));
        let verdict = if d.selectable {
            "can be chosen".to_owned()
        } else {
            let why: Vec<&str> = d.reasons.iter().map(|r| r.message.as_str()).collect();
            format!("cannot be chosen: {}", why.join("; "))
        };
        out.push_str(&format!("    {verdict}\n    holds: {}\n", d.contents));
        if !d.links.is_empty() {
            out.push_str(&format!("    names: {}\n", d.links.join(", ")));
        }
    }
    for m in &report.missing {
        out.push_str(&format!("Not known here: {m}\n"));
    }
    out
}

/// `drs-failback disks [--json] [--include-loop]` on this machine.
pub fn print(as_json: bool, include_loop: bool) -> Result<(), String> {
    let system = super::udev_disks::UdevDisks::new(include_loop)
        .system()
        .map_err(|e| format!("cannot list the block devices (is /sys mounted?): {e}"))?;
    let report = report(&system, include_loop);
    let out = if as_json {
        json(&report)
    } else {
        text(&report)
    };
    // A reader that stopped early (`| head`) is not an error, as for `status`.
    let _ = writeln!(std::io::stdout(), "{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::block::{DevNum, MountEntry, Partition};

    fn system() -> BlockSystem {
        let disk = |name: &str, minor: u32| BlockDisk {
            bytes: 10 << 30,
            physical_sector: 4096,
            model: Some("QEMU HARDDISK".into()),
            vendor: Some("ATA".into()),
            serial: Some("QM00002".into()),
            transport: Some("ata".into()),
            rotational: Some(true),
            links: vec![format!("by-id/ata-QEMU_HARDDISK_{name}")],
            ..BlockDisk::sample(name, DevNum { major: 8, minor })
        };
        let mut sda = disk("sda", 0);
        sda.table = Some("gpt".into());
        sda.partitions = vec![Partition {
            name: "sda1".into(),
            devnum: DevNum { major: 8, minor: 1 },
            number: Some(1),
            bytes: 10 << 30,
            filesystem: Some(Filesystem {
                kind: "ext4".into(),
                label: Some("root".into()),
                uuid: Some("0b3c".into()),
                used_bytes: Some(3 << 30),
                used_estimated: false,
            }),
            links: vec!["by-uuid/0b3c".into()],
        }];
        let mut sdb = disk("sdb", 16);
        sdb.removable = true;
        let mut lo = disk("loop0", 0);
        lo.kind = DiskKind::Virtual;
        BlockSystem {
            disks: vec![sda, sdb, lo],
            mounts: vec![MountEntry {
                devnum: DevNum { major: 8, minor: 1 },
                mount_point: "/".into(),
            }],
            swaps: Vec::new(),
            missing: vec!["persistent names: none".into()],
        }
    }

    #[test]
    fn json_field_names_are_the_documented_ones() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&report(&system(), false))).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&value), ["disks", "missing"]);
        let sda = &value["disks"][0];
        assert_eq!(
            keys(sda),
            [
                "backing_file",
                "boot_medium",
                "bytes",
                "contents",
                "contents_known",
                "device",
                "devnum",
                "filesystem",
                "holders",
                "kind",
                "links",
                "logical_sector_bytes",
                "model",
                "mounts",
                "name",
                "names",
                "partition_table",
                "partitions",
                "physical_sector_bytes",
                "read_only",
                "reasons",
                "removable",
                "rotational",
                "selectable",
                "serial",
                "size",
                "swaps",
                "transport",
                "vendor",
                "wwn"
            ]
        );
        assert_eq!(
            keys(&sda["partitions"][0]),
            [
                "bytes",
                "device",
                "devnum",
                "filesystem",
                "links",
                "name",
                "number"
            ]
        );
        assert_eq!(
            keys(&sda["partitions"][0]["filesystem"]),
            ["label", "type", "used_bytes", "used_estimated", "uuid"]
        );
        assert_eq!(sda["partitions"][0]["filesystem"]["used_bytes"], 3u64 << 30);
        assert_eq!(
            keys(&sda["names"]),
            ["by-id", "by-path", "by-uuid", "dev-name"]
        );
        assert_eq!(sda["names"]["by-id"], "ata-QEMU_HARDDISK_sda");
        assert_eq!(
            sda["reasons"],
            serde_json::json!([
                {"code": "boot-medium", "message": "is the boot medium"},
                {"code": "mounted", "message": "mounted at /"}
            ])
        );
        assert_eq!(sda["selectable"], false);
        assert_eq!(value["disks"][1]["selectable"], true);
        assert_eq!(
            value["disks"].as_array().unwrap().len(),
            2,
            "loop0 left out"
        );
    }

    #[test]
    fn text_says_why_a_disk_cannot_be_chosen_and_marks_removable_ones() {
        let text = text(&report(&system(), true));
        assert_eq!(
            text,
            "/dev/sda  10 GiB  ata ATA QEMU HARDDISK QM00002\n\
             \x20   cannot be chosen: is the boot medium; mounted at /\n\
             \x20   holds: gpt, 1 partition: sda1 10 GiB ext4 \"root\" (3 GiB used)\n\
             \x20   names: by-id/ata-QEMU_HARDDISK_sda\n\
             /dev/sdb  10 GiB  ata ATA QEMU HARDDISK QM00002 (removable)\n\
             \x20   can be chosen\n\
             \x20   holds: empty\n\
             \x20   names: by-id/ata-QEMU_HARDDISK_sdb\n\
             /dev/loop0  10 GiB  ata ATA QEMU HARDDISK QM00002\n\
             \x20   can be chosen\n\
             \x20   holds: empty\n\
             \x20   names: by-id/ata-QEMU_HARDDISK_loop0\n\
             Not known here: persistent names: none\n"
        );
    }
}
