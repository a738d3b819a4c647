//! The DRS operations: request validation, permissions, paging and AWS-shaped errors.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::failback_client;
use super::scenario::{CredentialSpec, Policy, is_recovery_instance_id, is_source_server_id};
use super::sigv4::{hex, sha256_hex};
use super::state::{Refusal, World};
use crate::domain::time;

pub(crate) const OPERATIONS: &[&str] = &[
    "DescribeRecoveryInstances",
    "DescribeSourceServers",
    "GetFailbackReplicationConfiguration",
    "UpdateFailbackReplicationConfiguration",
    "StartFailbackLaunch",
    "StopFailback",
    "DescribeJobs",
    "DescribeJobLogItems",
    "TerminateRecoveryInstances",
    "DisconnectRecoveryInstance",
];

/// What the failback installation policy allows among the public operations (it allows
/// every private action of `failback_client`).
const INSTALLATION_POLICY_OPERATIONS: &[&str] =
    &["DescribeRecoveryInstances", "DescribeSourceServers"];

const DEFAULT_MAX_RESULTS: usize = 1000;
const INSTANCE_ID_PATTERN: &str = "^i-[0-9a-fA-F]{8,}$";
const SOURCE_SERVER_ID_PATTERN: &str = "^s-[0-9a-zA-Z]{17}$";
const JOB_ID_PATTERN: &str = "^drsjob-[0-9a-zA-Z]{17}$";

#[derive(Debug)]
pub(crate) enum ApiError {
    Validation {
        message: String,
        reason: &'static str,
        fields: Vec<(String, String)>,
    },
    NotFound(String),
    Conflict(String, String),
    AccessDenied(String),
    Throttling {
        retry_after_ms: u64,
    },
    Internal {
        retry_after_ms: u64,
    },
    UnknownOperation,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation { .. } => 400,
            ApiError::AccessDenied(_) => 403,
            ApiError::NotFound(_) | ApiError::UnknownOperation => 404,
            ApiError::Conflict(..) => 409,
            ApiError::Throttling { .. } => 429,
            ApiError::Internal { .. } => 500,
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::NotFound(_) => "ResourceNotFoundException",
            ApiError::Conflict(..) => "ConflictException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::Throttling { .. } => "ThrottlingException",
            ApiError::Internal { .. } => "InternalServerException",
            ApiError::UnknownOperation => "UnknownOperationException",
        }
    }

    /// Milliseconds the client should wait, for retryable errors.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ApiError::Throttling { retry_after_ms } | ApiError::Internal { retry_after_ms } => {
                Some(*retry_after_ms)
            }
            _ => None,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::Validation {
                message,
                reason,
                fields,
            } => json!({
                "message": message,
                "reason": reason,
                "fieldList": fields.iter().map(|(n, m)| json!({"name": n, "message": m})).collect::<Vec<_>>(),
            }),
            ApiError::NotFound(id) => json!({
                "message": format!("Recovery Instance {id} could not be found"),
                "resourceId": id,
                "resourceType": "RECOVERY_INSTANCE",
            }),
            ApiError::Conflict(id, message) => json!({
                "message": message,
                "resourceId": id,
                "resourceType": "RECOVERY_INSTANCE",
            }),
            ApiError::AccessDenied(message) => json!({"message": message}),
            ApiError::Throttling { .. } => json!({"message": "Rate exceeded"}),
            ApiError::Internal { .. } => {
                json!({"message": "An internal error occurred. Please retry your request."})
            }
            ApiError::UnknownOperation => {
                json!({"message": "The requested operation is not recognized by the service."})
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(id) => ApiError::NotFound(id),
            Refusal::Conflict(id, message) => ApiError::Conflict(id, message),
            Refusal::Invalid(message) => ApiError::Validation {
                message,
                reason: "other",
                fields: Vec::new(),
            },
        }
    }
}

pub(super) fn invalid(field: &str, constraint: &str, value: &str) -> ApiError {
    ApiError::Validation {
        message: format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
        reason: "fieldValidationFailed",
        fields: vec![(field.to_string(), constraint.to_string())],
    }
}

fn cannot_parse(message: String) -> ApiError {
    ApiError::Validation {
        message,
        reason: "cannotParse",
        fields: Vec::new(),
    }
}

fn wrong_type(field: &str, expected: &str) -> ApiError {
    cannot_parse(format!("Field '{field}' must be {expected}"))
}

// ---- typed access to the JSON request ----

pub(super) fn get_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

fn get_obj<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(wrong_type(field, "an object")),
    }
}

