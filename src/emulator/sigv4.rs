//! SigV4 verification, answering as AWS's front door does. Pure: no I/O, no clock.

use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::domain::time;

/// How far `x-amz-date` may be from the server's clock.
const MAX_SKEW_SECONDS: i64 = 300;

/// The parts of an HTTP request a signature covers.
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// As sent (already percent-encoded), e.g. `/DescribeJobs`.
    pub path: &'a str,
    pub query: &'a str,
    /// Lower-case names, in arrival order.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What the server knows about an access key.
pub(crate) struct KnownKey<'a> {
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    MissingToken,
    Incomplete(String),
    UnrecognizedClient,
    ExpiredToken,
    InvalidSignature(String),
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Incomplete(_) => 400,
            _ => 403,
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            Rejection::MissingToken => "MissingAuthenticationTokenException",
            Rejection::Incomplete(_) => "IncompleteSignatureException",
            Rejection::UnrecognizedClient => "UnrecognizedClientException",
            Rejection::ExpiredToken => "ExpiredTokenException",
            Rejection::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Rejection::MissingToken => "Missing Authentication Token".into(),
            Rejection::Incomplete(m) | Rejection::InvalidSignature(m) => m.clone(),
            Rejection::UnrecognizedClient => {
                "The security token included in the request is invalid.".into()
            }
            Rejection::ExpiredToken => {
                "The security token included in the request is expired".into()
            }
        }
    }
}

pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

struct Authorization<'a> {
    access_key_id: &'a str,
    scope_date: &'a str,
    scope_region: &'a str,
    scope_service: &'a str,
    scope_terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Rejection> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        Rejection::Incomplete(
            "Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is accepted.".into(),
        )
    })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let missing = |name: &str| {
        Rejection::Incomplete(format!("Authorization header requires '{name}' parameter."))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [
        access_key_id,
        scope_date,
        scope_region,
        scope_service,
        scope_terminator,
    ] = parts[..]
    else {
        return Err(Rejection::Incomplete(
            "Credential should be of the form 'ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request'."
                .into(),
        ));
    };
    Ok(Authorization {
        access_key_id,
        scope_date,
        scope_region,
        scope_service,
        scope_terminator,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

fn header<'a>(req: &'a SignedRequest<'_>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Checks the request's signature; Ok carries the access key id that signed it.
pub(crate) fn verify<'k>(
    req: &SignedRequest<'_>,
    region: &str,
    service: &str,
    now: i64,
    lookup: impl Fn(&str) -> Option<KnownKey<'k>>,
) -> Result<String, Rejection> {
    let auth = header(req, "authorization").ok_or(Rejection::MissingToken)?;
    let auth = parse_authorization(auth)?;
    let amz = header(req, "x-amz-date").ok_or_else(|| {
        Rejection::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        )
    })?;
    let signed_at = time::parse_amz_date(amz)
        .filter(|t| *t >= 0)
        .ok_or_else(|| {
            Rejection::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz}'."
            ))
        })?;

    let key = lookup(auth.access_key_id).ok_or(Rejection::UnrecognizedClient)?;
    if key.session_token != header(req, "x-amz-security-token") {
        return Err(Rejection::UnrecognizedClient);
    }
    if key.expired {
        return Err(Rejection::ExpiredToken);
    }

    if auth.scope_terminator != "aws4_request" {
        return Err(Rejection::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
            auth.scope_terminator
        )));
    }
    if auth.scope_service != service {
        return Err(Rejection::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    if auth.scope_region != region {
        return Err(Rejection::InvalidSignature(
            "Credential should be scoped to a valid region. ".into(),
        ));
    }
    if auth.scope_date != &amz[..8] {
        return Err(Rejection::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz}'.",
            auth.scope_date,
            &amz[..8]
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(Rejection::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    if now - signed_at > MAX_SKEW_SECONDS {
        return Err(Rejection::InvalidSignature(format!(
            "Signature expired: {amz} is now earlier than {} ({} - 5 min.)",
            time::amz_date(now - MAX_SKEW_SECONDS),
            time::amz_date(now)
        )));
    }
    if signed_at - now > MAX_SKEW_SECONDS {
        return Err(Rejection::InvalidSignature(format!(
            "Signature not yet current: {amz} is still later than {} ({} + 5 min.)",
            time::amz_date(now + MAX_SKEW_SECONDS),
            time::amz_date(now)
        )));
    }

    let canonical = canonical_request(req, &auth.signed_headers);
    let scope = format!("{}/{region}/{service}/aws4_request", auth.scope_date);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        key.secret,
        UNIX_EPOCH + Duration::from_secs(signed_at as u64),
        region,
        service,
    );
    let expected = aws_sigv4::sign::v4::calculate_signature(signing_key, string_to_sign.as_bytes());
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(Rejection::InvalidSignature(SIGNATURE_MISMATCH.into()));
    }
    Ok(auth.access_key_id.to_string())
}

fn canonical_request(req: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&sha256_hex(req.body));
    out
}

