//! What the wizard knows about recovery instances, in the operator's words.
//! Converted from the DRS API shapes by `drs::convert`; enum values keep the API's spelling.

use super::bytes::Bytes;
use super::states::{
    DataReplicationState, Ec2State, FailbackState, JobInitiatedBy, JobLogEvent, JobStatus, JobType,
    StepStatus,
};

/// One volume of a recovery instance, named as on the machine itself (`internalDeviceName`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecoveryVolume {
    pub device_name: String,
    pub bytes: Bytes,
}

/// Identification hints DRS keeps about the original source machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentificationHints {
    pub hostname: Option<String>,
    pub fqdn: Option<String>,
    pub vmware_uuid: Option<String>,
    pub aws_instance_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicatedDisk {
    pub device_name: String,
    pub total: u64,
    pub replicated: u64,
    pub backlogged: u64,
    pub rescanned: u64,
}

/// The initiation steps of a failback replication, in the order DRS runs them.
pub const FAILBACK_INITIATION_STEPS: [&str; 7] = [
    "LINK_FAILBACK_CLIENT_WITH_RECOVERY_INSTANCE",
    "COMPLETE_VOLUME_MAPPING",
    "ESTABLISH_RECOVERY_INSTANCE_COMMUNICATION",
    "DOWNLOAD_REPLICATION_SOFTWARE_TO_FAILBACK_CLIENT",
    "CONFIGURE_REPLICATION_SOFTWARE",
    "PAIR_AGENT_WITH_REPLICATION_SOFTWARE",
    "ESTABLISH_AGENT_REPLICATOR_SOFTWARE_COMMUNICATION",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InitiationStep {
    /// e.g. `PAIR_AGENT_WITH_REPLICATION_SOFTWARE`
    pub name: String,
    pub status: StepStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicationInfo {
    pub state: DataReplicationState,
    /// dataReplicationError.error, e.g. `FAILBACK_CLIENT_NOT_SEEN`
    pub error: Option<String>,
    pub raw_error: Option<String>,
    pub steps: Vec<InitiationStep>,
    pub eta: Option<String>,
    pub lag: Option<String>,
    pub disks: Vec<ReplicatedDisk>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailbackInfo {
    pub state: FailbackState,
    pub job_id: Option<String>,
    pub client_id: Option<String>,
    /// failbackInitiationTime, as the service wrote it.
    pub initiated: Option<String>,
    pub client_last_seen: Option<String>,
    pub agent_last_seen: Option<String>,
    pub to_original_server: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecoveryInstance {
    pub id: String,
    pub source_server_id: String,
    pub ec2_instance_id: Option<String>,
    pub ec2_state: Option<Ec2State>,
    pub is_drill: bool,
    pub hints: IdentificationHints,
    pub os: Option<String>,
    /// MAC addresses of the recovery instance's network interfaces, lower case.
    pub macs: Vec<String>,
    /// The recovery instance's private IPs, the primary interface's first.
    #[serde(default)]
    pub private_ips: Vec<String>,
    pub volumes: Vec<RecoveryVolume>,
    pub replication: ReplicationInfo,
    pub failback: FailbackInfo,
}

impl RecoveryInstance {
    pub fn total_bytes(&self) -> Bytes {
        self.volumes.iter().map(|v| v.bytes).sum()
    }
    /// The volume the machine boots from: DRS lists the root volume first, as the source
    /// server had it.
    pub fn boot_volume(&self) -> Option<&RecoveryVolume> {
        self.volumes.first()
    }
    /// The name an operator knows the machine by.
    pub fn display_name(&self) -> &str {
        self.hints
            .hostname
            .as_deref()
            .or(self.hints.fqdn.as_deref())
            .unwrap_or(&self.source_server_id)
    }
}

/// GetFailbackReplicationConfiguration: how the recovery instance replicates to this machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailbackReplicationConfiguration {
    /// The bandwidth throttle in Mbps; 0: none.
    pub bandwidth_mbps: u64,
    /// Replication goes over the recovery instance's private IP (a VPN, Direct Connect)
    /// rather than its public one.
    pub use_private_ip: bool,
}

impl FailbackReplicationConfiguration {
    /// "throttled to 25 Mbps, over the recovery instance's private IP"
    pub fn describe(&self) -> String {
        let route = if self.use_private_ip {
            "private IP"
        } else {
            "public IP"
        };
        format!(
            "{}, over the recovery instance's {route}",
            throttle_words(self.bandwidth_mbps)
        )
    }
}

/// The throttle, in words.
pub fn throttle_words(mbps: u64) -> String {
    match mbps {
        0 => "no bandwidth throttle".into(),
        n => format!("throttled to {n} Mbps"),
    }
}

/// A DRS job (failback launch, terminate) and its log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: JobType,
    pub initiated_by: JobInitiatedBy,
    pub status: JobStatus,
    pub created: Option<String>,
    pub ended: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobLogItem {
    pub time: String,
    pub event: JobLogEvent,
    pub detail: Option<String>,
}

/// What this machine is, for matching it against recovery instances.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostIdentity {
    pub hostname: String,
    pub fqdn: Option<String>,
    /// MAC addresses of the local network interfaces, lower case.
    pub macs: Vec<String>,
    pub vmware_uuid: Option<String>,
    pub aws_instance_id: Option<String>,
}

/// A local disk that can receive a recovery instance's volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalDisk {
    /// The device as the operator and failback_entry name it, e.g. `/dev/sdb`.
    pub device: String,
    /// Where its blocks are written: the device node itself, or the demo's sparse file.
    pub path: std::path::PathBuf,
    pub bytes: Bytes,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// Persistent names, without the `/dev/disk/by-*/` prefix.
    pub by_path: Option<String>,
    pub by_id: Option<String>,
    pub by_uuid: Option<String>,
    /// Mount points of the disk or its partitions.
    pub mounts: Vec<String>,
    /// The disk this system booted from (the live medium): never a target.
    pub is_boot_medium: bool,
    /// What is on it now, e.g. "2 partitions: ext4, swap" or "empty".
    pub contents: String,
    /// Every persistent link to it, e.g. `by-id/wwn-0x5000c500a1b2c3d4` (by_* hold the preferred).
    pub links: Vec<String>,
    /// Active swap areas on it or on what is stacked on it.
    pub swaps: Vec<String>,
    /// Devices holding it or a partition of it, e.g. "dm-0 (LVM vg0-root) on sda2".
    pub holders: Vec<String>,
    pub read_only: bool,
    /// A USB stick or card: may be the wrong one in a hurry, so it is marked.
    pub removable: bool,
    /// Its partitions' /dev names and persistent links (`/dev/sda1`, `by-uuid/0b3c...`): a
    /// mapping that names one is told to name the whole disk.
    pub partition_names: Vec<String>,
    /// Another path to the same disk (the same WWN, no multipath map over them), offered
    /// instead, e.g. "/dev/sdc (WWN 0x600a...)": writing both would write one disk twice.
    pub other_path_of: Option<String>,
}

impl LocalDisk {
    pub fn id(&self) -> DiskId {
        DiskId {
            device: self.device.clone(),
            path: self.path.clone(),
            serial: self.serial.clone(),
            by_id: self.by_id.clone(),
            bytes: self.bytes,
        }
    }
}

/// A chosen disk, independent of its place in the disk list (a rescan or a hot-plug reorders
/// it). The write path is where the bytes go, so it must not move; serial and by-id (which
/// carries the WWN) tell a different disk at the same /dev name apart; the size catches a
/// resize. A kernel device number would add nothing: a new disk at the same name gets it too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiskId {
    /// For messages: the name the operator chose.
    pub device: String,
    pub path: std::path::PathBuf,
    pub serial: Option<String>,
    pub by_id: Option<String>,
    pub bytes: Bytes,
}

