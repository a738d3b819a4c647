//! The demo's start: the demo's emulator, a process of its own that this wizard holds (it
//! plays DRS and S3, and makes the virtual disks), and the real path's worker pointed at it.
//! It runs off the loop: Welcome is drawn at once, and `Msg::DemoReady` brings the
//! emulator's endpoint and keys.

use super::runtime::{Services, WorkerStart};
use super::{App, Mode};
use crate::disks::DiskSource;
use crate::disks::virtual_disks::VirtualDisks;
use crate::domain::model::HostIdentity;
use crate::emulator::EmulatorCredential;
use crate::emulator::held::{self, Hold};
use crate::worker::protocol::{DemoSetup, Setup};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct DemoStart {
    /// This program (the worker is its hidden subcommand).
    pub program: PathBuf,
    pub state_dir: PathBuf,
    /// None: the embedded scenario.
    pub scenario: Option<PathBuf>,
    /// None: a temporary directory the emulator removes when it ends.
    pub disk_dir: Option<PathBuf>,
    pub poll_every_ms: u64,
    /// The region given (`--region`, AWS_REGION): the emulator plays it when it is a known
    /// one, so the rehearsal runs in the operator's region.
    pub region: Option<String>,
}

/// What the wizard learns once the demo has started (`Msg::DemoReady`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoInfo {
    /// Where the emulator listens.
    pub endpoint: String,
    pub region: String,
    /// Where the virtual disks are.
    pub disk_dir: String,
    /// The scenario's credentials; the first is the default.
    pub keys: Vec<EmulatorCredential>,
    /// Said on Welcome when this wizard joined a demo already running that plays other
    /// choices than the ones given here.
    pub joined: Option<String>,
}

/// A started demo: what the wizard learns, and what the runtime keeps.
pub struct Started {
    pub info: DemoInfo,
    pub disks: Arc<dyn DiskSource>,
    pub host_identity: HostIdentity,
    /// The real path's worker start, pointed at the emulator.
    pub worker: WorkerStart,
    pub emulator: Hold,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("info", &self.info)
            .field("emulator", &self.emulator.hello.pid)
            .finish_non_exhaustive()
    }
}

impl Started {
    /// Hands the disks, host, emulator and worker start to the services; what the wizard
    /// learns remains.
    pub fn keep(self, services: &mut Services) -> DemoInfo {
        services.disks = Some(self.disks);
        services.host_identity = Some(self.host_identity);
        services.start_worker = Some(self.worker);
        services.emulator = Some(self.emulator);
        self.info
    }
}

/// What a wizard that joined the running demo asked for and does not get, said.
fn not_played(wanted: &held::Start, hello: &held::Hello, state_dir: &Path) -> Option<String> {
    let region = wanted
        .region
        .as_ref()
        .filter(|r| crate::domain::regions::find(r).is_some());
    let differ: Vec<&str> = [
        (
            "--scenario",
            wanted.scenario.is_some() && wanted.scenario != hello.scenario,
        ),
        (
            "--demo-dir",
            wanted
                .disk_dir
                .as_ref()
                .is_some_and(|d| *d != hello.disk_dir),
        ),
        ("--region", region.is_some_and(|r| *r != hello.region)),
    ]
    .into_iter()
    .filter_map(|(option, differs)| differs.then_some(option))
    .collect();
    (!differ.is_empty()).then(|| {
        format!(
            "This demo joined the one already running in {} (emulator pid {}): its scenario, \
             disks and region are used, not {} given here. Quit every demo wizard there for \
             your own.",
            state_dir.display(),
            hello.pid,
            differ.join(", ")
        )
    })
}

/// A rehearsal never changes this machine's clock.
fn refuse_clock(_: std::time::SystemTime) -> Result<(), String> {
    Err(
        "the demo does not change this machine's clock; on a real run this sets it from the \
         DRS endpoint's time"
            .to_owned(),
    )
}

