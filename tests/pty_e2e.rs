//! End to end: the real binary in a pseudo-terminal, driven by keystrokes and read back through
//! a terminal emulator, from Welcome to FAILBACK_COMPLETED; and the headless `--no-prompt` run.

mod common;

use common::pty::{PATIENCE, Session, words};
use common::sandbox::{BIN, Sandbox};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The end of the pre-flight screen's summary once its checks ran with none failed ("1 warning"
/// or "N warnings" before it: these machines reach no NTP server).
const PREFLIGHT_PASSED: &str = ", 0 failed";

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

/// The demo, as most tests start it.
impl Session {
    /// The demo on the quick scenario, its virtual disks in `dir`.
    fn demo(dir: &Path, env: &[(&str, &str)]) -> Session {
        Session::demo_sized(dir, &[], env, 24, 80)
    }

    /// As `demo`, with `extra` arguments, on a pty reporting `rows` x `cols`.
    fn demo_sized(
        dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Session {
        let scenario = quick_scenario(dir);
        let disks = dir.join("disks");
        let log = dir.join("drs-failback.log");
        let mut args = vec![
            "--demo",
            "--scenario",
            &scenario,
            "--demo-dir",
            disks.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Session::start_sized(&args, env, rows, cols)
    }

    /// The demo with its default temporary disk directory, under `tmp` (TMPDIR).
    fn demo_in_tmp(dir: &Path, tmp: &Path) -> Session {
        let scenario = quick_scenario(dir);
        let tmp = tmp.to_str().unwrap();
        Session::start(
            &["--demo", "--scenario", &scenario],
            &[("LANG", "C.UTF-8"), ("TMPDIR", tmp)],
        )
    }
}

/// The demo's arguments: `scenario`, its disks in `dir`, its worker's state in `state`.
fn demo_args(scenario: &str, dir: &Path, state: &Path) -> Vec<String> {
    let disks = dir.join("disks");
    let (disks, state) = (disks.to_str().unwrap(), state.to_str().unwrap());
    [
        "--demo",
        "--scenario",
        scenario,
        "--demo-dir",
        disks,
        "--state-dir",
        state,
    ]
    .map(String::from)
    .to_vec()
}

/// What `dir` holds (names), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn operator_walks_the_demo_from_welcome_to_failback_completed() {
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    let welcome = s.wait_for("web-01");
    assert!(
        welcome.contains("DEMO"),
        "the demo banner shows:\n{welcome}"
    );
    s.send("\r");
    s.wait_for(PREFLIGHT_PASSED);
    s.send("\r");
    s.wait_for("Access key");
    s.send("\r");
    s.wait_for("Custom");
    s.send("\r");
    let scenario: serde_json::Value =
        serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap();
    let count = scenario["recovery_instances"].as_array().unwrap().len();
    let list = s.wait_for("i-0f552cc5023d8319a");
    assert!(
        list.contains(&format!("  {count} instances")),
        "all {count} instances, every page, were listed:\n{list}"
    );
    s.send("\r");
    s.wait_for("/dev/xvdb");
    s.send("\r");
    s.wait_for("OVERWRITE");
    s.wait_for("TCP 1500  ");
    s.send("OVERWRITE\r");
    s.wait_for("INITIAL_SYNC");
    s.wait_for("Press l");
    s.send("l");
    s.wait_for("Start the failback launch now?");
    s.send("y");
    s.wait_for("Failback completed");
    // The job's timeline arrives after the summary: wait for its last event.
    let done = s.wait_for("JOB_END");
    assert!(done.contains("COMPLETED"), "{done}");
    assert!(
        done.contains("reboot from the local disk"),
        "the next steps show:\n{done}"
    );
    s.send("q");
    assert_eq!(s.exit_code(), 0);

    // Real bytes reached the virtual target disks.
    let written: u64 = std::fs::read_dir(dir.path().join("disks"))
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
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C"), ("NO_COLOR", "1")]);
    s.wait_for("web-01");
    assert_eq!(s.quit(), 0);
    assert_eq!(s.not_restored(), Vec::<&str>::new());
}

/// A scenario that cannot be read stops the demo once the screen is up (it starts in the
/// background): the terminal is put back first, then the reason shows on the shell's screen.
#[test]
fn an_error_after_the_screen_is_up_restores_the_terminal_then_says_why() {
    let dir = Sandbox::new();
    let scenario = dir.path().join("scenario.json");
    std::fs::write(&scenario, "{ not json").unwrap();
    let mut s = Session::start(
        &["--demo", "--scenario", scenario.to_str().unwrap()],
        &[("LANG", "C.UTF-8")],
    );
    let code = s.exit_code();
    let screen = s.wait_for("drs-failback: ");
    assert!(
        s.screen.state.lock().unwrap().1.entered_alternate,
        "the screen was up first"
    );
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("scenario"), "{screen}");
    assert_eq!(s.not_restored(), Vec::<&str>::new(), "{screen}");
}

#[test]
fn ending_signals_restore_the_terminal_exit_128_plus_n_and_remove_the_demo_disks() {
    for (signal, status) in [("TERM", 143), ("HUP", 129), ("INT", 130), ("QUIT", 131)] {
        let dir = Sandbox::new();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut s = Session::demo_in_tmp(dir.path(), &tmp);
        s.wait_for("web-01");
        assert!(
            names(&tmp)
                .iter()
                .any(|n| n.starts_with("drs-failback-demo-")),
            "the demo made its disks in TMPDIR: {:?}",
            names(&tmp)
        );
        s.kill(signal);
        assert_eq!(s.exit_code(), status, "SIG{signal}");
        let left = names(&tmp);
        assert!(
            left.iter().all(|n| n.ends_with(".log")),
            "SIG{signal} left {left:?}"
        );
        assert_eq!(s.not_restored(), Vec::<&str>::new(), "SIG{signal}");
    }
}

#[test]
fn no_prompt_stops_at_a_failed_preflight_with_exit_2_before_credentials() {
    let dir = Sandbox::new();
    let path = quick_scenario(dir.path());
    // The emulator's clock (its `Date`) 6 minutes ahead of this machine's.
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    s["clock_offset_seconds"] = 360.into();
    std::fs::write(&path, s.to_string()).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["--demo", "--no-prompt", "--scenario", &path])
        .args(["--state-dir", dir.path().join("state").to_str().unwrap()])
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("[2/9 Pre-flight]") && stdout.contains("FAIL Clock: 6m 00s behind"),
        "{stdout}"
    );
    assert!(!stdout.contains("[3/9 Credentials]"), "{stdout}");
    assert!(
        stderr.contains("drs-failback: stopped: Clock failed (6m 00s behind")
            && stderr.contains("AWS refuses requests signed more than 5 minutes off"),
        "{stderr}"
    );
}

