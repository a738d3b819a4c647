//! The official `failback_entry` arguments, all of them, with their meaning.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `--dm-value-format`: what the local side of `--device-mapping` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValueFormat {
    DevName,
    ByPath,
    ById,
    ByUuid,
    /// Any persistent name (by-path, by-id or by-uuid), never a /dev name.
    AllStrict,
}

#[derive(Args, Clone, PartialEq, Eq)]
pub struct StandinArgs {
    #[arg(long, value_name = "AWS_ACCESS_KEY_ID")]
    pub aws_access_key_id: Option<String>,
    #[arg(long, value_name = "AWS_SECRET_ACCESS_KEY")]
    pub aws_secret_access_key: Option<String>,
    #[arg(long, value_name = "AWS_SESSION_TOKEN")]
    pub aws_session_token: Option<String>,
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The DRS endpoint; the stand-in speaks plain HTTP to the emulator only.
    #[arg(long, value_name = "ENDPOINT", conflicts_with = "default_endpoint")]
    pub endpoint: Option<String>,
    #[arg(long)]
    pub default_endpoint: bool,
    #[arg(long, value_name = "RECOVERY_INSTANCE_ID")]
    pub recovery_instance_id: Option<String>,
    #[arg(long, value_enum, default_value = "dev-name")]
    pub dm_value_format: ValueFormat,
    #[arg(long, value_name = "DEVICE_MAPPING")]
    pub device_mapping: Option<String>,
    /// Accepted for compatibility: the stand-in never prompts.
    #[arg(long)]
    pub no_prompt: bool,
    #[arg(long)]
    pub log_console: bool,
    #[arg(long, value_name = "LOG_FILE")]
    pub log_file: Option<PathBuf>,
}

// Hand-written: the secret and the token never reach a log or a panic message.
impl fmt::Debug for StandinArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("StandinArgs")
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field(
                "aws_secret_access_key",
                &masked(&self.aws_secret_access_key),
            )
            .field("aws_session_token", &masked(&self.aws_session_token))
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("default_endpoint", &self.default_endpoint)
            .field("recovery_instance_id", &self.recovery_instance_id)
            .field("dm_value_format", &self.dm_value_format)
            .field("device_mapping", &self.device_mapping)
            .field("no_prompt", &self.no_prompt)
            .field("log_console", &self.log_console)
            .field("log_file", &self.log_file)
            .finish()
    }
}

/// What the stand-in needs, checked: every missing piece is named by its argument.
/// (StaticCredentials' Debug is redacted.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub credentials: crate::drs::StaticCredentials,
    pub region: String,
    /// `http://host:port`
    pub endpoint: String,
    pub recovery_instance_id: String,
    pub value_format: ValueFormat,
    pub device_mapping: Option<String>,
}

