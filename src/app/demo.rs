//! The demo's start: virtual disks, and a failback worker that serves the emulator (so the
//! rehearsal outlives this wizard as a real failback does), then the wizard's first state.

use super::runtime::Services;
use super::{App, Mode};
use crate::disks::virtual_disks::VirtualDisks;
use crate::emulator::{self, Scenario};
use crate::wizard::endpoint::EndpointForm;
use crate::worker::protocol::{DemoSetup, Setup};
use crate::worker::{self, client};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct DemoStart<'a> {
    /// This program (the worker is its hidden subcommand).
    pub program: &'a Path,
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

/// Where the demo's emulator listens and its disks are.
pub struct DemoReady {
    pub endpoint: String,
    pub disk_dir: PathBuf,
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

pub fn start(opts: DemoStart) -> Result<(App, Services, DemoReady), String> {
    let scenario = load_scenario(opts.scenario.as_deref())?;
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
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let setup = Setup {
        started_by: worker::started_by(),
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
    worker::prepare_state_dir(&opts.state_dir).map_err(cleanup)?;
    // From here the worker removes the directory when it ends.
    let mut spawned = client::spawn(opts.program, &opts.state_dir, &setup).map_err(cleanup)?;
    let ready = match spawned.demo_ready(&opts.state_dir) {
        Ok(r) => r,
        Err(e) => {
            spawned.finish(false);
            return Err(e);
        }
    };
    tracing::info!(endpoint = %ready.endpoint, dir = %dir.display(), worker = spawned.worker_pid(), "demo started");

    let keys = emulator::credentials_of(&scenario);
    let first = keys
        .first()
        .cloned()
        .ok_or("the scenario defines no credentials")?;
    let mut app = App::new(Mode::Demo {
        disk_dir: dir.display().to_string(),
        keys,
        endpoint: ready.endpoint.clone(),
    });
    app.credentials.fill(&first.credentials);
    app.credentials.region = ready.region.clone();
    app.endpoint = EndpointForm::with_custom(&ready.endpoint);
    let services = Services {
        disks: Some(Arc::new(disks)),
        host_identity: Some(scenario.demo_host()),
        state_dir: opts.state_dir,
        worker: Some(spawned),
        start_worker: None,
        attach: None,
        set_clock: refuse_clock,
        network: None,
    };
    Ok((
        app,
        services,
        DemoReady {
            endpoint: ready.endpoint,
            disk_dir: dir,
        },
    ))
}
