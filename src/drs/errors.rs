//! Every way a DRS call fails, as a kind the UI can act on and a sentence that says what to do.

use crate::net::{error_chain as chain, is_tls_failure};
use aws_sdk_drs::config::http::HttpResponse;
use aws_sdk_drs::error::{ProvideErrorMetadata, SdkError};
use std::fmt;

/// The managed policy the operator's credentials need (named in AccessDenied advice).
pub const INSTALLATION_POLICY: &str = "AWSElasticDisasterRecoveryFailbackInstallationPolicy";

/// The public DRS actions that policy allows: anything else (StartFailbackLaunch, DescribeJobs,
/// GetFailbackReplicationConfiguration...) needs more than the policy.
const INSTALLATION_POLICY_ACTIONS: [&str; 3] = [
    "drs:DescribeRecoveryInstances",
    "drs:DescribeSourceServers",
    "drs:TagResource",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrsErrorKind {
    /// No credentials found by the default chain.
    NoCredentials,
    UnknownAccessKey,
    WrongSecret,
    /// The request was signed for another region than the endpoint serves.
    WrongRegion,
    ExpiredToken,
    /// SigV4 "Signature expired": the local clock is too far from AWS's.
    ClockSkew,
    AccessDenied {
        action: Option<String>,
    },
    NotFound,
    Conflict,
    Validation,
    Throttled,
    ServiceUnavailable,
    /// DNS, refused or timed-out connection: the endpoint cannot be reached.
    Unreachable,
    Tls,
    /// HTTPS_PROXY, NO_PROXY or AWS_CA_BUNDLE cannot be used; the detail names which.
    NetworkSettings,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DrsError {
    pub kind: DrsErrorKind,
    /// What the service or the network said, for the log and the details line.
    pub detail: String,
    /// The server's `Date` header when it answered (shown on clock problems).
    pub server_date: Option<String>,
    /// The endpoint's TCP port, when known (named in Unreachable advice).
    #[serde(default)]
    pub port: Option<u16>,
}

impl DrsErrorKind {
    /// The network is what failed (the Network screen may help): DNS, a connection, TLS, or
    /// the proxy settings.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            DrsErrorKind::Unreachable | DrsErrorKind::Tls | DrsErrorKind::NetworkSettings
        )
    }
}

impl DrsError {
    pub fn new(kind: DrsErrorKind, detail: impl Into<String>) -> Self {
        DrsError {
            kind,
            detail: detail.into(),
            server_date: None,
            port: None,
        }
    }

    /// The same error, from an endpoint on this TCP port.
    pub fn on_port(self, port: u16) -> Self {
        DrsError {
            port: Some(port),
            ..self
        }
    }

    /// One or two sentences for the operator at the wizard: what is wrong and what to do next.
    pub fn advice(&self) -> String {
        self.sentences(true)
    }

    /// The advice for an unattended run (`--no-prompt`): no wizard keys in it.
    pub fn unattended_advice(&self) -> String {
        self.sentences(false)
    }

