//! One failback per machine: the worker holds an exclusive `flock` on `<state-dir>/lock` for
//! its whole life, and writes into it who it is, so a second one can say who is in the way.

use super::protocol::{LOCK, LockHolder};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Held until dropped (the kernel also releases it when the process dies, however it dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
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

impl Lock {
    /// Takes the lock for `holder`, or says who has it.
    pub fn acquire(dir: &Path, holder: &LockHolder) -> Result<Lock, String> {
        let path = dir.join(LOCK);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(refusal(dir, serde_json::from_str(&text).ok().as_ref()));
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&serde_json::to_vec(holder).unwrap_or_default()));
        written.map_err(|e| format!("cannot write the lock {}: {e}", path.display()))?;
        Ok(Lock { _file: file })
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
        let first = Lock::acquire(dir.path(), &holder(1001)).unwrap();
        let refused = Lock::acquire(dir.path(), &holder(2002)).unwrap_err();
        assert!(
            refused.contains("worker pid 1001")
                && refused.contains("/dev/ttyS0")
                && refused.contains("drs-failback status"),
            "{refused}"
        );
        drop(first);
        Lock::acquire(dir.path(), &holder(2002)).unwrap();
    }
}