#[test]
fn no_prompt_runs_the_journey_with_defaults_and_exits_zero() {
    let dir = Sandbox::new();
    let scenario = quick_scenario(dir.path());
    let out = std::process::Command::new(BIN)
        .args([
            "--demo",
            "--no-prompt",
            "--launch-when-ready",
            "--scenario",
            &scenario,
        ])
        .args(["--demo-dir", dir.path().to_str().unwrap()])
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "[1/9 Welcome]",
        "[2/9 Pre-flight]",
        "[5/9 Recovery instance]",
        "[6/9 Volume mapping]",
        "[9/9 Result]",
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

/// The log file the demo writes into TMPDIR.
fn log_in(tmp: &Path) -> String {
    let name = names(tmp)
        .into_iter()
        .find(|n| {
            n.starts_with("drs-failback-")
                && !n.starts_with("drs-failback-worker-")
                && n.ends_with(".log")
        })
        .expect("a log file");
    std::fs::read_to_string(tmp.join(name)).unwrap()
}

#[test]
fn losing_the_terminal_ends_cleanly_logs_and_removes_the_demo_disks() {
    let dir = Sandbox::new();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut s = Session::demo_in_tmp(dir.path(), &tmp);
    s.wait_for("web-01");
    s.close();
    // 129, as for the hangup it is: not 101 (a panic in the restore code).
    assert_eq!(s.exit_code(), 129);
    let left = names(&tmp);
    assert!(left.iter().all(|n| n.ends_with(".log")), "left {left:?}");
    let log = log_in(&tmp);
    assert!(
        log.contains("terminal went away") || log.contains("interrupted"),
        "{log}"
    );
    assert!(!log.contains("panic"), "{log}");
}

#[test]
fn sigtstp_gives_the_terminal_back_and_sigcont_takes_it_again() {
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    s.wait_for("web-01");
    assert!(s.raw());
    s.kill("TSTP");
    s.wait_until("the shell's screen", |sc| !sc.alternate_screen());
    s.wait_stopped();
    assert!(!s.raw(), "the tty is cooked while suspended");

    s.kill("CONT");
    s.wait_until("the wizard again", |sc| {
        sc.alternate_screen() && sc.contents().contains("web-01")
    });
    assert!(s.raw(), "raw mode again after fg");
    // A key acts at once, unechoed.
    s.send("\x1bOP");
    s.wait_for("Ctrl-Z");

    // Ctrl-Z inside the wizard suspends the same way.
    s.send("\x1b");
    s.send("\x1a");
    s.wait_until("the shell's screen", |sc| !sc.alternate_screen());
    s.wait_stopped();
    s.kill("CONT");
    s.wait_until("the wizard again", |sc| sc.alternate_screen());
    assert_eq!(s.quit(), 0);
}

#[test]
fn a_pty_reporting_no_size_gets_80x24() {
    let dir = Sandbox::new();
    let s = Session::demo_sized(dir.path(), &[], &[("LANG", "C")], 0, 0);
    let screen = s.wait_for("web-01");
    assert!(!screen.contains("too small"), "{screen}");
}

#[test]
fn ctrl_t_switches_a_basic_serial_screen_to_rich_and_back() {
    let dir = Sandbox::new();
    let mut s = Session::demo_sized(
        dir.path(),
        &["--ascii", "--no-color"],
        &[("LANG", "C.UTF-8"), ("TERM", "vt220")],
        24,
        80,
    );
    let coloured = |sc: &vt100::Screen| {
        let (rows, cols) = sc.size();
        (0..rows).any(|r| {
            (0..cols).any(|c| {
                sc.cell(r, c)
                    .is_some_and(|cell| cell.fgcolor() != vt100::Color::Default)
            })
        })
    };
    // The demo starts in the background: its host's name shows once it is ready.
    let basic = s.wait_for("web-01");
    assert!(
        basic.contains("Ctrl-T rich mode") && basic.is_ascii(),
        "{basic}"
    );
    s.send("\x14");
    let rich = s.wait_until("Unicode and colour", |sc| {
        sc.contents().contains('\u{2022}') && coloured(sc)
    });
    assert!(!rich.contains("Ctrl-T rich mode"), "{rich}");
    s.send("\x14");
    let again = s.wait_until("ASCII again", |sc| {
        sc.contents().contains("Ctrl-T rich mode") && sc.contents().is_ascii() && !coloured(sc)
    });
    assert!(again.contains("web-01"), "{again}");
    assert_eq!(s.quit(), 0);
}

#[test]
fn function_keys_of_vt100_and_the_linux_console_work() {
    // F1 as each terminal sends it.
    for (term, f1) in [("vt100", "\x1bOP"), ("linux", "\x1b[[A")] {
        let dir = Sandbox::new();
        let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8"), ("TERM", term)]);
        s.wait_for("web-01");
        s.send(f1);
        s.wait_for("Ctrl-Z");
        s.send("\x1b");
        s.send("\r");
        s.wait_for(PREFLIGHT_PASSED);
        s.send("\r");
        s.wait_for("Access key");
        assert_eq!(s.quit(), 0, "TERM={term}");
    }
}

#[test]
fn ctrl_l_repaints_a_scribbled_screen() {
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    s.wait_for("web-01");
    s.scribble(b"\x1b[2J\x1b[Hgarbage");
    s.wait_until("the scribble", |sc| !sc.contents().contains("web-01"));
    s.send("\x0c");
    let screen = s.wait_for("web-01");
    assert!(!screen.contains("garbage"), "{screen}");
}

/// Walks the demo to Review (the confirmation field has focus).
fn to_review(s: &mut Session) {
    s.wait_for("web-01");
    s.send("\r");
    s.wait_for(PREFLIGHT_PASSED);
    s.send("\r");
    s.wait_for("Access key");
    s.send("\r");
    s.wait_for("Custom");
    s.send("\r");
    s.wait_for("i-0f552cc5023d8319a");
    s.send("\r");
    s.wait_for("/dev/xvdb");
    s.send("\r");
    s.wait_for("OVERWRITE");
    // Review's Next waits for TCP 1500's row (its padded title; "TCP 1500 to" while checking).
    s.wait_for("TCP 1500  ");
}

#[test]
fn pastes_are_whole_at_once_and_never_press_enter() {
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    to_review(&mut s);
    // A newline in a paste is not Enter: OVERWRITE lands in the field, nothing starts.
    s.send("\x1b[200~OVERWRITE\r\x1b[201~");
    // Ctrl-C's question shows only once everything before it was handled.
    s.send("\x03");
    let screen = s.wait_for("Quit drs-failback?");
    assert!(screen.contains("7/9 Review"), "{screen}");
    s.send("n");
    s.confirmation_shows("OVERWRITE");

    // 20,000 characters, then a key: with input held back in 1 KiB blocks the key never came.
    let long = format!("{}END", "x".repeat(20_000));
    s.send(&format!("\x1b[200~{long}\x1b[201~"));
    s.send("\x03");
    s.wait_for("Quit drs-failback?");
    s.send("n");
    s.confirmation_shows("xxxxEND");
    assert_eq!(s.quit(), 0);
}

#[test]
fn unknown_sequences_and_invalid_bytes_never_eat_later_keys() {
    let dir = Sandbox::new();
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    to_review(&mut s);
    // A private-mode sequence: crossterm swallowed every key after it until a `c` or `u`.
    s.send_bytes(b"\x1b[?1049l");
    s.send("\x03");
    s.wait_for("Quit drs-failback?");
    s.send("n");
    // A bracketed-paste start that never ends: after a quiet second, keys count again.
    s.send_bytes(b"\x1b[200~ab");
    s.confirmation_shows("ab");
    // Invalid UTF-8 around valid text: only the invalid bytes go.
    s.send_bytes(b"cd\xffe\xc3fg");
    s.confirmation_shows("abcdefg");
    assert_eq!(s.quit(), 0);
}

fn run(args: &[&str]) -> std::process::Output {
    let tmp = Sandbox::new();
    std::process::Command::new(BIN)
        .args(args)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap()
}

fn assert_no_escape_codes(out: &std::process::Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "{name} holds escape codes: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn errors_before_the_screen_exit_2_without_escape_codes() {
    // No terminal to draw on (stdin is not one here).
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ssh -t"));
    assert_no_escape_codes(&out);

    let out = run(&["--demo", "--scenario", "/nonexistent/scenario.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/scenario.json"));
    assert_no_escape_codes(&out);

    // The emulator's port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["emulator", "--listen", &addr]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&addr));
    assert_no_escape_codes(&out);
}

#[test]
fn a_download_that_fails_stops_the_failback_with_what_to_do() {
    let dir = Sandbox::new();
    let path = quick_scenario(dir.path());
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (fault, words) in [
        (
            serde_json::json!({"wrong_hash": true}),
            [
                "Wrong sha512 hash",
                "it was deleted and nothing was unpacked",
            ],
        ),
        (
            serde_json::json!({"bucket_owner": "999999999999"}),
            ["HTTP 403", "x-amz-expected-bucket-owner: "],
        ),
    ] {
        s["faults"] = serde_json::json!({ "s3": fault });
        std::fs::write(&path, s.to_string()).unwrap();
        let state = dir.path().join("state");
        let out = run(&[
            "--demo",
            "--no-prompt",
            "--scenario",
            &path,
            "--state-dir",
            state.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{fault}: {stderr}");
        for w in ["could not be installed", words[0], words[1]] {
            assert!(stderr.contains(w), "{fault}: no {w:?} in {stderr}");
        }
    }
}

/// The scenario's credentials, one of them first (the one the demo pre-fills).
fn scenario_with_first_key(dir: &Path, first: usize) -> (String, Vec<String>) {
    let path = quick_scenario(dir);
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let creds = s["credentials"].as_array_mut().unwrap();
    let chosen = creds.remove(first);
    creds.insert(0, chosen);
    let secrets = creds
        .iter()
        .flat_map(|c| [&c["secret_access_key"], &c["session_token"]])
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    std::fs::write(&path, s.to_string()).unwrap();
    (path, secrets)
}

#[test]
fn a_refused_no_prompt_run_exits_3_and_no_secret_reaches_its_log_or_output() {
    let dir = Sandbox::new();
    // The expired session first: verification fails.
    let (scenario, secrets) = scenario_with_first_key(dir.path(), 2);
    let log = dir.path().join("run.log");
    let out = run(&[
        "--demo",
        "--no-prompt",
        "--scenario",
        &scenario,
        "--demo-dir",
        dir.path().join("disks").to_str().unwrap(),
        "--log-file",
        log.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The expired session: the credentials' exit status, naming the session token.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("stopped:") && stderr.contains("--aws-session-token"),
        "{stderr}"
    );
    assert_no_escape_codes(&out);
    let log = std::fs::read_to_string(log).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for secret in &secrets {
        for (name, text) in [
            ("log", &log),
            ("stdout", &stdout.to_string()),
            ("stderr", &stderr.to_string()),
        ] {
            assert!(!text.contains(secret.as_str()), "{name} holds a secret");
        }
    }
}

#[test]
fn no_secret_of_any_scenario_key_reaches_the_log_or_a_screen() {
    let dir = Sandbox::new();
    let (_, secrets) = scenario_with_first_key(dir.path(), 0);
    let mut s = Session::demo(dir.path(), &[("LANG", "C.UTF-8")]);
    s.wait_for("web-01");
    s.send("\r");
    s.wait_for(PREFLIGHT_PASSED);
    s.send("\r");
    s.wait_for("Access key");
    // Verify every demo key (F2 cycles them), back to Credentials after each.
    for _ in 0..3 {
        s.send("\x1bOQ");
        s.wait_for("Demo key");
        s.send("\r");
        let answer = s.wait_until("the verification's answer", |sc| {
            let t = sc.contents();
            t.contains("4/9 Endpoint") || t.contains("The session token has expired")
        });
        if answer.contains("4/9 Endpoint") {
            s.send("\x1b");
            s.wait_for("Access key");
        }
    }
    assert_eq!(s.quit(), 0);
    let log = std::fs::read_to_string(dir.path().join("drs-failback.log")).unwrap();
    assert!(
        log.contains("verification") || log.contains("VerifyCredentials"),
        "{log}"
    );
    let screens = s.history();
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log holds a secret");
        assert!(
            !screens.iter().any(|sc| sc.contains(secret.as_str())),
            "a screen showed a secret"
        );
    }
}

#[test]
fn region_and_endpoint_on_the_command_line_fill_the_screens() {
    let dir = Sandbox::new();
    let scenario = quick_scenario(dir.path());
    let disks = dir.path().join("disks");
    let demo = |args: &[&str]| {
        let mut all = vec![
            "--demo",
            "--scenario",
            &scenario,
            "--demo-dir",
            disks.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        Session::start(
            &all,
            &[
                ("LANG", "C.UTF-8"),
                ("TMPDIR", dir.path().to_str().unwrap()),
            ],
        )
    };
    let quit = |mut s: Session| {
        assert_eq!(s.quit(), 0);
    };
    // The endpoint given is the one the pre-flight checks: nothing listens there.
    let mut s = demo(&["--endpoint", "http://127.0.0.1:9"]);
    s.wait_for("web-01");
    s.send("\r");
    s.wait_for("127.0.0.1:9: TCP failed");
    quit(s);
    // The region given is the Credentials step's (and the demo's emulator plays it).
    let mut s = demo(&["--region", "eu-west-3"]);
    s.wait_for("web-01");
    s.send("\r");
    s.wait_for(" passed, ");
    s.send("\r");
    s.wait_for("eu-west-3");
    s.send("\r");
    // Verified in that region, and the endpoint step offers its default.
    s.wait_for("drs.eu-west-3.amazonaws.com");
    quit(s);
}

#[test]
fn keys_exported_with_the_failback_clients_names_are_filled_in() {
    let dir = Sandbox::new();
    let mut s = Session::demo(
        dir.path(),
        &[
            ("LANG", "C.UTF-8"),
            ("AWS_ACCESS_KEY", "ASIADEMOEXAMPLE00002"),
            ("AWS_SECRET_KEY", "DemoOnly/NotARealSecretKey/Installer0002"),
            (
                "AWS_SESSION_TOKEN",
                "DemoOnlySessionToken/NotReal/FailbackInstallationPolicy/0002",
            ),
        ],
    );
    s.wait_for("web-01");
    s.send("\r");
    s.wait_for(PREFLIGHT_PASSED);
    s.send("\r");
    s.wait_for("ASIADEMOEXAMPLE00002");
    // They verify against the demo's emulator, whose keys they are.
    s.send("\r");
    s.wait_for("Custom");
    assert_eq!(s.quit(), 0);
}

#[test]
fn sigterm_mid_replication_without_a_screen_exits_143_and_a_second_run_reports_the_result() {
    use std::io::BufRead;
    let dir = Sandbox::new();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let scenario = quick_scenario(dir.path());
    let mut child = std::process::Command::new(BIN)
        .args([
            "--demo",
            "--no-prompt",
            "--launch-when-ready",
            "--scenario",
            &scenario,
        ])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains("[8/9 Replication]"));
    assert!(seen.is_some(), "replication never started");
    let state = tmp.join("drs-failback-demo");
    let worker = status(&state).0["worker_pid"].as_u64().expect("a worker");
    let _guard = EndWorker(worker);
    let status_of = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status_of.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("goes on in its worker") && said.contains("drs-failback --demo"),
        "{said}"
    );
    assert!(alive(worker), "the failback ended with its wizard");

    // Run again (same TMPDIR, so the same demo state directory): it attaches, launches,
    // reports the result; the acknowledged worker ends, and the demo's emulator it held.
    let again = std::process::Command::new(BIN)
        .args([
            "--demo",
            "--no-prompt",
            "--launch-when-ready",
            "--scenario",
            &scenario,
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("[9/9 Result] FAILBACK_COMPLETED"),
        "{stdout}"
    );
    // The worker ends, then the demo's emulator it held, which removes the disks.
    nothing_left_naming(&tmp);
    assert!(!alive(worker));
    let left = names(&tmp);
    assert!(left.iter().all(|n| n.ends_with(".log")), "left {left:?}");
}

#[test]
fn below_the_minimum_size_keys_act_on_nothing_and_the_quit_question_shows() {
    let dir = Sandbox::new();
    let mut s = Session::demo_sized(dir.path(), &[], &[("LANG", "C.UTF-8")], 10, 40);
    s.wait_for("too small");
    // The walk that used to start replication unseen.
    s.send("\r\r\r\r\rOVERWRITE\r");
    s.send("\x03");
    s.wait_for("Quit drs-failback?");
    s.send("n");
    s.wait_until("the question gone", |sc| !sc.contents().contains("Quit"));
    s.resize(24, 80);
    let screen = s.wait_for("1/9 Welcome");
    assert!(!screen.contains("too small"), "{screen}");
    assert_eq!(s.quit(), 0);
}

/// `drs-failback status --json` for the failback in `state`: its parsed answer and exit code.
fn status(state: &Path) -> (serde_json::Value, Option<i32>) {
    let out = run(&["status", "--json", "--state-dir", state.to_str().unwrap()]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (json, out.status.code())
}

/// Ends a worker a failed test left running, and the replication software it runs (in a
/// process group of its own, so it would outlive the worker).
struct EndWorker(u64);

impl Drop for EndWorker {
    fn drop(&mut self) {
        if !alive(self.0) {
            return;
        }
        let children: Vec<i32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u64>().ok())
                        == Some(self.0)
                })
            })
            .collect();
        for pid in children.into_iter().chain([self.0 as i32]) {
            // SAFETY: a signal to the worker this test started, or to its child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Alive and not a zombie (a worker whose wizard was killed has no parent waiting for it).
fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// The processes (not zombies) whose command line names `dir`, with their command lines: the
/// demo's emulator and worker name their state directory, the replication software its log.
fn running_naming(dir: &Path) -> Vec<(u64, String)> {
    let dir = dir.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.contains(dir) && alive(pid)).then_some((pid, cmdline))
        })
        .collect()
}

