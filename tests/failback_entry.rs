//! The failback_entry runner with fake programs (secrets masked, exit codes in words, the
//! failback client learnt from the service) and the stand-in's command line as a process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use drs_failback::domain::mapping::DmValueFormat;
use drs_failback::drs::{DrsClient, StaticCredentials};
use drs_failback::emulator::{Emulator, Scenario};
use drs_failback::replicator::failback_entry::{FailbackEntry, MASK};
use drs_failback::replicator::{ReplicationPlan, Replicator, ReplicatorEvent};
use drs_failback::standin::devices::DEMO_DISKS_ENV;

mod common;
use common::sandbox::Sandbox;
const SECRET: &str = "Zm9vYmFyYmF6cXV4/secret+key/0123456789ab";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE-session-token";

fn scenario_json() -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../assets/demo-scenario.json")).expect("scenario");
    v["time_scale"] = json!(1000.0);
    v["faults"] = json!({});
    // A key with a session token, so both secrets travel in the plan.
    v["credentials"][0]["secret_access_key"] = json!(SECRET);
    v["credentials"][0]["session_token"] = json!(TOKEN);
    v
}

/// web-02 with one small volume, /dev/xvda, of `size` (`used` of it written), for a quick copy.
fn small_web02(v: &mut Value, size: &str, used: &str) {
    let n = v["recovery_instances"]
        .as_array()
        .expect("instances")
        .iter()
        .position(|i| i["hostname"] == "web-02")
        .expect("web-02");
    v["recovery_instances"][n]["volumes"] =
        json!([{"device": "/dev/xvda", "size": size, "used": used}]);
}

async fn emulator(v: &Value) -> Emulator {
    let s = Scenario::from_json(&v.to_string()).expect("scenario");
    Emulator::start("127.0.0.1:0".parse().expect("addr"), s)
        .await
        .expect("emulator")
}

fn instance(v: &Value, host: &str) -> String {
    v["recovery_instances"]
        .as_array()
        .expect("instances")
        .iter()
        .find(|i| i["hostname"] == host)
        .and_then(|i| i["id"].as_str())
        .expect("host")
        .to_owned()
}

fn key(emu: &Emulator) -> StaticCredentials {
    emu.credentials()[0].credentials.clone()
}

fn plan(emu: &Emulator, id: &str) -> ReplicationPlan {
    ReplicationPlan {
        recovery_instance_id: id.into(),
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        credentials: Some(key(emu)),
        targets: Vec::new(),
        device_mapping: "/dev/xvda=/dev/sdb".into(),
        value_format: DmValueFormat::DevName,
        preflight: vec![],
    }
}

/// A fake failback_entry: a shell script with `body`.
fn program(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("failback_entry");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn runner(dir: &Path, program: PathBuf, env: Vec<(String, String)>) -> FailbackEntry {
    FailbackEntry {
        program,
        leading_args: Vec::new(),
        env,
        log_file: dir.join("failback.log"),
        poll_every: Duration::from_millis(20),
        workdir: dir.join("run"),
        record: Some(dir.join("program.json")),
    }
}

/// The worker's DRS client for `plan`: its sender replaces it, as fresh credentials do.
async fn service(plan: &ReplicationPlan) -> (watch::Sender<DrsClient>, watch::Receiver<DrsClient>) {
    let key = plan.credentials.clone().expect("credentials");
    watch::channel(DrsClient::connect(&plan.target(key)).await.expect("client"))
}

/// Every event until Exited (bounded: a hung runner fails the test).
async fn run(r: &FailbackEntry, plan: ReplicationPlan) -> Vec<ReplicatorEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    r.start(plan.clone(), service(&plan).await.1, tx);
    until_exit(rx).await
}

/// The events until Exited (bounded: a hung runner fails the test).
async fn until_exit(mut rx: mpsc::UnboundedReceiver<ReplicatorEvent>) -> Vec<ReplicatorEvent> {
    let collect = async {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            let done = matches!(e, ReplicatorEvent::Exited(_));
            events.push(e);
            if done {
                break;
            }
        }
        events
    };
    tokio::time::timeout(Duration::from_secs(60), collect)
        .await
        .expect("the runner ends")
}