impl DiskId {
    /// The disk this id names now, or why none does.
    pub fn find<'a>(&self, disks: &'a [LocalDisk]) -> Result<(usize, &'a LocalDisk), DiskMismatch> {
        if let Some(found) = disks.iter().enumerate().find(|(_, d)| d.id() == *self) {
            return Ok(found);
        }
        let Some(now) = disks.iter().find(|d| d.path == self.path) else {
            return Err(DiskMismatch::Gone);
        };
        let what = if now.serial != self.serial || now.by_id != self.by_id {
            format!(
                "another disk is there now{}",
                now.serial
                    .as_ref()
                    .map(|s| format!(" (serial {s})"))
                    .unwrap_or_default()
            )
        } else if now.bytes != self.bytes {
            format!("its size went from {} to {}", self.bytes, now.bytes)
        } else {
            format!("it is now listed as {}", now.device)
        };
        Err(DiskMismatch::Changed(what))
    }
}

/// Why a chosen disk no longer names a listed disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskMismatch {
    /// Nothing is listed at its write path (unplugged, or renamed).
    Gone,
    /// Something else is listed there, in words.
    Changed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMode {
    Uefi,
    Bios,
}

/// This machine's facts, shown on Welcome and checked against the client's prerequisites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    pub identity: HostIdentity,
    pub ram: Bytes,
    pub cpus: usize,
    pub cpu_model: String,
    pub boot_mode: BootMode,
    /// Secure Boot state when the firmware tells it (UEFI only).
    pub secure_boot: Option<bool>,
    /// (interface name, MAC address)
    pub nics: Vec<(String, String)>,
}

/// AWS's failback client refuses below this MemTotal ("requires at least 4GiB of RAM").
pub const MIN_RAM: Bytes = Bytes(3_800_000 * 1024);