impl StandinArgs {
    /// The run's settings, or what to give (AWS's program would prompt; the stand-in cannot).
    pub fn check(&self) -> Result<Checked, String> {
        let need = |v: &Option<String>, arg: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("{arg} is required (the stand-in does not prompt)"))
        };
        let endpoint = match (&self.endpoint, self.default_endpoint) {
            (Some(url), _) if url.starts_with("http://") => url.trim_end_matches('/').to_owned(),
            (Some(url), _) => {
                return Err(format!(
                    "--endpoint {url}: the stand-in talks plain HTTP to the DRS emulator only (http://127.0.0.1:PORT)"
                ));
            }
            (None, _) => {
                return Err(
                    "--endpoint http://127.0.0.1:PORT is required: the stand-in talks to the DRS emulator, not to AWS (--default-endpoint)"
                        .into(),
                );
            }
        };
        Ok(Checked {
            credentials: crate::drs::StaticCredentials {
                access_key_id: need(&self.aws_access_key_id, "--aws-access-key-id")?,
                secret_access_key: need(&self.aws_secret_access_key, "--aws-secret-access-key")?,
                session_token: self.aws_session_token.clone().filter(|t| !t.is_empty()),
            },
            region: need(&self.region, "--region")?,
            endpoint,
            recovery_instance_id: need(&self.recovery_instance_id, "--recovery-instance-id")?,
            value_format: self.dm_value_format,
            device_mapping: self.device_mapping.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "failback_entry")]
    struct Cli {
        #[command(flatten)]
        args: StandinArgs,
    }

    fn parse(argv: &[&str]) -> Result<StandinArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("failback_entry").chain(argv.iter().copied()))
            .map(|c| c.args)
    }

    const ALL: &[&str] = &[
        "--aws-access-key-id",
        "AKIADEMO0000000000AA",
        "--aws-secret-access-key",
        "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3",
        "--aws-session-token",
        "TOKEN",
        "--region",
        "us-east-1",
        "--endpoint",
        "http://127.0.0.1:4000/",
        "--recovery-instance-id",
        "i-0123456789abcdef0",
        "--dm-value-format",
        "by-path",
        "--device-mapping",
        "/dev/xvda=virtual-0:0:1:0",
        "--no-prompt",
        "--log-console",
        "--log-file",
        "/tmp/x.log",
    ];

    #[test]
    fn every_official_argument_is_taken() {
        let a = parse(ALL).expect("parses");
        assert!(a.no_prompt && a.log_console && !a.default_endpoint);
        assert_eq!(a.log_file, Some(PathBuf::from("/tmp/x.log")));
        let c = a.check().expect("complete");
        assert_eq!(c.endpoint, "http://127.0.0.1:4000");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.recovery_instance_id, "i-0123456789abcdef0");
        assert_eq!(c.value_format, ValueFormat::ByPath);
        assert_eq!(
            c.device_mapping.as_deref(),
            Some("/dev/xvda=virtual-0:0:1:0")
        );
        assert_eq!(c.credentials.session_token.as_deref(), Some("TOKEN"));
        for (arg, format) in [
            ("dev-name", ValueFormat::DevName),
            ("by-id", ValueFormat::ById),
            ("by-uuid", ValueFormat::ByUuid),
            ("all-strict", ValueFormat::AllStrict),
        ] {
            let a = parse(&["--dm-value-format", arg]).expect(arg);
            assert_eq!(a.dm_value_format, format);
        }
        assert!(
            parse(&["--default-endpoint"])
                .expect("flag")
                .default_endpoint
        );
        // The default format, as failback_entry's: /dev names.
        assert_eq!(
            parse(&[]).expect("none").dm_value_format,
            ValueFormat::DevName
        );
    }

    #[test]
    fn bad_arguments_are_refused_naming_them() {
        let err = parse(&["--dm-value-format", "by-label"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("--dm-value-format"), "{text}");
        assert!(
            text.contains("dev-name, by-path, by-id, by-uuid, all-strict"),
            "{text}"
        );
        let err = parse(&["--endpoint", "http://x", "--default-endpoint"]).unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
        let err = parse(&["--recovery-instance"]).unwrap_err();
        assert!(err.to_string().contains("--recovery-instance"), "{err}");
        assert!(parse(&["--region"]).is_err(), "a value is needed");
        assert!(parse(&["--no-prompt=yes"]).is_err(), "flags take no value");
    }

    #[test]
    fn missing_pieces_name_the_argument_to_give() {
        let without = |skip: &str| {
            let mut argv = Vec::new();
            let mut it = ALL.iter();
            while let Some(a) = it.next() {
                if *a == skip {
                    it.next();
                    continue;
                }
                argv.push(*a);
            }
            parse(&argv).expect("parses").check().unwrap_err()
        };
        for arg in [
            "--aws-access-key-id",
            "--aws-secret-access-key",
            "--region",
            "--recovery-instance-id",
        ] {
            let err = without(arg);
            assert!(err.starts_with(arg), "{err}");
        }
        assert!(without("--endpoint").contains("--endpoint http://127.0.0.1:PORT"));
        let mut a = parse(ALL).expect("parses");
        a.endpoint = Some("https://drs.us-east-1.amazonaws.com".into());
        assert!(a.check().unwrap_err().contains("plain HTTP"));
        // No token is fine (permanent keys); the mapping may be left to the service.
        a = parse(ALL).expect("parses");
        a.aws_session_token = None;
        a.device_mapping = None;
        a.check().expect("no token, no mapping");
    }

    #[test]
    fn debug_hides_the_secret_and_the_token() {
        let text = format!("{:?}", parse(ALL).expect("parses"));
        assert!(
            !text.contains("s3cr3t") && !text.contains("TOKEN"),
            "{text}"
        );
        assert!(text.contains("AKIADEMO0000000000AA"));
    }
}