/// The demo's emulator serving `state`, the one process of its kind.
fn emulator_of(state: &Path) -> u64 {
    let found: Vec<u64> = running_naming(state)
        .into_iter()
        .filter(|(_, c)| c.contains(" emulator --held "))
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "emulators for {}: {found:?}",
        state.display()
    );
    found[0]
}

/// Waits (bounded) until no process names `dir` any more.
fn nothing_left_naming(dir: &Path) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = running_naming(dir);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_failback_outlives_its_wizards_and_a_third_one_attaches_and_sees_it_through() {
    let dir = Sandbox::new();
    let scenario = quick_scenario(dir.path());
    let state = dir.path().join("state");
    let args = demo_args(&scenario, dir.path(), &state);
    let env = [("LANG", "C.UTF-8")];

    let (none, code) = status(&state);
    assert_eq!((none["running"].as_bool(), code), (Some(false), Some(1)));

    let mut first = Session::start(&args, &env);
    to_review(&mut first);
    first.send("OVERWRITE\r");
    first.wait_for("INITIAL_SYNC");
    let (running, code) = status(&state);
    assert_eq!(code, Some(0), "{running}");
    assert_eq!(running["running"], true);
    assert_eq!(running["recovery_instance_id"], "i-0f552cc5023d8319a");
    // The pre-flight as it stood at the confirmation, the instance's rows included.
    let ids: Vec<&str> = running["preflight"]
        .as_array()
        .expect("preflight rows")
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "ram",
        "clock",
        "drs_endpoint",
        "instance_boot_mode",
        "local_disks",
        "replication_port",
    ] {
        assert!(ids.contains(&id), "no {id} in {ids:?}");
    }
    assert_eq!(
        running["started_by"]["pid"].as_u64(),
        Some(first.pid().parse().unwrap())
    );
    let worker = running["worker_pid"].as_u64().expect("a worker pid");
    let _guard = EndWorker(worker);
    assert_ne!(worker.to_string(), first.pid());

    // SIGKILL: the wizard gets no chance to clean up or say anything.
    first.kill("KILL");
    first.exit_code();
    assert!(alive(worker), "the worker died with its wizard");

    let mut second = Session::start(&args, &env);
    let attached = second.wait_for("Started from");
    assert!(attached.contains("failback FAILBACK_"), "{attached}");
    assert_eq!(status(&state).0["worker_pid"].as_u64(), Some(worker));
    second.kill("HUP");
    assert_eq!(second.exit_code(), 129);
    assert!(alive(worker), "the worker died with a hung-up wizard");

    // Without --demo too: any wizard given the state directory attaches.
    let mut third = Session::start(&["--state-dir", state.to_str().unwrap()], &env);
    third.wait_for("Started from");
    third.wait_for("Press l");
    third.send("l");
    third.wait_for("Start the failback launch now?");
    third.send("y");
    third.wait_for("Failback completed");
    assert_eq!(status(&state).0["worker_pid"].as_u64(), Some(worker));
    third.send("q");
    assert_eq!(third.exit_code(), 0);

    // Acknowledged: the worker ends and takes its socket with it.
    common::until("the worker did not end", PATIENCE, || !alive(worker));
    assert_eq!(status(&state).1, Some(1));

    // The credentials crossed the pipe: none reached the worker's log.
    let log =
        std::fs::read_to_string(running["log_file"].as_str().expect("the worker's log")).unwrap();
    assert!(log.contains("failback started"), "{log}");
    let scenario: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
    for c in scenario["credentials"].as_array().unwrap() {
        for secret in [&c["secret_access_key"], &c["session_token"]] {
            if let Some(secret) = secret.as_str() {
                assert!(!log.contains(secret), "the worker's log holds a secret");
            }
        }
    }
}

