//! SDK shapes → the wizard's model. Missing fields become empty values, never panics.

use crate::domain::bytes::Bytes;
use crate::domain::model::*;
use aws_sdk_drs::types as t;

fn owned(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn non_negative(n: i64) -> u64 {
    n.max(0) as u64
}

pub fn recovery_instance(ri: &t::RecoveryInstance) -> RecoveryInstance {
    let props = ri.recovery_instance_properties();
    let hints = props.and_then(|p| p.identification_hints());
    RecoveryInstance {
        id: ri.recovery_instance_id().unwrap_or_default().to_owned(),
        source_server_id: ri.source_server_id().unwrap_or_default().to_owned(),
        ec2_instance_id: owned(ri.ec2_instance_id()),
        ec2_state: ri.ec2_instance_state().map(|s| s.as_str().into()),
        is_drill: ri.is_drill().unwrap_or(false),
        hints: IdentificationHints {
            hostname: owned(hints.and_then(|h| h.hostname())),
            fqdn: owned(hints.and_then(|h| h.fqdn())),
            vmware_uuid: owned(hints.and_then(|h| h.vm_ware_uuid())),
            aws_instance_id: owned(hints.and_then(|h| h.aws_instance_id())),
        },
        os: owned(props.and_then(|p| p.os()).and_then(|o| o.full_string())),
        macs: props
            .map(|p| p.network_interfaces())
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.mac_address())
            .map(str::to_lowercase)
            .collect(),
        private_ips: {
            let mut nics = props
                .map(|p| p.network_interfaces())
                .unwrap_or_default()
                .to_vec();
            nics.sort_by_key(|n| !n.is_primary().unwrap_or(false));
            nics.iter().flat_map(|n| n.ips().iter().cloned()).collect()
        },
        volumes: props
            .map(|p| p.disks())
            .unwrap_or_default()
            .iter()
            .map(|d| RecoveryVolume {
                device_name: d.internal_device_name().unwrap_or_default().to_owned(),
                bytes: Bytes(non_negative(d.bytes())),
            })
            .collect(),
        replication: ri
            .data_replication_info()
            .map(replication_info)
            .unwrap_or_default(),
        failback: ri.failback().map(failback_info).unwrap_or_default(),
    }
}

fn replication_info(d: &t::RecoveryInstanceDataReplicationInfo) -> ReplicationInfo {
    ReplicationInfo {
        state: d
            .data_replication_state()
            .map(|s| s.as_str().into())
            .unwrap_or_default(),
        error: d
            .data_replication_error()
            .and_then(|e| e.error())
            .map(|e| e.as_str().to_owned()),
        raw_error: owned(d.data_replication_error().and_then(|e| e.raw_error())),
        steps: d
            .data_replication_initiation()
            .map(|i| i.steps())
            .unwrap_or_default()
            .iter()
            .map(|s| InitiationStep {
                name: s.name().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                status: s.status().map(|n| n.as_str().into()).unwrap_or_default(),
            })
            .collect(),
        eta: owned(d.eta_date_time()),
        lag: owned(d.lag_duration()),
        disks: d
            .replicated_disks()
            .iter()
            .map(|r| ReplicatedDisk {
                device_name: r.device_name().unwrap_or_default().to_owned(),
                total: non_negative(r.total_storage_bytes()),
                replicated: non_negative(r.replicated_storage_bytes()),
                backlogged: non_negative(r.backlogged_storage_bytes()),
                rescanned: non_negative(r.rescanned_storage_bytes()),
            })
            .collect(),
    }
}

fn failback_info(f: &t::RecoveryInstanceFailback) -> FailbackInfo {
    FailbackInfo {
        state: f.state().map(|s| s.as_str().into()).unwrap_or_default(),
        job_id: owned(f.failback_job_id()),
        client_id: owned(f.failback_client_id()),
        initiated: owned(f.failback_initiation_time()),
        client_last_seen: owned(f.failback_client_last_seen_by_service_date_time()),
        agent_last_seen: owned(f.agent_last_seen_by_service_date_time()),
        to_original_server: f.failback_to_original_server(),
    }
}

pub fn job(j: &t::Job) -> Job {
    Job {
        id: j.job_id().to_owned(),
        kind: j.r#type().map(|k| k.as_str().into()).unwrap_or_default(),
        initiated_by: j
            .initiated_by()
            .map(|k| k.as_str().into())
            .unwrap_or_default(),
        status: j.status().map(|k| k.as_str().into()).unwrap_or_default(),
        created: owned(j.creation_date_time()),
        ended: owned(j.end_date_time()),
    }
}

pub fn job_log_item(l: &t::JobLog) -> JobLogItem {
    let data = l.event_data();
    let detail = data.and_then(|d| {
        d.raw_error()
            .map(|e| format!("error: {e}"))
            .or_else(|| d.target_instance_id().map(|i| format!("instance {i}")))
            .or_else(|| {
                d.conversion_server_id()
                    .map(|i| format!("conversion server {i}"))
            })
    });
    JobLogItem {
        time: l.log_date_time().unwrap_or_default().to_owned(),
        event: l.event().map(|e| e.as_str().into()).unwrap_or_default(),
        detail,
    }
}
