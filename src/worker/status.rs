//! `drs-failback status`: the running failback's state, read from the worker's socket, for
//! scripts (`--json`) and support.

use super::client;
use super::protocol::{Event, StartedBy, Verdict};
use crate::domain::model::RecoveryInstance;
use crate::replicator::RunId;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// What `status --json` prints. Field names are stable.
#[derive(Debug, Default, Serialize)]
pub struct Status {
    /// A failback runs (the other fields are empty when not).
    pub running: bool,
    pub run_id: Option<RunId>,
    pub worker_pid: Option<u32>,
    pub started_by: Option<StartedBy>,
    pub recovery_instance_id: Option<String>,
    /// The recovery instance's failback state, as DRS spells it.
    pub failback_state: Option<String>,
    /// Its data replication state, as DRS spells it.
    pub replication_state: Option<String>,
    /// Bytes DRS reports replicated over the mapped volumes, of `total_bytes`.
    pub replicated_bytes: u64,
    pub total_bytes: u64,
    /// Bytes written to the target disks since the failback started.
    pub written_bytes: u64,
    /// The last poll's error, if it failed.
    pub poll_error: Option<String>,
    /// The failback launch job, once started.
    pub launch_job_id: Option<String>,
    pub outcome: Option<Verdict>,
    /// The replication software's last lines.
    pub log_tail: Vec<String>,
    pub log_file: Option<String>,
    /// The pre-flight checks as they stood when the failback was confirmed:
    /// [{"id", "title", "verdict" (pass, warning, fail), "measured", "fix"}].
    pub preflight: Vec<crate::domain::preflight::Recorded>,
}

/// Reads the worker's snapshot (up to its `live` mark).
pub async fn read(state_dir: &Path) -> Result<Status, String> {
    let Some((_connection, reader)) = client::connect(state_dir)
        .map_err(|e| format!("cannot reach the worker in {}: {e}", state_dir.display()))?
    else {
        return Ok(Status::default());
    };
    let mut status = Status {
        running: true,
        ..Status::default()
    };
    let mut lines = BufReader::new(reader).lines();
    let mut targets = Vec::new();
    let mut first_writes = None;
    let read = async {
        while let Ok(Some(text)) = lines.next_line().await {
            let Ok(event) = serde_json::from_str::<Event>(&text) else {
                continue;
            };
            match event {
                Event::Hello {
                    run_id,
                    worker_pid,
                    started_by,
                    plan,
                    log_file,
                    ..
                } => {
                    status.run_id = Some(run_id);
                    status.worker_pid = Some(worker_pid);
                    status.started_by = Some(started_by);
                    status.recovery_instance_id = Some(plan.recovery_instance_id);
                    status.total_bytes = plan.targets.iter().map(|t| t.volume_bytes).sum();
                    status.log_file = log_file;
                    status.preflight = plan.preflight;
                    targets = plan.targets;
                }
                Event::Log { line } => status.log_tail.push(line),
                Event::Writes { total, .. } => {
                    let base = *first_writes.get_or_insert(total);
                    status.written_bytes = total.saturating_sub(base);
                }
                Event::Polled { result, .. } => match result {
                    Ok(i) => {
                        status.replicated_bytes = replicated(&i, &targets);
                        status.failback_state = Some(i.failback.state.into());
                        status.replication_state = Some(i.replication.state.into());
                        status.poll_error = None;
                    }
                    Err(e) => status.poll_error = Some(e.advice()),
                },
                Event::LaunchStarted {
                    result: Ok(job), ..
                } => status.launch_job_id = Some(job.id),
                Event::Outcome { verdict } => status.outcome = Some(verdict),
                Event::Error { .. } => status.running = false,
                Event::Live => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| "the worker did not answer within 10 s".to_owned())?;
    let keep = status.log_tail.len().saturating_sub(10);
    status.log_tail.drain(..keep);
    Ok(status)
}

fn replicated(i: &RecoveryInstance, targets: &[crate::replicator::VolumeTarget]) -> u64 {
    i.replication
        .disks
        .iter()
        .filter(|d| targets.iter().any(|t| t.volume == d.device_name))
        .map(|d| d.replicated.min(d.total))
        .sum()
}

/// Lines for a person.
pub fn text(s: &Status) -> String {
    if !s.running {
        return "No failback is running.".into();
    }
    let mut out = vec![format!(
        "Failback of {} (worker pid {}).",
        s.recovery_instance_id.as_deref().unwrap_or("?"),
        s.worker_pid.unwrap_or_default()
    )];
    if let Some(by) = &s.started_by {
        out.push(super::describe(by));
    }
    out.push(format!(
        "Failback state: {}; data replication: {}; {} of {} replicated, {} written.",
        s.failback_state.as_deref().unwrap_or("not polled yet"),
        s.replication_state.as_deref().unwrap_or("-"),
        crate::domain::bytes::Bytes(s.replicated_bytes),
        crate::domain::bytes::Bytes(s.total_bytes),
        crate::domain::bytes::Bytes(s.written_bytes),
    ));
    if let Some(e) = &s.poll_error {
        out.push(format!("Last poll failed: {e}"));
    }
    match &s.outcome {
        Some(Verdict::Completed { .. }) => out.push("Result: FAILBACK_COMPLETED.".into()),
        Some(Verdict::Failed { what, .. }) => out.push(format!("Result: failed: {what}")),
        None => {}
    }
    if let Some(l) = &s.log_file {
        out.push(format!("Worker log: {l}"));
    }
    out.extend(s.log_tail.iter().map(|l| format!("  {l}")));
    out.join("\n")
}
