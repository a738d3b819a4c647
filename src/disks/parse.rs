//! Parsers for the kernel's and udev's text: what `sysfs` reads, without reading it.

use crate::domain::block::{DevNum, HolderKind, MountEntry};
use std::collections::BTreeMap;

/// `8:0` (the `dev` attribute, mountinfo's third field).
pub fn devnum(text: &str) -> Option<DevNum> {
    let (major, minor) = text.trim().split_once(':')?;
    Some(DevNum {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

/// The kernel escapes space, tab, newline and backslash in paths as `\040`-style octal.
fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/self/mountinfo`: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`:
/// the device number and the mount point.
/// Lines that do not parse are skipped: a partial list still refuses what it names.
pub fn mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let devnum = devnum(fields.get(2)?)?;
            let mount_point = unescape_octal(fields.get(4)?);
            Some(MountEntry {
                devnum,
                mount_point,
            })
        })
        .collect()
}

/// One line of `/proc/swaps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapLine {
    pub filename: String,
    /// `partition` or `file`.
    pub kind: String,
}

/// `/proc/swaps`, header skipped.
pub fn swaps(text: &str) -> Vec<SwapLine> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let filename = unescape_octal(fields.next()?);
            let kind = fields.next()?.to_owned();
            Some(SwapLine { filename, kind })
        })
        .collect()
}

/// Bytes written from `/sys/block/<dev>/stat`: the 7th field counts 512-byte sectors, whatever
/// the device's own sector size.
pub fn written_bytes(stat: &str) -> Option<u64> {
    let sectors: u64 = stat.split_whitespace().nth(6)?.parse().ok()?;
    Some(sectors.saturating_mul(512))
}

/// `KEY=VALUE` lines: a `uevent` file, `udevadm info --query=property`, `blkid -o udev`.
pub fn properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// What a device-mapper device is, from its `dm/uuid` prefix as LVM, cryptsetup, multipathd
/// and kpartx set it; `md*` devices are MD arrays.
pub fn holder_kind(name: &str, dm_uuid: Option<&str>) -> HolderKind {
    match dm_uuid {
        Some(uuid) if uuid.starts_with("LVM-") => HolderKind::Lvm,
        Some(uuid) if uuid.starts_with("CRYPT-") => HolderKind::DmCrypt,
        Some(uuid) if uuid.starts_with("mpath-") => HolderKind::Multipath,
        Some(_) => HolderKind::DeviceMapper,
        None if name.starts_with("md") => HolderKind::MdRaid,
        None if name.starts_with("dm-") => HolderKind::DeviceMapper,
        None => HolderKind::Other,
    }
}

/// How a disk is attached, from where sysfs puts it (`/sys/devices/pci0000:00/.../usb2/...`),
/// for when udev's ID_BUS is not there.
pub fn transport_from_path(sys_path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = sys_path.split('/').collect();
    let has = |prefix: &str| parts.iter().any(|p| p.starts_with(prefix));
    if has("usb") {
        Some("usb")
    } else if has("nvme") {
        Some("nvme")
    } else if has("virtio") {
        Some("virtio")
    } else if has("mmc") {
        Some("mmc")
    } else if has("ata") {
        Some("ata")
    } else if has("host") || has("target") {
        Some("scsi")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }

    #[test]
    fn device_numbers() {
        assert_eq!(devnum("8:0\n"), Some(dev(8, 0)));
        assert_eq!(devnum("259:12"), Some(dev(259, 12)));
        assert_eq!(devnum("sda"), None);
        assert_eq!(devnum("8:"), None);
    }

    #[test]
    fn mountinfo_gives_device_numbers_and_unescaped_mount_points() {
        let text = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                    40 27 8:17 / /mnt/my\\040disk rw shared:5 master:1 - xfs /dev/sdb1 rw\n\
                    22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    garbage\n";
        let mounts = mountinfo(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[0].devnum, dev(254, 0));
        assert_eq!(mounts[0].mount_point, "/");
        assert_eq!(mounts[1].mount_point, "/mnt/my disk");
        assert_eq!(mounts[2].devnum, dev(0, 21));
    }

    #[test]
    fn swaps_skip_the_header() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/sda3                               partition\t8388604\t\t0\t\t-2\n\
                    /swap\\040file                          file\t\t1048572\t\t0\t\t-3\n";
        assert_eq!(
            swaps(text),
            [
                SwapLine {
                    filename: "/dev/sda3".into(),
                    kind: "partition".into()
                },
                SwapLine {
                    filename: "/swap file".into(),
                    kind: "file".into()
                }
            ]
        );
        assert!(swaps("Filename Type Size Used Priority\n").is_empty());
    }

    #[test]
    fn written_bytes_are_sectors_written_times_512() {
        let stat = "   32004     6451  2620074    13485     9098    53637 17508392    74592        0     9468    89620";
        assert_eq!(written_bytes(stat), Some(17_508_392 * 512));
        assert_eq!(written_bytes("1 2 3"), None);
    }

    #[test]
    fn properties_are_key_value_lines() {
        let p = properties(
            "MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n\nID_FS_LABEL=a=b\n",
        );
        assert_eq!(p["DEVTYPE"], "partition");
        assert_eq!(p["PARTN"], "1");
        assert_eq!(p["ID_FS_LABEL"], "a=b");
    }

    #[test]
    fn holder_kinds_from_dm_uuids() {
        let kind = |name, uuid| holder_kind(name, uuid);
        assert_eq!(kind("dm-0", Some("LVM-abcdef")), HolderKind::Lvm);
        assert_eq!(
            kind("dm-1", Some("CRYPT-LUKS2-0123-luks")),
            HolderKind::DmCrypt
        );
        assert_eq!(
            kind("dm-2", Some("mpath-3600a0b80001")),
            HolderKind::Multipath
        );
        assert_eq!(
            kind("dm-3", Some("part1-mpath-3600a0b80001")),
            HolderKind::DeviceMapper
        );
        assert_eq!(kind("md127", None), HolderKind::MdRaid);
        assert_eq!(kind("bcache0", None), HolderKind::Other);
    }

    #[test]
    fn transport_from_sysfs_paths() {
        let t = transport_from_path;
        assert_eq!(
            t(
                "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdc"
            ),
            Some("usb")
        );
        assert_eq!(
            t("/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"),
            Some("ata")
        );
        assert_eq!(
            t("/sys/devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1"),
            Some("nvme")
        );
        assert_eq!(
            t("/sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"),
            Some("virtio")
        );
        assert_eq!(
            t("/sys/devices/pci0000:00/0000:00:10.0/host2/target2:0:0/2:0:0:0/block/sdb"),
            Some("scsi")
        );
        assert_eq!(t("/sys/devices/virtual/block/loop0"), None);
    }
}
