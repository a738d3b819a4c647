//! The failback client's side of the service: the private `*ForDrs` actions of the failback
//! installation policy, served like the public operations (`POST /<Action>`, restJson1,
//! SigV4, the scenario's credentials and policies), so any client watching the emulator sees
//! replication move and the failback client can be a process of its own.
//!
//! # Shapes: emulator-only, not AWS's shapes
//!
//! AWS does not publish these actions; the names are the policy's, the fields are ours.
//! Errors are the public operations' (`x-amzn-errortype` and `{"message": ...}`).
//!
//! | action | request | response |
//! |---|---|---|
//! | `AssociateFailbackClientToRecoveryInstanceForDrs` | `recoveryInstanceID` | `failbackClientID` |
//! | `GetSuggestedFailbackClientDeviceMappingForDrs` | `recoveryInstanceID`, `failbackClientID`, `localDevices[{deviceName, bytes}]` | `deviceMapping[{recoveryInstanceDeviceName, failbackClientDeviceName}]` |
//! | `UpdateFailbackClientDeviceMappingForDrs` | `recoveryInstanceID`, `failbackClientID`, `deviceMapping[{recoveryInstanceDeviceName, failbackClientDeviceName}]` | `volumes[{recoveryInstanceDeviceName, failbackClientDeviceName, totalStorageBytes, usedStorageBytes, contentSeed}]` |
//! | `UpdateAgentReplicationInfoForDrs` | `recoveryInstanceID`, `failbackClientID`, `replicatedDisks[{deviceName, replicatedStorageBytes, backloggedStorageBytes, rescannedStorageBytes}]` | status |
//! | `SendClientMetricsForDrs` (the heartbeat) | `recoveryInstanceID`, `failbackClientID` | status |
//!
//! status: `failbackState`, `dataReplicationState`, `steps[{name, status}]` (the initiation
//! steps), `bytesPerSecond` (what the client may send now: 0 while initiating, stalled or cut
//! off; it stands in for the agent's stream over TCP 1500), `failbackJobID` once a failback
//! launch started. `usedStorageBytes` and `contentSeed` say what the volume holds
//! (`content::VolumeContent`): the data the agent would send.
//!
//! Associating pairs a new client (an earlier one loses its pairing); the initiation steps
//! start when the device mapping arrives, which can be set once per client.

use serde_json::{Map, Value, json};

use super::ops::{ApiError, authorize, get_str, invalid, required_instance_id};
use super::scenario::CredentialSpec;
use super::state::{ClientStatus, DiskReport, World};
use crate::domain::bytes::Bytes;
use crate::domain::fit::{Fit, fit};

pub(crate) const OPERATIONS: &[&str] = &[
    "AssociateFailbackClientToRecoveryInstanceForDrs",
    "GetSuggestedFailbackClientDeviceMappingForDrs",
    "UpdateFailbackClientDeviceMappingForDrs",
    "UpdateAgentReplicationInfoForDrs",
    "SendClientMetricsForDrs",
];

const DEVICE_KEY: &str = "recoveryInstanceDeviceName";
const TARGET_KEY: &str = "failbackClientDeviceName";

fn required_str<'a>(req: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    get_str(req, field)?.ok_or_else(|| invalid(field, "Member must not be null", "null"))
}

fn required_u64(obj: &Map<String, Value>, field: &str) -> Result<u64, ApiError> {
    obj.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(field, "Member must be a non-negative integer", "null"))
}

fn list<'a>(
    req: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    let items = req
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(field, "Member must be a list", "null"))?;
    items
        .iter()
        .map(|v| {
            v.as_object()
                .ok_or_else(|| invalid(field, "Member must be a list of objects", &v.to_string()))
        })
        .collect()
}

fn status_json(s: &ClientStatus) -> Value {
    let mut out = json!({
        "failbackState": s.failback_state,
        "dataReplicationState": s.replication_state,
        "steps": s.initiation_steps.iter().map(|(n, st)| json!({"name": n, "status": st})).collect::<Vec<_>>(),
        "bytesPerSecond": s.bytes_per_second,
    });
    if let Some(job) = &s.failback_job_id {
        out["failbackJobID"] = json!(job);
    }
    out
}

