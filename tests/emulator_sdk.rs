//! The DRS emulator driven through the real aws-sdk-drs client (and, where the SDK cannot
//! reach, raw HTTP): paging, filters, every error class, SigV4 rejections and a whole failback.

mod common;
use common::sandbox::Sandbox;
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_sdk_drs::Client;
use aws_sdk_drs::config::retry::RetryConfig;
use aws_sdk_drs::config::timeout::TimeoutConfig;
use aws_sdk_drs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_drs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_drs::primitives::{DateTime, DateTimeFormat};
use aws_sdk_drs::types::{
    DescribeJobsRequestFilters, DescribeRecoveryInstancesRequestFilters,
    DescribeSourceServersRequestFilters, RecoveryInstance,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use drs_failback::domain::mapping::DmValueFormat;
use drs_failback::drs::{DrsClient, StaticCredentials};
use drs_failback::emulator::{Emulator, Scenario};
use drs_failback::replicator::failback_entry::FailbackEntry;
use drs_failback::replicator::{ReplicationPlan, Replicator, ReplicatorEvent, VolumeTarget};
use drs_failback::standin::devices::DEMO_DISKS_ENV;

const DEFAULT: &str = include_str!("../assets/demo-scenario.json");
const MIB: u64 = 1 << 20;
/// Bound on condition polls (each a few ms apart); a safety net, not a timing assumption.
const MAX_POLLS: usize = 2000;

fn default_json() -> Value {
    serde_json::from_str(DEFAULT).expect("default scenario is JSON")
}

/// The default scenario, fast and without scripted faults, then `edit`ed.
fn scenario(edit: impl FnOnce(&mut Value)) -> Scenario {
    let mut v = default_json();
    v["time_scale"] = json!(1000.0);
    v["faults"] = json!({});
    edit(&mut v);
    Scenario::from_json(&v.to_string()).expect("test scenario")
}

fn instance_id(n: usize) -> String {
    default_json()["recovery_instances"][n]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn all_instance_ids() -> HashSet<String> {
    default_json()["recovery_instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

fn index_of_host(host: &str) -> usize {
    default_json()["recovery_instances"]
        .as_array()
        .expect("instances")
        .iter()
        .position(|i| i["hostname"] == host)
        .expect("host in scenario")
}

async fn start(s: Scenario) -> Emulator {
    Emulator::start("127.0.0.1:0".parse().expect("addr"), s)
        .await
        .expect("emulator starts")
}

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50))
}

fn client_with(emu: &Emulator, creds: &StaticCredentials, retry: RetryConfig) -> Client {
    let config = aws_sdk_drs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(emu.region()))
        .endpoint_url(emu.endpoint())
        .credentials_provider(Credentials::new(
            &creds.access_key_id,
            &creds.secret_access_key,
            creds.session_token.clone(),
            None,
            "emulator-test",
        ))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

fn credential(emu: &Emulator, label: &str) -> StaticCredentials {
    emu.credentials()
        .into_iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("credential {label}"))
        .credentials
}

fn full_client(emu: &Emulator) -> Client {
    client_with(emu, &credential(emu, "full access"), fast_retries())
}

/// The SDK's error code, whether the error is modelled for the operation or not.
fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_string()
}

fn message<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.message().unwrap_or_default().to_string()
}

/// Polls `check` until it yields a value; bounded, so a broken emulator fails the test.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let wait = async {
        for _ in 0..MAX_POLLS {
            if let Some(v) = check().await {
                return Some(v);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(60), wait).await {
        Ok(Some(v)) => v,
        _ => panic!("gave up waiting for {what}"),
    }
}

async fn describe(client: &Client, id: &str) -> Option<RecoveryInstance> {
    client
        .describe_recovery_instances()
        .filters(
            DescribeRecoveryInstancesRequestFilters::builder()
                .recovery_instance_ids(id)
                .build(),
        )
        .send()
        .await
        .expect("describe")
        .items()
        .first()
        .cloned()
}

/// The jobs DescribeJobs gives for one job id.
async fn jobs_by_id(client: &Client, job_id: &str) -> Vec<aws_sdk_drs::types::Job> {
    client
        .describe_jobs()
        .filters(
            DescribeJobsRequestFilters::builder()
                .job_ids(job_id)
                .build(),
        )
        .send()
        .await
        .expect("jobs by id")
        .items()
        .to_vec()
}

