//! How this machine's block disks become the wizard's local disks: which are listed, their
//! preferred persistent names, what is on them, and why one cannot be chosen.

use super::block::{BlockDisk, BlockSystem, DevNum, DiskKind, Filesystem, HolderKind};
use super::bytes::Bytes;
use super::model::LocalDisk;

/// Mount points that mean "this system runs from here": the root filesystem and the live
/// medium (live-boot mounts it at /run/live/medium; older versions at /lib/live/mount/medium).
pub const BOOT_MOUNTS: [&str; 3] = ["/", "/run/live/medium", "/lib/live/mount/medium"];

/// The live image's filesystem labels, as `assets/live-labels` holds them for image/build.sh
/// (which sources it): the ISO's volume id and the disk image's ext4. A medium booted with
/// live-boot's `toram` is no longer mounted: its label still tells it.
pub fn live_labels() -> impl Iterator<Item = &'static str> {
    shell_assignments(include_str!("../../assets/live-labels")).map(|(_, value)| value)
}

/// `NAME=value` lines, without comments and blank lines.
fn shell_assignments(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
}

/// Why a disk cannot receive a volume, most serious first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BootMedium,
    Mounted(Vec<String>),
    Swap(Vec<String>),
    Held(Vec<String>),
    /// Another path to a disk offered under another name.
    OtherPath(String),
    ReadOnly,
}

impl Refusal {
    /// A stable word for scripts (`disks --json`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BootMedium => "boot-medium",
            Refusal::Mounted(_) => "mounted",
            Refusal::Swap(_) => "swap",
            Refusal::Held(_) => "held",
            Refusal::OtherPath(_) => "other-path",
            Refusal::ReadOnly => "read-only",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Refusal::BootMedium => "is the boot medium".into(),
            Refusal::Mounted(points) => format!("mounted at {}", points.join(", ")),
            Refusal::Swap(devices) => format!("used as swap ({})", devices.join(", ")),
            Refusal::Held(holders) => format!("held by {}", holders.join(", ")),
            Refusal::OtherPath(disk) => format!("another path to the same disk as {disk}"),
            Refusal::ReadOnly => "read-only".into(),
        }
    }
}

/// Every reason the disk cannot be chosen; empty when it may receive a volume.
pub fn refusals(disk: &LocalDisk) -> Vec<Refusal> {
    let mut out = Vec::new();
    if disk.is_boot_medium {
        out.push(Refusal::BootMedium);
    }
    if !disk.mounts.is_empty() {
        out.push(Refusal::Mounted(disk.mounts.clone()));
    }
    if !disk.swaps.is_empty() {
        out.push(Refusal::Swap(disk.swaps.clone()));
    }
    if !disk.holders.is_empty() {
        out.push(Refusal::Held(disk.holders.clone()));
    }
    if let Some(disk) = &disk.other_path_of {
        out.push(Refusal::OtherPath(disk.clone()));
    }
    if disk.read_only {
        out.push(Refusal::ReadOnly);
    }
    out
}

/// The most serious reason the disk cannot be chosen.
pub fn refusal(disk: &LocalDisk) -> Option<Refusal> {
    refusals(disk).into_iter().next()
}

/// Whether a disk of this kind is listed: loop, ram and zram devices only when asked for.
pub fn is_listed(disk: &BlockDisk, include_loop: bool) -> bool {
    include_loop || disk.kind != DiskKind::Virtual
}

/// The device numbers of the disk, its partitions and everything stacked on them.
fn stack(disk: &BlockDisk) -> Vec<DevNum> {
    std::iter::once(disk.devnum)
        .chain(disk.partitions.iter().map(|p| p.devnum))
        .chain(disk.holders.iter().map(|h| h.devnum))
        .collect()
}

/// Mount points of the disk, its partitions, or what is stacked on them (an LVM volume on a
/// partition, an open LUKS container), in mountinfo's order.
pub fn mount_points(disk: &BlockDisk, system: &BlockSystem) -> Vec<String> {
    let stack = stack(disk);
    let mut points: Vec<String> = Vec::new();
    for m in system.mounts.iter().filter(|m| stack.contains(&m.devnum)) {
        if !points.contains(&m.mount_point) {
            points.push(m.mount_point.clone());
        }
    }
    points
}

