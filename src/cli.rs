//! Command line: the wizard, the demo, the standalone emulator. Options and environment
//! variables follow the official failback client's where they overlap.

use crate::domain::access_keys::{self, AccessKeys};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// How each way of ending shows in the exit status (`process::exit_status` makes them).
pub const EXIT_STATUS: &str = "Exit status: 0 failback completed (or the operator quit), 1 the \
failback failed, 2 it could not start, 101 internal error, 128+N ended by signal N (129 SIGHUP \
or the terminal went away, 130 SIGINT, 131 SIGQUIT, 143 SIGTERM).";

#[derive(Debug, Parser)]
#[command(
    name = "drs-failback",
    version,
    about = "Fail back AWS Elastic Disaster Recovery recovery instances onto this machine's disks",
    after_help = EXIT_STATUS
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

    /// An S3 endpoint to download AWS's replication software from (an S3 VPC endpoint, the
    /// emulator) instead of S3's regional hosts: every request goes there, path-style.
    #[arg(long, env = "S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Access key id to fill in (else from AWS_ACCESS_KEY_ID or AWS_ACCESS_KEY). The secret
    /// and session token come only from the environment, never the command line where `ps`
    /// shows them: AWS_SECRET_ACCESS_KEY or AWS_SECRET_KEY, and AWS_SESSION_TOKEN. Both
    /// spellings work, the AWS CLI's and the failback client's; in the demo, given keys replace
    /// the emulator's first.
    #[arg(long = "aws-access-key-id", value_name = "KEY_ID")]
    pub access_key_id: Option<String>,

    /// Draw with ASCII only (serial consoles without Unicode).
    #[arg(long)]
    pub ascii: bool,

    /// No colours (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,

    /// Where the failback worker keeps its lock and socket (default /run/drs-failback, or for
    /// the demo drs-failback-demo in $TMPDIR). A wizard started again with the same directory
    /// attaches to the failback running there.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,

    /// Where to write the log (default: a new drs-failback-<pid>-<random>.log in $TMPDIR or
    /// /tmp, mode 0600). An existing FILE is appended to when it is a regular file of yours;
    /// a symbolic link is refused.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

impl Cli {
    /// The access keys given: the flag's key id, else the environment's, with its secret and
    /// token.
    pub fn access_keys(&self, env: impl Fn(&str) -> Option<String>) -> AccessKeys {
        let mut keys = access_keys::from_env(env);
        if let Some(id) = self.access_key_id.as_deref().map(str::trim) {
            keys.access_key_id = Some(id.to_owned()).filter(|i| !i.is_empty());
        }
        keys
    }
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
    /// Check this machine against the failback client's prerequisites: RAM, boot mode, Secure
    /// Boot, the clock (against the DRS endpoint's time, and NTP), DNS, TCP and TLS to the DRS
    /// endpoint and S3 (--region, --endpoint, --s3-endpoint; default region us-east-1). Exit
    /// status 0 when nothing failed (warnings allowed), 2 when a check failed.
    Preflight {
        /// Machine-readable output: {"region", "checks": [{"id", "title", "verdict"
        /// (pass, warning, fail), "measured", "fix"}], "clock_skew_seconds", "offer_clock_set"}.
        #[arg(long)]
        json: bool,
    },
    /// Print the running failback's state (from the worker's socket). Exit status 0 when a
    /// failback runs, 1 when none does.
    Status {
        /// One JSON object (field names are stable; see the README).
        #[arg(long)]
        json: bool,
    },
    /// The failback worker, started detached by the wizard (reads its setup on descriptor 3).
    #[command(hide = true)]
    Worker {
        /// The log its output goes to (told, for the terminals that attach).
        #[arg(long, value_name = "FILE")]
        log: Option<String>,
    },
    /// The demo's stand-in for AWS's failback_entry (its arguments; see `standin`).
    #[command(hide = true)]
    FailbackClientStandin(crate::standin::args::StandinArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn keys_come_from_the_flag_and_either_spelling_of_the_environment() {
        let cli = Cli::parse_from(["drs-failback", "--aws-access-key-id", "AKIAFLAG"]);
        let keys = cli.access_keys(env(&[
            ("AWS_ACCESS_KEY", "AKIAENV"),
            ("AWS_SECRET_KEY", "S"),
        ]));
        assert_eq!(keys.access_key_id.as_deref(), Some("AKIAFLAG"));
        assert_eq!(
            keys.secret_access_key.as_deref().map(String::as_str),
            Some("S")
        );
        let cli = Cli::parse_from(["drs-failback"]);
        let keys = cli.access_keys(env(&[("AWS_ACCESS_KEY_ID", "AKIAENV")]));
        assert_eq!(keys.access_key_id.as_deref(), Some("AKIAENV"));
    }

    #[test]
    fn help_names_every_variable_read_and_the_exit_statuses() {
        let help = Cli::command().render_long_help().to_string();
        for (name, _) in access_keys::ENV_NAMES {
            assert!(help.contains(name), "--help does not name {name}:\n{help}");
        }
        assert!(help.contains("143 SIGTERM"), "{help}");
    }
}
