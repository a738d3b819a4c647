//! The service's state and its clock-driven lifecycle.
//!
//! Time inside the engine is "scenario seconds" (`t`): real seconds since start times the
//! scenario's `time_scale`. Timestamps shown to clients are wall-clock: start + t / scale.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::content::VolumeContent;
use super::scenario::{HoldSpec, InstanceSpec, Scenario};
use crate::domain::model::FAILBACK_INITIATION_STEPS;
use crate::domain::time;

pub(crate) struct Engine {
    started: Instant,
    scale: f64,
    offset_seconds: i64,
    world: RwLock<World>,
}

impl Engine {
    pub fn new(scenario: Scenario) -> Engine {
        let offset_seconds = scenario.clock_offset_seconds;
        let start_unix = time::unix_seconds(SystemTime::now()) + offset_seconds as f64;
        Engine {
            started: Instant::now(),
            scale: scenario.time_scale,
            offset_seconds,
            world: RwLock::new(World::new(scenario, start_unix)),
        }
    }

    /// The server's wall clock (scenario clock offset applied), Unix seconds.
    pub fn server_now(&self) -> i64 {
        time::unix_seconds(SystemTime::now()).floor() as i64 + self.offset_seconds
    }

    fn t(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.scale
    }

    /// Runs `f` on the world brought up to the current scenario time.
    pub fn with<R>(&self, f: impl FnOnce(&mut World, f64) -> R) -> R {
        let t = self.t();
        // A panic elsewhere must not take the emulator down with it.
        let mut world = self.world.write().unwrap_or_else(|e| e.into_inner());
        world.advance(t);
        let r = f(&mut world, t);
        // Anything may have changed: cached answers are stale, the next due change may move.
        world.generation += 1;
        world.find_next_due();
        r
    }

    /// As `with` for what only reads: readers share the lock and do not wait for each other
    /// (the write lock is taken only when the clock has made something happen).
    pub fn read<R>(&self, f: impl FnOnce(&World, f64) -> R) -> R {
        let t = self.t();
        {
            let world = self.world.read().unwrap_or_else(|e| e.into_inner());
            if !world.due(t) {
                return f(&world, t);
            }
        }
        let t = self.with(|_, t| t);
        f(&self.world.read().unwrap_or_else(|e| e.into_inner()), t)
    }
}

pub(crate) struct World {
    pub scenario: Scenario,
    pub instances: Vec<Instance>,
    /// Oldest first; the index is the job's ordinal.
    pub jobs: Vec<Job>,
    /// Behind its own lock: reads count too.
    op_counts: Mutex<HashMap<String, u64>>,
    rng: u64,
    start_unix: f64,
    /// When the first failback client paired (scenario seconds): sessions may end after it.
    pub paired_at: Option<f64>,
    /// Bumped by every change: an instance's cached JSON is good for one generation.
    generation: u64,
    /// When `advance` next has something to do: a job's end (wall clock) and a hold's end
    /// (scenario time).
    due_wall: f64,
    due_t: f64,
}

/// An instance's JSON as last written, while nothing changed and the clock showed `second`.
struct CachedJson {
    generation: u64,
    second: i64,
    bytes: Vec<u8>,
}

pub(crate) struct Instance {
    pub spec: InstanceSpec,
    pub removed: bool,
    ec2_state: String,
    replication_state: String,
    replication_error: Option<String>,
    failback_state: String,
    failback_job_id: Option<String>,
    launch_type: Option<&'static str>,
    recovery_job_id: String,
    /// The client of a failback the scenario starts with (not ours).
    scenario_client_id: Option<String>,
    pub config: FailbackConfig,
    client: Option<ClientLink>,
    disconnected: bool,
    launched_unix: f64,
    /// Its DescribeRecoveryInstances JSON, written once per second while nothing changes.
    json: Mutex<Option<CachedJson>>,
}

impl Instance {
    /// A failback was started on it (its JSON then tells the time its agent was last seen).
    fn in_failback(&self) -> bool {
        self.failback_state != "FAILBACK_NOT_STARTED"
    }
}

pub(crate) struct FailbackConfig {
    pub name: String,
    pub bandwidth_mbps: u64,
    pub use_private_ip: bool,
}

struct ClientLink {
    id: String,
    /// When the client associated (failbackInitiationTime).
    associated_at: f64,
    /// When the device mapping arrived: the initiation steps run from here. None until then.
    mapped_at: Option<f64>,
    volumes: Vec<LinkedVolume>,
    first_byte: Option<f64>,
    last_seen: f64,
    hold: Option<Hold>,
    stall_fired: bool,
    disconnect_fired: bool,
    /// Failback launched and done: the link only remains to tell the client.
    completed: bool,
}

struct LinkedVolume {
    name: String,
    total: u64,
    replicated: u64,
    backlogged: u64,
    rescanned: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HoldKind {
    Stall,
    Disconnect,
}

#[derive(Clone, Copy)]
struct Hold {
    kind: HoldKind,
    until: f64,
}

pub(crate) struct Job {
    pub id: String,
    kind: &'static str,
    initiated_by: &'static str,
    /// Unix seconds, like every job time.
    pub created: f64,
    events: Vec<JobEvent>,
    end: f64,
    servers: Vec<usize>,
    tags: BTreeMap<String, String>,
    applied: bool,
    failed: bool,
}

struct JobEvent {
    at: f64,
    event: &'static str,
    /// The participating server the event is about; None for job-wide events.
    server: Option<usize>,
    conversion_server: Option<String>,
}

/// Why an operation on an instance was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotFound(String),
    Conflict(String, String),
    /// A request that cannot be right whatever the state (a volume mapped twice).
    Invalid(String),
}

/// A recovery-instance volume as the failback client learns it from its device mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MappedVolume {
    /// Recovery-instance device, e.g. `/dev/xvda`.
    pub volume: String,
    pub device: String,
    pub total_bytes: u64,
    /// Bytes holding data; the rest is sparse and never written.
    pub used_bytes: u64,
    pub content_seed: u64,
}

/// One disk's figures in a progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskReport {
    pub volume: String,
    pub replicated: u64,
    pub backlogged: u64,
    pub rescanned: u64,
}

/// What the failback client is told on each report and heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientStatus {
    pub failback_state: String,
    pub replication_state: String,
    /// (step name, status), in order.
    pub initiation_steps: Vec<(String, String)>,
    /// Bytes per real second the client may send now (0 while initiating, stalled or cut off).
    pub bytes_per_second: u64,
    pub failback_job_id: Option<String>,
}

const STATIC_CLIENT_SEEN_AGO: f64 = 4.0;

fn stopped(instance_id: &str) -> String {
    format!(
        "This failback client is no longer paired with recovery instance {instance_id}: failback stopped from the console"
    )
}

fn raw_error(error: &str) -> &'static str {
    match error {
        "FAILBACK_CLIENT_NOT_SEEN" => {
            "The failback client has not been seen by the service; check its network connection"
        }
        "AGENT_NOT_SEEN" => "The agent on the recovery instance has not been seen by the service",
        "UNSTABLE_NETWORK" => "Network instability is preventing data replication",
        "NOT_CONVERGING" => "Replication is not converging: the write rate exceeds the bandwidth",
        _ => "Data replication failed",
    }
}

