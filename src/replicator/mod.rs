//! What writes the target disks: a `failback_entry` program (AWS's, or the demo's stand-in),
//! downloaded and verified first as start.sh does (`downloaded`).

pub mod downloaded;
pub mod failback_entry;

use crate::drs::{Auth, DrsClient, DrsTarget, StaticCredentials};
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

/// One replication run, from the Review's Next to its outcome: every background answer names
/// the run it belongs to, so a late answer from an earlier run cannot land on the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

/// One recovery-instance volume and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VolumeTarget {
    /// Recovery-instance device name, e.g. `/dev/xvda`.
    pub volume: String,
    pub volume_bytes: u64,
    /// Local device as failback_entry names it, e.g. `/dev/sdb`.
    pub device: String,
    /// Where the blocks are written (the device itself, or a demo file).
    pub write_path: PathBuf,
}

/// Everything a replicator needs to start. Credentials travel here and nowhere else
/// (their Debug is redacted; serialized, as the worker shows the plan, they are left out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicationPlan {
    pub recovery_instance_id: String,
    pub region: String,
    pub endpoint: Option<String>,
    #[serde(skip)]
    pub credentials: Option<StaticCredentials>,
    /// Volumes mapped to a local disk; excluded volumes are absent.
    pub targets: Vec<VolumeTarget>,
    /// The mapping as `--device-mapping` takes it.
    pub device_mapping: String,
    /// How the mapping names the local side (`--dm-value-format`).
    pub value_format: crate::domain::mapping::DmValueFormat,
    /// The pre-flight as it stood when the plan was confirmed (`status --json` shows it).
    #[serde(default)]
    pub preflight: Vec<crate::domain::preflight::Recorded>,
}

impl ReplicationPlan {
    /// The plan's region and endpoint, called with `credentials`.
    pub fn target(&self, credentials: StaticCredentials) -> DrsTarget {
        DrsTarget {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            auth: Auth::Static(credentials),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReplicatorEvent {
    /// How far the download of the replication software is.
    Download(crate::failback_software::Progress),
    /// The replication software was verified and unpacked: this version runs next.
    Installed { version: String },
    /// A line of the replicator's own output, for the log pane.
    Log(String),
    /// The service accepted this failback client. Its id tells this run's failback from one
    /// an earlier client left (a READY_FOR_LAUNCH or FAILBACK_COMPLETED from before): the
    /// dashboard acts only on the states of its own client.
    Paired { client_id: String },
    /// The replicator stopped: Ok when it finished its work, Err with what went wrong.
    Exited(Result<(), String>),
}

pub trait Replicator: Send + Sync {
    /// Starts replicating in the background; events arrive on `events`. `service` is the
    /// worker's current DRS client (fresh credentials replace it mid-run) for what the
    /// replicator asks the service; the plan's credentials are the program's own.
    /// Aborting the returned handle stops it.
    fn start(
        &self,
        plan: ReplicationPlan,
        service: watch::Receiver<DrsClient>,
        events: mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> tokio::task::JoinHandle<()>;
}

/// Runs a replicator in its own task and reports how it ended (`Exited`).
fn spawn_to_exit(
    events: mpsc::UnboundedSender<ReplicatorEvent>,
    run: impl std::future::Future<Output = Result<(), String>> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let result = run.await;
        // The receiver may be gone (the worker is ending): nothing left to tell.
        let _ = events.send(ReplicatorEvent::Exited(result));
    })
}
