//! The failback worker's protocol, documented in one place.
//!
//! # The pipe (wizard → the worker it starts)
//! The worker reads file descriptor 3, a pipe from the wizard that started it, one JSON object
//! a line: first a [`Setup`], then a [`Handoff`] each time the operator confirms a failback.
//! Credentials travel only there (or in a [`Request::Credentials`]): never in argv, the
//! environment or a file. A `--no-prompt --wait-for-credentials` run that has none yet first
//! writes a [`Wait`] line (again for each news of its wait; `{"wait": null}` once it has them).
//! The pipe's end (EOF) means that wizard is gone: the worker then ends as soon as no failback
//! needs it (none handed off, or the last one acknowledged). In the demo, descriptor 4 is a
//! hold on the demo's emulator (`emulator::held`), kept until the worker ends.
//!
//! # The socket (worker ↔ any number of clients)
//! `<state-dir>/worker.sock`, mode 0600, exists while a failback runs. JSON lines both ways.
//! A client that connects receives the state so far as ordinary [`Event`]s — first
//! [`Event::Hello`], then the log lines, the download's progress or the installed version,
//! the first and latest write counters, the latest poll, the launch, the replication
//! software's exit, the failback replication configuration (or, when it could not be read,
//! the throttle last set), a pending credentials question, the outcome and the job log,
//! whichever exist — then [`Event::Live`], then every event as it happens. It may send
//! [`Request`]s at any time. A request the worker cannot parse or act on gets
//! [`Event::Error`] (to that client only); the connection stays open.
//!
//! # The unattended socket (a waiting unattended run ↔ every wizard)
//! `<state-dir>/unattended.sock`, mode 0600, exists from a [`Wait`] line until the worker
//! ends. Every wizard connects to it when it appears. While the run waits, a client receives
//! [`Event::CredentialsWanted`] (again for each news), answers with [`Request::Credentials`]
//! as after ExpiredToken, and every client gets [`Event::CredentialsAccepted`] once one was
//! accepted; the waiting run itself (the client whose process started the worker) asks for
//! them with [`Request::AwaitCredentials`] and alone receives [`Event::CredentialsGiven`].
//! Once its failback starts, [`Event::Hello`] and the failback's events follow there too.
//!
//! Times (`at`, `elapsed`) are seconds since the worker's failback started; `started_at` is Unix
//! seconds. `Result` values are `{"Ok": …}` or `{"Err": …}` as serde writes them.

use crate::domain::model::{FailbackReplicationConfiguration, Job, JobLogItem, RecoveryInstance};
use crate::drs::{DrsError, StaticCredentials};
use crate::failback_software::Progress;
use crate::replicator::{ReplicationPlan, RunId};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub use crate::wizard::replication::Verdict;

/// The socket's file name in the state directory.
pub const SOCKET: &str = "worker.sock";
/// The lock's file name: it holds the [`LockHolder`] of the worker that has it.
pub const LOCK: &str = "lock";
/// The socket a waiting unattended run's worker serves (see the module's text).
pub const UNATTENDED_SOCKET: &str = "unattended.sock";

/// Who started the failback, for every terminal that attaches later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedBy {
    /// The wizard's terminal (`/dev/tty1`, `/dev/pts/0`), with `ssh from ADDR` when it came
    /// over SSH; `no terminal` for `--no-prompt` without one.
    pub terminal: String,
    /// The wizard's process id.
    pub pid: u32,
    /// Unix seconds when the worker was started.
    pub started_at: i64,
}

/// What the lock file holds, so that a refused second worker can say who has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The worker's process id.
    pub worker_pid: u32,
    pub started_by: StartedBy,
}

/// Pipe, first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    pub started_by: StartedBy,
    /// How often DRS is asked for the recovery instance, in milliseconds, before any back-off.
    pub poll_every_ms: u64,
    /// `--s3-endpoint` / `S3_ENDPOINT`: where AWS's replication software is downloaded from
    /// instead of the region's S3 hosts (the demo gives its emulator's).
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// Present in the demo.
    pub demo: Option<DemoSetup>,
}

/// The demo's part of the setup: the worker is the real one, pointed at the demo's emulator
/// (its endpoint in the plan, its S3 buckets in `s3_endpoint`), which it holds open through
/// descriptor 4 for as long as it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoSetup {
    /// The virtual disks' directory, for the stand-in replication software.
    pub disk_dir: PathBuf,
    /// The keys the demo's DRS console button launches with (the scenario's first).
    pub console: StaticCredentials,
}

/// Pipe, each later line: a confirmed failback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Handoff {
    /// The confirmed plan (its own `credentials` field never travels: see `credentials`).
    pub plan: ReplicationPlan,
    /// The credentials the wizard verified (zeroed when dropped).
    pub credentials: StaticCredentials,
}

