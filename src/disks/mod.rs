//! Where target disks come from: virtual disk files for the demo, the machine's own disks
//! through udev and sysfs.

mod parse;
pub mod report;
pub mod sysfs;
pub mod udev_disks;
mod used;
pub mod virtual_disks;

use crate::domain::model::LocalDisk;
use std::io;

pub trait DiskSource: Send + Sync {
    /// Every local disk that could receive a volume, boot medium included (marked).
    fn list(&self) -> io::Result<Vec<LocalDisk>>;
    /// Bytes written to the disk so far, from its own counters: lets the dashboard measure
    /// what really reaches the target, independently of what the service reports.
    fn written_bytes(&self, disk: &LocalDisk) -> io::Result<u64>;
    /// True when writes go to files, not to real devices (the demo).
    fn is_virtual(&self) -> bool;
}
