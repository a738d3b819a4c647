//! One view per wizard step, each drawing into the body between the chrome rows.

mod credentials;
mod endpoint;
mod instance;
mod mapping;
mod network;
mod preflight;
pub(crate) mod replication;
mod result;
mod review;
mod welcome;

use super::theme::Theme;
use crate::app::App;
use crate::domain::model::LocalDisk;
use crate::wizard::StepId;
use ratatui::Frame;
use ratatui::layout::Rect;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    if app.network_open {
        return network::render(app, theme, frame, area);
    }
    match app.step {
        StepId::Welcome => welcome::render(app, theme, frame, area),
        StepId::Preflight => preflight::render(app, theme, frame, area),
        StepId::Credentials => credentials::render(app, theme, frame, area),
        StepId::Endpoint => endpoint::render(app, theme, frame, area),
        StepId::Instance => instance::render(app, theme, frame, area),
        StepId::Mapping => mapping::render(app, theme, frame, area),
        StepId::Review => review::render(app, theme, frame, area),
        StepId::Replication => replication::render(app, theme, frame, area),
        StepId::Result => result::render(app, theme, frame, area),
    }
}

/// "QEMU HARDDISK QM00002": what tells two disks of one size apart.
fn disk_identity(disk: &LocalDisk) -> String {
    let parts: Vec<&str> = [&disk.model, &disk.serial]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        "no model or serial".into()
    } else {
        parts.join(" ")
    }
}