fn exit(events: &[ReplicatorEvent]) -> Result<(), String> {
    match events.last() {
        Some(ReplicatorEvent::Exited(r)) => r.clone(),
        other => panic!("no Exited event: {other:?}"),
    }
}

fn logs(events: &[ReplicatorEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ReplicatorEvent::Log(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_the_plan_reaches_the_events() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    // Echoes its arguments and environment, on stdout and stderr, then fails with them.
    let fake = program(
        dir.path(),
        r#"for a in "$@"; do echo "arg: $a"; done
env | sed 's/^/env: /' >&2
echo "ERROR: giving up with $*"
exit 1"#,
    );
    // As a livecd environment would carry it (AWS_SECRET_KEY, AWS_SESSION_TOKEN).
    let env = vec![
        ("AWS_SECRET_KEY".to_string(), SECRET.to_string()),
        ("AWS_SESSION_TOKEN".to_string(), TOKEN.to_string()),
    ];
    let events = run(
        &runner(dir.path(), fake, env),
        plan(&emu, &instance(&v, "web-01")),
    )
    .await;
    let text = format!("{events:?}");
    assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    let lines = logs(&events);
    let has = |s: &str| lines.iter().any(|l| l == s);
    // The program did get them: the events show where, masked.
    assert!(has(&format!("arg: {MASK}")), "{lines:#?}");
    assert!(has(&format!("env: AWS_SECRET_KEY={MASK}")), "{lines:#?}");
    assert!(has(&format!("env: AWS_SESSION_TOKEN={MASK}")), "{lines:#?}");
    assert!(
        has(&format!("arg: {}", key(&emu).access_key_id)),
        "the key id is not a secret"
    );
    assert!(has("arg: --no-prompt"), "{lines:#?}");
    // The error carries the last lines, masked too (covered by the whole-events check).
    let error = exit(&events).expect_err("exit 1");
    assert!(
        error.starts_with("failback_entry reported an error (exit code 1)"),
        "{error}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ERROR: giving up with") && l.contains(MASK)),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_mapped() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let id = instance(&v, "web-01");
    let dir = Sandbox::new();
    let log = dir.path().join("failback.log").display().to_string();
    let cases = [
        ("echo done; exit 0", None),
        (
            "echo 'ERROR: cannot reach the recovery instance on TCP 1500'; echo bye; exit 1",
            Some(format!(
                "failback_entry reported an error (exit code 1): ERROR: cannot reach the recovery instance on TCP 1500. Its log: {log}"
            )),
        ),
        (
            "exit 3",
            Some(format!(
                "failback_entry exited with code 3, which it does not document. Its log: {log}"
            )),
        ),
        (
            "kill -9 $$",
            Some(format!(
                "failback_entry was killed by signal 9 (SIGKILL). Its log: {log}"
            )),
        ),
    ];
    for (body, expected) in cases {
        let fake = program(dir.path(), body);
        let events = run(&runner(dir.path(), fake, Vec::new()), plan(&emu, &id)).await;
        assert_eq!(exit(&events), expected.map_or(Ok(()), Err), "{body}");
    }
}

/// Terminal signals (Ctrl-C, a hangup) go to the terminal's foreground process group: the
/// program is in a group of its own, so they reach the wizard, which decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_runs_in_its_own_process_group() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    // Field 5 of /proc/PID/stat is the process group (the command has no spaces here).
    let fake = program(
        dir.path(),
        "echo \"pid $$ group $(cut -d' ' -f5 /proc/$$/stat)\"; exit 0",
    );
    let events = run(
        &runner(dir.path(), fake, Vec::new()),
        plan(&emu, &instance(&v, "web-01")),
    )
    .await;
    let line = logs(&events)
        .into_iter()
        .find(|l| l.starts_with("pid "))
        .expect("the program's line");
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[1], words[3], "{line}");
    let ours = std::fs::read_to_string("/proc/self/stat").expect("stat");
    assert_ne!(Some(words[3]), ours.split(' ').nth(4), "{line}");
}

