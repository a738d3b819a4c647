//! The Network screen's form: per interface unchanged, DHCP or a static address; an HTTPS
//! proxy; a custom S3 endpoint. Opened over a step and closed back to it, so nothing typed on
//! either is lost. Enter checks the form and asks for the plan to be applied; the answer keeps
//! what was there before, for a revert.

use super::{Loadable, SecretInput, edit, focus_move, is_toggle};
use crate::domain::network::{
    self, Addressing, FieldError, InterfacePlan, NetworkPlan, Prefill, S3Plan,
};
use crate::domain::regions;
use crate::netconfig::interfaces::Interface;
use crate::netconfig::{Line, Snapshot};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

/// What an interface gets: left as it is, a DHCP lease, or a static address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unchanged,
    Dhcp,
    Dhcp4,
    /// Networks that offer no IPv4 (the official client takes IPv6 too).
    Dhcp6,
    Static,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Unchanged => "unchanged",
            Mode::Dhcp => "DHCP (IPv4, and IPv6 where offered)",
            Mode::Dhcp4 => "DHCP (IPv4 only)",
            Mode::Dhcp6 => "DHCP (IPv6 only)",
            Mode::Static => "static address",
        }
    }
    fn next(self, back: bool) -> Mode {
        const ALL: [Mode; 5] = [
            Mode::Unchanged,
            Mode::Dhcp,
            Mode::Dhcp4,
            Mode::Dhcp6,
            Mode::Static,
        ];
        let i = ALL.iter().position(|m| *m == self).unwrap_or(0);
        ALL[(i + if back { ALL.len() - 1 } else { 1 }) % ALL.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Interface,
    Mode,
    Address,
    Prefix,
    Gateway,
    Dns,
    Proxy,
    NoProxy,
    S3Endpoint,
}

impl Field {
    pub fn takes_text(self) -> bool {
        !matches!(self, Field::Interface | Field::Mode)
    }
}

/// One interface's part of the form.
#[derive(Debug, Clone)]
pub struct InterfaceForm {
    pub name: String,
    pub mode: Mode,
    pub address: Input,
    pub prefix: Input,
    pub gateway: Input,
    pub dns: Input,
}

impl InterfaceForm {
    fn new(name: &str) -> InterfaceForm {
        InterfaceForm {
            name: name.into(),
            mode: Mode::Unchanged,
            address: Input::default(),
            prefix: Input::default(),
            gateway: Input::default(),
            dns: Input::default(),
        }
    }
}

/// A task the screen waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Applying,
    Reverting,
    /// The S3 pin moved to the plan's new region (no key asked for it).
    Repinning,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkForm {
    pub interfaces: Loadable<Vec<Interface>>,
    /// The interface the per-interface fields show.
    pub selected: usize,
    pub forms: Vec<InterfaceForm>,
    pub focus: Option<Field>,
    /// May carry a password: its Debug shows only the length.
    pub proxy: SecretInput,
    pub no_proxy: Input,
    pub s3_endpoint: Input,
    /// The first problem after Enter, under its field.
    pub error: Option<(Field, String)>,
    /// What is wrong with the official variables that filled the form.
    pub prefill_problem: Option<String>,
    /// CONFIG_NETWORK's four fields, for the first interface once the list is known.
    pending_static: Option<[String; 4]>,
    /// The apply or revert running, by request.
    pub work: Option<(u64, Work)>,
    /// What the last apply or revert found.
    pub report: Option<(Work, Vec<Line>)>,
    /// What a revert puts back (the state before the first apply not yet reverted).
    pub snapshot: Option<Snapshot>,
    /// A new list asked for while the rows shown stay.
    pub rescan: Option<u64>,
    /// Something was applied or reverted since the screen was opened.
    pub changed: bool,
    /// The S3 endpoint and region whose host names this program's /etc/hosts block pins now.
    pub pinned: Option<S3Plan>,
    /// What the apply running pins for S3, if anything.
    pinning: Option<S3Plan>,
    /// `--s3-endpoint` (or S3_ENDPOINT) as the run was started: our own downloads go there.
    pub started_with_s3: Option<String>,
}

/// What a key on the Network screen asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAction {
    None,
    Close,
    Apply(NetworkPlan),
    Revert,
    Rescan,
}

