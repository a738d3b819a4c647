//! Demo replicator: plays AWS's failback client against the emulator, writing real bytes into
//! the target files at the scenario's rate.

use std::io::SeekFrom;
use std::time::Duration;

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::{ReplicationPlan, Replicator, ReplicatorEvent, VolumeTarget};
use crate::domain::bytes::Bytes;
use crate::domain::fit::{Fit, fit};
use crate::emulator::{AssociatedVolume, ClientStatus, FailbackClientLink};

const CHUNK: u64 = 1 << 20;
const TICK: Duration = Duration::from_millis(100);
/// How often the client checks in once replication is continuous.
const HEARTBEAT: Duration = Duration::from_millis(250);

pub struct DemoReplicator {
    link: FailbackClientLink,
}

impl DemoReplicator {
    pub fn new(link: FailbackClientLink) -> Self {
        DemoReplicator { link }
    }
}

impl Replicator for DemoReplicator {
    fn start(
        &self,
        plan: ReplicationPlan,
        events: mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let link = self.link.clone();
        tokio::spawn(async move {
            let mut client = Client {
                link,
                filler: filler(),
                instance: plan.recovery_instance_id.clone(),
                client_id: String::new(),
                events,
            };
            let result = client.run(&plan).await;
            if let Err(e) = &result {
                client.log(format!("ERROR: {e}"));
            }
            // The receiver may be gone (the wizard quit): nothing left to tell.
            let _ = client.events.send(ReplicatorEvent::Exited(result));
        })
    }
}

/// One target being filled.
struct Volume {
    plan: AssociatedVolume,
    file: File,
    /// The target's size: what lies beyond it (the rounded-up tail of a fractional-GiB disk's
    /// volume) was never on the original disk, so it counts as replicated without a write.
    capacity: u64,
    /// Bytes replicated so far (written or skipped as sparse).
    done: u64,
    chunks: u64,
    used_chunks: u64,
    next_milestone: u64,
}

impl Volume {
    fn finished(&self) -> bool {
        self.done >= self.plan.total_bytes
    }
}

/// Spreads `used` chunks evenly over `chunks` (the first one always used), so writes are
/// paced through the sync rather than bunched at its start.
fn chunk_is_used(i: u64, chunks: u64, used: u64) -> bool {
    let (i, n, u) = (i as u128, chunks.max(1) as u128, used as u128);
    ((i + 1) * u).div_ceil(n) != (i * u).div_ceil(n)
}

struct Client {
    link: FailbackClientLink,
    filler: Vec<u8>,
    instance: String,
    client_id: String,
    events: mpsc::UnboundedSender<ReplicatorEvent>,
}

/// The bytes of one written chunk: a header naming it, then a printable filler (never zero,
/// so a written chunk is told apart from a sparse one). `filler` is at least `len` long.
fn chunk_data(filler: &[u8], instance: &str, volume: &str, offset: u64, len: usize) -> Vec<u8> {
    let header = format!("DRS-FAILBACK-DEMO {instance} {volume} offset {offset}\n");
    let head = header.len().min(len);
    let mut data = Vec::with_capacity(len);
    data.extend_from_slice(&header.as_bytes()[..head]);
    data.extend_from_slice(&filler[head..len]);
    data
}

/// Built once: per-chunk byte loops are too slow in debug builds to keep the demo's pace.
fn filler() -> Vec<u8> {
    let line = b"demo data replicated by drs-failback; not a real disk image. ";
    let mut out = Vec::with_capacity(CHUNK as usize + line.len());
    while out.len() < CHUNK as usize {
        out.extend_from_slice(line);
    }
    out
}

impl Client {
    fn log(&self, line: impl Into<String>) {
        let _ = self.events.send(ReplicatorEvent::Log(line.into()));
    }

    /// Waits for the next tick; stops once nobody listens (a dropped JoinHandle alone would
    /// leave the task running).
    async fn next_tick(&self, tick: &mut tokio::time::Interval) -> Result<(), String> {
        tick.tick().await;
        if self.events.is_closed() {
            return Err("the wizard stopped listening".into());
        }
        Ok(())
    }

    fn status(&self) -> Result<ClientStatus, String> {
        self.link.status(&self.instance, &self.client_id)
    }

    /// Opens each target and measures it; the size rule is `domain::fit`, as on the mapping
    /// screen, so a fractional-GiB disk takes the volume rounded up from it.
    async fn open_targets(&self, targets: &[VolumeTarget]) -> Result<Vec<(File, u64)>, String> {
        let mut files = Vec::new();
        for t in targets {
            let path = t.write_path.display();
            // Never create or truncate: the target must already exist (a device or demo file).
            let mut file = OpenOptions::new()
                .write(true)
                .open(&t.write_path)
                .await
                .map_err(|e| format!("cannot open {path} for {}: {e}", t.device))?;
            // Seeking to the end measures block devices too (their metadata says 0 bytes).
            let capacity = file
                .seek(SeekFrom::End(0))
                .await
                .map_err(|e| format!("cannot measure {path}: {e}"))?;
            if let Fit::TooSmall { short_by } = fit(Bytes(t.volume_bytes), Bytes(capacity)) {
                return Err(format!(
                    "{path} holds {} but {} needs {} ({short_by} more)",
                    Bytes(capacity),
                    t.volume,
                    Bytes(t.volume_bytes)
                ));
            }
            files.push((file, capacity));
        }
        Ok(files)
    }