    fn sentences(&self, wizard: bool) -> String {
        use DrsErrorKind::*;
        match &self.kind {
            NoCredentials => "No AWS credentials were found in the environment, the profile files or instance metadata. Type an access key instead, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and retry.".into(),
            UnknownAccessKey => "AWS does not know this access key id. Check it for typos (it is 20 characters, AKIA... or ASIA...), or that the session token belongs to it.".into(),
            WrongSecret if wizard => "The secret access key does not match the access key id. Retype the secret (Ctrl-R reveals it).".into(),
            WrongSecret => "The secret access key does not match the access key id. Check the secret given for it.".into(),
            WrongRegion => "The endpoint serves another region than the one chosen. Pick the endpoint's region, or use this region's own endpoint.".into(),
            ExpiredToken => "The session token has expired. Temporary credentials last about an hour: get fresh ones (aws sts assume-role) and type them again.".into(),
            ClockSkew => "This machine's clock is more than 5 minutes away from AWS's time, so requests are refused. Set the clock (date -s, or fix NTP/UDP 123) and retry.".into(),
            AccessDenied { action: Some(action) } if !INSTALLATION_POLICY_ACTIONS.contains(&action.as_str()) => format!(
                "These credentials are not allowed to call {action}, which {INSTALLATION_POLICY} does not include. Use the DRS console for it, or add {action} to the IAM principal's policy."
            ),
            AccessDenied { action } => format!(
                "These credentials are not allowed to call {}. Attach the managed policy {INSTALLATION_POLICY} to the IAM principal.",
                action.as_deref().unwrap_or("this DRS action")
            ),
            NotFound => "DRS does not know this resource in this region: check the region and the recovery instance id.".into(),
            Conflict => "DRS refused the request in the instance's current state; wait for the state shown and retry.".into(),
            Validation => "DRS rejected the request as invalid; see the details.".into(),
            Throttled => "DRS is throttling requests; the wizard retries on its own. Retry in a moment if it persists.".into(),
            ServiceUnavailable => "DRS answered with a server error. Retry in a moment; if it persists, check the AWS Health Dashboard.".into(),
            Unreachable => format!(
                "The DRS endpoint cannot be reached. Check the network (DHCP or static address, DNS, proxy, TCP {} outbound) and the endpoint URL.",
                self.port.map_or("443".into(), |p| p.to_string())
            ),
            Tls => "The secure connection to the endpoint failed. Check the endpoint URL, any TLS-inspecting proxy, and the clock (certificates depend on it).".into(),
            NetworkSettings => "A network setting in the environment cannot be used; fix or unset the variable the details name, then start again.".into(),
            Other => "The DRS call failed; see the details.".into(),
        }
    }
}

impl fmt::Display for DrsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.advice(), self.detail)
    }
}

impl std::error::Error for DrsError {}

fn network_kind(text: &str) -> DrsErrorKind {
    if is_tls_failure(text) {
        DrsErrorKind::Tls
    } else {
        DrsErrorKind::Unreachable
    }
}

