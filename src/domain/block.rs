//! This machine's block devices as read from sysfs, udev and procfs: whole disks, what is on
//! them and what uses them. Plain data; the safety rules are in `disk_safety`.

/// A device number, `major:minor`: how mounts and swaps name the device they sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for DevNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// What kind of whole disk it is: decides whether it is listed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A disk with hardware (or a hypervisor) behind it.
    Disk,
    /// A device-mapper multipath map: the one disk its paths are.
    Multipath,
    /// Loop, ram and zram devices: listed only when asked for (tests, rehearsals on files).
    Virtual,
}

/// A filesystem (or other signature: swap, LVM2_member, linux_raid_member) found on a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filesystem {
    /// udev's ID_FS_TYPE, e.g. `ext4`, `swap`, `LVM2_member`.
    pub kind: String,
    pub label: Option<String>,
    pub uuid: Option<String>,
    /// Bytes in use, where they could be read (see `disks::used`).
    pub used_bytes: Option<u64>,
    /// `used_bytes` still counts some of the filesystem's own metadata: shown as "about".
    pub used_estimated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    Lvm,
    MdRaid,
    DmCrypt,
    Multipath,
    /// Another device-mapper target (a kpartx partition, a snapshot, ...).
    DeviceMapper,
    Other,
}

impl HolderKind {
    pub fn label(self) -> &'static str {
        match self {
            HolderKind::Lvm => "LVM",
            HolderKind::MdRaid => "MD RAID",
            HolderKind::DmCrypt => "dm-crypt",
            HolderKind::Multipath => "multipath",
            HolderKind::DeviceMapper => "device-mapper",
            HolderKind::Other => "block device",
        }
    }
}

/// A device that sits on the disk (or on one of its partitions, or on another holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Kernel name, e.g. `dm-0`, `md127`.
    pub name: String,
    pub devnum: DevNum,
    pub kind: HolderKind,
    /// The device-mapper name (`vg0-root`, `mpatha`) or the array's level (`raid1`).
    pub detail: Option<String>,
    /// The device it holds: the disk, one of its partitions, or another holder.
    pub holds: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Kernel name, e.g. `sda1`, `nvme0n1p2`.
    pub name: String,
    pub devnum: DevNum,
    pub number: Option<u32>,
    pub bytes: u64,
    pub filesystem: Option<Filesystem>,
    /// Persistent links, e.g. `by-uuid/0b3c...`, `by-id/ata-...-part1`.
    pub links: Vec<String>,
}

/// One whole block disk with everything read about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDisk {
    /// Kernel name, e.g. `sda`, `nvme0n1`, `dm-3`.
    pub name: String,
    /// The device node, e.g. `/dev/sda` (`/dev/mapper/<name>` for a multipath map).
    pub devnode: String,
    pub devnum: DevNum,
    pub kind: DiskKind,
    pub bytes: u64,
    pub logical_sector: u32,
    pub physical_sector: u32,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
    pub wwn: Option<String>,
    /// How it is attached: `ata`, `scsi`, `usb`, `nvme`, `virtio`, `mmc`, `multipath`, ...
    pub transport: Option<String>,
    pub rotational: Option<bool>,
    pub removable: bool,
    pub read_only: bool,
    /// udev's ID_PART_TABLE_TYPE: `gpt` or `dos`; None when there is none or it is unknown.
    pub table: Option<String>,
    /// A filesystem on the whole disk, without a partition table.
    pub filesystem: Option<Filesystem>,
    pub partitions: Vec<Partition>,
    /// Every device stacked on the disk, its partitions or those holders, nearest first.
    pub holders: Vec<Holder>,
    /// Persistent links to the whole disk, e.g. `by-id/wwn-0x5000c500a1b2c3d4`.
    pub links: Vec<String>,
    /// False when udev's database had nothing for it and no probe answered: contents unknown.
    pub contents_known: bool,
    /// The file a loop device reads and writes, as the kernel names it.
    pub backing_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub devnum: DevNum,
    pub mount_point: String,
}

/// An active swap area on a device (swap files are covered by their filesystem's mount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapEntry {
    pub devnum: DevNum,
    /// As /proc/swaps names it, e.g. `/dev/sda3`.
    pub device: String,
}

/// Everything read about the machine's block devices at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockSystem {
    pub disks: Vec<BlockDisk>,
    pub mounts: Vec<MountEntry>,
    pub swaps: Vec<SwapEntry>,
    /// Facts that could not be read on this machine, each with why, e.g. the persistent links
    /// when udevd is not running.
    pub missing: Vec<String>,
}

#[cfg(test)]
impl BlockDisk {
    /// A plain 100 GiB disk for tests; each test sets what it is about.
    pub fn sample(name: &str, devnum: DevNum) -> BlockDisk {
        BlockDisk {
            name: name.into(),
            devnode: format!("/dev/{name}"),
            devnum,
            kind: DiskKind::Disk,
            bytes: 100 << 30,
            logical_sector: 512,
            physical_sector: 512,
            model: None,
            vendor: None,
            serial: None,
            wwn: None,
            transport: None,
            rotational: None,
            removable: false,
            read_only: false,
            table: None,
            filesystem: None,
            partitions: Vec::new(),
            holders: Vec::new(),
            links: Vec::new(),
            contents_known: true,
            backing_file: None,
        }
    }
}