/// The demo on the quick scenario with its worker's state in `state`, at Review.
fn demo_at_review(dir: &Path, state: &Path) -> Session {
    let scenario = quick_scenario(dir);
    let mut s = Session::start(&demo_args(&scenario, dir, state), &[("LANG", "C.UTF-8")]);
    to_review(&mut s);
    s
}

#[test]
fn a_demo_whose_worker_was_killed_starts_a_new_one_on_retry_against_the_same_emulator() {
    let dir = Sandbox::new();
    let state = dir.path().join("state");
    let mut s = demo_at_review(dir.path(), &state);
    s.send("OVERWRITE\r");
    s.wait_for("INITIAL_SYNC");
    let emulator = emulator_of(&state);
    let worker = status(&state).0["worker_pid"].as_u64().expect("a worker");
    // The worker alone, as a crash would end it (the replication software ends with it).
    // SAFETY: a signal to the worker this test started.
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    let screen = s.wait_until("the worker's end explained", |sc| {
        let flat = words(&sc.contents());
        flat.contains("worker is gone")
    });
    assert!(!words(&screen).contains("Broken pipe"), "{screen}");
    assert!(alive(emulator), "the demo's emulator died with the worker");

    // Retry: Review again, and a new worker against the same emulator.
    s.send("r");
    s.wait_for("OVERWRITE");
    s.wait_for("TCP 1500  ");
    s.send("OVERWRITE\r");
    s.wait_for("Press l");
    let again = status(&state).0["worker_pid"]
        .as_u64()
        .expect("a new worker");
    let _guard = EndWorker(again);
    assert_ne!(again, worker);
    assert_eq!(emulator_of(&state), emulator);
    s.send("l");
    s.wait_for("Start the failback launch now?");
    s.send("y");
    s.wait_for("Failback completed");
    s.send("q");
    assert_eq!(s.exit_code(), 0);
    nothing_left_naming(dir.path());
}

#[test]
fn a_client_attaching_mid_run_gets_the_state_so_far_then_live_events_and_bad_requests_get_errors() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let dir = Sandbox::new();
    let state = dir.path().join("state");
    let mut s = demo_at_review(dir.path(), &state);
    s.send("OVERWRITE\r");
    s.wait_for("INITIAL_SYNC");
    let socket = state.join("worker.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    // A safety net against a silent worker, not a pace.
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut events = BufReader::new(stream.try_clone().unwrap())
        .lines()
        .map(|l| {
            let l = l.expect("an event line");
            serde_json::from_str::<serde_json::Value>(&l).unwrap()
        });
    let hello = events.next().unwrap();
    assert_eq!(hello["event"], "hello", "{hello}");
    assert_eq!(hello["plan"]["recovery_instance_id"], "i-0f552cc5023d8319a");
    let _guard = EndWorker(hello["worker_pid"].as_u64().unwrap());
    let snapshot: Vec<_> = events
        .by_ref()
        .take_while(|e| e["event"] != "live")
        .collect();
    let kinds: Vec<&str> = snapshot
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in ["log", "paired", "writes", "polled"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} in the snapshot: {kinds:?}"
        );
    }
    // Live from here: the next poll or write sample comes as it happens.
    let live = events.next().unwrap();
    assert!(
        ["log", "writes", "polled"].contains(&live["event"].as_str().unwrap()),
        "{live}"
    );

    use std::io::Write;
    stream
        .write_all(b"{\"request\": \"format_disks\"}\nnot json\n")
        .unwrap();
    stream
        .write_all(b"{\"request\": \"acknowledge\"}\n")
        .unwrap();
    let errors: Vec<String> = events
        .by_ref()
        .filter(|e| e["event"] == "error")
        .take(3)
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        errors[0].contains("not a request") && errors[1].contains("not a request"),
        "{errors:?}"
    );
    assert!(errors[2].contains("no result yet"), "{errors:?}");
    // The connection stays: events keep coming.
    assert!(events.next().is_some());
    s.send("\x03");
    assert!(
        s.wait_for("Quit")
            .contains("goes on in the failback worker")
    );
    s.send("n");

    // Any client may throttle the replication; every terminal hears of it.
    stream
        .write_all(b"{\"request\": \"set_bandwidth\", \"mbps\": 100}\n")
        .unwrap();
    let throttled = events
        .find(|e| e["event"] == "bandwidth" || e["event"] == "error")
        .unwrap();
    assert_eq!(throttled["mbps"], 100, "{throttled}");
    s.wait_for("throttled to 100 Mbps");

    // Watchers attached when the worker ends each get its last word before it goes.
    let watchers: Vec<_> = (0..12)
        .map(|_| {
            let w = std::os::unix::net::UnixStream::connect(&socket).unwrap();
            w.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut lines = BufReader::new(w).lines().map_while(Result::ok);
            assert!(lines.by_ref().any(|l| l.contains("\"live\"")));
            lines
        })
        .collect();

    // Any client may stop the failback: every terminal gets the outcome.
    stream
        .write_all(b"{\"request\": \"stop_failback\"}\n")
        .unwrap();
    let outcome = events.find(|e| e["event"] == "outcome").unwrap();
    assert_eq!(outcome["verdict"]["result"], "failed", "{outcome}");
    assert!(
        outcome["verdict"]["what"]
            .as_str()
            .unwrap()
            .contains("StopFailback")
    );
    s.wait_for("StopFailback");
    s.send("q");
    // A stopped failback did not complete.
    assert_eq!(s.exit_code(), 1);
    assert!(events.any(|e| e["event"] == "ending"));
    for (n, mut watcher) in watchers.into_iter().enumerate() {
        assert!(
            watcher.any(|l| l.contains("\"ending\"")),
            "watcher {n} lost the ending"
        );
    }
}

#[test]
fn two_wizards_before_any_failback_both_work_and_the_second_confirmed_is_refused_and_attached() {
    let dir = Sandbox::new();
    let state = dir.path().join("state");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // Both reach Review: no failback runs yet, so neither holds the machine's lock.
    let mut first = demo_at_review(&a, &state);
    let mut second = demo_at_review(&b, &state);
    first.send("OVERWRITE\r");
    first.wait_for("INITIAL_SYNC");
    let (running, code) = status(&state);
    assert_eq!(code, Some(0), "{running}");
    let worker = running["worker_pid"].as_u64().expect("a worker pid");
    let _guard = EndWorker(worker);

    second.send("OVERWRITE\r");
    let screen = second.wait_for("was not started");
    assert!(
        screen.contains("Started from /dev/pts/")
            && screen.contains(&format!("(pid {})", first.pid())),
        "{screen}"
    );
    // Still the one failback, the first one's.
    let after = status(&state).0;
    assert_eq!(after["worker_pid"].as_u64(), Some(worker));
    assert_eq!(
        after["started_by"]["pid"].as_u64(),
        Some(first.pid().parse().unwrap())
    );
    for s in [&mut second, &mut first] {
        assert_eq!(s.quit(), 0);
    }
}

/// The demo on the quick scenario for a test that follows its processes: everything in
/// `dir` (TMPDIR, logs, disks, the state in `dir/state`).
fn demo_on(dir: &Path, more: &[&str]) -> Session {
    let scenario = quick_scenario(dir);
    let state = dir.join("state");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut args = vec![
        "--demo",
        "--scenario",
        &scenario,
        "--state-dir",
        state.to_str().unwrap(),
    ];
    args.extend(more);
    Session::start(
        &args,
        &[("LANG", "C.UTF-8"), ("TMPDIR", tmp.to_str().unwrap())],
    )
}