fn get_strings(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(field, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(wrong_type(field, "a list of strings")),
    }
}

fn list_text(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn check_ids(
    ids: &[String],
    field: &str,
    max: usize,
    valid: fn(&str) -> bool,
    pattern: &str,
) -> Result<(), ApiError> {
    if ids.len() > max {
        return Err(invalid(
            field,
            &format!("Member must have length less than or equal to {max}"),
            &list_text(ids),
        ));
    }
    match ids.iter().position(|id| !valid(id)) {
        Some(i) => Err(invalid(
            &format!("{field}.{}.member", i + 1),
            &format!("Member must satisfy regular expression pattern: {pattern}"),
            &ids[i],
        )),
        None => Ok(()),
    }
}

fn required_ids(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, ApiError> {
    let ids = get_strings(obj, field)?;
    if ids.is_empty() {
        return Err(invalid(
            field,
            "Member must have length greater than or equal to 1",
            "[]",
        ));
    }
    check_ids(
        &ids,
        field,
        200,
        is_recovery_instance_id,
        INSTANCE_ID_PATTERN,
    )?;
    Ok(ids)
}

pub(super) fn required_instance_id(obj: &Map<String, Value>) -> Result<String, ApiError> {
    let field = "recoveryInstanceID";
    let id =
        get_str(obj, field)?.ok_or_else(|| invalid(field, "Member must not be null", "null"))?;
    check_ids(
        &[id.to_string()],
        field,
        1,
        is_recovery_instance_id,
        INSTANCE_ID_PATTERN,
    )
    .map_err(|_| {
        invalid(
            field,
            &format!("Member must satisfy regular expression pattern: {INSTANCE_ID_PATTERN}"),
            id,
        )
    })?;
    Ok(id.to_string())
}

fn max_results(obj: &Map<String, Value>) -> Result<usize, ApiError> {
    match obj.get("maxResults") {
        None | Some(Value::Null) => Ok(DEFAULT_MAX_RESULTS),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => Ok((n as usize).min(DEFAULT_MAX_RESULTS)),
            Some(n) => Err(invalid(
                "maxResults",
                "Member must have value greater than or equal to 1",
                &n.to_string(),
            )),
            None => Err(wrong_type("maxResults", "an integer")),
        },
    }
}

// ---- paging: opaque tokens bound to the request's filters ----

fn fingerprint(filters: &Value) -> String {
    sha256_hex(filters.to_string().as_bytes())[..16].to_string()
}

fn make_token(op: &str, position: usize, fingerprint: &str) -> String {
    hex(format!("{op}|{position}|{fingerprint}").as_bytes())
}

/// The position after which the page starts, or None for the first page.
fn read_token(
    obj: &Map<String, Value>,
    op: &str,
    fingerprint: &str,
) -> Result<Option<usize>, ApiError> {
    let Some(token) = get_str(obj, "nextToken")? else {
        return Ok(None);
    };
    if token.len() > 2048 {
        return Err(invalid(
            "nextToken",
            "Member must have length less than or equal to 2048",
            token,
        ));
    }
    let bad = || cannot_parse("The nextToken provided is invalid or expired".into());
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(o), Some(p), Some(f), None) if o == op && f == fingerprint => {
            p.parse().map(Some).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// One page of `candidates` (already in order), each a position in that order; reads only
/// as far as the page needs.
fn page(
    candidates: impl IntoIterator<Item = usize>,
    after: Option<usize>,
    max: usize,
    newest_first: bool,
) -> (Vec<usize>, Option<usize>) {
    let mut items: Vec<usize> = candidates
        .into_iter()
        .filter(|c| match after {
            None => true,
            Some(a) if newest_first => *c < a,
            Some(a) => *c > a,
        })
        .take(max + 1)
        .collect();
    let more = items.len() > max;
    items.truncate(max);
    let next = if more { items.last().copied() } else { None };
    (items, next)
}

/// `{"items": [...]}`, the items moved in (`json!` would copy each one).
fn items_of(items: Vec<Value>) -> Value {
    let mut out = Map::new();
    out.insert("items".into(), Value::Array(items));
    Value::Object(out)
}

fn with_token(mut out: Value, op: &str, next: Option<usize>, fp: &str) -> Value {
    if let Some(n) = next {
        out["nextToken"] = json!(make_token(op, n, fp));
    }
    out
}

// ---- permissions ----

pub(super) fn authorize(
    world: &World,
    caller: &CredentialSpec,
    op: &str,
    ids: &[String],
) -> Result<(), ApiError> {
    for id in ids {
        if let Some(idx) = world.find(id)
            && world.instances[idx].spec.deny.iter().any(|d| d == op)
        {
            return Err(ApiError::AccessDenied(format!(
                "User: {} is not authorized to perform: drs:{op} on resource: {} with an explicit deny in an identity-based policy",
                caller.principal,
                world.instance_arn(id)
            )));
        }
    }
    if caller.policy == Policy::FailbackInstallation
        && !INSTALLATION_POLICY_OPERATIONS.contains(&op)
        && !failback_client::OPERATIONS.contains(&op)
    {
        let on = ids
            .first()
            .map(|id| format!(" on resource: {}", world.instance_arn(id)))
            .unwrap_or_default();
        return Err(ApiError::AccessDenied(format!(
            "User: {} is not authorized to perform: drs:{op}{on} because no identity-based policy allows the drs:{op} action",
            caller.principal
        )));
    }
    Ok(())
}

/// The operations that change nothing: answered under a shared lock, side by side.
pub(crate) fn changes_nothing(op: &str) -> bool {
    matches!(
        op,
        "DescribeRecoveryInstances"
            | "DescribeSourceServers"
            | "DescribeJobs"
            | "DescribeJobLogItems"
    )
}

/// Counts the request, plays the scenario's faults, parses the body.
fn admit(world: &World, op: &str, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if !OPERATIONS.contains(&op) && !failback_client::OPERATIONS.contains(&op) {
        return Err(ApiError::UnknownOperation);
    }
    let n = world.count_request(op);
    let faults = &world.scenario.faults;
    if let Some(f) = faults.operations.get(op) {
        let retry_after_ms = faults.retry_after_ms;
        if f.server_error_every.is_some_and(|e| n.is_multiple_of(e)) {
            return Err(ApiError::Internal { retry_after_ms });
        }
        if f.throttle_every.is_some_and(|e| n.is_multiple_of(e)) {
            return Err(ApiError::Throttling { retry_after_ms });
        }
    }
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| cannot_parse(format!("Could not parse request body into json: {e}")))?
    };
    let Value::Object(req) = parsed else {
        return Err(cannot_parse(
            "The request body must be a JSON object".into(),
        ));
    };
    Ok(req)
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Answers one request that `changes_nothing`, as the response body.
pub(crate) fn handle_read(
    world: &World,
    t: f64,
    caller: &CredentialSpec,
    op: &str,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let req = admit(world, op, body)?;
    match op {
        "DescribeRecoveryInstances" => describe_recovery_instances(world, t, caller, &req),
        "DescribeSourceServers" => describe_source_servers(world, caller, &req).map(|v| bytes(&v)),
        "DescribeJobs" => describe_jobs(world, t, caller, &req).map(|v| bytes(&v)),
        "DescribeJobLogItems" => describe_job_log_items(world, t, caller, &req).map(|v| bytes(&v)),
        _ => Err(ApiError::UnknownOperation),
    }
}

/// Answers one request from an authenticated caller, as the response body.
pub(crate) fn handle(
    world: &mut World,
    t: f64,
    caller: &CredentialSpec,
    op: &str,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    if changes_nothing(op) {
        return handle_read(world, t, caller, op, body);
    }
    let req = admit(world, op, body)?;
    if failback_client::OPERATIONS.contains(&op) {
        return failback_client::handle(world, t, caller, op, &req).map(|v| bytes(&v));
    }
    change(world, t, caller, op, &req).map(|v| bytes(&v))
}

fn change(
    world: &mut World,
    t: f64,
    caller: &CredentialSpec,
    op: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    match op {
        "GetFailbackReplicationConfiguration" => {
            let id = required_instance_id(&req)?;
            authorize(world, caller, op, std::slice::from_ref(&id))?;
            let c = world.config(&id)?;
            Ok(json!({
                "recoveryInstanceID": id,
                "name": c.name,
                "bandwidthThrottling": c.bandwidth_mbps,
                "usePrivateIP": c.use_private_ip,
            }))
        }
        "UpdateFailbackReplicationConfiguration" => update_configuration(world, caller, &req),
        "StartFailbackLaunch" => {
            let ids = required_ids(&req, "recoveryInstanceIDs")?;
            let tags = tags(&req)?;
            authorize(world, caller, op, &ids)?;
            let job = world.start_failback_launch(t, &ids, tags)?;
            Ok(json!({"job": job}))
        }
        "StopFailback" => {
            let id = required_instance_id(&req)?;
            authorize(world, caller, op, std::slice::from_ref(&id))?;
            world.stop_failback(t, &id)?;
            Ok(json!({}))
        }
        "TerminateRecoveryInstances" => {
            let ids = required_ids(&req, "recoveryInstanceIDs")?;
            authorize(world, caller, op, &ids)?;
            let job = world.terminate(t, &ids)?;
            Ok(json!({"job": job}))
        }
        "DisconnectRecoveryInstance" => {
            let id = required_instance_id(&req)?;
            authorize(world, caller, op, std::slice::from_ref(&id))?;
            world.disconnect(&id)?;
            Ok(json!({}))
        }
        _ => Err(ApiError::UnknownOperation),
    }
}

fn tags(req: &Map<String, Value>) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(obj) = get_obj(req, "tags")? else {
        return Ok(BTreeMap::new());
    };
    if obj.len() > 50 {
        return Err(invalid(
            "tags",
            "Member must have length less than or equal to 50",
            &format!("{} tags", obj.len()),
        ));
    }
    obj.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_string()))
                .ok_or_else(|| wrong_type("tags", "a map of strings"))
        })
        .collect()
}

