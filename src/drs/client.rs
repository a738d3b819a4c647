//! Building the SDK client (credentials, region, endpoint, timeouts) and the calls the wizard makes.

use super::errors::{DrsError, DrsErrorKind, classify};
use super::{StaticCredentials, convert};
use crate::domain::model::{FailbackReplicationConfiguration, Job, JobLogItem, RecoveryInstance};
use crate::net::Network;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_sdk_drs::config::http::HttpResponse;
use aws_sdk_drs::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_drs::config::{ConfigBag, Intercept, ProvideCredentials, Region, RuntimeComponents};
use aws_sdk_drs::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_drs::primitives::{DateTime, DateTimeFormat};
use aws_sdk_drs::types::DescribeRecoveryInstancesRequestFilters;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How the wizard authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Static(StaticCredentials),
    /// Environment, profile files, instance metadata: whatever aws-config finds first.
    DefaultChain,
}

/// Where and as whom the wizard talks to DRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrsTarget {
    pub region: String,
    /// A custom endpoint (VPC endpoint, the emulator); None for the regional default.
    pub endpoint: Option<String>,
    pub auth: Auth,
}

/// How far this machine's clock is from the service's, read from the last answer's `Date`.
/// The SDK quietly corrects SigV4 for skew, but TLS and AWS's replication software do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSkew {
    /// Service time minus local time, in seconds.
    pub seconds: i64,
    /// The service's time (Unix seconds) when it answered.
    pub server_time: i64,
}

impl ClockSkew {
    /// From an answer's `Date` header (HTTP date), against the local time it arrived.
    pub fn from_date(date: &str, local: SystemTime) -> Option<ClockSkew> {
        let server = DateTime::from_str(date, DateTimeFormat::HttpDate).ok()?;
        Some(ClockSkew {
            seconds: server.secs() - DateTime::from(local).secs(),
            server_time: server.secs(),
        })
    }

    /// A skew worth telling the operator about: beyond what NTP jitter and latency explain.
    pub fn matters(&self) -> bool {
        self.seconds.abs() >= 30
    }

    /// The warning for the operator, with both times so the fix is obvious.
    pub fn advice(&self) -> String {
        let fmt = |secs: i64| {
            DateTime::from_secs(secs)
                .fmt(DateTimeFormat::DateTime)
                .unwrap_or_default()
                .replace('T', " ")
                .replace('Z', " UTC")
        };
        let local = self.server_time - self.seconds;
        let way = if self.seconds > 0 {
            "behind"
        } else {
            "ahead of"
        };
        format!(
            "This machine's clock is {} {way} AWS (here {}, AWS {}). Requests still work, but TLS \
             and the replication software need the right time: set it with `date -s '{}'` or \
             fix NTP (UDP 123).",
            crate::domain::throughput::format_duration(self.seconds.unsigned_abs()),
            fmt(local),
            fmt(self.server_time),
            fmt(self.server_time).trim_end_matches(" UTC"),
        )
    }
}

#[derive(Debug, Default)]
struct SkewProbe(Arc<Mutex<Option<ClockSkew>>>);

