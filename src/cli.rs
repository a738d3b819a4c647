//! Command line: the wizard, the demo, the standalone emulator. Options and environment
//! variables follow the official failback client's where they overlap.

use crate::domain::access_keys::{self, AccessKeys};
use crate::domain::mapping::DmValueFormat;
use clap::{Parser, Subcommand, ValueEnum};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The options whose values `process::hide_args` blanks from our own command line.
pub const SECRET_OPTIONS: [&str; 2] = ["--aws-secret-access-key", "--aws-session-token"];

/// A secret given on the command line: zeroed when dropped, never shown by Debug.
#[derive(Clone)]
pub struct SecretArg(pub Zeroizing<String>);

impl fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn secret_arg(s: &str) -> Result<SecretArg, String> {
    Ok(SecretArg(Zeroizing::new(s.to_owned())))
}

fn dm_value_format(s: &str) -> Result<DmValueFormat, String> {
    DmValueFormat::from_arg(s).ok_or_else(|| {
        let all: Vec<&str> = DmValueFormat::ARGS.iter().map(|f| f.as_arg()).collect();
        format!("`{s}` is not one of {}", all.join(", "))
    })
}

/// What `--no-prompt` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// One line per step, for people.
    #[default]
    Text,
    /// One JSON object per line, per event; the last line is the outcome (field names are
    /// stable; see the README).
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "drs-failback",
    version,
    about = "Fail back AWS Elastic Disaster Recovery recovery instances onto this machine's disks",
    long_about = "Fail back AWS Elastic Disaster Recovery recovery instances onto this machine's \
disks.\n\nTakes the official failback client's arguments and the livecd's variables (AWS_REGION, \
AWS_ACCESS_KEY, AWS_SECRET_KEY, AWS_SESSION_TOKEN, AWS_DRS_ENDPOINT, RECOVERY_INSTANCE_ID, \
DEVICE_MAPPING, NO_PROMPT, S3_ENDPOINT) with the same meaning; the command line wins over the environment. \
In the wizard they fill in its screens; with --no-prompt nothing is asked.",
    after_help = crate::exit::help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Rehearse the whole failback: no AWS account, no real disk.
    ///
    /// Against the DRS emulator built in (a process of its own), on virtual disks: no AWS
    /// account is used and no real disk is written.
    #[arg(long)]
    pub demo: bool,

    /// Where the demo keeps its virtual disks (default: a temporary directory, removed on exit).
    #[arg(long, value_name = "DIR", requires = "demo")]
    pub demo_dir: Option<PathBuf>,

    /// A scenario file for the demo's emulator (default: the embedded one).
    #[arg(long, value_name = "FILE", requires = "demo")]
    pub scenario: Option<PathBuf>,

    /// Ask nothing (also NO_PROMPT): a problem stops with its exit status (below).
    ///
    /// Every value comes from the arguments and the environment; a problem stops the run
    /// with a message naming the argument to fix and its own exit status (below). Once
    /// replication is ready, waits for the failback launch (the DRS console, any API client,
    /// or --launch-when-ready).
    #[arg(long)]
    pub no_prompt: bool,

    /// With --no-prompt and no credentials: wait for them instead of exit 3.
    ///
    /// The default credential chain (instance metadata, the environment, files) is
    /// tried again after 5, 10, 20, 40 s, then every minute, and every wizard on this machine
    /// (other consoles, SSH logins) is asked for them; the run goes on with the first that DRS
    /// accepts. The live image's drs.no_prompt sets it.
    #[arg(long)]
    pub wait_for_credentials: bool,

    /// With --no-prompt: what goes to standard output.
    #[arg(long, value_enum, default_value_t = Output::Text, value_name = "FORMAT")]
    pub output: Output,

    /// With --no-prompt: start the failback launch once the instance is ready.
    ///
    /// StartFailbackLaunch, when the credentials allow it (the installation policy does not:
    /// then the DRS console's Failback button must).
    #[arg(long)]
    pub launch_when_ready: bool,

    /// AWS region, e.g. us-east-1 (else AWS_REGION).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// A custom DRS endpoint (VPC endpoint) instead of the regional default (else
    /// AWS_DRS_ENDPOINT; set but empty means --default-endpoint).
    #[arg(long, value_name = "URL", conflicts_with = "default_endpoint")]
    pub endpoint: Option<String>,

    /// The region's own DRS endpoint.
    #[arg(long)]
    pub default_endpoint: bool,

    /// Where to download AWS's replication software from (else S3_ENDPOINT).
    ///
    /// An S3 endpoint (an S3 VPC endpoint, the emulator) instead of S3's regional hosts:
    /// every request goes there, path-style. A bare IP stands for the region's S3 host at
    /// that address, as start.sh pins it.
    #[arg(long, env = "S3_ENDPOINT", hide_env = true, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Access key id (else AWS_ACCESS_KEY_ID or AWS_ACCESS_KEY). In the demo, given keys
    /// replace the emulator's first.
    #[arg(long = "aws-access-key-id", value_name = "KEY_ID")]
    pub access_key_id: Option<String>,

    /// Also offer loop, ram and zram devices as target disks (rehearsals on files).
    #[arg(long, conflicts_with = "demo")]
    pub include_loop: bool,

    /// Secret access key (else AWS_SECRET_ACCESS_KEY or AWS_SECRET_KEY). `ps` shows it:
    /// the environment or the prompt is safer.
    ///
    /// Accepted for compatibility, but `ps` shows a command line to every user of this
    /// machine: the environment or the wizard's prompt is safer. drs-failback blanks it from
    /// its own command line as soon as it is read.
    #[arg(long = "aws-secret-access-key", value_name = "SECRET", value_parser = secret_arg)]
    pub secret_access_key: Option<SecretArg>,

    /// Session token of temporary credentials (else AWS_SESSION_TOKEN). `ps` shows it:
    /// the environment or the prompt is safer.
    ///
    /// Like the secret: accepted for compatibility; `ps` shows it to every user of this
    /// machine; blanked from drs-failback's own command line once read.
    #[arg(long = "aws-session-token", value_name = "TOKEN", value_parser = secret_arg)]
    pub session_token: Option<SecretArg>,

    /// The recovery instance to fail back, i-... (else RECOVERY_INSTANCE_ID; without it, the
    /// one that matches this machine).
    #[arg(long, value_name = "ID")]
    pub recovery_instance_id: Option<String>,

    /// The volume mapping, e.g. /dev/xvda=/dev/sda,/dev/xvdb=EXCLUDE (else DEVICE_MAPPING).
    ///
    /// As the official client takes it: CSV (`/dev/xvda=/dev/sda, /dev/xvdb=EXCLUDE`, or
    /// `:`), a JSON object or the DRS API's JSON list (else DEVICE_MAPPING; without it, the
    /// automatic mapping).
    #[arg(long, value_name = "MAPPING")]
    pub device_mapping: Option<String>,

    /// What the local side of --device-mapping names: dev-name (/dev/sdb), by-path, by-id,
    /// by-uuid, or all-strict (any persistent name, never a /dev name).
    #[arg(long, value_name = "FORMAT", value_parser = dm_value_format)]
    pub dm_value_format: Option<DmValueFormat>,

    /// With --no-prompt: the log's lines also go to standard error (the full-screen wizard
    /// keeps its screen and shows where the log is).
    #[arg(long)]
    pub log_console: bool,

    /// Draw with ASCII only (serial consoles without Unicode).
    #[arg(long)]
    pub ascii: bool,

    /// No colours (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,

    /// Where the failback worker keeps its lock and socket (default /run/drs-failback).
    ///
    /// Default /run/drs-failback, or for the demo drs-failback-demo in $TMPDIR. A wizard
    /// started again with the same directory attaches to the failback running there.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,

    /// Where to write the log (default: a new file in $TMPDIR or /tmp).
    ///
    /// Default: a new drs-failback-<pid>-<random>.log in $TMPDIR or /tmp, mode 0600. An
    /// existing FILE is appended to when it is a regular file of yours; a symbolic link is
    /// refused.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

