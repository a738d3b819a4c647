//! The wizard's DRS client (the real aws-sdk-drs) against the emulator: every failure reaches
//! the operator as the right kind, with advice.

mod common;

use common::emulator::emulator_with;
use drs_failback::drs::{Auth, DrsClient, DrsErrorKind, DrsTarget, StaticCredentials};
use drs_failback::emulator::{Emulator, Scenario};

async fn emulator() -> Emulator {
    emulator_with(|_| {}).await
}

fn credential(emu: &Emulator, label: &str) -> StaticCredentials {
    emu.credentials()
        .into_iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("scenario has no `{label}` credential"))
        .credentials
}

fn target(emu: &Emulator, creds: StaticCredentials) -> DrsTarget {
    DrsTarget {
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        auth: Auth::Static(creds),
    }
}

async fn verify_kind(emu: &Emulator, creds: StaticCredentials) -> DrsErrorKind {
    let client = DrsClient::connect(&target(emu, creds)).await.unwrap();
    client
        .verify()
        .await
        .expect_err("verification should fail")
        .kind
}

#[tokio::test]
async fn full_access_key_verifies_and_lists_every_instance_across_pages() {
    let emu = emulator().await;
    let client = DrsClient::connect(&target(&emu, credential(&emu, "full access")))
        .await
        .unwrap();
    assert_eq!(client.credential_source, "typed access key");
    client.verify().await.unwrap();
    let all = client.recovery_instances().await.unwrap();
    let expected = Scenario::embedded_default();
    let mut ids: Vec<_> = all.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no instance twice");
    assert!(all.len() >= 25, "the demo scenario pages: {}", all.len());
    let web = all
        .iter()
        .find(|i| i.hints.hostname.as_deref() == Some("web-01"))
        .unwrap();
    assert_eq!(web.volumes.len(), 2);
    assert_eq!(expected.demo_host().hostname, "web-01");
    let one = client.recovery_instance(&web.id).await.unwrap();
    assert_eq!(one.id, web.id);
}

#[tokio::test]
async fn unknown_access_key_is_named_as_such() {
    let emu = emulator().await;
    let mut creds = credential(&emu, "full access");
    creds.access_key_id = "AKIAUNKNOWN000000000".into();
    assert_eq!(
        verify_kind(&emu, creds).await,
        DrsErrorKind::UnknownAccessKey
    );
}

#[tokio::test]
async fn wrong_secret_is_named_as_such() {
    let emu = emulator().await;
    let mut creds = credential(&emu, "full access");
    creds.secret_access_key = "x".repeat(40);
    assert_eq!(verify_kind(&emu, creds).await, DrsErrorKind::WrongSecret);
}

#[tokio::test]
async fn a_region_other_than_the_endpoints_is_named_as_such() {
    let emu = emulator().await;
    let mut target = target(&emu, credential(&emu, "full access"));
    target.region = if emu.region() == "eu-west-1" {
        "us-east-1"
    } else {
        "eu-west-1"
    }
    .into();
    let client = DrsClient::connect(&target).await.unwrap();
    let err = client.verify().await.expect_err("the region is wrong");
    assert_eq!(err.kind, DrsErrorKind::WrongRegion, "{err}");
    assert!(!err.advice().contains("secret"), "{}", err.advice());
}

#[tokio::test]
async fn expired_session_token_is_named_as_such() {
    let emu = emulator().await;
    let creds = credential(&emu, "expired session");
    assert_eq!(verify_kind(&emu, creds).await, DrsErrorKind::ExpiredToken);
}

#[tokio::test]
async fn clock_skew_is_measured_from_the_servers_date() {
    let emu = emulator_with(|j| j["clock_offset_seconds"] = 900.into()).await;
    let client = DrsClient::connect(&target(&emu, credential(&emu, "full access")))
        .await
        .unwrap();
    // The SDK corrects SigV4 for skew on its retry, so the call succeeds...
    client.verify().await.unwrap();
    // ...and the skew it had to correct is reported.
    let skew = client.clock_skew().expect("the answer carried a Date");
    assert!((890..=910).contains(&skew.seconds), "skew {skew:?}");
    assert!(skew.matters());
    assert!(skew.advice().contains("behind AWS"), "{}", skew.advice());
}

