//! Virtual target disks for the demo: sparse files that stand in for /dev names.

use super::DiskSource;
use crate::domain::bytes::Bytes;
use crate::domain::model::LocalDisk;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VirtualDiskSpec {
    pub device: String,
    pub bytes: u64,
    pub model: String,
    pub serial: String,
}

pub struct VirtualDisks {
    disks: Vec<LocalDisk>,
}

/// The file that plays the disk named `device` (`/dev/sdb` -> `sdb.img`).
pub fn file_name(device: &str) -> String {
    format!(
        "{}.img",
        device.trim_start_matches("/dev/").replace('/', "_")
    )
}

impl VirtualDisks {
    /// Creates (or reuses, keeping their contents) one sparse file per disk in `dir`,
    /// plus a virtual boot medium that is never offered as a target.
    pub fn create(dir: &Path, specs: &[VirtualDiskSpec]) -> io::Result<VirtualDisks> {
        std::fs::create_dir_all(dir)?;
        let disks = VirtualDisks::open(dir, specs);
        // The boot medium has no file.
        for (disk, spec) in disks.disks.iter().skip(1).zip(specs) {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&disk.path)?;
            if file.metadata()?.len() != spec.bytes {
                file.set_len(spec.bytes)?;
            }
            link_persistent_names(dir, disk)?;
        }
        Ok(disks)
    }

    /// The disks `create` made in `dir` (the demo's emulator makes them; its wizards list them).
    pub fn open(dir: &Path, specs: &[VirtualDiskSpec]) -> VirtualDisks {
        let mut disks = vec![LocalDisk {
            device: "/dev/sr0".into(),
            path: dir.join(file_name("/dev/sr0")),
            bytes: Bytes::mib(700),
            model: Some("drs-failback live medium".into()),
            serial: None,
            by_path: Some("virtual-sr0".into()),
            by_id: None,
            by_uuid: None,
            mounts: vec!["/run/live/medium".into()],
            is_boot_medium: true,
            contents: "the live image this wizard booted from".into(),
            ..Default::default()
        }];
        for (i, spec) in specs.iter().enumerate() {
            disks.push(LocalDisk {
                device: spec.device.clone(),
                path: dir.join(file_name(&spec.device)),
                bytes: Bytes(spec.bytes),
                model: Some(spec.model.clone()),
                serial: Some(spec.serial.clone()),
                by_path: Some(format!("virtual-0:0:{}:0", i + 1)),
                by_id: Some(format!(
                    "virtual-{}_{}",
                    spec.model.replace(' ', "_"),
                    spec.serial
                )),
                by_uuid: None,
                mounts: Vec::new(),
                is_boot_medium: false,
                contents: "virtual disk (sparse file)".into(),
                ..Default::default()
            });
        }
        VirtualDisks { disks }
    }
}

/// `dir/disk/by-*/<name>` links to each disk's file, as udev makes `/dev/disk/by-*/`, so a
/// failback client given persistent names finds the files the way it finds real devices.
fn link_persistent_names(dir: &Path, disk: &LocalDisk) -> io::Result<()> {
    for (kind, name) in [
        ("by-path", &disk.by_path),
        ("by-id", &disk.by_id),
        ("by-uuid", &disk.by_uuid),
    ] {
        let Some(name) = name else { continue };
        let links = dir.join("disk").join(kind);
        std::fs::create_dir_all(&links)?;
        let link = links.join(name);
        // Reused directories keep their links; a stale one is replaced.
        if std::fs::symlink_metadata(&link).is_ok() {
            std::fs::remove_file(&link)?;
        }
        std::os::unix::fs::symlink(&disk.path, &link)?;
    }
    Ok(())
}

impl DiskSource for VirtualDisks {
    fn list(&self) -> io::Result<Vec<LocalDisk>> {
        Ok(self.disks.clone())
    }

    /// Allocated blocks of the sparse file: grows only with bytes really written.
    fn written_bytes(&self, disk: &LocalDisk) -> io::Result<u64> {
        if disk.is_boot_medium {
            return Ok(0);
        }
        Ok(std::fs::metadata(&disk.path)?.blocks() * 512)
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn spec(device: &str, bytes: u64) -> VirtualDiskSpec {
        VirtualDiskSpec {
            device: device.into(),
            bytes,
            model: "Virtual Disk".into(),
            serial: "S1".into(),
        }
    }

    #[test]
    fn disks_are_sparse_and_count_real_writes() {
        let dir = tempfile::tempdir().unwrap();
        let disks = VirtualDisks::create(dir.path(), &[spec("/dev/sdb", 1 << 30)]).unwrap();
        let list = disks.list().unwrap();
        assert!(list[0].is_boot_medium);
        let sdb = &list[1];
        assert_eq!(sdb.bytes, Bytes::gib(1));
        assert_eq!(disks.written_bytes(sdb).unwrap(), 0);
        let mut f = OpenOptions::new().write(true).open(&sdb.path).unwrap();
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
        f.sync_all().unwrap();
        assert!(disks.written_bytes(sdb).unwrap() >= 1 << 20);
    }

    #[test]
    fn persistent_names_link_to_the_disk_files() {
        let dir = tempfile::tempdir().unwrap();
        let disks = VirtualDisks::create(dir.path(), &[spec("/dev/sdb", 1 << 20)]).unwrap();
        let sdb = disks.list().unwrap()[1].clone();
        let by_id = dir
            .path()
            .join("disk/by-id")
            .join(sdb.by_id.as_ref().unwrap());
        assert_eq!(
            std::fs::canonicalize(&by_id).unwrap(),
            std::fs::canonicalize(&sdb.path).unwrap()
        );
        // Creating again over the same directory keeps working.
        VirtualDisks::create(dir.path(), &[spec("/dev/sdb", 1 << 20)]).unwrap();
        assert!(
            dir.path()
                .join("disk/by-path")
                .join(sdb.by_path.unwrap())
                .exists()
        );
    }

    #[test]
    fn reopening_keeps_written_data() {
        let dir = tempfile::tempdir().unwrap();
        let first = VirtualDisks::create(dir.path(), &[spec("/dev/sdc", 1 << 24)]).unwrap();
        let sdc = first.list().unwrap()[1].clone();
        std::fs::write(&sdc.path, vec![1u8; 1 << 24]).unwrap();
        let again = VirtualDisks::create(dir.path(), &[spec("/dev/sdc", 1 << 24)]).unwrap();
        assert!(again.written_bytes(&sdc).unwrap() >= 1 << 24);
    }
}
