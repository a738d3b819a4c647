//! Where a local name of the device mapping is written.
//!
//! On a real machine the name is the device: `/dev/sdb` itself, a persistent name under
//! `/dev/disk/by-*/`. The demo's targets are files, so the demo runner sets
//! `DRS_FAILBACK_DEMO_DISKS` to its disk directory, and the same names resolve inside it
//! (`/dev/sdb` -> `sdb.img`, persistent names -> the `disk/by-*/` links `VirtualDisks` makes).
//! An environment variable, not an argument: the stand-in takes exactly failback_entry's
//! arguments, and only the demo sets it, so the stand-in can never be pointed at files by
//! mistake on a real failback, nor at real devices during a demo.

use std::path::{Path, PathBuf};

use super::args::ValueFormat;
use crate::disks::virtual_disks::file_name;

pub const DEMO_DISKS_ENV: &str = "DRS_FAILBACK_DEMO_DISKS";

fn persistent_dirs(format: ValueFormat) -> &'static [&'static str] {
    match format {
        ValueFormat::DevName => &[],
        ValueFormat::ByPath => &["by-path"],
        ValueFormat::ById => &["by-id"],
        ValueFormat::ByUuid => &["by-uuid"],
        ValueFormat::AllStrict => &["by-path", "by-id", "by-uuid"],
    }
}

/// The path to write for local name `name`, or why there is none. `root` is the demo's disk
/// directory, or None for the machine's own `/dev`.
pub fn resolve(name: &str, format: ValueFormat, root: Option<&Path>) -> Result<PathBuf, String> {
    let name = name.trim();
    let unsafe_name = name.is_empty() || name.split('/').any(|part| part == "..");
    if unsafe_name {
        return Err(format!("`{name}` is not a device name"));
    }
    if format == ValueFormat::DevName {
        let device = if name.starts_with("/dev/") {
            name.to_owned()
        } else {
            format!("/dev/{name}")
        };
        return Ok(match root {
            Some(dir) => dir.join(file_name(&device)),
            None => PathBuf::from(device),
        });
    }
    let disk_dir = match root {
        Some(dir) => dir.join("disk"),
        None => PathBuf::from("/dev/disk"),
    };
    let dirs = persistent_dirs(format);
    let candidates: Vec<PathBuf> = dirs
        .iter()
        .map(|kind| {
            let id = name
                .strip_prefix(&format!("/dev/disk/{kind}/"))
                .unwrap_or(name);
            disk_dir.join(kind).join(id)
        })
        .filter(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_ok())
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no disk is named `{name}` under {}",
            dirs.iter()
                .map(|k| disk_dir.join(k).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Err(format!(
            "`{name}` names more than one disk ({}); use --dm-value-format by-path, by-id or by-uuid",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The local disks to offer the service for a suggested mapping (no `--device-mapping`):
/// the demo's disk files only; on a real machine the operator gives the mapping.
pub fn demo_disks(root: &Path) -> Result<Vec<(String, u64)>, String> {
    let entries =
        std::fs::read_dir(root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".img") else {
            continue;
        };
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
        out.push((format!("/dev/{stem}"), bytes));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disks::virtual_disks::{VirtualDiskSpec, VirtualDisks};

    #[test]
    fn real_names_are_the_devices() {
        assert_eq!(
            resolve("/dev/sdb", ValueFormat::DevName, None),
            Ok("/dev/sdb".into())
        );
        assert_eq!(
            resolve("sdb", ValueFormat::DevName, None),
            Ok("/dev/sdb".into())
        );
        assert!(resolve("/dev/../etc/passwd", ValueFormat::DevName, None).is_err());
        let err = resolve("no-such-disk-id", ValueFormat::ById, None).unwrap_err();
        assert!(err.contains("/dev/disk/by-id"), "{err}");
    }

    #[test]
    fn demo_names_resolve_to_the_disk_files() {
        let dir = tempfile::tempdir().unwrap();
        let spec = VirtualDiskSpec {
            device: "/dev/sdb".into(),
            bytes: 1 << 20,
            model: "QEMU HARDDISK".into(),
            serial: "S1".into(),
        };
        let disks = VirtualDisks::create(dir.path(), &[spec]).unwrap();
        let sdb = crate::disks::DiskSource::list(&disks).unwrap()[1].clone();
        let root = Some(dir.path());
        assert_eq!(
            resolve("/dev/sdb", ValueFormat::DevName, root),
            Ok(sdb.path.clone())
        );
        let by_path = sdb.by_path.clone().unwrap();
        let canon = |p: PathBuf| std::fs::canonicalize(p).unwrap();
        for (name, format) in [
            (by_path.clone(), ValueFormat::ByPath),
            (format!("/dev/disk/by-path/{by_path}"), ValueFormat::ByPath),
            (sdb.by_id.clone().unwrap(), ValueFormat::ById),
            (by_path.clone(), ValueFormat::AllStrict),
        ] {
            let p = resolve(&name, format, root).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(canon(p), canon(sdb.path.clone()), "{name}");
        }
        assert!(resolve(&by_path, ValueFormat::ById, root).is_err());
        let listed = demo_disks(dir.path()).unwrap();
        assert!(
            listed.contains(&("/dev/sdb".to_string(), 1 << 20)),
            "{listed:?}"
        );
    }
}