impl NetworkForm {
    /// The official client's variables fill the form (nothing is applied until Enter).
    pub fn from_prefill(p: Prefill) -> NetworkForm {
        NetworkForm {
            proxy: SecretInput(Input::new(p.proxy.unwrap_or_default())),
            s3_endpoint: Input::new(p.s3_endpoint.clone().unwrap_or_default()),
            started_with_s3: p.s3_endpoint,
            prefill_problem: p.problem,
            pending_static: p.static_fields,
            ..NetworkForm::default()
        }
    }

    pub fn focus(&self) -> Field {
        self.focus.unwrap_or(Field::Interface)
    }

    pub fn current(&self) -> Option<&InterfaceForm> {
        self.forms.get(self.selected)
    }

    fn current_mut(&mut self) -> Option<&mut InterfaceForm> {
        self.forms.get_mut(self.selected)
    }

    pub fn typing(&self) -> bool {
        self.work.is_none() && self.focus().takes_text()
    }

    /// A fresh list: interfaces keep their forms by name; new ones start unchanged. The
    /// official CONFIG_NETWORK fields go to the first interface with a cable (else the first).
    /// True when list `req` is the one wanted.
    pub fn awaits_list(&self, req: u64) -> bool {
        self.interfaces.awaits(req) || self.rescan == Some(req)
    }

    pub fn on_interfaces(&mut self, list: Result<Vec<Interface>, String>) {
        self.rescan = None;
        let list = match list {
            Ok(list) => list,
            Err(e) => {
                self.interfaces = Loadable::Failed(e);
                return;
            }
        };
        let selected_name = self.current().map(|f| f.name.clone());
        let mut forms = Vec::with_capacity(list.len());
        for i in &list {
            let form = match self.forms.iter().position(|f| f.name == i.name) {
                Some(at) => self.forms.remove(at),
                None => InterfaceForm::new(&i.name),
            };
            forms.push(form);
        }
        // A form for an interface that went away is dropped with it: its row is gone.
        self.forms = forms;
        self.selected = selected_name
            .and_then(|n| self.forms.iter().position(|f| f.name == n))
            .unwrap_or(0);
        if let Some(fields) = self.pending_static.take() {
            let at = list.iter().position(|i| i.carrier).unwrap_or(0);
            if let Some(f) = self.forms.get_mut(at) {
                f.mode = Mode::Static;
                let [a, p, g, d] = fields;
                f.address = Input::new(a);
                f.prefix = Input::new(p);
                f.gateway = Input::new(g);
                f.dns = Input::new(d);
                self.selected = at;
            }
        }
        self.interfaces = Loadable::Loaded(list);
    }

    /// The fields in Tab order for the selected interface's mode.
    fn fields(&self) -> Vec<Field> {
        let mut v = vec![Field::Interface];
        if let Some(f) = self.current() {
            v.push(Field::Mode);
            if f.mode == Mode::Static {
                v.extend([Field::Address, Field::Prefix, Field::Gateway, Field::Dns]);
            }
        }
        v.extend([Field::Proxy, Field::NoProxy, Field::S3Endpoint]);
        v
    }

    pub fn input(&self, field: Field) -> Option<&Input> {
        let f = self.current();
        match field {
            Field::Address => f.map(|f| &f.address),
            Field::Prefix => f.map(|f| &f.prefix),
            Field::Gateway => f.map(|f| &f.gateway),
            Field::Dns => f.map(|f| &f.dns),
            Field::Proxy => Some(&self.proxy.0),
            Field::NoProxy => Some(&self.no_proxy),
            Field::S3Endpoint => Some(&self.s3_endpoint),
            Field::Interface | Field::Mode => None,
        }
    }

    fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        match field {
            Field::Proxy => Some(&mut self.proxy.0),
            Field::NoProxy => Some(&mut self.no_proxy),
            Field::S3Endpoint => Some(&mut self.s3_endpoint),
            Field::Address => self.current_mut().map(|f| &mut f.address),
            Field::Prefix => self.current_mut().map(|f| &mut f.prefix),
            Field::Gateway => self.current_mut().map(|f| &mut f.gateway),
            Field::Dns => self.current_mut().map(|f| &mut f.dns),
            Field::Interface | Field::Mode => None,
        }
    }

    /// A paste goes into the focused text field.
    pub fn paste(&mut self, text: &str) {
        if self.work.is_some() {
            return;
        }
        let focus = self.focus();
        if let Some(input) = self.input_mut(focus) {
            if super::paste(input, text) {
                self.error = None;
            }
        }
    }

    /// The plan the form describes, checked; `region` names the S3 hosts to pin.
    /// On a problem: the interface it is on (if any), the field and the message.
    pub fn plan(&self, region: &str) -> Result<NetworkPlan, (Option<usize>, Field, String)> {
        let at_field = |at: Option<usize>| move |e: FieldError| (at, field_of(e.field), e.message);
        let mut plan = NetworkPlan::default();
        for (at, f) in self.forms.iter().enumerate() {
            let addressing = match f.mode {
                Mode::Unchanged => continue,
                Mode::Dhcp => Addressing::Dhcp { v4: true, v6: true },
                Mode::Dhcp4 => Addressing::Dhcp {
                    v4: true,
                    v6: false,
                },
                Mode::Dhcp6 => Addressing::Dhcp {
                    v4: false,
                    v6: true,
                },
                Mode::Static => Addressing::Static(
                    network::static_address(
                        f.address.value(),
                        f.prefix.value(),
                        f.gateway.value(),
                        f.dns.value(),
                    )
                    .map_err(at_field(Some(at)))?,
                ),
            };
            plan.interfaces.push(InterfacePlan {
                interface: f.name.clone(),
                addressing,
            });
        }
        if !self.proxy.0.value().trim().is_empty() || !self.no_proxy.value().trim().is_empty() {
            plan.proxy = Some(
                network::proxy(self.proxy.0.value(), self.no_proxy.value())
                    .map_err(at_field(None))?,
            );
        }
        if !self.s3_endpoint.value().trim().is_empty() {
            let target = network::s3_target(self.s3_endpoint.value()).map_err(at_field(None))?;
            let region = regions::find(region.trim()).ok_or_else(|| {
                (
                    None,
                    Field::S3Endpoint,
                    format!(
                        "The S3 host names to pin depend on the region, and `{region}` is not \
                         one: choose the region on the Credentials step first."
                    ),
                )
            })?;
            if let Some(given) = &self.started_with_s3
                && network::s3_target(given).ok() != Some(target.clone())
            {
                return Err((
                    None,
                    Field::S3Endpoint,
                    format!(
                        "This run downloads AWS's software from {given} (--s3-endpoint or \
                         S3_ENDPOINT at start), so pin that one here too, or start drs-failback \
                         again with the endpoint you want."
                    ),
                ));
            }
            plan.s3 = Some(S3Plan::new(target, region));
        }
        if plan == NetworkPlan::default() {
            return Err((
                None,
                Field::Mode,
                "Nothing to apply: choose DHCP or a static address for an interface (Space on \
                 its mode), or fill in the proxy or the S3 endpoint."
                    .into(),
            ));
        }
        Ok(plan)
    }

    pub fn on_key(&mut self, key: KeyEvent, region: &str) -> NetAction {
        if key.code == KeyCode::Esc {
            return NetAction::Close;
        }
        if self.work.is_some() {
            return NetAction::None;
        }
        match key.code {
            KeyCode::Enter => {
                return match self.plan(region) {
                    Ok(plan) => {
                        self.error = None;
                        self.pinning = plan.s3.clone();
                        NetAction::Apply(plan)
                    }
                    Err((at, field, message)) => {
                        if let Some(at) = at {
                            self.selected = at;
                        }
                        self.focus = Some(field);
                        self.error = Some((field, message));
                        NetAction::None
                    }
                };
            }
            KeyCode::F(5) => return NetAction::Rescan,
            KeyCode::Char('r')
                if key
                    .modifiers
                    .contains(ratatui::crossterm::event::KeyModifiers::CONTROL) =>
            {
                return if self.snapshot.is_some() {
                    NetAction::Revert
                } else {
                    NetAction::None
                };
            }
            _ => {}
        }
        let focus = self.focus();
        if focus == Field::Interface && matches!(key.code, KeyCode::Up | KeyCode::Down) {
            let n = self.forms.len();
            if n > 0 {
                self.selected = match key.code {
                    KeyCode::Up => (self.selected + n - 1) % n,
                    _ => (self.selected + 1) % n,
                };
            }
            return NetAction::None;
        }
        if let Some(delta) = focus_move(&key) {
            let fields = self.fields();
            let at = fields.iter().position(|f| *f == focus).unwrap_or(0) as isize;
            let n = fields.len() as isize;
            self.focus = Some(fields[((at + delta).rem_euclid(n)) as usize]);
            return NetAction::None;
        }
        if focus == Field::Mode && is_toggle(&key) {
            let back = key.code == KeyCode::Left;
            if let Some(f) = self.current_mut() {
                f.mode = f.mode.next(back);
            }
            self.error = None;
            return NetAction::None;
        }
        if let Some(input) = self.input_mut(focus) {
            if edit(input, key) {
                self.error = None;
            }
        }
        NetAction::None
    }

    /// The answer of apply `req`: its snapshot is kept even when the screen was left meanwhile,
    /// so a revert can always put back what was there.
    pub fn on_applied(&mut self, req: u64, applied: crate::netconfig::Applied) -> bool {
        let Some((_, work)) = self
            .work
            .filter(|(r, w)| *r == req && *w != Work::Reverting)
        else {
            return false;
        };
        self.work = None;
        // The hosts file was written: its block now pins what this apply asked for.
        let pinning = self.pinning.take();
        if applied.snapshot.hosts_block.is_some() {
            self.pinned = pinning;
        }
        self.snapshot = Some(match self.snapshot.take() {
            Some(older) => older.merge(applied.snapshot),
            None => applied.snapshot,
        })
        .filter(|s| !s.is_empty());
        self.report = Some((work, applied.lines));
        true
    }

    /// The plan's region is now `region`: when the hosts block pins the S3 endpoint for another
    /// region's host names, the plan that pins it for this one's instead (`req` names it).
    pub fn repin(&mut self, region: &str, req: u64) -> Option<NetworkPlan> {
        if self.work.is_some() {
            // An apply running answers first; its answer asks again.
            return None;
        }
        let s3 = self.pinned.as_ref()?.moved_to(region)?;
        self.pinning = Some(s3.clone());
        self.work = Some((req, Work::Repinning));
        self.report = None;
        Some(NetworkPlan {
            s3: Some(s3),
            ..NetworkPlan::default()
        })
    }

    pub fn on_reverted(&mut self, req: u64, lines: Vec<Line>) -> bool {
        if self.work != Some((req, Work::Reverting)) {
            return false;
        }
        self.work = None;
        self.pinned = None;
        self.report = Some((Work::Reverting, lines));
        true
    }
}