fn fraction(total: u64, percent: f64) -> u64 {
    (total as f64 * percent / 100.0).round().min(total as f64) as u64
}

impl World {
    pub(crate) fn new(scenario: Scenario, start_unix: f64) -> World {
        let mut world = World {
            instances: Vec::new(),
            jobs: Vec::new(),
            op_counts: Mutex::default(),
            rng: scenario.seed ^ 0x5eed_d125_fa11_bacc,
            start_unix,
            paired_at: None,
            scenario,
            generation: 0,
            due_wall: f64::INFINITY,
            due_t: f64::INFINITY,
        };
        // Moved, not copied: 20,000 instances are held once.
        for spec in std::mem::take(&mut world.scenario.instances) {
            let scenario_client_id =
                (spec.failback_state != "FAILBACK_NOT_STARTED").then(|| world.uuid());
            world.instances.push(Instance {
                ec2_state: spec.ec2_state.clone(),
                replication_state: spec.replication_state.clone(),
                replication_error: spec.error.clone(),
                failback_state: spec.failback_state.clone(),
                failback_job_id: None,
                launch_type: None,
                recovery_job_id: String::new(),
                scenario_client_id,
                config: FailbackConfig {
                    name: spec.hostname.clone().unwrap_or_else(|| spec.id.clone()),
                    bandwidth_mbps: 0,
                    use_private_ip: false,
                },
                client: None,
                disconnected: false,
                removed: false,
                launched_unix: start_unix - spec.launched_hours_ago * 3600.0,
                json: Mutex::default(),
                spec,
            });
        }
        // The recovery jobs that created the instances, oldest first.
        let mut order: Vec<usize> = (0..world.instances.len()).collect();
        order.sort_by(|a, b| {
            world.instances[*a]
                .launched_unix
                .total_cmp(&world.instances[*b].launched_unix)
        });
        for idx in order {
            let l = world.instances[idx].launched_unix;
            let drill = world.instances[idx].spec.is_drill;
            let conversion = world.ec2_id();
            let steps = [
                (-1500.0, "JOB_START", false),
                (-1480.0, "SNAPSHOT_START", true),
                (-1400.0, "SNAPSHOT_END", true),
                (-1390.0, "CONVERSION_START", true),
                (-700.0, "CONVERSION_END", true),
                (-690.0, "LAUNCH_START", true),
                (-600.0, "JOB_END", false),
            ];
            let id = world.job_id();
            world.instances[idx].recovery_job_id = id.clone();
            world.jobs.push(Job {
                id,
                kind: "LAUNCH",
                initiated_by: if drill {
                    "START_DRILL"
                } else {
                    "START_RECOVERY"
                },
                created: l - 1510.0,
                events: steps
                    .iter()
                    .map(|(at, event, per_server)| JobEvent {
                        at: l + at,
                        event,
                        server: per_server.then_some(idx),
                        conversion_server: event
                            .starts_with("CONVERSION")
                            .then(|| conversion.clone()),
                    })
                    .collect(),
                end: l - 600.0,
                servers: vec![idx],
                tags: BTreeMap::new(),
                applied: true,
                failed: false,
            });
        }
        world.find_next_due();
        world
    }

    // ---- ids (deterministic: splitmix64 seeded by the scenario) ----

    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn random_string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.next_random() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    fn job_id(&mut self) -> String {
        format!(
            "drsjob-{}",
            self.random_string(b"0123456789abcdefghijklmnopqrstuvwxyz", 17)
        )
    }

    fn ec2_id(&mut self) -> String {
        format!("i-{}", self.random_string(b"0123456789abcdef", 17))
    }