#[test]
fn the_demos_emulator_is_a_process_that_a_second_wizard_joins_and_that_ends_with_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut first = demo_on(dir.path(), &[]);
    first.wait_for("web-01");
    let emulator = emulator_of(&state);
    assert_ne!(emulator.to_string(), first.pid(), "the emulator runs apart");
    // No worker before a failback is confirmed: the emulator is the demo's only process.
    let others: Vec<_> = running_naming(dir.path())
        .into_iter()
        .filter(|(pid, _)| *pid != emulator && pid.to_string() != first.pid())
        .collect();
    assert!(others.is_empty(), "{others:?}");

    // Its own disk directory asked for: it joins anyway, and says so.
    let elsewhere = dir.path().join("elsewhere");
    let mut second = demo_on(dir.path(), &["--demo-dir", elsewhere.to_str().unwrap()]);
    second.wait_for("This demo joined the one already running");
    assert_eq!(emulator_of(&state), emulator, "a second emulator started");
    assert!(!elsewhere.exists());
    second.send("\r");
    second.wait_for(PREFLIGHT_PASSED);
    second.send("\r");
    second.send("\r");
    second.wait_for("Custom");
    first.send("\x03");
    first.wait_for("Quit");
    first.send("y");
    assert_eq!(first.exit_code(), 0);
    assert!(alive(emulator), "the emulator ended while a wizard held it");
    // The second wizard's journey goes on against the same emulator.
    second.send("\r");
    second.wait_for("i-0f552cc5023d8319a");
    second.send("\x03");
    second.wait_for("Quit");
    second.send("y");
    assert_eq!(second.exit_code(), 0);
    // The last hold let go: nothing of the demo is left once the wizard has exited, and the
    // emulator, which this wizard joined and so does not wait for, ends after it said so.
    assert!(!state.exists(), "{:?}", names(&state));
    common::until("the demo's emulator did not end", PATIENCE, || {
        running_naming(dir.path()).is_empty()
    });
    let tmp = names(&dir.path().join("tmp"));
    assert!(tmp.iter().all(|n| n.ends_with(".log")), "{tmp:?}");
}

#[test]
fn a_killed_worker_leaves_the_demos_emulator_and_a_failback_started_again_finds_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut first = demo_on(dir.path(), &[]);
    to_review(&mut first);
    first.send("OVERWRITE\r");
    first.wait_for("INITIAL_SYNC");
    let emulator = emulator_of(&state);
    let worker = status(&state).0["worker_pid"].as_u64().expect("a worker");
    assert_ne!(worker, emulator, "the emulator is not the worker");
    // SAFETY: a signal to the worker this test started.
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    first.wait_for("The failback worker is gone");
    assert!(alive(emulator), "the emulator died with the worker");

    // Started again (from another wizard here): the same emulator, and the failback's state
    // on it — the recovery instance replicating to the client paired before the kill.
    let mut again = demo_on(dir.path(), &[]);
    again.wait_for("web-01");
    assert_eq!(emulator_of(&state), emulator);
    again.send("\r");
    again.wait_for(PREFLIGHT_PASSED);
    again.send("\r");
    again.wait_for("Access key");
    again.send("\r");
    again.wait_for("Custom");
    again.send("\r");
    let list = again.wait_for("i-0f552cc5023d8319a");
    let row = list
        .lines()
        .find(|l| l.contains("i-0f552cc5023d8319a"))
        .unwrap()
        .to_owned();
    assert!(
        ["INITIAL_SYNC", "CONTINUOUS", "BACKLOG"]
            .iter()
            .any(|s| row.contains(s)),
        "{row}"
    );
    again.send("\r");
    again.wait_for("/dev/xvdb");
    again.send("\r");
    again.wait_for("OVERWRITE");
    again.wait_for("TCP 1500  ");
    again.send("OVERWRITE\r");
    again.wait_for("Press l");
    let restarted = status(&state).0["worker_pid"].as_u64().expect("a worker");
    assert_ne!(restarted, worker);
    again.send("l");
    again.wait_for("Start the failback launch now?");
    again.send("y");
    again.wait_for("Failback completed");
    again.send("q");
    assert_eq!(again.exit_code(), 0);
    first.send("q");
    first.exit_code();
    // The failback's end is the demo's end: nothing of it runs any more.
    nothing_left_naming(dir.path());
    assert!(!state.exists(), "{:?}", names(&state));
}

/// Loop devices over sparse files, for the real path: detached and their files deleted when
/// dropped, also when an assertion failed on the way.
struct LoopDisks {
    devices: Vec<String>,
    // Dropped after `drop` has detached the devices over its files.
    dir: tempfile::TempDir,
}

impl LoopDisks {
    /// Why loop devices cannot be used here, if they cannot.
    fn unavailable() -> Option<String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("not root".into());
        }
        if !Path::new("/dev/loop-control").exists() {
            return Some("no /dev/loop-control (no loop driver)".into());
        }
        match std::process::Command::new("losetup").arg("--find").output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "no free loop device: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("no losetup: {e}")),
        }
    }

    fn new() -> LoopDisks {
        LoopDisks {
            devices: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A new loop device over a sparse file of `bytes`: its /dev name.
    fn attach(&mut self, name: &str, bytes: u64) -> String {
        let file = self.dir.path().join(name);
        std::fs::File::create(&file)
            .unwrap()
            .set_len(bytes)
            .unwrap();
        let out = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let device = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        self.devices.push(device.clone());
        device
    }
}

impl Drop for LoopDisks {
    fn drop(&mut self) {
        for device in self.devices.iter().rev() {
            let detached = std::process::Command::new("losetup")
                .args(["--detach", device])
                .status();
            if !detached.is_ok_and(|s| s.success()) {
                eprintln!("cleanup: losetup --detach {device} failed");
            }
        }
    }
}

/// Ends the worker that holds the lock in a state directory, when a failed test left it.
struct EndWorkerIn(std::path::PathBuf);

impl Drop for EndWorkerIn {
    fn drop(&mut self) {
        let holder = std::fs::read(self.0.join("lock"))
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok());
        if let Some(pid) = holder.and_then(|h| h["worker_pid"].as_u64()) {
            drop(EndWorker(pid));
        }
    }
}

/// `drs-failback emulator` as its own process: ended when dropped.
struct EmulatorProcess {
    child: std::process::Child,
    endpoint: String,
}