impl Intercept for SkewProbe {
    fn name(&self) -> &'static str {
        "drs-failback clock skew probe"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context.response().headers().get("date");
        if let Some(skew) = date.and_then(|d| ClockSkew::from_date(d, SystemTime::now())) {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(skew);
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct DrsClient {
    client: aws_sdk_drs::Client,
    skew: Arc<Mutex<Option<ClockSkew>>>,
    /// Which credential source was used, in words ("typed access key", "environment variables").
    pub credential_source: String,
    /// The credentials actually in use, for the replicator (never displayed).
    pub credentials: StaticCredentials,
    /// The endpoint's TCP port, for the advice when it cannot be reached.
    port: u16,
}

/// The SDK has no default read timeout: without these a silent endpoint hangs the wizard.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(20))
        .operation_attempt_timeout(Duration::from_secs(25))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

fn source_name(creds: &aws_credential_types::Credentials) -> String {
    use AwsCredentialFeature as F;
    let features = creds
        .get_property::<Vec<AwsCredentialFeature>>()
        .cloned()
        .unwrap_or_default();
    let name = features.iter().rev().find_map(|f| match f {
        F::CredentialsEnvVars => Some("environment variables (AWS_ACCESS_KEY_ID)"),
        F::CredentialsProfile
        | F::CredentialsProfileSourceProfile
        | F::CredentialsProfileNamedProvider => Some("AWS profile files (~/.aws)"),
        F::CredentialsProfileProcess | F::CredentialsProcess => Some("a credential_process"),
        F::CredentialsImds => Some("instance metadata (IMDS)"),
        F::CredentialsHttp => Some("the container credentials endpoint"),
        F::CredentialsSso | F::CredentialsProfileSso => Some("AWS SSO"),
        F::CredentialsStsAssumeRole
        | F::CredentialsStsAssumeRoleWebId
        | F::CredentialsEnvVarsStsWebIdToken
        | F::CredentialsProfileStsWebIdToken => Some("an assumed role (STS)"),
        _ => None,
    });
    name.unwrap_or("the default credential chain").to_owned()
}

impl DrsClient {
    /// Resolves credentials and builds the client, with the environment's network settings
    /// (proxy, AWS_CA_BUNDLE). Makes no DRS call.
    pub async fn connect(target: &DrsTarget) -> Result<DrsClient, DrsError> {
        let network =
            Network::from_env().map_err(|e| DrsError::new(DrsErrorKind::NetworkSettings, e.0))?;
        DrsClient::connect_via(target, &network).await
    }

    /// As `connect`, through the given network settings.
    pub async fn connect_via(target: &DrsTarget, network: &Network) -> Result<DrsClient, DrsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(target.region.clone()))
            .http_client(network.sdk_http_client())
            .timeout_config(timeouts());
        if let Some(url) = &target.endpoint {
            loader = loader.endpoint_url(url.clone());
        }
        if let Auth::Static(c) = &target.auth {
            loader = loader.credentials_provider(aws_sdk_drs::config::Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                c.session_token.clone(),
                None,
                "drs-failback",
            ));
        }
        let config = loader.load().await;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| DrsError::new(DrsErrorKind::NoCredentials, "no credential provider"))?;
        let resolved = provider
            .provide_credentials()
            .await
            .map_err(|e| DrsError::new(DrsErrorKind::NoCredentials, e.to_string()))?;
        let credential_source = match target.auth {
            Auth::Static(_) => "typed access key".to_owned(),
            Auth::DefaultChain => source_name(&resolved),
        };
        let credentials = StaticCredentials {
            access_key_id: resolved.access_key_id().to_owned(),
            secret_access_key: resolved.secret_access_key().to_owned(),
            session_token: resolved.session_token().map(str::to_owned),
        };
        let probe = SkewProbe::default();
        let skew = probe.0.clone();
        let drs_config = aws_sdk_drs::config::Builder::from(&config)
            .interceptor(probe)
            .build();
        Ok(DrsClient {
            client: aws_sdk_drs::Client::from_conf(drs_config),
            skew,
            credential_source,
            credentials,
            // The regional default is https.
            port: target.endpoint.as_deref().map_or(443, |url| {
                crate::domain::validate::endpoint_address(url).port
            }),
        })
    }

    /// A failed call, classified, from this client's endpoint.
    fn failed<E>(&self, e: SdkError<E, HttpResponse>) -> DrsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        classify(e).on_port(self.port)
    }

    /// The clock skew measured on the last answer, if any answer came.
    pub fn clock_skew(&self) -> Option<ClockSkew> {
        *self.skew.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cheapest call the failback policy allows: proves keys, clock and endpoint.
    pub async fn verify(&self) -> Result<(), DrsError> {
        self.client
            .describe_recovery_instances()
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed(e))
    }

    /// Every recovery instance, following nextToken to the end.
    pub async fn recovery_instances(&self) -> Result<Vec<RecoveryInstance>, DrsError> {
        let mut out = Vec::new();
        self.recovery_instance_pages(|page, _| out.extend(page))
            .await?;
        Ok(out)
    }

    /// Every recovery instance, handed over a page at a time with whether more follow;
    /// returns how many there were.
    pub async fn recovery_instance_pages(
        &self,
        mut each: impl FnMut(Vec<RecoveryInstance>, bool),
    ) -> Result<usize, DrsError> {
        let mut count = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_recovery_instances()
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.failed(e))?;
            let items: Vec<_> = page
                .items()
                .iter()
                .map(convert::recovery_instance)
                .collect();
            count += items.len();
            match page.next_token() {
                Some(t) if !t.is_empty() => {
                    token = Some(t.to_owned());
                    each(items, true);
                }
                _ => {
                    each(items, false);
                    return Ok(count);
                }
            }
        }
    }

    pub async fn recovery_instance(&self, id: &str) -> Result<RecoveryInstance, DrsError> {
        let filters = DescribeRecoveryInstancesRequestFilters::builder()
            .recovery_instance_ids(id)
            .build();
        let page = self
            .client
            .describe_recovery_instances()
            .filters(filters)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        page.items()
            .iter()
            .map(convert::recovery_instance)
            .find(|ri| ri.id == id)
            .ok_or_else(|| {
                DrsError::new(
                    DrsErrorKind::NotFound,
                    format!("recovery instance {id} is no longer listed"),
                )
            })
    }

    /// GetFailbackReplicationConfiguration: the throttle and the route (private or public IP).
    pub async fn failback_configuration(
        &self,
        id: &str,
    ) -> Result<FailbackReplicationConfiguration, DrsError> {
        let out = self
            .client
            .get_failback_replication_configuration()
            .recovery_instance_id(id)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(FailbackReplicationConfiguration {
            bandwidth_mbps: out.bandwidth_throttling().max(0) as u64,
            use_private_ip: out.use_private_ip().unwrap_or(false),
        })
    }

    /// UpdateFailbackReplicationConfiguration: the bandwidth throttle in Mbps (0: none).
    pub async fn set_bandwidth(&self, id: &str, mbps: u32) -> Result<(), DrsError> {
        self.client
            .update_failback_replication_configuration()
            .recovery_instance_id(id)
            .bandwidth_throttling(i64::from(mbps))
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// StopFailback: DRS stops replicating to this machine's failback client.
    pub async fn stop_failback(&self, id: &str) -> Result<(), DrsError> {
        self.client
            .stop_failback()
            .recovery_instance_id(id)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    pub async fn start_failback_launch(&self, id: &str) -> Result<Job, DrsError> {
        let out = self
            .client
            .start_failback_launch()
            .recovery_instance_ids(id)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        out.job().map(convert::job).ok_or_else(|| {
            DrsError::new(DrsErrorKind::Other, "StartFailbackLaunch returned no job")
        })
    }

    pub async fn job(&self, job_id: &str) -> Result<Job, DrsError> {
        let filters = aws_sdk_drs::types::DescribeJobsRequestFilters::builder()
            .job_ids(job_id)
            .build();
        let out = self
            .client
            .describe_jobs()
            .filters(filters)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        out.items()
            .iter()
            .find(|j| j.job_id() == job_id)
            .map(convert::job)
            .ok_or_else(|| DrsError::new(DrsErrorKind::NotFound, format!("job {job_id} not found")))
    }

    /// The job's whole log, oldest first.
    pub async fn job_log(&self, job_id: &str) -> Result<Vec<JobLogItem>, DrsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_job_log_items()
                .job_id(job_id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.failed(e))?;
            out.extend(page.items().iter().map(convert::job_log_item));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }
}
