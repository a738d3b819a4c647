//! A stand-in for AWS's `failback_entry`, for the demo and the tests: the hidden
//! `drs-failback failback-client-standin` takes the official arguments and, like AWS's
//! program, talks to the service over HTTP (the emulator's private `*ForDrs` actions): it
//! pairs, sends the device mapping, writes each volume's content block by block into the
//! mapped targets, reports progress, follows the failback launch, and exits like
//! failback_entry: 0 failback done, 1 error (the reason in its log).

pub mod args;
pub mod devices;
mod service;

use std::io::{SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::time::{Instant, MissedTickBehavior};

use crate::domain::bytes::Bytes;
use crate::domain::fit::{Fit, fit};
use crate::domain::mapping::parse_mapping;
use crate::emulator::content::{BLOCK, VolumeContent};
use args::{Checked, StandinArgs};
use service::Service;

const TICK: Duration = Duration::from_millis(100);
/// How often the client checks in once replication is continuous.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// Where failback_entry logs when not told otherwise.
const DEFAULT_LOG: &str = "failback.log";

struct Log {
    file: Option<std::fs::File>,
    console: bool,
}

impl Log {
    fn line(&mut self, text: &str) {
        let stamp = crate::domain::time::iso8601(crate::domain::time::unix_seconds(
            std::time::SystemTime::now(),
        ) as i64);
        if let Some(f) = &mut self.file {
            // A full disk must not stop the failback; the console still has it.
            let _ = writeln!(f, "{stamp} {text}");
        }
        if self.console {
            println!("{text}");
        }
    }
}

/// Set in the stand-in's child, which only lives, as the JRE that AWS's wrapper starts does.
const JRE_ENV: &str = "DRS_FAILBACK_STANDIN_JRE";

/// The stand-in's child: like AWS's program, it is more than one process, and whatever ends
/// it must end them all (its children outlive a killed parent). Started without the
/// stand-in's arguments, so with no secret in its command line.
fn start_jre() -> Option<std::process::Child> {
    let program = std::env::current_exe().ok()?;
    std::process::Command::new(program)
        .arg("failback-client-standin")
        .env(JRE_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// Runs the stand-in; the exit code is failback_entry's.
pub async fn run(args: StandinArgs) -> u8 {
    if std::env::var_os(JRE_ENV).is_some() {
        return std::future::pending().await;
    }
    let mut jre = start_jre();
    let code = run_client(args).await;
    // Ended as it should: its child with it.
    if let Some(child) = jre.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    code
}

async fn run_client(args: StandinArgs) -> u8 {
    let path = args
        .log_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LOG));
    // The wizard's own rules: no symbolic link, no file of someone else's.
    let file = crate::process::open_log(Some(&path)).map(|(f, _)| f);
    if let Err(e) = &file {
        eprintln!("failback_entry: {e}");
    }
    let mut log = Log {
        file: file.ok(),
        console: args.log_console,
    };
    let root = std::env::var_os(devices::DEMO_DISKS_ENV).map(PathBuf::from);
    let result = match args.check() {
        Ok(checked) => {
            let mut client = Client::new(&checked, root, &mut log);
            client.run(&checked).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            log.line(&format!("ERROR: {e}"));
            if !log.console {
                eprintln!("failback_entry: {e} (see {})", path.display());
            }
            1
        }
    }
}

/// What the client learns each time it checks in.
struct Status {
    failback_state: String,
    replication_state: String,
    steps: Vec<(String, String)>,
    bytes_per_second: u64,
    failback_job_id: Option<String>,
}

impl Status {
    fn from_json(v: &Value) -> Status {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Status {
            failback_state: text("failbackState"),
            replication_state: text("dataReplicationState"),
            steps: v["steps"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            let f = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                            (f("name"), f("status"))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            bytes_per_second: v["bytesPerSecond"].as_u64().unwrap_or(0),
            failback_job_id: v["failbackJobID"].as_str().map(str::to_owned),
        }
    }
}

/// One target being filled.
struct Volume {
    content: VolumeContent,
    device: String,
    file: File,
    /// The target's size: what lies beyond it (the rounded-up tail of a fractional-GiB disk's
    /// volume) was never on the original disk, so it counts as replicated without a write.
    capacity: u64,
    /// Bytes replicated so far (written or skipped as sparse).
    done: u64,
    next_milestone: u64,
}

impl Volume {
    fn finished(&self) -> bool {
        self.done >= self.content.total_bytes
    }
}

struct Client<'a> {
    service: Service,
    root: Option<PathBuf>,
    log: &'a mut Log,
}

impl<'a> Client<'a> {
    fn new(c: &Checked, root: Option<PathBuf>, log: &'a mut Log) -> Self {
        Client {
            service: Service::new(
                &c.endpoint,
                &c.region,
                c.credentials.clone(),
                &c.recovery_instance_id,
            ),
            root,
            log,
        }
    }

    fn say(&mut self, text: impl AsRef<str>) {
        self.log.line(text.as_ref());
    }

    async fn run(&mut self, c: &Checked) -> Result<(), String> {
        self.say(format!(
            "Failback client (stand-in) starting: region {}, endpoint {}, recovery instance {}",
            c.region, c.endpoint, c.recovery_instance_id
        ));
        if let Some(root) = &self.root {
            self.say(format!(
                "Demo: local devices are the files in {}",
                root.display()
            ));
        }
        // Parsed before pairing: a typo must not leave a half-made pairing behind.
        let given = match &c.device_mapping {
            Some(text) => Some(parse_mapping(text).map_err(|e| format!("--device-mapping: {e}"))?),
            None => None,
        };
        self.say(format!(
            "Linking failback client with recovery instance {}",
            c.recovery_instance_id
        ));
        let answer = self
            .service
            .call("AssociateFailbackClientToRecoveryInstanceForDrs", json!({}))
            .await?;
        self.service.client_id = answer["failbackClientID"]
            .as_str()
            .ok_or("the service answered no failback client id")?
            .to_owned();
        let entries: Vec<(String, String)> = match given {
            Some(m) => m
                .entries
                .into_iter()
                .map(|(v, t)| (v, t.as_str().to_owned()))
                .collect(),
            None => self.suggested().await?,
        };
        let mut files = Vec::new();
        for (volume, local) in &entries {
            if local.eq_ignore_ascii_case("EXCLUDE") {
                self.say(format!("{volume} excluded"));
                continue;
            }
            let path = devices::resolve(local, c.value_format, self.root.as_deref())
                .map_err(|e| format!("{volume} -> {local}: {e}"))?;
            files.push(open_target(local, &path).await?);
        }
        let mapping: Vec<Value> = entries
            .iter()
            .map(|(v, l)| json!({"recoveryInstanceDeviceName": v, "failbackClientDeviceName": l}))
            .collect();
        self.say(format!(
            "Device mapping: {}",
            entries
                .iter()
                .map(|(v, l)| format!("{v}={l}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        let answer = self
            .service
            .call(
                "UpdateFailbackClientDeviceMappingForDrs",
                json!({"deviceMapping": mapping}),
            )
            .await?;
        let mut volumes = Vec::new();
        for (v, (file, capacity)) in answer["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .zip(files)
        {
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let number = |k: &str| v[k].as_u64().unwrap_or(0);
            let content = VolumeContent::new(
                &c.recovery_instance_id,
                &text("recoveryInstanceDeviceName"),
                number("totalStorageBytes"),
                number("usedStorageBytes"),
                number("contentSeed"),
            );
            let device = text("failbackClientDeviceName");
            if let Fit::TooSmall { short_by } = fit(Bytes(content.total_bytes), Bytes(capacity)) {
                return Err(format!(
                    "{device} holds {} but {} needs {} ({short_by} more)",
                    Bytes(capacity),
                    content.volume,
                    Bytes(content.total_bytes)
                ));
            }
            volumes.push(Volume {
                content,
                device,
                file,
                capacity,
                done: 0,
                next_milestone: 25,
            });
        }
        self.initiate().await?;
        for v in &volumes {
            let line = format!(
                "Replicating {} -> {} ({}, {} of data)",
                v.content.volume,
                v.device,
                Bytes(v.content.total_bytes),
                Bytes(v.content.used_bytes)
            );
            self.say(line);
        }
        self.replicate(&mut volumes).await?;
        for v in &mut volumes {
            v.file
                .sync_data()
                .await
                .map_err(|e| format!("cannot flush {}: {e}", v.device))?;
        }
        self.say("Initial sync complete; replication is continuous. Waiting for the failback launch (DRS console or API)");
        self.continuous().await
    }

    /// The service's mapping for the demo's disk files (no `--device-mapping` given).
    async fn suggested(&mut self) -> Result<Vec<(String, String)>, String> {
        let root = self.root.clone().ok_or(
            "--device-mapping is required: the stand-in does not detect this machine's disks",
        )?;
        let local: Vec<Value> = devices::demo_disks(&root)?
            .iter()
            .map(|(name, bytes)| json!({"deviceName": name, "bytes": bytes}))
            .collect();
        let answer = self
            .service
            .call(
                "GetSuggestedFailbackClientDeviceMappingForDrs",
                json!({"localDevices": local}),
            )
            .await?;
        let entries = answer["deviceMapping"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let f = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                        (
                            f("recoveryInstanceDeviceName"),
                            f("failbackClientDeviceName"),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        self.say("Using the device mapping the service suggested");
        Ok(entries)
    }

    async fn heartbeat(&self) -> Result<Status, String> {
        let v = self
            .service
            .call("SendClientMetricsForDrs", json!({}))
            .await?;
        Ok(Status::from_json(&v))
    }

    /// Waits for the service to walk the initiation steps, telling the operator about each.
    async fn initiate(&mut self) -> Result<(), String> {
        let mut told = 0;
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let status = self.heartbeat().await?;
            while told < status.steps.len() && status.steps[told].1 != "NOT_STARTED" {
                let line = step_line(&status.steps[told].0, &self.service.instance_id);
                self.say(line);
                told += 1;
            }
            if let Some((name, _)) = status.steps.iter().find(|(_, s)| s == "FAILED") {
                return Err(format!("initiation step {name} failed"));
            }
            if status.replication_state != "INITIATING" {
                return Ok(());
            }
        }
    }

    /// Initial sync: every volume in parallel, sharing the rate the service allows.
    async fn replicate(&mut self, volumes: &mut [Volume]) -> Result<(), String> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = Instant::now();
        let mut budget = 0.0f64;
        let mut held: Option<String> = None;
        let mut status = self.heartbeat().await?;
        while volumes.iter().any(|v| !v.finished()) {
            tick.tick().await;
            let elapsed = last.elapsed().as_secs_f64();
            last = Instant::now();
            let rate = status.bytes_per_second as f64;
            if rate == 0.0 {
                budget = 0.0;
                if held.as_deref() != Some(status.replication_state.as_str()) {
                    self.say(match status.replication_state.as_str() {
                        "DISCONNECTED" => "WARNING: lost the connection to the recovery instance (TCP 1500); retrying".to_string(),
                        "STALLED" => "WARNING: replication stalled; waiting for the recovery instance".to_string(),
                        other => format!("Replication paused ({other})"),
                    });
                    held = Some(status.replication_state.clone());
                }
                status = self.heartbeat().await?;
                continue;
            }
            if held.take().is_some() {
                self.say("Replication resumed");
            }
            // At most one second of catch-up, so a slow disk does not cause bursts.
            budget = (budget + rate * elapsed).min(rate.max(BLOCK as f64));
            'fill: loop {
                let mut progressed = false;
                for v in volumes.iter_mut().filter(|v| !v.finished()) {
                    let index = v.done / BLOCK;
                    let len = v.content.block_len(index);
                    if budget < len as f64 {
                        break 'fill;
                    }
                    let writable = len.min(v.capacity.saturating_sub(v.done));
                    if writable > 0 && v.content.is_data(index) {
                        write_block(v, index, writable).await?;
                    }
                    v.done += len;
                    budget -= len as f64;
                    progressed = true;
                }
                if !progressed {
                    break;
                }
            }
            let disks: Vec<Value> = volumes
                .iter()
                .map(|v| {
                    json!({
                        "deviceName": v.content.volume,
                        "replicatedStorageBytes": v.done,
                        "backloggedStorageBytes": 0,
                        "rescannedStorageBytes": 0,
                    })
                })
                .collect();
            let answer = self
                .service
                .call(
                    "UpdateAgentReplicationInfoForDrs",
                    json!({"replicatedDisks": disks}),
                )
                .await?;
            status = Status::from_json(&answer);
            for v in volumes.iter_mut() {
                let percent = v.done * 100 / v.content.total_bytes.max(1);
                if let Some(reached) = milestone_passed(&mut v.next_milestone, percent) {
                    self.log.line(&format!(
                        "{} -> {}: {reached}% ({} of {})",
                        v.content.volume,
                        v.device,
                        Bytes(v.done),
                        Bytes(v.content.total_bytes)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Continuous replication: stay paired until the failback completes or is stopped.
    async fn continuous(&mut self) -> Result<(), String> {
        let mut tick = tokio::time::interval(HEARTBEAT);
        let mut launch_told = false;
        loop {
            tick.tick().await;
            let status = self.heartbeat().await?;
            if let Some(job) = &status.failback_job_id
                && !launch_told
            {
                self.say(format!(
                    "Failback launch started by DRS (job {job}); finishing replication"
                ));
                launch_told = true;
            }
            match status.failback_state.as_str() {
                "FAILBACK_COMPLETED" => {
                    self.say("Failback complete. This machine can now boot from its own disks.");
                    return Ok(());
                }
                "FAILBACK_NOT_STARTED" => return Err("failback stopped from the console".into()),
                "FAILBACK_ERROR" => return Err("DRS reports a failback error".into()),
                _ => {}
            }
        }
    }
}

fn step_line(step: &str, instance: &str) -> String {
    match step {
        "LINK_FAILBACK_CLIENT_WITH_RECOVERY_INSTANCE" => {
            format!("Failback client linked with recovery instance {instance}")
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

/// Opens a target and measures it. Never creates or truncates: it must already exist.
async fn open_target(local: &str, path: &Path) -> Result<(File, u64), String> {
    let shown = path.display();
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| format!("cannot open {shown} for {local}: {e}"))?;
    // Seeking to the end measures block devices too (their metadata says 0 bytes).
    let capacity = file
        .seek(SeekFrom::End(0))
        .await
        .map_err(|e| format!("cannot measure {shown}: {e}"))?;
    Ok((file, capacity))
}

async fn write_block(v: &mut Volume, index: u64, len: u64) -> Result<(), String> {
    let offset = index * BLOCK;
    let data = v.content.data(index, len as usize);
    let device = v.device.clone();
    let io = |e: std::io::Error| format!("write to {device} at offset {offset} failed: {e}");
    v.file.seek(SeekFrom::Start(offset)).await.map_err(io)?;
    v.file.write_all(&data).await.map_err(io)?;
    // tokio's File completes writes in the background; flush waits for them.
    v.file.flush().await.map_err(io)
}

/// The highest quarter `percent` reached since the last one told (moving `next` past it):
/// a chunk that passes several is told once, with the bytes it really reached.
fn milestone_passed(next: &mut u64, percent: u64) -> Option<u64> {
    if *next > 100 || percent < *next {
        return None;
    }
    let reached = (percent.min(100) / 25) * 25;
    *next = reached + 25;
    Some(reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_passing_several_quarters_is_told_once_at_the_highest() {
        let mut next = 25;
        assert_eq!(milestone_passed(&mut next, 10), None);
        assert_eq!(milestone_passed(&mut next, 80), Some(75));
        assert_eq!(milestone_passed(&mut next, 99), None);
        assert_eq!(milestone_passed(&mut next, 100), Some(100));
        assert_eq!(milestone_passed(&mut next, 100), None);
    }
}