/// Pipe, a line of a `--wait-for-credentials` run: it waits for credentials (`Some`), or
/// has them (`None`: found by the default chain, or given).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wait {
    pub wait: Option<CredentialsWait>,
}

/// What a waiting run needs credentials for, and what it tells every terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsWait {
    /// Where given credentials are checked (one DRS call) before the run gets them.
    pub region: String,
    pub endpoint: Option<String>,
    /// Why it waits and when it tries the default chain again, in words.
    pub detail: String,
}

/// Pipe, each line after the setup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PipeLine {
    Handoff(Handoff),
    Wait(Wait),
}

/// Worker → client. Tagged by `"event"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// First on every connection.
    Hello {
        /// Names this failback: every later answer belongs to it.
        run_id: RunId,
        worker_pid: u32,
        started_by: StartedBy,
        /// The confirmed plan, without credentials.
        plan: ReplicationPlan,
        /// Seconds since the failback started, when this was sent.
        elapsed: f64,
        /// The worker's log file.
        log_file: Option<String>,
    },
    /// How far the download of AWS's replication software is (at most 4 a second).
    Download { progress: Progress },
    /// The replication software was verified and unpacked; this version runs.
    Installed { version: String },
    /// A line of the replication software's output.
    Log { line: String },
    /// The service accepted this failback's client: its states are this run's.
    Paired { client_id: String },
    /// The sum of the target disks' write counters, in bytes.
    Writes { at: f64, total: u64 },
    /// One DescribeRecoveryInstances answer for the plan's recovery instance.
    Polled {
        at: f64,
        result: Result<RecoveryInstance, DrsError>,
    },
    /// The answer to a [`Request::StartLaunch`] (asked by any client).
    LaunchStarted {
        result: Result<Job, DrsError>,
        /// Asked as the DRS console's Failback button (the demo plays it).
        as_console: bool,
    },
    /// The replication software stopped: Ok when it finished, Err with what went wrong.
    ReplicatorExited { result: Result<(), String> },
    /// A DRS call answered ExpiredToken: the worker waits for a [`Request::Credentials`] from
    /// any client (polling pauses); the replication software keeps running.
    CredentialsExpired { detail: String },
    /// Fresh credentials were accepted (checked with one DRS call); polling goes on. Fresh
    /// credentials that fail the check get an [`Event::Error`] to their sender only, and the
    /// worker keeps waiting.
    CredentialsAccepted,
    /// An unattended run (`--no-prompt --wait-for-credentials`) waits for credentials: any
    /// client may give them with [`Request::Credentials`].
    CredentialsWanted {
        started_by: StartedBy,
        detail: String,
    },
    /// Credentials a client gave, checked: sent only to the waiting run (zeroed when dropped).
    CredentialsGiven { credentials: StaticCredentials },
    /// GetFailbackReplicationConfiguration's answer: the throttle and private vs public IP.
    /// Read when the failback starts, then at the polls' cadence (stretched while nothing
    /// changes), and sent only when it changed (the DRS console, any API client; a throttle
    /// set through this worker comes as [`Event::Bandwidth`]). A failed re-read keeps the last
    /// answer. Err when the credentials may not read it (the installation policy does not
    /// allow it): then read again only after fresh credentials.
    Configuration {
        result: Result<FailbackReplicationConfiguration, DrsError>,
    },
    /// The bandwidth throttle was changed, in Mbps (0: none), by any client.
    Bandwidth { mbps: u32 },
    /// The failback reached its result (the worker stops its replicator and samplers).
    Outcome { verdict: Verdict },
    /// The launch job and its log, fetched once the failback completed.
    JobLog {
        result: Result<(Job, Vec<JobLogItem>), DrsError>,
    },
    /// The state so far has been sent; what follows happens live.
    Live,
    /// A request was malformed, unknown or not possible now.
    Error { message: String },
    /// A client acknowledged the result: this failback is over and the socket closes.
    Ending,
}

/// Client → worker. Tagged by `"request"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Start the failback launch (StartFailbackLaunch), once FAILBACK_READY_FOR_LAUNCH.
    StartLaunch {
        /// As the DRS console's Failback button: only the demo has one to play.
        as_console: bool,
    },
    /// Stop the failback (StopFailback): DRS stops replicating here; the outcome is a
    /// failure that says who stopped it. Refused once there is a result.
    StopFailback,
    /// Throttle the replication (UpdateFailbackReplicationConfiguration), in Mbps; 0 lifts
    /// the throttle. Answered with [`Event::Bandwidth`] to every client, or an error (the
    /// installation policy does not allow it).
    SetBandwidth { mbps: u32 },
    /// The result was seen: end this failback (refused before there is a result).
    Acknowledge,
    /// Fresh credentials after [`Event::CredentialsExpired`] or [`Event::CredentialsWanted`]
    /// (zeroed when dropped).
    Credentials { credentials: StaticCredentials },
    /// The waiting unattended run asks for the credentials a client gives: refused to any
    /// other process than the one that started the worker.
    AwaitCredentials,
}

