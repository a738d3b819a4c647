//! The DRS emulator in the test's process, on the embedded demo scenario as a test edits it.

use drs_failback::emulator::{Emulator, Scenario};
use std::net::SocketAddr;

/// The emulator on 127.0.0.1 (a free port), serving the embedded scenario after `edit`.
pub async fn emulator_with(edit: impl FnOnce(&mut serde_json::Value)) -> Emulator {
    let mut json: serde_json::Value =
        serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
    edit(&mut json);
    let scenario = Scenario::from_json(&json.to_string()).unwrap();
    Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
        .await
        .unwrap()
}
