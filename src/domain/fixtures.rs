//! Builders shared by the domain rules' unit tests.

use super::bytes::Bytes;
use super::model::{LocalDisk, RecoveryVolume};

pub fn vol(name: &str, gib: u64) -> RecoveryVolume {
    RecoveryVolume {
        device_name: name.into(),
        bytes: Bytes::gib(gib),
    }
}

/// An empty, free local disk.
pub fn disk(device: &str, bytes: Bytes) -> LocalDisk {
    LocalDisk {
        device: device.into(),
        path: device.into(),
        bytes,
        model: None,
        serial: None,
        by_path: None,
        by_id: None,
        by_uuid: None,
        mounts: Vec::new(),
        is_boot_medium: false,
        contents: "empty".into(),
        ..Default::default()
    }
}

pub fn disk_gib(device: &str, gib: u64) -> LocalDisk {
    disk(device, Bytes::gib(gib))
}
