//! What the emulator plays: account, credentials, recovery instances, timings and faults.
//! Read from hand-written JSON; sizes may be byte counts or strings such as "9.75GiB".

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::disks::virtual_disks::VirtualDiskSpec;
use crate::domain::model::{FAILBACK_INITIATION_STEPS, HostIdentity};
use crate::drs::StaticCredentials;

use super::failback_client;
use super::ops::OPERATIONS;

#[derive(Clone)]
pub struct Scenario {
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) time_scale: f64,
    pub(crate) clock_offset_seconds: i64,
    pub(crate) seed: u64,
    host: HostIdentity,
    disks: Vec<VirtualDiskSpec>,
    pub(crate) credentials: Vec<CredentialSpec>,
    pub(crate) timings: Timings,
    pub(crate) faults: Faults,
    pub(crate) instances: Vec<InstanceSpec>,
}

// Hand-written so that secrets never reach a log.
impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("region", &self.region)
            .field("time_scale", &self.time_scale)
            .field("credentials", &self.credentials.len())
            .field("recovery_instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    Full,
    /// AWSElasticDisasterRecoveryFailbackInstallationPolicy
    FailbackInstallation,
}

#[derive(Clone)]
pub(crate) struct CredentialSpec {
    pub label: String,
    pub description: String,
    pub credentials: StaticCredentials,
    pub expired: bool,
    /// Scenario seconds after the first failback client pairs (mid-run) when this session
    /// token expires: the public operations then answer ExpiredTokenException. The private
    /// actions go on, as AWS's agent replicates under its own identity once paired.
    pub session_ends_after_pairing: Option<f64>,
    pub policy: Policy,
    /// The caller as AccessDenied messages name it.
    pub principal: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Timings {
    /// Scenario seconds for each failback initiation step, in order.
    pub initiation_steps: Vec<f64>,
    pub launch_job_seconds: f64,
    pub terminate_job_seconds: f64,
    /// Bytes per scenario second when an instance sets no rate of its own.
    pub replication_rate: u64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    pub retry_after_ms: u64,
    pub operations: BTreeMap<String, OperationFaults>,
    pub s3: S3Faults,
}

/// How the emulated S3 buckets misbehave for the replication software's download.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct S3Faults {
    /// The tarball's published .sha512 is not the tarball's.
    pub wrong_hash: bool,
    /// The tarball is sent this fast (scenario bytes per second); None: at once.
    pub bytes_per_second: Option<u64>,
    /// Scenario seconds, from the first request for the manifest pair, during which
    /// manifest.json.sha512 still describes an older manifest.
    pub manifest_out_of_step_seconds: f64,
    /// The buckets belong to this account instead of AWS's (a look-alike bucket): the
    /// x-amz-expected-bucket-owner check refuses every download.
    pub bucket_owner: Option<String>,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OperationFaults {
    pub throttle_every: Option<u64>,
    pub server_error_every: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct HoldSpec {
    pub at_percent: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct NicSpec {
    pub mac: String,
    pub ips: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct VolumeSpec {
    pub device: String,
    pub bytes: u64,
    /// Data actually present; the rest replicates as sparse (never written).
    pub used_bytes: u64,
    /// Size of the original source disk (smaller when it was a fractional GiB).
    pub original_bytes: u64,
    pub ebs_volume_id: String,
    /// Seeds the volume's content pattern (`content::VolumeContent`).
    pub content_seed: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct InstanceSpec {
    pub id: String,
    pub source_server_id: String,
    pub hostname: Option<String>,
    pub fqdn: Option<String>,
    pub vmware_uuid: Option<String>,
    pub aws_instance_id: Option<String>,
    pub os: String,
    pub cpus: u32,
    pub cpu_model: String,
    pub ram_bytes: u64,
    pub nics: Vec<NicSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub ec2_state: String,
    pub replication_state: String,
    pub failback_state: String,
    pub progress_percent: f64,
    pub error: Option<String>,
    pub is_drill: bool,
    pub origin: String,
    pub origin_availability_zone: Option<String>,
    pub staging_availability_zone: String,
    pub agent_version: String,
    pub launched_hours_ago: f64,
    pub rate: u64,
    pub stall: Option<HoldSpec>,
    pub disconnect: Option<HoldSpec>,
    /// Operations refused on this instance whatever the caller's policy.
    pub deny: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

pub(crate) const EC2_STATES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "SHUTTING-DOWN",
    "TERMINATED",
    "NOT_FOUND",
];
const REPLICATION_STATES: &[&str] = &[
    "STOPPED",
    "INITIATING",
    "INITIAL_SYNC",
    "BACKLOG",
    "CREATING_SNAPSHOT",
    "CONTINUOUS",
    "PAUSED",
    "RESCAN",
    "STALLED",
    "DISCONNECTED",
    "REPLICATION_STATE_NOT_AVAILABLE",
    "NOT_STARTED",
];
const FAILBACK_STATES: &[&str] = &[
    "FAILBACK_NOT_STARTED",
    "FAILBACK_IN_PROGRESS",
    "FAILBACK_READY_FOR_LAUNCH",
    "FAILBACK_COMPLETED",
    "FAILBACK_ERROR",
    "FAILBACK_NOT_READY_FOR_LAUNCH",
    "FAILBACK_LAUNCH_STATE_NOT_AVAILABLE",
];
const REPLICATION_ERRORS: &[&str] = &[
    "AGENT_NOT_SEEN",
    "FAILBACK_CLIENT_NOT_SEEN",
    "NOT_CONVERGING",
    "UNSTABLE_NETWORK",
    "FAILED_TO_ESTABLISH_RECOVERY_INSTANCE_COMMUNICATION",
    "FAILED_TO_DOWNLOAD_REPLICATION_SOFTWARE_TO_FAILBACK_CLIENT",
    "FAILED_TO_CONFIGURE_REPLICATION_SOFTWARE",
    "FAILED_TO_PAIR_AGENT_WITH_REPLICATION_SOFTWARE",
    "FAILED_TO_ESTABLISH_AGENT_REPLICATOR_SOFTWARE_COMMUNICATION",
    "FAILED_GETTING_REPLICATION_STATE",
];
impl Scenario {
    /// The scenario `--demo` plays.
    pub fn embedded_default() -> Scenario {
        Scenario::from_json(include_str!("../../assets/demo-scenario.json"))
            .expect("assets/demo-scenario.json is valid (checked by tests)")
    }

    /// Parses a scenario; the error names the bad field.
    pub fn from_json(text: &str) -> Result<Scenario, String> {
        if !text.trim_start().starts_with('{') {
            return Err(
                "the scenario must be one JSON object ({\"region\": ..., ...}), shaped as assets/demo-scenario.json"
                    .into(),
            );
        }
        // Straight from the text, not through a `Value`: a scenario may hold tens of thousands
        // of instances.
        let mut json = serde_json::Deserializer::from_str(text);
        let raw: RawScenario = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })?;
        json.end().map_err(|e| e.to_string())?;
        raw.validate()
    }

    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Scenario::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The scenario at `path` (the error says it is the scenario), else the embedded one.
    pub fn load_or_embedded(path: Option<&Path>) -> Result<Scenario, String> {
        match path {
            Some(p) => Scenario::load(p).map_err(|e| format!("scenario {e}")),
            None => Ok(Scenario::embedded_default()),
        }
    }

    /// The identity the demo host takes (it matches the scenario's main instance).
    pub fn demo_host(&self) -> HostIdentity {
        self.host.clone()
    }

    /// The virtual local disks `--demo` creates.
    pub fn demo_disks(&self) -> Vec<VirtualDiskSpec> {
        self.disks.clone()
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

// ---- raw JSON shapes ----

/// A byte count or a string such as "9.75GiB".
enum Size {
    Bytes(u64),
    Text(String),
}

const SIZE_EXPECTED: &str = "a size: a whole number of bytes, or a string such as \"9.75GiB\"";

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SIZE_EXPECTED)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Size, E> {
                Ok(Size::Bytes(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Size, E> {
                u64::try_from(n)
                    .map(Size::Bytes)
                    .map_err(|_| E::custom(format!("{n} is negative; expected {SIZE_EXPECTED}")))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Size, E> {
                Err(E::custom(format!(
                    "{n} is not a whole number of bytes; write a string such as \"{n}GiB\""
                )))
            }
            fn visit_str<E: serde::de::Error>(self, t: &str) -> Result<Size, E> {
                Ok(Size::Text(t.to_owned()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawScenario {
    region: String,
    account_id: String,
    #[serde(default = "one")]
    time_scale: f64,
    #[serde(default)]
    clock_offset_seconds: i64,
    #[serde(default)]
    seed: u64,
    demo_host: RawHost,
    demo_disks: Vec<RawDisk>,
    credentials: Vec<RawCredential>,
    timings: RawTimings,
    #[serde(default)]
    faults: RawFaults,
    recovery_instances: Vec<RawInstance>,
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawHost {
    hostname: String,
    fqdn: Option<String>,
    #[serde(default)]
    macs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawDisk {
    device: String,
    size: Size,
    model: String,
    serial: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawCredential {
    label: String,
    description: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    #[serde(default)]
    expired: bool,
    session_ends_after_pairing_seconds: Option<f64>,
    policy: String,
    principal: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawTimings {
    initiation_step_seconds: Vec<f64>,
    launch_job_seconds: f64,
    terminate_job_seconds: f64,
    replication_rate_per_second: Size,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawFaults {
    #[serde(default)]
    retry_after_ms: u64,
    #[serde(default)]
    operations: BTreeMap<String, RawOperationFaults>,
    #[serde(default)]
    s3: RawS3Faults,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawS3Faults {
    #[serde(default)]
    wrong_hash: bool,
    bytes_per_second: Option<Size>,
    #[serde(default)]
    manifest_out_of_step_seconds: f64,
    bucket_owner: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawOperationFaults {
    throttle_every: Option<u64>,
    server_error_every: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawHold {
    at_percent: f64,
    seconds: f64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawInstanceFaults {
    stall: Option<RawHold>,
    disconnect: Option<RawHold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawNic {
    mac: String,
    #[serde(default)]
    ips: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawVolume {
    device: String,
    size: Size,
    used: Option<Size>,
    original_size: Option<Size>,
    ebs_volume_id: Option<String>,
    /// Seeds the volume's content; the scenario's `seed` when absent.
    content_seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawInstance {
    id: String,
    source_server_id: String,
    hostname: Option<String>,
    fqdn: Option<String>,
    vmware_uuid: Option<String>,
    aws_instance_id: Option<String>,
    os: String,
    #[serde(default = "two")]
    cpus: u32,
    #[serde(default = "default_cpu_model")]
    cpu_model: String,
    ram: Size,
    #[serde(default)]
    nics: Vec<RawNic>,
    volumes: Vec<RawVolume>,
    #[serde(default = "running")]
    ec2_state: String,
    #[serde(default = "not_started")]
    replication: String,
    #[serde(default = "failback_not_started")]
    failback: String,
    progress_percent: Option<f64>,
    error: Option<String>,
    #[serde(default)]
    drill: bool,
    #[serde(default = "on_premises")]
    origin: String,
    origin_availability_zone: Option<String>,
    staging_availability_zone: Option<String>,
    #[serde(default = "agent_version")]
    agent_version: String,
    #[serde(default = "day")]
    launched_hours_ago: f64,
    rate_per_second: Option<Size>,
    #[serde(default)]
    faults: RawInstanceFaults,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn two() -> u32 {
    2
}
fn default_cpu_model() -> String {
    "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz".into()
}
fn running() -> String {
    "RUNNING".into()
}
fn not_started() -> String {
    "NOT_STARTED".into()
}
fn failback_not_started() -> String {
    "FAILBACK_NOT_STARTED".into()
}
fn on_premises() -> String {
    "ON_PREMISES".into()
}
fn agent_version() -> String {
    "1.1.4129.0".into()
}
fn day() -> f64 {
    24.0
}

// ---- validation ----

/// Parses "30GiB", "9.75 GiB", "512MiB", "4096" (bytes); the result must be whole bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let multiplier: u128 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use B, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 12
    {
        return Err(format!("'{text}' is not a size"));
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let digits: u128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| format!("'{text}' is too large"))?;
    let scaled = digits
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))?;
    if scaled % scale != 0 {
        return Err(format!("'{text}' is not a whole number of bytes"));
    }
    u64::try_from(scaled / scale).map_err(|_| format!("'{text}' is too large"))
}

/// DRS reports sizes as signed 64-bit numbers: a larger one breaks every client.
const MAX_SIZE: u64 = i64::MAX as u64;
/// The largest EBS volume.
const MAX_VOLUME: u64 = 64 << 40;

fn size(value: &Size, field: &str) -> Result<u64, String> {
    let n = match value {
        Size::Bytes(n) => *n,
        Size::Text(t) => parse_size(t).map_err(|e| format!("{field}: {e}"))?,
    };
    if n > MAX_SIZE {
        return Err(format!(
            "{field}: {n} bytes is more than DRS can report (at most {MAX_SIZE})"
        ));
    }
    Ok(n)
}

fn volume_size(value: &Size, field: &str) -> Result<u64, String> {
    match positive_size(value, field)? {
        n if n > MAX_VOLUME => Err(format!(
            "{field}: a volume holds at most 64 TiB (the largest EBS volume)"
        )),
        n => Ok(n),
    }
}

/// `/dev/` and a plain name: the name becomes the virtual disk's file name.
fn check_device(device: &str, field: &str) -> Result<(), String> {
    let name = device.strip_prefix("/dev/").unwrap_or("");
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{field}: '{device}' is not a device name such as /dev/sdb"
        ));
    }
    Ok(())
}

fn positive_size(value: &Size, field: &str) -> Result<u64, String> {
    match size(value, field)? {
        0 => Err(format!("{field}: must be greater than zero")),
        n => Ok(n),
    }
}

fn one_of(value: &str, allowed: &[&str], field: &str) -> Result<String, String> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{field}: '{value}' is not one of {}",
            allowed.join(", ")
        ))
    }
}

pub(crate) fn is_recovery_instance_id(s: &str) -> bool {
    s.strip_prefix("i-")
        .is_some_and(|h| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(crate) fn is_source_server_id(s: &str) -> bool {
    s.strip_prefix("s-")
        .is_some_and(|h| h.len() == 17 && h.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_access_key(key: &str, field: &str) -> Result<(), String> {
    let shaped = (key.starts_with("AKIA") || key.starts_with("ASIA"))
        && key.len() == 20
        && key[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "{field}: '{key}' is not an access key id (AKIA or ASIA and 16 upper-case letters or digits)"
        ))
    }
}

fn hold(raw: &Option<RawHold>, field: &str) -> Result<Option<HoldSpec>, String> {
    let Some(h) = raw else { return Ok(None) };
    if !(0.0..100.0).contains(&h.at_percent) {
        return Err(format!(
            "{field}.at_percent: must be at least 0 and below 100"
        ));
    }
    if !(h.seconds.is_finite() && h.seconds > 0.0) {
        return Err(format!("{field}.seconds: must be greater than zero"));
    }
    Ok(Some(HoldSpec {
        at_percent: h.at_percent,
        seconds: h.seconds,
    }))
}

fn known_operation(op: &str, field: &str) -> Result<(), String> {
    if OPERATIONS.contains(&op) || failback_client::OPERATIONS.contains(&op) {
        Ok(())
    } else {
        Err(format!("{field}: unknown operation '{op}'"))
    }
}

impl RawScenario {
    fn validate(self) -> Result<Scenario, String> {
        if self.region.is_empty() {
            return Err("region: must not be empty".into());
        }
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("account_id: must be 12 digits".into());
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err("time_scale: must be greater than zero".into());
        }
        let host = HostIdentity {
            hostname: self.demo_host.hostname,
            fqdn: self.demo_host.fqdn,
            macs: self
                .demo_host
                .macs
                .iter()
                .map(|m| m.to_ascii_lowercase())
                .collect(),
            vmware_uuid: None,
            aws_instance_id: None,
        };
        let mut disks: Vec<VirtualDiskSpec> = Vec::new();
        for (i, d) in self.demo_disks.iter().enumerate() {
            let field = format!("demo_disks[{i}]");
            check_device(&d.device, &format!("{field}.device"))?;
            if disks.iter().any(|o| o.device == d.device) {
                return Err(format!("{field}.device: '{}' used twice", d.device));
            }
            disks.push(VirtualDiskSpec {
                device: d.device.clone(),
                bytes: positive_size(&d.size, &format!("{field}.size"))?,
                model: d.model.clone(),
                serial: d.serial.clone(),
            });
        }

        if self.credentials.is_empty() {
            return Err("credentials: at least one is needed".into());
        }
        let mut credentials = Vec::new();
        for (i, c) in self.credentials.into_iter().enumerate() {
            let field = format!("credentials[{i}]");
            check_access_key(&c.access_key_id, &format!("{field}.access_key_id"))?;
            if c.secret_access_key.len() != 40 {
                return Err(format!("{field}.secret_access_key: must be 40 characters"));
            }
            if credentials
                .iter()
                .any(|o: &CredentialSpec| o.credentials.access_key_id == c.access_key_id)
            {
                return Err(format!("{field}.access_key_id: used twice"));
            }
            match c.session_ends_after_pairing_seconds {
                Some(_) if c.session_token.is_none() => {
                    return Err(format!(
                        "{field}.session_ends_after_pairing_seconds: only temporary keys (with a \
                         session_token) have a session that ends"
                    ));
                }
                Some(s) if !(s.is_finite() && s >= 0.0) => {
                    return Err(format!(
                        "{field}.session_ends_after_pairing_seconds: must be 0 or more seconds"
                    ));
                }
                _ => {}
            }
            let policy = match c.policy.as_str() {
                "full" => Policy::Full,
                "failback-installation" => Policy::FailbackInstallation,
                other => {
                    return Err(format!(
                        "{field}.policy: '{other}' is not one of full, failback-installation"
                    ));
                }
            };
            credentials.push(CredentialSpec {
                label: c.label,
                description: c.description,
                credentials: StaticCredentials {
                    access_key_id: c.access_key_id,
                    secret_access_key: c.secret_access_key,
                    session_token: c.session_token,
                },
                expired: c.expired,
                session_ends_after_pairing: c.session_ends_after_pairing_seconds,
                policy,
                principal: c.principal,
            });
        }

        let t = &self.timings;
        if t.initiation_step_seconds.len() != FAILBACK_INITIATION_STEPS.len() {
            return Err(format!(
                "timings.initiation_step_seconds: needs {} entries, one per initiation step",
                FAILBACK_INITIATION_STEPS.len()
            ));
        }
        if t.initiation_step_seconds
            .iter()
            .any(|s| !(s.is_finite() && *s >= 0.0))
        {
            return Err("timings.initiation_step_seconds: must be zero or more".into());
        }
        for (name, v) in [
            ("launch_job_seconds", t.launch_job_seconds),
            ("terminate_job_seconds", t.terminate_job_seconds),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("timings.{name}: must be greater than zero"));
            }
        }
        let timings = Timings {
            initiation_steps: t.initiation_step_seconds.clone(),
            launch_job_seconds: t.launch_job_seconds,
            terminate_job_seconds: t.terminate_job_seconds,
            replication_rate: positive_size(
                &t.replication_rate_per_second,
                "timings.replication_rate_per_second",
            )?,
        };

        let mut operations = BTreeMap::new();
        for (op, f) in &self.faults.operations {
            let field = format!("faults.operations.{op}");
            known_operation(op, &field)?;
            if f.throttle_every == Some(0) || f.server_error_every == Some(0) {
                return Err(format!("{field}: every must be 1 or more"));
            }
            operations.insert(
                op.clone(),
                OperationFaults {
                    throttle_every: f.throttle_every,
                    server_error_every: f.server_error_every,
                },
            );
        }
        let raw_s3 = &self.faults.s3;
        let s3 = S3Faults {
            wrong_hash: raw_s3.wrong_hash,
            bytes_per_second: raw_s3
                .bytes_per_second
                .as_ref()
                .map(|b| positive_size(b, "faults.s3.bytes_per_second"))
                .transpose()?,
            manifest_out_of_step_seconds: raw_s3.manifest_out_of_step_seconds,
            bucket_owner: raw_s3.bucket_owner.clone(),
        };
        if let Some(owner) = &s3.bucket_owner
            && (owner.len() != 12 || !owner.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("faults.s3.bucket_owner: must be 12 digits (an account id)".into());
        }
        if !(s3.manifest_out_of_step_seconds.is_finite() && s3.manifest_out_of_step_seconds >= 0.0)
        {
            return Err("faults.s3.manifest_out_of_step_seconds: must be zero or more".into());
        }
        let faults = Faults {
            retry_after_ms: self.faults.retry_after_ms,
            operations,
            s3,
        };

        let mut instances: Vec<InstanceSpec> = Vec::new();
        // A set, not a scan of the instances so far: a scenario may hold tens of thousands.
        let mut ids = HashSet::new();
        for (i, r) in self.recovery_instances.into_iter().enumerate() {
            let field = format!("recovery_instances[{i}]");
            if !is_recovery_instance_id(&r.id) {
                return Err(format!("{field}.id: '{}' is not i- and hex digits", r.id));
            }
            if !ids.insert(r.id.clone()) {
                return Err(format!("{field}.id: '{}' used twice", r.id));
            }
            if !is_source_server_id(&r.source_server_id) {
                return Err(format!(
                    "{field}.source_server_id: '{}' is not s- and 17 letters or digits",
                    r.source_server_id
                ));
            }
            if r.volumes.is_empty() {
                return Err(format!("{field}.volumes: at least one is needed"));
            }
            let mut volumes = Vec::new();
            for (j, v) in r.volumes.iter().enumerate() {
                let vf = format!("{field}.volumes[{j}]");
                if v.device.trim().is_empty() || v.device.ends_with(['/', '\\']) {
                    return Err(format!(
                        "{vf}.device: '{}' names no device (write /dev/xvda, or \\\\.\\PHYSICALDRIVE0 on Windows)",
                        v.device
                    ));
                }
                let bytes = volume_size(&v.size, &format!("{vf}.size"))?;
                let used_bytes = match &v.used {
                    Some(u) => size(u, &format!("{vf}.used"))?,
                    None => bytes,
                };
                if used_bytes > bytes {
                    return Err(format!("{vf}.used: larger than the volume"));
                }
                let original_bytes = match &v.original_size {
                    Some(o) => positive_size(o, &format!("{vf}.original_size"))?,
                    None => bytes,
                };
                if original_bytes > bytes {
                    return Err(format!("{vf}.original_size: larger than the volume"));
                }
                if volumes.iter().any(|o: &VolumeSpec| o.device == v.device) {
                    return Err(format!("{vf}.device: '{}' used twice", v.device));
                }
                volumes.push(VolumeSpec {
                    device: v.device.clone(),
                    bytes,
                    used_bytes,
                    original_bytes,
                    // Stable and EBS-shaped: derived from the instance id.
                    ebs_volume_id: v.ebs_volume_id.clone().unwrap_or_else(|| {
                        let hex: String = r.id[2..].chars().rev().take(16).collect();
                        format!("vol-{hex}{j:x}")
                    }),
                    content_seed: v.content_seed.unwrap_or(self.seed),
                });
            }
            let progress_percent = r.progress_percent.unwrap_or(0.0);
            if !(0.0..=100.0).contains(&progress_percent) {
                return Err(format!("{field}.progress_percent: must be 0 to 100"));
            }
            if let Some(e) = &r.error {
                one_of(e, REPLICATION_ERRORS, &format!("{field}.error"))?;
            }
            for op in &r.deny {
                known_operation(op, &format!("{field}.deny"))?;
            }
            let rate = match &r.rate_per_second {
                Some(s) => positive_size(s, &format!("{field}.rate_per_second"))?,
                None => timings.replication_rate,
            };
            instances.push(InstanceSpec {
                source_server_id: r.source_server_id,
                hostname: r.hostname,
                fqdn: r.fqdn,
                vmware_uuid: r.vmware_uuid,
                aws_instance_id: r.aws_instance_id,
                os: r.os,
                cpus: r.cpus,
                cpu_model: r.cpu_model,
                ram_bytes: positive_size(&r.ram, &format!("{field}.ram"))?,
                nics: r
                    .nics
                    .into_iter()
                    .map(|n| NicSpec {
                        mac: n.mac.to_ascii_lowercase(),
                        ips: n.ips,
                    })
                    .collect(),
                volumes,
                ec2_state: one_of(&r.ec2_state, EC2_STATES, &format!("{field}.ec2_state"))?,
                replication_state: one_of(
                    &r.replication,
                    REPLICATION_STATES,
                    &format!("{field}.replication"),
                )?,
                failback_state: one_of(&r.failback, FAILBACK_STATES, &format!("{field}.failback"))?,
                progress_percent,
                error: r.error,
                is_drill: r.drill,
                origin: one_of(
                    &r.origin,
                    &["ON_PREMISES", "AWS"],
                    &format!("{field}.origin"),
                )?,
                origin_availability_zone: r.origin_availability_zone,
                staging_availability_zone: r
                    .staging_availability_zone
                    .unwrap_or_else(|| format!("{}a", self.region)),
                agent_version: r.agent_version,
                launched_hours_ago: r.launched_hours_ago.max(0.0),
                rate,
                stall: hold(&r.faults.stall, &format!("{field}.faults.stall"))?,
                disconnect: hold(&r.faults.disconnect, &format!("{field}.faults.disconnect"))?,
                deny: r.deny,
                tags: r.tags,
                id: r.id,
            });
        }

        Ok(Scenario {
            region: self.region,
            account_id: self.account_id,
            time_scale: self.time_scale,
            clock_offset_seconds: self.clock_offset_seconds,
            seed: self.seed,
            host,
            disks,
            credentials,
            timings,
            faults,
            instances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("30GiB"), Ok(30 << 30));
        assert_eq!(parse_size("9.75 GiB"), Ok(10_468_982_784));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("1.3B").is_err());
        assert!(parse_size("12 GB").is_err());
        assert!(parse_size("GiB").is_err());
    }

    #[test]
    fn the_default_scenario_is_valid_and_shaped_as_documented() {
        let s = Scenario::embedded_default();
        assert_eq!(s.region(), "us-east-1");
        assert!(s.instances.len() >= 25);
        assert_eq!(s.demo_host().hostname, "web-01");
        assert_eq!(s.credentials[0].policy, Policy::Full);
        assert_eq!(s.credentials[0].credentials.session_token, None);
        let disks = s.demo_disks();
        assert!(disks.iter().any(|d| d.bytes == 10_468_982_784));
        for i in &s.instances {
            assert_eq!(i.id.len(), 19, "{}", i.id);
        }
    }

    #[test]
    fn download_faults_are_off_unless_the_scenario_sets_them() {
        assert_eq!(Scenario::embedded_default().faults.s3, S3Faults::default());
        let mut raw: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
        raw["faults"]["s3"] = serde_json::json!({
            "wrong_hash": true, "bytes_per_second": "1KiB", "manifest_out_of_step_seconds": 12,
            "bucket_owner": "999988887777"
        });
        let s = Scenario::from_json(&raw.to_string()).unwrap();
        assert_eq!(
            s.faults.s3,
            S3Faults {
                wrong_hash: true,
                bytes_per_second: Some(1024),
                manifest_out_of_step_seconds: 12.0,
                bucket_owner: Some("999988887777".into()),
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let base: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
        let mut bad = base.clone();
        bad["recovery_instances"][2]["volumes"][0]["size"] = "ten".into();
        let err = Scenario::from_json(&bad.to_string()).unwrap_err();
        assert!(
            err.starts_with("recovery_instances[2].volumes[0].size"),
            "{err}"
        );
        let mut bad = base.clone();
        bad["credentials"][1]["policy"] = "admin".into();
        let err = Scenario::from_json(&bad.to_string()).unwrap_err();
        assert!(err.starts_with("credentials[1].policy"), "{err}");
        let mut bad = base.clone();
        bad["faults"]["s3"] = serde_json::json!({"bytes_per_second": "fast"});
        let err = Scenario::from_json(&bad.to_string()).unwrap_err();
        assert!(err.starts_with("faults.s3.bytes_per_second"), "{err}");
        let mut bad = base;
        bad["timings"]["launch_job_secs"] = 3.into();
        let err = Scenario::from_json(&bad.to_string()).unwrap_err();
        assert!(err.contains("launch_job_secs"), "{err}");
    }

    fn error_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut json: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
        edit(&mut json);
        Scenario::from_json(&json.to_string()).unwrap_err()
    }

    #[test]
    fn shape_errors_name_the_field_and_what_is_expected() {
        let err = error_with(|j| j["recovery_instances"][3]["cpus"] = (1u64 << 40).into());
        assert!(err.starts_with("recovery_instances[3].cpus: "), "{err}");
        let err = error_with(|j| j["recovery_instances"][1]["volumes"][0]["size"] = (-5).into());
        assert!(
            err.starts_with("recovery_instances[1].volumes[0].size: -5 is negative"),
            "{err}"
        );
        let err = error_with(|j| j["demo_disks"][0]["size"] = 1.5.into());
        assert!(err.starts_with("demo_disks[0].size: "), "{err}");
        assert!(err.contains("\"1.5GiB\""), "{err}");
        let err = error_with(|j| j["timings"] = serde_json::json!([]));
        // Read straight from the text: where in the file is said too.
        assert!(
            err.starts_with("timings: invalid length 0, expected a JSON object at line 1 column "),
            "{err}"
        );
        let err = Scenario::from_json("[]").unwrap_err();
        assert!(err.contains("one JSON object"), "{err}");
    }

    #[test]
    fn only_a_temporary_key_has_a_session_that_ends() {
        let ends = "session_ends_after_pairing_seconds";
        let err = error_with(|j| j["credentials"][0][ends] = 30.into());
        assert!(err.starts_with("credentials[0].session_ends"), "{err}");
        assert!(err.contains("only temporary keys"), "{err}");
        let err = error_with(|j| j["credentials"][1][ends] = (-1).into());
        assert!(err.contains("must be 0 or more"), "{err}");
        let mut json: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
        json["credentials"][1][ends] = 30.into();
        let s = Scenario::from_json(&json.to_string()).unwrap();
        assert_eq!(s.credentials[1].session_ends_after_pairing, Some(30.0));
        assert_eq!(s.credentials[0].session_ends_after_pairing, None);
    }

    #[test]
    fn sizes_too_large_for_drs_are_refused() {
        let err =
            error_with(|j| j["recovery_instances"][0]["volumes"][0]["size"] = u64::MAX.into());
        assert!(
            err.starts_with("recovery_instances[0].volumes[0].size: "),
            "{err}"
        );
        let err = error_with(|j| j["recovery_instances"][0]["volumes"][0]["size"] = "65TiB".into());
        assert!(err.contains("64 TiB"), "{err}");
        let err = error_with(|j| j["recovery_instances"][0]["ram"] = u64::MAX.into());
        assert!(err.starts_with("recovery_instances[0].ram: "), "{err}");
    }

    #[test]
    fn recovery_instances_need_distinct_ids() {
        let err = error_with(|j| {
            j["recovery_instances"][3]["id"] = j["recovery_instances"][1]["id"].clone()
        });
        assert_eq!(
            err,
            "recovery_instances[3].id: 'i-0de956fe5d1483d7a' used twice"
        );
    }

    #[test]
    fn demo_disks_need_distinct_device_names() {
        let err = error_with(|j| j["demo_disks"][1]["device"] = "/dev/sdb".into());
        assert_eq!(err, "demo_disks[1].device: '/dev/sdb' used twice");
        for bad in ["/dev/", "/dev/../etc", "sdb", ""] {
            let err = error_with(|j| j["demo_disks"][0]["device"] = bad.into());
            assert!(err.starts_with("demo_disks[0].device: "), "{bad}: {err}");
        }
        let err =
            error_with(|j| j["recovery_instances"][0]["volumes"][0]["device"] = "/dev/".into());
        assert!(err.contains("names no device"), "{err}");
    }
}
