//! The default AWS credential chain, found in the environment. A test binary of its own: it
//! sets process-wide environment variables.

use drs_failback::drs::{Auth, DrsClient, DrsErrorKind, DrsTarget};
use drs_failback::emulator::{Emulator, Scenario};
use std::net::SocketAddr;

#[tokio::test]
async fn the_default_chain_finds_environment_keys_and_names_the_source() {
    let emu = Emulator::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Scenario::embedded_default(),
    )
    .await
    .unwrap();
    let key = emu.credentials().remove(0).credentials;
    let target = DrsTarget {
        region: emu.region(),
        endpoint: Some(emu.endpoint()),
        auth: Auth::DefaultChain,
    };
    // SAFETY: the only test in this binary; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::set_var("AWS_ACCESS_KEY_ID", &key.access_key_id);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", &key.secret_access_key);
    }
    let client = DrsClient::connect(&target).await.unwrap();
    assert!(
        client.credential_source.contains("environment"),
        "{}",
        client.credential_source
    );
    assert_eq!(client.credentials.access_key_id, key.access_key_id);
    client.verify().await.unwrap();

    unsafe {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }
    let err = DrsClient::connect(&target).await.unwrap_err();
    assert_eq!(err.kind, DrsErrorKind::NoCredentials, "{err}");
    assert!(err.advice().contains("Type an access key"));
}