fn describe_recovery_instances(
    world: &World,
    t: f64,
    caller: &CredentialSpec,
    req: &Map<String, Value>,
) -> Result<Vec<u8>, ApiError> {
    const OP: &str = "DescribeRecoveryInstances";
    let filters = get_obj(req, "filters")?;
    let empty = Map::new();
    let f = filters.unwrap_or(&empty);
    let ids = get_strings(f, "recoveryInstanceIDs")?;
    check_ids(
        &ids,
        "filters.recoveryInstanceIDs",
        200,
        is_recovery_instance_id,
        INSTANCE_ID_PATTERN,
    )?;
    let sources = get_strings(f, "sourceServerIDs")?;
    check_ids(
        &sources,
        "filters.sourceServerIDs",
        200,
        is_source_server_id,
        SOURCE_SERVER_ID_PATTERN,
    )?;
    let max = max_results(req)?;
    let fp = fingerprint(&json!([ids, sources]));
    let after = read_token(req, OP, &fp)?;
    authorize(world, caller, OP, &[])?;
    // From the page's start on, not from the first instance.
    let candidates = (after.map_or(0, |a| a + 1)..world.instances.len()).filter(|&i| {
        let inst = &world.instances[i];
        !inst.removed
            && (ids.is_empty() || ids.contains(&inst.spec.id))
            && (sources.is_empty() || sources.contains(&inst.spec.source_server_id))
    });
    let (items, next) = page(candidates, after, max, false);
    // Written straight to bytes, each instance from its cache while unchanged.
    let mut out = Vec::with_capacity(64 + items.len() * 1536);
    out.extend_from_slice(b"{\"items\":[");
    for (k, &i) in items.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        world.write_instance_json(i, t, &mut out);
    }
    out.push(b']');
    if let Some(n) = next {
        out.extend_from_slice(b",\"nextToken\":");
        out.extend_from_slice(&bytes(&json!(make_token(OP, n, &fp))));
    }
    out.push(b'}');
    Ok(out)
}

