//! Step 3: the regional default endpoint or a custom one (VPC endpoint), and a staged
//! connectivity check (DNS, TCP, TLS, one API call).

use super::{Action, edit, focus_move, is_toggle};
use crate::domain::validate;
use crate::drs::{DrsError, DrsErrorKind};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tui_input::Input;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Default,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Choice,
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dns,
    Tcp,
    Tls,
    Api,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Dns, Stage::Tcp, Stage::Tls, Stage::Api];
    pub fn label(self) -> &'static str {
        match self {
            Stage::Dns => "DNS lookup",
            Stage::Tcp => "TCP connect",
            Stage::Tls => "TLS handshake",
            Stage::Api => "DRS API call",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Stage::Dns => "DNS",
            Stage::Tcp => "TCP",
            Stage::Tls => "TLS",
            Stage::Api => "API",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageStatus {
    Pending,
    Running,
    Ok(String),
    Failed(String),
    Skipped(String),
}

/// How long the TCP stage waits for a connection.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);

/// The stage results the check reports, in its words (tests build their screens from these).
impl StageStatus {
    pub fn not_reached() -> Self {
        StageStatus::Skipped("not reached".into())
    }
    pub fn no_address() -> Self {
        StageStatus::Failed("no address".into())
    }
    pub fn resolved(ip: IpAddr) -> Self {
        StageStatus::Ok(ip.to_string())
    }
    pub fn connected(addr: SocketAddr, millis: u128) -> Self {
        StageStatus::Ok(format!("{addr} in {millis} ms"))
    }
    pub fn no_answer(addr: SocketAddr) -> Self {
        StageStatus::Failed(format!(
            "no answer from {addr} in {} s",
            TCP_TIMEOUT.as_secs()
        ))
    }
    pub fn plain_http() -> Self {
        StageStatus::Skipped("plain HTTP (loopback)".into())
    }
    pub fn handshake_done() -> Self {
        StageStatus::Ok("handshake done".into())
    }
    pub fn api_answered() -> Self {
        StageStatus::Ok("DescribeRecoveryInstances answered".into())
    }
}

/// The TLS and API stages once the API call failed with `e` (TLS proven by any HTTP
/// answer): a handshake that failed is TLS's, and the call was never made; None for TLS
/// over plain HTTP.
pub fn stages_after_failed_call(e: &DrsError, https: bool) -> (Option<StageStatus>, StageStatus) {
    let answered = e.server_date.is_some();
    let tls = match (&e.kind, answered) {
        (DrsErrorKind::Tls, _) => StageStatus::Failed(e.detail.clone()),
        (_, true) => StageStatus::handshake_done(),
        (_, false) => StageStatus::not_reached(),
    };
    let api = match e.kind {
        DrsErrorKind::Tls if https => StageStatus::not_reached(),
        _ => StageStatus::Failed(e.detail.clone()),
    };
    (https.then_some(tls), api)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectivityCheck {
    pub req: u64,
    /// The URL checked: a result for another URL is stale.
    pub url: String,
    pub stages: Vec<(Stage, StageStatus)>,
    /// None while running; then Ok, or the operator's advice for the failed stage.
    pub outcome: Option<Result<(), String>>,
}

impl ConnectivityCheck {
    pub fn new(req: u64, url: String) -> Self {
        ConnectivityCheck {
            req,
            url,
            stages: Stage::ALL
                .iter()
                .map(|s| (*s, StageStatus::Pending))
                .collect(),
            outcome: None,
        }
    }
    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }
    /// One line for the next screen: a passed check moves on at once, so its stages are
    /// told there.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .stages
            .iter()
            .filter_map(|(stage, status)| match status {
                StageStatus::Ok(_) => Some(format!("{} ok", stage.short())),
                StageStatus::Skipped(why) => Some(format!("{} skipped ({why})", stage.short())),
                _ => None,
            })
            .collect();
        format!("Endpoint checked: {}", parts.join(", "))
    }
    pub fn set(&mut self, stage: Stage, status: StageStatus) {
        if let Some(slot) = self.stages.iter_mut().find(|(s, _)| *s == stage) {
            slot.1 = status;
        }
    }
}