fn failback_state(i: &RecoveryInstance) -> String {
    i.failback()
        .and_then(|f| f.state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

fn replication_state(i: &RecoveryInstance) -> String {
    i.data_replication_info()
        .and_then(|d| d.data_replication_state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

// ---- paging and filters ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_instance_exactly_once() {
    let emu = start(scenario(|_| {})).await;
    let client = full_client(&emu);

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .describe_recovery_instances()
            .max_results(10)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(page.items().len() <= 10);
        seen.extend(
            page.items()
                .iter()
                .map(|i| i.recovery_instance_id().unwrap_or_default().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), all_instance_ids().len());
    assert_eq!(
        seen.iter().cloned().collect::<HashSet<_>>(),
        all_instance_ids()
    );

    // The SDK's own paginator agrees.
    let items: Vec<_> = client
        .describe_recovery_instances()
        .max_results(7)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("paginator");
    let ids: Vec<_> = items
        .iter()
        .filter_map(|i| i.recovery_instance_id())
        .collect();
    assert_eq!(ids.len(), all_instance_ids().len());
    assert_eq!(
        ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>(),
        all_instance_ids()
    );

    // Jobs page newest first, each once.
    let jobs: Vec<_> = client
        .describe_jobs()
        .max_results(10)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), all_instance_ids().len());
    let created: Vec<_> = jobs.iter().filter_map(|j| j.creation_date_time()).collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );
    let unique: HashSet<_> = jobs.iter().map(|j| j.job_id()).collect();
    assert_eq!(unique.len(), jobs.len());

    // A token only works for the filters it was issued for.
    let first = client
        .describe_recovery_instances()
        .max_results(10)
        .send()
        .await
        .expect("first page");
    let err = client
        .describe_recovery_instances()
        .max_results(10)
        .filters(
            DescribeRecoveryInstancesRequestFilters::builder()
                .source_server_ids(
                    default_json()["recovery_instances"][0]["source_server_id"]
                        .as_str()
                        .expect("s-"),
                )
                .build(),
        )
        .set_next_token(first.next_token().map(str::to_string))
        .send()
        .await
        .expect_err("token for other filters");
    assert_eq!(code(&err), "ValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_instances_source_servers_and_jobs() {
    let emu = start(scenario(|_| {})).await;
    let client = full_client(&emu);
    let (main, fractional) = (instance_id(0), instance_id(2));

    let out = client
        .describe_recovery_instances()
        .filters(
            DescribeRecoveryInstancesRequestFilters::builder()
                .recovery_instance_ids(&fractional)
                .recovery_instance_ids(&main)
                .recovery_instance_ids("i-00000000000000000")
                .build(),
        )
        .send()
        .await
        .expect("filtered");
    let ids: HashSet<_> = out
        .items()
        .iter()
        .filter_map(|i| i.recovery_instance_id())
        .collect();
    assert_eq!(ids, HashSet::from([main.as_str(), fractional.as_str()]));

    let main_source = default_json()["recovery_instances"][0]["source_server_id"]
        .as_str()
        .expect("s-")
        .to_string();
    let out = client
        .describe_recovery_instances()
        .filters(
            DescribeRecoveryInstancesRequestFilters::builder()
                .source_server_ids(&main_source)
                .build(),
        )
        .send()
        .await
        .expect("by source server");
    assert_eq!(out.items().len(), 1);
    let web01 = &out.items()[0];
    assert_eq!(web01.recovery_instance_id(), Some(main.as_str()));
    let props = web01.recovery_instance_properties().expect("properties");
    assert_eq!(
        props.identification_hints().and_then(|h| h.hostname()),
        Some("web-01")
    );
    let disks: Vec<_> = props
        .disks()
        .iter()
        .map(|d| (d.internal_device_name().unwrap_or_default(), d.bytes()))
        .collect();
    assert_eq!(
        disks,
        vec![("/dev/xvda", 30 << 30), ("/dev/xvdb", 80 << 30)]
    );
    assert_eq!(replication_state(web01), "NOT_STARTED");
    assert_eq!(failback_state(web01), "FAILBACK_NOT_STARTED");

    // The source server keeps the original (fractional) disk size.
    let frac_source = default_json()["recovery_instances"][2]["source_server_id"]
        .as_str()
        .expect("s-")
        .to_string();
    let servers = client
        .describe_source_servers()
        .filters(
            DescribeSourceServersRequestFilters::builder()
                .source_server_ids(&frac_source)
                .build(),
        )
        .send()
        .await
        .expect("source servers");
    let disk = &servers.items()[0]
        .source_properties()
        .expect("props")
        .disks()[0];
    assert_eq!(disk.bytes(), 10_468_982_784);
    assert_eq!(
        servers.items()[0].recovery_instance_id(),
        Some(fractional.as_str())
    );

    // hardwareId finds a server by MAC.
    let by_mac = client
        .describe_source_servers()
        .filters(
            DescribeSourceServersRequestFilters::builder()
                .hardware_id("52:54:00:6B:1E:02")
                .build(),
        )
        .send()
        .await
        .expect("by mac");
    assert_eq!(by_mac.items().len(), 1);
    assert_eq!(
        by_mac.items()[0].source_server_id(),
        Some(main_source.as_str())
    );

    // Jobs by id and by date range.
    let job_id = web01.job_id().expect("recovery job").to_string();
    let jobs = jobs_by_id(&client, &job_id).await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        job.initiated_by().map(|i| i.as_str()),
        Some("START_RECOVERY")
    );
    let created = job.creation_date_time().expect("created").to_string();
    let in_range = client
        .describe_jobs()
        .filters(
            DescribeJobsRequestFilters::builder()
                .from_date(&created)
                .to_date(&created)
                .build(),
        )
        .send()
        .await
        .expect("jobs by date");
    assert!(in_range.items().iter().any(|j| j.job_id() == job_id));
    assert!(
        in_range
            .items()
            .iter()
            .all(|j| j.creation_date_time() == Some(created.as_str()))
    );
    let log = client
        .describe_job_log_items()
        .job_id(&job_id)
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("job log");
    let events: Vec<_> = log
        .iter()
        .filter_map(|l| l.event())
        .map(|e| e.as_str())
        .collect();
    assert_eq!(events.first(), Some(&"JOB_START"));
    assert_eq!(events.last(), Some(&"JOB_END"));
}

