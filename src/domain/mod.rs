//! Domain rules: plain functions and types, no UI and no I/O.

pub mod access_keys;
pub mod backoff;
pub mod block;
pub mod bytes;
pub mod fit;
#[cfg(test)]
mod fixtures;
pub mod local_disks;
pub mod mapping;
pub mod matching;
pub mod model;
pub mod network;
pub mod preflight;
pub mod regions;
pub mod replication_errors;
pub mod ssh;
pub mod states;
pub mod throughput;
pub mod time;
pub mod validate;