/// Answers one private action from an authenticated caller.
pub(crate) fn handle(
    world: &mut World,
    t: f64,
    caller: &CredentialSpec,
    op: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let id = required_instance_id(req)?;
    authorize(world, caller, op, std::slice::from_ref(&id))?;
    if op == "AssociateFailbackClientToRecoveryInstanceForDrs" {
        let client = world.associate(t, &id)?;
        return Ok(json!({"failbackClientID": client}));
    }
    let client = required_str(req, "failbackClientID")?;
    match op {
        "GetSuggestedFailbackClientDeviceMappingForDrs" => {
            let mut local = Vec::new();
            for d in list(req, "localDevices")? {
                local.push((
                    required_str(d, "deviceName")?.to_string(),
                    required_u64(d, "bytes")?,
                ));
            }
            world.client_status(t, &id, client)?;
            let idx = world
                .find(&id)
                .ok_or_else(|| ApiError::NotFound(id.clone()))?;
            let mut taken = vec![false; local.len()];
            let mapping: Vec<Value> = world.instances[idx]
                .spec
                .volumes
                .iter()
                .map(|v| {
                    // Volumes in order, each to the first free local device it fits on.
                    let target = local.iter().enumerate().position(|(i, (_, bytes))| {
                        !taken[i]
                            && !matches!(fit(Bytes(v.bytes), Bytes(*bytes)), Fit::TooSmall { .. })
                    });
                    let name = match target {
                        Some(i) => {
                            taken[i] = true;
                            local[i].0.clone()
                        }
                        None => "EXCLUDE".to_string(),
                    };
                    json!({DEVICE_KEY: v.device, TARGET_KEY: name})
                })
                .collect();
            Ok(json!({"deviceMapping": mapping}))
        }
        "UpdateFailbackClientDeviceMappingForDrs" => {
            let mut mapping = Vec::new();
            for e in list(req, "deviceMapping")? {
                let target = required_str(e, TARGET_KEY)?;
                if !target.eq_ignore_ascii_case("EXCLUDE") {
                    mapping.push((required_str(e, DEVICE_KEY)?.to_string(), target.to_string()));
                }
            }
            let volumes = world.map_devices(t, &id, client, &mapping)?;
            Ok(json!({"volumes": volumes.iter().map(|v| json!({
                DEVICE_KEY: v.volume,
                TARGET_KEY: v.device,
                "totalStorageBytes": v.total_bytes,
                "usedStorageBytes": v.used_bytes,
                "contentSeed": v.content_seed,
            })).collect::<Vec<_>>()}))
        }
        "UpdateAgentReplicationInfoForDrs" => {
            let mut disks = Vec::new();
            for d in list(req, "replicatedDisks")? {
                disks.push(DiskReport {
                    volume: required_str(d, "deviceName")?.to_string(),
                    replicated: required_u64(d, "replicatedStorageBytes")?,
                    backlogged: d
                        .get("backloggedStorageBytes")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    rescanned: d
                        .get("rescannedStorageBytes")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                });
            }
            world.report_progress(t, &id, client, &disks)?;
            Ok(status_json(&world.client_status(t, &id, client)?))
        }
        "SendClientMetricsForDrs" => Ok(status_json(&world.client_status(t, &id, client)?)),
        _ => Err(ApiError::UnknownOperation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::scenario::Scenario;

    const ID: &str = "i-0123456789abcdef0";

    fn world(deny: &str) -> World {
        let scenario = format!(
            r#"{{
          "region": "us-east-1", "account_id": "123456789012",
          "demo_host": {{"hostname": "h"}}, "demo_disks": [],
          "credentials": [{{"label": "fb", "description": "d", "access_key_id": "AKIADEMO0000000000FB",
            "secret_access_key": "0000000000000000000000000000000000000000",
            "policy": "failback-installation", "principal": "arn:aws:iam::123456789012:user/fb"}}],
          "timings": {{"initiation_step_seconds": [0,0,0,0,0,0,0], "launch_job_seconds": 20,
            "terminate_job_seconds": 10, "replication_rate_per_second": "1MiB"}},
          "recovery_instances": [{{"id": "{ID}", "source_server_id": "s-0123456789abcdef0",
            "os": "Linux", "ram": "1GiB", "deny": [{deny}],
            "volumes": [{{"device": "/dev/xvda", "size": "10GiB", "used": "1MiB", "content_seed": 9}},
                        {{"device": "/dev/xvdb", "size": "2GiB"}}]}}]
        }}"#
        );
        World::new(
            Scenario::from_json(&scenario).expect("scenario"),
            1_795_419_120.0,
        )
    }

    fn call(w: &mut World, op: &str, req: Value) -> Result<Value, ApiError> {
        let caller = w.scenario.credentials[0].clone();
        let Value::Object(req) = req else {
            panic!("an object")
        };
        handle(w, 1.0, &caller, op, &req)
    }

    fn associate(w: &mut World) -> String {
        let v = call(
            w,
            "AssociateFailbackClientToRecoveryInstanceForDrs",
            json!({"recoveryInstanceID": ID}),
        )
        .expect("associate");
        v["failbackClientID"].as_str().expect("id").to_string()
    }

    #[test]
    fn the_installation_policy_may_pair_and_a_deny_still_refuses() {
        let mut w = world("");
        associate(&mut w);
        let mut denied = world(r#""AssociateFailbackClientToRecoveryInstanceForDrs""#);
        let err = call(
            &mut denied,
            "AssociateFailbackClientToRecoveryInstanceForDrs",
            json!({"recoveryInstanceID": ID}),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "AccessDeniedException");
    }

    #[test]
    fn the_suggestion_fits_each_volume_in_order_and_excludes_what_fits_nowhere() {
        let mut w = world("");
        let client = associate(&mut w);
        let local = json!([
            {"deviceName": "/dev/sdb", "bytes": 1u64 << 30},
            // 9.75 GiB: the fractional-GiB rule lets it take the 10 GiB volume.
            {"deviceName": "/dev/sdc", "bytes": 10_468_982_784u64},
        ]);
        let v = call(
            &mut w,
            "GetSuggestedFailbackClientDeviceMappingForDrs",
            json!({"recoveryInstanceID": ID, "failbackClientID": client, "localDevices": local}),
        )
        .expect("suggestion");
        assert_eq!(
            v["deviceMapping"],
            json!([
                {"recoveryInstanceDeviceName": "/dev/xvda", "failbackClientDeviceName": "/dev/sdc"},
                {"recoveryInstanceDeviceName": "/dev/xvdb", "failbackClientDeviceName": "EXCLUDE"},
            ])
        );
    }

    #[test]
    fn the_mapping_answers_the_volumes_content_and_skips_excluded_ones() {
        let mut w = world("");
        let client = associate(&mut w);
        let v = call(
            &mut w,
            "UpdateFailbackClientDeviceMappingForDrs",
            json!({"recoveryInstanceID": ID, "failbackClientID": client, "deviceMapping": [
                {"recoveryInstanceDeviceName": "/dev/xvda", "failbackClientDeviceName": "/dev/sdb"},
                {"recoveryInstanceDeviceName": "/dev/xvdb", "failbackClientDeviceName": "exclude"},
            ]}),
        )
        .expect("mapping");
        assert_eq!(
            v["volumes"],
            json!([{"recoveryInstanceDeviceName": "/dev/xvda", "failbackClientDeviceName": "/dev/sdb",
                    "totalStorageBytes": 10u64 << 30, "usedStorageBytes": 1u64 << 20, "contentSeed": 9}])
        );
        let status = call(
            &mut w,
            "SendClientMetricsForDrs",
            json!({"recoveryInstanceID": ID, "failbackClientID": client}),
        )
        .expect("heartbeat");
        assert_eq!(status["dataReplicationState"], "INITIAL_SYNC");
        assert_eq!(status["bytesPerSecond"], 1 << 20);
        assert_eq!(status["steps"].as_array().map(Vec::len), Some(7));
        assert!(status.get("failbackJobID").is_none());
        let err = call(
            &mut w,
            "UpdateAgentReplicationInfoForDrs",
            json!({"recoveryInstanceID": ID, "failbackClientID": client,
                   "replicatedDisks": [{"deviceName": "/dev/xvdb", "replicatedStorageBytes": 1}]}),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "ValidationException", "xvdb was excluded");
        let err = call(
            &mut w,
            "SendClientMetricsForDrs",
            json!({"recoveryInstanceID": ID}),
        )
        .unwrap_err();
        assert_eq!(
            err.error_type(),
            "ValidationException",
            "no failbackClientID"
        );
    }
}