// ---- errors ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_reach_the_sdk_typed() {
    let emu = start(scenario(|_| {})).await;
    let client = full_client(&emu);
    let main = instance_id(0);

    // ValidationException, modelled for DescribeJobs.
    let err = client
        .describe_jobs()
        .max_results(0)
        .send()
        .await
        .expect_err("maxResults 0");
    let svc = err.into_service_error();
    assert!(svc.is_validation_exception(), "{svc:?}");
    if let aws_sdk_drs::operation::describe_jobs::DescribeJobsError::ValidationException(v) = &svc {
        assert_eq!(
            v.reason().map(|r| r.as_str()),
            Some("fieldValidationFailed")
        );
        assert_eq!(v.field_list()[0].name(), Some("maxResults"));
    }
    // More than 200 ids.
    let many: Vec<String> = (0..201).map(|n| format!("i-{n:017x}")).collect();
    let err = client
        .describe_recovery_instances()
        .filters(
            DescribeRecoveryInstancesRequestFilters::builder()
                .set_recovery_instance_ids(Some(many))
                .build(),
        )
        .send()
        .await
        .expect_err("201 ids");
    assert_eq!(code(&err), "ValidationException");
    assert!(
        message(&err).contains("less than or equal to 200"),
        "{}",
        message(&err)
    );

    // ResourceNotFoundException.
    let err = client
        .get_failback_replication_configuration()
        .recovery_instance_id("i-0000000000000dead")
        .send()
        .await
        .expect_err("unknown instance");
    assert!(err.into_service_error().is_resource_not_found_exception());

    // ConflictException: not ready for launch.
    let err = client
        .start_failback_launch()
        .recovery_instance_ids(&main)
        .send()
        .await
        .expect_err("not ready");
    let svc = err.into_service_error();
    assert!(svc.is_conflict_exception(), "{svc:?}");
    assert!(
        svc.message()
            .unwrap_or_default()
            .contains("FAILBACK_NOT_STARTED")
    );

    // Configuration round trip.
    client
        .update_failback_replication_configuration()
        .recovery_instance_id(&main)
        .bandwidth_throttling(200)
        .use_private_ip(true)
        .send()
        .await
        .expect("update");
    let conf = client
        .get_failback_replication_configuration()
        .recovery_instance_id(&main)
        .send()
        .await
        .expect("get");
    assert_eq!(
        (conf.bandwidth_throttling(), conf.use_private_ip()),
        (200, Some(true))
    );
    assert_eq!(conf.name(), Some("web-01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_for_the_installation_policy_and_explicit_denies() {
    let emu = start(scenario(|_| {})).await;
    let installer = client_with(
        &emu,
        &credential(&emu, "failback installation policy"),
        fast_retries(),
    );
    let main = instance_id(0);

    // What the policy allows works.
    let out = installer
        .describe_recovery_instances()
        .send()
        .await
        .expect("allowed");
    assert_eq!(out.items().len(), all_instance_ids().len());
    installer
        .describe_source_servers()
        .send()
        .await
        .expect("allowed");

    let err = installer
        .start_failback_launch()
        .recovery_instance_ids(&main)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(code(&err), "AccessDeniedException");
    assert_eq!(
        message(&err),
        format!(
            "User: arn:aws:sts::123456789012:assumed-role/DRSFailbackInstaller/failback-web-01 is not authorized to perform: drs:StartFailbackLaunch on resource: arn:aws:drs:us-east-1:123456789012:recovery-instance/{main} because no identity-based policy allows the drs:StartFailbackLaunch action"
        )
    );
    let err = installer
        .get_failback_replication_configuration()
        .recovery_instance_id(&main)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(code(&err), "AccessDeniedException");
    let err = installer.describe_jobs().send().await.expect_err("denied");
    assert_eq!(code(&err), "AccessDeniedException");
    assert!(message(&err).contains("drs:DescribeJobs because no identity-based policy"));

    // A per-instance deny refuses even full access.
    let payroll = instance_id(index_of_host("payroll-01"));
    let err = full_client(&emu)
        .terminate_recovery_instances()
        .recovery_instance_ids(&payroll)
        .send()
        .await
        .expect_err("explicit deny");
    assert_eq!(code(&err), "AccessDeniedException");
    assert!(message(&err).ends_with("with an explicit deny in an identity-based policy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_server_errors_surface_after_retries() {
    let emu = start(scenario(|v| {
        v["faults"] = json!({"retry_after_ms": 10, "operations": {
            "DescribeJobs": {"throttle_every": 2},
            "DescribeJobLogItems": {"server_error_every": 1}
        }});
    }))
    .await;
    let creds = credential(&emu, "full access");
    let retrying = client_with(&emu, &creds, fast_retries());
    let single = client_with(&emu, &creds, RetryConfig::disabled());

    // Request 1 passes; request 2 is throttled and the SDK retries it as request 3.
    retrying.describe_jobs().send().await.expect("first");
    retrying
        .describe_jobs()
        .send()
        .await
        .expect("throttled, then retried");
    // Request 4 is throttled again: without retries the error shows.
    let err = single.describe_jobs().send().await.expect_err("throttled");
    let svc = err.into_service_error();
    assert!(svc.is_throttling_exception(), "{svc:?}");
    if let aws_sdk_drs::operation::describe_jobs::DescribeJobsError::ThrottlingException(t) = &svc {
        assert_eq!(t.retry_after_seconds(), Some("1"));
    }

    let err = retrying
        .describe_job_log_items()
        .job_id("drsjob-0123456789abcdefg")
        .send()
        .await
        .expect_err("always 500");
    let svc = err.into_service_error();
    assert!(svc.is_internal_server_exception(), "{svc:?}");
}

// ---- SigV4 ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_rejections_match_the_aws_front_door() {
    let emu = start(scenario(|_| {})).await;
    let full = credential(&emu, "full access");
    let call = |creds: StaticCredentials| {
        let client = client_with(&emu, &creds, RetryConfig::disabled());
        async move {
            client
                .describe_recovery_instances()
                .send()
                .await
                .expect_err("refused")
        }
    };

    // StaticCredentials zeroes its secrets on drop: changed copies, not struct updates.
    let mut unknown = full.clone();
    unknown.access_key_id = "AKIADEMOUNKNOWN00000".into();
    let err = call(unknown).await;
    assert_eq!(code(&err), "UnrecognizedClientException");
    assert_eq!(
        message(&err),
        "The security token included in the request is invalid."
    );

    let mut wrong = full.clone();
    wrong.secret_access_key = "DemoOnly/ThisIsTheWrongSecretKey/0000000".into();
    let err = call(wrong).await;
    assert_eq!(code(&err), "InvalidSignatureException");
    assert!(message(&err).starts_with("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."));

    let err = call(credential(&emu, "expired session")).await;
    assert_eq!(code(&err), "ExpiredTokenException");
    assert_eq!(
        message(&err),
        "The security token included in the request is expired"
    );

    // A temporary key without its session token is not recognised.
    let mut tokenless = credential(&emu, "failback installation policy");
    tokenless.session_token = None;
    let err = call(tokenless).await;
    assert_eq!(code(&err), "UnrecognizedClientException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_gives_signature_expired_and_the_date_header_shows_server_time() {
    let emu = start(scenario(|v| v["clock_offset_seconds"] = json!(600))).await;
    let full = credential(&emu, "full access");

    let single = client_with(&emu, &full, RetryConfig::disabled());
    let err = single
        .describe_recovery_instances()
        .send()
        .await
        .expect_err("skewed");
    assert_eq!(code(&err), "InvalidSignatureException");
    let msg = message(&err);
    assert!(msg.starts_with("Signature expired: "), "{msg}");
    assert!(
        msg.contains(" is now earlier than ") && msg.ends_with(" - 5 min.)"),
        "{msg}"
    );
    let date = err
        .raw_response()
        .and_then(|r| r.headers().get("date"))
        .expect("Date header")
        .to_string();
    let server = SystemTime::try_from(
        DateTime::from_str(&date, DateTimeFormat::HttpDate).expect("HTTP date"),
    )
    .expect("time");
    let ahead = server
        .duration_since(SystemTime::now())
        .expect("server clock ahead");
    assert!(ahead > Duration::from_secs(500), "{ahead:?}");

    // With retries on, the SDK learns the skew from Date and re-signs: the call succeeds.
    let retrying = client_with(&emu, &full, fast_retries());
    retrying
        .describe_recovery_instances()
        .send()
        .await
        .expect("SDK corrects clock skew");
}

/// Sends one raw HTTP/1.1 request, signed with `creds` when given; returns status, headers, body.
async fn raw_request(
    emu: &Emulator,
    path: &str,
    body: &str,
    creds: Option<&StaticCredentials>,
) -> (u16, Vec<(String, String)>, Value) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = emu.endpoint().trim_start_matches("http://").to_string();
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), host.clone()),
        ("content-length".to_string(), body.len().to_string()),
    ];
    if let Some(c) = creds {
        let identity = Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            c.session_token.clone(),
            None,
            "raw",
        )
        .into();
        let region = emu.region();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("drs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("params")
            .into();
        let url = format!("{}{path}", emu.endpoint());
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        for (k, v) in instructions.headers() {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    let mut request = format!("POST {path} HTTP/1.1\r\nconnection: close\r\n");
    for (k, v) in &headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").expect("HTTP response");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (
        status,
        headers,
        serde_json::from_str(payload).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_get_aws_shaped_answers() {
    let emu = start(scenario(|_| {})).await;
    let full = credential(&emu, "full access");

    let (status, headers, body) = raw_request(&emu, "/DescribeRecoveryInstances", "{}", None).await;
    assert_eq!(status, 403);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(header(&headers, "date").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(body["message"], "Missing Authentication Token");

    let (status, headers, _) = raw_request(&emu, "/NoSuchOperation", "{}", Some(&full)).await;
    assert_eq!(status, 404);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("UnknownOperationException")
    );

    let (status, headers, body) =
        raw_request(&emu, "/DescribeJobs", "{not json", Some(&full)).await;
    assert_eq!(status, 400);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("ValidationException")
    );
    assert_eq!(body["reason"], "cannotParse");

    let (status, headers, body) = raw_request(
        &emu,
        "/DescribeJobs",
        r#"{"maxResults":"ten"}"#,
        Some(&full),
    )
    .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (400, Some("ValidationException"))
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("maxResults"))
    );

    let (status, _, body) = raw_request(&emu, "/DescribeJobs", "", Some(&full)).await;
    assert_eq!(status, 200);
    assert!(body["items"].is_array());
}

