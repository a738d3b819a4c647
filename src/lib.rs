//! drs-failback: a terminal wizard that fails back AWS DRS recovery instances onto local disks.

pub mod app;
pub mod cli;
pub mod disks;
pub mod domain;
pub mod drs;
pub mod emulator;
pub mod exit;
pub mod failback_software;
pub mod headless;
pub mod host;
pub mod keyring;
pub mod net;
pub mod netconfig;
pub mod preflight;
pub mod process;
pub mod replicator;
pub mod ssh;
pub mod standin;
pub mod terminal;
pub mod ui;
pub mod wizard;
pub mod worker;