#[derive(Debug, Clone)]
pub struct EndpointForm {
    pub choice: Choice,
    pub custom: Input,
    pub focus: Field,
    /// URL format problem shown under the field after Next.
    pub error: Option<String>,
    pub check: Option<ConnectivityCheck>,
}

impl Default for EndpointForm {
    fn default() -> Self {
        EndpointForm {
            choice: Choice::Default,
            custom: Input::default(),
            focus: Field::Choice,
            error: None,
            check: None,
        }
    }
}

impl EndpointForm {
    pub fn with_custom(url: &str) -> Self {
        EndpointForm {
            choice: Choice::Custom,
            custom: Input::new(url.to_owned()),
            ..Default::default()
        }
    }

    /// The URL the wizard will use: the regional default, or the validated custom one.
    pub fn url(&self, region: &str) -> Result<String, String> {
        match self.choice {
            Choice::Default => Ok(validate::default_endpoint(region)),
            Choice::Custom => validate::endpoint_url(self.custom.value().trim()),
        }
    }

    /// The endpoint to give the SDK: None for the regional default.
    pub fn custom_url(&self) -> Option<String> {
        match self.choice {
            Choice::Default => None,
            Choice::Custom => validate::endpoint_url(self.custom.value().trim()).ok(),
        }
    }

    /// A paste goes into the URL field (focused or not, on Custom): it is the only text here.
    pub fn paste(&mut self, text: &str) {
        if self.check.as_ref().is_some_and(ConnectivityCheck::running) {
            return;
        }
        if self.choice == Choice::Custom && super::paste(&mut self.custom, text) {
            self.focus = Field::Url;
            self.error = None;
            self.check = None;
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.check.as_ref().is_some_and(ConnectivityCheck::running) {
            if key.code == KeyCode::Esc {
                self.check = None;
            }
            return Action::None;
        }
        match key.code {
            KeyCode::Enter => return Action::Next,
            KeyCode::Esc => return Action::Back,
            _ => {}
        }
        if let Some(delta) = focus_move(&key) {
            if self.choice == Choice::Custom && delta != 0 {
                self.focus = match self.focus {
                    Field::Choice => Field::Url,
                    Field::Url => Field::Choice,
                };
            }
            return Action::None;
        }
        let changed = match self.focus {
            Field::Choice if is_toggle(&key) => {
                // Choosing Custom means typing a URL next: go there.
                (self.choice, self.focus) = match self.choice {
                    Choice::Default => (Choice::Custom, Field::Url),
                    Choice::Custom => (Choice::Default, Field::Choice),
                };
                true
            }
            Field::Choice => false,
            Field::Url => edit(&mut self.custom, key),
        };
        if changed {
            self.error = None;
            self.check = None;
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_handshake_is_told_once_on_its_stage_and_the_call_was_not_made() {
        let tls = DrsError::new(
            DrsErrorKind::Tls,
            "invalid peer certificate: NotValidForName",
        );
        let (on_tls, on_api) = stages_after_failed_call(&tls, true);
        assert_eq!(on_tls, Some(StageStatus::Failed(tls.detail.clone())));
        assert_eq!(on_api, StageStatus::not_reached());

        let mut denied = DrsError::new(DrsErrorKind::WrongSecret, "InvalidSignatureException");
        denied.server_date = Some("Wed, 02 Dec 2026 05:00:00 GMT".into());
        let (on_tls, on_api) = stages_after_failed_call(&denied, true);
        assert_eq!(on_tls, Some(StageStatus::handshake_done()));
        assert_eq!(on_api, StageStatus::Failed(denied.detail.clone()));
        assert_eq!(stages_after_failed_call(&denied, false).0, None);
    }
}