/// The filesystem a file is on: the mount with the longest mount point above it (the last
/// one mounted there when several are).
fn mount_holding(path: &str, system: &BlockSystem) -> Option<DevNum> {
    system
        .mounts
        .iter()
        .filter(|m| {
            let dir = m.mount_point.trim_end_matches('/');
            path == m.mount_point || path.starts_with(&format!("{dir}/"))
        })
        .max_by_key(|m| m.mount_point.len())
        .map(|m| m.devnum)
}

/// The devices the running system depends on: what is mounted at `/` or as the live medium,
/// and, where that is a loop device (an ISO file booted with live-boot's findiso), the
/// filesystem holding its file, and so on down.
fn boot_devnums(system: &BlockSystem) -> Vec<DevNum> {
    let mut found: Vec<DevNum> = system
        .mounts
        .iter()
        .filter(|m| BOOT_MOUNTS.contains(&m.mount_point.as_str()))
        .map(|m| m.devnum)
        .collect();
    let mut i = 0;
    while let Some(&dev) = found.get(i) {
        let file = system
            .disks
            .iter()
            .find(|d| stack(d).contains(&dev))
            .and_then(|d| d.backing_file.as_deref());
        if let Some(under) = file.and_then(|f| mount_holding(f, system))
            && !found.contains(&under)
        {
            found.push(under);
        }
        i += 1;
    }
    found
}

/// The medium this system runs from: it holds `/` or the live medium, directly, on a
/// partition, under holders (root on LVM on a partition, on RAID, on multipath), or as the
/// filesystem of the image file a loop device of those reads.
pub fn is_boot_medium(disk: &BlockDisk, system: &BlockSystem) -> bool {
    let boot = boot_devnums(system);
    let live = |fs: &Option<Filesystem>| {
        fs.as_ref()
            .and_then(|f| f.label.as_deref())
            .is_some_and(|l| live_labels().any(|live| live == l))
    };
    stack(disk).iter().any(|d| boot.contains(d))
        || live(&disk.filesystem)
        || disk.partitions.iter().any(|p| live(&p.filesystem))
}

/// Active swap areas on the disk or anything stacked on it.
pub fn swap_devices(disk: &BlockDisk, system: &BlockSystem) -> Vec<String> {
    let stack = stack(disk);
    system
        .swaps
        .iter()
        .filter(|s| stack.contains(&s.devnum))
        .map(|s| s.device.clone())
        .collect()
}

/// "dm-0 (LVM vg0-root) on sda2": each device that holds the disk or a partition of it.
/// Holders of holders are implied: the device directly on the disk is what must be released.
pub fn holder_descriptions(disk: &BlockDisk) -> Vec<String> {
    let own: Vec<&str> = std::iter::once(disk.name.as_str())
        .chain(disk.partitions.iter().map(|p| p.name.as_str()))
        .collect();
    disk.holders
        .iter()
        .filter(|h| own.contains(&h.holds.as_str()))
        .map(|h| {
            let what = match &h.detail {
                Some(d) => format!("{} {d}", h.kind.label()),
                None => h.kind.label().to_owned(),
            };
            format!("{} ({what}) on {}", h.name, h.holds)
        })
        .collect()
}

fn describe_fs(fs: &Filesystem) -> String {
    let named = match &fs.label {
        Some(label) => format!("{} \"{label}\"", fs.kind),
        None => fs.kind.clone(),
    };
    match fs.used_bytes {
        Some(used) if fs.used_estimated => format!("{named} (about {} used)", Bytes(used)),
        Some(used) => format!("{named} ({} used)", Bytes(used)),
        None => named,
    }
}

/// What is on the disk now, for the operator deciding whether it may be overwritten:
/// "gpt, 2 partitions: sda1 512 MiB vfat \"EFI\", sda2 99.5 GiB ext4", "ext4 \"data\"", "empty".
pub fn contents(disk: &BlockDisk) -> String {
    if !disk.contents_known {
        return "unknown: udev's database has nothing on it and it could not be probed".into();
    }
    if disk.partitions.is_empty() {
        return match (&disk.filesystem, &disk.table) {
            (Some(fs), _) => describe_fs(fs),
            (None, Some(table)) => format!("{table} partition table, no partitions"),
            (None, None) => "empty".into(),
        };
    }
    let parts: Vec<String> = disk
        .partitions
        .iter()
        .map(|p| {
            let fs = p
                .filesystem
                .as_ref()
                .map(describe_fs)
                .unwrap_or_else(|| "no filesystem".into());
            format!("{} {} {fs}", p.name, Bytes(p.bytes))
        })
        .collect();
    let count = match parts.len() {
        1 => "1 partition".to_owned(),
        n => format!("{n} partitions"),
    };
    match &disk.table {
        Some(table) => format!("{table}, {count}: {}", parts.join(", ")),
        None => format!("{count}: {}", parts.join(", ")),
    }
}