/// Classifies a service error code (the `x-amzn-errortype` name) and message.
pub fn kind_for_code(code: &str, message: &str, status: u16) -> DrsErrorKind {
    use DrsErrorKind::*;
    match code {
        "UnrecognizedClientException" | "InvalidClientTokenId" => UnknownAccessKey,
        "InvalidSignatureException" | "SignatureDoesNotMatch"
            if message.contains("Signature expired") =>
        {
            ClockSkew
        }
        // AWS says "scoped to a valid region" (or "correct region") when the scope's region is
        // not the endpoint's: the secret is fine.
        "InvalidSignatureException" | "SignatureDoesNotMatch"
            if message.contains("scoped to a valid region")
                || message.contains("scoped to correct region") =>
        {
            WrongRegion
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => WrongSecret,
        "ExpiredTokenException" | "ExpiredToken" => ExpiredToken,
        "AccessDeniedException" | "AccessDenied" => AccessDenied {
            action: message
                .split_whitespace()
                .find(|w| w.starts_with("drs:"))
                .map(|w| w.trim_end_matches([',', '.']).to_owned()),
        },
        "ResourceNotFoundException" => NotFound,
        "ConflictException" => Conflict,
        "ValidationException" => Validation,
        "ThrottlingException" | "TooManyRequestsException" => Throttled,
        "InternalServerException" | "ServiceUnavailableException" => ServiceUnavailable,
        _ if status >= 500 => ServiceUnavailable,
        _ => Other,
    }
}

pub fn classify<E>(err: SdkError<E, HttpResponse>) -> DrsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let server_date = err
        .raw_response()
        .and_then(|r| r.headers().get("date"))
        .map(str::to_owned);
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let (kind, detail) = match &err {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let code = err.code().unwrap_or("").to_owned();
            let message = err.message().unwrap_or("").to_owned();
            let kind = kind_for_code(&code, &message, status);
            let detail = match (code.is_empty(), message.is_empty()) {
                (true, _) => format!("HTTP {status}: {}", chain(&err)),
                (false, true) => code,
                (false, false) => format!("{code}: {message}"),
            };
            (kind, detail)
        }
        SdkError::TimeoutError(_) => (
            DrsErrorKind::Unreachable,
            "the request timed out with no answer".to_owned(),
        ),
        SdkError::DispatchFailure(_) => {
            let text = chain(&err);
            (network_kind(&text), text)
        }
        _ => {
            let text = chain(&err);
            let kind = if text.contains("credentials") {
                DrsErrorKind::NoCredentials
            } else {
                DrsErrorKind::Other
            };
            (kind, text)
        }
    };
    DrsError {
        kind,
        detail,
        server_date,
        port: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_errors_are_told_apart() {
        assert_eq!(
            kind_for_code(
                "InvalidSignatureException",
                "Signature expired: 20261123T070000Z is now earlier than ...",
                403
            ),
            DrsErrorKind::ClockSkew
        );
        assert_eq!(
            kind_for_code(
                "InvalidSignatureException",
                "The request signature we calculated does not match",
                403
            ),
            DrsErrorKind::WrongSecret
        );
        assert_eq!(
            kind_for_code(
                "InvalidSignatureException",
                "Credential should be scoped to a valid region. ",
                403
            ),
            DrsErrorKind::WrongRegion
        );
        assert_eq!(
            kind_for_code("UnrecognizedClientException", "", 403),
            DrsErrorKind::UnknownAccessKey
        );
        assert_eq!(
            kind_for_code("ExpiredTokenException", "", 403),
            DrsErrorKind::ExpiredToken
        );
    }

    #[test]
    fn access_denied_names_the_action() {
        let kind = kind_for_code(
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: drs:StartFailbackLaunch on resource: arn",
            403,
        );
        assert_eq!(
            kind,
            DrsErrorKind::AccessDenied {
                action: Some("drs:StartFailbackLaunch".into())
            }
        );
        let err = DrsError::new(kind, "");
        assert!(err.advice().contains("drs:StartFailbackLaunch"));
        assert!(err.advice().contains(INSTALLATION_POLICY));
    }

    #[test]
    fn unknown_5xx_is_a_service_problem() {
        assert_eq!(
            kind_for_code("Weird", "", 503),
            DrsErrorKind::ServiceUnavailable
        );
        assert_eq!(kind_for_code("Weird", "", 400), DrsErrorKind::Other);
    }

    #[test]
    fn unreachable_advice_names_the_endpoints_port() {
        let advice = |url: &str| {
            let port = crate::domain::validate::endpoint_address(url).port;
            DrsError::new(DrsErrorKind::Unreachable, "refused")
                .on_port(port)
                .advice()
        };
        let local = advice("http://127.0.0.1:39057");
        assert!(
            local.contains("TCP 39057 outbound") && !local.contains("443"),
            "{local}"
        );
        let regional = advice("https://drs.eu-west-1.amazonaws.com/");
        assert!(regional.contains("TCP 443 outbound"), "{regional}");
        let plain = advice("http://drs.internal");
        assert!(plain.contains("TCP 80 outbound"), "{plain}");
    }

    #[test]
    fn wizard_keys_stay_out_of_the_unattended_advice() {
        let wrong = DrsError::new(DrsErrorKind::WrongSecret, "");
        assert!(wrong.advice().contains("Ctrl-R"));
        let unattended = wrong.unattended_advice();
        assert!(!unattended.contains("Ctrl-"), "{unattended}");
        assert!(unattended.contains("does not match"), "{unattended}");
    }

    #[test]
    fn network_errors_tell_tls_from_unreachable() {
        assert_eq!(
            network_kind("io error: invalid peer certificate: UnknownIssuer"),
            DrsErrorKind::Tls
        );
        assert_eq!(
            network_kind("dns error: failed to lookup address"),
            DrsErrorKind::Unreachable
        );
        assert_eq!(
            network_kind("Connection refused (os error 111)"),
            DrsErrorKind::Unreachable
        );
    }
}