/// One JSON line of `value`, newline included.
pub fn line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).expect("protocol values always serialize");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicator::VolumeTarget;
    use serde_json::json;

    fn plan() -> ReplicationPlan {
        ReplicationPlan {
            recovery_instance_id: "i-0f552cc5023d8319a".into(),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:1".into()),
            credentials: Some(StaticCredentials {
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key: "SECRET-NEVER-SENT".into(),
                session_token: None,
            }),
            targets: vec![VolumeTarget {
                volume: "/dev/xvda".into(),
                volume_bytes: 1 << 30,
                device: "/dev/sdb".into(),
                write_path: "/dev/sdb".into(),
            }],
            device_mapping: "/dev/xvda=/dev/sdb".into(),
            value_format: crate::domain::mapping::DmValueFormat::DevName,
            preflight: vec![],
        }
    }

    #[test]
    fn events_keep_their_documented_names_and_the_plan_travels_without_secrets() {
        let hello = Event::Hello {
            run_id: RunId(7),
            worker_pid: 42,
            started_by: StartedBy {
                terminal: "/dev/tty1".into(),
                pid: 41,
                started_at: 1_700_000_000,
            },
            plan: plan(),
            elapsed: 1.5,
            log_file: None,
        };
        let text = String::from_utf8(line(&hello)).unwrap();
        assert!(!text.contains("SECRET-NEVER-SENT"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["event"], "hello");
        assert_eq!(value["run_id"], 7);
        assert_eq!(value["started_by"]["terminal"], "/dev/tty1");
        assert_eq!(value["plan"]["recovery_instance_id"], "i-0f552cc5023d8319a");
        assert_eq!(value["plan"]["targets"][0]["write_path"], "/dev/sdb");
        assert_eq!(value["plan"]["value_format"], "dev-name");
        let back: Event = serde_json::from_str(&text).unwrap();
        let Event::Hello { plan: p, .. } = &back else {
            panic!("{back:?}")
        };
        assert_eq!(p.credentials, None);

        for (event, tag) in [
            (Event::Writes { at: 1.0, total: 2 }, "writes"),
            (Event::Live, "live"),
            (Event::Ending, "ending"),
            (
                Event::Outcome {
                    verdict: Verdict::Completed { job_id: None },
                },
                "outcome",
            ),
            (
                Event::CredentialsExpired {
                    detail: "ExpiredToken".into(),
                },
                "credentials_expired",
            ),
        ] {
            let text = String::from_utf8(line(&event)).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["event"], tag, "{text}");
            assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
        }
    }

    #[test]
    fn the_launch_job_and_its_log_travel_in_drss_spelling() {
        use crate::domain::states::{JobInitiatedBy, JobLogEvent, JobType};
        let job = Job {
            id: "drsjob-0123456789abcdefg".into(),
            kind: JobType::Launch,
            initiated_by: JobInitiatedBy::Failback,
            status: "COMPLETED".into(),
            created: None,
            ended: None,
        };
        let log = vec![JobLogItem {
            time: "2026-12-01T10:00:00Z".into(),
            event: JobLogEvent::ConversionEnd,
            detail: None,
        }];
        let event = Event::JobLog {
            result: Ok((job, log)),
        };
        let text = String::from_utf8(line(&event)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ok = &value["result"]["Ok"];
        assert_eq!(ok[0]["kind"], "LAUNCH", "{text}");
        assert_eq!(ok[0]["initiated_by"], "FAILBACK", "{text}");
        assert_eq!(ok[1][0]["event"], "CONVERSION_END", "{text}");
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }

    #[test]
    fn requests_parse_from_their_documented_shapes() {
        let r: Request =
            serde_json::from_value(json!({"request": "start_launch", "as_console": false}))
                .unwrap();
        assert!(matches!(r, Request::StartLaunch { as_console: false }));
        let r: Request =
            serde_json::from_value(json!({"request": "set_bandwidth", "mbps": 100})).unwrap();
        assert!(matches!(r, Request::SetBandwidth { mbps: 100 }));
        let r: Request = serde_json::from_value(json!({"request": "stop_failback"})).unwrap();
        assert!(matches!(r, Request::StopFailback));
        let r: Request = serde_json::from_value(json!({"request": "acknowledge"})).unwrap();
        assert!(matches!(r, Request::Acknowledge));
        let r: Request = serde_json::from_value(json!({"request": "credentials", "credentials":
            {"access_key_id": "ASIA", "secret_access_key": "S", "session_token": "T"}}))
        .unwrap();
        let Request::Credentials { credentials } = r else {
            panic!()
        };
        assert_eq!(credentials.session_token.as_deref(), Some("T"));
        assert!(serde_json::from_value::<Request>(json!({"request": "format_disks"})).is_err());
    }
}