impl Cli {
    /// The livecd's variables, as its start.sh turns them into arguments: each fills its
    /// argument when the command line did not give it. AWS_DRS_ENDPOINT set but empty means
    /// --default-endpoint; NO_PROMPT set to anything means --no-prompt.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        self.region = self.region.or_else(|| set("AWS_REGION"));
        if self.endpoint.is_none() && !self.default_endpoint {
            match env("AWS_DRS_ENDPOINT") {
                Some(v) if v.trim().is_empty() => self.default_endpoint = true,
                Some(v) => self.endpoint = Some(v),
                None => {}
            }
        }
        self.recovery_instance_id = self
            .recovery_instance_id
            .or_else(|| set("RECOVERY_INSTANCE_ID"));
        self.device_mapping = self.device_mapping.or_else(|| set("DEVICE_MAPPING"));
        self.no_prompt |= set("NO_PROMPT").is_some();
        self
    }

    /// The access keys given: each part from its option, else from the environment.
    pub fn access_keys(&self, env: impl Fn(&str) -> Option<String>) -> AccessKeys {
        let mut keys = access_keys::from_env(env);
        if let Some(id) = self.access_key_id.as_deref().map(str::trim) {
            keys.access_key_id = Some(id.to_owned()).filter(|i| !i.is_empty());
        }
        if let Some(s) = &self.secret_access_key {
            keys.secret_access_key = Some(s.0.clone());
        }
        if let Some(t) = &self.session_token {
            keys.session_token = Some(t.0.clone());
        }
        keys
    }

    /// What the wizard's screens start with (`with_env` first, for the livecd's variables).
    pub fn prefill(&self, env: impl Fn(&str) -> Option<String>) -> crate::app::prefill::Prefill {
        use crate::app::prefill::{EndpointChoice, Prefill};
        let trimmed = |v: &Option<String>| v.as_deref().map(|v| v.trim().to_owned());
        Prefill {
            keys: self.access_keys(env),
            region: trimmed(&self.region),
            endpoint: match (&self.endpoint, self.default_endpoint) {
                (Some(url), _) => Some(EndpointChoice::Custom(url.trim().to_owned())),
                (None, true) => Some(EndpointChoice::Default),
                (None, false) => None,
            },
            recovery_instance_id: trimmed(&self.recovery_instance_id),
            device_mapping: trimmed(&self.device_mapping),
            value_format: self.dm_value_format,
        }
    }
}

