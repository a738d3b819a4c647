//! Unpacking the verified tarball: into a staging directory, refusing any entry that would land
//! outside it, then checked for an executable `failback_entry` and moved into place. Nothing is
//! left behind when anything is refused.

use super::{SoftwareError, SoftwareErrorKind};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// The unpacked software.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub dir: PathBuf,
    /// `<dir>/failback_entry`, executable.
    pub failback_entry: PathBuf,
    /// `<dir>/jre` when the tarball has it (AWS's always does).
    pub jre: Option<PathBuf>,
}

fn refused(tarball: &Path, why: String) -> SoftwareError {
    SoftwareError::new(
        SoftwareErrorKind::BadArchive,
        format!(
            "{} is not the replication software AWS publishes: {why}. Nothing was unpacked. \
             Delete the file and download again; if this repeats, check S3_ENDPOINT and the proxy.",
            tarball.display()
        ),
    )
}

/// Unpacks `tarball` (gzip'd tar) into `dest`, replacing what was there.
pub fn unpack(tarball: &Path, dest: &Path) -> Result<Unpacked, SoftwareError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "failback_software".into());
    let staging = dest.with_file_name(format!(".{name}.partial"));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| SoftwareError::io("remove", &staging, e))?;
    }
    fs::create_dir_all(&staging).map_err(|e| SoftwareError::io("create", &staging, e))?;
    let result = unpack_into(tarball, &staging).and_then(|()| check(tarball, &staging));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(|e| SoftwareError::io("replace", dest, e))?;
    }
    fs::rename(&staging, dest).map_err(|e| SoftwareError::io("move into place", dest, e))?;
    let jre = dest.join("jre");
    Ok(Unpacked {
        dir: dest.to_owned(),
        failback_entry: dest.join("failback_entry"),
        jre: jre.is_dir().then_some(jre),
    })
}

/// The path an entry names, if it stays inside: relative, no `..`.
fn inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)))
}

/// A symlink's target, read from the link's own directory, stays inside the root.
fn link_stays_inside(entry: &Path, target: &Path) -> bool {
    let mut depth: i64 = entry
        .parent()
        .map(|p| {
            p.components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count() as i64
        })
        .unwrap_or(0);
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

fn unpack_into(tarball: &Path, staging: &Path) -> Result<(), SoftwareError> {
    let file = fs::File::open(tarball).map_err(|e| SoftwareError::io("open", tarball, e))?;
    let damaged =
        |e: std::io::Error| refused(tarball, format!("it cannot be read as a tar.gz ({e})"));
    let mut archive =
        tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    archive.set_preserve_permissions(true);
    // Executable bits matter (failback_entry, jre/bin); set-id bits and group/world write never.
    archive.set_mask(0o7022);
    archive.set_overwrite(true);
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry.path().map_err(damaged)?.into_owned();
        let shown = path.display().to_string();
        if !inside(&path) {
            return Err(refused(
                tarball,
                format!("its entry '{shown}' would be written outside the directory"),
            ));
        }
        use tar::EntryType as T;
        match entry.header().entry_type() {
            T::Regular | T::Continuous | T::Directory | T::Link => {}
            T::Symlink => {
                let target = entry.link_name().map_err(damaged)?.unwrap_or_default();
                if !link_stays_inside(&path, &target) {
                    return Err(refused(
                        tarball,
                        format!(
                            "its entry '{shown}' links to '{}', outside the directory",
                            target.display()
                        ),
                    ));
                }
            }
            other => {
                return Err(refused(
                    tarball,
                    format!("its entry '{shown}' is a {other:?}, not a file, directory or link"),
                ));
            }
        }
        // tar refuses hard links and writes through links that leave the directory.
        match entry.unpack_in(staging) {
            Ok(true) => {}
            Ok(false) => {
                return Err(refused(
                    tarball,
                    format!("its entry '{shown}' would be written outside the directory"),
                ));
            }
            Err(e) => {
                return Err(refused(
                    tarball,
                    format!("its entry '{shown}' cannot be unpacked ({e})"),
                ));
            }
        }
    }
    links_stay_inside(tarball, staging, staging)
}

/// Links made in any order can still chain out (`a -> b/..` before `b -> .`): once everything
/// is unpacked, every link that resolves must resolve inside.
fn links_stay_inside(tarball: &Path, root: &Path, dir: &Path) -> Result<(), SoftwareError> {
    let canonical_root = fs::canonicalize(root).map_err(|e| SoftwareError::io("read", root, e))?;
    let entries = fs::read_dir(dir).map_err(|e| SoftwareError::io("read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| SoftwareError::io("read", dir, e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| SoftwareError::io("read", &path, e))?;
        if kind.is_symlink() {
            if let Ok(real) = fs::canonicalize(&path)
                && !real.starts_with(&canonical_root)
            {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                return Err(refused(
                    tarball,
                    format!("its entry '{shown}' links outside the directory"),
                ));
            }
        } else if kind.is_dir() {
            links_stay_inside(tarball, root, &path)?;
        }
    }
    Ok(())
}

fn check(tarball: &Path, staging: &Path) -> Result<(), SoftwareError> {
    let entry = staging.join("failback_entry");
    let meta = fs::symlink_metadata(&entry).ok();
    let executable = meta
        .as_ref()
        .is_some_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !executable {
        let mut names: Vec<String> = fs::read_dir(staging)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let why = match meta {
            Some(m) if m.is_file() => "its failback_entry is not executable".to_owned(),
            _ => format!(
                "it holds no failback_entry at its top (it holds: {})",
                if names.is_empty() {
                    "nothing".into()
                } else {
                    names.join(", ")
                }
            ),
        };
        return Err(refused(tarball, why));
    }
    if !staging.join("jre").is_dir() {
        tracing::warn!(
            tarball = %tarball.display(),
            "the replication software has no jre/ directory; failback_entry may not start"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_must_stay_inside() {
        assert!(inside(Path::new("failback_entry")));
        assert!(inside(Path::new("./jre/bin/java")));
        assert!(!inside(Path::new("/etc/passwd")));
        assert!(!inside(Path::new("jre/../../x")));
        assert!(!inside(Path::new(".")));
    }

    #[test]
    fn link_targets_are_read_from_the_links_directory() {
        assert!(link_stays_inside(Path::new("jre/lib/a"), Path::new("../b")));
        assert!(link_stays_inside(
            Path::new("jre/lib/a"),
            Path::new("../../x")
        ));
        assert!(!link_stays_inside(
            Path::new("jre/lib/a"),
            Path::new("../../../x")
        ));
        assert!(!link_stays_inside(
            Path::new("a"),
            Path::new("/usr/bin/java")
        ));
        assert!(!link_stays_inside(Path::new("a"), Path::new("..")));
    }
}