/// Rank of a by-id link: names built from model and serial first (what an operator can read
/// off the label), then WWNs, then the rest; ties go to the shorter, then the first name.
fn by_id_rank(name: &str) -> u8 {
    const SERIAL_BASED: [&str; 6] = ["ata-", "nvme-", "scsi-", "usb-", "virtio-", "mmc-"];
    if name.starts_with("nvme-eui.") || name.starts_with("nvme-nvme.") || name.starts_with("scsi-3")
    {
        1
    } else if SERIAL_BASED.iter().any(|p| name.starts_with(p)) {
        0
    } else if name.starts_with("wwn-") {
        1
    } else {
        2
    }
}

/// The one name used for the disk in `dir` (`by-path`, `by-id`, `by-uuid`), chosen the same
/// way every time from all its links, without the directory.
pub fn preferred_link(links: &[String], dir: &str) -> Option<String> {
    let prefix = format!("{dir}/");
    links
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .min_by_key(|name| {
            let rank = if dir == "by-id" { by_id_rank(name) } else { 0 };
            (rank, name.len(), name.to_string())
        })
        .map(str::to_owned)
}

/// The wizard's view of one disk, with every fact its safety rules need.
pub fn local_disk(disk: &BlockDisk, system: &BlockSystem) -> LocalDisk {
    LocalDisk {
        device: disk.devnode.clone(),
        path: disk.devnode.clone().into(),
        bytes: Bytes(disk.bytes),
        model: disk.model.clone(),
        serial: disk.serial.clone(),
        by_path: preferred_link(&disk.links, "by-path"),
        by_id: preferred_link(&disk.links, "by-id"),
        by_uuid: preferred_link(&disk.links, "by-uuid"),
        mounts: mount_points(disk, system),
        is_boot_medium: is_boot_medium(disk, system),
        contents: contents(disk),
        links: disk.links.clone(),
        swaps: swap_devices(disk, system),
        holders: holder_descriptions(disk),
        read_only: disk.read_only,
        removable: disk.removable,
        partition_names: disk
            .partitions
            .iter()
            .flat_map(|p| std::iter::once(format!("/dev/{}", p.name)).chain(p.links.clone()))
            .collect(),
        other_path_of: None,
    }
}

/// Disks that are paths to one LUN: the same WWN, with no multipath map over them (the live
/// image runs no multipathd). One is offered, the others refused, so no two volumes go to one
/// disk: the path udev's by-id names point at, else the first. Returns (refused, offered).
fn other_paths(disks: &[&BlockDisk]) -> Vec<(usize, usize)> {
    // Paths under a map are held by it already, and the map is the disk offered.
    let lun = |d: &BlockDisk| {
        let unmapped = d.holders.iter().all(|h| h.kind != HolderKind::Multipath);
        d.wwn
            .clone()
            .filter(|_| d.kind == DiskKind::Disk && unmapped)
    };
    let mut out = Vec::new();
    for (i, d) in disks.iter().enumerate() {
        let Some(wwn) = lun(d) else {
            continue;
        };
        let same: Vec<usize> = (0..disks.len())
            .filter(|&j| lun(disks[j]).as_ref() == Some(&wwn))
            .collect();
        let named = |j: &&usize| disks[**j].links.iter().any(|l| l.starts_with("by-id/"));
        let offered = *same.iter().find(named).unwrap_or(&same[0]);
        if offered != i {
            out.push((i, offered));
        }
    }
    out
}

