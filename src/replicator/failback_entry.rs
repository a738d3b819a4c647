//! Runs a `failback_entry` program (AWS's, or the demo's stand-in) as the replicator: the
//! documented arguments for the plan, its output as log lines with every secret masked, its
//! exit code in words, and its failback client id learnt from the service (the program does
//! not print it).

use std::collections::VecDeque;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

use super::{ReplicationPlan, Replicator, ReplicatorEvent};
use crate::drs::DrsClient;
use crate::net::NetSettings;

/// What replaces a secret in every line that leaves the program.
pub const MASK: &str = "********";
/// Lines of the program's log an error carries.
const LAST_LINES: usize = 8;

/// A `failback_entry` to run.
#[derive(Debug, Clone)]
pub struct FailbackEntry {
    pub program: PathBuf,
    /// Arguments before the official ones (the stand-in's hidden subcommand).
    pub leading_args: Vec<String>,
    /// Extra environment (the demo's disk directory for the stand-in).
    pub env: Vec<(String, String)>,
    /// Its `--log-file`.
    pub log_file: PathBuf,
    /// How often the service is asked for the program's failback client id.
    pub poll_every: Duration,
    /// Its working directory, where a crash file lands (the worker's directory, on the
    /// tmpfs): made if missing, crash files removed when it ends.
    pub workdir: PathBuf,
    /// Where the mark of its processes is recorded while it runs ([`Program`]), so that the
    /// next worker can end any it left; the worker's, under its lock.
    pub record: Option<PathBuf>,
}

/// The environment variable that marks every process of one run of the program: its children
/// inherit it, wherever they move (another group, another session).
pub const MARK_VAR: &str = "DRS_FAILBACK_PROGRAM";

/// What the program's record holds: the mark (`MARK_VAR=value`) of its processes, its
/// process group, and the worker that ran it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Program {
    pub mark: String,
    pub pgid: Option<u32>,
    pub worker_pid: u32,
}

impl Program {
    fn write(&self, path: &Path) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_json::to_vec(self).unwrap_or_default();
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .and_then(|mut f| f.write_all(&text))
            .map_err(|e| format!("cannot record the program in {}: {e}", path.display()))
    }
}

/// Ends every process of the program recorded at `record` that is still there (an earlier
/// worker's, killed before it could end them), and removes the record. Says what it ended, if
/// anything. Blocks up to [`crate::process::END_GRACE`].
pub fn end_left_over(record: &Path) -> Option<String> {
    let text = std::fs::read(record).ok();
    let program = text.and_then(|t| serde_json::from_slice::<Program>(&t).ok());
    let ended = program
        .as_ref()
        .map(|p| crate::process::end_marked(&p.mark, crate::process::END_GRACE))
        .unwrap_or_default();
    let _ = std::fs::remove_file(record);
    let p = program.filter(|_| !ended.is_empty())?;
    let pids: Vec<String> = ended.iter().map(i32::to_string).collect();
    let group = p.pgid.map(|g| format!("group {g}, ")).unwrap_or_default();
    let (what, pid) = match ended.len() {
        1 => ("1 process".to_owned(), "pid"),
        n => (format!("{n} processes"), "pids"),
    };
    Some(format!(
        "Ended what an earlier failback left running, before starting: {what} of its \
         replication software (worker pid {}, {group}{pid} {}), which would write the same \
         disks",
        p.worker_pid,
        pids.join(", ")
    ))
}

/// The options the JVM of AWS's program reads from its environment: a crash's error file
/// (with the command line, so the credentials) into `workdir`, and no core dump.
pub fn java_tool_options(workdir: &Path) -> String {
    format!(
        "-XX:ErrorFile={}/hs_err_pid%p.log -XX:-CreateCoredumpOnCrash",
        workdir.display()
    )
}

/// The JVM's line saying it read [`java_tool_options`]: ours, not the program's news.
fn is_java_options_notice(line: &str) -> bool {
    line.starts_with("Picked up JAVA_TOOL_OPTIONS:")
}