/// Not a zombie: running, or gone.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// The value after `key ` in the program's lines.
fn said(events: &[ReplicatorEvent], key: &str) -> String {
    logs(events)
        .into_iter()
        .find_map(|l| l.strip_prefix(&format!("{key} ")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key} line in {events:?}"))
}

/// AWS's program is a wrapper that starts a JRE: a child it leaves behind (here one that keeps
/// its output open) ends with it, and the run does not wait on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_programs_children_end_with_it() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    let fake = program(dir.path(), "sleep 300 & echo \"child $!\"; exit 0");
    let events = run(
        &runner(dir.path(), fake, Vec::new()),
        plan(&emu, &instance(&v, "web-01")),
    )
    .await;
    assert_eq!(exit(&events), Ok(()));
    let child: i32 = said(&events, "child").parse().expect("a pid");
    common::until("the program's child ended", Duration::from_secs(20), || {
        !alive(child)
    });
}

/// A JVM crash writes its command line (the credentials) into its cwd unless told otherwise,
/// and a core dump holds them too: the program runs in the worker's directory with the JVM's
/// error file pointed there and no core dumps, and what a crash left there is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_leaves_no_file_with_the_secrets() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    let fake = program(
        dir.path(),
        "echo \"cwd $(pwd)\"; echo \"core $(grep 'Max core file size' /proc/$$/limits | tr -s ' ')\"; \
         echo \"options $JAVA_TOOL_OPTIONS\"; echo \"Picked up JAVA_TOOL_OPTIONS: $JAVA_TOOL_OPTIONS\"; \
         echo \"mark $(tr '\\0' '\\n' < /proc/$$/environ | grep ^DRS_FAILBACK_PROGRAM=)\"; \
         echo \"record $(cat ../program.json)\"; \
         echo \"$@\" > hs_err_pid$$.log; cp hs_err_pid$$.log core; cp core java_pid$$.hprof; echo kept > notes.txt; exit 1",
    );
    let r = runner(dir.path(), fake, Vec::new());
    let events = run(&r, plan(&emu, &instance(&v, "web-01"))).await;
    assert!(exit(&events).is_err());
    let workdir = dir.path().join("run");
    assert_eq!(said(&events, "cwd"), workdir.display().to_string());
    assert_eq!(said(&events, "core").trim(), "Max core file size 0 0 bytes");
    assert_eq!(
        said(&events, "options"),
        format!(
            "-XX:ErrorFile={}/hs_err_pid%p.log -XX:-CreateCoredumpOnCrash",
            workdir.display()
        )
    );
    // The JVM's notice of the options is ours, not news for the dashboard.
    assert!(
        !logs(&events).iter().any(|l| l.starts_with("Picked up")),
        "{events:?}"
    );
    // The record names the mark every process of the program carries.
    let mark = said(&events, "mark");
    let record: Value = serde_json::from_str(&said(&events, "record")).expect("the record");
    assert_eq!(record["mark"], mark.as_str(), "{record}");
    assert_eq!(record["worker_pid"], std::process::id());
    let left: Vec<String> = std::fs::read_dir(&workdir)
        .expect("its directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"], "only what is not a crash file stays");
}

