//! What `--no-prompt` prints on standard output: one event a line, as text for people, or as
//! JSON lines for scripts (`--output json`). The JSON field names are stable:
//!
//! Every object has `event` (below), `step` (`welcome`, `preflight`, `credentials`, `endpoint`,
//! `recovery_instance`, `device_mapping`, `review`, `replication`, `result`), `time` (UTC,
//! ISO 8601) and `message` (the text line's words). Events and their own fields:
//! - `started`: `mode` (`demo` | `real`), `log_file`; in the demo also `endpoint`, `region`,
//!   `disk_dir` (where the emulator listens and the virtual disks are);
//! - `host`: `hostname`, `ram_bytes`, `cpus`;
//! - `preflight`: `passed` (how many), `checks` (each `id`, `title`, `verdict` (`pass` |
//!   `warning` | `fail`), `measured`, `fix`, as `drs-failback preflight --json` has them);
//! - `verifying_credentials`: `region`;
//! - `checking_endpoint`: `url`;
//! - `recovery_instance`: `recovery_instance_id`, `name`, `listed` (how many DRS lists),
//!   `chosen_by` (`argument` | `match`), `reasons` (why it matches this machine);
//! - `device_mapping`: `device_mapping` (as `--device-mapping` takes it), `dm_value_format`;
//! - `confirmed`: `recovery_instance_id`, `checks` (Review's: a pre-flight row failing now, the
//!   source's boot mode, the local disks, TCP 1500; as in `preflight`);
//! - `worker`: `worker_pid`, `log_file` (the failback worker that runs it);
//! - `progress`: `replication_state`, `failback_state`, `percent`, `replicated_bytes`,
//!   `total_bytes` (once per tenth, and at each state change);
//! - `ready_for_launch`: `recovery_instance_id`, `launch` (`waiting` for the console or an
//!   API client, or `starting` with `--launch-when-ready`);
//! - `launch_started`: `job_id`;
//! - `launch_refused`: the message says what to do (the run keeps waiting);
//! - `credentials_needed`: DRS answered ExpiredToken; the replication software keeps running
//!   and a wizard on any console (`drs-failback` again) gives fresh credentials;
//! - `notice`: what the failback worker says meanwhile (expired credentials: replication goes
//!   on, and any terminal can give fresh ones with `drs-failback`);
//! - `completed`: `recovery_instance_id`, `duration_seconds`, `replicated_bytes`,
//!   `written_bytes`, `job_id`;
//! - `problem`: what a step could not do (an `outcome` follows);
//! - `outcome`, always the last line: `result` (`completed` | `failed` | `stopped` |
//!   `interrupted`), `exit_code` (the process's exit status, see `crate::exit`), `argument`
//!   and `variable` (the setting to fix, or null), and the `message`.

use crate::cli::Output;
use crate::wizard::StepId;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// The step's name in JSON.
pub fn step_name(step: StepId) -> &'static str {
    match step {
        StepId::Welcome => "welcome",
        StepId::Preflight => "preflight",
        StepId::Credentials => "credentials",
        StepId::Endpoint => "endpoint",
        StepId::Instance => "recovery_instance",
        StepId::Mapping => "device_mapping",
        StepId::Review => "review",
        StepId::Replication => "replication",
        StepId::Result => "result",
    }
}

/// One event: its text line and its JSON object say the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub event: &'static str,
    pub step: StepId,
    pub message: String,
    pub fields: Map<String, Value>,
}

impl Report {
    pub fn new(event: &'static str, step: StepId, message: impl Into<String>) -> Self {
        Report {
            event,
            step,
            message: message.into(),
            fields: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.fields.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    pub fn text(&self) -> String {
        format!(
            "[{}/{} {}] {}",
            self.step.number(),
            StepId::ALL.len(),
            self.step.title(),
            self.message
        )
    }

    pub fn json(&self, epoch: i64) -> String {
        let mut object = Map::new();
        object.insert("event".into(), self.event.into());
        object.insert("step".into(), step_name(self.step).into());
        object.insert("time".into(), crate::domain::time::iso8601(epoch).into());
        object.insert("message".into(), self.message.clone().into());
        object.extend(self.fields.clone());
        Value::Object(object).to_string()
    }
}

/// Prints each event once (the same state is drawn many times), on standard output unless
/// told otherwise.
pub struct Printer {
    pub output: Output,
    last: Option<String>,
    out: Box<dyn Write + Send>,
}

impl Printer {
    pub fn new(output: Output) -> Self {
        Printer {
            output,
            last: None,
            out: Box::new(io::stdout()),
        }
    }

    pub fn to(output: Output, out: Box<dyn Write + Send>) -> Self {
        Printer {
            output,
            last: None,
            out,
        }
    }

    pub fn emit(&mut self, report: &Report, epoch: i64) {
        let text = report.text();
        if self.last.as_deref() == Some(text.as_str()) {
            return;
        }
        let line = match self.output {
            Output::Text => text.clone(),
            Output::Json => report.json(epoch),
        };
        // A closed output (a pipe's reader gone) must not stop the failback.
        let _ = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        self.last = Some(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_object_carries_the_common_fields_then_its_own() {
        let r = Report::new("host", StepId::Welcome, "host web-01 (8 GiB RAM, 2 CPUs)")
            .with("hostname", "web-01")
            .with("cpus", 2);
        let of = StepId::ALL.len();
        assert_eq!(
            r.text(),
            format!("[1/{of} Welcome] host web-01 (8 GiB RAM, 2 CPUs)")
        );
        let v: Value = serde_json::from_str(&r.json(0)).unwrap();
        assert_eq!(v["event"], "host");
        assert_eq!(v["step"], "welcome");
        assert_eq!(v["time"], "1970-01-01T00:00:00Z");
        assert_eq!(v["message"], "host web-01 (8 GiB RAM, 2 CPUs)");
        assert_eq!(
            (v["hostname"].as_str(), v["cpus"].as_u64()),
            (Some("web-01"), Some(2))
        );
    }
}