/// The wizard's first state and its services, the demo still to start: the runtime starts
/// it in the background.
pub fn starting(opts: DemoStart) -> (App, Services) {
    let mut app = App::new(Mode::Demo {
        disk_dir: String::new(),
        keys: Vec::new(),
        endpoint: String::new(),
    });
    app.demo_starting = true;
    let services = Services {
        disks: None,
        host_identity: None,
        state_dir: opts.state_dir.clone(),
        worker: None,
        start_worker: None,
        attach: None,
        set_clock: refuse_clock,
        network: None,
        emulator: None,
        demo: Some(opts),
    };
    (app, services)
}

/// Joins the demo's emulator serving the state directory, or starts it (it reads the
/// scenario and makes the virtual disks: the wizard reads neither), and waits until it
/// listens (blocking: the runtime runs it off the loop). The worker starts, as on the real
/// path, when a plan is confirmed.
pub fn start(opts: DemoStart) -> Result<Started, String> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    crate::worker::prepare_state_dir(&opts.state_dir)?;
    let wanted = held::Start {
        scenario: opts.scenario.as_deref().map(absolute),
        disk_dir: opts.disk_dir.as_deref().map(absolute),
        region: opts.region,
        // The one it is started with is its own (`held::spawn`).
        log: None,
    };
    let emulator = held::join_or_start(&opts.program, &opts.state_dir, &wanted)?;
    let hello = emulator.hello.clone();
    let joined = (!emulator.started_here())
        .then(|| not_played(&wanted, &hello, &opts.state_dir))
        .flatten();
    let Some(console) = hello.keys.first().map(|k| k.credentials.clone()) else {
        emulator.leave();
        return Err("the scenario defines no credentials".to_owned());
    };
    let worker = WorkerStart {
        program: opts.program,
        setup: Setup {
            started_by: crate::worker::started_by(),
            poll_every_ms: opts.poll_every_ms,
            s3_endpoint: Some(hello.endpoint.clone()),
            demo: Some(DemoSetup {
                disk_dir: hello.disk_dir.clone(),
                console,
            }),
        },
    };
    tracing::info!(endpoint = %hello.endpoint, dir = %hello.disk_dir.display(), emulator = hello.pid, "demo started");
    Ok(Started {
        info: DemoInfo {
            endpoint: hello.endpoint,
            region: hello.region,
            disk_dir: hello.disk_dir.display().to_string(),
            keys: hello.keys,
            joined,
        },
        disks: Arc::new(VirtualDisks::open(&hello.disk_dir, &hello.disks)),
        host_identity: hello.host,
        worker,
        emulator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> held::Hello {
        held::Hello {
            pid: 42,
            endpoint: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            keys: vec![],
            host: HostIdentity::default(),
            disk_dir: "/tmp/disks".into(),
            disks: vec![],
            scenario: Some("/tmp/a.json".into()),
        }
    }

    #[test]
    fn a_joined_demo_says_which_given_choices_it_does_not_play() {
        let state = Path::new("/tmp/state");
        let same = held::Start {
            scenario: Some("/tmp/a.json".into()),
            disk_dir: Some("/tmp/disks".into()),
            region: Some("us-east-1".into()),
            log: None,
        };
        assert_eq!(not_played(&same, &hello(), state), None);
        assert_eq!(not_played(&held::Start::default(), &hello(), state), None);
        // An unknown region is not played by any emulator: nothing to say of it.
        let unknown = held::Start {
            region: Some("mars-north-1".into()),
            ..held::Start::default()
        };
        assert_eq!(not_played(&unknown, &hello(), state), None);
        let other = held::Start {
            scenario: Some("/tmp/b.json".into()),
            region: Some("eu-west-1".into()),
            ..same
        };
        let said = not_played(&other, &hello(), state).unwrap();
        assert!(
            said.contains("/tmp/state (emulator pid 42)")
                && said.contains("not --scenario, --region given here")
                && !said.contains("--demo-dir"),
            "{said}"
        );
    }
}
