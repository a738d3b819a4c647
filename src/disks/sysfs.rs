//! Reads the machine's block devices from a root directory: `/` on the machine, a recorded
//! sample tree in tests. sysfs gives the devices, their sizes, attributes and holders; procfs
//! the mounts and swaps; `/dev/disk/by-*` the persistent links; a `PropertySource` (udev's
//! database) what is on each device.

use super::parse;
use crate::domain::block::{
    BlockDisk, BlockSystem, DevNum, DiskKind, Filesystem, Holder, HolderKind, Partition, SwapEntry,
};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub type Properties = BTreeMap<String, String>;

/// What udev knows about a device: ID_FS_TYPE, ID_PART_TABLE_TYPE, ID_SERIAL_SHORT, ...
pub trait PropertySource {
    /// The device's properties; None when nothing is known about it (not "nothing on it").
    fn properties(&self, sysname: &str, devnode: &Path) -> Option<Properties>;
    /// Facts this source cannot give on this machine, each with why.
    fn missing(&self) -> Vec<String>;
}

/// The persistent link directories under /dev/disk, as `--dm-value-format` names them.
pub const LINK_DIRS: [&str; 3] = ["by-path", "by-id", "by-uuid"];

pub struct Reader<'a> {
    root: PathBuf,
    properties: &'a dyn PropertySource,
}

fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn read_flag(path: &Path) -> Option<bool> {
    read_trimmed(path).map(|v| v == "1")
}

fn read_number<T: std::str::FromStr>(path: &Path) -> Option<T> {
    read_trimmed(path)?.parse().ok()
}

/// Entries of a directory by name, sorted so that every read lists devices the same way.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by_key(|n| natural_key(n));
    names
}

/// `sdb` before `sdaa`, `nvme0n2` before `nvme0n10`: letters by length then alphabet, as the
/// kernel names disks, and digits as numbers.
fn natural_key(name: &str) -> Vec<(usize, String, u64)> {
    let mut parts = Vec::new();
    let (mut text, mut number) = (String::new(), String::new());
    for c in name.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            if !number.is_empty() {
                let n = std::mem::take(&mut number).parse().unwrap_or(u64::MAX);
                parts.push((text.len(), std::mem::take(&mut text), n));
            }
            text.push(c);
        }
    }
    parts.push((text.len(), text, number.parse().unwrap_or(0)));
    parts
}

fn filesystem(props: &Properties) -> Option<Filesystem> {
    let kind = props.get("ID_FS_TYPE").filter(|k| !k.is_empty())?;
    let get = |key: &str| props.get(key).filter(|v| !v.is_empty()).cloned();
    Some(Filesystem {
        kind: kind.clone(),
        label: get("ID_FS_LABEL"),
        uuid: get("ID_FS_UUID"),
        ..Filesystem::default()
    })
}