fn describe_source_servers(
    world: &World,
    caller: &CredentialSpec,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    const OP: &str = "DescribeSourceServers";
    let empty = Map::new();
    let f = get_obj(req, "filters")?.unwrap_or(&empty);
    let ids = get_strings(f, "sourceServerIDs")?;
    check_ids(
        &ids,
        "filters.sourceServerIDs",
        200,
        is_source_server_id,
        SOURCE_SERVER_ID_PATTERN,
    )?;
    let hardware = get_str(f, "hardwareId")?.map(str::to_ascii_lowercase);
    let accounts = get_strings(f, "stagingAccountIDs")?;
    let max = max_results(req)?;
    let fp = fingerprint(&json!([ids, hardware, accounts]));
    let after = read_token(req, OP, &fp)?;
    authorize(world, caller, OP, &[])?;
    let own_account = accounts.is_empty() || accounts.contains(&world.scenario.account_id);
    let candidates = (0..world.instances.len()).filter(|&i| {
        let s = &world.instances[i].spec;
        let hardware_matches = hardware.as_deref().is_none_or(|h| {
            s.aws_instance_id
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
                == Some(h)
                || s.vmware_uuid
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                    == Some(h)
                || s.nics.iter().any(|n| n.mac == h)
        });
        own_account && (ids.is_empty() || ids.contains(&s.source_server_id)) && hardware_matches
    });
    let (items, next) = page(candidates, after, max, false);
    let items: Vec<Value> = items.iter().map(|&i| world.source_server_json(i)).collect();
    Ok(with_token(items_of(items), OP, next, &fp))
}