    fn uuid(&mut self) -> String {
        let h = self.random_string(b"0123456789abcdef", 32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }

    // ---- time ----

    fn wall(&self, t: f64) -> f64 {
        self.start_unix + t / self.scenario.time_scale
    }

    fn iso_at(&self, t: f64) -> String {
        time::iso8601(self.wall(t).floor() as i64)
    }

    fn real_seconds(&self, scenario_seconds: f64) -> u64 {
        (scenario_seconds / self.scenario.time_scale)
            .max(0.0)
            .round() as u64
    }

    fn initiation_total(&self) -> f64 {
        self.scenario.timings.initiation_steps.iter().sum()
    }

    /// Applies whatever the clock has made happen: finished jobs, ended faults.
    fn advance(&mut self, t: f64) {
        let now = self.wall(t);
        for j in 0..self.jobs.len() {
            if self.jobs[j].applied || now < self.jobs[j].end {
                continue;
            }
            self.jobs[j].applied = true;
            let (kind, servers) = (self.jobs[j].kind, self.jobs[j].servers.clone());
            for idx in servers {
                let inst = &mut self.instances[idx];
                match kind {
                    "LAUNCH" => {
                        inst.failback_state = "FAILBACK_COMPLETED".into();
                        inst.replication_state = "STOPPED".into();
                        inst.replication_error = None;
                        if let Some(c) = inst.client.as_mut() {
                            c.completed = true;
                        }
                    }
                    _ => {
                        inst.ec2_state = "TERMINATED".into();
                        inst.removed = true;
                        inst.client = None;
                    }
                }
            }
        }
        for inst in &mut self.instances {
            if let Some(c) = inst.client.as_mut()
                && c.hold.is_some_and(|h| t >= h.until)
            {
                c.hold = None;
            }
        }
    }

    /// True when `advance` has something to do at `t`.
    fn due(&self, t: f64) -> bool {
        self.wall(t) >= self.due_wall || t >= self.due_t
    }

    fn find_next_due(&mut self) {
        self.due_wall = self
            .jobs
            .iter()
            .filter(|j| !j.applied)
            .map(|j| j.end)
            .fold(f64::INFINITY, f64::min);
        self.due_t = self
            .instances
            .iter()
            .filter_map(|i| i.client.as_ref()?.hold.map(|h| h.until))
            .fold(f64::INFINITY, f64::min);
    }

    /// Appends instance `idx`'s JSON to `out`: from its cache while nothing changed in this
    /// second (a live failback's figures move all the time: never cached).
    pub fn write_instance_json(&self, idx: usize, t: f64, out: &mut Vec<u8>) {
        let inst = &self.instances[idx];
        let live = inst.client.as_ref().is_some_and(|c| !c.completed);
        // Only an instance in failback shows the clock (its agent seen a second ago): the JSON
        // of the others holds until something changes, and is not built again each second
        // (100 of them were 4 ms, during which the page's other readers waited on them).
        let second = if inst.in_failback() {
            self.wall(t).floor() as i64
        } else {
            i64::MIN
        };
        let mut cache = inst.json.lock().unwrap_or_else(|e| e.into_inner());
        match cache.as_ref() {
            Some(c) if !live && c.generation == self.generation && c.second == second => {
                out.extend_from_slice(&c.bytes);
            }
            _ => {
                let bytes = serde_json::to_vec(&self.instance_json(idx, t)).unwrap_or_default();
                out.extend_from_slice(&bytes);
                if !live {
                    *cache = Some(CachedJson {
                        generation: self.generation,
                        second,
                        bytes,
                    });
                }
            }
        }
    }

    /// Counts a request to `op`; the count decides scripted faults.
    pub fn count_request(&self, op: &str) -> u64 {
        let mut counts = self.op_counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(op.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    // ---- lookups ----

    /// Index of a listed (not terminated) instance.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.instances
            .iter()
            .position(|i| i.spec.id == id && !i.removed)
    }

    fn require(&self, id: &str) -> Result<usize, Refusal> {
        self.find(id)
            .ok_or_else(|| Refusal::NotFound(id.to_string()))
    }

    fn running_launch_job(&self, idx: usize) -> Option<&Job> {
        let id = self.instances[idx].failback_job_id.as_deref()?;
        self.jobs.iter().find(|j| j.id == id && !j.applied)
    }

    fn terminating(&self, idx: usize) -> bool {
        self.jobs
            .iter()
            .any(|j| j.kind == "TERMINATE" && !j.applied && j.servers.contains(&idx))
    }

    fn percent(c: &ClientLink) -> f64 {
        let total: u64 = c.volumes.iter().map(|v| v.total).sum();
        let done: u64 = c.volumes.iter().map(|v| v.replicated).sum();
        if total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / total as f64
        }
    }

    /// The live state of an instance paired with our failback client.
    /// The scripted fault the client's next check-in trips, if one is due.
    fn due_fault(&self, idx: usize, c: &ClientLink, t: f64) -> Option<(HoldKind, HoldSpec)> {
        let mapped_at = c.mapped_at?;
        if c.hold.is_some() || t - mapped_at < self.initiation_total() {
            return None;
        }
        let spec = &self.instances[idx].spec;
        let percent = Self::percent(c);
        let due =
            |h: Option<HoldSpec>, fired: bool| h.filter(|h| !fired && percent >= h.at_percent);
        due(spec.stall, c.stall_fired)
            .map(|h| (HoldKind::Stall, h))
            .or_else(|| due(spec.disconnect, c.disconnect_fired).map(|h| (HoldKind::Disconnect, h)))
    }

    fn link_view(&self, idx: usize, c: &ClientLink, t: f64) -> LinkView {
        let Some(mapped_at) = c.mapped_at else {
            // Associated, waiting for the device mapping.
            let steps = FAILBACK_INITIATION_STEPS
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        *n,
                        ["SUCCEEDED", "IN_PROGRESS"]
                            .get(i)
                            .copied()
                            .unwrap_or("NOT_STARTED"),
                    )
                })
                .collect();
            return LinkView {
                state: "INITIATING",
                error: None,
                steps,
                failback_state: "FAILBACK_IN_PROGRESS",
            };
        };
        let elapsed = t - mapped_at;
        let mut steps = Vec::new();
        let mut start = 0.0;
        for (name, d) in FAILBACK_INITIATION_STEPS
            .iter()
            .zip(&self.scenario.timings.initiation_steps)
        {
            let status = if elapsed >= start + d {
                "SUCCEEDED"
            } else if elapsed >= start {
                "IN_PROGRESS"
            } else {
                "NOT_STARTED"
            };
            steps.push((*name, status));
            start += d;
        }
        let complete = c.volumes.iter().all(|v| v.replicated >= v.total);
        let (state, error) = if elapsed < self.initiation_total() {
            ("INITIATING", None)
        } else {
            match c.hold.map(|h| h.kind) {
                Some(HoldKind::Stall) => ("STALLED", Some("UNSTABLE_NETWORK")),
                Some(HoldKind::Disconnect) => ("DISCONNECTED", Some("FAILBACK_CLIENT_NOT_SEEN")),
                // A fault still due has not happened yet: not ready before it has.
                None if complete && self.due_fault(idx, c, t).is_none() => ("CONTINUOUS", None),
                None => ("INITIAL_SYNC", None),
            }
        };
        LinkView {
            state,
            error,
            steps,
            failback_state: if state == "CONTINUOUS" {
                "FAILBACK_READY_FOR_LAUNCH"
            } else {
                "FAILBACK_IN_PROGRESS"
            },
        }
    }

    fn effective_rate(&self, idx: usize) -> u64 {
        let inst = &self.instances[idx];
        match inst.config.bandwidth_mbps {
            0 => inst.spec.rate,
            mbps => inst.spec.rate.min(mbps.saturating_mul(125_000)),
        }
    }

    /// failback.state as DescribeRecoveryInstances shows it now.
    pub fn failback_state(&self, idx: usize, t: f64) -> String {
        let inst = &self.instances[idx];
        match &inst.client {
            Some(c) if !c.completed => self.link_view(idx, c, t).failback_state.into(),
            _ => inst.failback_state.clone(),
        }
    }

    // ---- the failback client's actions ----

    /// Pairs a new failback client with the instance (any earlier client loses its pairing).
    pub fn associate(&mut self, t: f64, instance_id: &str) -> Result<String, Refusal> {
        let idx = self.require(instance_id)?;
        let inst = &self.instances[idx];
        let conflict = |m: String| Err(Refusal::Conflict(instance_id.to_string(), m));
        if inst.disconnected {
            return conflict(format!(
                "Recovery instance {instance_id} was disconnected from DRS"
            ));
        }
        if inst.ec2_state != "RUNNING" || self.terminating(idx) {
            return conflict(format!(
                "Recovery instance {instance_id} is {}; failback needs it running",
                inst.ec2_state
            ));
        }
        if self.running_launch_job(idx).is_some() {
            return conflict(format!(
                "A failback launch job is running for recovery instance {instance_id}"
            ));
        }
        let client_id = self.uuid();
        self.paired_at.get_or_insert(t);
        let inst = &mut self.instances[idx];
        inst.client = Some(ClientLink {
            id: client_id.clone(),
            associated_at: t,
            mapped_at: None,
            volumes: Vec::new(),
            first_byte: None,
            last_seen: t,
            hold: None,
            stall_fired: false,
            disconnect_fired: false,
            completed: false,
        });
        inst.failback_job_id = None;
        inst.launch_type = None;
        inst.replication_error = None;
        Ok(client_id)
    }

    /// Takes the client's device mapping, (recovery volume, local device); answers what each
    /// mapped volume holds. Unmapped volumes are excluded.
    pub fn map_devices(
        &mut self,
        t: f64,
        instance_id: &str,
        client_id: &str,
        mapping: &[(String, String)],
    ) -> Result<Vec<MappedVolume>, Refusal> {
        let idx = self.client_index(instance_id, client_id)?;
        let inst = &self.instances[idx];
        if mapping.is_empty() {
            return Err(Refusal::Invalid("The device mapping maps no volume".into()));
        }
        let mut volumes = Vec::new();
        for (i, (volume, device)) in mapping.iter().enumerate() {
            let spec = inst
                .spec
                .volumes
                .iter()
                .find(|v| &v.device == volume)
                .ok_or_else(|| {
                    Refusal::Invalid(format!(
                        "Recovery instance {instance_id} has no volume {volume}"
                    ))
                })?;
            if mapping[..i].iter().any(|(v, _)| v == volume) {
                return Err(Refusal::Invalid(format!("Volume {volume} is mapped twice")));
            }
            if mapping[..i].iter().any(|(_, d)| d == device) {
                return Err(Refusal::Invalid(format!(
                    "Local device {device} is the target of two volumes"
                )));
            }
            volumes.push(MappedVolume {
                volume: volume.clone(),
                device: device.clone(),
                total_bytes: spec.bytes,
                used_bytes: spec.used_bytes,
                content_seed: spec.content_seed,
            });
        }
        let Some(c) = self.instances[idx].client.as_mut() else {
            return Err(Refusal::Conflict(instance_id.into(), stopped(instance_id)));
        };
        if c.mapped_at.is_some() {
            return Err(Refusal::Conflict(
                instance_id.into(),
                "The device mapping is already set for this failback client".into(),
            ));
        }
        c.mapped_at = Some(t);
        c.last_seen = t;
        c.volumes = volumes
            .iter()
            .map(|v| LinkedVolume {
                name: v.volume.clone(),
                total: v.total_bytes,
                replicated: 0,
                backlogged: 0,
                rescanned: 0,
            })
            .collect();
        Ok(volumes)
    }

    /// What a volume holds, for the content check.
    pub fn volume_content(&self, instance_id: &str, volume: &str) -> Option<VolumeContent> {
        let inst = self.instances.iter().find(|i| i.spec.id == instance_id)?;
        let v = inst.spec.volumes.iter().find(|v| v.device == volume)?;
        Some(VolumeContent::new(
            instance_id,
            volume,
            v.bytes,
            v.used_bytes,
            v.content_seed,
        ))
    }

    /// The paired client's link, or why there is none any more.
    fn client_index(&self, instance_id: &str, client_id: &str) -> Result<usize, Refusal> {
        let idx = self.require(instance_id)?;
        let inst = &self.instances[idx];
        if inst.disconnected {
            return Err(Refusal::Conflict(
                instance_id.into(),
                format!("Recovery instance {instance_id} was disconnected from DRS"),
            ));
        }
        match &inst.client {
            Some(c) if c.id == client_id => Ok(idx),
            _ => Err(Refusal::Conflict(instance_id.into(), stopped(instance_id))),
        }
    }

    /// The client was seen: refresh last-seen (unless cut off) and fire scripted faults.
    fn touch(&mut self, idx: usize, t: f64) {
        let due = match self.instances[idx].client.as_ref() {
            Some(c) if !c.completed => self.due_fault(idx, c, t),
            _ => None,
        };
        let Some(c) = self.instances[idx].client.as_mut() else {
            return;
        };
        // The request that trips a cut-off was itself seen.
        if c.completed || c.hold.map(|h| h.kind) != Some(HoldKind::Disconnect) {
            c.last_seen = t;
        }
        if let Some((kind, h)) = due {
            match kind {
                HoldKind::Stall => c.stall_fired = true,
                HoldKind::Disconnect => c.disconnect_fired = true,
            }
            c.hold = Some(Hold {
                kind,
                until: t + h.seconds,
            });
        }
    }

    /// The client checked in: counts as seen; answers what it should do now.
    pub fn client_status(
        &mut self,
        t: f64,
        instance_id: &str,
        client_id: &str,
    ) -> Result<ClientStatus, Refusal> {
        let idx = self.client_index(instance_id, client_id)?;
        self.touch(idx, t);
        let inst = &self.instances[idx];
        let Some(c) = inst.client.as_ref() else {
            return Err(Refusal::Conflict(instance_id.into(), stopped(instance_id)));
        };
        if c.completed {
            return Ok(ClientStatus {
                failback_state: inst.failback_state.clone(),
                replication_state: inst.replication_state.clone(),
                initiation_steps: Vec::new(),
                bytes_per_second: 0,
                failback_job_id: inst.failback_job_id.clone(),
            });
        }
        let view = self.link_view(idx, c, t);
        let sending = matches!(view.state, "INITIAL_SYNC" | "CONTINUOUS");
        let bytes_per_second = if sending {
            (self.effective_rate(idx) as f64 * self.scenario.time_scale).min(u64::MAX as f64) as u64
        } else {
            0
        };
        Ok(ClientStatus {
            failback_state: view.failback_state.into(),
            replication_state: view.state.into(),
            initiation_steps: view
                .steps
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
            bytes_per_second,
            failback_job_id: inst.failback_job_id.clone(),
        })
    }

    /// Takes the client's figures for its disks; each only grows (a late report cannot undo).
    pub fn report_progress(
        &mut self,
        t: f64,
        instance_id: &str,
        client_id: &str,
        disks: &[DiskReport],
    ) -> Result<(), Refusal> {
        let idx = self.client_index(instance_id, client_id)?;
        let Some(c) = self.instances[idx].client.as_mut() else {
            return Err(Refusal::Conflict(instance_id.into(), stopped(instance_id)));
        };
        for d in disks {
            let v = c
                .volumes
                .iter_mut()
                .find(|v| v.name == d.volume)
                .ok_or_else(|| {
                    Refusal::Invalid(format!("Volume {} is not part of this failback", d.volume))
                })?;
            v.replicated = v.replicated.max(d.replicated.min(v.total));
            v.backlogged = d.backlogged;
            v.rescanned = d.rescanned;
            if c.first_byte.is_none() && d.replicated > 0 {
                c.first_byte = Some(t);
            }
        }
        self.touch(idx, t);
        Ok(())
    }

    // ---- public operations ----

    pub fn start_failback_launch(
        &mut self,
        t: f64,
        ids: &[String],
        tags: BTreeMap<String, String>,
    ) -> Result<Value, Refusal> {
        let mut servers = Vec::new();
        for id in ids {
            let idx = self.require(id)?;
            if self.running_launch_job(idx).is_some() {
                return Err(Refusal::Conflict(
                    id.clone(),
                    format!("A failback launch job is already running for recovery instance {id}"),
                ));
            }
            let state = self.failback_state(idx, t);
            if state != "FAILBACK_READY_FOR_LAUNCH" {
                return Err(Refusal::Conflict(
                    id.clone(),
                    format!(
                        "Recovery instance {id} is not ready for failback launch (failback state {state})"
                    ),
                ));
            }
            if !servers.contains(&idx) {
                servers.push(idx);
            }
        }
        let duration = self.scenario.timings.launch_job_seconds / self.scenario.time_scale;
        let created = self.wall(t);
        let mut events = vec![(0.05, "JOB_START", false)];
        events.extend([
            (0.10, "SNAPSHOT_START", true),
            (0.30, "SNAPSHOT_END", true),
            (0.35, "CONVERSION_START", true),
            (0.70, "CONVERSION_END", true),
            (0.75, "LAUNCH_START", true),
        ]);
        let conversion = self.ec2_id();
        let mut job_events = Vec::new();
        for (at, event, per_server) in events {
            if per_server {
                for &s in &servers {
                    let conversion_server =
                        event.starts_with("CONVERSION").then(|| conversion.clone());
                    job_events.push(JobEvent {
                        at: created + at * duration,
                        event,
                        server: Some(s),
                        conversion_server,
                    });
                }
            } else {
                job_events.push(JobEvent {
                    at: created + at * duration,
                    event,
                    server: None,
                    conversion_server: None,
                });
            }
        }
        job_events.push(JobEvent {
            at: created + duration,
            event: "JOB_END",
            server: None,
            conversion_server: None,
        });
        let id = self.job_id();
        for &s in &servers {
            let inst = &mut self.instances[s];
            inst.failback_job_id = Some(id.clone());
            inst.launch_type = Some(if inst.spec.is_drill {
                "DRILL"
            } else {
                "RECOVERY"
            });
        }
        self.jobs.push(Job {
            id,
            kind: "LAUNCH",
            initiated_by: "FAILBACK",
            created,
            events: job_events,
            end: created + duration,
            servers,
            tags,
            applied: false,
            failed: false,
        });
        Ok(self.job_json(self.jobs.len() - 1, t))
    }

    pub fn stop_failback(&mut self, t: f64, id: &str) -> Result<(), Refusal> {
        let idx = self.require(id)?;
        let now = self.wall(t);
        if let Some(job_id) = self.running_launch_job(idx).map(|j| j.id.clone())
            && let Some(job) = self.jobs.iter_mut().find(|j| j.id == job_id)
        {
            job.events.retain(|e| e.at <= now);
            for (event, server) in [("JOB_CANCEL", None), ("JOB_END", None)] {
                job.events.push(JobEvent {
                    at: now,
                    event,
                    server,
                    conversion_server: None,
                });
            }
            job.end = now;
            job.applied = true;
            job.failed = true;
        }
        let inst = &mut self.instances[idx];
        inst.client = None;
        inst.failback_state = "FAILBACK_NOT_STARTED".into();
        inst.replication_state = "STOPPED".into();
        inst.replication_error = None;
        inst.scenario_client_id = None;
        Ok(())
    }

    pub fn terminate(&mut self, t: f64, ids: &[String]) -> Result<Value, Refusal> {
        let mut servers = Vec::new();
        for id in ids {
            let idx = self.require(id)?;
            if self.terminating(idx) {
                return Err(Refusal::Conflict(
                    id.clone(),
                    format!("Recovery instance {id} is already being terminated"),
                ));
            }
            if self.running_launch_job(idx).is_some() {
                return Err(Refusal::Conflict(
                    id.clone(),
                    format!("Recovery instance {id} has a failback launch job running"),
                ));
            }
            if !servers.contains(&idx) {
                servers.push(idx);
            }
        }
        let duration = self.scenario.timings.terminate_job_seconds / self.scenario.time_scale;
        let created = self.wall(t);
        let mut events = vec![JobEvent {
            at: created + 0.1 * duration,
            event: "JOB_START",
            server: None,
            conversion_server: None,
        }];
        for (at, event) in [(0.2, "CLEANUP_START"), (0.9, "CLEANUP_END")] {
            events.extend(servers.iter().map(|&s| JobEvent {
                at: created + at * duration,
                event,
                server: Some(s),
                conversion_server: None,
            }));
        }
        events.push(JobEvent {
            at: created + duration,
            event: "JOB_END",
            server: None,
            conversion_server: None,
        });
        for &s in &servers {
            let inst = &mut self.instances[s];
            inst.ec2_state = "SHUTTING-DOWN".into();
            inst.client = None;
        }
        let id = self.job_id();
        self.jobs.push(Job {
            id,
            kind: "TERMINATE",
            initiated_by: "TERMINATE_RECOVERY_INSTANCES",
            created,
            events,
            end: created + duration,
            servers,
            tags: BTreeMap::new(),
            applied: false,
            failed: false,
        });
        Ok(self.job_json(self.jobs.len() - 1, t))
    }

    pub fn disconnect(&mut self, id: &str) -> Result<(), Refusal> {
        let idx = self.require(id)?;
        if self.running_launch_job(idx).is_some() {
            return Err(Refusal::Conflict(
                id.to_string(),
                format!("Recovery instance {id} has a failback launch job running"),
            ));
        }
        let inst = &mut self.instances[idx];
        inst.disconnected = true;
        inst.client = None;
        inst.scenario_client_id = None;
        inst.replication_state = "DISCONNECTED".into();
        inst.replication_error = None;
        inst.failback_state = "FAILBACK_NOT_STARTED".into();
        Ok(())
    }

    pub fn config(&mut self, id: &str) -> Result<&mut FailbackConfig, Refusal> {
        let idx = self.require(id)?;
        Ok(&mut self.instances[idx].config)
    }

    // ---- rendering ----

    fn arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:drs:{}:{}:{kind}/{id}",
            self.scenario.region, self.scenario.account_id
        )
    }

    pub fn instance_arn(&self, id: &str) -> String {
        self.arn("recovery-instance", id)
    }

    fn hints(spec: &InstanceSpec) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("hostname", &spec.hostname),
            ("fqdn", &spec.fqdn),
            ("vmWareUuid", &spec.vmware_uuid),
            ("awsInstanceID", &spec.aws_instance_id),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }

    fn nics(spec: &InstanceSpec) -> Value {
        spec.nics
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"macAddress": n.mac, "ips": n.ips, "isPrimary": i == 0}))
            .collect()
    }

    fn cpus(spec: &InstanceSpec) -> Value {
        json!([{"cores": spec.cpus, "modelName": spec.cpu_model}])
    }

    pub fn instance_json(&self, idx: usize, t: f64) -> Value {
        let inst = &self.instances[idx];
        let spec = &inst.spec;
        let now = self.wall(t);
        let iso = |unix: f64| time::iso8601(unix.floor() as i64);
        let all_succeeded = || {
            FAILBACK_INITIATION_STEPS
                .iter()
                .map(|n| json!({"name": n, "status": "SUCCEEDED"}))
                .collect::<Vec<_>>()
        };

        let mut replication = Map::new();
        let mut failback = Map::new();
        let state: String;
        let error: Option<&str>;
        match inst.client.as_ref().filter(|c| !c.completed) {
            Some(c) => {
                let view = self.link_view(idx, c, t);
                state = view.state.into();
                error = view.error;
                replication.insert(
                    "dataReplicationInitiation".into(),
                    json!({
                        "startDateTime": self.iso_at(c.mapped_at.unwrap_or(c.associated_at)),
                        "steps": view.steps.iter().map(|(n, s)| json!({"name": n, "status": s})).collect::<Vec<_>>(),
                    }),
                );
                replication.insert(
                    "replicatedDisks".into(),
                    c.volumes
                        .iter()
                        .map(|v| {
                            json!({
                                "deviceName": v.name,
                                "totalStorageBytes": v.total,
                                "replicatedStorageBytes": v.replicated,
                                "backloggedStorageBytes": v.backlogged,
                                "rescannedStorageBytes": v.rescanned,
                            })
                        })
                        .collect(),
                );
                let remaining: u64 = c
                    .volumes
                    .iter()
                    .map(|v| v.total.saturating_sub(v.replicated))
                    .sum();
                if matches!(view.state, "INITIAL_SYNC" | "STALLED" | "DISCONNECTED") {
                    let eta = t + remaining as f64 / self.effective_rate(idx).max(1) as f64;
                    replication.insert("etaDateTime".into(), json!(self.iso_at(eta)));
                    replication.insert(
                        "lagDuration".into(),
                        json!(time::iso_duration(self.real_seconds(t - c.associated_at))),
                    );
                } else if view.state == "CONTINUOUS" {
                    replication.insert("lagDuration".into(), json!("PT0S"));
                }
                failback.insert("state".into(), json!(view.failback_state));
                failback.insert("failbackClientID".into(), json!(c.id));
                failback.insert(
                    "failbackInitiationTime".into(),
                    json!(self.iso_at(c.associated_at)),
                );
                failback.insert(
                    "failbackClientLastSeenByServiceDateTime".into(),
                    json!(self.iso_at(c.last_seen)),
                );
                failback.insert("agentLastSeenByServiceDateTime".into(), json!(iso(now)));
                if let Some(first) = c.first_byte {
                    failback.insert("firstByteDateTime".into(), json!(self.iso_at(first)));
                    failback.insert(
                        "elapsedReplicationDuration".into(),
                        json!(time::iso_duration(self.real_seconds(t - first))),
                    );
                }
            }
            None => {
                state = inst.replication_state.clone();
                error = inst.replication_error.as_deref();
                let progress = match state.as_str() {
                    "CONTINUOUS" | "BACKLOG" | "CREATING_SNAPSHOT" => Some(100.0),
                    "INITIAL_SYNC" | "STALLED" | "RESCAN" | "PAUSED" => Some(spec.progress_percent),
                    "DISCONNECTED" if !inst.disconnected => Some(spec.progress_percent),
                    _ => None,
                };
                let disks: Vec<Value> = match progress {
                    Some(p) => spec
                        .volumes
                        .iter()
                        .map(|v| {
                            json!({
                                "deviceName": v.device,
                                "totalStorageBytes": v.bytes,
                                "replicatedStorageBytes": fraction(v.bytes, p),
                                "backloggedStorageBytes": 0,
                                "rescannedStorageBytes": 0,
                            })
                        })
                        .collect(),
                    // AWS zeroes the totals of a disconnected instance.
                    None if inst.disconnected => spec
                        .volumes
                        .iter()
                        .map(|v| json!({"deviceName": v.device, "totalStorageBytes": 0, "replicatedStorageBytes": 0, "backloggedStorageBytes": 0, "rescannedStorageBytes": 0}))
                        .collect(),
                    None => Vec::new(),
                };
                replication.insert("replicatedDisks".into(), Value::Array(disks));
                let in_failback = inst.in_failback();
                let client_id = inst
                    .client
                    .as_ref()
                    .map(|c| c.id.clone())
                    .or(inst.scenario_client_id.clone());
                if in_failback && let Some(client_id) = client_id {
                    let initiated = inst.launched_unix + 7200.0;
                    replication.insert(
                        "dataReplicationInitiation".into(),
                        json!({"startDateTime": iso(initiated), "steps": all_succeeded()}),
                    );
                    if state == "CONTINUOUS" {
                        replication.insert("lagDuration".into(), json!("PT0S"));
                    }
                    let seen = match (&inst.client, error) {
                        (Some(c), _) => self.wall(c.last_seen),
                        (None, Some("FAILBACK_CLIENT_NOT_SEEN")) => initiated + 5400.0,
                        (None, _) => now - STATIC_CLIENT_SEEN_AGO,
                    };
                    failback.insert("failbackClientID".into(), json!(client_id));
                    failback.insert("failbackInitiationTime".into(), json!(iso(initiated)));
                    failback.insert(
                        "failbackClientLastSeenByServiceDateTime".into(),
                        json!(iso(seen)),
                    );
                    failback.insert(
                        "agentLastSeenByServiceDateTime".into(),
                        json!(iso(now - 1.0)),
                    );
                    failback.insert("firstByteDateTime".into(), json!(iso(initiated + 60.0)));
                }
                failback.insert("state".into(), json!(inst.failback_state));
            }
        }
        replication.insert("dataReplicationState".into(), json!(state));
        replication.insert(
            "stagingAvailabilityZone".into(),
            json!(spec.staging_availability_zone),
        );
        if let Some(e) = error {
            replication.insert(
                "dataReplicationError".into(),
                json!({"error": e, "rawError": raw_error(e)}),
            );
        }
        if let Some(job) = &inst.failback_job_id {
            failback.insert("failbackJobID".into(), json!(job));
        }
        if let Some(kind) = inst.launch_type {
            failback.insert("failbackLaunchType".into(), json!(kind));
        }

        let mut out = json!({
            "recoveryInstanceID": spec.id,
            "ec2InstanceID": spec.id,
            "ec2InstanceState": inst.ec2_state,
            "jobID": inst.recovery_job_id,
            "sourceServerID": spec.source_server_id,
            "arn": self.instance_arn(&spec.id),
            "tags": spec.tags,
            "isDrill": spec.is_drill,
            "pointInTimeSnapshotDateTime": iso(inst.launched_unix - 2100.0),
            "originEnvironment": spec.origin,
            "agentVersion": spec.agent_version,
            "recoveryInstanceProperties": {
                "lastUpdatedDateTime": iso(inst.launched_unix + 300.0),
                "identificationHints": Self::hints(spec),
                "networkInterfaces": Self::nics(spec),
                "disks": spec.volumes.iter().map(|v| json!({
                    "internalDeviceName": v.device,
                    "bytes": v.bytes,
                    "ebsVolumeID": v.ebs_volume_id,
                })).collect::<Vec<_>>(),
                "cpus": Self::cpus(spec),
                "ramBytes": spec.ram_bytes,
                "os": {"fullString": spec.os},
            },
            "dataReplicationInfo": Value::Object(replication),
            "failback": Value::Object(failback),
        });
        if let Some(az) = &spec.origin_availability_zone {
            out["originAvailabilityZone"] = json!(az);
        }
        out
    }

    pub fn source_server_json(&self, idx: usize) -> Value {
        let inst = &self.instances[idx];
        let spec = &inst.spec;
        let l = inst.launched_unix;
        let iso = |unix: f64| time::iso8601(unix.floor() as i64);
        let added = l - 86_400.0 * 90.0;
        let instance_type = match spec.cpus {
            0..=2 => "m5.large",
            3..=4 => "m5.xlarge",
            5..=8 => "m5.2xlarge",
            _ => "m5.4xlarge",
        };
        let mut out = json!({
            "sourceServerID": spec.source_server_id,
            "arn": self.arn("source-server", &spec.source_server_id),
            "tags": spec.tags,
            "lastLaunchResult": "SUCCEEDED",
            "dataReplicationInfo": {
                "dataReplicationState": "DISCONNECTED",
                "replicatedDisks": spec.volumes.iter().map(|v| json!({
                    "deviceName": v.device,
                    "totalStorageBytes": v.original_bytes,
                    "replicatedStorageBytes": v.original_bytes,
                    "backloggedStorageBytes": 0,
                    "rescannedStorageBytes": 0,
                })).collect::<Vec<_>>(),
                "stagingAvailabilityZone": spec.staging_availability_zone,
            },
            "lifeCycle": {
                "addedToServiceDateTime": iso(added),
                "firstByteDateTime": iso(added + 120.0),
                "elapsedReplicationDuration": time::iso_duration((l - added - 120.0).max(0.0) as u64),
                "lastSeenByServiceDateTime": iso(l - 2400.0),
                "lastLaunch": {
                    "initiated": {
                        "apiCallDateTime": iso(l - 1510.0),
                        "jobID": inst.recovery_job_id,
                        "type": if spec.is_drill { "DRILL" } else { "RECOVERY" },
                    },
                    "status": "LAUNCHED",
                },
            },
            "sourceProperties": {
                "lastUpdatedDateTime": iso(l - 2400.0),
                "recommendedInstanceType": instance_type,
                "identificationHints": Self::hints(spec),
                "networkInterfaces": Self::nics(spec),
                "disks": spec.volumes.iter().map(|v| json!({"deviceName": v.device, "bytes": v.original_bytes})).collect::<Vec<_>>(),
                "cpus": Self::cpus(spec),
                "ramBytes": spec.ram_bytes,
                "os": {"fullString": spec.os},
                "supportsNitroInstances": true,
            },
            "stagingArea": {"status": "NOT_EXTENDED"},
            "replicationDirection": "FAILOVER",
            "agentVersion": spec.agent_version,
        });
        if !inst.removed {
            out["recoveryInstanceId"] = json!(spec.id);
        }
        out
    }

    fn job_status(&self, job: &Job, now: f64) -> &'static str {
        let started = job.events.first().map_or(job.created, |e| e.at);
        if job.applied || now >= job.end {
            "COMPLETED"
        } else if now >= started {
            "STARTED"
        } else {
            "PENDING"
        }
    }

    pub fn job_json(&self, j: usize, t: f64) -> Value {
        let job = &self.jobs[j];
        let now = self.wall(t);
        let status = self.job_status(job, now);
        let launch_status = match (status, job.kind, job.failed) {
            ("PENDING", _, _) => "PENDING",
            ("STARTED", _, _) => "IN_PROGRESS",
            (_, _, true) => "FAILED",
            (_, "LAUNCH", _) => "LAUNCHED",
            _ => "TERMINATED",
        };
        let mut out = json!({
            "jobID": job.id,
            "arn": self.arn("job", &job.id),
            "type": job.kind,
            "initiatedBy": job.initiated_by,
            "creationDateTime": time::iso8601(job.created.floor() as i64),
            "status": status,
            "participatingServers": job.servers.iter().map(|&s| json!({
                "sourceServerID": self.instances[s].spec.source_server_id,
                "recoveryInstanceID": self.instances[s].spec.id,
                "launchStatus": launch_status,
            })).collect::<Vec<_>>(),
            "tags": job.tags,
        });
        if status == "COMPLETED" {
            out["endDateTime"] = json!(time::iso8601(job.end.floor() as i64));
        }
        out
    }

    /// The log items written so far, oldest first.
    pub fn job_log_json(&self, j: usize, t: f64) -> Vec<Value> {
        let job = &self.jobs[j];
        let now = self.wall(t);
        job.events
            .iter()
            .filter(|e| e.at <= now)
            .map(|e| {
                let mut item = json!({
                    "logDateTime": time::iso8601(e.at.floor() as i64),
                    "event": e.event,
                });
                if let Some(s) = e.server {
                    let mut data =
                        json!({"sourceServerID": self.instances[s].spec.source_server_id});
                    if let Some(c) = &e.conversion_server {
                        data["conversionServerID"] = json!(c);
                    }
                    if e.event == "LAUNCH_START" && job.initiated_by != "FAILBACK" {
                        data["targetInstanceID"] = json!(self.instances[s].spec.id);
                    }
                    item["eventData"] = data;
                }
                item
            })
            .collect()
    }
}

