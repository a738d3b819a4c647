//! One failback per machine: the worker running a failback holds an exclusive `flock` on
//! `<state-dir>/lock` until the result is acknowledged, and writes into it who it is, so a second
//! one can say who is in the way.

use super::protocol::{LOCK, LockHolder};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Held until released or dropped (the kernel also releases it when the process dies,
/// however it dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// What a refused worker is told: who holds the lock.
pub fn refusal(dir: &Path, holder: Option<&LockHolder>) -> String {
    let who = match holder {
        Some(h) => format!(
            "worker pid {}, started from {} (wizard pid {}) at {}",
            h.worker_pid,
            h.started_by.terminal,
            h.started_by.pid,
            crate::domain::time::iso8601(h.started_by.started_at)
        ),
        None => "a worker that has not said who it is yet".to_owned(),
    };
    format!(
        "another failback is running on this machine ({who}; lock {}). Run `drs-failback` to \
         attach to it, or `drs-failback status`.",
        dir.join(LOCK).display()
    )
}

/// Who holds the lock, as its holder wrote it.
fn holder_of(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Ok when no worker holds the lock in `dir` now, else who does (checked before starting
/// one, so that a refusal is known for what it is).
pub fn check_free(dir: &Path) -> Result<(), String> {
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join(LOCK))
    else {
        return Ok(());
    };
    // SAFETY: flock on a descriptor this function owns; closing it releases the lock.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } != 0 {
        return Err(refusal(dir, holder_of(&mut file).as_ref()));
    }
    Ok(())
}

/// What [`take`] found.
#[derive(Debug)]
pub enum Taken {
    Held(Lock),
    /// Another process holds it: the file, to read who.
    Busy(File),
}

/// An exclusive lock on `<dir>/<name>` holding `contents`, or the file another holds.
pub fn take(dir: &Path, name: &str, contents: &[u8]) -> Result<Taken, String> {
    // A holder that released it removed the file: a lock taken on that old file would be
    // nobody's, so take it again on the file now at the path.
    loop {
        if let Some(taken) = try_take(dir, name, contents)? {
            return Ok(taken);
        }
    }
}

fn try_take(dir: &Path, name: &str, contents: &[u8]) -> Result<Option<Taken>, String> {
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
    lock_opened(file, path, contents)
}

/// Locks `file`, opened at `path`: None when the path no longer names it.
fn lock_opened(mut file: File, path: PathBuf, contents: &[u8]) -> Result<Option<Taken>, String> {
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Ok(Some(Taken::Busy(file)));
    }
    let same = |m: std::fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        file.metadata()
            .is_ok_and(|f| (f.dev(), f.ino()) == (m.dev(), m.ino()))
    };
    if !std::fs::symlink_metadata(&path).is_ok_and(same) {
        return Ok(None);
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(contents));
    written.map_err(|e| format!("cannot write the lock {}: {e}", path.display()))?;
    Ok(Some(Taken::Held(Lock { file, path })))
}

impl Lock {
    /// Takes the failback lock for `holder`, or says who has it.
    pub fn acquire(dir: &Path, holder: &LockHolder) -> Result<Lock, String> {
        let contents = serde_json::to_vec(holder).unwrap_or_default();
        match take(dir, LOCK, &contents)? {
            Taken::Held(lock) => Ok(lock),
            Taken::Busy(mut file) => Err(refusal(dir, holder_of(&mut file).as_ref())),
        }
    }

    /// Lets go, removing the file while still holding it (so no one can take a lock on a file
    /// that is about to go).
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::StartedBy;

    #[test]
    fn a_second_holder_is_refused_with_who_has_it_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let holder = |pid| LockHolder {
            worker_pid: pid,
            started_by: StartedBy {
                terminal: "/dev/ttyS0".into(),
                pid: pid - 1,
                started_at: 0,
            },
        };
        check_free(dir.path()).unwrap();
        let first = Lock::acquire(dir.path(), &holder(1001)).unwrap();
        assert!(
            check_free(dir.path())
                .unwrap_err()
                .contains("worker pid 1001")
        );
        let refused = Lock::acquire(dir.path(), &holder(2002)).unwrap_err();
        assert!(
            refused.contains("worker pid 1001")
                && refused.contains("/dev/ttyS0")
                && refused.contains("drs-failback status"),
            "{refused}"
        );
        drop(first);
        check_free(dir.path()).unwrap();
        Lock::acquire(dir.path(), &holder(2002)).unwrap();
    }

    #[test]
    fn a_released_lock_is_gone_and_the_next_holder_takes_it_on_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let holder = |pid| LockHolder {
            worker_pid: pid,
            started_by: StartedBy {
                terminal: "/dev/tty1".into(),
                pid: pid - 1,
                started_at: 0,
            },
        };
        let first = Lock::acquire(dir.path(), &holder(1001)).unwrap();
        // A second worker opened the file just before the first let go.
        let stale = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.path().join(LOCK))
            .unwrap();
        first.release();
        assert!(!dir.path().join(LOCK).exists());
        // That file is lockable, but it is nobody's lock any more.
        let contents = serde_json::to_vec(&holder(2002)).unwrap();
        // Another test's fork (before its exec or close_range) may hold a copy of the first's
        // descriptor, and so its flock, for a moment: wait (bounded) for that copy to go.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut stale = stale;
        let taken = loop {
            match lock_opened(stale, dir.path().join(LOCK), &contents).unwrap() {
                Some(Taken::Busy(file)) if std::time::Instant::now() < deadline => {
                    stale = file;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other,
            }
        };
        assert!(taken.is_none());
        let second = Lock::acquire(dir.path(), &holder(2002)).unwrap();
        let refused = Lock::acquire(dir.path(), &holder(3003)).unwrap_err();
        assert!(refused.contains("worker pid 2002"), "{refused}");
        drop(second);
    }
}