fn update_configuration(
    world: &mut World,
    caller: &CredentialSpec,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let id = required_instance_id(req)?;
    let name = get_str(req, "name")?;
    if name.is_some_and(|n| n.len() > 256) {
        return Err(invalid(
            "name",
            "Member must have length less than or equal to 256",
            name.unwrap_or_default(),
        ));
    }
    let bandwidth = match req.get("bandwidthThrottling") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(n as u64),
            Some(n) => {
                return Err(invalid(
                    "bandwidthThrottling",
                    "Member must have value greater than or equal to 0",
                    &n.to_string(),
                ));
            }
            None => return Err(wrong_type("bandwidthThrottling", "an integer")),
        },
    };
    let private_ip = match req.get("usePrivateIP") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(wrong_type("usePrivateIP", "a boolean")),
    };
    authorize(
        world,
        caller,
        "UpdateFailbackReplicationConfiguration",
        std::slice::from_ref(&id),
    )?;
    let config = world.config(&id)?;
    if let Some(n) = name {
        config.name = n.to_string();
    }
    if let Some(b) = bandwidth {
        config.bandwidth_mbps = b;
    }
    if let Some(p) = private_ip {
        config.use_private_ip = p;
    }
    Ok(json!({}))
}

fn date_filter(f: &Map<String, Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match get_str(f, field)? {
        None => Ok(None),
        Some(s) => time::parse_iso8601(s).map(Some).ok_or_else(|| {
            invalid(
                &format!("filters.{field}"),
                "Member must be an ISO 8601 date-time such as 2026-11-23T07:32:00Z",
                s,
            )
        }),
    }
}

fn describe_jobs(
    world: &World,
    t: f64,
    caller: &CredentialSpec,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    const OP: &str = "DescribeJobs";
    let empty = Map::new();
    let f = get_obj(req, "filters")?.unwrap_or(&empty);
    let ids = get_strings(f, "jobIDs")?;
    check_ids(
        &ids,
        "filters.jobIDs",
        1000,
        |id| {
            id.strip_prefix("drsjob-")
                .is_some_and(|r| r.len() == 17 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
        },
        JOB_ID_PATTERN,
    )?;
    let from = date_filter(f, "fromDate")?;
    let to = date_filter(f, "toDate")?;
    let max = max_results(req)?;
    let fp = fingerprint(&json!([ids, from, to]));
    let after = read_token(req, OP, &fp)?;
    authorize(world, caller, OP, &[])?;
    // Newest first: jobs are stored oldest first.
    let candidates = (0..world.jobs.len()).rev().filter(|&j| {
        let job = &world.jobs[j];
        let created = job.created.floor() as i64;
        (ids.is_empty() || ids.contains(&job.id))
            && from.is_none_or(|f| created >= f)
            && to.is_none_or(|to| created <= to)
    });
    let (items, next) = page(candidates, after, max, true);
    let items: Vec<Value> = items.iter().map(|&j| world.job_json(j, t)).collect();
    Ok(with_token(items_of(items), OP, next, &fp))
}

fn describe_job_log_items(
    world: &World,
    t: f64,
    caller: &CredentialSpec,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    const OP: &str = "DescribeJobLogItems";
    let job_id = get_str(req, "jobID")?
        .ok_or_else(|| invalid("jobID", "Member must not be null", "null"))?;
    let valid = job_id
        .strip_prefix("drsjob-")
        .is_some_and(|r| r.len() == 17 && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !valid {
        return Err(invalid(
            "jobID",
            &format!("Member must satisfy regular expression pattern: {JOB_ID_PATTERN}"),
            job_id,
        ));
    }
    let max = max_results(req)?;
    let fp = fingerprint(&json!(job_id));
    let after = read_token(req, OP, &fp)?;
    authorize(world, caller, OP, &[])?;
    // An unknown job simply has no log items.
    let log = world
        .jobs
        .iter()
        .position(|j| j.id == job_id)
        .map(|j| world.job_log_json(j, t))
        .unwrap_or_default();
    let (items, next) = page(0..log.len(), after, max, false);
    let items: Vec<Value> = items.iter().map(|&i| log[i].clone()).collect();
    Ok(with_token(items_of(items), OP, next, &fp))
}
