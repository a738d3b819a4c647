//! This machine's facts (hostname, RAM, CPUs, boot mode, NICs), read with sysinfo and /sys.

use crate::domain::bytes::Bytes;
use crate::domain::model::{BootMode, HostFacts, HostIdentity};
use std::path::Path;

const EFIVARS: &str = "/sys/firmware/efi/efivars";

/// The global SecureBoot variable (EFI_GLOBAL_VARIABLE's GUID; a vendor's variable of the same
/// name is another thing): 4 attribute bytes then one byte, 1 when enabled.
const SECURE_BOOT: &str = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

/// Secure Boot's state from efivarfs at `efivars`; None when it cannot be read.
fn secure_boot(efivars: &Path) -> Option<bool> {
    let data = std::fs::read(efivars.join(SECURE_BOOT)).ok()?;
    data.get(4).map(|b| *b == 1)
}

/// Blocking: call from a worker task. What cannot be read is left empty, never fatal.
pub fn facts() -> HostFacts {
    use sysinfo::{CpuRefreshKind, Networks, System};
    let (ram, cpus, cpu_model) = match System::new() {
        Ok(mut sys) => {
            sys.refresh_memory();
            sys.refresh_cpu_list(CpuRefreshKind::nothing());
            let model = sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default();
            (sys.total_memory(), sys.cpus().len(), model)
        }
        Err(_) => (0, 0, String::new()),
    };
    let hostname = System::host_name().unwrap_or_else(|_| "unknown".into());
    let mut nics: Vec<(String, String)> = Networks::new_with_refreshed_list()
        .map(|n| {
            n.iter()
                .map(|(name, data)| {
                    (
                        name.to_string_lossy().into_owned(),
                        data.mac_address().to_string(),
                    )
                })
                .filter(|(name, mac)| name != "lo" && mac != "00:00:00:00:00:00")
                .collect()
        })
        .unwrap_or_default();
    nics.sort();
    let boot_mode = if Path::new("/sys/firmware/efi").exists() {
        BootMode::Uefi
    } else {
        BootMode::Bios
    };
    let vmware_uuid = std::fs::read_to_string("/sys/class/dmi/id/product_uuid")
        .ok()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    HostFacts {
        identity: HostIdentity {
            fqdn: hostname.contains('.').then(|| hostname.clone()),
            hostname: hostname.split('.').next().unwrap_or_default().to_owned(),
            macs: nics.iter().map(|(_, m)| m.to_lowercase()).collect(),
            vmware_uuid,
            aws_instance_id: None,
        },
        ram: Bytes(ram),
        cpus,
        cpu_model,
        boot_mode,
        secure_boot: if boot_mode == BootMode::Uefi {
            secure_boot(Path::new(EFIVARS))
        } else {
            None
        },
        nics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_boot_is_read_from_the_global_variable_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(secure_boot(dir.path()), None, "not readable: unknown");
        // A vendor's variable of the same name says nothing about Secure Boot.
        let vendor = dir
            .path()
            .join("SecureBoot-a1b2c3d4-0000-1111-2222-333344445555");
        std::fs::write(vendor, [6, 0, 0, 0, 1]).unwrap();
        assert_eq!(secure_boot(dir.path()), None);
        std::fs::write(dir.path().join(SECURE_BOOT), [6, 0, 0, 0, 0]).unwrap();
        assert_eq!(secure_boot(dir.path()), Some(false));
        std::fs::write(dir.path().join(SECURE_BOOT), [6, 0, 0, 0, 1]).unwrap();
        assert_eq!(secure_boot(dir.path()), Some(true));
    }
}