/// A worker killed before it could end its program (and the keeper with it) leaves the
/// record: the next worker ends every process marked in it before anything starts.
#[test]
fn what_an_earlier_workers_program_left_running_is_ended_from_its_record() {
    use drs_failback::replicator::failback_entry::{MARK_VAR, Program, end_left_over};
    use std::os::unix::process::CommandExt;
    let dir = Sandbox::new();
    let mark = format!("{MARK_VAR}=4242-1");
    // A wrapper and its child, in a group of their own; the child moves to its own session,
    // as a daemonised helper would; and one that ignores SIGTERM.
    let mut wrapper = std::process::Command::new("sh")
        .args([
            "-c",
            "setsid sh -c 'trap \"\" TERM; echo $$; while :; do sleep 1; done' & wait",
        ])
        .env(MARK_VAR, &mark[MARK_VAR.len() + 1..])
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("a survivor");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(wrapper.stdout.take().unwrap()),
        &mut line,
    )
    .expect("its child");
    let child: i32 = line.trim().parse().expect("a pid");
    let record = dir.path().join("replication-software.json");
    let program = Program {
        mark: mark.clone(),
        pgid: Some(wrapper.id()),
        worker_pid: 4242,
    };
    std::fs::write(&record, serde_json::to_vec(&program).unwrap()).unwrap();
    // An unmarked process is not touched.
    let mut bystander = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .expect("a bystander");

    let message = end_left_over(&record).expect("it says what it ended");
    assert!(
        message.contains("worker pid 4242")
            && message.contains(&format!("group {},", wrapper.id()))
            && message.contains(&format!(" {child}")),
        "{message}"
    );
    assert!(wrapper.wait().is_ok());
    assert!(!alive(child), "the child ignoring SIGTERM was killed");
    assert!(!record.exists());
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "not ours: left alone"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert_eq!(
        end_left_over(&record),
        None,
        "nothing recorded, nothing said"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_carries_the_end_of_the_programs_log_file_masked() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    let log = dir.path().join("failback.log");
    let fake = program(
        dir.path(),
        &format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo \"line $i\" >> {}; done\necho \"secret was {SECRET}\" >> {}\nexit 1",
            log.display(),
            log.display()
        ),
    );
    let events = run(
        &runner(dir.path(), fake, Vec::new()),
        plan(&emu, &instance(&v, "web-01")),
    )
    .await;
    let error = exit(&events).expect_err("exit 1");
    assert!(
        error.contains(&format!(": secret was {MASK}. Its log: ")),
        "{error}"
    );
    // Lines only in the file reach the log pane: the last ones, masked.
    let lines = logs(&events);
    let tail: Vec<String> = (4..=10)
        .map(|i| format!("line {i}"))
        .chain([format!("secret was {MASK}")])
        .collect();
    assert!(lines.ends_with(&tail), "{lines:#?}");
    assert!(
        !lines.contains(&"line 3".to_string()),
        "only the last lines: {lines:#?}"
    );
}

/// db-01 starts FAILBACK_READY_FOR_LAUNCH with a client an earlier failback left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failback_client_is_learnt_from_the_service_never_an_earlier_ones() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let id = instance(&v, "db-01");
    let dir = Sandbox::new();

    // A program that never pairs: the earlier client is not taken for its own.
    let idle = program(dir.path(), "echo working; exit 0");
    let events = run(&runner(dir.path(), idle, Vec::new()), plan(&emu, &id)).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ReplicatorEvent::Paired { .. })),
        "{events:?}"
    );

    // The stand-in pairs (and then fails on its missing target): Paired names its client,
    // which is the one the service shows now.
    let r = FailbackEntry {
        program: dir.program(),
        leading_args: vec!["failback-client-standin".into()],
        env: vec![(DEMO_DISKS_ENV.into(), dir.path().display().to_string())],
        ..runner(dir.path(), PathBuf::new(), Vec::new())
    };
    let before = describe_client(&emu, &id).await;
    let events = run(&r, plan(&emu, &id)).await;
    let paired: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            ReplicatorEvent::Paired { client_id } => Some(client_id.clone()),
            _ => None,
        })
        .collect();
    assert!(
        exit(&events).is_err_and(|e| e.contains("cannot open")),
        "{events:?}"
    );
    let after = describe_client(&emu, &id).await;
    assert_ne!(before, after);
    assert_eq!(paired, vec![after.expect("paired")]);
}

