//! An unattended run (`--no-prompt --wait-for-credentials`, the live image's `drs.no_prompt`)
//! that waits for credentials: as this run (`Waiting`), and as every other wizard sees it
//! (`Unattended`: the same prompt as after ExpiredToken, over any step).

use super::replication::CredentialsPrompt;

/// This run waits: it tries the default credential chain again at `retry_at`, and takes
/// credentials any wizard gives meanwhile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Waiting {
    /// Tries of the default chain that found nothing.
    pub failures: u32,
    /// App clock (seconds) of the next try.
    pub retry_at: f64,
    /// What every terminal is told, in words.
    pub detail: String,
}

/// Another process's unattended run waits for credentials (or has them, and prepares its
/// failback): what this wizard shows of it.
#[derive(Debug, Clone)]
pub struct Unattended {
    /// "Started from ... (pid ...) at ...".
    pub started_by: String,
    /// Open while the run waits; None once it has credentials.
    pub prompt: Option<CredentialsPrompt>,
}

impl Unattended {
    /// The prompt, when it is in front.
    pub fn visible(&self) -> Option<&CredentialsPrompt> {
        self.prompt.as_ref().filter(|p| !p.hidden)
    }

    /// The run's news: the prompt opens, or says it; what was typed stays.
    pub fn wants(&mut self, started_by: String, detail: String) {
        self.started_by = started_by;
        match self.prompt.as_mut() {
            Some(p) => p.detail = detail,
            None => self.prompt = Some(CredentialsPrompt::new(detail)),
        }
    }
}