struct LinkView {
    state: &'static str,
    error: Option<&'static str>,
    steps: Vec<(&'static str, &'static str)>,
    failback_state: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"{
      "region": "us-east-1", "account_id": "123456789012", "time_scale": 1.0,
      "demo_host": {"hostname": "h"}, "demo_disks": [],
      "credentials": [{"label": "full", "description": "d", "access_key_id": "AKIADEMO0000000000AA",
        "secret_access_key": "0000000000000000000000000000000000000000", "policy": "full", "principal": "arn:aws:iam::123456789012:user/x"}],
      "timings": {"initiation_step_seconds": [1,1,1,1,1,1,1], "launch_job_seconds": 20,
        "terminate_job_seconds": 10, "replication_rate_per_second": "1MiB"},
      "recovery_instances": [{"id": "i-0123456789abcdef0", "source_server_id": "s-0123456789abcdef0",
        "os": "Linux", "ram": "1GiB", "volumes": [{"device": "/dev/xvda", "size": "10MiB", "used": "1MiB"}],
        "faults": {"stall": {"at_percent": 50, "seconds": 5}, "disconnect": {"at_percent": 80, "seconds": 5}}}]
    }"#;

    const ID: &str = "i-0123456789abcdef0";

    #[test]
    fn readers_do_not_wait_for_each_other() {
        let engine = Engine::new(Scenario::from_json(SCENARIO).expect("scenario"));
        engine.read(|_, _| {
            assert!(
                engine.world.try_read().is_ok(),
                "a second reader would wait"
            );
        });
    }

    fn disk(replicated: u64) -> DiskReport {
        DiskReport {
            volume: "/dev/xvda".into(),
            replicated,
            backlogged: 0,
            rescanned: 0,
        }
    }

    fn world() -> World {
        World::new(
            Scenario::from_json(SCENARIO).expect("scenario"),
            1_795_419_120.0,
        )
    }

    fn state(w: &World, t: f64) -> (String, String) {
        let v = w.instance_json(0, t);
        (
            v["dataReplicationInfo"]["dataReplicationState"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["failback"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    #[test]
    fn lifecycle_with_scripted_faults() {
        let mut w = world();
        assert_eq!(
            state(&w, 0.0),
            ("NOT_STARTED".into(), "FAILBACK_NOT_STARTED".into())
        );
        let a = w.associate(0.0, ID).expect("associate");
        // Paired, waiting for the mapping: the volume-mapping step is in progress.
        let s = w.client_status(0.0, ID, &a).expect("status");
        assert_eq!(s.replication_state, "INITIATING");
        assert_eq!(s.initiation_steps[0].1, "SUCCEEDED");
        assert_eq!(s.initiation_steps[1].1, "IN_PROGRESS");
        assert!(matches!(
            w.map_devices(0.0, ID, &a, &[("/dev/nope".into(), "/dev/sdb".into())]),
            Err(Refusal::Invalid(_))
        ));
        let volumes = w
            .map_devices(0.0, ID, &a, &[("/dev/xvda".into(), "/dev/sdb".into())])
            .expect("mapping");
        assert_eq!(volumes[0].used_bytes, 1 << 20);
        assert!(
            w.map_devices(0.1, ID, &a, &[("/dev/xvda".into(), "/dev/sdb".into())])
                .is_err(),
            "the mapping is set once"
        );
        let s = w.client_status(2.5, ID, &a).expect("status");
        assert_eq!(s.replication_state, "INITIATING");
        assert_eq!(s.bytes_per_second, 0);
        assert_eq!(s.initiation_steps[2].1, "IN_PROGRESS");
        assert_eq!(s.initiation_steps[1].1, "SUCCEEDED");
        assert_eq!(s.initiation_steps[3].1, "NOT_STARTED");
        let s = w.client_status(7.0, ID, &a).expect("status");
        assert_eq!(
            (s.replication_state.as_str(), s.bytes_per_second),
            ("INITIAL_SYNC", 1 << 20)
        );

        // Crossing 50% stalls replication for 5 scenario seconds.
        w.report_progress(8.0, ID, &a, &[disk(6 << 20)])
            .expect("report");
        assert_eq!(state(&w, 8.0).0, "STALLED");
        assert_eq!(w.client_status(9.0, ID, &a).expect("s").bytes_per_second, 0);
        w.advance(13.5);
        // Then 80% cuts the client off: DISCONNECTED, last seen frozen.
        w.report_progress(13.5, ID, &a, &[disk(9 << 20)])
            .expect("report");
        let v = w.instance_json(0, 15.0);
        assert_eq!(
            v["dataReplicationInfo"]["dataReplicationState"],
            "DISCONNECTED"
        );
        assert_eq!(
            v["dataReplicationInfo"]["dataReplicationError"]["error"],
            "FAILBACK_CLIENT_NOT_SEEN"
        );
        w.client_status(15.0, ID, &a).expect("status");
        assert_eq!(
            w.instance_json(0, 15.0)["failback"]["failbackClientLastSeenByServiceDateTime"],
            w.iso_at(13.5)
        );
        w.advance(19.0);
        w.report_progress(19.0, ID, &a, &[disk(10 << 20)])
            .expect("report");
        assert_eq!(
            state(&w, 19.0),
            ("CONTINUOUS".into(), "FAILBACK_READY_FOR_LAUNCH".into())
        );

        let job = w.start_failback_launch(19.0, &[ID.into()], BTreeMap::new());
        let job = job.expect("launch");
        assert_eq!(job["status"], "PENDING");
        assert!(matches!(
            w.start_failback_launch(19.5, &[ID.into()], BTreeMap::new()),
            Err(Refusal::Conflict(..))
        ));
        assert_eq!(w.job_json(w.jobs.len() - 1, 25.0)["status"], "STARTED");
        w.advance(40.0);
        assert_eq!(
            state(&w, 40.0),
            ("STOPPED".into(), "FAILBACK_COMPLETED".into())
        );
        let events: Vec<_> = w
            .job_log_json(w.jobs.len() - 1, 40.0)
            .iter()
            .map(|e| e["event"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(events.first().map(String::as_str), Some("JOB_START"));
        assert_eq!(events.last().map(String::as_str), Some("JOB_END"));
        let s = w.client_status(40.0, ID, &a).expect("status");
        assert_eq!(s.failback_state, "FAILBACK_COMPLETED");
    }

    /// A report that jumps past both scripted faults at once: the second fault is still to
    /// come, so the instance is never shown ready (for launch) in between.
    #[test]
    fn a_scripted_fault_still_due_keeps_the_failback_from_ready() {
        let mut w = world();
        let a = w.associate(0.0, ID).expect("associate");
        w.map_devices(0.0, ID, &a, &[("/dev/xvda".into(), "/dev/sdb".into())])
            .expect("mapping");
        w.report_progress(8.0, ID, &a, &[disk(10 << 20)])
            .expect("report");
        assert_eq!(state(&w, 8.0).0, "STALLED");
        w.advance(13.5);
        // The stall is over; the disconnect (80%) is due but has not happened yet.
        assert_eq!(
            state(&w, 13.5),
            ("INITIAL_SYNC".into(), "FAILBACK_IN_PROGRESS".into())
        );
        w.client_status(13.5, ID, &a).expect("status");
        assert_eq!(state(&w, 13.5).0, "DISCONNECTED");
        w.advance(19.0);
        assert_eq!(
            state(&w, 19.0),
            ("CONTINUOUS".into(), "FAILBACK_READY_FOR_LAUNCH".into())
        );
    }

    #[test]
    fn the_bandwidth_throttle_limits_what_the_client_may_send() {
        let mut w = world();
        assert_eq!(w.paired_at, None);
        let a = w.associate(0.5, ID).expect("associate");
        assert_eq!(w.paired_at, Some(0.5));
        w.map_devices(0.5, ID, &a, &[("/dev/xvda".into(), "/dev/sdb".into())])
            .expect("mapping");
        let rate = |w: &mut World, t| w.client_status(t, ID, &a).expect("status").bytes_per_second;
        assert_eq!(rate(&mut w, 8.0), 1 << 20);
        // 1 Mbps is 125,000 bytes a second, below the instance's 1 MiB.
        w.config(ID).expect("config").bandwidth_mbps = 1;
        assert_eq!(rate(&mut w, 8.1), 125_000);
        // A throttle above the instance's own rate changes nothing; 0 lifts it.
        w.config(ID).expect("config").bandwidth_mbps = 100;
        assert_eq!(rate(&mut w, 8.2), 1 << 20);
        w.config(ID).expect("config").bandwidth_mbps = 0;
        assert_eq!(rate(&mut w, 8.3), 1 << 20);
        // A second pairing keeps the first one's time.
        w.associate(9.0, ID).expect("associate again");
        assert_eq!(w.paired_at, Some(0.5));
    }

    #[test]
    fn stop_failback_ends_the_pairing() {
        let mut w = world();
        let a = w.associate(0.0, ID).expect("associate");
        w.map_devices(0.0, ID, &a, &[("/dev/xvda".into(), "/dev/sdb".into())])
            .expect("mapping");
        assert!(matches!(
            w.start_failback_launch(1.0, &[ID.into()], BTreeMap::new()),
            Err(Refusal::Conflict(..))
        ));
        assert!(w.stop_failback(1.0, ID).is_ok());
        assert_eq!(
            state(&w, 1.0),
            ("STOPPED".into(), "FAILBACK_NOT_STARTED".into())
        );
        assert_eq!(
            w.client_status(1.0, ID, &a),
            Err(Refusal::Conflict(ID.into(), stopped(ID)))
        );
    }

    #[test]
    fn terminate_removes_the_instance_when_the_job_ends() {
        let mut w = world();
        let job = w.terminate(0.0, &[ID.into()]).expect("terminate");
        assert_eq!(job["type"], "TERMINATE");
        assert_eq!(w.instance_json(0, 0.0)["ec2InstanceState"], "SHUTTING-DOWN");
        w.advance(10.0);
        assert_eq!(w.find(ID), None);
    }

    #[test]
    fn the_json_of_an_instance_not_in_failback_holds_while_the_clock_runs() {
        let engine = Engine::new(Scenario::from_json(SCENARIO).expect("scenario"));
        let at = |t: f64| {
            engine.read(|w, _| {
                assert!(!w.instances[0].in_failback());
                let mut cached = Vec::new();
                w.write_instance_json(0, t, &mut cached);
                let fresh = serde_json::to_vec(&w.instance_json(0, t)).unwrap();
                assert_eq!(cached, fresh, "at {t} s");
                fresh
            })
        };
        assert_eq!(at(0.0), at(3600.5));
    }

    #[test]
    fn an_instances_cached_json_is_its_json_until_something_changes() {
        let engine = Engine::new(Scenario::from_json(SCENARIO).expect("scenario"));
        let json = |e: &Engine| {
            e.read(|w, t| {
                let mut first = Vec::new();
                w.write_instance_json(0, t, &mut first);
                let mut cached = Vec::new();
                w.write_instance_json(0, t, &mut cached);
                assert_eq!(cached, first);
                assert_eq!(first, serde_json::to_vec(&w.instance_json(0, t)).unwrap());
                String::from_utf8(first).unwrap()
            })
        };
        let before = json(&engine);
        engine.with(|w, _| w.disconnect(ID)).expect("disconnect");
        let after = json(&engine);
        assert!(
            !before.contains(r#""dataReplicationState":"DISCONNECTED""#),
            "{before}"
        );
        assert!(
            after.contains(r#""dataReplicationState":"DISCONNECTED""#),
            "{after}"
        );
    }
}