// ---- lifecycle with the stand-in failback client, run as failback_entry ----

/// A scenario where `host`'s volumes are a few MiB, so the replicator writes them quickly.
fn small_volumes(host: &str, volumes: Value) -> Scenario {
    let n = index_of_host(host);
    scenario(|v| v["recovery_instances"][n]["volumes"] = volumes)
}

struct Target {
    path: std::path::PathBuf,
    volume: &'static str,
    device: &'static str,
    bytes: u64,
}

/// Target files in a demo disk directory, named as the stand-in resolves `device`.
struct Disks {
    /// The stand-in's TMPDIR too.
    dir: Sandbox,
    list: Vec<Target>,
}

fn targets(list: &[(&'static str, &'static str, u64)]) -> Disks {
    let dir = Sandbox::new();
    let list = list
        .iter()
        .map(|&(volume, device, bytes)| {
            let path = dir
                .path()
                .join(drs_failback::disks::virtual_disks::file_name(device));
            std::fs::File::create(&path)
                .and_then(|f| f.set_len(bytes))
                .expect("target file");
            Target {
                path,
                volume,
                device,
                bytes,
            }
        })
        .collect();
    Disks { dir, list }
}

/// The stand-in run as failback_entry, on `disks`' directory.
fn standin(disks: &Disks) -> FailbackEntry {
    FailbackEntry {
        program: disks.dir.program(),
        leading_args: vec!["failback-client-standin".into()],
        env: vec![(
            DEMO_DISKS_ENV.into(),
            disks.dir.path().display().to_string(),
        )],
        log_file: disks.dir.path().join("failback.log"),
        poll_every: Duration::from_millis(20),
        workdir: disks.dir.path().join("run"),
        record: None,
    }
}

/// The stand-in's runner started for `plan`, asking the service with the plan's credentials.
async fn start_standin(
    disks: &Disks,
    plan: ReplicationPlan,
    events: mpsc::UnboundedSender<ReplicatorEvent>,
) -> tokio::task::JoinHandle<()> {
    let key = plan.credentials.clone().expect("credentials");
    let service = DrsClient::connect(&plan.target(key)).await.expect("client");
    standin(disks).start(plan, watch::channel(service).1, events)
}

fn plan_as(emu: &Emulator, id: &str, disks: &Disks, label: &str) -> ReplicationPlan {
    ReplicationPlan {
        recovery_instance_id: id.to_string(),
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        credentials: Some(credential(emu, label)),
        targets: disks
            .list
            .iter()
            .map(|t| VolumeTarget {
                volume: t.volume.into(),
                volume_bytes: t.bytes,
                device: t.device.into(),
                write_path: t.path.clone(),
            })
            .collect(),
        device_mapping: disks
            .list
            .iter()
            .map(|t| format!("{}={}", t.volume, t.device))
            .collect::<Vec<_>>()
            .join(","),
        value_format: DmValueFormat::DevName,
        preflight: vec![],
    }
}

fn plan(emu: &Emulator, id: &str, disks: &Disks) -> ReplicationPlan {
    plan_as(emu, id, disks, "full access")
}

/// Collects log lines until the replicator exits; also the failback client it paired.
async fn exit_of(
    rx: &mut mpsc::UnboundedReceiver<ReplicatorEvent>,
) -> (Vec<String>, Result<(), String>) {
    let (logs, result, _) = exit_and_client(rx).await;
    (logs, result)
}

async fn exit_and_client(
    rx: &mut mpsc::UnboundedReceiver<ReplicatorEvent>,
) -> (Vec<String>, Result<(), String>, Option<String>) {
    let mut logs = Vec::new();
    let mut client = None;
    let wait = async {
        while let Some(event) = rx.recv().await {
            match event {
                ReplicatorEvent::Log(line) => logs.push(line),
                ReplicatorEvent::Paired { client_id } => client = Some(client_id),
                ReplicatorEvent::Exited(result) => return Some(result),
                // The runner alone: nothing is downloaded.
                ReplicatorEvent::Download(_) | ReplicatorEvent::Installed { .. } => {}
            }
        }
        None
    };
    let result = tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("replicator exits in time")
        .expect("Exited event");
    (logs, result, client)
}

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "{:x}",
        Sha256::digest(std::fs::read(path).expect("read target"))
    )
}