/// Removes what a crash leaves in `dir` (a JVM's error file or heap dump, a core dump): each
/// holds the program's memory or command line, so its secrets.
pub fn remove_crash_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                (n.starts_with("hs_err_pid") && n.ends_with(".log"))
                    || (n.starts_with("java_pid") && n.ends_with(".hprof"))
                    || n == "core"
                    || n.strip_prefix("core.")
                        .is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit()))
            }) && p.is_file()
        })
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect()
}

/// While the program runs: its group is ended (and its crash files removed) when this is
/// dropped: at its end, when the replicator is stopped, or when the worker dies (the keeper).
struct Running {
    _group: crate::process::GroupKeeper,
    workdir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        for file in remove_crash_files(&self.workdir) {
            tracing::warn!(
                "removed the crash file {} (it holds secrets)",
                file.display()
            );
        }
    }
}

/// The official arguments for `plan`. Secrets are in them: AWS's program takes credentials
/// only as arguments or at its prompts.
pub fn arguments(plan: &ReplicationPlan, log_file: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["--no-prompt".into(), "--log-console".into()];
    let mut push = |k: &str, v: &str| {
        args.push(k.into());
        args.push(v.into());
    };
    push("--region", &plan.region);
    if let Some(c) = &plan.credentials {
        push("--aws-access-key-id", &c.access_key_id);
        push("--aws-secret-access-key", &c.secret_access_key);
        if let Some(t) = &c.session_token {
            push("--aws-session-token", t);
        }
    }
    push("--recovery-instance-id", &plan.recovery_instance_id);
    push("--dm-value-format", plan.value_format.as_arg());
    push("--device-mapping", &plan.device_mapping);
    push("--log-file", &log_file.display().to_string());
    match &plan.endpoint {
        Some(url) => push("--endpoint", url),
        None => args.push("--default-endpoint".into()),
    }
    args
}

/// Masks every secret of the plan (and a proxy's password) in a line.
#[derive(Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(plan: &ReplicationPlan, proxies: &[String]) -> Redactor {
        let mut secrets: Vec<String> = plan
            .credentials
            .iter()
            .flat_map(|c| [Some(c.secret_access_key.clone()), c.session_token.clone()])
            .flatten()
            .chain(proxies.iter().filter_map(|p| proxy_password(p)))
            .filter(|s| !s.is_empty())
            .collect();
        // Longest first: a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn mask(&self, line: &str) -> String {
        let mut out = line.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

/// `http://user:password@proxy:3128` -> `password` (the userinfo ends at the last `@`, as
/// `net::redact_proxy` reads it).
fn proxy_password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (userinfo, _) = rest.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, p)| p.to_owned())
}

/// The exit status in the operator's words, with the reason from its last lines (an ERROR
/// line if there is one, else the last line); Ok for 0.
pub fn describe_exit(status: ExitStatus, last_lines: &[String], log: &Path) -> Result<(), String> {
    let reason = last_lines
        .iter()
        .rev()
        .find(|l| l.contains("ERROR"))
        .or(last_lines.last())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    let log = log.display();
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(1), _) => Err(format!(
            "failback_entry reported an error (exit code 1){reason}. Its log: {log}"
        )),
        (Some(code), _) => Err(format!(
            "failback_entry exited with code {code}, which it does not document{reason}. Its log: {log}"
        )),
        (None, Some(signal)) => Err(format!(
            "failback_entry was killed by signal {signal} ({}){reason}. Its log: {log}",
            signal_name(signal)
        )),
        (None, None) => Err(format!(
            "failback_entry ended without an exit code{reason}. Its log: {log}"
        )),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        _ => "another signal",
    }
}

/// The failback client the service shows for the instance: (client id, initiation time).
type Pairing = (Option<String>, Option<String>);

async fn pairing(client: &DrsClient, id: &str) -> Result<Pairing, String> {
    let instance = client
        .recovery_instance(id)
        .await
        .map_err(|e| e.to_string())?;
    Ok((instance.failback.client_id, instance.failback.initiated))
}

