//! Every exit status, in one table: `--help`, the README and `--no-prompt`'s stops all come
//! from it. A stop names the setting to fix (the official client's argument and the livecd's
//! variable) and exits with the code of what is wrong, so a script can tell them apart.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Completed,
    Failed,
    CannotStart,
    Credentials,
    Region,
    Endpoint,
    RecoveryInstance,
    DeviceMapping,
    Busy,
    Service,
    Panic,
}

/// (code, what it means), in code order. Signals (128+N) are described after it.
pub const TABLE: [(Exit, u8, &str); 11] = [
    (
        Exit::Completed,
        0,
        "the failback completed (or the operator quit)",
    ),
    (Exit::Failed, 1, "the failback failed, or was stopped"),
    (
        Exit::CannotStart,
        2,
        "it could not start: a bad option, a failed pre-flight check (RAM, clock, the way to \
         DRS or S3: the message names --endpoint or --s3-endpoint when they point it), a \
         network setting, the local disks",
    ),
    (
        Exit::Credentials,
        3,
        "credentials missing, malformed or refused (--aws-access-key-id, \
         --aws-secret-access-key, --aws-session-token)",
    ),
    (
        Exit::Region,
        4,
        "the region is unknown or not the endpoint's (--region)",
    ),
    (
        Exit::Endpoint,
        5,
        "the DRS endpoint is malformed, or its check fails (--endpoint, --default-endpoint)",
    ),
    (
        Exit::RecoveryInstance,
        6,
        "no recovery instance to fail back: not listed, cannot fit, or none matches this \
         machine (--recovery-instance-id)",
    ),
    (
        Exit::DeviceMapping,
        7,
        "the volume mapping does not parse or does not fit (--device-mapping, \
         --dm-value-format)",
    ),
    (
        Exit::Busy,
        8,
        "another failback holds this machine's lock (--state-dir)",
    ),
    (
        Exit::Service,
        9,
        "DRS refused or failed a call (throttling, server error, a conflict): retry later",
    ),
    (Exit::Panic, 101, "an internal error (a panic), logged"),
];

impl Exit {
    pub fn code(self) -> u8 {
        TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .map_or(1, |(_, c, _)| *c)
    }
}

/// The exit statuses for `--help`, from the table.
pub fn help() -> String {
    let mut out = String::from("Exit status:\n");
    for (_, code, meaning) in TABLE {
        out.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    out.push_str(
        "  128+N ended by signal N: 129 SIGHUP (or the terminal went away), 130 SIGINT, \
         131 SIGQUIT, 143 SIGTERM",
    );
    out
}

/// A setting the operator can fix: the official client's argument and, where the livecd has
/// one, its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub argument: &'static str,
    pub variable: Option<&'static str>,
}

impl Setting {
    const fn new(argument: &'static str, variable: Option<&'static str>) -> Self {
        Setting { argument, variable }
    }
    pub const KEY_ID: Setting = Setting::new("--aws-access-key-id", Some("AWS_ACCESS_KEY"));
    pub const SECRET: Setting = Setting::new("--aws-secret-access-key", Some("AWS_SECRET_KEY"));
    pub const TOKEN: Setting = Setting::new("--aws-session-token", Some("AWS_SESSION_TOKEN"));
    pub const REGION: Setting = Setting::new("--region", Some("AWS_REGION"));
    pub const ENDPOINT: Setting = Setting::new("--endpoint", Some("AWS_DRS_ENDPOINT"));
    pub const INSTANCE: Setting =
        Setting::new("--recovery-instance-id", Some("RECOVERY_INSTANCE_ID"));
    pub const MAPPING: Setting = Setting::new("--device-mapping", Some("DEVICE_MAPPING"));
    pub const S3_ENDPOINT: Setting = Setting::new("--s3-endpoint", Some("S3_ENDPOINT"));
    pub const STATE_DIR: Setting = Setting::new("--state-dir", None);
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.variable {
            Some(v) => write!(f, "{} (or {v})", self.argument),
            None => f.write_str(self.argument),
        }
    }
}

/// Why a run stops before its result: the exit status, the setting to fix, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub exit: Exit,
    pub setting: Option<Setting>,
    pub message: String,
}

impl Stop {
    pub fn new(exit: Exit, setting: Option<Setting>, message: impl Into<String>) -> Self {
        Stop {
            exit,
            setting,
            message: message.into(),
        }
    }
}

/// Errors without a kind of their own could not start the run.
impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop::new(Exit::CannotStart, None, message)
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Self {
        Stop::from(message.to_owned())
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages that already say where their value came from are not prefixed again.
        match &self.setting {
            Some(s) if !self.message.contains(s.argument) => write!(f, "{s}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_the_help_lists_each() {
        let codes: Vec<u8> = TABLE.iter().map(|(_, c, _)| *c).collect();
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "in order, none twice"
        );
        let help = help();
        for (exit, code, _) in TABLE {
            assert_eq!(exit.code(), code);
            assert!(help.contains(&format!("{code:>3}  ")), "{help}");
        }
        assert!(help.contains("143 SIGTERM"), "{help}");
    }

    #[test]
    fn a_stop_names_the_argument_and_the_variable() {
        let s = Stop::new(
            Exit::Region,
            Some(Setting::REGION),
            "Unknown region `mars-1`.",
        );
        assert_eq!(
            s.to_string(),
            "--region (or AWS_REGION): Unknown region `mars-1`."
        );
    }
}
