//! The tests' sandbox: what a test starts runs with its TMPDIR, and nothing of it outlives the
//! test, a process left running (as a worker outlives its wizard) included.

mod common;

use common::sandbox::Sandbox;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// Starts a long-running program (the emulator) through `cmd`; returns it once it listens.
fn listening(mut cmd: std::process::Command) -> std::process::Child {
    let mut child = cmd
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("DRS emulator listening on"), "{first}");
    // It goes on printing: its output stays open until it ends.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

fn gone(child: &mut std::process::Child) -> bool {
    // Reaped here if it was killed: Some(status) once it ended.
    child.try_wait().unwrap().is_some()
}

#[test]
fn a_process_left_running_ends_and_the_directory_goes_with_the_sandbox() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().to_owned();
    let mut direct = listening(sandbox.command());
    // Code that starts the binary itself is given `program()`: the same binary, this TMPDIR.
    let mut through_program = listening(std::process::Command::new(sandbox.program()));
    let mut running = sandbox.running();
    running.sort();
    let mut started = vec![direct.id(), through_program.id()];
    started.sort();
    assert_eq!(running, started);

    drop(sandbox);
    // The sandbox waited for both to end: they are zombies now, reaped here without waiting.
    let (direct_ended, program_ended) = (gone(&mut direct), gone(&mut through_program));
    assert!(
        direct_ended && program_ended,
        "{direct_ended} {program_ended}"
    );
    assert!(!dir.exists(), "{} was left", dir.display());
}
