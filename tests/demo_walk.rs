//! Every recovery instance of the embedded scenario, walked through the real runtime with the
//! demo's services (the demo's emulator, a process of its own; the real path's failback worker
//! pointed at it, running the stand-in failback client as failback_entry; virtual disks) by
//! the `--no-prompt` autopilot: each one that fits this host's disks ends FAILBACK_COMPLETED or in the failure its scenario means to show,
//! explained; each one that cannot fit is refused on the instance step.

mod common;

use common::sandbox::Sandbox;
use drs_failback::app::App;
use drs_failback::app::demo::{self, DemoStart};
use drs_failback::app::prefill::Prefill;
use drs_failback::app::runtime::{self, Frontend};
use drs_failback::cli::Output;
use drs_failback::headless::Headless;
use drs_failback::wizard::StepId;
use drs_failback::wizard::replication::Launch;
use drs_failback::wizard::result::Outcome;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;
use std::io;
use std::time::Duration;

/// A safety net against a hung journey, not a timing assertion: the walk waits for outcomes.
const PATIENCE: Duration = Duration::from_secs(120);

fn scenario_json() -> Value {
    serde_json::from_str(include_str!("../assets/demo-scenario.json")).unwrap()
}

/// The embedded scenario as it is (sizes, states, faults, policies), with time 1000x faster
/// and little data on each volume, so writing the virtual disks stays quick.
fn quick_scenario() -> Value {
    let mut s = scenario_json();
    s["time_scale"] = 1000.into();
    for ri in s["recovery_instances"].as_array_mut().unwrap() {
        for v in ri["volumes"].as_array_mut().unwrap() {
            v["used"] = "2MiB".into();
        }
    }
    s
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The `--no-prompt` autopilot (told which recovery instance to take, as
/// `--recovery-instance-id` does, and to launch when ready), pressing the demo's console
/// Failback button when the launch is denied.
struct Walker {
    autopilot: Headless,
    console_pressed: bool,
    /// The denial the dashboard showed after the console button, if it was denied too.
    denied: Option<String>,
    /// What the first frame showed: (step, the demo still starting).
    first_frame: Option<(StepId, bool)>,
}

impl Frontend for Walker {
    fn draw(&mut self, app: &App) -> io::Result<()> {
        self.first_frame
            .get_or_insert((app.step, app.demo_starting));
        self.autopilot.draw(app)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.autopilot.clear()
    }

    fn keys_for(&mut self, app: &App) -> Vec<KeyEvent> {
        if let Some(Launch::Denied(why)) = app.dashboard.as_ref().map(|d| &d.launch) {
            if !self.console_pressed {
                self.console_pressed = true;
                return vec![key(KeyCode::Char('c'))];
            }
            // Denied to the console too: nothing more an operator can do here.
            if self.denied.is_none() {
                self.denied = Some(why.clone());
                return vec![KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL); 2];
            }
            return vec![];
        }
        self.autopilot.keys_for(app)
    }
}

/// How a walk ended.
#[derive(Debug)]
enum End {
    Completed,
    /// The failback failed, with what the Result said.
    Failed(String),
    /// The autopilot stopped before replication, with what the step said.
    Refused(StepId, String),
    /// The launch was denied even to the console, with the dashboard's explanation.
    LaunchDenied(String),
}

/// The worker's log and its replication software's, which a worker keeps in the temporary
/// directory for the operator: the wizard (this test) makes them in its own TMPDIR, so the
/// test removes them, passed or failed.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0.with_extension("failback_entry.log"));
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Gone, or a zombie (its parent, this test, has not waited for it).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

async fn walk(instance: &str) -> End {
    // The worker's TMPDIR: what it makes there goes with it, and so does a worker left running.
    let dir = Sandbox::new();
    let scenario = dir.path().join("scenario.json");
    std::fs::write(&scenario, quick_scenario().to_string()).unwrap();
    let (mut app, mut services) = demo::starting(DemoStart {
        program: dir.program(),
        state_dir: dir.path().join("state"),
        scenario: Some(scenario),
        disk_dir: Some(dir.path().join("disks")),
        poll_every_ms: 100,
        region: None,
    });
    Prefill {
        recovery_instance_id: Some(instance.to_owned()),
        ..Prefill::default()
    }
    .apply(&mut app);
    let mut walker = Walker {
        autopilot: Headless::new(Output::Text, true),
        console_pressed: false,
        denied: None,
        first_frame: None,
    };
    let app = tokio::time::timeout(
        PATIENCE,
        runtime::run(app, &mut services, &mut walker, None),
    )
    .await
    .unwrap_or_else(|_| panic!("{instance}: the walk did not end"))
    .unwrap();
    // Welcome is drawn before the demo's emulator listens, never after waiting for it.
    assert_eq!(walker.first_frame, Some((StepId::Welcome, true)));
    let emulator = services
        .emulator
        .take()
        .expect("the demo holds its emulator");
    let emulator_pid = emulator.hello.pid;
    assert_ne!(emulator_pid, std::process::id(), "the emulator runs apart");
    // The worker starts with a confirmed plan, and ends with the acknowledged result; a
    // failback left waiting for a launch no one may start would wait for ever: this test ends
    // it.
    let worker = services.worker.take();
    // The logs are known once the processes started: removed, passed or failed.
    let _logs: Vec<RemoveOnDrop> = worker
        .iter()
        .map(|w| w.log.clone())
        .chain(emulator.log.clone())
        .map(RemoveOnDrop)
        .collect();
    let killed = app.outcome.is_none() && app.worker.is_some();
    if let Some(worker) = worker {
        assert_ne!(
            worker.worker_pid(),
            emulator_pid,
            "the emulator is not the worker"
        );
        if killed {
            // SAFETY: a signal to the worker this test started.
            unsafe { libc::kill(worker.worker_pid() as i32, libc::SIGKILL) };
        }
        worker.finish(true);
    }
    // The last hold: the emulator removes what it made and is gone.
    emulator.leave();
    assert!(
        gone(emulator_pid),
        "the emulator {emulator_pid} outlived the demo"
    );
    // A killed worker leaves its socket and lock; anything else is gone with the emulator.
    assert!(
        killed || !dir.path().join("state").exists(),
        "the state directory is left"
    );
    match (
        &app.outcome,
        walker.denied,
        walker.autopilot.stop.map(|s| s.message),
    ) {
        (Some(Outcome::Completed(_)), _, _) => End::Completed,
        (Some(Outcome::Failed(f)), _, _) => End::Failed(f.what.clone()),
        (None, Some(why), _) => End::LaunchDenied(why),
        (None, None, Some(why)) => End::Refused(app.step, why),
        (None, None, None) => panic!("{instance}: ended on {:?} without an outcome", app.step),
    }
}

/// What each instance's scenario entry means to show, when it is not a completed failback.
fn intended(host: &str, end: &End) -> Result<(), String> {
    let too_large = [
        "dwh-01",
        "db-01",
        "sap-hana-01",
        "svc-13",
        "svc-16",
        "win-22",
    ];
    let ok = match (host, end) {
        (h, End::Refused(StepId::Instance, why)) if too_large.contains(&h) => {
            why.contains("cannot fail back here")
        }
        (h, _) if too_large.contains(&h) => false,
        // Its policy denies StartFailbackLaunch to everyone: the console's button too.
        ("payroll-01", End::LaunchDenied(why)) => {
            why.contains("explicit deny") && why.contains("console's Failback is refused too")
        }
        // Its EC2 instance is stopped: the service refuses to pair a failback client.
        ("cache-01", End::Failed(what)) => what.contains("is STOPPED; failback needs it running"),
        ("payroll-01" | "cache-01", _) => false,
        (_, End::Completed) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{host}: {end:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_instance_ends_as_its_scenario_means() {
    let scenario = scenario_json();
    let mut wrong = Vec::new();
    for ri in scenario["recovery_instances"].as_array().unwrap() {
        let (id, host) = (ri["id"].as_str().unwrap(), ri["hostname"].as_str().unwrap());
        if let Err(e) = intended(host, &walk(id).await) {
            wrong.push(e);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// /dev/sda 10 GiB came from a 9.75 GiB disk: it goes back onto the 9.75 GiB /dev/sde.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fractional_gib_instance_fails_back_onto_its_fractional_disk() {
    let scenario = scenario_json();
    let legacy = scenario["recovery_instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ri| ri["hostname"] == "legacy-app-03")
        .unwrap();
    let end = walk(legacy["id"].as_str().unwrap()).await;
    assert!(matches!(end, End::Completed), "{end:?}");
}