fn field_of(f: network::Field) -> Field {
    match f {
        network::Field::Address => Field::Address,
        network::Field::Prefix => Field::Prefix,
        network::Field::Gateway => Field::Gateway,
        network::Field::Dns => Field::Dns,
        network::Field::Proxy => Field::Proxy,
        network::Field::NoProxy => Field::NoProxy,
        network::Field::S3Endpoint => Field::S3Endpoint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::network::S3Target;
    use crate::netconfig::Applied;
    use ratatui::crossterm::event::KeyModifiers;

    fn iface(name: &str, carrier: bool) -> Interface {
        Interface {
            name: name.into(),
            mac: "52:54:00:00:00:01".into(),
            driver: Some("virtio_net".into()),
            state: if carrier { "UP" } else { "DOWN" }.into(),
            carrier,
            speed_mbps: None,
            addresses: vec![],
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(form: &mut NetworkForm, text: &str) {
        for c in text.chars() {
            form.on_key(key(KeyCode::Char(c)), "us-east-1");
        }
    }

    #[test]
    fn config_network_fills_the_first_interface_with_a_cable_and_a_rescan_keeps_it() {
        let mut form = NetworkForm::from_prefill(network::prefill(|k| {
            Some(
                match k {
                    "CONFIG_NETWORK" => "1",
                    "IPADDR" => "10.0.0.5",
                    "NETMASK" => "255.255.255.0",
                    "GATEWAY" => "10.0.0.1",
                    "DNS" => "10.0.0.2",
                    "PROXY" => "http://p:3128",
                    _ => return None,
                }
                .to_string(),
            )
        }));
        assert_eq!(form.proxy.0.value(), "http://p:3128");
        form.on_interfaces(Ok(vec![iface("eth0", false), iface("eth1", true)]));
        assert_eq!(form.selected, 1);
        let f = form.current().unwrap();
        assert_eq!((f.name.as_str(), f.mode), ("eth1", Mode::Static));
        assert_eq!(f.prefix.value(), "255.255.255.0");
        // A rescan with a new interface first keeps eth1's form and selection.
        form.on_interfaces(Ok(vec![
            iface("eth2", true),
            iface("eth0", false),
            iface("eth1", true),
        ]));
        assert_eq!(form.current().unwrap().name, "eth1");
        assert_eq!(form.current().unwrap().address.value(), "10.0.0.5");
        let plan = form.plan("us-east-1").unwrap();
        assert_eq!(plan.interfaces.len(), 1);
        assert_eq!(plan.proxy.unwrap().url, "http://p:3128");
    }

    #[test]
    fn enter_on_a_bad_address_focuses_it_on_its_interface() {
        let mut form = NetworkForm::default();
        form.on_interfaces(Ok(vec![iface("eth0", true), iface("eth1", true)]));
        assert!(matches!(
            form.on_key(key(KeyCode::Enter), "us-east-1"),
            NetAction::None
        ));
        assert_eq!(form.error.as_ref().unwrap().0, Field::Mode);
        assert!(
            form.error
                .as_ref()
                .unwrap()
                .1
                .starts_with("Nothing to apply")
        );
        // The message leaves the focus on eth0's mode: static, a bad address, then eth1.
        assert_eq!(form.focus(), Field::Mode);
        form.on_key(key(KeyCode::Char(' ')), "");
        form.on_key(key(KeyCode::Left), "");
        form.on_key(key(KeyCode::Left), "");
        assert_eq!(form.current().unwrap().mode, Mode::Static);
        form.on_key(key(KeyCode::Tab), "");
        assert_eq!(form.focus(), Field::Address);
        typed(&mut form, "10.0.0.300");
        form.focus = Some(Field::Interface);
        form.on_key(key(KeyCode::Down), "");
        assert_eq!(form.selected, 1);
        form.on_key(key(KeyCode::Enter), "us-east-1");
        assert_eq!(form.selected, 0);
        assert_eq!(form.focus(), Field::Address);
        let (field, message) = form.error.clone().unwrap();
        assert_eq!(field, Field::Address);
        assert!(message.contains("has 300"), "{message}");
        // Typing clears the message and keeps the text.
        form.on_key(key(KeyCode::Backspace), "");
        assert!(form.error.is_none());
        assert_eq!(form.current().unwrap().address.value(), "10.0.0.30");
    }

    #[test]
    fn space_on_the_mode_cycles_through_dhcp_for_either_family_and_a_static_address() {
        let mut form = NetworkForm::default();
        form.on_interfaces(Ok(vec![iface("eth0", true)]));
        form.focus = Some(Field::Mode);
        let mut seen = vec![];
        for _ in 0..5 {
            form.on_key(key(KeyCode::Char(' ')), "us-east-1");
            let mode = form.current().unwrap().mode;
            seen.push(mode);
            if mode == Mode::Dhcp6 {
                let plan = form.plan("us-east-1").unwrap();
                assert_eq!(
                    plan.interfaces[0].addressing,
                    Addressing::Dhcp {
                        v4: false,
                        v6: true
                    }
                );
            }
        }
        assert_eq!(
            seen,
            [
                Mode::Dhcp,
                Mode::Dhcp4,
                Mode::Dhcp6,
                Mode::Static,
                Mode::Unchanged
            ]
        );
        assert_eq!(Mode::Dhcp6.label(), "DHCP (IPv6 only)");
    }

    #[test]
    fn the_proxy_password_is_not_in_the_forms_debug() {
        let form = NetworkForm::from_prefill(network::prefill(|k| {
            (k == "PROXY").then(|| "http://ops:Secret123@proxy:3128".to_string())
        }));
        assert_eq!(form.proxy.0.value(), "http://ops:Secret123@proxy:3128");
        assert!(!format!("{form:?}").contains("Secret123"));
    }

    #[test]
    fn s3_needs_a_known_region() {
        let mut form = NetworkForm::default();
        form.s3_endpoint = Input::new("10.0.0.9".into());
        let (_, field, message) = form.plan("").unwrap_err();
        assert_eq!(field, Field::S3Endpoint);
        assert!(
            message.contains("choose the region on the Credentials step"),
            "{message}"
        );
        let plan = form.plan("eu-west-1").unwrap();
        assert_eq!(plan.s3.unwrap().hosts[0], "s3.eu-west-1.amazonaws.com");
    }

    fn pinned_hosts_file() -> Applied {
        Applied {
            snapshot: Snapshot {
                hosts_block: Some(None),
                ..Snapshot::default()
            },
            lines: vec![],
        }
    }

    #[test]
    fn the_s3_pin_is_remembered_for_its_region_and_moves_with_it() {
        let mut form = NetworkForm {
            s3_endpoint: Input::new("10.0.0.9".into()),
            ..NetworkForm::default()
        };
        let NetAction::Apply(plan) = form.on_key(key(KeyCode::Enter), "eu-west-1") else {
            panic!("Enter applies the S3 endpoint");
        };
        assert_eq!(plan.s3.as_ref().unwrap().region, "eu-west-1");
        form.work = Some((3, Work::Applying));
        assert!(form.on_applied(3, pinned_hosts_file()));
        assert_eq!(form.pinned, plan.s3);
        // Same region: nothing to do; another known one: the same endpoint for its names.
        assert_eq!(form.repin("eu-west-1", 4), None);
        assert_eq!(form.repin("nowhere-1", 4), None);
        let moved = form.repin("us-east-1", 4).unwrap().s3.unwrap();
        assert_eq!(moved.target, S3Target::Address("10.0.0.9".parse().unwrap()));
        assert_eq!(moved.hosts[0], "s3.us-east-1.amazonaws.com");
        assert_eq!(form.work, Some((4, Work::Repinning)));
        assert_eq!(form.repin("us-east-1", 5), None, "one at a time");
        // A repin that could not write the hosts file leaves the old pin known as it is.
        let failed = Applied {
            snapshot: Snapshot::default(),
            lines: vec![],
        };
        assert!(form.on_applied(4, failed));
        assert_eq!(form.pinned.as_ref().unwrap().region, "eu-west-1");
        form.work = Some((6, Work::Repinning));
        form.pinning = Some(moved.clone());
        assert!(form.on_applied(6, pinned_hosts_file()));
        assert_eq!(form.pinned, Some(moved));
        assert_eq!(form.report.as_ref().unwrap().0, Work::Repinning);
        // A revert takes the pin away.
        form.work = Some((7, Work::Reverting));
        assert!(form.on_reverted(7, vec![]));
        assert_eq!(form.pinned, None);
    }

    #[test]
    fn the_s3_endpoint_the_run_started_with_is_the_only_one_pinned() {
        let mut form = NetworkForm::from_prefill(network::prefill(|k| {
            (k == "S3_ENDPOINT").then(|| "https://10.0.0.9:8443".to_string())
        }));
        assert_eq!(form.s3_endpoint.value(), "https://10.0.0.9:8443");
        let plan = form.plan("us-east-1").unwrap().s3.unwrap();
        assert_eq!(plan.target, S3Target::Address("10.0.0.9".parse().unwrap()));
        // The same address written another way is the same endpoint.
        form.s3_endpoint = Input::new("10.0.0.9".into());
        assert!(form.plan("us-east-1").is_ok());
        form.s3_endpoint = Input::new("10.0.0.7".into());
        let (_, field, message) = form.plan("us-east-1").unwrap_err();
        assert_eq!(field, Field::S3Endpoint);
        assert!(
            message.starts_with("This run downloads AWS's software from https://10.0.0.9:8443"),
            "{message}"
        );
        // Emptied, nothing is pinned and nothing refused.
        form.s3_endpoint = Input::default();
        form.proxy = SecretInput(Input::new("http://p:3128".into()));
        assert_eq!(form.plan("us-east-1").unwrap().s3, None);
    }

    #[test]
    fn only_the_awaited_answer_counts_and_its_snapshot_is_kept() {
        let mut form = NetworkForm {
            work: Some((7, Work::Applying)),
            ..NetworkForm::default()
        };
        let applied = Applied {
            snapshot: Snapshot::default(),
            lines: vec![],
        };
        assert!(!form.on_applied(6, applied.clone()));
        assert_eq!(form.work, Some((7, Work::Applying)));
        assert!(form.on_applied(7, applied));
        assert!(form.work.is_none() && form.report.is_some());
        // Nothing was changed, so there is nothing to revert.
        assert!(form.snapshot.is_none());
    }
}