impl Cli {
    /// What the Network screen starts with: the official client's variables from `env`, with
    /// `--s3-endpoint` (or S3_ENDPOINT, which clap reads into it) as the S3 endpoint.
    pub fn network_prefill(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> crate::domain::network::Prefill {
        crate::domain::network::prefill(|k| match k {
            "S3_ENDPOINT" => self.s3_endpoint.clone(),
            _ => env(k),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the DRS emulator on its own: point any AWS client at it with --endpoint-url.
    Emulator {
        /// Where to listen (port 0: any free one; the address it took is printed first).
        #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
        listen: SocketAddr,
        /// The scenario to serve (default: the embedded demo scenario).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// The demo's emulator, started by a demo wizard: held through descriptor 3 and
        /// `<state-dir>/emulator.sock`, it ends when no one holds it (`emulator::held`).
        #[arg(long, hide = true)]
        held: bool,
        /// With --held: where the virtual disks go (default: a temporary directory).
        #[arg(long, hide = true, value_name = "DIR", requires = "held")]
        demo_dir: Option<PathBuf>,
        /// With --held: the region played instead of the scenario's (a known one).
        #[arg(long, hide = true, value_name = "REGION", requires = "held")]
        region: Option<String>,
        /// With --held: its log, removed when it ends as it should.
        #[arg(long, hide = true, value_name = "FILE", requires = "held")]
        log: Option<PathBuf>,
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
    /// Check this machine against the failback client's prerequisites (exit 2: one failed).
    ///
    /// RAM, boot mode, Secure Boot, room for AWS's replication software in the state directory (--state-dir), the clock (against the DRS endpoint's time, and NTP), DNS, TCP and TLS to the DRS
    /// endpoint and S3 (--region, --endpoint, --s3-endpoint; default region us-east-1). Exit
    /// status 0 when nothing failed (warnings allowed), 2 when a check failed.
    Preflight {
        /// Machine-readable output: {"region", "checks": [{"id", "title", "verdict"
        /// (pass, warning, fail), "measured", "fix"}], "clock_skew_seconds", "offer_clock_set"}.
        #[arg(long)]
        json: bool,
    },
    /// Print the running failback's state (exit 1: none runs).
    ///
    /// From the worker's socket. Exit status 0 when a failback runs, 1 when none does.
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
    fn the_network_screen_starts_with_the_s3_endpoint_the_run_was_given() {
        let cli = Cli::parse_from(["drs-failback", "--s3-endpoint", "https://10.0.0.9"]);
        let p = cli.network_prefill(env(&[("S3_ENDPOINT", "10.9.9.9"), ("PROXY", "p:3128")]));
        assert_eq!(p.s3_endpoint.as_deref(), Some("https://10.0.0.9"));
        assert_eq!(p.proxy.as_deref(), Some("p:3128"));
        let cli = Cli::parse_from(["drs-failback"]);
        let p = cli.network_prefill(env(&[("S3_ENDPOINT", "10.9.9.9")]));
        assert_eq!(
            p.s3_endpoint, None,
            "S3_ENDPOINT counts through --s3-endpoint only, as our downloads read it"
        );
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
        assert!(help.contains("`ps` shows"), "{help}");
        for var in [
            "AWS_REGION",
            "AWS_DRS_ENDPOINT",
            "RECOVERY_INSTANCE_ID",
            "DEVICE_MAPPING",
            "NO_PROMPT",
            "S3_ENDPOINT",
        ] {
            assert!(help.contains(var), "--help does not name {var}");
        }
    }

    #[test]
    fn short_help_is_a_line_an_option_and_says_what_ps_shows() {
        let mut cli = Cli::command();
        let help = cli.render_help().to_string();
        // The secrets' warning is in -h too, not only in --help.
        for option in SECRET_OPTIONS {
            let line = help
                .lines()
                .find(|l| l.contains(option))
                .unwrap_or_default();
            assert!(line.contains("`ps` shows it"), "{line}");
        }
        // No environment value is printed (S3_ENDPOINT's would be).
        assert!(!help.contains("[env:"), "{help}");
        for sub in cli.get_subcommands_mut().filter(|c| !c.is_hide_set()) {
            let name = sub.get_name().to_owned();
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(about.len() <= 100, "{name}'s summary: {about}");
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                assert!(
                    arg.get_help().is_some(),
                    "{name} --{:?} has no help",
                    arg.get_long()
                );
            }
        }
        for arg in cli.get_arguments().filter(|a| !a.is_hide_set()) {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(help.len() <= 160, "--{:?}: {help}", arg.get_long());
        }
    }

    #[test]
    fn the_livecds_variables_mean_what_start_sh_makes_of_them() {
        let cli = |args: &[&str]| {
            Cli::parse_from(std::iter::once("drs-failback").chain(args.iter().copied()))
        };
        let from = cli(&[]).with_env(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DRS_ENDPOINT", ""),
            ("RECOVERY_INSTANCE_ID", "i-0123456789abcdef0"),
            ("DEVICE_MAPPING", "/dev/xvda=/dev/sda"),
            ("NO_PROMPT", "1"),
        ]));
        assert_eq!(from.region.as_deref(), Some("eu-west-1"));
        assert!(from.default_endpoint && from.endpoint.is_none());
        assert_eq!(
            from.recovery_instance_id.as_deref(),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(from.device_mapping.as_deref(), Some("/dev/xvda=/dev/sda"));
        assert!(from.no_prompt);

        let custom = cli(&[]).with_env(env(&[("AWS_DRS_ENDPOINT", "https://vpce.example")]));
        assert_eq!(custom.endpoint.as_deref(), Some("https://vpce.example"));
        assert!(!custom.default_endpoint);
        let unset = cli(&[]).with_env(env(&[("NO_PROMPT", "")]));
        assert!(!unset.default_endpoint && unset.endpoint.is_none() && !unset.no_prompt);

        // The command line wins.
        let args =
            cli(&["--region", "us-west-2", "--endpoint", "https://a.example"]).with_env(env(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DRS_ENDPOINT", ""),
            ]));
        assert_eq!(args.region.as_deref(), Some("us-west-2"));
        assert_eq!(args.endpoint.as_deref(), Some("https://a.example"));
        assert!(!args.default_endpoint);
    }

    #[test]
    fn every_official_argument_parses_and_secrets_never_show_in_debug() {
        let cli = Cli::parse_from([
            "drs-failback",
            "--aws-access-key-id",
            "AKIAFLAG",
            "--aws-secret-access-key",
            "SECRET-FROM-ARGV",
            "--aws-session-token",
            "TOKEN-FROM-ARGV",
            "--region",
            "eu-west-1",
            "--default-endpoint",
            "--recovery-instance-id",
            "i-0123456789abcdef0",
            "--dm-value-format",
            "all-strict",
            "--device-mapping",
            "/dev/xvda=pci-0000:00:10.0-scsi-0:0:0:0",
            "--no-prompt",
            "--log-console",
            "--log-file",
            "/tmp/x.log",
        ]);
        assert_eq!(cli.dm_value_format, Some(DmValueFormat::AllStrict));
        assert!(cli.no_prompt && cli.log_console && cli.default_endpoint);
        let keys = cli.access_keys(env(&[("AWS_SECRET_KEY", "ENV")]));
        assert_eq!(
            keys.secret_access_key.as_deref().map(String::as_str),
            Some("SECRET-FROM-ARGV")
        );
        assert_eq!(
            keys.session_token.as_deref().map(String::as_str),
            Some("TOKEN-FROM-ARGV")
        );
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("SECRET-FROM-ARGV") && !shown.contains("TOKEN-FROM-ARGV"),
            "{shown}"
        );
        assert!(
            Cli::try_parse_from([
                "drs-failback",
                "--endpoint",
                "https://a",
                "--default-endpoint"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["drs-failback", "--dm-value-format", "by-name"]).is_err());
    }
}