    async fn run(&mut self, plan: &ReplicationPlan) -> Result<(), String> {
        self.log(format!(
            "Failback client (demo) starting: region {}, endpoint {}",
            plan.region,
            plan.endpoint.as_deref().unwrap_or("default")
        ));
        if plan.targets.is_empty() {
            return Err("the volume mapping maps no volume".into());
        }
        let files = self.open_targets(&plan.targets).await?;
        let mapping: Vec<(String, String)> = plan
            .targets
            .iter()
            .map(|t| (t.volume.clone(), t.device.clone()))
            .collect();
        self.log(format!("Device mapping: {}", plan.device_mapping));
        let association = self.link.associate(&self.instance, &mapping)?;
        self.client_id = association.client_id.clone();
        let _ = self.events.send(ReplicatorEvent::Paired {
            client_id: self.client_id.clone(),
        });
        let mut volumes: Vec<Volume> = association
            .volumes
            .into_iter()
            .zip(files)
            .map(|(plan, (file, capacity))| {
                let chunks = plan.total_bytes.div_ceil(CHUNK).max(1);
                Volume {
                    used_chunks: plan.used_bytes.div_ceil(CHUNK).min(chunks),
                    chunks,
                    plan,
                    file,
                    capacity,
                    done: 0,
                    next_milestone: 25,
                }
            })
            .collect();

        self.initiate().await?;
        for v in &volumes {
            self.log(format!(
                "Replicating {} -> {} ({}, {} of data)",
                v.plan.volume,
                v.plan.device,
                Bytes(v.plan.total_bytes),
                Bytes(v.plan.used_bytes)
            ));
        }
        self.replicate(&mut volumes).await?;
        for v in &mut volumes {
            v.file
                .sync_data()
                .await
                .map_err(|e| format!("cannot flush {}: {e}", v.plan.device))?;
        }
        self.log("Initial sync complete; replication is continuous. Waiting for the failback launch (DRS console or this wizard)");
        self.continuous().await
    }

    /// Waits for the service to walk the initiation steps, telling the operator about each.
    async fn initiate(&self) -> Result<(), String> {
        let mut told = 0;
        let mut tick = tokio::time::interval(TICK);
        loop {
            self.next_tick(&mut tick).await?;
            let status = self.status()?;
            let steps = &status.initiation_steps;
            while told < steps.len() && steps[told].1 != "NOT_STARTED" {
                self.log(self.step_line(&steps[told].0));
                told += 1;
            }
            if let Some((name, _)) = steps.iter().find(|(_, s)| s == "FAILED") {
                return Err(format!("initiation step {name} failed"));
            }
            if status.replication_state != "INITIATING" {
                return Ok(());
            }
        }
    }

    fn step_line(&self, step: &str) -> String {
        match step {
            "LINK_FAILBACK_CLIENT_WITH_RECOVERY_INSTANCE" => {
                format!(
                    "Linking failback client with recovery instance {}",
                    self.instance
                )
            }
            "COMPLETE_VOLUME_MAPPING" => "Volume mapping accepted by the service".into(),
            "ESTABLISH_RECOVERY_INSTANCE_COMMUNICATION" => {
                "Connecting to the recovery instance on TCP 1500".into()
            }
            "DOWNLOAD_REPLICATION_SOFTWARE_TO_FAILBACK_CLIENT" => {
                "Downloading replication software…".into()
            }
            "CONFIGURE_REPLICATION_SOFTWARE" => "Configuring replication software…".into(),
            "PAIR_AGENT_WITH_REPLICATION_SOFTWARE" => {
                "Pairing with the agent on the recovery instance…".into()
            }
            "ESTABLISH_AGENT_REPLICATOR_SOFTWARE_COMMUNICATION" => {
                "Agent paired; establishing the replication channel".into()
            }
            other => format!("Initiation step {other}"),
        }
    }

    async fn write_chunk(&self, v: &mut Volume, index: u64, len: u64) -> Result<(), String> {
        let offset = index * CHUNK;
        let data = chunk_data(
            &self.filler,
            &self.instance,
            &v.plan.volume,
            offset,
            len as usize,
        );
        let device = v.plan.device.clone();
        let io = |e: std::io::Error| format!("write to {device} at offset {offset} failed: {e}");
        v.file.seek(SeekFrom::Start(offset)).await.map_err(io)?;
        v.file.write_all(&data).await.map_err(io)?;
        // tokio's File completes writes in the background; flush waits for them.
        v.file.flush().await.map_err(io)
    }