/// The disks the wizard offers (the boot medium included, marked), in the order read.
pub fn local_disks(system: &BlockSystem, include_loop: bool) -> Vec<LocalDisk> {
    let listed: Vec<&BlockDisk> = system
        .disks
        .iter()
        .filter(|d| is_listed(d, include_loop))
        .collect();
    let mut disks: Vec<LocalDisk> = listed.iter().map(|d| local_disk(d, system)).collect();
    for (refused, offered) in other_paths(&listed) {
        let wwn = listed[offered].wwn.as_deref().unwrap_or_default();
        disks[refused].other_path_of = Some(format!("{} (WWN {wwn})", disks[offered].device));
    }
    disks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::block::{Holder, HolderKind, MountEntry, Partition, SwapEntry};

    fn dev(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }

    fn block(name: &str, devnum: DevNum) -> BlockDisk {
        BlockDisk::sample(name, devnum)
    }

    fn part(name: &str, devnum: DevNum, bytes: u64, fs: Option<(&str, Option<&str>)>) -> Partition {
        Partition {
            name: name.into(),
            devnum,
            number: None,
            bytes,
            filesystem: fs.map(|(kind, label)| Filesystem {
                kind: kind.into(),
                label: label.map(str::to_owned),
                uuid: None,
                ..Filesystem::default()
            }),
            links: Vec::new(),
        }
    }

    fn holder(name: &str, devnum: DevNum, kind: HolderKind, detail: &str, holds: &str) -> Holder {
        Holder {
            name: name.into(),
            devnum,
            kind,
            detail: Some(detail.into()),
            holds: holds.into(),
        }
    }

    fn mount(devnum: DevNum, at: &str) -> MountEntry {
        MountEntry {
            devnum,
            mount_point: at.into(),
        }
    }

    /// sda: gpt, sda1 EFI, sda2 an LVM PV whose volume vg0-root is `/`.
    fn root_on_lvm() -> BlockSystem {
        let mut sda = block("sda", dev(8, 0));
        sda.table = Some("gpt".into());
        sda.partitions = vec![
            part("sda1", dev(8, 1), 512 << 20, Some(("vfat", Some("EFI")))),
            part("sda2", dev(8, 2), 99 << 30, Some(("LVM2_member", None))),
        ];
        sda.holders = vec![
            holder("dm-0", dev(254, 0), HolderKind::Lvm, "vg0-root", "sda2"),
            holder("dm-1", dev(254, 1), HolderKind::Lvm, "vg0-swap", "sda2"),
        ];
        BlockSystem {
            disks: vec![sda, block("sdb", dev(8, 16))],
            mounts: vec![mount(dev(254, 0), "/"), mount(dev(8, 1), "/boot/efi")],
            swaps: vec![SwapEntry {
                devnum: dev(254, 1),
                device: "/dev/dm-1".into(),
            }],
            missing: Vec::new(),
        }
    }

    #[test]
    fn root_on_lvm_makes_its_disk_the_boot_medium_and_nothing_else() {
        let system = root_on_lvm();
        let disks = local_disks(&system, false);
        let sda = &disks[0];
        assert!(sda.is_boot_medium);
        assert_eq!(sda.mounts, ["/", "/boot/efi"]);
        assert_eq!(sda.swaps, ["/dev/dm-1"]);
        assert_eq!(
            sda.holders,
            ["dm-0 (LVM vg0-root) on sda2", "dm-1 (LVM vg0-swap) on sda2"]
        );
        assert_eq!(
            refusals(sda).iter().map(Refusal::code).collect::<Vec<_>>(),
            ["boot-medium", "mounted", "swap", "held"]
        );
        assert_eq!(refusal(&disks[1]), None);
    }

    #[test]
    fn live_medium_is_the_boot_medium_wherever_it_is_mounted() {
        for at in ["/run/live/medium", "/lib/live/mount/medium"] {
            let mut stick = block("sdc", dev(8, 32));
            stick.removable = true;
            stick.partitions = vec![part("sdc1", dev(8, 33), 4 << 30, Some(("iso9660", None)))];
            let system = BlockSystem {
                disks: vec![stick],
                mounts: vec![mount(dev(8, 33), at)],
                ..Default::default()
            };
            let disk = local_disk(&system.disks[0], &system);
            assert!(disk.is_boot_medium, "{at}");
            assert!(disk.removable);
            assert_eq!(refusal(&disk), Some(Refusal::BootMedium));
        }
    }

    #[test]
    fn a_live_medium_copied_to_ram_and_unmounted_is_still_the_boot_medium() {
        // toram: nothing of the stick is mounted, its labels say what it is.
        let mut iso = block("sdc", dev(8, 32));
        iso.filesystem = Some(Filesystem {
            kind: "iso9660".into(),
            label: Some("DRS_FAILBACK".into()),
            ..Filesystem::default()
        });
        let mut raw = block("sdd", dev(8, 48));
        raw.partitions = vec![
            part("sdd2", dev(8, 50), 16 << 20, Some(("vfat", Some("EFI")))),
            part("sdd3", dev(8, 51), 1 << 30, Some(("ext4", Some("DRSLIVE")))),
        ];
        let mut other = block("sde", dev(8, 64));
        other.partitions = vec![part(
            "sde1",
            dev(8, 65),
            8 << 30,
            Some(("ext4", Some("data"))),
        )];
        let system = BlockSystem {
            disks: vec![iso, raw, other],
            mounts: vec![mount(dev(0, 30), "/")],
            ..Default::default()
        };
        assert_eq!(
            local_disks(&system, false)
                .iter()
                .map(|d| d.is_boot_medium)
                .collect::<Vec<_>>(),
            [true, true, false]
        );
    }

    #[test]
    fn the_disk_holding_a_booted_iso_file_is_the_boot_medium() {
        // live-boot's findiso: sda1 is mounted at /run/live/findiso, the ISO file on it is
        // loop0, and loop0 is the live medium.
        let mut sda = block("sda", dev(8, 0));
        sda.partitions = vec![part("sda1", dev(8, 1), 32 << 30, Some(("exfat", None)))];
        let mut iso = block("loop0", dev(7, 0));
        iso.kind = DiskKind::Virtual;
        iso.backing_file = Some("/run/live/findiso/isos/drs-failback.iso".into());
        let system = BlockSystem {
            disks: vec![sda, iso, block("sdb", dev(8, 16))],
            mounts: vec![
                mount(dev(8, 1), "/run/live/findiso"),
                mount(dev(7, 0), "/run/live/medium"),
                mount(dev(0, 30), "/"),
            ],
            ..Default::default()
        };
        let disks = local_disks(&system, true);
        assert_eq!(
            disks.iter().map(|d| d.is_boot_medium).collect::<Vec<_>>(),
            [true, true, false]
        );
    }

    #[test]
    fn a_loop_device_over_a_file_on_root_makes_nothing_else_the_boot_medium() {
        let mut lo = block("loop1", dev(7, 1));
        lo.kind = DiskKind::Virtual;
        lo.backing_file = Some("/var/tmp/rehearsal.img".into());
        let system = BlockSystem {
            disks: vec![lo, block("sdb", dev(8, 16))],
            mounts: vec![mount(dev(0, 30), "/"), mount(dev(8, 16), "/var/tmp/x")],
            ..Default::default()
        };
        assert!(!is_boot_medium(&system.disks[0], &system));
        assert!(!is_boot_medium(&system.disks[1], &system));
    }

    #[test]
    fn a_disk_mounted_elsewhere_is_mounted_not_the_boot_medium() {
        let system = BlockSystem {
            disks: vec![block("sdb", dev(8, 16))],
            mounts: vec![mount(dev(8, 16), "/mnt/data")],
            ..Default::default()
        };
        let disk = local_disk(&system.disks[0], &system);
        assert!(!disk.is_boot_medium);
        assert_eq!(
            refusal(&disk),
            Some(Refusal::Mounted(vec!["/mnt/data".into()]))
        );
        assert_eq!(refusal(&disk).unwrap().describe(), "mounted at /mnt/data");
    }

    #[test]
    fn a_member_of_an_array_is_held_and_says_by_what() {
        let mut sdb = block("sdb", dev(8, 16));
        sdb.partitions = vec![part(
            "sdb1",
            dev(8, 17),
            10 << 30,
            Some(("linux_raid_member", Some("host:0"))),
        )];
        sdb.holders = vec![holder(
            "md0",
            dev(9, 0),
            HolderKind::MdRaid,
            "raid1",
            "sdb1",
        )];
        let system = BlockSystem {
            disks: vec![sdb],
            ..Default::default()
        };
        let disk = local_disk(&system.disks[0], &system);
        assert_eq!(
            refusal(&disk).unwrap().describe(),
            "held by md0 (MD RAID raid1) on sdb1"
        );
    }

    #[test]
    fn holders_of_holders_are_not_listed_as_holding_the_disk() {
        let mut sda = block("sda", dev(8, 0));
        sda.holders = vec![
            holder("dm-0", dev(254, 0), HolderKind::Multipath, "mpatha", "sda"),
            holder(
                "dm-1",
                dev(254, 1),
                HolderKind::DeviceMapper,
                "mpatha-part1",
                "dm-0",
            ),
        ];
        assert_eq!(
            holder_descriptions(&sda),
            ["dm-0 (multipath mpatha) on sda"]
        );
    }

    #[test]
    fn read_only_is_refused_last() {
        let mut ro = block("sdd", dev(8, 48));
        ro.read_only = true;
        let system = BlockSystem {
            disks: vec![ro],
            ..Default::default()
        };
        let disk = local_disk(&system.disks[0], &system);
        assert_eq!(refusals(&disk), [Refusal::ReadOnly]);
        assert_eq!(Refusal::ReadOnly.describe(), "read-only");
    }

    #[test]
    fn loop_devices_are_listed_only_when_asked_for() {
        let mut lo = block("loop0", dev(7, 0));
        lo.kind = DiskKind::Virtual;
        let system = BlockSystem {
            disks: vec![block("sda", dev(8, 0)), lo],
            ..Default::default()
        };
        assert_eq!(local_disks(&system, false).len(), 1);
        assert_eq!(local_disks(&system, true).len(), 2);
    }

    #[test]
    fn contents_say_what_would_be_destroyed() {
        let system = root_on_lvm();
        assert_eq!(
            contents(&system.disks[0]),
            "gpt, 2 partitions: sda1 512 MiB vfat \"EFI\", sda2 99 GiB LVM2_member"
        );
        assert_eq!(contents(&system.disks[1]), "empty");
        let mut whole = block("sde", dev(8, 64));
        whole.filesystem = Some(Filesystem {
            kind: "xfs".into(),
            label: Some("backup".into()),
            ..Filesystem::default()
        });
        assert_eq!(contents(&whole), "xfs \"backup\"");
        whole.filesystem.as_mut().unwrap().used_bytes = Some(1536 << 20);
        assert_eq!(contents(&whole), "xfs \"backup\" (1.5 GiB used)");
        whole.filesystem.as_mut().unwrap().used_estimated = true;
        assert_eq!(contents(&whole), "xfs \"backup\" (about 1.5 GiB used)");
        let mut unknown = block("sdf", dev(8, 80));
        unknown.contents_known = false;
        assert!(contents(&unknown).starts_with("unknown"));
        let mut bare = block("sdg", dev(8, 96));
        bare.table = Some("dos".into());
        assert_eq!(contents(&bare), "dos partition table, no partitions");
    }

    /// image/build.sh labels the live medium with assets/live-labels' values and no others, so
    /// the boot-medium rule knows every label the image carries.
    #[test]
    fn the_live_labels_are_the_ones_image_build_sh_gives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let build = std::fs::read_to_string(root.join("image/build.sh")).unwrap();
        let asset = std::fs::read_to_string(root.join("assets/live-labels")).unwrap();
        let vars: Vec<(&str, &str)> = shell_assignments(&asset).collect();
        assert!(
            build.contains(". \"$repo/assets/live-labels\""),
            "build.sh sources it"
        );
        // The word after each labelling option, with "$NAME" read from the asset.
        let given = |option: &str| -> Vec<String> {
            build
                .lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    words.position(|w| w == option)?;
                    let word = words.next()?.trim_matches('"');
                    Some(match word.strip_prefix('$') {
                        Some(name) => vars
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, v)| v.to_string())
                            .unwrap_or_else(|| format!("${name} (not in assets/live-labels)")),
                        None => word.to_owned(),
                    })
                })
                .collect()
        };
        let mut labels = [given("-volid"), given("-L")].concat();
        labels.sort();
        let mut known: Vec<String> = live_labels().map(String::from).collect();
        known.sort();
        assert_eq!(labels, known);
        assert_eq!(known, ["DRSLIVE", "DRS_FAILBACK"]);
    }

    #[test]
    fn preferred_names_are_stable_whatever_the_order_of_links() {
        let mut links: Vec<String> = [
            "by-id/wwn-0x5000c500a1b2c3d4",
            "by-id/scsi-35000c500a1b2c3d4",
            "by-id/ata-ST4000NM0035_ZC1A2B3C",
            "by-path/pci-0000:00:1f.2-ata-1.0",
            "by-path/pci-0000:00:1f.2-ata-1",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..links.len() {
            links.rotate_left(1);
            assert_eq!(
                preferred_link(&links, "by-id").as_deref(),
                Some("ata-ST4000NM0035_ZC1A2B3C")
            );
            assert_eq!(
                preferred_link(&links, "by-path").as_deref(),
                Some("pci-0000:00:1f.2-ata-1")
            );
        }
        assert_eq!(preferred_link(&links, "by-uuid"), None);
        let nvme = [
            "by-id/nvme-eui.0025388b71b2c3d4",
            "by-id/nvme-Samsung_SSD_980_S64DNX0R123456",
        ]
        .map(String::from);
        assert_eq!(
            preferred_link(&nvme, "by-id").as_deref(),
            Some("nvme-Samsung_SSD_980_S64DNX0R123456")
        );
    }
}
