//! A program in a pseudo-terminal, driven by keystrokes and read back through a terminal
//! emulator (vt100): what an operator at a terminal would see, and the terminal's modes.

use super::sandbox::{BIN, Sandbox};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A safety net against a hung program, not a timing assertion: every wait is for a condition.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// `text` with each run of white space as one space: a sentence wrapped over lines reads whole.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
pub struct Seen {
    pub ended: bool,
    /// Every screen shown, in order (consecutive repeats once).
    pub history: Vec<String>,
    /// The program entered the alternate screen at some point (even within one read).
    pub entered_alternate: bool,
}

pub struct Screen {
    pub state: Mutex<(vt100::Parser, Seen)>,
    pub changed: Condvar,
}

pub struct Session {
    pub screen: Arc<Screen>,
    writer: Option<Box<dyn Write + Send>>,
    /// The terminal's side of the pty; dropping it (with the writer) is closing the window.
    pub master: Option<Box<dyn MasterPty + Send>>,
    reader: Option<std::thread::JoinHandle<()>>,
    closing: Arc<AtomicBool>,
    pub child: Box<dyn Child + Send + Sync>,
    /// TMPDIR of the run: a default log file goes with it, and a worker left running ends.
    _tmp: Sandbox,
}

fn spawn_reader(
    fd: RawFd,
    screen: Arc<Screen>,
    closing: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while !closing.load(Ordering::SeqCst) {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // A bounded wait only so that `close` can stop this thread.
            // SAFETY: one valid pollfd; the master outlives this thread (joined before drop).
            if unsafe { libc::poll(&mut pfd, 1, 50) } <= 0 {
                continue;
            }
            // SAFETY: reads into a buffer of its length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            let mut guard = screen.state.lock().unwrap();
            if n <= 0 {
                guard.1.ended = true;
            } else {
                let (parser, seen) = &mut *guard;
                for byte in &buf[..n as usize] {
                    parser.process(std::slice::from_ref(byte));
                    seen.entered_alternate |= parser.screen().alternate_screen();
                }
                let now = guard.0.screen().contents();
                if guard.1.history.last() != Some(&now) {
                    guard.1.history.push(now);
                }
            }
            screen.changed.notify_all();
            if n <= 0 {
                break;
            }
        }
    })
}

impl Session {
    pub fn start<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &str)]) -> Session {
        Session::start_sized(args, env, 24, 80)
    }

    /// The binary on a pty reporting `rows` x `cols` (0x0 as serial lines do); the screen
    /// is read back through an 80x24 terminal emulator when the pty reports no size.
    pub fn start_sized<S: AsRef<OsStr>>(
        args: &[S],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Session {
        Session::spawn(Path::new(BIN), args, env, rows, cols)
    }

    /// `program` on a pty, as `start_sized`.
    pub fn spawn<S: AsRef<OsStr>>(
        program: &Path,
        args: &[S],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        let tmp = Sandbox::new();
        cmd.env("TMPDIR", tmp.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let (rows, cols) = if rows == 0 { (24, 80) } else { (rows, cols) };
        let screen = Arc::new(Screen {
            state: Mutex::new((vt100::Parser::new(rows, cols, 0), Seen::default())),
            changed: Condvar::new(),
        });
        let closing = Arc::new(AtomicBool::new(false));
        let fd = pty.master.as_raw_fd().unwrap();
        let reader = spawn_reader(fd, screen.clone(), closing.clone());
        let writer = pty.master.take_writer().unwrap();
        Session {
            screen,
            writer: Some(writer),
            master: Some(pty.master),
            reader: Some(reader),
            closing,
            child,
            _tmp: tmp,
        }
    }

    /// Waits until the screen satisfies `ok`; returns the screen.
    pub fn wait_until(&self, what: &str, ok: impl Fn(&vt100::Screen) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut guard = self.screen.state.lock().unwrap();
        loop {
            let contents = guard.0.screen().contents();
            if ok(guard.0.screen()) {
                return contents;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && !guard.1.ended,
                "never saw {what}; the screen was:\n{contents}"
            );
            guard = self.screen.changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits until the screen shows `text`; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contents().contains(text))
    }

    /// Every screen shown so far.
    pub fn history(&self) -> Vec<String> {
        self.screen.state.lock().unwrap().1.history.clone()
    }

    /// Writes into the emulator as if the program had: garbage for Ctrl-L to repair.
    pub fn scribble(&self, bytes: &[u8]) {
        self.screen.state.lock().unwrap().0.process(bytes);
    }

    pub fn send(&mut self, keys: &str) {
        self.send_bytes(keys.as_bytes());
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let w = self.writer.as_mut().unwrap();
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    pub fn pid(&self) -> String {
        self.child.process_id().unwrap().to_string()
    }

    pub fn kill(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit, then for the last of its output to reach the screen.
    pub fn exit_code(&mut self) -> u32 {
        let code = self.child.wait().unwrap().exit_code();
        if self.reader.is_some() {
            let mut guard = self.screen.state.lock().unwrap();
            while !guard.1.ended {
                guard = self.screen.changed.wait(guard).unwrap();
            }
        }
        code
    }

    /// Waits until Review's confirmation field shows `text`.
    pub fn confirmation_shows(&self, text: &str) {
        self.wait_until(&format!("{text:?} in the confirmation field"), |sc| {
            sc.contents().lines().any(|l| {
                l.split_once("to start:")
                    .is_some_and(|(_, f)| f.contains(text))
            })
        });
    }

    /// Closes the terminal's side, as closing the window or losing SSH does.
    pub fn close(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        self.reader.take().unwrap().join().unwrap();
        self.writer = None;
        self.master = None;
    }

    /// The terminal's window is now `rows` x `cols`. The reader's screen first: the program
    /// repaints as soon as the pty says so, and a repaint read into the old size is garbled.
    pub fn resize(&self, rows: u16, cols: u16) {
        self.screen
            .state
            .lock()
            .unwrap()
            .0
            .screen_mut()
            .set_size(rows, cols);
        self.master
            .as_ref()
            .unwrap()
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }

    /// Ctrl-C, then yes to the question: the exit status.
    pub fn quit(&mut self) -> u32 {
        self.send("\x03");
        self.wait_for("Quit");
        self.send("y");
        self.exit_code()
    }

    /// Raw mode is on when the terminal neither echoes nor waits for a line.
    pub fn raw(&self) -> bool {
        let fd = self.master.as_ref().unwrap().as_raw_fd().unwrap();
        // SAFETY: a zeroed termios filled by tcgetattr on a valid descriptor.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag & (libc::ICANON | libc::ECHO) == 0
    }

    /// What was not put back of the terminal, once the program ended: the alternate screen,
    /// a hidden cursor, raw mode (none: empty).
    pub fn not_restored(&self) -> Vec<&'static str> {
        let guard = self.screen.state.lock().unwrap();
        let screen = guard.0.screen();
        [
            (screen.alternate_screen(), "the alternate screen"),
            (screen.hide_cursor(), "a hidden cursor"),
            (self.raw(), "raw mode"),
        ]
        .into_iter()
        .filter_map(|(left, what)| left.then_some(what))
        .collect()
    }

    /// Waits until the process has stopped itself (SIGCONT before that would be lost).
    pub fn wait_stopped(&self) {
        let pid = self.pid();
        let stopped = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            // The state follows the command name in parentheses.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
        };
        let deadline = Instant::now() + PATIENCE;
        while !stopped() {
            assert!(Instant::now() < deadline, "never stopped");
            std::thread::yield_now();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