async fn launch_when_ready(client: &Client, id: &str) {
    eventually("FAILBACK_READY_FOR_LAUNCH", || async {
        describe(client, id)
            .await
            .filter(|i| failback_state(i) == "FAILBACK_READY_FOR_LAUNCH")
    })
    .await;
    client
        .start_failback_launch()
        .recovery_instance_ids(id)
        .send()
        .await
        .expect("launch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_failback_with_the_standin_failback_client() {
    let emu = start(small_volumes(
        "web-01",
        json!([{"device": "/dev/xvda", "size": "8MiB", "used": "3MiB"},
               {"device": "/dev/xvdb", "size": "12MiB", "used": "5MiB", "content_seed": 42}]),
    ))
    .await;
    let client = full_client(&emu);
    let id = instance_id(0);
    let files = targets(&[
        ("/dev/xvda", "/dev/sdb", 8 * MIB),
        ("/dev/xvdb", "/dev/sdc", 12 * MIB),
    ]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, plan(&emu, &id, &files), tx).await;

    let ready = eventually("FAILBACK_READY_FOR_LAUNCH", || async {
        describe(&client, &id)
            .await
            .filter(|i| failback_state(i) == "FAILBACK_READY_FOR_LAUNCH")
    })
    .await;
    assert_eq!(replication_state(&ready), "CONTINUOUS");
    let info = ready.data_replication_info().expect("replication info");
    let steps: Vec<_> = info
        .data_replication_initiation()
        .expect("initiation")
        .steps()
        .iter()
        .map(|s| {
            (
                s.name().map(|n| n.as_str()).unwrap_or_default(),
                s.status().map(|s| s.as_str()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(steps.len(), 7);
    assert_eq!(
        steps[0],
        ("LINK_FAILBACK_CLIENT_WITH_RECOVERY_INSTANCE", "SUCCEEDED")
    );
    assert!(steps.iter().all(|(_, s)| *s == "SUCCEEDED"));
    for d in info.replicated_disks() {
        assert_eq!(d.replicated_storage_bytes(), d.total_storage_bytes());
    }
    let failback = ready.failback().expect("failback");
    let paired_id = failback.failback_client_id().map(str::to_owned);
    assert!(paired_id.is_some());
    assert!(
        failback
            .failback_client_last_seen_by_service_date_time()
            .is_some()
    );

    let job = client
        .start_failback_launch()
        .recovery_instance_ids(&id)
        .send()
        .await
        .expect("launch")
        .job()
        .cloned()
        .expect("job");
    let job_id = job.job_id().to_string();
    assert!(
        job_id.starts_with("drsjob-") && job_id.len() == 24,
        "{job_id}"
    );
    assert_eq!(job.r#type().map(|t| t.as_str()), Some("LAUNCH"));
    assert_eq!(job.initiated_by().map(|t| t.as_str()), Some("FAILBACK"));

    let events = eventually("JOB_END", || async {
        let log = client
            .describe_job_log_items()
            .job_id(&job_id)
            .send()
            .await
            .expect("log");
        let events: Vec<String> = log
            .items()
            .iter()
            .filter_map(|l| l.event())
            .map(|e| e.as_str().to_string())
            .collect();
        events.iter().any(|e| e == "JOB_END").then_some(events)
    })
    .await;
    assert_eq!(
        events,
        [
            "JOB_START",
            "SNAPSHOT_START",
            "SNAPSHOT_END",
            "CONVERSION_START",
            "CONVERSION_END",
            "LAUNCH_START",
            "JOB_END"
        ]
    );
    let done = describe(&client, &id).await.expect("instance");
    assert_eq!(failback_state(&done), "FAILBACK_COMPLETED");
    assert_eq!(replication_state(&done), "STOPPED");
    assert_eq!(
        done.failback().and_then(|f| f.failback_job_id()),
        Some(job_id.as_str())
    );
    let jobs = jobs_by_id(&client, &job_id).await;
    assert_eq!(jobs[0].status().map(|s| s.as_str()), Some("COMPLETED"));
    assert_eq!(
        jobs[0].participating_servers()[0]
            .launch_status()
            .map(|s| s.as_str()),
        Some("LAUNCHED")
    );

    let (logs, result, paired) = exit_and_client(&mut rx).await;
    assert_eq!(result, Ok(()), "{logs:#?}");
    handle.await.expect("task ends");
    assert_eq!(
        paired, paired_id,
        "the runner learnt the client id from the service"
    );
    let has = |s: &str| logs.iter().any(|l| l.contains(s));
    assert!(
        has(&format!(
            "Linking failback client with recovery instance {id}"
        )),
        "{logs:#?}"
    );
    assert!(has("Downloading replication software"), "{logs:#?}");
    assert!(has("Pairing with the agent"), "{logs:#?}");
    assert!(has("Replicating /dev/xvda -> /dev/sdb"), "{logs:#?}");
    assert!(has("Failback complete"), "{logs:#?}");

    // Nothing lost: each target holds its volume's content, hash for hash; exactly the used
    // part written, the rest left sparse.
    for (t, used) in files.list.iter().zip([3 * MIB, 5 * MIB]) {
        let data = std::fs::read(&t.path).expect("read target");
        assert_eq!(data.len() as u64, t.bytes);
        let header = format!("DRS-FAILBACK-DEMO {id} {} offset 0\n", t.volume);
        assert!(data.starts_with(header.as_bytes()));
        assert_eq!(data.iter().filter(|b| **b != 0).count() as u64, used);
        assert_eq!(
            Some(sha256_of(&t.path)),
            emu.volume_sha256(&id, t.volume, t.bytes),
            "{}",
            t.volume
        );
    }
}

/// The fractional-GiB case, small: a 5.75 MiB target takes a 1 GiB volume (the size rule
/// accepts any target the volume is the whole-GiB round-up of); the target holds the part of
/// the volume that fits, checked by hash. The volume is all data, so the part is too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fractional_target_holds_the_part_of_its_volume_that_fits() {
    let target_bytes = 5 * MIB + 3 * MIB / 4;
    let emu = start(small_volumes(
        "legacy-app-03",
        json!([{"device": "/dev/sda", "size": "1GiB", "used": "1GiB", "original_size": "5.75MiB"}]),
    ))
    .await;
    let client = full_client(&emu);
    let id = instance_id(index_of_host("legacy-app-03"));
    let files = targets(&[("/dev/sda", "/dev/sde", target_bytes)]);
    let mut p = plan(&emu, &id, &files);
    p.targets[0].volume_bytes = 1 << 30;
    let (tx, mut rx) = mpsc::unbounded_channel();
    start_standin(&files, p, tx).await;
    launch_when_ready(&client, &id).await;
    let (logs, result) = exit_of(&mut rx).await;
    assert_eq!(result, Ok(()), "{logs:#?}");
    let path = &files.list[0].path;
    assert_eq!(std::fs::metadata(path).expect("target").len(), target_bytes);
    let data = std::fs::read(path).expect("target");
    assert!(!data.contains(&0), "every byte that fits is written");
    let expected = emu.volume_sha256(&id, "/dev/sda", target_bytes);
    assert_eq!(Some(sha256_of(path)), expected);
    // A longer prefix of the volume hashes differently: the check is of the part that fits.
    assert_ne!(expected, emu.volume_sha256(&id, "/dev/sda", 6 * MIB));
}

/// What any client (the AWS CLI included) sees while the stand-in runs, with only the
/// installation policy's key: replicatedStorageBytes growing to the total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_sees_replication_grow_while_the_standin_runs() {
    let n = index_of_host("web-02");
    let emu = start(scenario(|v| {
        v["timings"]["initiation_step_seconds"] = json!([0, 0, 0, 0, 0, 0, 0]);
        v["recovery_instances"][n]["volumes"] =
            json!([{"device": "/dev/xvda", "size": "64MiB", "used": "64MiB"}]);
        // 16 MiB a second at time scale 1000: four seconds of copying to watch.
        v["recovery_instances"][n]["rate_per_second"] = json!("16KiB");
    }))
    .await;
    let cli = client_with(
        &emu,
        &credential(&emu, "failback installation policy"),
        fast_retries(),
    );
    let id = instance_id(n);
    let files = targets(&[("/dev/xvda", "/dev/sdb", 64 * MIB)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(
        &files,
        plan_as(&emu, &id, &files, "failback installation policy"),
        tx,
    )
    .await;
    let replicated = |i: &RecoveryInstance| {
        i.data_replication_info()
            .and_then(|d| {
                d.replicated_disks()
                    .first()
                    .map(|r| r.replicated_storage_bytes())
            })
            .unwrap_or(0)
    };
    let first = eventually("some bytes replicated", || async {
        describe(&cli, &id)
            .await
            .map(|i| replicated(&i))
            .filter(|b| *b > 0 && *b < 64 * MIB as i64)
    })
    .await;
    let later = eventually("more bytes replicated", || async {
        describe(&cli, &id)
            .await
            .map(|i| replicated(&i))
            .filter(|b| *b > first)
    })
    .await;
    assert!(later <= 64 * MIB as i64);
    eventually("all bytes replicated", || async {
        describe(&cli, &id)
            .await
            .filter(|i| replicated(i) == 64 * MIB as i64 && replication_state(i) == "CONTINUOUS")
    })
    .await;
    handle.abort();
    while let Some(event) = rx.recv().await {
        assert!(!matches!(event, ReplicatorEvent::Exited(_)), "{event:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_ends_after_pairing_refuses_public_calls_while_the_standin_goes_on() {
    let n = index_of_host("web-02");
    let policy = default_json()["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["label"] == "failback installation policy")
        .unwrap();
    let emu = start(scenario(|v| {
        v["timings"]["initiation_step_seconds"] = json!([0, 0, 0, 0, 0, 0, 0]);
        v["recovery_instances"][n]["volumes"] =
            json!([{"device": "/dev/xvda", "size": "8MiB", "used": "8MiB"}]);
        v["credentials"][policy]["session_ends_after_pairing_seconds"] = json!(0);
    }))
    .await;
    let label = "failback installation policy";
    let cli = client_with(&emu, &credential(&emu, label), fast_retries());
    let id = instance_id(n);
    // Before any pairing the session is good.
    assert!(describe(&cli, &id).await.is_some());
    let files = targets(&[("/dev/xvda", "/dev/sdb", 8 * MIB)]);
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, plan_as(&emu, &id, &files, label), tx).await;
    let expired = eventually("the session to end", || async {
        cli.describe_recovery_instances().send().await.err()
    })
    .await;
    assert_eq!(code(&expired), "ExpiredTokenException");
    // The failback client's private actions go on: replication completes, as fresh keys see.
    let full = full_client(&emu);
    eventually("all bytes replicated", || async {
        describe(&full, &id)
            .await
            .filter(|i| replication_state(i) == "CONTINUOUS")
    })
    .await;
    handle.abort();
    drop(rx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_failback_ends_the_replicator_with_an_error() {
    let emu = start(small_volumes(
        "legacy-app-03",
        json!([{"device": "/dev/sda", "size": "6MiB", "used": "2MiB", "original_size": "5.75MiB"}]),
    ))
    .await;
    let client = full_client(&emu);
    let id = instance_id(index_of_host("legacy-app-03"));
    let files = targets(&[("/dev/sda", "/dev/sde", 6 * MIB)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, plan(&emu, &id, &files), tx).await;

    eventually("FAILBACK_READY_FOR_LAUNCH", || async {
        describe(&client, &id)
            .await
            .filter(|i| failback_state(i) == "FAILBACK_READY_FOR_LAUNCH")
    })
    .await;
    client
        .stop_failback()
        .recovery_instance_id(&id)
        .send()
        .await
        .expect("stop");
    let (_, result) = exit_of(&mut rx).await;
    let error = result.expect_err("stopped");
    assert!(
        error.starts_with("failback_entry reported an error (exit code 1)")
            && error.contains("failback stopped from the console"),
        "{error}"
    );
    handle.await.expect("task ends");
    let stopped = describe(&client, &id).await.expect("instance");
    assert_eq!(failback_state(&stopped), "FAILBACK_NOT_STARTED");
}

/// legacy-app-03 as the scenario has it: a 9.75 GiB disk came back as a 10 GiB volume. The
/// mapping screen accepts the 9.75 GiB target (`domain::fit`), and so must the replicator: it
/// writes what fits and never grows the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fractional_gib_target_takes_its_rounded_up_volume_to_failback_completed() {
    const GIB: u64 = 1 << 30;
    let target_bytes = 9 * GIB + 3 * GIB / 4;
    let emu = start(small_volumes(
        "legacy-app-03",
        json!([{"device": "/dev/sda", "size": "10GiB", "used": "3MiB", "original_size": "9.75GiB"}]),
    ))
    .await;
    let client = full_client(&emu);
    let id = instance_id(index_of_host("legacy-app-03"));
    let files = targets(&[("/dev/sda", "/dev/sde", target_bytes)]);
    let mut p = plan(&emu, &id, &files);
    p.targets[0].volume_bytes = 10 * GIB;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, p, tx).await;
    launch_when_ready(&client, &id).await;
    let (logs, result) = exit_of(&mut rx).await;
    assert_eq!(result, Ok(()), "{logs:#?}");
    handle.await.expect("task ends");
    let done = describe(&client, &id).await.expect("instance");
    assert_eq!(failback_state(&done), "FAILBACK_COMPLETED");
    let len = std::fs::metadata(&files.list[0].path)
        .expect("target")
        .len();
    assert_eq!(len, target_bytes, "the target is written, never extended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicator_refuses_missing_targets_and_stops_when_aborted() {
    let emu = start(scenario(|_| {})).await;
    let id = instance_id(0);

    // A missing target is an error and is never created.
    let files = targets(&[]);
    let missing = files.dir.path().join("sdb.img");
    let mut p = plan(&emu, &id, &files);
    p.device_mapping = "/dev/xvda=/dev/sdb".into();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, p, tx).await;
    let (_, result) = exit_of(&mut rx).await;
    assert!(
        result.as_ref().is_err_and(|e| e.contains("cannot open")),
        "{result:?}"
    );
    assert!(!missing.exists());
    handle.await.expect("task ends");

    // An unknown volume is refused by the service side.
    let files = targets(&[("/dev/xvdz", "/dev/sdb", MIB)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    start_standin(&files, plan(&emu, &id, &files), tx).await;
    let (_, result) = exit_of(&mut rx).await;
    assert!(
        result
            .as_ref()
            .is_err_and(|e| e.contains("has no volume /dev/xvdz")),
        "{result:?}"
    );

    // Aborting the task mid-copy stops it: the channel closes without an Exited event.
    let files = targets(&[("/dev/xvda", "/dev/sdb", 30 << 30)]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = start_standin(&files, plan(&emu, &id, &files), tx).await;
    // Wait until it is copying, so the abort interrupts real work.
    let mut pid = None;
    loop {
        match rx
            .recv()
            .await
            .expect("the replicator reports before it ends")
        {
            ReplicatorEvent::Log(line) if line.starts_with("Replicating ") => break,
            ReplicatorEvent::Log(line) if line.starts_with("Started failback_entry") => {
                pid = line.rsplit(' ').next().and_then(|p| p.parse::<u32>().ok());
            }
            ReplicatorEvent::Exited(result) => panic!("ended before copying: {result:?}"),
            _ => {}
        }
    }
    let pid = pid.expect("the program's pid");
    handle.abort();
    assert!(handle.await.is_err_and(|e| e.is_cancelled()));
    while let Some(event) = rx.recv().await {
        assert!(!matches!(event, ReplicatorEvent::Exited(_)), "{event:?}");
    }
    assert!(rx.is_closed(), "the aborted task dropped its sender");
    // And the program with it: gone, or a zombie waiting to be reaped, never still copying.
    eventually("the program to end", || async {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        matches!(state, None | Some("Z" | "X")).then_some(())
    })
    .await;
}

/// One private action, signed with `creds`; answers (status, error type, body).
async fn private(
    emu: &Emulator,
    creds: &StaticCredentials,
    action: &str,
    body: Value,
) -> (u16, Option<String>, Value) {
    let (status, headers, body) =
        raw_request(emu, &format!("/{action}"), &body.to_string(), Some(creds)).await;
    (
        status,
        header(&headers, "x-amzn-errortype").map(str::to_owned),
        body,
    )
}

/// Pairs a client over HTTP and maps one volume; answers the client id.
async fn pair(emu: &Emulator, creds: &StaticCredentials, id: &str, volume: &str) -> String {
    let (status, _, body) = private(
        emu,
        creds,
        "AssociateFailbackClientToRecoveryInstanceForDrs",
        json!({"recoveryInstanceID": id}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let client = body["failbackClientID"]
        .as_str()
        .expect("client id")
        .to_string();
    let (status, _, body) = private(
        emu,
        creds,
        "UpdateFailbackClientDeviceMappingForDrs",
        json!({"recoveryInstanceID": id, "failbackClientID": client,
               "deviceMapping": [{"recoveryInstanceDeviceName": volume, "failbackClientDeviceName": "/dev/sde"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    client
}

async fn report(
    emu: &Emulator,
    creds: &StaticCredentials,
    id: &str,
    client: &str,
    volume: &str,
    bytes: u64,
) -> Value {
    let (status, _, body) = private(
        emu,
        creds,
        "UpdateAgentReplicationInfoForDrs",
        json!({"recoveryInstanceID": id, "failbackClientID": client,
               "replicatedDisks": [{"deviceName": volume, "replicatedStorageBytes": bytes,
                                    "backloggedStorageBytes": 7, "rescannedStorageBytes": 0}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_actions_answer_signed_requests_of_the_installation_policy() {
    let emu = start(scenario(|_| {})).await;
    let key = credential(&emu, "failback installation policy");
    let id = instance_id(index_of_host("web-02"));
    let (status, error, _) = private(
        &emu,
        &key,
        "AssociateFailbackClientToRecoveryInstanceForDrs",
        json!({"recoveryInstanceID": "nope"}),
    )
    .await;
    assert_eq!(
        (status, error.as_deref()),
        (400, Some("ValidationException"))
    );
    let (status, _, _) = raw_request(
        &emu,
        "/SendClientMetricsForDrs",
        &json!({"recoveryInstanceID": id}).to_string(),
        None,
    )
    .await;
    assert_eq!(status, 403, "unsigned");

    let client = pair(&emu, &key, &id, "/dev/xvda").await;
    let (status, _, body) = private(
        &emu,
        &key,
        "GetSuggestedFailbackClientDeviceMappingForDrs",
        json!({"recoveryInstanceID": id, "failbackClientID": client,
               "localDevices": [{"deviceName": "/dev/sdb", "bytes": MIB}, {"deviceName": "/dev/sdc", "bytes": 40u64 << 30}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["deviceMapping"],
        json!([{"recoveryInstanceDeviceName": "/dev/xvda", "failbackClientDeviceName": "/dev/sdc"}])
    );
    // A second mapping is refused; a stranger's client id is not this pairing.
    let (status, error, _) = private(
        &emu,
        &key,
        "UpdateFailbackClientDeviceMappingForDrs",
        json!({"recoveryInstanceID": id, "failbackClientID": client, "deviceMapping": []}),
    )
    .await;
    assert_eq!(
        (status, error.as_deref()),
        (400, Some("ValidationException"))
    );
    let (status, error, body) = private(
        &emu,
        &key,
        "SendClientMetricsForDrs",
        json!({"recoveryInstanceID": id, "failbackClientID": "someone-else"}),
    )
    .await;
    assert_eq!(
        (status, error.as_deref()),
        (409, Some("ConflictException")),
        "{body}"
    );

    let status = report(&emu, &key, &id, &client, "/dev/xvda", 5 * MIB).await;
    assert!(
        status["failbackState"].is_string() && status["steps"].is_array(),
        "{status}"
    );
    let seen = describe(&full_client(&emu), &id).await.expect("instance");
    let disk = &seen
        .data_replication_info()
        .expect("info")
        .replicated_disks()[0];
    assert_eq!(disk.replicated_storage_bytes(), 5 * MIB as i64);
    assert_eq!(disk.backlogged_storage_bytes(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_stall_and_disconnect_show_in_the_api() {
    // Real time (scale 1) with long holds, so the states stay put while the test looks.
    let emu = start(scenario(|v| {
        v["time_scale"] = json!(1.0);
        v["timings"]["initiation_step_seconds"] = json!([0, 0, 0, 0, 0, 0, 0]);
        let n = index_of_host("legacy-app-03");
        v["recovery_instances"][n]["faults"] = json!({
            "stall": {"at_percent": 30, "seconds": 3600},
            "disconnect": {"at_percent": 60, "seconds": 3600}
        });
        let m = index_of_host("app-02");
        v["recovery_instances"][m]["faults"] =
            json!({"disconnect": {"at_percent": 10, "seconds": 3600}});
    }))
    .await;
    let client = full_client(&emu);
    let key = credential(&emu, "failback installation policy");
    let heartbeat = |id: String, c: String| {
        let (emu, key) = (&emu, &key);
        async move {
            private(
                emu,
                key,
                "SendClientMetricsForDrs",
                json!({"recoveryInstanceID": id, "failbackClientID": c}),
            )
            .await
        }
    };

    let id = instance_id(index_of_host("legacy-app-03"));
    let a = pair(&emu, &key, &id, "/dev/sda").await;
    let (_, _, status) = heartbeat(id.clone(), a.clone()).await;
    assert_eq!(status["dataReplicationState"], "INITIAL_SYNC");
    assert!(status["bytesPerSecond"].as_u64() > Some(0));
    report(&emu, &key, &id, &a, "/dev/sda", 4 << 30).await;
    let stalled = describe(&client, &id).await.expect("instance");
    assert_eq!(replication_state(&stalled), "STALLED");
    let (_, _, status) = heartbeat(id.clone(), a.clone()).await;
    assert_eq!(status["bytesPerSecond"], 0);

    let id2 = instance_id(index_of_host("app-02"));
    let b = pair(&emu, &key, &id2, "/dev/xvda").await;
    report(&emu, &key, &id2, &b, "/dev/xvda", 8 << 30).await;
    let cut = describe(&client, &id2).await.expect("instance");
    assert_eq!(replication_state(&cut), "DISCONNECTED");
    let error = cut
        .data_replication_info()
        .and_then(|d| d.data_replication_error())
        .and_then(|e| e.error())
        .map(|e| e.as_str().to_string());
    assert_eq!(error.as_deref(), Some("FAILBACK_CLIENT_NOT_SEEN"));
    assert_eq!(failback_state(&cut), "FAILBACK_IN_PROGRESS");

    // Disconnecting the instance from DRS ends the pairing.
    client
        .disconnect_recovery_instance()
        .recovery_instance_id(&id2)
        .send()
        .await
        .expect("disconnect");
    let (status, error, body) = heartbeat(id2.clone(), b.clone()).await;
    assert_eq!((status, error.as_deref()), (409, Some("ConflictException")));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("disconnected")),
        "{body}"
    );
    let err = client
        .start_failback_launch()
        .recovery_instance_ids(&id2)
        .send()
        .await
        .expect_err("disconnected");
    assert!(err.into_service_error().is_conflict_exception());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_runs_a_job_and_removes_the_instance() {
    let emu = start(scenario(|_| {})).await;
    let client = full_client(&emu);
    let id = instance_id(index_of_host("mail-01"));
    let job = client
        .terminate_recovery_instances()
        .recovery_instance_ids(&id)
        .send()
        .await
        .expect("terminate")
        .job()
        .cloned()
        .expect("job");
    assert_eq!(job.r#type().map(|t| t.as_str()), Some("TERMINATE"));
    assert_eq!(
        job.initiated_by().map(|t| t.as_str()),
        Some("TERMINATE_RECOVERY_INSTANCES")
    );
    eventually("instance gone", || async {
        describe(&client, &id).await.is_none().then_some(())
    })
    .await;
    let jobs = jobs_by_id(&client, job.job_id()).await;
    assert_eq!(jobs[0].status().map(|s| s.as_str()), Some("COMPLETED"));
    let err = client
        .get_failback_replication_configuration()
        .recovery_instance_id(&id)
        .send()
        .await
        .expect_err("gone");
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[test]
fn scenario_files_load_and_name_bad_fields() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.json");
    std::fs::write(&path, DEFAULT).expect("write");
    let s = Scenario::load(&path).expect("loads");
    assert_eq!(s.region(), "us-east-1");
    assert_eq!(
        s.demo_host().macs,
        vec!["52:54:00:6b:1e:01", "52:54:00:6b:1e:02"]
    );
    assert!(
        s.demo_disks()
            .iter()
            .any(|d| d.device == "/dev/sde" && d.bytes == 10_468_982_784)
    );

    let mut v = default_json();
    v["credentials"][0]["access_key_id"] = json!("AKIAshort");
    std::fs::write(&path, v.to_string()).expect("write");
    let err = Scenario::load(&path).expect_err("bad key");
    assert!(err.contains("credentials[0].access_key_id"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_emulator_stops_serving() {
    let emu = start(scenario(|_| {})).await;
    let creds = credential(&emu, "full access");
    let client = client_with(&emu, &creds, RetryConfig::disabled());
    client.describe_jobs().send().await.expect("serving");
    drop(emu);
    eventually("the emulator to stop", || async {
        client.describe_jobs().send().await.is_err().then_some(())
    })
    .await;
}

/// `drs-failback emulator | head -1`: the reader goes, the emulator serves on, and Ctrl-C,
/// sent as soon as it answers, stops it cleanly.
#[test]
fn an_emulator_whose_reader_went_away_serves_on_until_ctrl_c() {
    let dir = Sandbox::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = dir
        .command()
        .args(["emulator", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("emulator");
    // Bounded: until it listens, or ends.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("status").is_none()
        && std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    {
        assert!(std::time::Instant::now() < deadline, "it never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: a signal to the process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