impl<'a> Reader<'a> {
    pub fn new(root: &Path, properties: &'a dyn PropertySource) -> Reader<'a> {
        Reader {
            root: root.to_owned(),
            properties,
        }
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    fn block(&self, name: &str) -> PathBuf {
        self.path("/sys/block").join(name)
    }

    /// Device name → its links (`by-id/...`), from /dev/disk/by-*/ symlinks.
    fn links(&self) -> HashMap<String, Vec<String>> {
        let mut links: HashMap<String, Vec<String>> = HashMap::new();
        for dir in LINK_DIRS {
            let base = self.path("/dev/disk").join(dir);
            for link in names(&base) {
                let Ok(target) = fs::read_link(base.join(&link)) else {
                    continue;
                };
                if let Some(device) = target.file_name() {
                    links
                        .entry(device.to_string_lossy().into_owned())
                        .or_default()
                        .push(format!("{dir}/{link}"));
                }
            }
        }
        links
    }

    /// Everything stacked on `name` (a disk or partition), nearest first, each holder once.
    fn holders(&self, dir: &Path, holds: &str, out: &mut Vec<Holder>) {
        for name in names(&dir.join("holders")) {
            if out.iter().any(|h| h.name == name) {
                continue;
            }
            let sys = self.block(&name);
            let dm_uuid = read_trimmed(&sys.join("dm/uuid"));
            let kind = parse::holder_kind(&name, dm_uuid.as_deref());
            let detail = match kind {
                HolderKind::MdRaid => read_trimmed(&sys.join("md/level")),
                _ => read_trimmed(&sys.join("dm/name")),
            };
            out.push(Holder {
                devnum: read_trimmed(&sys.join("dev"))
                    .and_then(|d| parse::devnum(&d))
                    .unwrap_or_default(),
                name: name.clone(),
                kind,
                detail,
                holds: holds.to_owned(),
            });
            self.holders(&sys, &name, out);
        }
    }

    fn kind(&self, name: &str) -> Option<DiskKind> {
        const VIRTUAL: [&str; 3] = ["loop", "ram", "zram"];
        if VIRTUAL.iter().any(|p| name.starts_with(p)) {
            return Some(DiskKind::Virtual);
        }
        // Optical drives cannot take a volume; MD arrays and device-mapper devices are
        // holders of the disks under them, except multipath maps, which are the disk.
        if name.starts_with("sr") || name.starts_with("md") {
            return None;
        }
        if name.starts_with("dm-") {
            let uuid = read_trimmed(&self.block(name).join("dm/uuid"))?;
            return uuid.starts_with("mpath-").then_some(DiskKind::Multipath);
        }
        Some(DiskKind::Disk)
    }

    fn partitions(&self, disk: &str, links: &HashMap<String, Vec<String>>) -> Vec<Partition> {
        let sys = self.block(disk);
        names(&sys)
            .into_iter()
            .filter(|n| sys.join(n).join("partition").is_file())
            .filter_map(|name| {
                let dir = sys.join(&name);
                let devnum = parse::devnum(&read_trimmed(&dir.join("dev"))?)?;
                let devnode = self.path("/dev").join(&name);
                let props = self.properties.properties(&name, &devnode);
                Some(Partition {
                    devnum,
                    number: read_number(&dir.join("partition")),
                    bytes: read_number::<u64>(&dir.join("size")).unwrap_or(0) * 512,
                    filesystem: props.as_ref().and_then(filesystem),
                    links: links.get(&name).cloned().unwrap_or_default(),
                    name,
                })
            })
            .collect()
    }

    fn disk(
        &self,
        name: &str,
        kind: DiskKind,
        links: &HashMap<String, Vec<String>>,
    ) -> Option<BlockDisk> {
        let sys = self.block(name);
        // The size attribute counts 512-byte sectors whatever the device's sector size.
        let bytes = read_number::<u64>(&sys.join("size"))? * 512;
        // Unattached loop and nbd devices, card readers without a card; the hidden per-path
        // devices of NVMe multipath, which have no device node.
        if bytes == 0 || read_flag(&sys.join("hidden")) == Some(true) {
            return None;
        }
        let devnum = parse::devnum(&read_trimmed(&sys.join("dev"))?)?;
        let dm_name = read_trimmed(&sys.join("dm/name"));
        // A multipath map's uuid is `mpath-<WWID of the LUN>`.
        let map_wwid = read_trimmed(&sys.join("dm/uuid"))
            .and_then(|u| Some(u.strip_prefix("mpath-")?.to_owned()));
        let devnode = match (kind, &dm_name) {
            (DiskKind::Multipath, Some(dm)) => format!("/dev/mapper/{dm}"),
            _ => format!("/dev/{name}"),
        };
        let props = self.properties.properties(name, &self.path(&devnode));
        let prop = |key: &str| props.as_ref()?.get(key).filter(|v| !v.is_empty()).cloned();
        let device = sys.join("device");
        // Virtio and PCI devices give a numeric vendor id there, not a name.
        let vendor = read_trimmed(&device.join("vendor"))
            .filter(|v| !v.starts_with("0x"))
            .or_else(|| prop("ID_VENDOR"));
        let sys_path = fs::canonicalize(&sys).unwrap_or_else(|_| sys.clone());
        let transport = match kind {
            DiskKind::Multipath => Some("multipath".to_owned()),
            _ => prop("ID_BUS").or_else(|| {
                parse::transport_from_path(&sys_path.to_string_lossy()).map(str::to_owned)
            }),
        };
        let mut holders = Vec::new();
        self.holders(&sys, name, &mut holders);
        let partitions = self.partitions(name, links);
        for p in &partitions {
            self.holders(&sys.join(&p.name), &p.name, &mut holders);
        }
        Some(BlockDisk {
            name: name.to_owned(),
            devnode,
            devnum,
            kind,
            bytes,
            logical_sector: read_number(&sys.join("queue/logical_block_size")).unwrap_or(512),
            physical_sector: read_number(&sys.join("queue/physical_block_size")).unwrap_or(512),
            model: read_trimmed(&device.join("model")).or_else(|| prop("ID_MODEL")),
            vendor,
            serial: prop("ID_SERIAL_SHORT")
                .or_else(|| read_trimmed(&sys.join("serial")))
                .or_else(|| read_trimmed(&device.join("serial"))),
            // SCSI's NAA 6 names: ID_WWN is the 64-bit part that every LUN of an array shares.
            wwn: prop("ID_WWN_WITH_EXTENSION")
                .or_else(|| prop("ID_WWN"))
                .or(map_wwid)
                .or_else(|| read_trimmed(&sys.join("wwid")))
                .or_else(|| read_trimmed(&device.join("wwid"))),
            transport,
            rotational: read_flag(&sys.join("queue/rotational")),
            removable: read_flag(&sys.join("removable")).unwrap_or(false),
            read_only: read_flag(&sys.join("ro")).unwrap_or(false),
            table: prop("ID_PART_TABLE_TYPE"),
            filesystem: props.as_ref().and_then(filesystem),
            partitions,
            holders,
            links: links.get(name).cloned().unwrap_or_default(),
            contents_known: props.is_some(),
            backing_file: read_trimmed(&sys.join("loop/backing_file")),
        })
    }

    /// The device number of a swap area's device: the node's own when it exists, else by
    /// kernel name among the devices read (recorded trees have no device nodes).
    fn swap_devnum(&self, filename: &str, known: &HashMap<String, DevNum>) -> Option<DevNum> {
        let node = self.path(filename);
        if let Ok(meta) = fs::metadata(&node)
            && meta.file_type().is_block_device()
        {
            let rdev = meta.rdev();
            return Some(DevNum {
                major: libc::major(rdev),
                minor: libc::minor(rdev),
            });
        }
        let name = fs::canonicalize(&node)
            .ok()
            .and_then(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .or_else(|| {
                Some(
                    Path::new(filename)
                        .file_name()?
                        .to_string_lossy()
                        .into_owned(),
                )
            })?;
        known.get(&name).copied()
    }

    pub fn read(&self) -> io::Result<BlockSystem> {
        let block_dir = self.path("/sys/block");
        // Without /sys/block nothing can be listed, without mountinfo nothing known to be
        // free: errors, not an empty or an idle machine.
        fs::read_dir(&block_dir).map_err(|e| named(&block_dir, e))?;
        let links = self.links();
        let disks: Vec<BlockDisk> = names(&block_dir)
            .into_iter()
            .filter_map(|name| {
                let kind = self.kind(&name)?;
                self.disk(&name, kind, &links)
            })
            .collect();
        let mountinfo = self.path("/proc/self/mountinfo");
        let mounts = fs::read_to_string(&mountinfo)
            .map(|t| parse::mountinfo(&t))
            .map_err(|e| named(&mountinfo, e))?;
        let mut known: HashMap<String, DevNum> = HashMap::new();
        for d in &disks {
            known.insert(d.name.clone(), d.devnum);
            known.extend(d.partitions.iter().map(|p| (p.name.clone(), p.devnum)));
            known.extend(d.holders.iter().map(|h| (h.name.clone(), h.devnum)));
        }
        // A kernel without swap support has no /proc/swaps. Swap files live on a mounted
        // filesystem: their disk is refused as mounted already.
        let swaps_path = self.path("/proc/swaps");
        let swaps = match fs::read_to_string(&swaps_path) {
            Ok(text) => parse::swaps(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(named(&swaps_path, e)),
        };
        let swaps = swaps
            .into_iter()
            .filter(|s| s.kind == "partition")
            .filter_map(|s| {
                Some(SwapEntry {
                    devnum: self.swap_devnum(&s.filename, &known)?,
                    device: s.filename,
                })
            })
            .collect();
        let mut missing = self.properties.missing();
        if !self.path("/dev/disk").is_dir() {
            missing.push(
                "persistent names (/dev/disk/by-path, by-id, by-uuid): udevd has not created \
                 them on this machine"
                    .into(),
            );
        }
        Ok(BlockSystem {
            disks,
            mounts,
            swaps,
            missing,
        })
    }
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Bytes written to the disk `name` (a kernel name) so far, from root's sysfs.
pub fn written_bytes(root: &Path, name: &str) -> io::Result<u64> {
    let path = root.join("sys/block").join(name).join("stat");
    let stat = fs::read_to_string(&path)?;
    parse::written_bytes(&stat).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a block device statistics line", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::local_disks::{local_disks, refusals};
    use crate::domain::model::LocalDisk;

    /// udev's properties as recorded from `udevadm info --query=property`, one file per device
    /// under `udev/` in the sample tree; a tree without that directory had no udevd.
    struct Recorded(PathBuf);

    impl PropertySource for Recorded {
        fn properties(&self, sysname: &str, _devnode: &Path) -> Option<Properties> {
            self.0.is_dir().then(|| {
                fs::read_to_string(self.0.join(sysname))
                    .map(|t| parse::properties(&t))
                    .unwrap_or_default()
            })
        }
        fn missing(&self) -> Vec<String> {
            match self.0.is_dir() {
                true => Vec::new(),
                false => vec!["udev's database: none recorded".into()],
            }
        }
    }

    fn tree(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/sysfs")
            .join(name)
    }

    fn read(name: &str) -> BlockSystem {
        let root = tree(name);
        Reader::new(&root, &Recorded(root.join("udev")))
            .read()
            .unwrap()
    }

    fn find<'a>(system: &'a BlockSystem, name: &str) -> &'a BlockDisk {
        system.disks.iter().find(|d| d.name == name).unwrap()
    }

    fn listed(system: &BlockSystem, include_loop: bool) -> Vec<LocalDisk> {
        local_disks(system, include_loop)
    }

    fn reasons(disk: &LocalDisk) -> Vec<String> {
        refusals(disk).iter().map(|r| r.describe()).collect()
    }

    fn by_device<'a>(disks: &'a [LocalDisk], device: &str) -> &'a LocalDisk {
        disks.iter().find(|d| d.device == device).unwrap()
    }

    #[test]
    fn a_pasted_target_may_be_any_link_of_a_disk_but_not_a_partition() {
        use crate::domain::mapping::{TargetProblem, resolve_target};
        let disks = listed(&read("server"), false);
        let sda = disks.iter().position(|d| d.device == "/dev/sda").unwrap();
        let nvme0n1 = disks
            .iter()
            .position(|d| d.device == "/dev/nvme0n1")
            .unwrap();
        // The preferred names are ata-... and pci-...-ata-1; these are the others.
        for (name, disk) in [
            ("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", sda),
            ("wwn-0x5000c500a1b2c3d4", sda),
            ("/dev/disk/by-path/pci-0000:00:1f.2-ata-1.0", sda),
            ("/dev/disk/by-id/nvme-eui.0025388b71b2c3d1", nvme0n1),
        ] {
            assert_eq!(resolve_target(name, &disks), Ok(disk), "{name}");
        }
        let sda_part = Err(TargetProblem::Partition {
            disk: "/dev/sda".into(),
        });
        for name in [
            "/dev/sda1",
            "/dev/disk/by-id/ata-ST4000NM0035-1V4107_ZC1A2B3C-part2",
            "/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1",
            "/dev/disk/by-uuid/A1B2-C3D4",
        ] {
            assert_eq!(resolve_target(name, &disks), sda_part, "{name}");
        }
        assert_eq!(
            resolve_target(
                "/dev/disk/by-uuid/5d1e0f3a-1111-2222-3333-444455556666",
                &disks
            ),
            Err(TargetProblem::Partition {
                disk: "/dev/nvme0n1".into()
            })
        );
        assert_eq!(
            resolve_target("/dev/disk/by-id/dm-name-vg0-root", &disks),
            Err(TargetProblem::NoDisk)
        );
    }

    #[test]
    fn lists_whole_disks_without_optical_md_unattached_or_virtual_devices() {
        let system = read("server");
        let names: Vec<String> = listed(&system, false)
            .into_iter()
            .map(|d| d.device)
            .collect();
        assert_eq!(
            names,
            [
                "/dev/mapper/mpatha",
                "/dev/sda",
                "/dev/sdb",
                "/dev/sdc",
                "/dev/sdd",
                "/dev/sde",
                "/dev/sdf",
                "/dev/sdg",
                "/dev/nvme0n1",
                "/dev/nvme0n2"
            ]
        );
        let with_loop: Vec<String> = listed(&system, true)
            .into_iter()
            .map(|d| d.device)
            .collect();
        assert_eq!(with_loop.len(), 13, "{with_loop:?}");
        for extra in ["/dev/loop0", "/dev/ram0", "/dev/zram0"] {
            assert!(with_loop.iter().any(|d| d == extra), "{extra}");
        }
        assert!(
            !with_loop.iter().any(|d| d == "/dev/loop1"),
            "unattached loop"
        );
        assert!(system.missing.is_empty(), "{:?}", system.missing);
    }

    #[test]
    fn a_sata_disk_with_lvm_on_a_partition_holding_root() {
        let system = read("server");
        let sda = find(&system, "sda");
        assert_eq!(sda.devnum, DevNum { major: 8, minor: 0 });
        assert_eq!(sda.bytes, 4_000_000_000_000 / 512 * 512);
        assert_eq!((sda.logical_sector, sda.physical_sector), (512, 4096));
        assert_eq!(sda.model.as_deref(), Some("ST4000NM0035-1V4"));
        assert_eq!(sda.vendor.as_deref(), Some("ATA"));
        assert_eq!(sda.serial.as_deref(), Some("ZC1A2B3C"));
        assert_eq!(sda.wwn.as_deref(), Some("0x5000c500a1b2c3d4"));
        assert_eq!(sda.transport.as_deref(), Some("ata"));
        assert_eq!(sda.rotational, Some(true));
        assert_eq!(sda.table.as_deref(), Some("gpt"));
        assert_eq!(sda.partitions.len(), 2);
        let efi = sda.partitions[0].filesystem.as_ref().unwrap();
        assert_eq!(
            (efi.kind.as_str(), efi.label.as_deref()),
            ("vfat", Some("EFI"))
        );
        assert_eq!(efi.uuid.as_deref(), Some("A1B2-C3D4"));
        assert!(
            sda.partitions[0]
                .links
                .contains(&"by-uuid/A1B2-C3D4".to_string())
        );
        let holders: Vec<(&str, HolderKind, &str)> = sda
            .holders
            .iter()
            .map(|h| (h.name.as_str(), h.kind, h.holds.as_str()))
            .collect();
        assert_eq!(
            holders,
            [
                ("dm-0", HolderKind::Lvm, "sda2"),
                ("dm-1", HolderKind::Lvm, "sda2")
            ]
        );
        assert_eq!(sda.links.len(), 4, "{:?}", sda.links);

        let disks = listed(&system, false);
        let sda = by_device(&disks, "/dev/sda");
        assert_eq!(
            sda.by_id.as_deref(),
            Some("ata-ST4000NM0035-1V4107_ZC1A2B3C")
        );
        assert_eq!(sda.by_path.as_deref(), Some("pci-0000:00:1f.2-ata-1"));
        assert!(sda.is_boot_medium);
        assert_eq!(
            reasons(sda),
            [
                "is the boot medium",
                "mounted at /, /boot/efi",
                "used as swap (/dev/dm-1)",
                "held by dm-0 (LVM vg0-root) on sda2, dm-1 (LVM vg0-swap) on sda2"
            ]
        );
        assert_eq!(
            sda.contents,
            "gpt, 2 partitions: sda1 512 MiB vfat \"EFI\", sda2 3.64 TiB LVM2_member"
        );
    }

    #[test]
    fn members_of_an_md_array_are_held_and_mounted_through_it() {
        let disks = listed(&read("server"), false);
        for (device, part) in [("/dev/sdb", "sdb1"), ("/dev/sdc", "sdc1")] {
            assert_eq!(
                reasons(by_device(&disks, device)),
                [
                    "mounted at /var/lib/data".to_string(),
                    format!("held by md0 (MD RAID raid1) on {part}")
                ]
            );
        }
    }

    #[test]
    fn multipath_paths_are_held_and_the_map_is_the_disk() {
        let system = read("server");
        let disks = listed(&system, false);
        for path in ["/dev/sdd", "/dev/sde"] {
            let name = path.trim_start_matches("/dev/");
            assert_eq!(
                reasons(by_device(&disks, path)),
                [
                    "mounted at /srv/san".to_string(),
                    format!("held by dm-2 (multipath mpatha) on {name}")
                ]
            );
        }
        let map = find(&system, "dm-2");
        assert_eq!(map.kind, DiskKind::Multipath);
        assert_eq!(map.transport.as_deref(), Some("multipath"));
        assert_eq!(map.bytes, 2048 << 30);
        assert_eq!(
            map.wwn.as_deref(),
            Some("3600a098038303053453f463045727a6b")
        );
        // Each path is the LUN's to udev (its page 0x83 id); the by-id names are the map's.
        for path in ["sdd", "sde"] {
            let p = find(&system, path);
            assert_eq!(
                p.serial.as_deref(),
                Some("600a098038303053453f463045727a6b")
            );
            assert!(
                p.links.iter().all(|l| l.starts_with("by-path/")),
                "{:?}",
                p.links
            );
        }
        let map = by_device(&disks, "/dev/mapper/mpatha");
        // Not dm-name-mpatha: user_friendly_names come from a bindings file the live image
        // does not have.
        assert_eq!(
            map.by_id.as_deref(),
            Some("scsi-3600a098038303053453f463045727a6b")
        );
        assert_eq!(
            reasons(map),
            [
                "mounted at /srv/san",
                "held by dm-3 (device-mapper mpatha-part1) on dm-2"
            ]
        );
    }

    /// The live image on a host with two paths to one SAN LUN: it runs no multipathd, so no
    /// map holds them and both look free. One is offered (the one udev's by-id names point at),
    /// the other refused, so no two volumes are written to one disk. Another LUN of the same
    /// array shares the paths' ID_WWN (NAA 6's first 64 bits) and is a disk of its own.
    #[test]
    fn two_paths_to_one_lun_without_multipathd_offer_it_once() {
        use crate::domain::mapping::resolve_target;
        let system = read("san");
        let disks = listed(&system, false);
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(names, ["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd"]);
        assert_eq!(
            reasons(by_device(&disks, "/dev/sda")),
            ["is the boot medium", "mounted at /run/live/medium"]
        );
        assert_eq!(
            reasons(by_device(&disks, "/dev/sdb")),
            ["another path to the same disk as /dev/sdc (WWN 0x600a0980383030534c2b4a6f4d2f7a31)"]
        );
        let sdc = by_device(&disks, "/dev/sdc");
        assert!(reasons(sdc).is_empty());
        assert_eq!(
            sdc.by_id.as_deref(),
            Some("scsi-3600a0980383030534c2b4a6f4d2f7a31")
        );
        let at = |device: &str| disks.iter().position(|d| d.device == device).unwrap();
        assert_eq!(
            resolve_target(
                "/dev/disk/by-id/wwn-0x600a0980383030534c2b4a6f4d2f7a31",
                &disks
            ),
            Ok(at("/dev/sdc"))
        );
        let sdd = find(&system, "sdd");
        assert_eq!(
            sdd.wwn.as_deref(),
            Some("0x600a0980383030534c2b4a6f4d2f7a32")
        );
        assert!(reasons(by_device(&disks, "/dev/sdd")).is_empty());
    }

    #[test]
    fn nvme_namespaces_are_two_disks_of_one_controller() {
        let system = read("server");
        for (name, bytes) in [("nvme0n1", 1000), ("nvme0n2", 200)] {
            let ns = find(&system, name);
            assert_eq!(ns.bytes, bytes * 1_000_000_000 / 4096 * 4096);
            assert_eq!(ns.model.as_deref(), Some("Samsung SSD 980 PRO 1TB"));
            assert_eq!(ns.serial.as_deref(), Some("S64DNX0R123456"));
            assert_eq!(ns.transport.as_deref(), Some("nvme"));
            assert_eq!((ns.logical_sector, ns.rotational), (4096, Some(false)));
        }
        assert_eq!(
            find(&system, "nvme0n1").wwn.as_deref(),
            Some("eui.0025388b71b2c3d1")
        );
        let disks = listed(&system, false);
        let n1 = by_device(&disks, "/dev/nvme0n1");
        assert!(reasons(n1).is_empty());
        assert_eq!(
            n1.by_id.as_deref(),
            Some("nvme-Samsung_SSD_980_PRO_1TB_S64DNX0R123456")
        );
        assert_eq!(
            n1.contents,
            "gpt, 1 partition: nvme0n1p1 931.32 GiB xfs \"data\""
        );
        let n2 = by_device(&disks, "/dev/nvme0n2");
        assert_eq!(n2.by_path.as_deref(), Some("pci-0000:3d:00.0-nvme-2"));
        assert_eq!(n2.contents, "empty");
    }

    #[test]
    fn a_usb_stick_is_removable_and_may_be_chosen() {
        let system = read("server");
        let sdf = find(&system, "sdf");
        assert_eq!(sdf.transport.as_deref(), Some("usb"));
        assert_eq!(sdf.vendor.as_deref(), Some("SanDisk"));
        assert_eq!(sdf.model.as_deref(), Some("Cruzer Blade"));
        let disks = listed(&system, false);
        let stick = by_device(&disks, "/dev/sdf");
        assert!(stick.removable);
        assert!(reasons(stick).is_empty());
        assert_eq!(
            stick.contents,
            "dos, 1 partition: sdf1 14.55 GiB vfat \"STICK\""
        );
    }

    #[test]
    fn a_read_only_disk_and_zram_swap() {
        let disks = listed(&read("server"), true);
        assert_eq!(reasons(by_device(&disks, "/dev/sdg")), ["read-only"]);
        assert_eq!(
            reasons(by_device(&disks, "/dev/zram0")),
            ["used as swap (/dev/zram0)"]
        );
        assert!(reasons(by_device(&disks, "/dev/loop0")).is_empty());
    }

    /// Recorded inside the live image's QEMU guest (`image/boot-test --record-sample qcow2`):
    /// LVM on a whole disk, an MD RAID1 over two, dm-crypt on a partition, and a free disk.
    #[test]
    fn real_lvm_md_and_dm_crypt_hold_their_disks() {
        let system = read("guest");
        assert!(system.missing.is_empty(), "{:?}", system.missing);
        let disks = listed(&system, false);
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(
            names,
            ["/dev/sdc", "/dev/sdd", "/dev/sde", "/dev/sdf", "/dev/vda"],
            "the holders are not disks of their own"
        );
        let expected = [
            ("/dev/sdc", "held by dm-0 (LVM drstest-data) on sdc"),
            ("/dev/sdd", "held by md127 (MD RAID raid1) on sdd"),
            ("/dev/sde", "held by md127 (MD RAID raid1) on sde"),
            ("/dev/sdf", "held by dm-1 (dm-crypt drstest-crypt) on sdf1"),
        ];
        for (device, reason) in expected {
            assert_eq!(reasons(by_device(&disks, device)), [reason], "{device}");
        }
        let free = by_device(&disks, "/dev/vda");
        assert!(reasons(free).is_empty());
        assert_eq!(free.by_id.as_deref(), Some("virtio-DRSTEST-VIRTIO-1G"));
        assert_eq!(free.contents, "empty");
    }

    #[test]
    fn what_is_on_the_guests_held_disks_comes_from_udev() {
        let system = read("guest");
        let kinds = |name: &str| -> Vec<(String, HolderKind, Option<String>, String)> {
            find(&system, name)
                .holders
                .iter()
                .map(|h| (h.name.clone(), h.kind, h.detail.clone(), h.holds.clone()))
                .collect()
        };
        assert_eq!(
            kinds("sdc"),
            [(
                "dm-0".into(),
                HolderKind::Lvm,
                Some("drstest-data".into()),
                "sdc".into()
            )]
        );
        assert_eq!(
            kinds("sdd"),
            [(
                "md127".into(),
                HolderKind::MdRaid,
                Some("raid1".into()),
                "sdd".into()
            )]
        );
        assert_eq!(
            kinds("sdf"),
            [(
                "dm-1".into(),
                HolderKind::DmCrypt,
                Some("drstest-crypt".into()),
                "sdf1".into()
            )]
        );
        let fs = |name: &str| {
            find(&system, name)
                .filesystem
                .as_ref()
                .map(|f| f.kind.clone())
        };
        assert_eq!(fs("sdc").as_deref(), Some("LVM2_member"));
        assert_eq!(fs("sdd").as_deref(), Some("linux_raid_member"));
        let sdf = find(&system, "sdf");
        assert_eq!(sdf.table.as_deref(), Some("dos"));
        assert_eq!(sdf.partitions.len(), 1);
        assert_eq!(sdf.partitions[0].bytes, 64 << 20);
        for (name, serial) in [("sdc", "DRSTEST-LVM"), ("sdf", "DRSTEST-CRYPT")] {
            let disk = find(&system, name);
            assert_eq!(disk.serial.as_deref(), Some(serial));
            assert_eq!(disk.transport.as_deref(), Some("scsi"));
            assert_eq!(disk.bytes, 256 << 20);
        }
        let disks = listed(&system, false);
        let sdc = by_device(&disks, "/dev/sdc");
        assert_eq!(
            sdc.by_id.as_deref(),
            Some("scsi-0QEMU_QEMU_HARDDISK_DRSTEST-LVM")
        );
        assert_eq!(
            sdc.by_path.as_deref(),
            Some("pci-0000:00:05.0-scsi-0:0:1:0")
        );
    }

    #[test]
    fn live_system_without_udevd_finds_the_live_medium_and_says_what_is_missing() {
        let system = read("live");
        let disks = listed(&system, false);
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(names, ["/dev/sda", "/dev/sdb"]);
        let stick = by_device(&disks, "/dev/sdb");
        assert!(stick.is_boot_medium && stick.removable);
        assert_eq!(
            reasons(stick),
            ["is the boot medium", "mounted at /run/live/medium"]
        );
        let target = by_device(&disks, "/dev/sda");
        assert!(reasons(target).is_empty());
        assert!(
            target.contents.starts_with("unknown"),
            "{}",
            target.contents
        );
        assert_eq!(system.missing.len(), 2, "{:?}", system.missing);
        assert!(system.missing[0].starts_with("udev's database"));
        assert!(system.missing[1].starts_with("persistent names"));
        let with_loop = listed(&system, true);
        assert_eq!(
            reasons(by_device(&with_loop, "/dev/loop0")),
            ["mounted at /run/live/rootfs/filesystem.squashfs"]
        );
    }

    /// What `drs-failback disks` prints for the sample machines, kept in tests/snapshots.
    #[test]
    fn disks_report_of_the_sample_machines() {
        for (name, include_loop) in [
            ("server", true),
            ("live", false),
            ("guest", false),
            ("san", false),
        ] {
            let report = super::super::report::report(&read(name), include_loop);
            insta::with_settings!({snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(format!("disks_{name}"), super::super::report::text(&report));
            });
        }
    }

    #[test]
    fn written_bytes_come_from_the_disks_own_counters() {
        assert_eq!(
            written_bytes(&tree("server"), "sda").unwrap(),
            17_508_392 * 512
        );
        assert!(written_bytes(&tree("server"), "sdz").is_err());
    }

    #[test]
    fn a_root_without_sysfs_or_mountinfo_is_an_error_that_names_the_file() {
        let root = tempfile::tempdir().unwrap();
        let source = Recorded(root.path().join("udev"));
        let error = |root: &Path| Reader::new(root, &source).read().unwrap_err().to_string();
        assert!(
            error(root.path()).contains("sys/block: "),
            "{}",
            error(root.path())
        );
        fs::create_dir_all(root.path().join("sys/block")).unwrap();
        assert!(
            error(root.path()).contains("proc/self/mountinfo: "),
            "{}",
            error(root.path())
        );
        fs::create_dir_all(root.path().join("proc/self")).unwrap();
        fs::write(root.path().join("proc/self/mountinfo"), "").unwrap();
        // No /proc/swaps: a kernel without swap.
        assert_eq!(Reader::new(root.path(), &source).read().unwrap().disks, []);
    }

    #[test]
    fn device_names_sort_as_the_kernel_numbers_them() {
        let sorted = |mut names: Vec<&'static str>| {
            names.sort_by_key(|n| natural_key(n));
            names
        };
        assert_eq!(sorted(vec!["sdaa", "sdb", "sda"]), ["sda", "sdb", "sdaa"]);
        assert_eq!(
            sorted(vec!["nvme0n10", "nvme1n1", "nvme0n2"]),
            ["nvme0n2", "nvme0n10", "nvme1n1"]
        );
    }
}