impl EmulatorProcess {
    fn start(scenario: &str) -> EmulatorProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(BIN)
            .args([
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--scenario",
                scenario,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let endpoint = lines
            .find_map(|l| {
                l.unwrap()
                    .strip_prefix("DRS emulator listening on ")
                    .map(str::to_owned)
            })
            .expect("the emulator says where it listens");
        // What it prints later must not block it on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        EmulatorProcess { child, endpoint }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MIB: u64 = 1 << 20;

/// The real path's rig: an outside emulator serving one recovery instance with two small
/// volumes, and a loop device for each. Its fields end in this order: the worker, the loop
/// devices, the emulator, the files.
struct RealRig {
    _worker: EndWorkerIn,
    _disks: LoopDisks,
    emulator: EmulatorProcess,
    /// (volume, its bytes, the loop device it goes to)
    targets: Vec<(&'static str, u64, String)>,
    id: String,
    key: serde_json::Value,
    scenario: std::path::PathBuf,
    state: std::path::PathBuf,
    _dir: Sandbox,
}

impl RealRig {
    /// None, saying why, where loop devices cannot be made.
    fn new(test: &str) -> Option<RealRig> {
        RealRig::with_s3_faults(test, serde_json::json!({}))
    }

    /// With the scenario's S3 faults `s3` besides the slow tarball.
    fn with_s3_faults(test: &str, s3: serde_json::Value) -> Option<RealRig> {
        RealRig::with_scenario(test, s3, |_| {})
    }

    /// The same, the scenario changed by `change` last.
    fn with_scenario(
        test: &str,
        mut s3: serde_json::Value,
        change: impl FnOnce(&mut serde_json::Value),
    ) -> Option<RealRig> {
        if let Some(why) = LoopDisks::unavailable() {
            println!("SKIPPED {test} (loop devices): {why}");
            return None;
        }
        let dir = Sandbox::new();
        // The tarball comes slowly enough for the dashboard to show its download (5 B/s
        // scenario time, 100 B/s here).
        let mut s: serde_json::Value =
            serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap();
        s["time_scale"] = 20.into();
        s3["bytes_per_second"] = 5.into();
        s["faults"] = serde_json::json!({ "s3": s3 });
        let mut instance = s["recovery_instances"][0].clone();
        instance["volumes"] = serde_json::json!([
            {"device": "/dev/xvda", "size": "64MiB", "used": "24MiB"},
            {"device": "/dev/xvdb", "size": "40MiB", "used": "8MiB"},
        ]);
        let id = instance["id"].as_str().unwrap().to_owned();
        s["recovery_instances"] = serde_json::json!([instance]);
        change(&mut s);
        let scenario = dir.path().join("scenario.json");
        std::fs::write(&scenario, s.to_string()).unwrap();
        let emulator = EmulatorProcess::start(scenario.to_str().unwrap());
        let mut disks = LoopDisks::new();
        let targets = vec![
            (
                "/dev/xvda",
                64 * MIB,
                disks.attach("xvda-target.img", 64 * MIB),
            ),
            (
                "/dev/xvdb",
                40 * MIB,
                disks.attach("xvdb-target.img", 48 * MIB),
            ),
        ];
        let state = dir.path().join("state");
        Some(RealRig {
            _worker: EndWorkerIn(state.clone()),
            _disks: disks,
            emulator,
            targets,
            id,
            key: s["credentials"][0].clone(),
            scenario,
            state,
            _dir: dir,
        })
    }

    /// The wizard without --demo, pointed at the emulator (S3 at `s3_endpoint`), walked to
    /// the confirmation with the keys typed and the mapping pasted, and confirmed.
    fn confirmed_wizard(&self, s3_endpoint: &str) -> Session {
        self.confirmed_wizard_then(s3_endpoint, || {})
    }

    /// The same, with `started` run once the wizard shows Welcome.
    fn confirmed_wizard_then(&self, s3_endpoint: &str, started: impl FnOnce()) -> Session {
        let mut w = Session::start(
            &[
                "--endpoint",
                &self.emulator.endpoint,
                "--s3-endpoint",
                s3_endpoint,
                "--include-loop",
                "--state-dir",
                self.state.to_str().unwrap(),
            ],
            &[("LANG", "C.UTF-8")],
        );
        let welcome = w.wait_for("Welcome");
        assert!(!welcome.contains("DEMO"), "{welcome}");
        started();
        w.send("\r");
        w.wait_for(PREFLIGHT_PASSED);
        w.send("\r");
        w.wait_for("Access key");
        w.send(self.key["access_key_id"].as_str().unwrap());
        w.send("\t");
        w.send(self.key["secret_access_key"].as_str().unwrap());
        w.send("\r");
        w.wait_for("Custom");
        w.send("\r");
        // Until this machine's disks are read, no instance fits them.
        w.wait_until("the instance, fitting the loop devices", |sc| {
            let c = sc.contents();
            c.contains(&self.id) && !c.contains("cannot fit the local disks")
        });
        w.send(&self.id);
        w.send("\r");
        w.wait_until("the mapping step", |sc| {
            sc.contents()
                .lines()
                .next()
                .is_some_and(|l| l.contains("Volume mapping"))
        });
        w.send("p");
        w.send(&format!(
            "/dev/xvda={},/dev/xvdb={}\r",
            self.targets[0].2, self.targets[1].2
        ));
        w.wait_for(&self.targets[1].2);
        w.send("\r");
        w.wait_for("OVERWRITE");
        // Review's Next waits for TCP 1500's row (its padded title; "TCP 1500 to" while checking).
        w.wait_for("TCP 1500  ");
        w.send("OVERWRITE\r");
        w
    }
}

#[test]
fn without_demo_the_wizard_fails_back_onto_loop_devices_from_an_outside_emulator() {
    let Some(rig) = RealRig::new("the real-path failback") else {
        return;
    };
    let (id, state, targets) = (&rig.id, &rig.state, &rig.targets);
    let mut w = rig.confirmed_wizard(&rig.emulator.endpoint);
    w.wait_for("Downloading AWS's replication software");
    let (running, _) = status(state);
    let worker = running["worker_pid"].as_u64().expect("a worker pid");
    assert_ne!(worker.to_string(), w.pid());
    w.wait_for("Press l");
    // The loop devices' own write counters saw the data (24 + 8 MiB) arrive.
    common::until("the target disks' counters saw 32 MiB", PATIENCE, || {
        status(state).0["written_bytes"].as_u64() >= Some(32 * MIB)
    });
    w.send("l");
    w.wait_for("Start the failback launch now?");
    w.send("y");
    w.wait_for("Failback completed");
    w.send("q");
    assert_eq!(w.exit_code(), 0);

    // Nothing lost: each loop device holds its volume, byte for byte.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reference = runtime.block_on(async {
        let s = drs_failback::emulator::Scenario::load(&rig.scenario).unwrap();
        drs_failback::emulator::Emulator::start("127.0.0.1:0".parse().unwrap(), s)
            .await
            .unwrap()
    });
    for (volume, bytes, device) in targets {
        use sha2::Digest;
        use std::io::Read;
        let mut content = Vec::new();
        std::fs::File::open(device)
            .unwrap()
            .take(*bytes)
            .read_to_end(&mut content)
            .unwrap();
        let actual = format!("{:x}", sha2::Sha256::digest(&content));
        assert_eq!(
            Some(actual),
            reference.volume_sha256(id, volume, *bytes),
            "{device} does not hold {volume}"
        );
    }
    // The worker ended once the result was seen, and took the software it downloaded.
    common::until("the worker did not end", PATIENCE, || !alive(worker));
    assert!(!state.join("software").exists());
}

#[test]
fn without_demo_a_refused_download_is_explained_on_the_result() {
    // The bucket belongs to another account than the region's: S3 answers 403.
    let Some(rig) = RealRig::with_s3_faults(
        "the refused download",
        serde_json::json!({"bucket_owner": "999999999999"}),
    ) else {
        return;
    };
    let mut w = rig.confirmed_wizard(&rig.emulator.endpoint);
    let result = w.wait_for("could not be installed");
    let flat = words(&result);
    for said in [
        "HTTP 403",
        "x-amz-expected-bucket-owner",
        "Check the region",
    ] {
        assert!(flat.contains(said), "no {said:?} in\n{result}");
    }
    w.send("q");
    assert_eq!(w.exit_code(), 1);
}

#[test]
fn without_demo_a_failback_refused_by_the_lock_says_who_holds_it_and_retry_starts_a_new_worker() {
    use std::os::fd::AsRawFd;
    let Some(rig) = RealRig::new("the lock refusal on the real path") else {
        return;
    };
    // Another worker takes the lock after this wizard started, and serves nothing yet.
    std::fs::create_dir_all(&rig.state).unwrap();
    let lock = std::fs::File::create(rig.state.join("lock"));
    let take = || {
        let lock = lock.as_ref().unwrap();
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(
            unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        let holder = serde_json::json!({"worker_pid": 4242, "started_by":
            {"terminal": "/dev/ttyS0", "pid": 4241, "started_at": 0}});
        std::fs::write(rig.state.join("lock"), holder.to_string()).unwrap();
    };
    let mut w = rig.confirmed_wizard_then(&rig.emulator.endpoint, take);
    let refused = w.wait_for("another failback is running");
    let flat = words(&refused);
    assert!(
        flat.contains("worker pid 4242, started from /dev/ttyS0"),
        "{refused}"
    );

    // Once the other failback is over, retry starts a new worker (the refused one ended).
    drop(lock);
    std::fs::remove_file(rig.state.join("lock")).unwrap();
    w.send("r");
    w.wait_for("OVERWRITE");
    w.wait_for("TCP 1500  ");
    w.send("OVERWRITE\r");
    let screen = w.wait_until("the retried failback's download, or why not", |sc| {
        let flat = words(&sc.contents());
        ["Downloading AWS's replication software", "worker is gone"]
            .iter()
            .any(|t| flat.contains(t))
    });
    assert!(
        screen.contains("Downloading AWS's replication software"),
        "{screen}"
    );
    let (running, _) = status(&rig.state);
    let worker = running["worker_pid"].as_u64().expect("a worker pid");
    let _guard = EndWorker(worker);
    assert_ne!(worker, 4242);
    w.send("\x03");
    w.wait_for("Quit");
    w.send("y");
    w.exit_code();
}

/// The pid in the worker log's "Started failback_entry (...), pid N" lines, one per start.
fn replication_software_pids(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("Started failback_entry"))
        .filter_map(|l| l.rsplit("pid ").next()?.trim().parse().ok())
        .collect()
}

/// `status --json` of the failback running in `state`, once one runs (bounded).
fn running_failback(state: &Path) -> serde_json::Value {
    common::until("a failback runs", PATIENCE, || {
        status(state).0["worker_pid"].is_u64()
    });
    status(state).0
}

/// The live processes in process group `pgid` (field 5 of /proc/PID/stat).
fn group_members(pgid: u64) -> Vec<u64> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse::<u64>().ok())
                    == Some(pgid)
            })
        })
        .filter(|&pid| alive(pid))
        .collect()
}

/// `/proc/PID/<file>` with its NULs as newlines.
fn proc_text(pid: u64, file: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default())
        .replace('\0', "\n")
}

