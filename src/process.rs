//! What the process guarantees around the wizard: no core dump holding secrets, a log file no
//! one else can plant or read, and one exit status per way of ending.

use crate::app::Interrupt;
use std::fs::File;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How a run that did not end by the operator's choice exits: 128 + the signal's number, as
/// shells report it; the terminal's loss counts as the hangup it is.
pub fn exit_status(why: Interrupt) -> u8 {
    match why {
        Interrupt::Signal(signo) => 128u8.saturating_add(signo.clamp(0, 127) as u8),
        Interrupt::TerminalLost => 128 + libc::SIGHUP as u8,
        Interrupt::Panic => crate::exit::Exit::Panic.code(),
    }
}

/// No core dump (it would hold every secret typed) and no ptrace by other processes of the
/// same user. Called first thing in main.
pub fn forbid_core_dumps() -> io::Result<()> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on this process with a valid rlimit.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Returns the heap that a large, finished piece of work freed (a listing of
/// 20,000 instances) to the system: glibc keeps it otherwise, and the wizard's resident memory
/// would stay at its peak.
pub fn give_back_freed_memory() {
    // SAFETY: malloc_trim only releases free heap pages; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Blanks the values of `options` in this process's own command line, the memory `ps` and
/// /proc/PID/cmdline read (the kernel gives its bounds in /proc/self/stat). Called once the
/// arguments are parsed: what was given stays usable, and no other user sees it there.
/// Returns how many values were blanked.
pub fn hide_args(options: &[&str]) -> io::Result<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let unreadable = || io::Error::other("/proc/self/stat has no argument bounds");
    // After the command name (in parentheses, which may hold anything) come field 3 onwards:
    // arg_start and arg_end are fields 48 and 49.
    let (_, rest) = stat.rsplit_once(')').ok_or_else(unreadable)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let bound = |i: usize| fields.get(i).and_then(|f| f.parse::<usize>().ok());
    let (Some(start), Some(end)) = (bound(45), bound(46)) else {
        return Err(unreadable());
    };
    if start == 0 || end <= start {
        return Err(unreadable());
    }
    // SAFETY: [arg_start, arg_end) is this process's argument area on its own stack, mapped
    // writable for its whole life; std reads it only to copy the arguments, done by now, and
    // nothing else holds a reference into it.
    let area = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
    Ok(blank_values(area, options))
}

/// In a NUL-separated argument area, overwrites with NULs the value of each of `options`:
/// the next argument, or what follows `=`.
fn blank_values(area: &mut [u8], options: &[&str]) -> usize {
    let (mut i, mut count, mut blank_next) = (0, 0, false);
    while i < area.len() {
        let len = area[i..]
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(area.len() - i);
        let arg = &mut area[i..i + len];
        if blank_next {
            arg.fill(0);
            count += 1;
            blank_next = false;
        } else if arg == b"--" {
            break;
        } else if let Some(o) = options.iter().find(|o| arg.starts_with(o.as_bytes())) {
            let n = o.len();
            if arg.len() == n {
                blank_next = true;
            } else if arg[n] == b'=' {
                arg[n + 1..].fill(0);
                count += 1;
            }
        }
        i += len + 1;
    }
    count
}

/// Opens the log: by default a new file with a name no one can guess in the temporary
/// directory (created exclusively, mode 0600); an explicit path is appended to, refusing a
/// symbolic link or a file that is not ours.
pub fn open_log(explicit: Option<&Path>) -> Result<(File, PathBuf), String> {
    let Some(path) = explicit else {
        return new_log("drs-failback");
    };
    let refuse = |why: String| {
        format!(
            "refusing the log file {}: {why}. Give --log-file a new path, or a regular file of \
             your own to append to.",
            path.display()
        )
    };
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse("it is a symbolic link".into()),
            // A FIFO nobody reads (opened without blocking to find out).
            Some(libc::ENXIO) => refuse("it is not a regular file".into()),
            _ => refuse(e.to_string()),
        })?;
    let meta = file.metadata().map_err(|e| refuse(e.to_string()))?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file".into()));
    }
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(refuse(format!("it belongs to user id {}", meta.uid())));
    }
    Ok((file, path.to_owned()))
}

/// A new log `<name>-<pid>-<random>.log` in the temporary directory (created exclusively,
/// mode 0600): the wizard's, or the worker's it starts.
pub fn new_log(name: &str) -> Result<(File, PathBuf), String> {
    let file = tempfile::Builder::new()
        .prefix(&format!("{name}-{}-", std::process::id()))
        .suffix(".log")
        .tempfile()
        .map_err(|e| format!("cannot create the log file: {e} (choose one with --log-file)"))?;
    file.keep()
        .map_err(|e| format!("cannot keep the log file: {e}"))
}