    /// Initial sync: every volume in parallel, sharing the rate the service allows.
    async fn replicate(&self, volumes: &mut [Volume]) -> Result<(), String> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = Instant::now();
        let mut budget = 0.0f64;
        let mut held: Option<String> = None;
        while volumes.iter().any(|v| !v.finished()) {
            self.next_tick(&mut tick).await?;
            let status = self.status()?;
            let elapsed = last.elapsed().as_secs_f64();
            last = Instant::now();
            let rate = status.bytes_per_second as f64;
            if rate == 0.0 {
                budget = 0.0;
                if held.as_deref() != Some(status.replication_state.as_str()) {
                    self.log(match status.replication_state.as_str() {
                        "DISCONNECTED" => "WARNING: lost the connection to the recovery instance (TCP 1500); retrying".to_string(),
                        "STALLED" => "WARNING: replication stalled; waiting for the recovery instance".to_string(),
                        other => format!("Replication paused ({other})"),
                    });
                    held = Some(status.replication_state.clone());
                }
                continue;
            }
            if held.take().is_some() {
                self.log("Replication resumed");
            }
            // At most one second of catch-up, so a slow disk does not cause bursts.
            budget = (budget + rate * elapsed).min(rate.max(CHUNK as f64));
            'fill: loop {
                let mut progressed = false;
                for v in volumes.iter_mut().filter(|v| !v.finished()) {
                    let index = v.done / CHUNK;
                    let len = CHUNK.min(v.plan.total_bytes - v.done);
                    if budget < len as f64 {
                        break 'fill;
                    }
                    let writable = len.min(v.capacity.saturating_sub(v.done));
                    if writable > 0 && chunk_is_used(index, v.chunks, v.used_chunks) {
                        self.write_chunk(v, index, writable).await?;
                    }
                    v.done += len;
                    budget -= len as f64;
                    progressed = true;
                }
                if !progressed {
                    break;
                }
            }
            for v in volumes.iter_mut() {
                self.link.report_progress(
                    &self.instance,
                    &self.client_id,
                    &v.plan.volume,
                    v.done,
                )?;
                let percent = v.done * 100 / v.plan.total_bytes.max(1);
                while v.next_milestone <= 100 && percent >= v.next_milestone {
                    self.log(format!(
                        "{} -> {}: {}% ({} of {})",
                        v.plan.volume,
                        v.plan.device,
                        v.next_milestone,
                        Bytes(v.done),
                        Bytes(v.plan.total_bytes)
                    ));
                    v.next_milestone += 25;
                }
            }
        }
        Ok(())
    }

    /// Continuous replication: stay paired until the failback completes or is stopped.
    async fn continuous(&self) -> Result<(), String> {
        let mut tick = tokio::time::interval(HEARTBEAT);
        let mut launch_told = false;
        loop {
            self.next_tick(&mut tick).await?;
            let status = self.status()?;
            if let Some(job) = &status.failback_job_id
                && !launch_told
            {
                self.log(format!(
                    "Failback launch started by DRS (job {job}); finishing replication"
                ));
                launch_told = true;
            }
            match status.failback_state.as_str() {
                "FAILBACK_COMPLETED" => {
                    self.log("Failback complete. This machine can now boot from its own disks.");
                    return Ok(());
                }
                "FAILBACK_NOT_STARTED" => return Err("failback stopped from the console".into()),
                "FAILBACK_ERROR" => return Err("DRS reports a failback error".into()),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_chunks_are_spread_and_counted_exactly() {
        for (chunks, used) in [(8u64, 3u64), (10, 10), (7, 1), (1000, 37)] {
            let v_used: Vec<u64> = (0..chunks)
                .filter(|&i| chunk_is_used(i, chunks, used))
                .collect();
            assert_eq!(v_used.len() as u64, used);
            assert_eq!(v_used.first(), Some(&0));
        }
    }

    #[test]
    fn chunk_data_has_its_header_and_no_zero_bytes() {
        let filler = filler();
        let p = chunk_data(&filler, "i-0123456789abcdef0", "/dev/xvda", 1 << 20, 4096);
        assert_eq!(p.len(), 4096);
        assert!(p.starts_with(b"DRS-FAILBACK-DEMO i-0123456789abcdef0 /dev/xvda offset 1048576\n"));
        assert!(!p.contains(&0));
        assert_eq!(
            chunk_data(&filler, "i-0", "/dev/xvda", 0, CHUNK as usize).len() as u64,
            CHUNK
        );
        assert_eq!(chunk_data(&filler, "i-0", "/dev/xvda", 0, 5), b"DRS-F");
    }
}
