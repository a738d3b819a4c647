//! End to end: the real binary in a pseudo-terminal, driven by keystrokes and read back through
//! a terminal emulator, from Welcome to FAILBACK_COMPLETED; and the headless `--no-prompt` run.

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_drs-failback");
/// A safety net against a hung program, not a timing assertion: every wait is for a condition.
const PATIENCE: Duration = Duration::from_secs(180);

/// The embedded scenario, made quick and light for a test: time runs 20x faster and each
/// volume carries little data.
fn quick_scenario(dir: &Path) -> String {
    let mut s: serde_json::Value =
        serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap();
    s["time_scale"] = 20.into();
    for ri in s["recovery_instances"].as_array_mut().unwrap() {
        for v in ri["volumes"].as_array_mut().unwrap() {
            v["used"] = "32MiB".into();
        }
    }
    let path = dir.join("scenario.json");
    std::fs::write(&path, s.to_string()).unwrap();
    path.display().to_string()
}

struct Screen {
    parser: Mutex<(vt100::Parser, bool)>,
    changed: Condvar,
}

struct Session {
    screen: Arc<Screen>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Session {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let screen = Arc::new(Screen {
            parser: Mutex::new((vt100::Parser::new(24, 80, 0), false)),
            changed: Condvar::new(),
        });
        let mut reader = pty.master.try_clone_reader().unwrap();
        let feed = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let mut guard = feed.parser.lock().unwrap();
                if n == 0 {
                    guard.1 = true;
                } else {
                    guard.0.process(&buf[..n]);
                }
                feed.changed.notify_all();
                if n == 0 {
                    break;
                }
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // The master must outlive the child's output: leak it with the session's lifetime.
        std::mem::forget(pty.master);
        Session {
            screen,
            writer,
            child,
        }
    }

    /// Waits until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut guard = self.screen.parser.lock().unwrap();
        loop {
            let contents = guard.0.screen().contents();
            if contents.contains(text) {
                return contents;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && !guard.1,
                "never saw {text:?}; the screen was:\n{contents}"
            );
            guard = self.screen.changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// The demo on the quick scenario, its virtual disks in `dir`.
    fn demo(dir: &Path, env: &[(&str, &str)]) -> Session {
        let scenario = quick_scenario(dir);
        let disks = dir.to_str().unwrap();
        Session::start(
            &["--demo", "--scenario", &scenario, "--demo-dir", disks],
            env,
        )
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the program to exit and for the screen to have taken all it wrote (the
    /// reader sees the end once the child has gone), so that checks see its last bytes.
    fn exit_code(&mut self) -> u32 {
        let code = self.child.wait().unwrap().exit_code();
        let deadline = Instant::now() + PATIENCE;
        let mut guard = self.screen.parser.lock().unwrap();
        while !guard.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the terminal never reported the end of output"
            );
            guard = self.screen.changed.wait_timeout(guard, left).unwrap().0;
        }
        code
    }
}

#[test]
fn operator_walks_the_demo_from_welcome_to_failback_completed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    let welcome = s.wait_for("web-01");
    assert!(
        welcome.contains("DEMO"),
        "the demo banner shows:\n{welcome}"
    );
    s.send("\r");
    s.wait_for("Access key");
    s.send("\r");
    s.wait_for("Custom");
    s.send("\r");
    let list = s.wait_for("i-0f552cc5023d8319a");
    assert!(list.contains("27"), "all pages were listed:\n{list}");
    s.send("\r");
    s.wait_for("/dev/xvdb");
    s.send("\r");
    s.wait_for("OVERWRITE");
    s.send("OVERWRITE\r");
    s.wait_for("INITIAL_SYNC");
    s.wait_for("Press l");
    s.send("l");
    s.wait_for("Start the failback launch now?");
    s.send("y");
    let done = s.wait_for("Failback completed");
    assert!(
        done.contains("JOB_END") || done.contains("reboot"),
        "{done}"
    );
    s.send("q");
    assert_eq!(s.exit_code(), 0);

    // Real bytes reached the virtual target disks.
    let written: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "img"))
        .map(|p| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).unwrap().blocks() * 512
        })
        .sum();
    assert!(written >= 64 << 20, "only {written} bytes written");
}

#[test]
fn ctrl_c_asks_then_quits_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::demo(dir.path(), &[("LANG", "C"), ("NO_COLOR", "1")]);
    s.wait_for("web-01");
    s.send("\x03");
    s.wait_for("Quit");
    s.send("y");
    assert_eq!(s.exit_code(), 0);
    let guard = s.screen.parser.lock().unwrap();
    assert!(
        !guard.0.screen().alternate_screen(),
        "left the alternate screen"
    );
    assert!(
        !guard.0.screen().hide_cursor(),
        "the cursor is visible again"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    s.wait_for("web-01");
    let pid = s.child.process_id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    s.exit_code();
    let guard = s.screen.parser.lock().unwrap();
    assert!(!guard.0.screen().alternate_screen());
}

#[test]
fn no_prompt_runs_the_journey_with_defaults_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = quick_scenario(dir.path());
    let out = std::process::Command::new(BIN)
        .args(["--demo", "--no-prompt", "--scenario", &scenario])
        .args(["--demo-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "[1/8 Welcome]",
        "[4/8 Recovery instance]",
        "[5/8 Volume mapping]",
        "[8/8 Result]",
    ] {
        assert!(stdout.contains(step), "no {step} line in:\n{stdout}");
    }
    assert!(stdout.contains("i-0f552cc5023d8319a"), "{stdout}");
    assert!(stdout.contains("FAILBACK_COMPLETED"), "{stdout}");
    assert!(
        !stdout.contains("\x1b["),
        "no escape sequences without a screen"
    );
}