/// The program pairs and the session ends at that moment (before the runner can see the
/// pairing): the runner learns its client with the fresh credentials the worker was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pairing_is_learnt_with_the_fresh_credentials_when_the_session_ended_first() {
    let mut v = scenario_json();
    v["credentials"][0]["session_ends_after_pairing_seconds"] = json!(0);
    let fresh = StaticCredentials {
        access_key_id: "AKIADEMOEXAMPLEFRESH".into(),
        secret_access_key: "DemoOnly/NotARealSecretKey/FreshKeys0001".into(),
        session_token: None,
    };
    v["credentials"].as_array_mut().expect("keys").push(json!({
        "label": "fresh", "description": "Fresh keys.",
        "access_key_id": fresh.access_key_id, "secret_access_key": fresh.secret_access_key,
        "policy": "full", "principal": "arn:aws:iam::123456789012:user/fresh"
    }));
    small_web02(&mut v, "8MiB", "4MiB");
    let emu = emulator(&v).await;
    let id = instance(&v, "web-02");
    let dir = Sandbox::new();
    std::fs::File::create(dir.path().join("sdb.img"))
        .and_then(|f| f.set_len(8 << 20))
        .expect("disk file");
    let r = FailbackEntry {
        program: dir.program(),
        leading_args: vec!["failback-client-standin".into()],
        env: vec![(DEMO_DISKS_ENV.into(), dir.path().display().to_string())],
        ..runner(dir.path(), PathBuf::new(), Vec::new())
    };
    let p = plan(&emu, &id);
    let (worker_client, current) = service(&p).await;
    let (tx, rx) = mpsc::unbounded_channel();
    r.start(p.clone(), current, tx);

    // Once the program paired, the runner's session answers ExpiredToken.
    let fresh_client = DrsClient::connect(&p.target(fresh.clone()))
        .await
        .expect("client");
    let mut paired = None;
    for _ in 0..2000 {
        paired = fresh_client
            .recovery_instance(&id)
            .await
            .expect("instance")
            .failback
            .client_id;
        if paired.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let paired = paired.expect("the program paired");
    let expired = worker_client.borrow().recovery_instance(&id).await;
    assert!(
        expired.is_err_and(|e| e.kind == drs_failback::drs::DrsErrorKind::ExpiredToken),
        "the session ended"
    );
    // Fresh credentials reach the worker (from any terminal), then the launch.
    worker_client.send_replace(fresh_client);
    launch_when_ready(emu.region(), emu.endpoint(), fresh, &id).await;
    let events = until_exit(rx).await;
    let learnt: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ReplicatorEvent::Paired { client_id } => Some(client_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(learnt, vec![paired.as_str()], "{events:?}");
    assert_eq!(exit(&events), Ok(()));
}

async fn describe_client(emu: &Emulator, id: &str) -> Option<String> {
    let target = drs_failback::drs::DrsTarget {
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        auth: drs_failback::drs::Auth::Static(key(emu)),
    };
    let client = drs_failback::drs::DrsClient::connect(&target)
        .await
        .expect("client");
    client
        .recovery_instance(id)
        .await
        .expect("instance")
        .failback
        .client_id
}

/// Without the pairing before the start, an earlier client's could be taken for the
/// program's: the runner refuses to start the program rather than guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_is_not_started_when_the_instance_cannot_be_read_first() {
    let v = scenario_json();
    let emu = emulator(&v).await;
    let dir = Sandbox::new();
    let marker = dir.path().join("started");
    let fake = program(dir.path(), &format!("touch {}; exit 0", marker.display()));
    // An instance the service does not know: its pairing cannot be read.
    let events = run(
        &runner(dir.path(), fake, Vec::new()),
        plan(&emu, "i-00000000deadbeef"),
    )
    .await;
    let error = exit(&events).expect_err("refused");
    assert!(
        error.starts_with(
            "cannot read recovery instance i-00000000deadbeef before starting failback_entry"
        ),
        "{error}"
    );
    assert!(!marker.exists(), "the program never ran");
}

// ---- the stand-in's command line ----

fn standin(args: &[&str]) -> std::process::Output {
    Sandbox::new()
        .command()
        .arg("failback-client-standin")
        .args(args)
        .env_remove(DEMO_DISKS_ENV)
        .output()
        .expect("runs")
}

