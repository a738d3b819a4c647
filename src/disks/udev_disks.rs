//! The machine's own disks: sysfs for what the kernel knows, udev's database for what is on
//! them (or blkid's probe where udevd does not run), procfs for what uses them.

use super::DiskSource;
use super::parse;
use super::sysfs::{Properties, PropertySource, Reader};
use crate::domain::block::BlockSystem;
use crate::domain::local_disks;
use crate::domain::model::LocalDisk;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// udev's property database, where it exists.
pub struct UdevProperties {
    database: bool,
}

impl UdevProperties {
    pub fn detect() -> UdevProperties {
        UdevProperties {
            database: Path::new("/run/udev/data").is_dir(),
        }
    }
}

/// What blkid finds on the device, in udev's own property names. None when the device cannot
/// be read or blkid cannot tell; an empty set when it holds no known signature.
fn probe(devnode: &Path) -> Option<Properties> {
    std::fs::File::open(devnode).ok()?;
    let out = Command::new("blkid")
        .args(["-p", "-o", "udev"])
        .arg(devnode)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    match out.status.code() {
        Some(0) => Some(parse::properties(&String::from_utf8_lossy(&out.stdout))),
        // blkid's "nothing was found"; the same code with a message is an error.
        Some(2) if out.stderr.is_empty() => Some(Properties::new()),
        _ => None,
    }
}

impl PropertySource for UdevProperties {
    fn properties(&self, sysname: &str, devnode: &Path) -> Option<Properties> {
        if self.database
            && let Ok(device) = udev::Device::from_subsystem_sysname("block".into(), sysname.into())
            && device.is_initialized()
        {
            return Some(
                device
                    .properties()
                    .map(|p| {
                        (
                            p.name().to_string_lossy().into_owned(),
                            p.value().to_string_lossy().into_owned(),
                        )
                    })
                    .collect(),
            );
        }
        probe(devnode)
    }

    fn missing(&self) -> Vec<String> {
        if self.database {
            return Vec::new();
        }
        vec![
            "udev's database (udevd is not running): serial numbers of SATA and SCSI disks are \
             unknown, and filesystems, labels and partition tables come from blkid's probe"
                .into(),
        ]
    }
}

/// Bytes written so far to the device `node` names, from the kernel's counters under `root`
/// (`/dev/mapper/mpatha` and `/dev/disk/by-id/...` are `dm-3` and `sdb` there).
pub fn device_written_bytes(root: &Path, node: &Path) -> io::Result<u64> {
    let node = std::fs::canonicalize(node)?;
    let name = node.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no device", node.display()),
        )
    })?;
    super::sysfs::written_bytes(root, &name.to_string_lossy())
}

/// Calls `changed` after each burst of block-device events udevd announces (a disk or a
/// partition added, removed or changed), until it returns false. Returns false, starting
/// nothing, where udevd does not run: the operator's rescan key still works there.
pub fn watch(changed: impl Fn() -> bool + Send + 'static) -> bool {
    if !Path::new("/run/udev/control").exists() {
        return false;
    }
    let watching = move || {
        let socket = match udev::MonitorBuilder::new()
            .and_then(|b| b.match_subsystem("block"))
            .and_then(|b| b.listen())
        {
            Ok(socket) => socket,
            Err(e) => return tracing::warn!(error = %e, "no udev monitor: rescan with r"),
        };
        let mut fd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&socket),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one pollfd, owned here, on a socket that outlives the call.
            if unsafe { libc::poll(&mut fd, 1, -1) } < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return tracing::warn!("udev monitor failed: rescan with r");
            }
            // The socket does not block: this takes the whole burst.
            if socket.iter().count() > 0 && !changed() {
                return;
            }
        }
    };
    std::thread::Builder::new()
        .name("udev-monitor".into())
        .spawn(watching)
        .is_ok()
}

/// Reads `root` (`/` on the machine) each time it is asked: disks come and go.
pub struct UdevDisks {
    root: PathBuf,
    include_loop: bool,
}

impl UdevDisks {
    pub fn new(include_loop: bool) -> UdevDisks {
        UdevDisks {
            root: PathBuf::from("/"),
            include_loop,
        }
    }

    /// Everything read about the machine's block devices, loop devices included.
    pub fn system(&self) -> io::Result<BlockSystem> {
        let mut system = Reader::new(&self.root, &UdevProperties::detect()).read()?;
        super::used::fill(&mut system);
        Ok(system)
    }
}

impl DiskSource for UdevDisks {
    fn list(&self) -> io::Result<Vec<LocalDisk>> {
        Ok(local_disks::local_disks(&self.system()?, self.include_loop))
    }

    fn written_bytes(&self, disk: &LocalDisk) -> io::Result<u64> {
        device_written_bytes(&self.root, &disk.path)
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_udevd_nothing_is_watched() {
        if Path::new("/run/udev/control").exists() {
            println!("SKIPPED: udevd runs here");
            return;
        }
        assert!(!watch(|| panic!("no events without udevd")));
    }
}
