//! `--no-prompt` as a drop-in for the official failback client, through the program itself:
//! each bad argument or variable stops with its own exit status and names what to fix; the
//! JSON lines parse and end with the outcome; the run waits for a launch started from outside;
//! secrets given as arguments are blanked from the process's command line.

use drs_failback::drs::{Auth, DrsClient, DrsTarget, StaticCredentials};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::sandbox::{BIN, Sandbox};

/// Every variable the program reads: a test sets only its own.
const VARIABLES: [&str; 12] = [
    "AWS_REGION",
    "AWS_DRS_ENDPOINT",
    "RECOVERY_INSTANCE_ID",
    "DEVICE_MAPPING",
    "NO_PROMPT",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "S3_ENDPOINT",
    "HTTPS_PROXY",
];

/// The embedded scenario with time 1000x faster and little data, edited by `edit`.
fn scenario(dir: &Path, edit: impl Fn(&mut Value)) -> String {
    let mut s: Value = serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap();
    s["time_scale"] = 1000.into();
    for ri in s["recovery_instances"].as_array_mut().unwrap() {
        for v in ri["volumes"].as_array_mut().unwrap() {
            v["used"] = "2MiB".into();
        }
    }
    edit(&mut s);
    let path = dir.join("scenario.json");
    std::fs::write(&path, s.to_string()).unwrap();
    path.display().to_string()
}

fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("TMPDIR", dir);
    for v in VARIABLES {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// A demo run with `--no-prompt --output json`: its exit status, its JSON lines, its stderr.
fn demo(dir: &Path, scenario: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let disks = dir.join("disks");
    let mut all = vec![
        "--demo",
        "--no-prompt",
        "--output",
        "json",
        "--scenario",
        scenario,
        "--demo-dir",
        disks.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(command(dir, &all, env))
}

struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
    stderr: String,
}

fn run(mut cmd: Command) -> Run {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Run {
        code: out.status.code(),
        lines,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The scenario's credentials, as the livecd's variables.
fn key_env(s: &Value, which: usize) -> Vec<(&'static str, String)> {
    let c = &s["credentials"][which];
    let mut env = vec![
        (
            "AWS_ACCESS_KEY",
            c["access_key_id"].as_str().unwrap().to_owned(),
        ),
        (
            "AWS_SECRET_KEY",
            c["secret_access_key"].as_str().unwrap().to_owned(),
        ),
    ];
    if let Some(t) = c["session_token"].as_str() {
        env.push(("AWS_SESSION_TOKEN", t.to_owned()));
    }
    env
}

fn embedded() -> Value {
    serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap()
}

#[test]
fn each_bad_argument_or_variable_stops_with_its_exit_status_and_names_what_to_fix() {
    let expired = key_env(&embedded(), 2);
    let expired: Vec<(&str, &str)> = expired.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // (what, arguments, variables, exit status, the argument named, the variable named)
    let cases: Vec<(&str, Vec<&str>, Vec<(&str, &str)>, i32, &str, Option<&str>)> = vec![
        (
            "unknown region",
            vec!["--region", "mars-1"],
            vec![],
            4,
            "--region",
            None,
        ),
        (
            "unknown region from the environment",
            vec![],
            vec![("AWS_REGION", "mars-1")],
            4,
            "--region",
            Some("AWS_REGION"),
        ),
        (
            "malformed endpoint",
            vec!["--endpoint", "ftp://x"],
            vec![],
            5,
            "--endpoint",
            None,
        ),
        (
            // The pre-flight finds it first: its exit status, naming the setting.
            "unreachable endpoint from the environment",
            vec![],
            vec![("AWS_DRS_ENDPOINT", "http://127.0.0.1:9")],
            2,
            "--endpoint",
            Some("AWS_DRS_ENDPOINT"),
        ),
        (
            "malformed access key id",
            vec!["--aws-access-key-id", "AKIASHORT"],
            vec![],
            3,
            "--aws-access-key-id",
            None,
        ),
        (
            "malformed secret from the livecd's variable",
            vec![],
            vec![("AWS_SECRET_KEY", "short")],
            3,
            "--aws-secret-access-key",
            Some("AWS_SECRET_KEY"),
        ),
        (
            "expired session token from the livecd's variables",
            vec![],
            expired,
            3,
            "--aws-session-token",
            Some("AWS_SESSION_TOKEN"),
        ),
        (
            "not a recovery instance id",
            vec!["--recovery-instance-id", "abc"],
            vec![],
            6,
            "--recovery-instance-id",
            None,
        ),
        (
            "recovery instance not listed, from the environment",
            vec![],
            vec![("RECOVERY_INSTANCE_ID", "i-0123456789abcdef9")],
            6,
            "--recovery-instance-id",
            Some("RECOVERY_INSTANCE_ID"),
        ),
        (
            "recovery instance too large for the local disks",
            vec!["--recovery-instance-id", "i-0de956fe5d1483d7a"],
            vec![],
            6,
            "--recovery-instance-id",
            None,
        ),
        (
            "mapping that does not parse",
            vec!["--device-mapping", "{bad"],
            vec![],
            7,
            "--device-mapping",
            None,
        ),
        (
            "mapping naming another volume, from the environment",
            vec![],
            vec![("DEVICE_MAPPING", "/dev/xvdz=/dev/sdb")],
            7,
            "--device-mapping",
            Some("DEVICE_MAPPING"),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, args, env, code, argument, variable) in cases {
        let dir = Sandbox::new();
        let s = scenario(dir.path(), |_| {});
        let r = demo(dir.path(), &s, &args, &env);
        let last = r.lines.last().cloned().unwrap_or_default();
        let ok = r.code == Some(code)
            && r.stderr.contains("stopped: ")
            && r.stderr.contains(argument)
            && variable.is_none_or(|v| r.stderr.contains(v))
            && last["event"] == "outcome"
            && last["result"] == "stopped"
            && last["exit_code"] == code
            && last["argument"] == argument
            && last["message"]
                .as_str()
                .is_some_and(|m| m.contains(argument))
            // Nothing to press without a screen.
            && !r.stderr.contains("press r")
            // A refused mapping is never reported as the mapping used.
            && (code != 7 || r.lines.iter().all(|l| l["event"] != "device_mapping"));
        if !ok {
            wrong.push(format!(
                "{what}: exit {:?}, stderr {}, last line {last}",
                r.code, r.stderr
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn without_a_match_for_this_machine_no_prompt_does_not_guess() {
    let dir = Sandbox::new();
    let s = scenario(dir.path(), |s| {
        s["demo_host"] =
            serde_json::json!({"hostname": "elsewhere", "macs": ["52:54:00:00:00:99"]});
    });
    let r = demo(dir.path(), &s, &[], &[]);
    let last = r.lines.last().unwrap();
    assert_eq!(r.code, Some(6), "{}", r.stderr);
    assert_eq!(last["argument"], "--recovery-instance-id");
    let message = last["message"].as_str().unwrap();
    assert!(
        message.contains("does not guess") && message.contains("i-"),
        "{message}"
    );
}

#[test]
fn without_the_demo_missing_or_bad_settings_stop_before_anything_runs() {
    let dir = Sandbox::new();
    let key = ("AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE");
    let secret = ("AWS_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    for (args, env, code, argument) in [
        (vec!["--no-prompt"], vec![], 3, "--aws-access-key-id"),
        // NO_PROMPT set to anything is --no-prompt, as for the livecd.
        (vec![], vec![("NO_PROMPT", "yes")], 3, "--aws-access-key-id"),
        (vec!["--no-prompt"], vec![key], 3, "--aws-secret-access-key"),
        (
            vec!["--no-prompt", "--region", "mars-1"],
            vec![key, secret],
            4,
            "--region",
        ),
        (
            vec!["--no-prompt", "--endpoint", "http://drs.example.com"],
            vec![key, secret],
            5,
            "--endpoint",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--output", "json", "--state-dir"]);
        let state = dir.path().join("state");
        all.push(state.to_str().unwrap());
        let r = run(command(dir.path(), &all, &env));
        assert_eq!(r.code, Some(code), "{args:?} {env:?}: {}", r.stderr);
        let last = r.lines.last().unwrap();
        assert_eq!(last["argument"], argument, "{args:?} {env:?}");
        assert_eq!(r.lines.len(), 1, "only the outcome: {:?}", r.lines);
    }
    // Usage errors are clap's: exit 2, naming the option.
    let r = run(command(
        dir.path(),
        &["--no-prompt", "--dm-value-format", "by-name"],
        &[],
    ));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("--dm-value-format"), "{}", r.stderr);
}

#[test]
fn json_lines_parse_and_end_with_the_outcome_of_a_completed_failback() {
    let dir = Sandbox::new();
    let s = scenario(dir.path(), |_| {});
    let r = demo(
        dir.path(),
        &s,
        &["--launch-when-ready", "--log-console"],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // --log-console: the log's lines on standard error, standard output stays JSON.
    assert!(
        r.stderr.contains(" INFO ") && r.stderr.contains("recovery instances listed"),
        "{}",
        r.stderr
    );
    for line in &r.lines {
        for field in ["event", "step", "time", "message"] {
            assert!(line[field].is_string(), "no {field} in {line}");
        }
    }
    let events: Vec<&str> = r
        .lines
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    let order = [
        "started",
        "host",
        "verifying_credentials",
        "checking_endpoint",
        "recovery_instance",
        "device_mapping",
        "confirmed",
        "worker",
        "ready_for_launch",
        "launch_started",
        "completed",
        "outcome",
    ];
    let mut at = 0;
    for e in order {
        at += events[at..]
            .iter()
            .position(|x| *x == e)
            .unwrap_or_else(|| panic!("no {e} after {:?} in {events:?}", &events[..at]));
    }
    assert_eq!(events.last(), Some(&"outcome"));
    let last = r.lines.last().unwrap();
    assert_eq!(
        (&last["result"], &last["exit_code"], &last["argument"]),
        (&Value::from("completed"), &Value::from(0), &Value::Null)
    );
    let completed = r.lines.iter().find(|l| l["event"] == "completed").unwrap();
    assert_eq!(completed["recovery_instance_id"], "i-0f552cc5023d8319a");
    assert!(
        completed["message"]
            .as_str()
            .unwrap()
            .contains("FAILBACK_COMPLETED")
    );
    let ready = r
        .lines
        .iter()
        .find(|l| l["event"] == "ready_for_launch")
        .unwrap();
    assert_eq!(ready["launch"], "starting");
}

/// A demo run with `--no-prompt --output json` (`adjust` may change its command) until its
/// replication is ready for launch: the run, its `started` and `ready_for_launch` lines, and
/// the lines still to come.
fn until_ready(
    dir: &Sandbox,
    scenario: &str,
    adjust: impl FnOnce(&mut Command),
) -> (
    std::process::Child,
    Value,
    Value,
    impl Iterator<Item = Value>,
) {
    let disks = dir.path().join("disks");
    let mut cmd = command(
        dir.path(),
        &[
            "--demo",
            "--scenario",
            scenario,
            "--demo-dir",
            disks.to_str().unwrap(),
            "--output",
            "json",
        ],
        &[("NO_PROMPT", "1")],
    );
    adjust(&mut cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap());
    let started = lines.next().unwrap();
    assert_eq!(started["event"], "started");
    let ready = lines
        .by_ref()
        .find(|l| l["event"] == "ready_for_launch")
        .expect("replication never got ready");
    (child, started, ready, lines)
}

#[test]
fn once_ready_it_waits_for_a_launch_from_any_api_client_and_exits_with_the_result() {
    let dir = Sandbox::new();
    let s = scenario(dir.path(), |_| {});
    let (mut child, started, ready, lines) = until_ready(&dir, &s, |_| {});
    assert_eq!(ready["launch"], "waiting");
    let hint = ready["message"].as_str().unwrap();
    assert!(
        hint.contains("aws drs start-failback-launch") && hint.contains("console"),
        "{hint}"
    );

    // Another client (the console, a script) starts the launch with full-access keys.
    let full = &embedded()["credentials"][0];
    let target = DrsTarget {
        region: started["region"].as_str().unwrap().to_owned(),
        endpoint: Some(started["endpoint"].as_str().unwrap().to_owned()),
        auth: Auth::Static(StaticCredentials {
            access_key_id: full["access_key_id"].as_str().unwrap().into(),
            secret_access_key: full["secret_access_key"].as_str().unwrap().into(),
            session_token: None,
        }),
    };
    let id = ready["recovery_instance_id"].as_str().unwrap().to_owned();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = DrsClient::connect(&target).await.unwrap();
        client.start_failback_launch(&id).await.unwrap();
    });

    let rest: Vec<Value> = lines.collect();
    assert!(
        !rest.iter().any(|l| l["event"] == "launch_started"),
        "it did not launch itself: {rest:?}"
    );
    let last = rest.last().unwrap();
    assert_eq!(
        (&last["event"], &last["result"]),
        (&"outcome".into(), &"completed".into())
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn secrets_given_as_arguments_are_blanked_from_the_process_command_line() {
    let dir = Sandbox::new();
    let mut child = command(
        dir.path(),
        &[
            "--aws-secret-access-key",
            "S3CRET-ON-THE-COMMAND-LINE",
            "--aws-session-token=T0KEN-ON-THE-COMMAND-LINE",
            "emulator",
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("listening"), "{first}");
    // Arguments are read before anything listens: the command line is as it stays.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let shown = String::from_utf8_lossy(&cmdline);
    assert!(
        !shown.contains("S3CRET") && !shown.contains("T0KEN"),
        "{shown:?}"
    );
    assert!(
        shown.contains("--aws-secret-access-key\0") && shown.contains("--aws-session-token="),
        "{shown:?}"
    );
}

/// Each process of a failback holds secrets (the wizard, the worker, AWS's program or the
/// stand-in): none may leave a core dump, even when started with core dumps allowed, and none
/// of ours shows one in its command line.
#[test]
fn no_process_of_a_failback_can_dump_core_or_shows_a_secret_in_its_command_line() {
    use std::os::unix::process::CommandExt;
    let dir = Sandbox::new();
    let s = scenario(dir.path(), |_| {});
    // Its output stays open (the lines kept) while the processes are read.
    let (mut child, _, _, _lines) = until_ready(&dir, &s, |cmd| {
        // SAFETY: only getrlimit and setrlimit, async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_CORE, &mut limit);
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
                Ok(())
            });
        }
    });
    // Everything of this failback runs now, until the launch nobody starts.
    let core_limit = |pid: u32| {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
        let line = limits.lines().find(|l| l.starts_with("Max core file size"));
        line.map(|l| {
            l.split_whitespace()
                .skip(4)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let running: Vec<(String, Option<String>)> = dir
        .running()
        .into_iter()
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline, core_limit(pid))
        })
        .collect();
    for part in ["--demo", " worker ", " failback-client-standin "] {
        assert!(
            running.iter().any(|(c, _)| c.contains(part)),
            "no {part:?} among {running:#?}"
        );
    }
    let dumping: Vec<_> = running
        .iter()
        .filter(|(_, limit)| limit.as_deref() != Some("0 0"))
        .collect();
    assert!(dumping.is_empty(), "{dumping:#?}");
    // Nor does `ps` show a secret: the stand-in got them as arguments, as AWS's program does,
    // and blanked them.
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    for c in scenario["credentials"].as_array().unwrap() {
        for secret in [&c["secret_access_key"], &c["session_token"]] {
            if let Some(secret) = secret.as_str() {
                assert!(
                    !running.iter().any(|(cmdline, _)| cmdline.contains(secret)),
                    "a secret in a command line: {running:#?}"
                );
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