/// Starts `program args` detached, as the failback worker and the demo's emulator run: its own
/// session (no controlling terminal: hangups and Ctrl-C never reach it), stdin /dev/null,
/// output to a new log `<log_name>-….log`, no access keys in its environment, and each
/// `(descriptor, number)` of `pass` open in it under that number. `args` are given the log's
/// path. Returns it and its log.
pub fn spawn_detached(
    program: &Path,
    log_name: &str,
    pass: &[(RawFd, RawFd)],
    args: impl FnOnce(&Path) -> Vec<std::ffi::OsString>,
) -> Result<(std::process::Child, PathBuf), String> {
    use std::os::unix::process::CommandExt;
    let (log, log_path) = new_log(log_name).map_err(|e| format!("the {log_name} log: {e}"))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("the {log_name} log: {e}"))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args(&log_path))
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err);
    for (name, _) in crate::domain::access_keys::ENV_NAMES {
        cmd.env_remove(name);
    }
    // Fixed size: nothing may allocate between fork and exec.
    let mut moves = [(-1, -1); 2];
    if pass.len() > moves.len() {
        return Err(format!("cannot pass {} descriptors", pass.len()));
    }
    moves[..pass.len()].copy_from_slice(pass);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // Copies above any number wanted first, so that no descriptor is overwritten
            // before it is moved; dup2 leaves each open across exec (the copies close).
            let mut copies = [-1; 2];
            for (copy, &(fd, _)) in copies.iter_mut().zip(&moves).filter(|(_, m)| m.0 >= 0) {
                *copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
                if *copy < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            for (&copy, &(_, to)) in copies.iter().zip(&moves).filter(|(c, _)| **c >= 0) {
                if libc::dup2(copy, to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    Ok((child, log_path))
}

/// How long a program's processes have to end after SIGTERM before they get SIGKILL.
pub const END_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Ends the process group `pgid` (a program and every child it started) when dropped, or when
/// the process holding it dies however it dies: a keeper process of its own session waits on
/// a pipe only this process writes, and at its end sends the group SIGTERM, then SIGKILL to
/// what is left after [`END_GRACE`].
#[derive(Debug)]
pub struct GroupKeeper {
    /// Closing it (drop, or this process's death) is the keeper's signal.
    _hold: std::os::fd::OwnedFd,
}

impl GroupKeeper {
    pub fn watch(pgid: i32) -> io::Result<GroupKeeper> {
        use std::os::fd::FromRawFd;
        if pgid <= 1 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut fds = [-1; 2];
        // SAFETY: pipe2 fills two descriptors this function then owns; close-on-exec keeps the
        // write end from every program started later.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just made and nothing else owns them.
        let (read, write) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        let read_fd = std::os::fd::AsRawFd::as_raw_fd(&read);
        // SAFETY: between fork and _exit the children make only async-signal-safe system calls
        // (this process has other threads); the middle child exits at once, so the keeper is
        // nobody's child to reap here.
        unsafe {
            match libc::fork() {
                -1 => return Err(io::Error::last_os_error()),
                0 => {
                    if libc::fork() == 0 {
                        keep(read_fd, pgid);
                    }
                    libc::_exit(0);
                }
                middle => {
                    let mut status = 0;
                    while libc::waitpid(middle, &mut status, 0) < 0
                        && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                    {
                    }
                }
            }
        }
        drop(read);
        Ok(GroupKeeper { _hold: write })
    }
}

/// The keeper, in a forked child: only async-signal-safe calls, no allocation.
unsafe fn keep(read_fd: RawFd, pgid: i32) -> ! {
    // SAFETY: system calls on this process's own descriptors and on the group it keeps.
    unsafe {
        // Out of the holder's session and group: what ends them does not end the keeper.
        libc::setsid();
        libc::prctl(libc::PR_SET_NAME, c"drs-fb-keeper".as_ptr(), 0, 0, 0);
        // Every descriptor of the holder but the pipe (its sockets, its lock) is not the
        // keeper's to keep open.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let all = libc::syscall(libc::SYS_close_range, 3u32, (read_fd - 1) as u32, 0u32) == 0
            || read_fd == 3;
        if !all || libc::syscall(libc::SYS_close_range, (read_fd + 1) as u32, u32::MAX, 0u32) != 0 {
            // A kernel before 5.9: one by one.
            let top = limit.rlim_cur.clamp(64, 65_536) as RawFd;
            for fd in (3..top).filter(|&fd| fd != read_fd) {
                libc::close(fd);
            }
        }
        let mut byte = 0u8;
        loop {
            let n = libc::read(read_fd, (&raw mut byte).cast(), 1);
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
        }
        libc::kill(-pgid, libc::SIGTERM);
        let tick = libc::timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        for _ in 0..END_GRACE.as_millis() / 100 {
            if libc::kill(-pgid, 0) != 0 {
                libc::_exit(0);
            }
            libc::nanosleep(&tick, std::ptr::null_mut());
        }
        libc::kill(-pgid, libc::SIGKILL);
        libc::_exit(0)
    }
}

/// The processes (not zombies) whose environment holds the entry `mark` (`NAME=value`), this
/// one excepted: a program's and its children's, wherever they moved to.
pub fn marked(mark: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            // A zombie's environment reads empty: it is gone but for its parent's wait.
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|e| e == mark.as_bytes()))
        })
        .collect()
}

