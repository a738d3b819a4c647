//! The demo's start: virtual disks, and a failback worker that serves the emulator (so the
//! rehearsal outlives this wizard as a real failback does). It runs off the loop: Welcome is
//! drawn at once, and `Msg::DemoReady` brings the emulator's endpoint and keys.

use super::runtime::Services;
use super::{App, Mode};
use crate::disks::DiskSource;
use crate::disks::virtual_disks::VirtualDisks;
use crate::domain::model::HostIdentity;
use crate::emulator::{self, EmulatorCredential, Scenario};
use crate::worker::client::{self, Spawned};
use crate::worker::protocol::{DemoSetup, Setup};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct DemoStart {
    /// This program (the worker is its hidden subcommand).
    pub program: PathBuf,
    pub state_dir: PathBuf,
    /// None: the embedded scenario.
    pub scenario: Option<PathBuf>,
    /// None: a temporary directory the worker removes when it ends.
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
}

/// A started demo: what the wizard learns, and what the runtime keeps.
pub struct Started {
    pub info: DemoInfo,
    pub disks: Arc<dyn DiskSource>,
    pub host_identity: HostIdentity,
    pub worker: Spawned,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("info", &self.info)
            .field("worker", &self.worker.worker_pid())
            .finish_non_exhaustive()
    }
}

impl Started {
    /// Hands the worker, disks and host to the services; what the wizard learns remains.
    pub fn keep(self, services: &mut Services) -> DemoInfo {
        services.disks = Some(self.disks);
        services.host_identity = Some(self.host_identity);
        services.worker = Some(self.worker);
        self.info
    }
}

pub fn load_scenario(path: Option<&Path>) -> Result<Scenario, String> {
    match path {
        Some(p) => Scenario::load(p).map_err(|e| format!("scenario {}: {e}", p.display())),
        None => Ok(Scenario::embedded_default()),
    }
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
        demo: Some(opts),
    };
    (app, services)
}

/// Loads the scenario, makes the virtual disks and starts the worker, waiting until its
/// emulator listens (blocking: the runtime runs it off the loop).
pub fn start(opts: DemoStart) -> Result<Started, String> {
    let scenario = load_scenario(opts.scenario.as_deref())?;
    let keys = emulator::credentials_of(&scenario);
    if keys.is_empty() {
        return Err("the scenario defines no credentials".to_owned());
    }
    let (dir, remove) = match opts.disk_dir {
        Some(d) => (d, false),
        None => {
            let t = tempfile::Builder::new()
                .prefix("drs-failback-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create the demo's disk directory: {e}"))?;
            (t.keep(), true)
        }
    };
    let cleanup = |e: String| {
        if remove {
            let _ = std::fs::remove_dir_all(&dir);
        }
        e
    };
    let disks = VirtualDisks::create(&dir, &scenario.demo_disks()).map_err(|e| {
        cleanup(format!(
            "cannot create virtual disks in {}: {e}",
            dir.display()
        ))
    })?;
    let host_identity = scenario.demo_host();
    // The worker loads the scenario itself: the wizard keeps none of its instances.
    drop(scenario);
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let setup = Setup {
        started_by: crate::worker::started_by(),
        poll_every_ms: opts.poll_every_ms,
        // The worker's own emulator serves the software.
        s3_endpoint: None,
        demo: Some(DemoSetup {
            scenario: opts.scenario.as_deref().map(absolute),
            disk_dir: absolute(&dir),
            remove_disk_dir: remove,
            region: opts
                .region
                .filter(|r| crate::domain::regions::find(r).is_some()),
        }),
    };
    crate::worker::prepare_state_dir(&opts.state_dir).map_err(cleanup)?;
    // From here the worker removes the directory when it ends.
    let mut worker = client::spawn(&opts.program, &opts.state_dir, &setup).map_err(cleanup)?;
    let ready = match worker.demo_ready(&opts.state_dir) {
        Ok(r) => r,
        Err(e) => {
            worker.finish(false);
            return Err(e);
        }
    };
    tracing::info!(endpoint = %ready.endpoint, dir = %dir.display(), worker = worker.worker_pid(), "demo started");
    Ok(Started {
        info: DemoInfo {
            endpoint: ready.endpoint,
            region: ready.region,
            disk_dir: dir.display().to_string(),
            keys,
        },
        disks: Arc::new(disks),
        host_identity,
        worker,
    })
}