/// A worker that dies (killed, crashed) takes its replication software with it, every process
/// of it (the stand-in has a child, as AWS's wrapper starts a JRE): nothing watches it
/// any more, and the failback retried from a new worker must not meet it writing the same
/// disks. On the real path, where the emulator outlives the worker.
#[test]
fn without_demo_the_replication_software_ends_with_a_killed_worker() {
    // The setup's steps take hours: the program has nothing to print meanwhile (a program
    // that prints dies of the closed pipe anyway).
    let Some(rig) = RealRig::with_scenario(
        "the replication software of a killed worker",
        serde_json::json!({}),
        |s| s["timings"]["initiation_step_seconds"] = serde_json::Value::from(vec![36000; 7]),
    ) else {
        return;
    };
    let mut w = rig.confirmed_wizard(&rig.emulator.endpoint);
    w.wait_for("8/9 Replication");
    let running = running_failback(&rig.state);
    let deadline = Instant::now() + PATIENCE;
    let worker = running["worker_pid"].as_u64().unwrap();
    let _guard = EndWorker(worker);
    let log_file = running["log_file"].as_str().expect("its log").to_owned();
    // Once it waits, quietly, for the first setup step.
    let software = loop {
        let log = std::fs::read_to_string(&log_file).unwrap();
        let pids = replication_software_pids(&log);
        if let (Some(pid), true) = (pids.first(), log.contains("Failback client linked")) {
            break *pid;
        }
        assert!(
            Instant::now() < deadline,
            "the software never started:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(alive(software));
    let group = group_members(software);
    assert!(group.len() >= 2, "the stand-in and its child: {group:?}");
    // No core dump of ours or of the program holds the credentials; a JVM's crash file would
    // land in the worker's directory on the tmpfs, and the program's processes are marked.
    for pid in group.iter().chain([&worker]) {
        let limits = proc_text(*pid, "limits");
        let core = limits.lines().find(|l| l.starts_with("Max core file size"));
        assert_eq!(
            core.map(|l| l.split_whitespace().collect::<Vec<_>>()),
            Some(vec!["Max", "core", "file", "size", "0", "0", "bytes"]),
            "pid {pid}: {limits}"
        );
    }
    let environ = proc_text(software, "environ");
    let software_dir = rig.state.join("software");
    assert!(
        environ.contains(&format!(
            "JAVA_TOOL_OPTIONS=-XX:ErrorFile={}",
            software_dir.display()
        )) && environ.contains("-XX:-CreateCoredumpOnCrash")
            && environ.contains("DRS_FAILBACK_PROGRAM="),
        "{environ}"
    );
    // The wizard's pipe (credentials travel on it) stays the worker's.
    let pipe = std::fs::read_link(format!("/proc/{worker}/fd/3")).unwrap();
    assert!(
        pipe.to_string_lossy().starts_with("pipe:"),
        "{}",
        pipe.display()
    );
    for pid in &group {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
        for fd in fds.flatten() {
            let to = std::fs::read_link(fd.path()).unwrap_or_default();
            assert_ne!(to, pipe, "pid {pid} holds the wizard's pipe");
        }
    }
    let cwd = std::fs::read_link(format!("/proc/{software}/cwd")).unwrap();
    assert!(cwd.starts_with(&software_dir), "{}", cwd.display());
    let record = std::fs::read_to_string(rig.state.join("replication-software.json")).unwrap();
    assert!(record.contains(&format!("\"pgid\":{software}")), "{record}");
    // SAFETY: a signal to the worker this test's wizard started.
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    w.wait_for("The failback worker is gone");
    common::until(
        "a process of the replication software outlived its worker",
        PATIENCE,
        || group.iter().all(|&pid| !alive(pid)) && group_members(software).is_empty(),
    );
    w.send("q");
    w.exit_code();
}

/// What a killed worker's program left running (its keeper killed too) is ended by the next
/// worker, once it holds the lock and before it starts anything, and it says so on the
/// dashboard.
#[test]
fn a_survivor_of_an_earlier_workers_program_is_ended_before_the_next_one_starts() {
    use std::os::unix::process::CommandExt;
    let Some(rig) = RealRig::new("a survivor of an earlier worker's program") else {
        return;
    };
    let mut survivor = None;
    let mut w = rig.confirmed_wizard_then(&rig.emulator.endpoint, || {
        // As the record of a worker pid 4242 left it, and its program's child still running.
        std::fs::create_dir_all(&rig.state).unwrap();
        let child = std::process::Command::new("sleep")
            .arg("3600")
            .env("DRS_FAILBACK_PROGRAM", "4242-7")
            .process_group(0)
            .spawn()
            .unwrap();
        let record = serde_json::json!({"mark": "DRS_FAILBACK_PROGRAM=4242-7",
            "pgid": child.id(), "worker_pid": 4242});
        std::fs::write(
            rig.state.join("replication-software.json"),
            record.to_string(),
        )
        .unwrap();
        survivor = Some(child);
    });
    let mut survivor = survivor.unwrap();
    let pid = survivor.id();
    w.wait_for("8/9 Replication");
    let running = running_failback(&rig.state);
    let _guard = EndWorker(running["worker_pid"].as_u64().expect("a worker"));
    let log_file = running["log_file"].as_str().expect("its log").to_owned();
    common::until("the replication software started", PATIENCE, || {
        std::fs::read_to_string(&log_file).is_ok_and(|l| l.contains("Started failback_entry"))
    });
    let log = std::fs::read_to_string(&log_file).unwrap();
    let ended = log
        .find(&format!("(worker pid 4242, group {pid}, pid {pid})"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(ended < log.find("Started failback_entry").unwrap(), "{log}");
    assert!(
        survivor.try_wait().unwrap().is_some(),
        "the survivor runs on"
    );
    w.wait_for("Ended what an earlier failback left running");
    w.send("\x03");
    w.wait_for("Quit");
    w.send("y");
    w.exit_code();
}

#[test]
fn an_expired_session_is_answered_from_any_terminal_without_stopping_the_replication_software() {
    let dir = Sandbox::new();
    let scenario = quick_scenario(dir.path());
    // The demo's first key (the one the wizard offers) becomes a session that ends the moment
    // the failback client pairs (the runner learns the pairing with the fresh credentials);
    // a fresh one is added for the operator to paste.
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
    let creds = s["credentials"].as_array_mut().unwrap();
    creds[0]["access_key_id"] = "ASIADEMOEXAMPLE00010".into();
    creds[0]["session_token"] = "DemoOnlySessionToken/NotReal/Ending/0010".into();
    creds[0]["session_ends_after_pairing_seconds"] = 0.into();
    let fresh = serde_json::json!({
        "label": "fresh session",
        "description": "Fresh temporary keys for the expired session.",
        "access_key_id": "ASIADEMOEXAMPLE00011",
        "secret_access_key": "DemoOnly/NotARealSecretKey/FreshKeys0011",
        "session_token": "DemoOnlySessionToken/NotReal/Fresh/0011",
        "policy": "full",
        "principal": "arn:aws:sts::123456789012:assumed-role/DRSOperator/fresh"
    });
    creds.push(fresh.clone());
    std::fs::write(&scenario, s.to_string()).unwrap();
    let state = dir.path().join("state");
    let args = demo_args(&scenario, dir.path(), &state);
    let env = [("LANG", "C.UTF-8")];
    let mut first = Session::start(&args, &env);
    to_review(&mut first);
    first.send("OVERWRITE\r");
    first.wait_for("Fresh credentials");
    let running = status(&state).0;
    let _guard = EndWorker(running["worker_pid"].as_u64().expect("a worker"));
    let log_file = running["log_file"]
        .as_str()
        .expect("the worker's log")
        .to_owned();
    let mut second = Session::start(&args, &env);
    second.wait_for("Started from");

    // Both terminals ask; the replication software runs on meanwhile.
    for s in [&first, &second] {
        s.wait_for("Fresh credentials");
        s.wait_for("Any attached terminal may give them");
    }
    let pids = replication_software_pids(&std::fs::read_to_string(&log_file).unwrap());
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert!(alive(pids[0]), "the replication software stopped");

    // Credentials DRS refuses are answered to their sender only, and the question stays for
    // every terminal, also one that attaches after.
    let socket = state.join("worker.sock");
    let events = |stream: &std::os::unix::net::UnixStream| {
        use std::io::BufRead;
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        std::io::BufReader::new(stream.try_clone().unwrap())
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap())
    };
    let mut client = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let mut seen = events(&client);
    assert!(seen.by_ref().any(|e| e["event"] == "live"));
    use std::io::Write;
    client
        .write_all(
            b"{\"request\": \"credentials\", \"credentials\": {\"access_key_id\": \
              \"ASIAUNKNOWNEXAMPLE01\", \"secret_access_key\": \
              \"DemoOnly/NotARealSecretKey/Unknown00001\", \"session_token\": \"T\"}}\n",
        )
        .unwrap();
    let refused = seen.find(|e| e["event"] == "error").unwrap();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not accepted"),
        "{refused}"
    );
    let late = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let snapshot: Vec<_> = events(&late).take_while(|e| e["event"] != "live").collect();
    assert!(
        snapshot.iter().any(|e| e["event"] == "credentials_expired"),
        "{snapshot:?}"
    );
    assert!(snapshot.iter().any(|e| e["event"] == "configuration"));
    drop((client, late));

    // The second terminal pastes them (masked on screen), the first sees its prompt close.
    let paste = format!(
        "\x1b[200~export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport \
         AWS_SESSION_TOKEN={}\n\x1b[201~",
        fresh["access_key_id"].as_str().unwrap(),
        fresh["secret_access_key"].as_str().unwrap(),
        fresh["session_token"].as_str().unwrap(),
    );
    second.send(&paste);
    let shown = second.wait_for("ASIADEMOEXAMPLE00011");
    assert!(
        !shown.contains(fresh["secret_access_key"].as_str().unwrap()),
        "the secret is shown: {shown}"
    );
    second.send("\r");
    for s in [&first, &second] {
        s.wait_for("Fresh credentials accepted");
        s.wait_until("the prompt gone", |sc| {
            !sc.contents()
                .contains("Any attached terminal may give them")
        });
    }

    // Polling goes on with them: the launch and the result, the same program throughout.
    first.wait_for("Press l");
    first.send("l");
    first.wait_for("Start the failback launch now?");
    first.send("y");
    first.wait_for("Failback completed");
    second.wait_for("Failback completed");
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert_eq!(
        replication_software_pids(&log),
        pids,
        "it was started again"
    );
    for secret in [&fresh["secret_access_key"], &fresh["session_token"]] {
        assert!(
            !log.contains(secret.as_str().unwrap()),
            "a secret in the worker's log"
        );
    }
    second.send("q");
    assert_eq!(second.exit_code(), 0);
    first.send("q");
    assert_eq!(first.exit_code(), 0);
}

#[test]
fn the_throttle_is_typed_on_the_dashboard_checked_and_changed_for_every_client() {
    use std::io::BufRead;
    let dir = Sandbox::new();
    let state = dir.path().join("state");
    let mut s = demo_at_review(dir.path(), &state);
    s.send("OVERWRITE\r");
    s.wait_for("Replication: no bandwidth throttle, over the recovery instance's public IP");
    let stream = std::os::unix::net::UnixStream::connect(state.join("worker.sock")).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut events = std::io::BufReader::new(stream.try_clone().unwrap())
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap());
    let hello = events.next().unwrap();
    let _guard = EndWorker(hello["worker_pid"].as_u64().unwrap());
    assert!(events.by_ref().any(|e| e["event"] == "live"));

    s.send("b");
    s.wait_for("Bandwidth throttle");
    // The 0 it shows is replaced; a fraction is refused where it was typed.
    s.send("\x7f2.5\r");
    let screen = s.wait_for("not a whole number of Mbps");
    assert!(screen.contains("[2.5"), "the typed value is kept: {screen}");
    s.send("\x7f\x7f\x7f25\r");
    s.wait_for("Replication: throttled to 25 Mbps");
    let changed = events.find(|e| e["event"] == "bandwidth").unwrap();
    assert_eq!(changed["mbps"], 25);

    // Changed in the DRS console: the worker reads it again and every client hears it.
    let scenario: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("scenario.json")).unwrap())
            .unwrap();
    let key = &scenario["credentials"][0];
    let plan = &hello["plan"];
    let target = drs_failback::drs::DrsTarget {
        region: plan["region"].as_str().unwrap().into(),
        endpoint: plan["endpoint"].as_str().map(Into::into),
        auth: drs_failback::drs::Auth::Static(drs_failback::drs::StaticCredentials {
            access_key_id: key["access_key_id"].as_str().unwrap().into(),
            secret_access_key: key["secret_access_key"].as_str().unwrap().into(),
            session_token: None,
        }),
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let console = drs_failback::drs::DrsClient::connect(&target)
            .await
            .unwrap();
        let instance = plan["recovery_instance_id"].as_str().unwrap();
        console.set_bandwidth(instance, 40).await.unwrap();
    });
    s.wait_for("Replication: throttled to 40 Mbps");
    assert!(
        events.any(|e| e["event"] == "configuration" && e["result"]["Ok"]["bandwidth_mbps"] == 40)
    );
    // A terminal attaching now gets 40, not the 25 set here before.
    let late = std::os::unix::net::UnixStream::connect(state.join("worker.sock")).unwrap();
    late.set_read_timeout(Some(PATIENCE)).unwrap();
    let snapshot: Vec<serde_json::Value> = std::io::BufReader::new(late)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .take_while(|e: &serde_json::Value| e["event"] != "live")
        .collect();
    let throttles: Vec<&serde_json::Value> = snapshot
        .iter()
        .filter(|e| e["event"] == "bandwidth" || e["event"] == "configuration")
        .collect();
    assert_eq!(throttles.len(), 1, "{throttles:?}");
    assert_eq!(throttles[0]["result"]["Ok"]["bandwidth_mbps"], 40);
    drop(stream);
    s.quit();
}