/// Ends every process marked `mark` (see [`marked`]): SIGTERM, then SIGKILL for those still
/// there after `grace`. Returns the pids it found.
pub fn end_marked(mark: &str, grace: std::time::Duration) -> Vec<i32> {
    let found = marked(mark);
    let signal = |pids: &[i32], signo| {
        for &pid in pids {
            // SAFETY: a signal to a process that carries this program's mark.
            unsafe { libc::kill(pid, signo) };
        }
    };
    signal(&found, libc::SIGTERM);
    let gone_within = |wait: std::time::Duration| {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = marked(mark);
            if left.is_empty() || std::time::Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let left = gone_within(grace);
    signal(&left, libc::SIGKILL);
    // SIGKILL cannot be refused: only its delivery is waited for.
    gone_within(std::time::Duration::from_secs(2));
    found
}

/// The last error a detached process logged, and its log: `: <error>. Its log: <path>`.
pub fn last_error(log: &Path) -> String {
    let error = std::fs::read_to_string(log)
        .ok()
        .and_then(|l| {
            l.lines().rev().find_map(|l| {
                let (_, e) = l.split_once(" ERROR ")?;
                // Without the logger's `module: ` and the sentence's own full stop.
                let e = e
                    .split_once(": ")
                    .filter(|(t, _)| !t.contains(' '))
                    .map_or(e, |(_, m)| m);
                Some(format!(": {}", e.trim_end_matches('.')))
            })
        })
        .unwrap_or_default();
    format!("{error}. Its log: {}", log.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn signals_exit_with_128_plus_their_number() {
        assert_eq!(exit_status(Interrupt::Signal(libc::SIGHUP)), 129);
        assert_eq!(exit_status(Interrupt::Signal(libc::SIGINT)), 130);
        assert_eq!(exit_status(Interrupt::Signal(libc::SIGQUIT)), 131);
        assert_eq!(exit_status(Interrupt::Signal(libc::SIGTERM)), 143);
        assert_eq!(exit_status(Interrupt::TerminalLost), 129);
        assert_eq!(exit_status(Interrupt::Panic), 101);
    }

    #[test]
    fn the_values_of_secret_options_are_blanked_in_either_form() {
        let mut area =
            b"drs-failback\0--aws-secret-access-key\0S3CR3T\0--region\0eu-west-1\0--aws-session-token=T0K3N\0--aws-session-tokens\0x\0".to_vec();
        let n = blank_values(
            &mut area,
            &["--aws-secret-access-key", "--aws-session-token"],
        );
        assert_eq!(n, 2);
        let text = String::from_utf8_lossy(&area).into_owned();
        assert!(
            !text.contains("S3CR3T") && !text.contains("T0K3N"),
            "{text:?}"
        );
        assert!(
            text.contains("--region\0eu-west-1\0--aws-session-token=\0"),
            "{text:?}"
        );
        assert!(
            text.contains("--aws-session-tokens\0x\0"),
            "only whole option names"
        );
    }

    #[test]
    fn core_dumps_are_off_and_the_process_is_not_dumpable() {
        forbid_core_dumps().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: reads this process's limit and flag.
        let dumpable = unsafe {
            libc::getrlimit(libc::RLIMIT_CORE, &mut limit);
            libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0)
        };
        assert_eq!((limit.rlim_cur, limit.rlim_max, dumpable), (0, 0, 0));
    }

    #[test]
    fn the_default_log_is_new_private_and_unguessable() {
        let (_, a) = open_log(None).unwrap();
        let (_, b) = open_log(None).unwrap();
        assert_ne!(a, b);
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("drs-failback-{}-", std::process::id())),
            "{name}"
        );
        std::fs::remove_file(a).unwrap();
        std::fs::remove_file(b).unwrap();
    }

    #[test]
    fn an_explicit_log_refuses_links_and_appends_to_our_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = open_log(Some(&link)).unwrap_err();
        assert!(
            e.contains("symbolic link") && e.contains("--log-file"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");

        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(
            open_log(Some(&fifo))
                .unwrap_err()
                .contains("not a regular file")
        );

        let (mut f, _) = open_log(Some(&victim)).unwrap();
        f.write_all(b" and this").unwrap();
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep me and this"
        );

        let theirs = dir.path().join("theirs.log");
        std::fs::write(&theirs, "").unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
        assert!(
            open_log(Some(&theirs))
                .unwrap_err()
                .contains("belongs to user id 65534")
        );

        let (_, new) = open_log(Some(&dir.path().join("new.log"))).unwrap();
        let mode = std::fs::metadata(new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