// Services other than S3 encode the already-encoded path a second time.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|segment| uri_encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Not a format! per byte: every request hashes its body and its canonical form.
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The AWS SigV4 test suite's credentials and time (2015-08-30T12:36:00Z).
    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_TIME: i64 = 1_440_938_160;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn suite_key(name: &str) -> Option<KnownKey<'static>> {
        (name == AKID).then_some(KnownKey {
            secret: SECRET,
            session_token: None,
            expired: false,
        })
    }

    fn form_request_headers(auth: &str) -> Vec<(String, String)> {
        headers(&[
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "example.amazonaws.com"),
            ("content-length", "13"),
            ("x-amz-date", "20150830T123600Z"),
            (
                "x-amz-content-sha256",
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            ),
            ("authorization", auth),
        ])
    }

    const FORM_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b";

    fn check(headers: &[(String, String)], body: &[u8], now: i64) -> Result<String, Rejection> {
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body,
        };
        verify(&req, "us-east-1", "service", now, suite_key)
    }

    #[test]
    fn accepts_the_aws_test_suite_signatures() {
        // post-x-www-form-urlencoded from the AWS SigV4 test suite.
        let h = form_request_headers(FORM_AUTH);
        assert_eq!(check(&h, b"Param1=value1", SUITE_TIME), Ok(AKID.into()));
        // post-vanilla
        let h = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
        ]);
        assert_eq!(check(&h, b"", SUITE_TIME), Ok(AKID.into()));
    }

    #[test]
    fn rejects_a_tampered_body() {
        let h = form_request_headers(FORM_AUTH);
        assert_eq!(
            check(&h, b"Param1=value2", SUITE_TIME),
            Err(Rejection::InvalidSignature(SIGNATURE_MISMATCH.into()))
        );
    }

    #[test]
    fn recomputes_over_exactly_the_signed_headers() {
        // Unsigned extra headers do not matter.
        let mut h = form_request_headers(FORM_AUTH);
        h.push(("x-amz-user-agent".into(), "something/1.0".into()));
        assert!(check(&h, b"Param1=value1", SUITE_TIME).is_ok());
        // Claiming a different header set breaks the signature.
        let other = FORM_AUTH.replace("content-length;content-type;", "content-length;");
        let h = form_request_headers(&other);
        assert_eq!(
            check(&h, b"Param1=value1", SUITE_TIME),
            Err(Rejection::InvalidSignature(SIGNATURE_MISMATCH.into()))
        );
        // A signed header whose value changed breaks it too.
        let mut h = form_request_headers(FORM_AUTH);
        h[0].1 = "application/json".into();
        assert!(check(&h, b"Param1=value1", SUITE_TIME).is_err());
    }

    #[test]
    fn front_door_errors() {
        let h = form_request_headers(&FORM_AUTH.replace(AKID, "AKIDUNKNOWN"));
        assert_eq!(
            check(&h, b"Param1=value1", SUITE_TIME),
            Err(Rejection::UnrecognizedClient)
        );
        let h: Vec<_> = form_request_headers(FORM_AUTH)
            .into_iter()
            .filter(|(n, _)| n != "authorization")
            .collect();
        assert_eq!(check(&h, b"", SUITE_TIME), Err(Rejection::MissingToken));
        let h = form_request_headers(&FORM_AUTH.replace("/us-east-1/", "/eu-west-1/"));
        assert!(matches!(
            check(&h, b"Param1=value1", SUITE_TIME),
            Err(Rejection::InvalidSignature(m)) if m.contains("valid region")
        ));
        let h = form_request_headers("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00");
        assert!(matches!(
            check(&h, b"", SUITE_TIME),
            Err(Rejection::Incomplete(m)) if m.contains("'Credential'")
        ));
    }

    #[test]
    fn clock_skew_messages_match_aws() {
        let h = form_request_headers(FORM_AUTH);
        let late = check(&h, b"Param1=value1", SUITE_TIME + 1800).unwrap_err();
        assert_eq!(late.error_type(), "InvalidSignatureException");
        assert_eq!(
            late.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T130100Z (20150830T130600Z - 5 min.)"
        );
        let early = check(&h, b"Param1=value1", SUITE_TIME - 600).unwrap_err();
        assert_eq!(
            early.message(),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123100Z (20150830T122600Z + 5 min.)"
        );
        // Within five minutes is fine.
        assert!(check(&h, b"Param1=value1", SUITE_TIME + 299).is_ok());
    }

    /// Signs like aws-sdk-drs does (its own signer, not ours), then verifies.
    fn sdk_signed(
        secret: &str,
        token: Option<&str>,
        body: &[u8],
        at: i64,
    ) -> Vec<(String, String)> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let mut h = headers(&[
            ("content-type", "application/json"),
            ("content-length", &body.len().to_string()),
            ("host", "127.0.0.1:4566"),
            ("x-amz-user-agent", "aws-sdk-rust/1.3 api/drs/1.128.0"),
        ]);
        let creds = aws_sdk_drs::config::Credentials::new(
            "AKIADEMO0000000TEST",
            secret,
            token.map(str::to_string),
            None,
            "test",
        );
        let identity = creds.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("drs")
            .time(UNIX_EPOCH + Duration::from_secs(at as u64))
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:4566/DescribeJobs",
            h.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        for (name, value) in instructions.headers() {
            h.push((name.to_ascii_lowercase(), value.to_string()));
        }
        h
    }

    #[test]
    fn accepts_what_the_aws_signer_produces_and_checks_tokens() {
        const T: i64 = 1_795_419_120;
        const S: &str = "demoSecretKey0000000000000000000000000000";
        let lookup = |token: Option<&'static str>, expired: bool| {
            move |name: &str| {
                (name == "AKIADEMO0000000TEST").then_some(KnownKey {
                    secret: S,
                    session_token: token,
                    expired,
                })
            }
        };
        let run =
            |h: &[(String, String)], body: &[u8], l: &dyn Fn(&str) -> Option<KnownKey<'static>>| {
                let req = SignedRequest {
                    method: "POST",
                    path: "/DescribeJobs",
                    query: "",
                    headers: h,
                    body,
                };
                verify(&req, "us-east-1", "drs", T, l)
            };
        let body = br#"{"maxResults":10}"#;
        let h = sdk_signed(S, None, body, T);
        assert!(run(&h, body, &lookup(None, false)).is_ok());
        // The token is required when the key has one, and must match.
        assert_eq!(
            run(&h, body, &lookup(Some("tok"), false)),
            Err(Rejection::UnrecognizedClient)
        );
        let h = sdk_signed(S, Some("tok"), body, T);
        assert!(run(&h, body, &lookup(Some("tok"), false)).is_ok());
        assert_eq!(
            run(&h, body, &lookup(Some("other"), false)),
            Err(Rejection::UnrecognizedClient)
        );
        assert_eq!(
            run(&h, body, &lookup(Some("tok"), true)),
            Err(Rejection::ExpiredToken)
        );
        // A wrong secret gives the mismatch message.
        let h = sdk_signed("wrongSecret00000000000000000000000000000", None, body, T);
        assert_eq!(
            run(&h, body, &lookup(None, false)),
            Err(Rejection::InvalidSignature(SIGNATURE_MISMATCH.into()))
        );
    }
}