/// A headless run's JSON lines as they come (a reader thread), and the process.
struct Headless {
    child: std::process::Child,
    lines: Arc<(Mutex<Vec<serde_json::Value>>, Condvar)>,
}

impl Headless {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Headless {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(args).stdout(std::process::Stdio::piped());
        for (name, _) in drs_failback::domain::access_keys::ENV_NAMES {
            cmd.env_remove(name);
        }
        cmd.env_remove("NO_PROMPT").envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                seen.0.lock().unwrap().push(value);
                seen.1.notify_all();
            }
        });
        Headless { child, lines }
    }

    /// Waits for a line whose event is `event`; returns it.
    fn wait_for(&self, event: &str) -> serde_json::Value {
        let deadline = Instant::now() + PATIENCE;
        let mut lines = self.lines.0.lock().unwrap();
        loop {
            if let Some(l) = lines.iter().find(|l| l["event"] == event) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {event} line in {lines:#?}");
            lines = self.lines.1.wait_timeout(lines, left).unwrap().0;
        }
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// No credentials anywhere the default chain looks (no instance metadata here either); HOME and
/// TMPDIR in the test's `home`.
fn no_credentials(home: &str) -> [(&str, &str); 5] {
    [
        ("HOME", home),
        ("TMPDIR", home),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

#[test]
fn an_unattended_run_waiting_for_credentials_goes_on_with_those_a_wizard_gives() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = quick_scenario(dir.path());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
    let key = &s["credentials"][0];
    let emulator = EmulatorProcess::start(&scenario);
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let home = dir.path().to_str().unwrap();
    let endpoint = emulator.endpoint.as_str();
    let nowhere = no_credentials(home);
    let region = s["region"].as_str().unwrap();
    let unattended = Headless::start(
        &[
            "--no-prompt",
            "--wait-for-credentials",
            "--output",
            "json",
            "--region",
            region,
            "--endpoint",
            endpoint,
            "--s3-endpoint",
            endpoint,
            "--state-dir",
            state,
        ],
        &nowhere,
    );
    let waiting = unattended.wait_for("waiting_for_credentials");
    let said = waiting["message"].as_str().unwrap();
    assert!(said.contains("tries again in 5 s"), "{said}");

    // A wizard on another terminal is asked, gives them, and every prompt closes.
    let mut w = Session::start(&["--endpoint", endpoint, "--state-dir", state], &nowhere);
    w.wait_for("Credentials for the unattended failback");
    w.wait_for("found none");
    w.send(key["access_key_id"].as_str().unwrap());
    w.send("\t");
    w.send(key["secret_access_key"].as_str().unwrap());
    w.send("\r");
    w.wait_for("Credentials accepted");

    // The unattended run went on with them: it listed the recovery instances (none matches
    // this machine, and it does not guess: exit 6).
    let outcome = unattended.wait_for("outcome");
    assert_eq!(outcome["exit_code"], 6, "{outcome}");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("does not guess"),
        "{outcome}"
    );
    // Its worker ended with it, and the wizard says so.
    w.wait_for("The unattended run ended before its failback started");
    assert!(!Path::new(state).join("unattended.sock").exists());
    w.send("\x03y");
    assert_eq!(w.exit_code(), 0);
}

/// The live image's `drs.no_prompt drs.demo=1`: wizards on two consoles, then the unattended
/// run waiting for credentials. Both are asked; those typed on the first go to the run, and
/// the second shows their acceptance and then the failback's dashboard, repainting on Ctrl-L
/// all along (the image's hvc0 did neither).
#[test]
fn two_wizards_are_asked_for_a_waiting_unattended_demos_credentials_and_both_show_its_failback() {
    let dir = Sandbox::new();
    let scenario = quick_scenario(dir.path());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
    let key = &s["credentials"][0];
    let state = dir.path().join("state");
    let args = demo_args(&scenario, dir.path(), &state);
    let _worker = EndWorkerIn(state.clone());
    let home = dir.path().to_str().unwrap();
    let nowhere = no_credentials(home);
    let mut first = Session::start(&args, &nowhere);
    // A serial line: no size reported.
    let mut second = Session::start_sized(&args, &nowhere, 0, 0);
    first.wait_for("web-01");
    second.wait_for("web-01");
    let mut unattended_args = vec!["--no-prompt", "--wait-for-credentials", "--output", "json"];
    unattended_args.extend(args.iter().map(String::as_str));
    let unattended = Headless::start(&unattended_args, &nowhere);
    unattended.wait_for("waiting_for_credentials");

    let title = "Credentials for the unattended failback";
    let repaints = |s: &mut Session, text: &str| {
        s.wait_for(text);
        s.scribble(b"\x1b[2J\x1b[Hgarbage");
        s.wait_until("the scribble", |sc| !sc.contents().contains(text));
        s.send("\x0c");
        let screen = s.wait_for(text);
        assert!(!screen.contains("garbage"), "{screen}");
    };
    repaints(&mut first, title);
    repaints(&mut second, title);
    first.send(key["access_key_id"].as_str().unwrap());
    first.send("\t");
    first.send(key["secret_access_key"].as_str().unwrap());
    first.send("\r");
    first.wait_for("Credentials accepted");
    second.wait_for("Credentials accepted");
    let dashboard = "Replication";
    first.wait_until("the failback's dashboard", |sc| {
        sc.contents()
            .lines()
            .next()
            .is_some_and(|l| l.contains(dashboard))
    });
    second.wait_until("the failback's dashboard", |sc| {
        sc.contents()
            .lines()
            .next()
            .is_some_and(|l| l.contains(dashboard))
    });
    repaints(&mut second, dashboard);
    first.send("\x03y");
    second.send("\x03y");
    first.exit_code();
    second.exit_code();
}