/// The pairing before the program starts. Required: without it an earlier client's pairing
/// could be taken for the program's, and the dashboard would watch the wrong client. (The
/// SDK already retries throttling, server errors and dropped connections.)
async fn baseline(client: &DrsClient, id: &str) -> Result<Pairing, String> {
    pairing(client, id).await.map_err(|e| {
        format!("cannot read recovery instance {id} before starting failback_entry: {e}")
    })
}

/// The program's failback client: the first pairing the service shows that differs from the
/// one before the program started (a newer id or initiation time). Compared with the
/// service's own earlier answer, not this machine's clock, so clock skew cannot confuse it.
pub fn new_client(before: &Pairing, now: &Pairing) -> Option<String> {
    let id = now.0.clone()?;
    (before != now).then_some(id)
}

impl Replicator for FailbackEntry {
    fn start(
        &self,
        plan: ReplicationPlan,
        service: watch::Receiver<DrsClient>,
        events: mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        let sender = events.clone();
        super::spawn_to_exit(
            sender,
            async move { this.run(&plan, service, &events).await },
        )
    }
}

impl FailbackEntry {
    /// Runs the program to its end; the result is what `Exited` carries.
    pub(super) async fn run(
        &self,
        plan: &ReplicationPlan,
        service: watch::Receiver<DrsClient>,
        events: &mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> Result<(), String> {
        let net = NetSettings::from_env();
        let proxies: Vec<String> = [&net.https_proxy, &net.http_proxy]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let redact = Redactor::new(plan, &proxies);
        if plan.credentials.is_none() {
            return Err("no verified credentials to give failback_entry".into());
        }
        let current = || service.borrow().clone();
        let before = baseline(&current(), &plan.recovery_instance_id).await?;

        let mut command = Command::new(&self.program);
        let worker = std::process::id();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // It ends with the worker that runs it (however the worker dies): nothing would
                // watch it then, and the next failback must not meet it writing the same disks.
                // (Its children: the keeper ends the whole group.)
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != worker {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                // No core dump: it would hold the credentials it was given.
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.workdir)
            .map_err(|e| format!("cannot make {}: {e}", self.workdir.display()))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut program = Program {
            mark: format!("{MARK_VAR}={worker}-{nanos}"),
            pgid: None,
            worker_pid: worker,
        };
        // Recorded before it starts: a worker killed at any moment after leaves it known.
        if let Some(record) = &self.record {
            program.write(record)?;
        }
        let mark_value = program.mark[MARK_VAR.len() + 1..].to_owned();
        let mut child = command
            .args(&self.leading_args)
            .args(arguments(plan, &self.log_file))
            // The proxy and AWS_CA_BUNDLE, as every request of ours obeys them.
            .envs(net.child_env())
            .envs(self.env.iter().cloned())
            .env("JAVA_TOOL_OPTIONS", java_tool_options(&self.workdir))
            .env(MARK_VAR, &mark_value)
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a key or hangup on the wizard's terminal is the wizard's
            // to handle, never a signal that ends the copy behind its back; and the group is
            // what is ended, children included.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let pid = child.id().unwrap_or(0);
        // Stopping the replicator (an aborted task drops it) ends the program's group.
        let mut running = match crate::process::GroupKeeper::watch(pid as i32) {
            Ok(group) => Some(Running {
                _group: group,
                workdir: self.workdir.clone(),
            }),
            Err(e) => {
                let _ = child.start_kill();
                return Err(format!("cannot watch failback_entry's processes: {e}"));
            }
        };
        program.pgid = Some(pid);
        if let Some(record) = &self.record {
            program.write(record)?;
        }
        let _ = events.send(ReplicatorEvent::Log(format!(
            "Started failback_entry ({}) in process group {pid}, pid {pid}",
            self.program.display(),
        )));

        let (lines_tx, mut lines) = mpsc::unbounded_channel();
        if let Some(out) = child.stdout.take() {
            tokio::spawn(read_lines(out, lines_tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(read_lines(err, lines_tx));
        }
        let mut recent: VecDeque<String> = VecDeque::new();
        let mut paired = false;
        let mut poll = tokio::time::interval(self.poll_every);
        let mut streams_open = true;
        let mut exited = None;
        let status = loop {
            if let (false, Some(status)) = (streams_open, &exited) {
                break *status;
            }
            tokio::select! {
                line = lines.recv(), if streams_open => match line {
                    Some(line) if is_java_options_notice(&line) => {
                        tracing::debug!("failback_entry: {line}");
                    }
                    Some(line) => {
                        let line = redact.mask(&line);
                        if recent.len() == LAST_LINES {
                            recent.pop_front();
                        }
                        recent.push_back(line.clone());
                        if events.send(ReplicatorEvent::Log(line)).is_err() {
                            return Err("the wizard stopped listening".into());
                        }
                    }
                    None => streams_open = false,
                },
                _ = poll.tick(), if !paired => {
                    paired = self.learn_client(&current(), plan, &before, events).await;
                }
                status = child.wait(), if exited.is_none() => {
                    exited = Some(
                        status.map_err(|e| format!("cannot wait for failback_entry: {e}"))?,
                    );
                    // What it started ends with it: a child holding its output open would
                    // otherwise keep this run (and the disks) waiting.
                    running = None;
                }
            }
        };
        drop(running);
        // A program that paired and ended between two polls still paired.
        if !paired {
            self.learn_client(&current(), plan, &before, events).await;
        }
        // The end of its log file, where the operator has not seen it yet (a program may log
        // more there than on its console).
        let tail: Vec<String> = match last_lines(&self.log_file) {
            Some(lines) if !lines.is_empty() => lines.iter().map(|l| redact.mask(l)).collect(),
            _ => Vec::from(recent.clone()),
        };
        for line in &tail {
            if !recent
                .iter()
                .any(|r| !r.is_empty() && line.ends_with(r.as_str()))
            {
                let _ = events.send(ReplicatorEvent::Log(line.clone()));
            }
        }
        // The reason in its console's words when it printed any (no file timestamps).
        let reason_from = if recent.is_empty() {
            tail
        } else {
            Vec::from(recent)
        };
        describe_exit(status, &reason_from, &self.log_file)
    }
}

impl FailbackEntry {
    /// Sends Paired once the service shows the program's failback client; says whether it did.
    async fn learn_client(
        &self,
        service: &DrsClient,
        plan: &ReplicationPlan,
        before: &Pairing,
        events: &mpsc::UnboundedSender<ReplicatorEvent>,
    ) -> bool {
        let Ok(now) = pairing(service, &plan.recovery_instance_id).await else {
            return false;
        };
        match new_client(before, &now) {
            Some(client_id) => {
                let _ = events.send(ReplicatorEvent::Paired { client_id });
                true
            }
            None => false,
        }
    }
}

async fn read_lines(stream: impl AsyncRead + Unpin, tx: mpsc::UnboundedSender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).is_err() {
            break;
        }
    }
}

/// The last lines of the program's own log file, if it wrote one.
fn last_lines(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LAST_LINES);
    Some(lines[start..].iter().map(|l| l.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mapping::DmValueFormat;
    use crate::drs::StaticCredentials;

    fn plan() -> ReplicationPlan {
        ReplicationPlan {
            recovery_instance_id: "i-0123456789abcdef0".into(),
            region: "eu-west-1".into(),
            endpoint: None,
            credentials: Some(StaticCredentials {
                access_key_id: "ASIADEMO0000000000AA".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                session_token: Some("FwoGZXIvYXdzEXAMPLETOKEN".into()),
            }),
            targets: Vec::new(),
            device_mapping: "/dev/xvda=pci-0000:00:10.0-scsi-0:0:0:0".into(),
            value_format: DmValueFormat::ByPath,
            preflight: vec![],
        }
    }

    #[test]
    fn arguments_are_the_documented_ones() {
        let args = arguments(&plan(), Path::new("/var/log/fb.log"));
        let value = |k: &str| {
            let i = args
                .iter()
                .position(|a| a == k)
                .unwrap_or_else(|| panic!("{k} in {args:?}"));
            args[i + 1].clone()
        };
        assert!(args.contains(&"--no-prompt".to_string()));
        assert!(args.contains(&"--default-endpoint".to_string()));
        assert!(!args.contains(&"--endpoint".to_string()));
        assert_eq!(value("--region"), "eu-west-1");
        assert_eq!(value("--aws-access-key-id"), "ASIADEMO0000000000AA");
        assert_eq!(value("--aws-session-token"), "FwoGZXIvYXdzEXAMPLETOKEN");
        assert_eq!(value("--recovery-instance-id"), "i-0123456789abcdef0");
        assert_eq!(value("--dm-value-format"), "by-path");
        assert_eq!(
            value("--device-mapping"),
            "/dev/xvda=pci-0000:00:10.0-scsi-0:0:0:0"
        );
        assert_eq!(value("--log-file"), "/var/log/fb.log");
        assert_eq!(args.iter().filter(|a| *a == "--dm-value-format").count(), 1);

        let mut p = plan();
        p.endpoint = Some("https://vpce-1.drs.eu-west-1.vpce.amazonaws.com".into());
        p.credentials.as_mut().unwrap().session_token = None;
        let args = arguments(&p, Path::new("/l"));
        assert!(!args.contains(&"--default-endpoint".to_string()));
        assert!(!args.contains(&"--aws-session-token".to_string()));
        assert!(args.contains(&"https://vpce-1.drs.eu-west-1.vpce.amazonaws.com".to_string()));
    }

    #[test]
    fn secrets_and_proxy_passwords_are_masked() {
        let r = Redactor::new(&plan(), &["http://ops:pr0xy-pw@10.0.0.1:3128".into()]);
        let line = "--aws-secret-access-key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY token=FwoGZXIvYXdzEXAMPLETOKEN proxy pr0xy-pw key ASIADEMO0000000000AA";
        assert_eq!(
            r.mask(line),
            format!(
                "--aws-secret-access-key {MASK} token={MASK} proxy {MASK} key ASIADEMO0000000000AA"
            )
        );
        assert_eq!(proxy_password("http://10.0.0.1:3128"), None);
        assert_eq!(
            proxy_password("http://ops:p@ss@10.0.0.1:3128").as_deref(),
            Some("p@ss")
        );
    }

    #[test]
    fn exit_codes_are_said_plainly() {
        let log = Path::new("/tmp/fb.log");
        let lines = vec![
            "2026-12-01T10:00:00Z ERROR: cannot reach TCP 1500".to_string(),
            "2026-12-01T10:00:01Z shutting down".to_string(),
        ];
        assert_eq!(describe_exit(ExitStatus::from_raw(0), &lines, log), Ok(()));
        assert_eq!(
            describe_exit(ExitStatus::from_raw(1 << 8), &lines, log),
            Err("failback_entry reported an error (exit code 1): 2026-12-01T10:00:00Z ERROR: cannot reach TCP 1500. Its log: /tmp/fb.log".into())
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8), &[], log),
            Err("failback_entry exited with code 3, which it does not document. Its log: /tmp/fb.log".into())
        );
        let killed = describe_exit(ExitStatus::from_raw(libc::SIGKILL), &lines[1..], log);
        assert_eq!(
            killed,
            Err("failback_entry was killed by signal 9 (SIGKILL): 2026-12-01T10:00:01Z shutting down. Its log: /tmp/fb.log".into())
        );
    }

    #[test]
    fn the_new_client_is_the_pairing_that_changed() {
        let old = (
            Some("old-client".to_string()),
            Some("2026-12-01T10:00:00Z".to_string()),
        );
        assert_eq!(new_client(&old, &old), None, "an earlier client's pairing");
        let new = (
            Some("new-client".to_string()),
            Some("2026-12-01T11:00:00Z".to_string()),
        );
        assert_eq!(new_client(&old, &new), Some("new-client".into()));
        assert_eq!(new_client(&(None, None), &(None, None)), None);
        assert_eq!(new_client(&(None, None), &new), Some("new-client".into()));
    }
}
