//! The replicator every failback runs: AWS's replication software downloaded from the
//! region's buckets (or `--s3-endpoint`; the demo's emulator serves a tarball whose
//! `failback_entry` is the stand-in), verified and unpacked, then its `failback_entry` run
//! with the documented arguments. One path for the real failback and the demo.

use super::failback_entry::FailbackEntry;
use super::{ReplicationPlan, Replicator, ReplicatorEvent};
use crate::drs::DrsClient;
use crate::failback_software::{self, SoftwareSource};
use crate::net::Network;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
pub struct Downloaded {
    pub source: SoftwareSource,
    /// Where it is downloaded and unpacked (the worker's directory).
    pub dir: PathBuf,
    /// How the unpacked `failback_entry` is run; its `program` is set once unpacked.
    pub runner: FailbackEntry,
}

impl Downloaded {
    async fn run(
        &self,
        plan: &ReplicationPlan,
        service: watch::Receiver<DrsClient>,
        events: &mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> Result<(), String> {
        let not_installed = |e: String| format!("it could not be installed. {e}");
        let network = Network::from_env().map_err(|e| not_installed(e.to_string()))?;
        let (progress, mut reports) = mpsc::unbounded_channel();
        let forward = {
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(p) = reports.recv().await {
                    let _ = events.send(ReplicatorEvent::Download(p));
                }
            })
        };
        let installed =
            failback_software::install(&self.source, &network, &self.dir, &progress).await;
        drop(progress);
        // Every report before the outcome.
        let _ = forward.await;
        let installed = installed.map_err(|e| not_installed(e.message))?;
        let _ = events.send(ReplicatorEvent::Installed {
            version: installed.version.clone(),
        });
        let _ = events.send(ReplicatorEvent::Log(format!(
            "AWS's replication software {} verified (SHA-512) and unpacked into {}",
            installed.version,
            installed.unpacked.dir.display()
        )));
        let mut runner = self.runner.clone();
        runner.program = installed.unpacked.failback_entry;
        runner.workdir = installed.unpacked.dir;
        runner.run(plan, service, events).await
    }
}

impl Replicator for Downloaded {
    fn start(
        &self,
        plan: ReplicationPlan,
        service: watch::Receiver<DrsClient>,
        events: mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        let sender = events.clone();
        super::spawn_to_exit(
            sender,
            async move { this.run(&plan, service, &events).await },
        )
    }
}