#[tokio::test]
async fn a_right_clock_has_no_skew_worth_telling() {
    let emu = emulator().await;
    let client = DrsClient::connect(&target(&emu, credential(&emu, "full access")))
        .await
        .unwrap();
    client.verify().await.unwrap();
    assert!(!client.clock_skew().unwrap().matters());
}

#[tokio::test]
async fn installation_policy_may_list_but_not_launch() {
    let emu = emulator().await;
    let client = DrsClient::connect(&target(
        &emu,
        credential(&emu, "failback installation policy"),
    ))
    .await
    .unwrap();
    let all = client.recovery_instances().await.unwrap();
    let err = client.start_failback_launch(&all[0].id).await.unwrap_err();
    assert_eq!(
        err.kind,
        DrsErrorKind::AccessDenied {
            action: Some("drs:StartFailbackLaunch".into())
        }
    );
    assert!(
        err.advice()
            .contains("AWSElasticDisasterRecoveryFailbackInstallationPolicy")
    );
}

#[tokio::test]
async fn launching_an_instance_not_ready_is_a_conflict_and_unknown_ids_are_not_found() {
    let emu = emulator().await;
    let client = DrsClient::connect(&target(&emu, credential(&emu, "full access")))
        .await
        .unwrap();
    let web = client
        .recovery_instances()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.hints.hostname.as_deref() == Some("web-01"))
        .unwrap();
    let err = client.start_failback_launch(&web.id).await.unwrap_err();
    assert_eq!(err.kind, DrsErrorKind::Conflict, "{err}");
    let err = client.job("drsjob-00000000000000000").await.unwrap_err();
    assert_eq!(err.kind, DrsErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn persistent_throttling_and_server_errors_are_classified_after_retries() {
    let emu = emulator_with(|j| {
        j["faults"]["operations"]["DescribeRecoveryInstances"] =
            serde_json::json!({"throttle_every": 1});
        j["faults"]["retry_after_ms"] = 1.into();
    })
    .await;
    assert_eq!(
        verify_kind(&emu, credential(&emu, "full access")).await,
        DrsErrorKind::Throttled
    );
    let emu = emulator_with(|j| {
        j["faults"]["operations"]["DescribeRecoveryInstances"] =
            serde_json::json!({"server_error_every": 1});
        j["faults"]["retry_after_ms"] = 1.into();
    })
    .await;
    assert_eq!(
        verify_kind(&emu, credential(&emu, "full access")).await,
        DrsErrorKind::ServiceUnavailable
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    // Bind then drop: the port is known to be closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = DrsTarget {
        region: "us-east-1".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        auth: Auth::Static(StaticCredentials {
            access_key_id: "AKIAEXAMPLE000000000".into(),
            secret_access_key: "y".repeat(40),
            session_token: None,
        }),
    };
    let err = DrsClient::connect(&target)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap_err();
    assert_eq!(err.kind, DrsErrorKind::Unreachable, "{err}");
    let advice = err.advice();
    assert!(advice.contains(&format!("TCP {port} outbound")), "{advice}");
}

#[tokio::test]
async fn use_private_ip_is_read_where_the_credentials_may_and_refused_where_not() {
    let emu = emulator().await;
    let full = DrsClient::connect(&target(&emu, credential(&emu, "full access")))
        .await
        .unwrap();
    let id = full.recovery_instances().await.unwrap()[0].id.clone();
    assert_eq!(
        full.failback_configuration(&id)
            .await
            .map(|f| f.use_private_ip),
        Ok(false)
    );
    let installer = DrsClient::connect(&target(
        &emu,
        credential(&emu, "failback installation policy"),
    ))
    .await
    .unwrap();
    let err = installer.failback_configuration(&id).await.unwrap_err();
    assert_eq!(
        err.kind,
        DrsErrorKind::AccessDenied {
            action: Some("drs:GetFailbackReplicationConfiguration".into())
        }
    );
}
