//! Command line: the wizard, the demo, the standalone emulator. Options and environment
//! variables follow the official failback client's where they overlap.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "drs-failback",
    version,
    about = "Fail back AWS Elastic Disaster Recovery recovery instances onto this machine's disks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Rehearse the whole failback against the embedded DRS emulator, on virtual disks:
    /// no AWS account is used and no real disk is written.
    #[arg(long)]
    pub demo: bool,

    /// Where the demo keeps its virtual disks (default: a temporary directory, removed on exit).
    #[arg(long, value_name = "DIR", requires = "demo")]
    pub demo_dir: Option<PathBuf>,

    /// A scenario file for the demo's emulator (default: the embedded one).
    #[arg(long, value_name = "FILE", requires = "demo")]
    pub scenario: Option<PathBuf>,

    /// Run the journey with defaults, without a screen, one line per step (demo only for now).
    #[arg(long, env = "NO_PROMPT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_prompt: bool,

    /// AWS region, e.g. us-east-1.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// A custom DRS endpoint (VPC endpoint) instead of the regional default.
    #[arg(long, env = "AWS_DRS_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// Access key id (the secret and session token are read only from AWS_SECRET_KEY and
    /// AWS_SESSION_TOKEN, never from the command line where `ps` would show them).
    #[arg(
        long = "aws-access-key-id",
        env = "AWS_ACCESS_KEY",
        value_name = "KEY_ID"
    )]
    pub access_key_id: Option<String>,

    /// Draw with ASCII only (serial consoles without Unicode).
    #[arg(long)]
    pub ascii: bool,

    /// No colours (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,

    /// Where to write the log (default: /tmp/drs-failback-<pid>.log).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the DRS emulator on its own: point any AWS client at it with --endpoint-url.
    Emulator {
        #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
        listen: SocketAddr,
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },
    /// List this machine's disks as the wizard sees them, with why one cannot be chosen.
    Disks {
        /// Machine-readable output (field names are stable; see the README).
        #[arg(long)]
        json: bool,
        /// Also list loop, ram and zram devices (tests, rehearsals on files).
        #[arg(long)]
        include_loop: bool,
    },
    /// The demo's stand-in for AWS's failback_entry (its arguments; see `standin`).
    #[command(hide = true)]
    FailbackClientStandin(crate::standin::args::StandinArgs),
}