#[test]
fn bad_arguments_are_refused_like_failback_entry() {
    let out = standin(&["--dm-value-format", "by-label"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--dm-value-format") && err.contains("by-label"),
        "{err}"
    );
    assert!(err.contains("all-strict"), "the choices are listed: {err}");

    let out = standin(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frobnicate"));

    let out = standin(&["--endpoint", "http://127.0.0.1:1", "--default-endpoint"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_argument_exits_1_with_the_reason_in_its_log() {
    let dir = Sandbox::new();
    let log = dir.path().join("failback.log");
    let out = standin(&[
        "--no-prompt",
        "--region",
        "us-east-1",
        "--endpoint",
        "http://127.0.0.1:1",
        "--log-file",
        log.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).expect("log written");
    assert!(
        text.contains("ERROR: --aws-access-key-id is required"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("see {}", log.display())), "{err}");
}

/// By hand, as an operator would run AWS's program: no --device-mapping, so the service
/// suggests one for the demo's disk files; exit 0 after the launch, the content intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standin_by_hand_takes_the_suggested_mapping_and_exits_0_after_the_launch() {
    let mut v = scenario_json();
    small_web02(&mut v, "8MiB", "4MiB");
    let emu = emulator(&v).await;
    let id = instance(&v, "web-02");
    let dir = Sandbox::new();
    for (file, bytes) in [("sda.img", 1u64 << 20), ("sdb.img", 8 << 20)] {
        std::fs::File::create(dir.path().join(file))
            .and_then(|f| f.set_len(bytes))
            .expect("disk file");
    }
    let log = dir.path().join("failback.log");
    let k = key(&emu);
    let mut child = dir
        .tokio_command()
        .arg("failback-client-standin")
        .args(["--aws-access-key-id", &k.access_key_id])
        .args(["--aws-secret-access-key", &k.secret_access_key])
        .args([
            "--aws-session-token",
            k.session_token.as_deref().expect("token"),
        ])
        .args(["--region", &emu.region(), "--endpoint", &emu.endpoint()])
        .args(["--recovery-instance-id", &id, "--no-prompt"])
        .arg("--log-file")
        .arg(&log)
        .env(DEMO_DISKS_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("stand-in starts");
    launch_when_ready(emu.region(), emu.endpoint(), k, &id).await;
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the stand-in ends")
        .expect("status");
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.contains("Using the device mapping the service suggested"),
        "{text}"
    );
    assert!(
        text.contains("Device mapping: /dev/xvda=/dev/sdb"),
        "{text}"
    );
    let written = std::fs::read(dir.path().join("sdb.img")).expect("target");
    use sha2::Digest;
    let hash = format!("{:x}", sha2::Sha256::digest(&written));
    assert_eq!(Some(hash), emu.volume_sha256(&id, "/dev/xvda", 8 << 20));
    assert!(
        std::fs::read(dir.path().join("sda.img"))
            .expect("other")
            .iter()
            .all(|b| *b == 0)
    );
}

/// The worker's replicator on the demo's path: the emulator as its own process, AWS's software
/// fetched from its S3 buckets (progress reported), verified and unpacked, and the tarball's
/// failback_entry (a script that runs the stand-in) driven by the runner to
/// FAILBACK_COMPLETED, content intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_downloaded_failback_entry_of_the_emulators_tarball_fails_back() {
    use drs_failback::emulator::content::VolumeContent;
    use drs_failback::failback_software::SoftwareSource;
    use drs_failback::replicator::downloaded::Downloaded;
    use tokio::io::AsyncBufReadExt;

    let mut v = scenario_json();
    small_web02(&mut v, "6MiB", "3MiB");
    let dir = Sandbox::new();
    let scenario = dir.path().join("scenario.json");
    std::fs::write(&scenario, v.to_string()).expect("scenario file");
    let mut emulator = dir
        .tokio_command()
        .args(["emulator", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(&scenario)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("emulator process");
    let mut lines = tokio::io::BufReader::new(emulator.stdout.take().expect("stdout")).lines();
    let endpoint = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("DRS emulator listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("the emulator said no address")
    })
    .await
    .expect("the emulator starts");
    let region = v["region"].as_str().expect("region").to_owned();
    let c = &v["credentials"][0];
    let credentials = StaticCredentials {
        access_key_id: c["access_key_id"].as_str().expect("key").into(),
        secret_access_key: SECRET.into(),
        session_token: Some(TOKEN.into()),
    };

    let disks = dir.path().join("disks");
    std::fs::create_dir_all(&disks).expect("disks dir");
    std::fs::File::create(disks.join("sdb.img"))
        .and_then(|f| f.set_len(6 << 20))
        .expect("target");
    // Downloaded, verified and unpacked, then run: what the worker runs.
    let software = Downloaded {
        source: SoftwareSource::new(&region, Some(&endpoint)).expect("source"),
        dir: dir.path().join("sw"),
        runner: FailbackEntry {
            program: PathBuf::new(),
            leading_args: Vec::new(),
            env: vec![(DEMO_DISKS_ENV.into(), disks.display().to_string())],
            log_file: dir.path().join("failback.log"),
            poll_every: Duration::from_millis(20),
            workdir: PathBuf::new(),
            record: None,
        },
    };
    let id = instance(&v, "web-02");
    let plan = ReplicationPlan {
        recovery_instance_id: id.clone(),
        region: region.clone(),
        endpoint: Some(endpoint.clone()),
        credentials: Some(credentials.clone()),
        targets: Vec::new(),
        device_mapping: "/dev/xvda=/dev/sdb".into(),
        value_format: DmValueFormat::DevName,
        preflight: vec![],
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    software.start(plan.clone(), service(&plan).await.1, tx);
    launch_when_ready(region, endpoint, credentials, &id).await;
    let end = tokio::time::timeout(Duration::from_secs(60), async {
        let (mut downloaded, mut installed, mut paired) = (None, None, false);
        while let Some(e) = rx.recv().await {
            match e {
                ReplicatorEvent::Download(p) => downloaded = Some((p.bytes, p.total)),
                ReplicatorEvent::Installed { version } => installed = Some(version),
                ReplicatorEvent::Paired { .. } => paired = true,
                ReplicatorEvent::Exited(r) => return (downloaded, installed, paired, r),
                ReplicatorEvent::Log(_) => {}
            }
        }
        panic!("no Exited event")
    })
    .await
    .expect("the runner ends");
    let (downloaded, installed, paired, exit) = end;
    let (bytes, total) = downloaded.expect("download progress");
    assert_eq!(Some(bytes), total, "the last report is the whole tarball");
    assert_eq!(
        installed.as_deref(),
        Some(drs_failback::emulator::EMULATOR_INSTALLER_VERSION)
    );
    assert_eq!((paired, exit), (true, Ok(())));
    let seed = v["seed"].as_u64().expect("seed");
    let expected = VolumeContent::new(&id, "/dev/xvda", 6 << 20, 3 << 20, seed).sha256(6 << 20);
    use sha2::Digest;
    let written = std::fs::read(disks.join("sdb.img")).expect("target");
    assert_eq!(format!("{:x}", sha2::Sha256::digest(&written)), expected);
    emulator.kill().await.expect("emulator stops");
}

/// As the console's Failback button would: waits for READY_FOR_LAUNCH (polling the service, a
/// bounded number of times), then starts the failback launch.
async fn launch_when_ready(
    region: String,
    endpoint: String,
    credentials: drs_failback::drs::StaticCredentials,
    id: &str,
) {
    let client = drs_failback::drs::DrsClient::connect(&drs_failback::drs::DrsTarget {
        region,
        endpoint: Some(endpoint),
        auth: drs_failback::drs::Auth::Static(credentials),
    })
    .await
    .expect("client");
    let mut ready = false;
    for _ in 0..2000 {
        let i = client.recovery_instance(id).await.expect("instance");
        if i.failback.state == drs_failback::domain::states::FailbackState::ReadyForLaunch {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready, "the failback client reached READY_FOR_LAUNCH");
    client.start_failback_launch(id).await.expect("launch");
}
