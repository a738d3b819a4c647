//! The wizard's flow: keys and service answers fed to `update`, no terminal, no I/O.

use drs_failback::app::{App, Cmd, Modal, Mode, Msg, update};
use drs_failback::domain::bytes::Bytes;
use drs_failback::domain::mapping::{Choice, RowStatus};
use drs_failback::domain::model::*;
use drs_failback::drs::{Auth, DrsError, DrsErrorKind, StaticCredentials};
use drs_failback::emulator::EmulatorCredential;
use drs_failback::replicator::{ReplicatorEvent, RunId};
use drs_failback::wizard::credentials::{Field, Verified};
use drs_failback::wizard::endpoint::EndpointForm;
use drs_failback::wizard::replication::Launch;
use drs_failback::wizard::result::Outcome;
use drs_failback::wizard::review;
use drs_failback::wizard::{Loadable, StepId};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn press(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    update(app, key(code))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(KeyCode::Char(c)));
    }
}

const KEY_ID: &str = "AKIADEMO000000000001";
const SECRET: &str = "demoSecretKey000000000000000000000000000";

fn host() -> HostFacts {
    HostFacts {
        identity: HostIdentity {
            hostname: "web-01".into(),
            fqdn: Some("web-01.corp.example.com".into()),
            macs: vec!["52:54:00:12:34:56".into()],
            vmware_uuid: None,
            aws_instance_id: None,
        },
        ram: Bytes::gib(8),
        cpus: 2,
        cpu_model: "Test CPU".into(),
        boot_mode: BootMode::Bios,
        secure_boot: None,
        nics: vec![("eth0".into(), "52:54:00:12:34:56".into())],
    }
}

fn disk(device: &str, gib: u64) -> LocalDisk {
    LocalDisk {
        device: device.into(),
        path: device.into(),
        bytes: Bytes::gib(gib),
        model: Some("Virtual Disk".into()),
        serial: Some(format!("SN-{device}")),
        by_path: None,
        by_id: None,
        by_uuid: None,
        mounts: vec![],
        is_boot_medium: false,
        contents: "empty".into(),
        ..Default::default()
    }
}

fn instance(id: &str, hostname: &str, volumes: &[(&str, u64)]) -> RecoveryInstance {
    RecoveryInstance {
        id: id.into(),
        source_server_id: "s-1234567890abcdef0".into(),
        ec2_instance_id: None,
        ec2_state: Some("RUNNING".into()),
        is_drill: false,
        hints: IdentificationHints {
            hostname: Some(hostname.into()),
            ..Default::default()
        },
        os: Some("Linux".into()),
        macs: vec![],
        private_ips: vec![],
        volumes: volumes
            .iter()
            .map(|(d, g)| RecoveryVolume {
                device_name: (*d).into(),
                bytes: Bytes::gib(*g),
            })
            .collect(),
        replication: Default::default(),
        failback: Default::default(),
    }
}

const WEB: &str = "i-0123456789abcdef0";
/// The demo's embedded emulator.
const EMULATOR: &str = "http://127.0.0.1:4000";
const BIG: &str = "i-0fedcba9876543210";

/// A demo-like app with host facts, disks and credentials typed in.
fn app() -> App {
    let mut app = App::new(Mode::Demo {
        disk_dir: "/tmp/x".into(),
        keys: vec![],
        endpoint: EMULATOR.into(),
    });
    update(&mut app, Msg::HostFacts(host()));
    update(
        &mut app,
        Msg::Disks {
            req: 0,
            result: Ok(vec![disk("/dev/sdb", 40), disk("/dev/sdc", 100)]),
        },
    );
    app.credentials.access_key_id = Input::new(KEY_ID.into());
    app.credentials.secret.0 = Input::new(SECRET.into());
    app.endpoint = EndpointForm::with_custom(EMULATOR);
    // Past Welcome, with every pre-flight check passed.
    app.step = StepId::Preflight;
    app.preflight.report = Loadable::Loaded(passing_preflight());
    app
}

fn passing_preflight() -> drs_failback::preflight::Report {
    drs_failback::preflight::Report {
        checks: drs_failback::preflight::machine(&host()),
        clock_skew_seconds: Some(0),
        offer_clock_set: false,
    }
}

fn verified() -> Verified {
    Verified {
        source: "typed access key".into(),
        clock_skew: None,
    }
}

fn req_of(cmds: &[Cmd]) -> u64 {
    match cmds.first() {
        Some(Cmd::VerifyCredentials { req, .. })
        | Some(Cmd::CheckEndpoint { req, .. })
        | Some(Cmd::ListInstances { req })
        | Some(Cmd::ListDisks { req }) => *req,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Welcome, then Next on Credentials, answered with `result`.
fn verified_with(result: Result<Verified, DrsError>) -> App {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(&mut app, Msg::CredentialsChecked { req, result });
    app
}

/// Walks to the instance list and returns the listing's request, before any page came.
fn listing() -> (App, u64) {
    let mut app = verified_with(Ok(verified()));
    let cmds = endpoint_passes(&mut app);
    let req = req_of(&cmds);
    (app, req)
}

/// Enter on the Endpoint step, its check answered: passed.
fn endpoint_passes(app: &mut App) -> Vec<Cmd> {
    let req = req_of(&press(app, KeyCode::Enter));
    update(
        app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    )
}

/// Recovery instances that match nothing on this machine and fit its disks.
fn others(from: usize, n: usize) -> Vec<RecoveryInstance> {
    (from..from + n)
        .map(|k| {
            instance(
                &format!("i-0aaaa{k:012x}"),
                &format!("svc-{k}"),
                &[("/dev/xvda", 8)],
            )
        })
        .collect()
}

fn page(req: u64, list: Vec<RecoveryInstance>, more: bool) -> Msg {
    Msg::Instances {
        req,
        result: Ok(list),
        more,
    }
}

#[test]
fn the_first_page_is_filterable_and_selectable_before_the_last_arrives() {
    let (mut app, req) = listing();
    update(&mut app, page(req, others(0, 100), true));
    assert_eq!(app.instance.rows().len(), 100);
    assert_eq!(app.instance.more, Some(req));
    type_text(&mut app, "svc-42");
    assert_eq!(app.instance.visible().len(), 1);
    assert_eq!(
        app.instance.selected.as_deref(),
        Some("i-0aaaa00000000002a")
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping, "{:?}", app.instance.error);
}

#[test]
fn arriving_pages_never_move_the_operators_selection() {
    let (mut app, req) = listing();
    update(&mut app, page(req, others(0, 100), true));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let chosen = app.instance.selected.clone();
    let mut last = others(100, 99);
    last.push(instance(WEB, "web-01", &[("/dev/xvda", 30)]));
    update(&mut app, page(req, last, false));
    assert_eq!(app.instance.rows().len(), 200);
    assert_eq!(app.instance.best.as_deref(), Some(WEB));
    assert_eq!(app.instance.selected, chosen);
    assert_eq!(app.instance.more, None);
}

#[test]
fn the_best_match_is_reevaluated_as_pages_arrive() {
    let (mut app, req) = listing();
    update(&mut app, page(req, others(0, 100), true));
    assert_eq!(app.instance.best, None);
    assert_eq!(
        app.instance.selected.as_deref(),
        Some("i-0aaaa000000000000")
    );
    update(
        &mut app,
        page(
            req,
            vec![instance(WEB, "web-01", &[("/dev/xvda", 30)])],
            true,
        ),
    );
    assert_eq!(app.instance.best.as_deref(), Some(WEB));
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    // A second instance as good as the first: no best match any more (a tie is no answer).
    let twin = instance("i-0bbbb000000000000", "web-01", &[("/dev/xvda", 30)]);
    update(&mut app, page(req, vec![twin], false));
    assert_eq!(app.instance.best, None);
}

#[test]
fn the_no_prompt_autopilot_waits_for_the_last_page() {
    use drs_failback::app::runtime::Frontend;
    let (mut app, req) = listing();
    let mut autopilot = drs_failback::headless::Headless::default();
    update(&mut app, page(req, others(0, 100), true));
    assert!(
        autopilot.keys_for(&app).is_empty(),
        "the best match may come later"
    );
    let last = vec![instance(WEB, "web-01", &[("/dev/xvda", 30)])];
    update(&mut app, page(req, last, false));
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(autopilot.keys_for(&app), vec![enter]);
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
}

#[test]
fn pages_of_an_abandoned_listing_are_ignored() {
    let (mut app, req) = listing();
    update(&mut app, page(req, others(0, 100), true));
    let again = req_of(&update(&mut app, ctrl('r')));
    update(&mut app, page(req, others(100, 100), false));
    assert!(app.instance.list.is_loading());
    update(&mut app, page(again, others(0, 10), false));
    assert_eq!(app.instance.rows().len(), 10);
}

/// Walks to the instance list with the two test instances loaded.
fn at_instances() -> App {
    let (mut app, req) = listing();
    let list = vec![
        instance(BIG, "db-01", &[("/dev/xvda", 500)]),
        instance(WEB, "web-01", &[("/dev/xvda", 30), ("/dev/xvdb", 80)]),
    ];
    update(&mut app, page(req, list, false));
    assert_eq!(app.step, StepId::Instance);
    app
}

#[test]
fn enter_walks_from_welcome_through_the_preflight_to_credentials_verification() {
    let mut app = app();
    app.step = StepId::Welcome;
    app.preflight = Default::default();
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Preflight);
    let req = match &cmds[..] {
        [
            Cmd::RunPreflight {
                req,
                region,
                drs_endpoint,
                s3_endpoint,
            },
        ] => {
            assert_eq!(region, "us-east-1");
            assert_eq!(drs_endpoint.as_deref(), Some(EMULATOR));
            // The demo's emulator serves S3 too.
            assert_eq!(s3_endpoint.as_deref(), Some(EMULATOR));
            *req
        }
        other => panic!("expected the pre-flight checks, got {other:?}"),
    };
    // Enter before the answer is remembered: it goes on once the checks passed.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.step, StepId::Preflight);
    assert!(app.preflight.waiting);
    assert_eq!(app.preflight.error, None);
    assert!(
        screen(&app).contains("Will go on once the checks finish (Esc cancels it)."),
        "{}",
        screen(&app)
    );
    let report = passing_preflight();
    update(&mut app, Msg::Preflight { req, report });
    assert_eq!(app.step, StepId::Credentials);
    let cmds = press(&mut app, KeyCode::Enter);
    match &cmds[..] {
        [Cmd::VerifyCredentials { target, .. }] => {
            assert_eq!(target.endpoint.as_deref(), Some("http://127.0.0.1:4000"));
            assert!(matches!(&target.auth, Auth::Static(c) if c.access_key_id == KEY_ID));
        }
        other => panic!("expected a verification, got {other:?}"),
    }
    assert!(app.credentials.check.is_loading());
}

#[test]
fn enter_on_a_running_preflight_waits_and_a_failure_or_esc_keeps_it_there() {
    let start = || {
        let mut app = app();
        app.step = StepId::Welcome;
        app.preflight = Default::default();
        let req = match &press(&mut app, KeyCode::Enter)[..] {
            [Cmd::RunPreflight { req, .. }] => *req,
            other => panic!("{other:?}"),
        };
        press(&mut app, KeyCode::Enter);
        assert!(app.preflight.waiting);
        assert!(drs_failback::app::keys::hints(&app).contains(&("Esc", "cancel next")));
        (app, req)
    };
    // A failing check: no move, its fix said.
    let (mut app, req) = start();
    let mut report = passing_preflight();
    report
        .checks
        .push(drs_failback::domain::preflight::not_checked(
            "s3",
            "S3",
            "S3",
            "DNS failed",
        ));
    update(&mut app, Msg::Preflight { req, report });
    assert_eq!(app.step, StepId::Preflight);
    assert!(!app.preflight.waiting);
    assert!(
        app.preflight
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("S3 failed: "),
        "{:?}",
        app.preflight.error
    );
    // Esc cancels the waiting Next, not the step; a second Esc goes back.
    let (mut app, req) = start();
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(!app.preflight.waiting);
    assert_eq!(app.step, StepId::Preflight);
    let report = passing_preflight();
    update(&mut app, Msg::Preflight { req, report });
    assert_eq!(app.step, StepId::Preflight);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Welcome);
    // Opening the Network screen drops it too: the operator changes what is measured.
    let (mut app, req) = start();
    update(&mut app, key(KeyCode::Char('n')));
    assert!(app.network_open && !app.preflight.waiting);
    update(
        &mut app,
        Msg::Preflight {
            req,
            report: passing_preflight(),
        },
    );
    assert_eq!(app.step, StepId::Preflight);
}

#[test]
fn next_with_a_bad_key_id_focuses_it_and_calls_nothing() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    app.credentials.access_key_id = Input::new("AKIA123".into());
    app.credentials.focus = Field::Region;
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.credentials.focus, Field::AccessKeyId);
    assert!(app.credentials.visible_error(Field::AccessKeyId).is_some());
}

#[test]
fn wrong_secret_keeps_the_input_and_focuses_the_secret() {
    let err = DrsError::new(DrsErrorKind::WrongSecret, "InvalidSignatureException");
    let app = verified_with(Err(err));
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.focus, Field::Secret);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
    assert!(matches!(app.credentials.check, Loadable::Failed(_)));
}

#[test]
fn wrong_region_focuses_the_region() {
    let err = DrsError::new(
        DrsErrorKind::WrongRegion,
        "InvalidSignatureException: Credential should be scoped to a valid region.",
    );
    let app = verified_with(Err(err));
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.focus, Field::Region);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
}

#[test]
fn a_region_filter_that_matches_nothing_stops_next_and_says_what_stays_chosen() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Credentials);
    app.credentials.focus = Field::Region;
    // "eu-w" picks eu-west-1; the typo after it matches nothing and would keep it unseen.
    type_text(&mut app, "eu-wset-2");
    assert_eq!(app.credentials.region, "eu-west-1");
    let error = app
        .credentials
        .visible_error(Field::Region)
        .unwrap_or_default();
    assert!(
        error.contains("No region matches `eu-wset-2`")
            && error.contains("eu-west-1 is still chosen"),
        "{error}"
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "Next verified with eu-west-1"
    );
    assert_eq!(app.credentials.focus, Field::Region);
    // Corrected, Next goes on with the region meant.
    for _ in 0.."set-2".len() {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "est-2");
    assert_eq!(app.credentials.region, "eu-west-2");
    assert!(app.credentials.visible_error(Field::Region).is_none());
    assert!(matches!(
        press(&mut app, KeyCode::Enter).first(),
        Some(Cmd::VerifyCredentials { .. })
    ));
}

#[test]
fn a_late_answer_for_an_abandoned_check_is_dropped() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    let old = req_of(&press(&mut app, KeyCode::Enter));
    press(&mut app, KeyCode::Esc); // abandon the check
    let new = req_of(&press(&mut app, KeyCode::Enter));
    assert_ne!(old, new);
    update(
        &mut app,
        Msg::CredentialsChecked {
            req: old,
            result: Ok(verified()),
        },
    );
    assert_eq!(
        app.step,
        StepId::Credentials,
        "stale success must not advance"
    );
    update(
        &mut app,
        Msg::CredentialsChecked {
            req: new,
            result: Ok(verified()),
        },
    );
    assert_eq!(app.step, StepId::Endpoint);
}

#[test]
fn unreachable_endpoint_offers_to_set_a_custom_one() {
    let err = DrsError::new(DrsErrorKind::Unreachable, "dns error");
    let mut app = verified_with(Err(err));
    update(&mut app, ctrl('e'));
    assert_eq!(app.step, StepId::Endpoint);
}

#[test]
fn back_never_loses_what_was_typed() {
    let mut app = at_instances();
    type_text(&mut app, "web");
    press(&mut app, KeyCode::Esc); // clears the filter first
    assert_eq!(app.step, StepId::Instance);
    assert_eq!(app.instance.filter.value(), "");
    type_text(&mut app, "web");
    assert_eq!(app.instance.filter.value(), "web");
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Instance);
    assert_eq!(app.instance.filter.value(), "web");
    press(&mut app, KeyCode::Esc); // the filter
    assert_eq!(app.step, StepId::Instance);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Endpoint);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
}

#[test]
fn the_matching_instance_is_preselected_and_a_too_large_one_is_refused() {
    let mut app = at_instances();
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    assert_eq!(app.instance.best.as_deref(), Some(WEB));
    let big = app
        .instance
        .rows()
        .iter()
        .find(|r| r.instance.id == BIG)
        .unwrap();
    assert!(
        big.fit.is_err(),
        "a 500 GiB volume cannot fit 100 GiB disks"
    );
    press(&mut app, KeyCode::Up);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Instance);
    assert!(app.instance.error.as_deref().unwrap().contains(BIG));
}

#[test]
fn typing_a_full_instance_id_selects_it() {
    let mut app = at_instances();
    type_text(&mut app, BIG);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
}

#[test]
fn mapping_refuses_next_while_a_volume_is_unmapped_then_review_needs_the_word() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    let disks = app.local_disks().to_vec();
    assert_eq!(
        app.mapping.choices,
        vec![Choice::of(&disks[0]), Choice::of(&disks[1])]
    );
    press(&mut app, KeyCode::Char('u'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    assert!(app.mapping.error.as_deref().unwrap().contains("/dev/xvda"));
    press(&mut app, KeyCode::Char('a'));
    enter_review(&mut app);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.review.error.is_some());
    type_text(&mut app, "OVERWRITE");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Replication);
    match &cmds[..] {
        [Cmd::StartReplication { plan, .. }] => {
            assert_eq!(plan.recovery_instance_id, WEB);
            assert_eq!(plan.device_mapping, "/dev/xvda=/dev/sdb,/dev/xvdb=/dev/sdc");
            assert_eq!(plan.targets.len(), 2);
            // Each volume is written where its disk says its blocks live.
            let paths: Vec<_> = plan.targets.iter().map(|t| t.write_path.clone()).collect();
            assert_eq!(
                paths,
                [
                    app.local_disks()[0].path.clone(),
                    app.local_disks()[1].path.clone()
                ]
            );
        }
        other => panic!("expected replication to start, got {other:?}"),
    }
}

#[test]
fn pasting_a_mapping_replaces_the_choices_and_errors_keep_the_text() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('p'));
    type_text(&mut app, "/dev/xvda=/dev/sdc,/dev/xvdb");
    press(&mut app, KeyCode::Enter);
    let paste = app
        .mapping
        .paste
        .as_ref()
        .expect("the paste box stays open on error");
    assert!(paste.error.is_some());
    assert_eq!(paste.input.value(), "/dev/xvda=/dev/sdc,/dev/xvdb");
    type_text(&mut app, "=EXCLUDE");
    press(&mut app, KeyCode::Enter);
    assert!(app.mapping.paste.is_none());
    let sdc = Choice::of(&app.local_disks()[1]);
    assert_eq!(app.mapping.choices, vec![sdc, Choice::Exclude]);
}

fn replicating() -> App {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    enter_review(&mut app);
    type_text(&mut app, "OVERWRITE");
    confirm_and_attach(&mut app);
    paired(&mut app);
    app
}

/// Review's Enter hands the plan over; the worker answers with its run, as its Hello does.
fn confirm_and_attach(app: &mut App) {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let plan = match press(app, KeyCode::Enter).pop() {
        Some(Cmd::StartReplication { plan }) => plan,
        other => panic!("expected replication to start, got {other:?}"),
    };
    assert_eq!(app.step, StepId::Replication);
    let run = RunId(RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let started_at = app.now;
    update(
        app,
        Msg::Attached {
            run,
            plan,
            started_at,
            started_by: None,
            worker_pid: 4242,
            log_file: None,
        },
    );
}

fn attached(app: &mut App, plan: drs_failback::replicator::ReplicationPlan, by: Option<&str>) {
    let started_at = app.now;
    update(
        app,
        Msg::Attached {
            run: RunId(77),
            plan,
            started_at,
            started_by: by.map(str::to_owned),
            worker_pid: 5151,
            log_file: None,
        },
    );
}

#[test]
fn a_failback_confirmed_while_another_terminals_runs_is_not_started_and_says_so() {
    let mut app = at_review();
    type_text(&mut app, "OVERWRITE");
    let plan = match press(&mut app, KeyCode::Enter).pop() {
        Some(Cmd::StartReplication { plan }) => plan,
        other => panic!("expected replication to start, got {other:?}"),
    };
    // The worker lock refused ours: the socket that answers is the other terminal's worker.
    let theirs = "Started from /dev/tty1 (pid 900) at 2026-12-01T21:00:00Z.";
    attached(&mut app, plan.clone(), Some(theirs));
    assert_eq!(app.step, StepId::Replication);
    let d = app.dashboard.as_ref().unwrap();
    assert_eq!(d.started_by.as_deref(), Some(theirs));
    let notice = app.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("Your failback was not started") && notice.contains("another terminal"),
        "{notice}"
    );
    assert!(d.log.iter().any(|l| l.contains("not started")));

    // A wizard that opens on a running failback (nothing confirmed here) is told no such thing.
    let mut fresh = App::new(Mode::Real);
    attached(&mut fresh, plan, Some(theirs));
    assert_eq!(fresh.step, StepId::Replication);
    assert_eq!(fresh.notice, None);
}

/// A message of the worker's, then its verdict when the state now has one: the worker decides
/// with the same `Dashboard::verdict` from the same events.
fn from_worker(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let mut cmds = update(app, msg);
    if app.outcome.is_none()
        && let Some(d) = app.dashboard.as_ref()
        && let Some(verdict) = d.verdict()
    {
        let run = d.run;
        cmds.extend(update(app, Msg::Outcome { run, verdict }));
    }
    cmds
}

/// The failback client id the test replicator pairs as, and the service reports.
const CLIENT: &str = "fc-0123";

fn paired(app: &mut App) {
    replicator_says(
        app,
        ReplicatorEvent::Paired {
            client_id: CLIENT.into(),
        },
    );
}

fn run_of(app: &App) -> RunId {
    app.dashboard.as_ref().expect("a dashboard").run
}

/// An event from the current run's replicator.
fn replicator_says(app: &mut App, event: ReplicatorEvent) -> Vec<Cmd> {
    let run = run_of(app);
    from_worker(app, Msg::Replicator { run, event })
}

fn polled(app: &mut App, now: f64, replication: &str, failback: &str, done: u64) {
    let mut i = instance(WEB, "web-01", &[("/dev/xvda", 30), ("/dev/xvdb", 80)]);
    i.replication.state = replication.into();
    i.failback.state = failback.into();
    i.failback.job_id = Some("drsjob-0123456789abcdefg".into());
    i.failback.client_id = Some(CLIENT.into());
    i.replication.disks = vec![ReplicatedDisk {
        device_name: "/dev/xvda".into(),
        total: Bytes::gib(30).get(),
        replicated: done,
        backlogged: 0,
        rescanned: 0,
    }];
    let run = run_of(app);
    from_worker(
        app,
        Msg::Polled {
            run,
            now,
            result: Ok(i),
        },
    );
}

#[test]
fn dashboard_measures_throughput_and_offers_the_launch_when_ready() {
    let mut app = replicating();
    polled(&mut app, 1.0, "INITIAL_SYNC", "FAILBACK_IN_PROGRESS", 0);
    polled(
        &mut app,
        3.0,
        "INITIAL_SYNC",
        "FAILBACK_IN_PROGRESS",
        200 << 20,
    );
    let d = app.dashboard.as_ref().unwrap();
    let rate = d.service_rate.rate().unwrap();
    assert!((rate - 100.0 * (1 << 20) as f64).abs() < 1.0, "rate {rate}");
    assert_eq!(d.launch, Launch::NotReady);
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::NotReady);

    polled(
        &mut app,
        5.0,
        "CONTINUOUS",
        "FAILBACK_READY_FOR_LAUNCH",
        Bytes::gib(30).get(),
    );
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::Confirming);
    let cmds = press(&mut app, KeyCode::Char('y'));
    assert!(matches!(
        &cmds[..],
        [Cmd::StartFailbackLaunch { as_console: false, run }] if *run == run_of(&app)
    ));
}

/// Ready for launch, `l`, `y`, and the service refuses.
fn launch_denied(app: &mut App, kind: DrsErrorKind) {
    polled(
        app,
        1.0,
        "CONTINUOUS",
        "FAILBACK_READY_FOR_LAUNCH",
        Bytes::gib(30).get(),
    );
    press(app, KeyCode::Char('l'));
    press(app, KeyCode::Char('y'));
    let denied = DrsError::new(kind, "AccessDeniedException");
    let run = run_of(app);
    update(
        app,
        Msg::LaunchStarted {
            run,
            result: Err(denied),
        },
    );
}

#[test]
fn stopping_the_failback_asks_first_and_then_asks_the_worker() {
    let mut app = replicating();
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    assert!(app.dashboard.as_ref().unwrap().stopping);
    press(&mut app, KeyCode::Char('n'));
    assert!(!app.dashboard.as_ref().unwrap().stopping);
    press(&mut app, KeyCode::Char('s'));
    let run = run_of(&app);
    let cmds = press(&mut app, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Cmd::StopFailback { run: r }] if *r == run),
        "{cmds:?}"
    );
    assert!(!app.dashboard.as_ref().unwrap().stopping);
}

#[test]
fn launch_denied_says_to_use_the_console_and_keeps_watching() {
    let mut app = replicating();
    launch_denied(
        &mut app,
        DrsErrorKind::AccessDenied {
            action: Some("drs:StartFailbackLaunch".into()),
        },
    );
    assert!(
        matches!(&app.dashboard.as_ref().unwrap().launch, Launch::Denied(m) if m.contains("Failback"))
    );
    assert_eq!(app.step, StepId::Replication);
    polled(
        &mut app,
        9.0,
        "STOPPED",
        "FAILBACK_COMPLETED",
        Bytes::gib(30).get(),
    );
    assert_eq!(app.step, StepId::Result);
}

/// The state moved between the poll and the launch (a scripted stall, a real hiccup): DRS
/// refuses; once it is ready again the launch is offered again, and the refusal stays logged.
#[test]
fn a_refused_launch_is_offered_again_once_ready() {
    let mut app = replicating();
    launch_denied(&mut app, DrsErrorKind::Conflict);
    let d = app.dashboard.as_ref().unwrap();
    assert!(matches!(&d.launch, Launch::Failed(_)), "{:?}", d.launch);
    polled(
        &mut app,
        2.0,
        "STALLED",
        "FAILBACK_IN_PROGRESS",
        Bytes::gib(30).get(),
    );
    assert!(matches!(
        &app.dashboard.as_ref().unwrap().launch,
        Launch::Failed(_)
    ));
    polled(
        &mut app,
        3.0,
        "CONTINUOUS",
        "FAILBACK_READY_FOR_LAUNCH",
        Bytes::gib(30).get(),
    );
    let d = app.dashboard.as_ref().unwrap();
    assert_eq!(d.launch, Launch::Ready);
    assert!(
        d.log
            .iter()
            .any(|l| l.contains("The failback launch failed")),
        "{:?}",
        d.log
    );
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::Confirming);
}

#[test]
fn completion_awaits_the_job_log_and_quitting_acknowledges_the_result() {
    let mut app = replicating();
    {
        polled(
            &mut app,
            1.0,
            "CONTINUOUS",
            "FAILBACK_READY_FOR_LAUNCH",
            Bytes::gib(30).get(),
        );
        let mut i = app.dashboard.as_ref().unwrap().instance.clone().unwrap();
        i.failback.state = "FAILBACK_COMPLETED".into();
        let run = run_of(&app);
        from_worker(
            &mut app,
            Msg::Polled {
                run,
                now: 60.0,
                result: Ok(i),
            },
        );
    }
    assert_eq!(app.step, StepId::Result);
    match &app.outcome {
        Some(Outcome::Completed(s)) => {
            assert_eq!(s.replicated_bytes, Bytes::gib(30).get());
            assert!(s.timeline.is_loading());
        }
        other => panic!("expected completion, got {other:?}"),
    }
    let run = run_of(&app);
    let job = Job {
        id: "drsjob-0123456789abcdefg".into(),
        ..Job::default()
    };
    update(
        &mut app,
        Msg::JobLog {
            run,
            result: Ok((job, vec![])),
        },
    );
    assert!(
        matches!(&app.outcome, Some(Outcome::Completed(s)) if matches!(s.timeline, Loadable::Loaded(_)))
    );
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(app.quit);
    assert!(matches!(&cmds[..], [Cmd::Acknowledge { run: r }, Cmd::Quit] if *r == run));
}

#[test]
fn a_replicator_failure_shows_what_failed_and_retry_goes_back_to_review() {
    let mut app = replicating();
    replicator_says(&mut app, ReplicatorEvent::Log("Pairing with agent".into()));
    replicator_says(
        &mut app,
        ReplicatorEvent::Exited(Err("cannot reach TCP 1500".into())),
    );
    assert_eq!(app.step, StepId::Result);
    match &app.outcome {
        Some(Outcome::Failed(f)) => {
            assert!(f.what.contains("TCP 1500"));
            assert_eq!(f.last_log, vec!["Pairing with agent".to_owned()]);
        }
        other => panic!("expected failure, got {other:?}"),
    }
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.step, StepId::Review);
    assert!(!app.review.confirmed(), "retry asks for the word again");
}

#[test]
fn ctrl_c_asks_before_quitting_and_twice_quits() {
    let mut app = app();
    update(&mut app, ctrl('c'));
    assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    assert!(!app.quit);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.modal, None);
    update(&mut app, ctrl('c'));
    let cmds = update(&mut app, ctrl('c'));
    assert!(app.quit);
    assert!(cmds.iter().any(|c| matches!(c, Cmd::Quit)));
}

#[test]
fn quitting_an_attached_dashboard_names_the_command_that_comes_back_to_it() {
    let mut app = replicating();
    assert!(app.dashboard.is_some());
    // As main sets it for `drs-failback --demo --state-dir /var/tmp/rehearsal`.
    app.come_back = "drs-failback --demo --state-dir /var/tmp/rehearsal".into();
    update(&mut app, ctrl('c'));
    assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    let flat = screen(&app)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("Run drs-failback --demo --state-dir /var/tmp/rehearsal again"),
        "{}",
        screen(&app)
    );
}

#[test]
fn question_mark_is_help_outside_text_fields_and_text_inside() {
    let mut app = app();
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.modal, Some(Modal::Help));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    app.credentials.focus = Field::AccessKeyId;
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.modal, None);
    assert!(app.credentials.access_key_id.value().ends_with('?'));
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
    );
    assert_eq!(app.modal, Some(Modal::Help));
}

#[test]
fn ctrl_l_asks_for_a_full_redraw_of_the_same_screen_notice_included() {
    let mut app = app();
    app.notice = Some("Credentials accepted".into());
    assert!(matches!(
        &update(&mut app, ctrl('l'))[..],
        [Cmd::ClearScreen]
    ));
    assert_eq!(app.notice.as_deref(), Some("Credentials accepted"));
}

#[test]
fn ticks_redraw_only_while_something_moves() {
    let mut app = app();
    app.disks = Loadable::Loaded(vec![]);
    app.dirty = false;
    update(
        &mut app,
        Msg::Tick {
            now: 1.0,
            epoch: 1_795_000_001,
        },
    );
    assert!(
        !app.dirty,
        "an idle Welcome screen must not redraw every second"
    );
    let mut app = replicating();
    app.dirty = false;
    update(
        &mut app,
        Msg::Tick {
            now: 2.0,
            epoch: 1_795_000_002,
        },
    );
    assert!(app.dirty);
}

#[test]
fn a_tick_never_cancels_the_redraw_another_message_asked_for() {
    let mut app = app();
    app.disks = Loadable::Loaded(vec![]);
    app.dirty = false;
    update(&mut app, Msg::HostFacts(host()));
    update(
        &mut app,
        Msg::Tick {
            now: 1.0,
            epoch: 1_795_000_001,
        },
    );
    assert!(app.dirty, "the host facts must still be drawn");
}

#[test]
fn f2_cycles_the_demo_keys_and_says_what_each_shows() {
    let demo_key = |id: &str, token: Option<&str>| EmulatorCredential {
        label: id.to_lowercase(),
        description: format!("what {id} shows"),
        credentials: StaticCredentials {
            access_key_id: id.into(),
            secret_access_key: SECRET.into(),
            session_token: token.map(str::to_owned),
        },
    };
    let mut app = App::new(Mode::Demo {
        disk_dir: "/tmp/x".into(),
        keys: vec![
            demo_key("AKIADEMOEXAMPLE00001", None),
            demo_key("ASIADEMOEXAMPLE00002", Some("token")),
        ],
        endpoint: EMULATOR.into(),
    });
    app.step = StepId::Credentials;
    let f2 = || key(KeyCode::F(2));
    update(&mut app, f2());
    assert_eq!(
        app.credentials.access_key_id.value(),
        "AKIADEMOEXAMPLE00001"
    );
    update(&mut app, f2());
    assert_eq!(
        app.credentials.access_key_id.value(),
        "ASIADEMOEXAMPLE00002"
    );
    assert_eq!(app.credentials.session_token.0.value(), "token");
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("what ASIADEMOEXAMPLE00002 shows")
    );
    update(&mut app, f2());
    assert_eq!(
        app.credentials.access_key_id.value(),
        "AKIADEMOEXAMPLE00001"
    );
    assert_eq!(
        app.credentials.session_token.0.value(),
        "",
        "the token goes with its key"
    );
}

#[test]
fn the_demo_plays_the_consoles_failback_button_when_the_launch_is_denied() {
    let mut app = replicating();
    let console = StaticCredentials {
        access_key_id: "AKIADEMOEXAMPLE00001".into(),
        secret_access_key: SECRET.into(),
        session_token: None,
    };
    app.mode = Mode::Demo {
        disk_dir: "/tmp/x".into(),
        keys: vec![EmulatorCredential {
            label: "full access".into(),
            description: "everything allowed".into(),
            credentials: console.clone(),
        }],
        endpoint: EMULATOR.into(),
    };
    launch_denied(&mut app, DrsErrorKind::AccessDenied { action: None });
    let cmds = press(&mut app, KeyCode::Char('c'));
    match &cmds[..] {
        [
            Cmd::StartFailbackLaunch {
                as_console: true, ..
            },
        ] => {}
        other => panic!("expected the console's launch, got {other:?}"),
    }
    assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::Starting);
    // A policy that denies everyone: the console is refused too, and the screen says so.
    let run = run_of(&app);
    update(
        &mut app,
        Msg::LaunchStarted {
            run,
            result: Err(DrsError::new(
                DrsErrorKind::AccessDenied { action: None },
                "with an explicit deny",
            )),
        },
    );
    assert!(
        matches!(&app.dashboard.as_ref().unwrap().launch, Launch::Denied(m)
            if m.contains("console's Failback is refused too") && !m.contains("press c")),
        "{:?}",
        app.dashboard.as_ref().unwrap().launch
    );
}

#[test]
fn a_failed_endpoint_check_stays_with_its_advice_until_the_url_changes() {
    let mut app = verified_with(Ok(verified()));
    assert_eq!(app.step, StepId::Endpoint);
    let req = req_of(&press(&mut app, KeyCode::Enter));
    let err = DrsError::new(DrsErrorKind::Tls, "invalid peer certificate");
    let cmds = update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Err(err),
        },
    );
    assert!(cmds.is_empty());
    assert_eq!(app.step, StepId::Endpoint);
    let check = app.endpoint.check.as_ref().unwrap();
    assert!(
        matches!(&check.outcome, Some(Err(advice)) if *advice == DrsError::new(DrsErrorKind::Tls, "").advice())
    );
    app.endpoint.focus = drs_failback::wizard::endpoint::Field::Url;
    press(&mut app, KeyCode::Char('x'));
    assert!(
        app.endpoint.check.is_none(),
        "an edited URL needs a new check"
    );
}

/// At Review with the mapping accepted, the confirmation field empty.
fn at_review() -> App {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    enter_review(&mut app);
    app
}

/// Review's way in: TCP 1500 checked and the disks read again. The disks are answered as
/// they were; the TCP 1500 check's request is returned.
fn disks_reread(app: &mut App, cmds: &[Cmd]) -> u64 {
    match cmds {
        [
            Cmd::CheckReplicationPort { req, .. },
            Cmd::ListDisks { req: disks },
            ..,
        ] => {
            let result = Ok(app.local_disks().to_vec());
            assert!(app.review_checking());
            update(
                app,
                Msg::Disks {
                    req: *disks,
                    result,
                },
            );
            *req
        }
        other => panic!("expected TCP 1500 and the disks again, got {other:?}"),
    }
}

/// Mapping's Enter: Review, with TCP 1500 to the recovery instance answered (connected).
fn enter_review(app: &mut App) {
    let cmds = press(app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Review);
    let req = disks_reread(app, &cmds);
    update(
        app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
}

fn port_open() -> drs_failback::domain::preflight::Check {
    use drs_failback::domain::preflight as rules;
    let at = Ok(("10.0.1.15".to_owned(), "private IP, as usePrivateIP says"));
    rules::replication_port(
        at,
        rules::REPLICATION_PORT,
        Some(Ok("in 23 ms".into())),
        false,
    )
}

#[test]
fn a_paste_edits_the_field_and_never_presses_enter() {
    let mut app = at_review();
    let cmds = update(&mut app, Msg::Paste("OVERWRITE\n".into()));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.step, StepId::Review);
    assert_eq!(app.review.confirm.value(), "OVERWRITE");
}

#[test]
fn a_mapping_pasted_on_the_mapping_step_waits_in_the_paste_box_on_one_line() {
    // (pasted, as the box holds it): pretty JSON, and DEVICE_MAPPING copied from a file or a
    // runbook, a line per volume.
    let pastes = [
        (
            "{\n  \"/dev/xvda\": \"/dev/sdc\",\n  \"/dev/xvdb\": \"EXCLUDE\"\n}\n",
            "{   \"/dev/xvda\": \"/dev/sdc\",   \"/dev/xvdb\": \"EXCLUDE\" }",
        ),
        (
            "/dev/xvda=/dev/sdc\n/dev/xvdb=EXCLUDE\n",
            "/dev/xvda=/dev/sdc,/dev/xvdb=EXCLUDE",
        ),
    ];
    for (pasted, boxed) in pastes {
        let mut app = at_instances();
        press(&mut app, KeyCode::Enter);
        assert!(update(&mut app, Msg::Paste(pasted.into())).is_empty());
        assert_eq!(app.step, StepId::Mapping);
        let paste = app.mapping.paste.as_ref().expect("the paste box opened");
        assert_eq!(paste.input.value(), boxed);
        press(&mut app, KeyCode::Enter);
        assert!(app.mapping.paste.is_none(), "{:?}", app.mapping.paste);
        let sdc = Choice::of(&app.local_disks()[1]);
        assert_eq!(app.mapping.choices, vec![sdc, Choice::Exclude]);
        assert_eq!(app.step, StepId::Mapping, "applying the paste is not Next");
    }
}

#[test]
fn pasted_exports_or_assume_role_json_fill_every_key_field() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    app.credentials.focus = Field::AccessKeyId;
    let exports = format!(
        "export AWS_ACCESS_KEY_ID=ASIADEMO000000000002\nexport AWS_SECRET_ACCESS_KEY=\"{SECRET}\"\nexport AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE\n"
    );
    assert!(update(&mut app, Msg::Paste(exports)).is_empty());
    let c = &app.credentials;
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(c.access_key_id.value(), "ASIADEMO000000000002");
    assert_eq!(c.secret.0.value(), SECRET);
    assert_eq!(c.session_token.0.value(), "FwoGZXIvYXdzEXAMPLE");
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.contains("access key id, secret and session token"),
        "{notice}"
    );
    assert!(!notice.contains(SECRET), "{notice}");

    app.credentials.focus = Field::Secret;
    let sts = format!(
        r#"{{"Credentials": {{"AccessKeyId": "{KEY_ID}", "SecretAccessKey": "{SECRET}", "SessionToken": "tok2", "Expiration": "2030-01-01T00:00:00Z"}}}}"#
    );
    update(&mut app, Msg::Paste(sts));
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
    assert_eq!(app.credentials.session_token.0.value(), "tok2");

    // Other text goes into the focused field, at the cursor, as one edit.
    app.credentials.focus = Field::AccessKeyId;
    app.credentials.access_key_id = Input::new("AKIA".into());
    update(&mut app, Msg::Paste("DEMO000000000001\n".into()));
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
}

#[test]
fn below_the_minimum_size_keys_do_nothing_but_the_visible_quit_question() {
    let mut app = at_review();
    update(&mut app, Msg::Resize { cols: 40, rows: 10 });
    assert!(app.too_small());
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    update(&mut app, Msg::Paste("OVERWRITE".into()));
    assert_eq!(app.step, StepId::Review);
    assert_eq!(app.review.confirm.value(), "");
    update(&mut app, key(KeyCode::F(1)));
    assert_eq!(app.modal, None, "no help drawn where it cannot be seen");
    assert!(matches!(
        &update(&mut app, ctrl('l'))[..],
        [Cmd::ClearScreen]
    ));
    update(&mut app, ctrl('c'));
    assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.modal, None);

    update(&mut app, Msg::Resize { cols: 80, rows: 24 });
    type_text(&mut app, "OVERWRITE");
    assert_eq!(app.review.confirm.value(), "OVERWRITE");
}

#[test]
fn ctrl_z_and_sigtstp_suspend_and_sigcont_repaints() {
    let mut app = app();
    assert!(matches!(&update(&mut app, ctrl('z'))[..], [Cmd::Suspend]));
    assert!(matches!(
        &update(&mut app, Msg::Suspend)[..],
        [Cmd::Suspend]
    ));
    assert!(matches!(
        &update(&mut app, Msg::Resumed)[..],
        [Cmd::ClearScreen]
    ));
    assert!(!app.quit);
}

#[test]
fn an_interruption_ends_the_run_and_says_why() {
    use drs_failback::app::Interrupt;
    let mut app = replicating();
    let cmds = update(&mut app, Msg::Interrupted(Interrupt::Signal(15)));
    assert!(app.quit);
    assert_eq!(app.interrupted, Some(Interrupt::Signal(15)));
    // A signal is not the operator seeing a result: the worker is not told to end.
    assert!(matches!(&cmds[..], [Cmd::Quit]), "{cmds:?}");
}

#[test]
fn an_invisible_character_in_the_confirmation_is_named() {
    let mut app = at_review();
    update(&mut app, Msg::Paste("OVERWRITE\u{200b}".into()));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let e = app.review.error.clone().unwrap();
    assert!(e.contains("U+200B (zero-width space)"), "{e}");
    assert!(e.contains("Type OVERWRITE"), "{e}");
}

#[test]
fn a_passed_endpoint_check_is_told_on_the_next_screen() {
    use drs_failback::wizard::endpoint::{Stage, StageStatus};
    let mut app = verified_with(Ok(verified()));
    let req = req_of(&press(&mut app, KeyCode::Enter));
    for (stage, status) in [
        (Stage::Dns, StageStatus::Ok("127.0.0.1".into())),
        (Stage::Tcp, StageStatus::Ok("connected".into())),
        (Stage::Tls, StageStatus::Skipped("plain HTTP".into())),
        (Stage::Api, StageStatus::Ok("answered".into())),
    ] {
        update(&mut app, Msg::EndpointStage { req, stage, status });
    }
    update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    );
    assert_eq!(app.step, StepId::Instance);
    assert_eq!(
        app.notice.as_deref(),
        Some("Endpoint checked: DNS ok, TCP ok, TLS skipped (plain HTTP), API ok")
    );
}

#[test]
fn enter_while_the_list_loads_says_to_wait_not_to_clear_a_filter() {
    let mut app = verified_with(Ok(verified()));
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    );
    assert_eq!(app.step, StepId::Instance);
    assert!(app.instance.list.is_loading());
    press(&mut app, KeyCode::Enter);
    let error = app.instance.error.as_deref().unwrap();
    assert!(error.contains("still being listed"), "{error}");
    assert!(!error.contains("filter"), "{error}");
}

#[test]
fn a_filter_that_hides_every_instance_says_esc_clears_it() {
    let mut app = at_instances();
    type_text(&mut app, "zzz");
    press(&mut app, KeyCode::Enter);
    let error = app.instance.error.as_deref().unwrap();
    assert!(
        error.contains("`zzz`") && error.contains("Esc clears"),
        "{error}"
    );
}

/// The instance list with a third row whose OS holds a "z" (Amazon Linux).
fn at_instances_with_a_runner() -> App {
    let (mut app, req) = listing();
    let mut runner = instance(RUNNER, "ci-runner-07", &[("/dev/xvda", 30)]);
    runner.os = Some("Amazon Linux 2023".into());
    let list = vec![
        instance(BIG, "db-01", &[("/dev/xvda", 500)]),
        instance(WEB, "web-01", &[("/dev/xvda", 30), ("/dev/xvdb", 80)]),
        runner,
    ];
    update(&mut app, page(req, list, false));
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    app
}

const RUNNER: &str = "i-0aaaaaaaaaaaaaaa7";

#[test]
fn esc_on_a_filter_puts_the_selection_back_where_it_was() {
    let mut app = at_instances_with_a_runner();
    type_text(&mut app, "zzz");
    assert_eq!(
        app.instance.selected.as_deref(),
        Some(RUNNER),
        "`z` matched Amazon"
    );
    press(&mut app, KeyCode::Enter);
    assert!(app.instance.error.as_deref().unwrap().contains("`zzz`"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.instance.filter.value(), "");
    assert_eq!(
        app.instance.error, None,
        "the advice about `zzz` went with it"
    );
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    assert_eq!(app.mapping.instance_id.as_deref(), Some(WEB));
}

#[test]
fn emptying_the_filter_puts_back_the_operators_own_pick_too() {
    let mut app = at_instances_with_a_runner();
    press(&mut app, KeyCode::Up);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
    type_text(&mut app, "z");
    assert_eq!(app.instance.selected.as_deref(), Some(RUNNER));
    type_text(&mut app, "q");
    press(&mut app, KeyCode::Enter);
    assert!(app.instance.error.is_some());
    press(&mut app, KeyCode::Backspace);
    assert_eq!(
        app.instance.error, None,
        "a filter change clears the refusal"
    );
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
}

#[test]
fn a_row_picked_among_the_filtered_ones_stays_picked_after_esc() {
    let mut app = at_instances_with_a_runner();
    type_text(&mut app, "01");
    assert_eq!(app.instance.selected.as_deref(), Some(WEB));
    press(&mut app, KeyCode::Up);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.instance.selected.as_deref(), Some(BIG));
}

#[test]
fn y_shows_the_mapping_for_copying_and_esc_returns_to_the_rows() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    let choices = app.mapping.choices.clone();
    press(&mut app, KeyCode::Char('y'));
    assert!(app.mapping.copy_view);
    let before = app.mapping.format;
    press(&mut app, KeyCode::Char('f'));
    assert_ne!(app.mapping.format, before, "f still cycles the format");
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(
        app.mapping.choices, choices,
        "row keys do nothing under the copy view"
    );
    press(&mut app, KeyCode::Esc);
    assert!(!app.mapping.copy_view);
    assert_eq!(
        app.step,
        StepId::Mapping,
        "Esc closes the view, not the step"
    );
}

#[test]
fn a_chosen_disk_follows_a_reread_list_and_a_vanished_one_blocks_next() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    let (sdb, sdc) = (disk("/dev/sdb", 40), disk("/dev/sdc", 100));
    // A rescan lists a hot-plugged disk first: positions move, the choices do not.
    update(
        &mut app,
        Msg::Disks {
            req: 0,
            result: Ok(vec![disk("/dev/sda", 500), sdb.clone(), sdc.clone()]),
        },
    );
    let statuses = app
        .mapping
        .statuses(&app.chosen_instance().unwrap().volumes, app.local_disks());
    assert_eq!(statuses, vec![RowStatus::Fits, RowStatus::Fits]);
    let volumes = app.chosen_instance().unwrap().volumes.clone();
    assert_eq!(
        app.mapping.printed(&volumes, app.local_disks()),
        "/dev/xvda=/dev/sdb,/dev/xvdb=/dev/sdc"
    );
    let rescan = match &press(&mut app, KeyCode::Enter)[..] {
        [Cmd::CheckReplicationPort { .. }, Cmd::ListDisks { req }] => *req,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.step, StepId::Review);
    type_text(&mut app, "OVERWRITE");
    // Review's re-read finds sdc unplugged: Next refuses and says why.
    update(
        &mut app,
        Msg::Disks {
            req: rescan,
            result: Ok(vec![disk("/dev/sda", 500), sdb]),
        },
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.step, StepId::Review);
    let error = app.review.error.clone().unwrap();
    assert!(error.contains("/dev/sdc is no longer listed"), "{error}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Mapping);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    assert!(
        app.mapping
            .error
            .as_deref()
            .unwrap()
            .contains("/dev/xvdb: /dev/sdc is no longer listed")
    );
}

#[test]
fn rescan_offers_a_new_disk_and_invalidates_rows_on_changed_or_gone_ones() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    let volumes = app.chosen_instance().unwrap().volumes.clone();
    assert_eq!(
        app.mapping.statuses(&volumes, app.local_disks()),
        vec![RowStatus::Fits, RowStatus::Fits]
    );
    let req = req_of(&press(&mut app, KeyCode::Char('r')));
    assert_eq!(app.notice.as_deref(), Some("Rescanning the disks..."));
    // An earlier listing answering late is not this rescan's answer.
    update(
        &mut app,
        Msg::Disks {
            req: 0,
            result: Ok(vec![]),
        },
    );
    assert_eq!(app.local_disks().len(), 2);
    // sdb was swapped for a bigger disk, sdc unplugged, sdd plugged in.
    update(
        &mut app,
        Msg::Disks {
            req,
            result: Ok(vec![disk("/dev/sdb", 60), disk("/dev/sdd", 200)]),
        },
    );
    assert_eq!(
        app.notice.as_deref(),
        Some("Disks rescanned: 2 listed; new: /dev/sdd; changed: /dev/sdb; gone: /dev/sdc.")
    );
    let statuses = app.mapping.statuses(&volumes, app.local_disks());
    assert_eq!(
        statuses[0].describe(),
        "/dev/sdb changed since it was chosen (its size went from 40 GiB to 60 GiB): \
         choose a disk again"
    );
    assert_eq!(
        statuses[1].describe(),
        "/dev/sdc is no longer listed (unplugged or renamed): choose a disk again"
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping, "Next refuses invalidated rows");
    // The new disk is offered: the picker's second option.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let sdd = app.local_disks()[1].clone();
    assert_eq!(app.mapping.choices[1], Choice::of(&sdd));
    assert_eq!(
        app.mapping.statuses(&volumes, app.local_disks())[1],
        RowStatus::Fits
    );
    // A rescan that fails keeps the list it would have replaced, and says so.
    let req = req_of(&press(&mut app, KeyCode::Char('r')));
    update(
        &mut app,
        Msg::Disks {
            req,
            result: Err("sysfs is gone".into()),
        },
    );
    assert_eq!(app.local_disks().len(), 2);
    assert_eq!(
        app.notice.as_deref(),
        Some(
            "The disks could not be re-read (sysfs is gone); the list shown is the earlier one: \
             r tries again."
        )
    );
}

#[test]
fn a_udev_event_rescans_and_speaks_only_of_a_change() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    let before = app.local_disks().to_vec();
    let req = req_of(&update(&mut app, Msg::DisksChanged));
    assert_eq!(app.notice, None, "an event rescan does not announce itself");
    update(
        &mut app,
        Msg::Disks {
            req,
            result: Ok(before.clone()),
        },
    );
    assert_eq!(app.notice, None, "nothing changed: nothing said");
    let req = req_of(&update(&mut app, Msg::DisksChanged));
    let mut after = before.clone();
    after.push(disk("/dev/sdd", 200));
    update(
        &mut app,
        Msg::Disks {
            req,
            result: Ok(after),
        },
    );
    assert_eq!(
        app.notice.as_deref(),
        Some("Disks rescanned: 3 listed; new: /dev/sdd.")
    );
    assert_eq!(app.local_disks().len(), 3);
}

/// Types `text` into the confirmation, presses Enter, and says whether replication started.
fn confirm_with(app: &mut App, text: &str) -> bool {
    while !app.review.confirm.value().is_empty() {
        press(app, KeyCode::Backspace);
    }
    type_text(app, text);
    press(app, KeyCode::Enter)
        .iter()
        .any(|c| matches!(c, Cmd::StartReplication { .. }))
}

#[test]
fn the_confirmation_is_the_exact_word() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    enter_review(&mut app);
    for near in ["overwrite", " OVERWRITE", "OVERWRITE ", "Overwrite"] {
        assert!(!confirm_with(&mut app, near), "{near:?} must not start");
        assert_eq!(app.step, StepId::Review);
        let error = app.review.error.clone().unwrap();
        assert!(error.contains("exactly, in capitals"), "{error}");
    }
    assert!(confirm_with(&mut app, "OVERWRITE"));
    assert_eq!(app.step, StepId::Replication);
}

#[test]
fn leaving_review_clears_the_confirmation() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "OVERWRITE");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Mapping);
    // Another plan: /dev/xvda onto sdc (the picker opens on sdb; Down is sdc), xvdb excluded.
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Review);
    assert_eq!(
        app.review.confirm.value(),
        "",
        "the word was for the old plan"
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.step, StepId::Review);
}

#[test]
fn a_plan_that_changes_under_a_typed_confirmation_is_refused() {
    let named = |device: &str, gib: u64, by_path: &str| LocalDisk {
        by_path: Some(by_path.into()),
        ..disk(device, gib)
    };
    let mut app = at_instances();
    update(
        &mut app,
        Msg::Disks {
            req: 0,
            result: Ok(vec![
                named("/dev/sdb", 40, "pci-1"),
                named("/dev/sdc", 100, "pci-2"),
            ]),
        },
    );
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('v')); // by-path names
    enter_review(&mut app);
    type_text(&mut app, "OVERWRITE");
    // The disks are re-read: the same disks, but sdc now has another by-path name.
    let req = req_of(&update(&mut app, Msg::DisksChanged));
    update(
        &mut app,
        Msg::Disks {
            req,
            result: Ok(vec![
                named("/dev/sdb", 40, "pci-1"),
                named("/dev/sdc", 100, "pci-7"),
            ]),
        },
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.step, StepId::Review);
    assert!(
        app.review
            .error
            .as_deref()
            .unwrap()
            .contains("changed after OVERWRITE")
    );
    assert_eq!(app.review.confirm.value(), "");
    type_text(&mut app, "OVERWRITE");
    match &press(&mut app, KeyCode::Enter)[..] {
        [Cmd::StartReplication { plan, .. }] => {
            assert_eq!(plan.device_mapping, "/dev/xvda=pci-1,/dev/xvdb=pci-7")
        }
        other => panic!("expected replication to start, got {other:?}"),
    }
}

#[test]
fn a_queued_completion_poll_after_a_replicator_failure_keeps_the_failure() {
    let mut app = replicating();
    replicator_says(
        &mut app,
        ReplicatorEvent::Exited(Err("cannot reach TCP 1500".into())),
    );
    assert!(matches!(app.outcome, Some(Outcome::Failed(_))));
    // The sampler's poll was already queued when the failure arrived.
    polled(
        &mut app,
        9.0,
        "STOPPED",
        "FAILBACK_COMPLETED",
        Bytes::gib(30).get(),
    );
    assert!(
        matches!(app.outcome, Some(Outcome::Failed(_))),
        "{:?}",
        app.outcome
    );
    assert_eq!(app.step, StepId::Result);
}

#[test]
fn after_retry_the_earlier_runs_answers_are_dropped() {
    let mut app = replicating();
    let old = run_of(&app);
    replicator_says(&mut app, ReplicatorEvent::Exited(Err("stopped".into())));
    // Retry tells the worker the failure was seen.
    let cmds = press(&mut app, KeyCode::Char('r'));
    // ... and Review checks TCP 1500 and the disks again.
    let req = match &cmds[..] {
        [Cmd::Acknowledge { run }, rest @ ..] if *run == old => disks_reread(&mut app, rest),
        other => panic!("{other:?}"),
    };
    update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    type_text(&mut app, "OVERWRITE");
    confirm_and_attach(&mut app);
    let new = run_of(&app);
    assert_ne!(old, new);

    let mut done = instance(WEB, "web-01", &[("/dev/xvda", 30), ("/dev/xvdb", 80)]);
    done.failback.state = "FAILBACK_COMPLETED".into();
    let late = [
        Msg::Replicator {
            run: old,
            event: ReplicatorEvent::Log("old run's line".into()),
        },
        Msg::Replicator {
            run: old,
            event: ReplicatorEvent::Exited(Err("old run's failure".into())),
        },
        Msg::Polled {
            run: old,
            now: 5.0,
            result: Ok(done),
        },
        Msg::Writes {
            run: old,
            now: 5.0,
            total: 1 << 30,
        },
        Msg::LaunchStarted {
            run: old,
            result: Ok(Job::default()),
        },
    ];
    for msg in late {
        assert!(update(&mut app, msg).is_empty());
    }
    assert_eq!(app.step, StepId::Replication);
    assert!(app.outcome.is_none());
    let d = app.dashboard.as_ref().unwrap();
    assert!(d.log.is_empty(), "{:?}", d.log);
    assert!(d.instance.is_none());
    assert_eq!(d.written_base, None);
    assert_eq!(d.launch, Launch::NotReady);

    replicator_says(&mut app, ReplicatorEvent::Log("new run's line".into()));
    assert_eq!(app.dashboard.as_ref().unwrap().log, ["new run's line"]);
}

#[test]
fn excluding_the_boot_volume_is_warned_and_the_result_does_not_say_reboot() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('x')); // /dev/xvda, the boot volume
    enter_review(&mut app);
    let warning = review::boot_warning(app.chosen_instance().unwrap(), &app.mapping.choices);
    assert!(
        warning
            .as_deref()
            .is_some_and(|w| w.contains("boot volume /dev/xvda is excluded")),
        "{warning:?}"
    );
    type_text(&mut app, "OVERWRITE");
    confirm_and_attach(&mut app);
    paired(&mut app);
    polled(
        &mut app,
        9.0,
        "STOPPED",
        "FAILBACK_COMPLETED",
        Bytes::gib(30).get(),
    );
    let Some(Outcome::Completed(summary)) = &app.outcome else {
        panic!("expected completion, got {:?}", app.outcome);
    };
    let next = summary.next_steps();
    assert!(!next[0].contains("reboot"), "{next:?}");
    assert!(next[0].contains("/dev/sdc"), "{next:?}");
}

#[test]
fn the_demo_refuses_an_endpoint_other_than_its_emulator() {
    let mut app = verified_with(Ok(verified()));
    assert_eq!(app.step, StepId::Endpoint);
    app.endpoint.focus = drs_failback::wizard::endpoint::Field::Url;
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "1"); // http://127.0.0.1:4001, a separate emulator
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.step, StepId::Endpoint);
    let error = app.endpoint.error.clone().unwrap();
    assert!(error.contains(&format!("back to {EMULATOR}")), "{error}");
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "0");
    assert!(matches!(
        &press(&mut app, KeyCode::Enter)[..],
        [Cmd::CheckEndpoint { target, .. }] if target.endpoint.as_deref() == Some(EMULATOR)
    ));
}

fn to_secret(app: &mut App) {
    assert_eq!(app.step, StepId::Credentials);
    while app.credentials.focus != Field::Secret {
        press(app, KeyCode::Tab);
    }
}

#[test]
fn a_revealed_secret_is_masked_again_when_it_loses_focus_or_the_step_is_left() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    to_secret(&mut app);
    update(&mut app, ctrl('r'));
    assert!(app.credentials.revealed(Field::Secret));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::BackTab);
    assert!(!app.credentials.revealed(Field::Secret), "focus left it");

    update(&mut app, ctrl('r'));
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    assert_eq!(app.step, StepId::Endpoint);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.focus, Field::Secret);
    assert!(
        !app.credentials.revealed(Field::Secret),
        "the step was left"
    );
}

#[test]
fn the_next_demo_key_is_masked() {
    let demo_key = |id: &str| EmulatorCredential {
        label: id.to_lowercase(),
        description: String::new(),
        credentials: StaticCredentials {
            access_key_id: id.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
        },
    };
    let mut app = App::new(Mode::Demo {
        disk_dir: "/tmp/x".into(),
        keys: vec![
            demo_key("AKIADEMOEXAMPLE00001"),
            demo_key("AKIADEMOEXAMPLE00002"),
        ],
        endpoint: EMULATOR.into(),
    });
    app.step = StepId::Preflight;
    app.preflight.report = Loadable::Loaded(passing_preflight());
    press(&mut app, KeyCode::Enter);
    to_secret(&mut app);
    update(&mut app, ctrl('r'));
    assert!(app.credentials.revealed(Field::Secret));
    update(&mut app, key(KeyCode::F(2)));
    assert!(!app.credentials.revealed(Field::Secret));
}

#[test]
fn esc_keeps_the_pasted_text_until_it_is_applied() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('p'));
    type_text(&mut app, "/dev/xvda=/dev/sdc,/dev/xvdb=EXC");
    press(&mut app, KeyCode::Esc);
    assert!(app.mapping.paste.is_none());
    press(&mut app, KeyCode::Char('p'));
    let paste = app.mapping.paste.as_ref().expect("the box reopens");
    assert_eq!(paste.input.value(), "/dev/xvda=/dev/sdc,/dev/xvdb=EXC");
    type_text(&mut app, "LUDE");
    press(&mut app, KeyCode::Enter);
    assert!(app.mapping.paste.is_none(), "applied");
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(
        app.mapping.paste.as_ref().unwrap().input.value(),
        "",
        "an applied mapping starts the next paste afresh"
    );
}

#[test]
fn end_states_an_earlier_failback_client_left_are_not_this_runs() {
    let mut app = replicating();
    let left_over = |state: &str| {
        let mut i = instance(WEB, "web-01", &[("/dev/xvda", 30), ("/dev/xvdb", 80)]);
        i.failback.state = state.into();
        i.failback.client_id = Some("fc-earlier".into());
        i
    };
    let run = run_of(&app);
    for state in ["FAILBACK_READY_FOR_LAUNCH", "FAILBACK_COMPLETED"] {
        update(
            &mut app,
            Msg::Polled {
                run,
                now: 1.0,
                result: Ok(left_over(state)),
            },
        );
        assert_eq!(app.step, StepId::Replication, "{state}");
        assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::NotReady);
    }
    // This run's own client reaches the same states: now they count.
    polled(
        &mut app,
        2.0,
        "CONTINUOUS",
        "FAILBACK_READY_FOR_LAUNCH",
        Bytes::gib(30).get(),
    );
    assert_eq!(app.dashboard.as_ref().unwrap().launch, Launch::Ready);
}

#[test]
fn a_paste_reopens_the_paste_box_with_the_text_esc_left() {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('p'));
    type_text(&mut app, "/dev/xvda=/dev/sdc,");
    press(&mut app, KeyCode::Esc);
    assert!(app.mapping.paste.is_none());
    update(&mut app, Msg::Paste("/dev/xvdb=EXCLUDE".into()));
    let paste = app.mapping.paste.as_ref().expect("the paste box opened");
    assert_eq!(paste.input.value(), "/dev/xvda=/dev/sdc,/dev/xvdb=EXCLUDE");
}

/// The screen at 80x24, as text.
fn screen(app: &App) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    let theme = drs_failback::ui::Theme::detect(|_| None);
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| drs_failback::ui::view(app, &theme, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

/// The app above, filled in from these variables as `main` does.
fn prefilled(vars: &'static [(&'static str, &'static str)]) -> App {
    use clap::Parser;
    let env = move |n: &str| {
        vars.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    };
    let cli = drs_failback::cli::Cli::parse_from(["drs-failback"]).with_env(env);
    let mut app = app();
    app.mode = Mode::Real;
    app.credentials = Default::default();
    cli.prefill(env).apply(&mut app);
    app
}

const OTHER: &str = "i-0aaaa000000000001";

#[test]
fn the_livecds_variables_reach_every_screen_and_back_never_loses_them() {
    let mut app = prefilled(&[
        ("AWS_REGION", "us-west-2"),
        ("AWS_ACCESS_KEY", KEY_ID),
        ("AWS_SECRET_KEY", SECRET),
        ("AWS_DRS_ENDPOINT", ""),
        ("RECOVERY_INSTANCE_ID", OTHER),
        ("DEVICE_MAPPING", "/dev/xvda=/dev/sdc"),
    ]);
    press(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(
        shown.contains("us-west-2") && shown.contains(KEY_ID),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "the secret is masked:\n{shown}");
    // AWS_DRS_ENDPOINT set but empty: the regional default, for every call.
    let cmds = press(&mut app, KeyCode::Enter);
    let Some(Cmd::VerifyCredentials { req, target }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (target.region.as_str(), &target.endpoint),
        ("us-west-2", &None)
    );
    let req = *req;
    update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    assert_eq!(app.step, StepId::Endpoint);
    assert!(
        screen(&app).contains("drs.us-west-2.amazonaws.com"),
        "{}",
        screen(&app)
    );

    // Back to Credentials and forward again: nothing lost.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
    assert_eq!(app.credentials.region, "us-west-2");
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    let req = req_of(&press(&mut app, KeyCode::Enter));
    let req = req_of(&update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    ));

    // The given instance is taken over this machine's own match (web-01).
    let mut list = others(1, 3);
    list.push(instance(WEB, "web-01", &[("/dev/xvda", 30)]));
    update(&mut app, page(req, list, false));
    assert_eq!(app.instance.best.as_deref(), Some(WEB));
    assert_eq!(app.instance.selected.as_deref(), Some(OTHER));
    assert_eq!(app.instance.error, None);
    press(&mut app, KeyCode::Enter);
    // The given mapping, applied.
    assert_eq!(app.step, StepId::Mapping);
    assert!(app.mapping.paste.is_none());
    assert_eq!(app.mapping.choices.len(), 1);
    assert!(matches!(&app.mapping.choices[0], Choice::Disk(_)));
    assert!(screen(&app).contains("/dev/sdc"), "{}", screen(&app));
}

#[test]
fn invalid_given_values_are_shown_with_their_errors_not_dropped() {
    let mut app = prefilled(&[
        ("AWS_REGION", "mars-1"),
        ("AWS_DRS_ENDPOINT", "ftp://vpce.example"),
        ("RECOVERY_INSTANCE_ID", "i-0123456789abcdef9"),
        ("DEVICE_MAPPING", "/dev/xvda=/dev/sdz"),
    ]);
    press(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(shown.contains("Unknown region `mars-1`"), "{shown}");
    assert_eq!(app.endpoint.custom.value(), "ftp://vpce.example");
    assert!(
        app.endpoint
            .error
            .as_deref()
            .is_some_and(|e| e.contains("ftp://"))
    );
    app.credentials.region = "us-east-1".into();
    app.credentials.access_key_id = Input::new(KEY_ID.into());
    app.credentials.secret.0 = Input::new(SECRET.into());
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    let shown = screen(&app);
    assert!(shown.contains("ftp://vpce.example"), "{shown}");
    // The operator fixes the endpoint; the list comes without the given instance.
    app.endpoint = EndpointForm::with_custom(EMULATOR);
    let req = req_of(&press(&mut app, KeyCode::Enter));
    let req = req_of(&update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    ));
    update(&mut app, page(req, others(1, 2), true));
    assert_eq!(app.instance.error, None, "the id may be on a later page");
    update(
        &mut app,
        page(
            req,
            vec![instance(WEB, "web-01", &[("/dev/xvda", 30)])],
            false,
        ),
    );
    let error = app.instance.error.clone().unwrap_or_default();
    assert!(
        error.contains("i-0123456789abcdef9") && error.contains("RECOVERY_INSTANCE_ID"),
        "{error}"
    );
    assert!(
        screen(&app).contains("i-0123456789abcdef9"),
        "{}",
        screen(&app)
    );
    // The given mapping does not fit: it waits in the paste box with its error.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Mapping);
    let paste = app.mapping.paste.as_ref().expect("the paste box");
    assert_eq!(paste.input.value(), "/dev/xvda=/dev/sdz");
    let e = paste.error.clone().unwrap_or_default();
    assert!(
        e.contains("DEVICE_MAPPING") && e.contains("/dev/sdz"),
        "{e}"
    );
}

/// What a headless run printed, shared with the test.
#[derive(Clone, Default)]
struct Printed(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Printed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Printed {
    fn events(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn headless_once_ready_waits_unless_told_to_launch_and_tells_the_workers_notices_once() {
    use drs_failback::app::runtime::Frontend;
    use drs_failback::cli::Output;
    use drs_failback::headless::Headless;
    for launch_when_ready in [false, true] {
        let printed = Printed::default();
        let mut headless =
            Headless::new(Output::Json, launch_when_ready).printing_to(Box::new(printed.clone()));
        let mut app = replicating();
        let run = run_of(&app);
        let notice = "The session token expired: replication goes on.".to_owned();
        update(
            &mut app,
            Msg::WorkerNotice {
                run,
                message: notice.clone(),
            },
        );
        for _ in 0..3 {
            headless.draw(&app).unwrap();
        }
        polled(
            &mut app,
            2.0,
            "CONTINUOUS",
            "FAILBACK_READY_FOR_LAUNCH",
            Bytes::gib(30).get(),
        );
        let keys = headless.keys_for(&app);
        headless.draw(&app).unwrap();
        let events = printed.events();
        let notices: Vec<_> = events.iter().filter(|e| e["event"] == "notice").collect();
        assert_eq!(notices.len(), 1, "{events:?}");
        assert_eq!(notices[0]["message"], notice.as_str());
        let ready = events
            .iter()
            .find(|e| e["event"] == "ready_for_launch")
            .expect("ready_for_launch");
        if launch_when_ready {
            assert_eq!(ready["launch"], "starting");
            assert_eq!(
                keys,
                vec![KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE)]
            );
        } else {
            assert_eq!(ready["launch"], "waiting");
            assert!(keys.is_empty(), "it waits: {keys:?}");
            assert!(
                ready["message"]
                    .as_str()
                    .unwrap()
                    .contains("--launch-when-ready")
            );
        }
    }
}

fn configured(app: &mut App, mbps: u64) {
    let run = run_of(app);
    update(
        app,
        Msg::Configuration {
            run,
            result: Ok(FailbackReplicationConfiguration {
                bandwidth_mbps: mbps,
                use_private_ip: false,
            }),
        },
    );
}

#[test]
fn the_throttle_is_validated_keeps_what_was_typed_and_every_terminal_sees_the_change() {
    let mut app = replicating();
    // Not offered until the configuration is read: these credentials may not change it.
    press(&mut app, KeyCode::Char('b'));
    assert!(app.dashboard.as_ref().unwrap().throttle.is_none());
    configured(&mut app, 0);
    press(&mut app, KeyCode::Char('b'));
    let throttle = |app: &App| app.dashboard.as_ref().unwrap().throttle.clone();
    assert_eq!(throttle(&app).unwrap().input.value(), "0");
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "fast");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let t = throttle(&app).expect("the editor stays open");
    assert!(t.error.unwrap().contains("digits only"));
    assert_eq!(t.input.value(), "fast");
    for _ in 0..4 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "250");
    let run = run_of(&app);
    assert!(matches!(
        &press(&mut app, KeyCode::Enter)[..],
        [Cmd::SetBandwidth { run: r, mbps: 250 }] if *r == run
    ));
    // The worker refuses (a policy without UpdateFailbackReplicationConfiguration): the
    // editor says why and keeps the number.
    update(
        &mut app,
        Msg::WorkerNotice {
            run,
            message: "The throttle was not changed: not allowed".into(),
        },
    );
    let t = throttle(&app).unwrap();
    assert_eq!(
        t.error.as_deref(),
        Some("The throttle was not changed: not allowed")
    );
    assert_eq!((t.input.value(), t.sending), ("250", None));
    press(&mut app, KeyCode::Enter);
    // Accepted: the editor closes and the figure is the new one; another terminal, with
    // no editor open, hears the same event.
    let mut other = app.clone();
    other.dashboard.as_mut().unwrap().throttle = None;
    for app in [&mut app, &mut other] {
        update(app, Msg::Bandwidth { run, mbps: 250 });
        let d = app.dashboard.as_ref().unwrap();
        assert!(d.throttle.is_none());
        assert!(matches!(&d.configuration, Some(Ok(c)) if c.bandwidth_mbps == 250));
        assert_eq!(
            app.notice.as_deref(),
            Some("Bandwidth throttled to 250 Mbps.")
        );
    }
}

#[test]
fn a_configuration_changed_in_the_console_replaces_the_shown_one_and_says_so() {
    let mut app = replicating();
    configured(&mut app, 0);
    assert_eq!(app.notice, None, "the first read is no change");
    configured(&mut app, 40);
    let said = "Changed in DRS (the console or another client): replication is now \
                throttled to 40 Mbps, over the recovery instance's public IP.";
    assert_eq!(app.notice.as_deref(), Some(said));
    let d = app.dashboard.as_ref().unwrap();
    assert_eq!(d.log.back().map(String::as_str), Some(said));
    assert!(matches!(&d.configuration, Some(Ok(c)) if c.bandwidth_mbps == 40));
}

#[test]
fn expired_credentials_are_asked_for_on_the_dashboard_and_the_prompt_closes_once_accepted() {
    let mut app = replicating();
    let run = run_of(&app);
    let detail = DrsError::new(DrsErrorKind::ExpiredToken, "ExpiredTokenException").advice();
    update(
        &mut app,
        Msg::CredentialsExpired {
            run,
            detail: detail.clone(),
        },
    );
    let prompt = |app: &App| app.dashboard.as_ref().unwrap().fresh_credentials.clone();
    assert_eq!(prompt(&app).unwrap().detail, detail);
    assert!(app.typing(), "the prompt's fields take the keys");
    // A half-typed key is refused where it is, nothing sent.
    type_text(&mut app, "ASIA");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        prompt(&app)
            .unwrap()
            .form
            .visible_error(Field::AccessKeyId)
            .is_some()
    );
    // Esc puts it aside as typed; k brings it back.
    press(&mut app, KeyCode::Esc);
    assert!(app.dashboard.as_ref().unwrap().prompt().is_none());
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(
        prompt(&app).unwrap().form.access_key_id.value(),
        "ASIA",
        "nothing typed is lost"
    );
    // A paste of export lines fills all three fields.
    update(
        &mut app,
        Msg::Paste(format!(
            "export AWS_ACCESS_KEY_ID=ASIAFRESH00000000004\nexport \
             AWS_SECRET_ACCESS_KEY={SECRET}\nexport AWS_SESSION_TOKEN=FreshToken0004\n"
        )),
    );
    let cmds = press(&mut app, KeyCode::Enter);
    let [
        Cmd::SendCredentials {
            run: r,
            credentials,
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(*r, run);
    assert_eq!(credentials.access_key_id, "ASIAFRESH00000000004");
    assert_eq!(credentials.secret_access_key, SECRET);
    assert_eq!(credentials.session_token.as_deref(), Some("FreshToken0004"));
    // The runtime logs every command, and the prompt is part of the App: Debug shows neither.
    let shown = format!("{cmds:?} {:?}", prompt(&app));
    assert!(
        !shown.contains(SECRET) && !shown.contains("FreshToken0004"),
        "{shown}"
    );
    // The worker refuses them: the prompt says why, keeps them.
    update(
        &mut app,
        Msg::WorkerNotice {
            run,
            message: "These credentials were not accepted: the secret does not match".into(),
        },
    );
    let p = prompt(&app).unwrap();
    assert!(!p.sending && p.error.unwrap().contains("not accepted"));
    assert_eq!(p.form.access_key_id.value(), "ASIAFRESH00000000004");
    // Another terminal asked the same; fresh credentials from any terminal close both.
    let mut other = app.clone();
    for app in [&mut app, &mut other] {
        update(app, Msg::CredentialsAccepted { run });
        assert!(prompt(app).is_none());
        assert!(!app.typing());
        assert_eq!(app.step, StepId::Replication);
    }
}

#[test]
fn the_unattended_autopilot_types_nothing_into_the_credentials_prompt() {
    use drs_failback::app::runtime::Frontend;
    let mut app = replicating();
    polled(
        &mut app,
        5.0,
        "CONTINUOUS",
        "FAILBACK_READY_FOR_LAUNCH",
        Bytes::gib(30).get(),
    );
    let run = run_of(&app);
    let detail = DrsError::new(DrsErrorKind::ExpiredToken, "ExpiredTokenException").advice();
    update(&mut app, Msg::CredentialsExpired { run, detail });
    // --launch-when-ready: it would launch now, but for the prompt.
    let mut autopilot =
        drs_failback::headless::Headless::new(drs_failback::cli::Output::Text, true);
    // Ready to launch, but its l would be typed into the access key id.
    assert_eq!(autopilot.keys_for(&app), vec![]);
    update(&mut app, Msg::CredentialsAccepted { run });
    assert_eq!(
        autopilot.keys_for(&app),
        vec![KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE)]
    );
}

fn preflight_with(report: drs_failback::preflight::Report) -> App {
    let mut app = app();
    let cmds = press(&mut app, KeyCode::Char('r'));
    let Some(Cmd::RunPreflight { req, .. }) = cmds.first() else {
        panic!("r re-runs the checks: {cmds:?}");
    };
    let req = *req;
    update(&mut app, Msg::Preflight { req, report });
    app
}

#[test]
fn too_little_ram_is_refused_until_overridden_with_its_risk_confirmed() {
    let mut small = host();
    small.ram = Bytes(3_700_000 * 1024);
    let mut app = preflight_with(drs_failback::preflight::Report {
        checks: drs_failback::preflight::machine(&small),
        clock_skew_seconds: Some(0),
        offer_clock_set: false,
    });
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Preflight);
    assert_eq!(
        app.preflight.error.as_deref(),
        Some(
            "RAM failed: The failback client requires at least 4GiB of RAM: give this machine \
             more memory, or override on the Pre-flight screen if you accept the risk. Then \
             press r to check again."
        )
    );
    // o asks first; n keeps the refusal.
    press(&mut app, KeyCode::Char('o'));
    assert!(app.preflight.confirm.is_some());
    press(&mut app, KeyCode::Char('n'));
    assert!(!app.preflight.ram_overridden);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Preflight);
    press(&mut app, KeyCode::Char('o'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.preflight.ram_overridden);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Credentials);
}

#[test]
fn a_late_preflight_answer_is_dropped() {
    let mut app = app();
    let old = match press(&mut app, KeyCode::Char('r')).first() {
        Some(Cmd::RunPreflight { req, .. }) => *req,
        other => panic!("{other:?}"),
    };
    // r is not offered while the checks run: no second run starts.
    assert!(press(&mut app, KeyCode::Char('r')).is_empty());
    let mut failing = passing_preflight();
    failing.checks[2] = drs_failback::domain::preflight::secure_boot(BootMode::Uefi, Some(true));
    update(
        &mut app,
        Msg::Preflight {
            req: old + 1,
            report: failing,
        },
    );
    assert!(
        app.preflight.report.is_loading(),
        "an answer for another run is dropped"
    );
    update(
        &mut app,
        Msg::Preflight {
            req: old,
            report: passing_preflight(),
        },
    );
    assert!(app.preflight.report.loaded().is_some());
}

#[test]
fn the_clock_is_set_from_the_endpoint_only_when_confirmed_then_checked_again() {
    use drs_failback::domain::preflight::{clock, ntp};
    let mut report = passing_preflight();
    report.checks.push(clock("127.0.0.1:4000", Ok(360)));
    report.checks.push(ntp(Err("pool.ntp.org".into())));
    report.clock_skew_seconds = Some(360);
    report.offer_clock_set = true;
    let mut app = preflight_with(report);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Preflight, "a clock 6 minutes off blocks");
    assert!(
        press(&mut app, KeyCode::Char('c')).is_empty(),
        "c only asks"
    );
    let cmds = press(&mut app, KeyCode::Char('y'));
    let req = match &cmds[..] {
        [
            Cmd::SetClock {
                req,
                skew_seconds: 360,
            },
        ] => *req,
        other => panic!("expected the clock to be set, got {other:?}"),
    };
    let cmds = update(
        &mut app,
        Msg::ClockSet {
            req,
            result: Ok(()),
        },
    );
    assert!(
        matches!(cmds.first(), Some(Cmd::RunPreflight { .. })),
        "the checks run again once the clock is set: {cmds:?}"
    );
    // A refusal (not root) is shown as it came.
    let mut app = preflight_with({
        let mut r = passing_preflight();
        r.clock_skew_seconds = Some(360);
        r.offer_clock_set = true;
        r
    });
    press(&mut app, KeyCode::Char('c'));
    let req = match press(&mut app, KeyCode::Char('y')).first() {
        Some(Cmd::SetClock { req, .. }) => *req,
        other => panic!("{other:?}"),
    };
    // Enter while the clock is being set waits for it.
    press(&mut app, KeyCode::Enter);
    assert!(app.preflight.waiting);
    update(
        &mut app,
        Msg::ClockSet {
            req,
            result: Err("the clock could not be set (Operation not permitted (os error 1)): run as root, or set it with `date -s`".into()),
        },
    );
    assert!(matches!(&app.preflight.clock_set, Loadable::Failed(e) if e.contains("run as root")));
    // The other checks had passed: the waiting Next goes on.
    assert_eq!(app.step, StepId::Credentials);
}

#[test]
fn a_new_report_selects_its_first_failure_and_up_down_move_the_selection() {
    let mut report = passing_preflight();
    report.checks[2] = drs_failback::domain::preflight::secure_boot(BootMode::Uefi, Some(true));
    let last = report.checks.len() - 1;
    let mut app = preflight_with(report);
    assert_eq!(app.preflight.selected, 2, "the failed Secure Boot row");
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.preflight.selected, 0, "stops at the first row");
    for _ in 0..=last + 1 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.preflight.selected, last, "stops at the last row");
}

// The Network screen.

fn nic(name: &str, carrier: bool) -> drs_failback::netconfig::interfaces::Interface {
    drs_failback::netconfig::interfaces::Interface {
        name: name.into(),
        mac: "52:54:00:12:34:56".into(),
        driver: Some("virtio_net".into()),
        state: "UP".into(),
        carrier,
        speed_mbps: Some(1000),
        addresses: vec![],
    }
}

/// Opens the Network screen with `key` and answers its interface listing.
fn open_network(app: &mut App, key: Msg) {
    let cmds = update(app, key);
    assert!(app.network_open, "the key opens the Network screen");
    let Some(Cmd::ListInterfaces { req }) = cmds.first() else {
        panic!("opening reads the interfaces: {cmds:?}");
    };
    let req = *req;
    update(
        app,
        Msg::Interfaces {
            req,
            result: Ok(vec![nic("eth0", true), nic("eth1", false)]),
        },
    );
}

#[test]
fn network_opens_from_preflight_and_esc_returns_there_with_everything_kept() {
    let mut app = app();
    let report = app.preflight.report.clone();
    open_network(&mut app, key(KeyCode::Char('n')));
    assert_eq!(
        app.step,
        StepId::Preflight,
        "the step stays under the screen"
    );
    // eth0: static, an address typed.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Left);
    assert_eq!(
        app.network.current().unwrap().mode,
        drs_failback::wizard::network::Mode::Static
    );
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "192.168.1.20");
    // `n` and `?` are text here, not keys.
    type_text(&mut app, "n?");
    assert!(app.network_open && app.modal.is_none());
    assert_eq!(
        app.network.current().unwrap().address.value(),
        "192.168.1.20n?"
    );
    let cmds = press(&mut app, KeyCode::Esc);
    assert!(cmds.is_empty(), "nothing changed: no re-run of the checks");
    assert!(!app.network_open);
    assert_eq!(app.step, StepId::Preflight);
    assert_eq!(app.preflight.report, report);
    // Back again: the form is as it was left.
    open_network(&mut app, key(KeyCode::Char('n')));
    assert_eq!(
        app.network.current().unwrap().address.value(),
        "192.168.1.20n?"
    );
}

#[test]
fn network_is_offered_where_a_connection_failed_and_only_there() {
    // Credentials: not before the check fails.
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Credentials);
    assert!(update(&mut app, ctrl('n')).is_empty());
    assert!(!app.network_open);
    let mut app = verified_with(Err(DrsError::new(DrsErrorKind::Unreachable, "dns error")));
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
    // A wrong secret is not a network problem.
    let mut app = verified_with(Err(DrsError::new(DrsErrorKind::WrongSecret, "bad")));
    update(&mut app, ctrl('n'));
    assert!(!app.network_open);

    // Endpoint: after its check failed; the URL typed is kept.
    let mut app = verified_with(Ok(verified()));
    assert_eq!(app.step, StepId::Endpoint);
    update(&mut app, ctrl('n'));
    assert!(!app.network_open);
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Err(DrsError::new(DrsErrorKind::Unreachable, "refused")),
        },
    );
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Endpoint);
    assert_eq!(app.endpoint.custom.value(), EMULATOR);

    // Instance: after the listing failed to connect.
    let (mut app, req) = listing();
    update(
        &mut app,
        Msg::Instances {
            req,
            result: Err(DrsError::new(DrsErrorKind::Tls, "handshake")),
            more: false,
        },
    );
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Instance);
}

#[test]
fn network_apply_then_revert_and_preflight_measures_again() {
    use drs_failback::domain::network::Addressing;
    use drs_failback::netconfig::{Applied, Line, Snapshot};
    let mut app = app();
    open_network(&mut app, key(KeyCode::Char('n')));
    // Enter with nothing chosen says so, on eth0's mode.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.network
            .error
            .as_ref()
            .unwrap()
            .1
            .starts_with("Nothing to apply")
    );
    // eth0: DHCP (IPv4 only).
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    let cmds = press(&mut app, KeyCode::Enter);
    let Some(Cmd::ApplyNetwork { req, plan }) = cmds.first() else {
        panic!("Enter applies: {cmds:?}");
    };
    let req = *req;
    assert_eq!(plan.interfaces.len(), 1);
    assert_eq!(plan.interfaces[0].interface, "eth0");
    assert_eq!(
        plan.interfaces[0].addressing,
        Addressing::Dhcp {
            v4: true,
            v6: false
        }
    );
    // While it runs, Enter applies nothing more.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let snapshot = Snapshot {
        units: vec![(
            "/run/systemd/network/10-drs-failback-eth0.network".into(),
            None,
        )],
        ..Snapshot::default()
    };
    let lines = vec![Line {
        what: "eth0".into(),
        ok: true,
        text: "10.0.2.15/24 (lease) (DHCP)".into(),
    }];
    // An older request's answer is dropped.
    update(
        &mut app,
        Msg::NetworkApplied {
            req: req - 1,
            applied: Applied {
                snapshot: Snapshot::default(),
                lines: vec![],
            },
        },
    );
    assert!(app.network.work.is_some());
    let cmds = update(
        &mut app,
        Msg::NetworkApplied {
            req,
            applied: Applied {
                snapshot: snapshot.clone(),
                lines: lines.clone(),
            },
        },
    );
    assert!(
        matches!(cmds.first(), Some(Cmd::ListInterfaces { .. })),
        "{cmds:?}"
    );
    assert_eq!(app.network.report.as_ref().unwrap().1, lines);
    // Ctrl-R reverts to what the apply replaced.
    let cmds = update(&mut app, ctrl('r'));
    let Some(Cmd::RevertNetwork {
        req,
        snapshot: sent,
    }) = cmds.first()
    else {
        panic!("Ctrl-R reverts: {cmds:?}");
    };
    assert_eq!(*sent, snapshot);
    let req = *req;
    update(&mut app, Msg::NetworkReverted { req, lines: vec![] });
    assert!(app.network.snapshot.is_none(), "nothing left to revert");
    assert!(update(&mut app, ctrl('r')).is_empty());
    // Back on Pre-flight, the checks run again on the changed network.
    let cmds = press(&mut app, KeyCode::Esc);
    assert!(
        matches!(cmds.first(), Some(Cmd::RunPreflight { .. })),
        "{cmds:?}"
    );
    assert!(!app.network_open);
}

#[test]
fn the_dashboards_failing_polls_offer_the_network_screen_and_esc_returns_with_nothing_lost() {
    use drs_failback::app::keys;
    let mut app = replicating();
    polled(
        &mut app,
        1.0,
        "INITIAL_SYNC",
        "FAILBACK_IN_PROGRESS",
        1 << 20,
    );
    let run = run_of(&app);
    let poll_failed = |app: &mut App, kind| {
        update(
            app,
            Msg::Polled {
                run,
                now: 2.0,
                result: Err(DrsError::new(kind, "refused")),
            },
        )
    };
    // A refusal is not the network's.
    poll_failed(&mut app, DrsErrorKind::AccessDenied { action: None });
    assert!(!keys::hints(&app).iter().any(|(k, _)| *k == "Ctrl-N"));
    assert!(update(&mut app, ctrl('n')).is_empty());
    assert!(!app.network_open);
    poll_failed(&mut app, DrsErrorKind::Unreachable);
    assert!(keys::hints(&app).contains(&("Ctrl-N", "network")));
    let log = app.dashboard.as_ref().unwrap().log.clone();
    open_network(&mut app, ctrl('n'));
    assert_eq!(app.step, StepId::Replication);
    // eth0 static, an address being typed, when the failback ends under the screen.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "192.168.1.");
    let verdict = app
        .dashboard
        .as_ref()
        .unwrap()
        .failed("DRS reports FAILBACK_ERROR for this recovery instance.".into());
    update(&mut app, Msg::Outcome { run, verdict });
    assert_eq!(app.step, StepId::Result);
    assert!(app.network_open, "the screen being typed on stays");
    // Its keys stay its own: q and r are text here, not quit and retry.
    type_text(&mut app, "qr");
    assert!(!app.quit);
    assert_eq!(app.step, StepId::Result);
    assert_eq!(
        app.network.current().unwrap().address.value(),
        "192.168.1.qr"
    );
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(!app.network_open);
    assert!(matches!(app.outcome, Some(Outcome::Failed(_))));
    assert_eq!(app.dashboard.as_ref().unwrap().log, log);

    // Esc from the dashboard itself returns to it, the poll error still shown.
    let mut app = replicating();
    let run = run_of(&app);
    update(
        &mut app,
        Msg::Polled {
            run,
            now: 2.0,
            result: Err(DrsError::new(DrsErrorKind::Tls, "handshake")),
        },
    );
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Replication);
    assert_eq!(app.dashboard.as_ref().unwrap().poll_failures, 1);
}

#[test]
fn a_failed_download_of_the_software_offers_the_network_screen_on_the_result() {
    use drs_failback::app::keys;
    let failed = |installed: bool| {
        let mut app = replicating();
        if installed {
            replicator_says(
                &mut app,
                ReplicatorEvent::Installed {
                    version: "1.2.3".into(),
                },
            );
        }
        replicator_says(
            &mut app,
            ReplicatorEvent::Exited(Err("it could not be installed. S3 did not answer".into())),
        );
        assert_eq!(app.step, StepId::Result);
        app
    };
    // It stopped after it was installed: not a download's failure.
    let mut app = failed(true);
    assert!(!keys::hints(&app).iter().any(|(k, _)| *k == "Ctrl-N"));
    assert!(update(&mut app, ctrl('n')).is_empty());

    let mut app = failed(false);
    assert!(keys::hints(&app).contains(&("Ctrl-N", "network")));
    let outcome = app.outcome.clone();
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "http://proxy.corp:3128");
    assert!(press(&mut app, KeyCode::Esc).is_empty(), "nothing applied");
    assert_eq!(app.step, StepId::Result);
    assert_eq!(app.outcome, outcome);
    // Retry still works, and the proxy typed is there when the screen opens again.
    open_network(&mut app, ctrl('n'));
    assert_eq!(app.network.proxy.0.value(), "http://proxy.corp:3128");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.step, StepId::Review);
}

/// Ctrl-N, the first interface's addressing changed, Enter: applied (nothing to revert).
fn apply_a_network_change(app: &mut App) {
    use drs_failback::netconfig::{Applied, Snapshot};
    open_network(app, ctrl('n'));
    press(app, KeyCode::Tab);
    press(app, KeyCode::Right);
    let req = match &press(app, KeyCode::Enter)[..] {
        [Cmd::ApplyNetwork { req, .. }] => *req,
        other => panic!("{other:?}"),
    };
    update(
        app,
        Msg::NetworkApplied {
            req,
            applied: Applied {
                snapshot: Snapshot::default(),
                lines: vec![],
            },
        },
    );
}

#[test]
fn a_network_changed_from_any_screen_measures_every_network_row_again_before_the_start() {
    use drs_failback::netconfig::{Applied, Line, Snapshot};
    // The software's download failed; the proxy is set on the Network screen from the Result.
    let mut app = replicating();
    replicator_says(
        &mut app,
        ReplicatorEvent::Exited(Err("it could not be installed. S3 did not answer".into())),
    );
    open_network(&mut app, ctrl('n'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "http://proxy.corp:3128");
    let req = match &press(&mut app, KeyCode::Enter)[..] {
        [Cmd::ApplyNetwork { req, plan }] if plan.proxy.is_some() => *req,
        other => panic!("Enter applies the proxy: {other:?}"),
    };
    update(
        &mut app,
        Msg::NetworkApplied {
            req,
            applied: Applied {
                snapshot: Snapshot::default(),
                lines: vec![Line {
                    what: "proxy".into(),
                    ok: true,
                    text: "http://proxy.corp:3128".into(),
                }],
            },
        },
    );
    // Back on the Result: the network rows are measured again at once, not on some later
    // endpoint check.
    let preflight = match &press(&mut app, KeyCode::Esc)[..] {
        [Cmd::RunPreflight { req, .. }] => *req,
        other => panic!("the pre-flight runs again: {other:?}"),
    };
    assert_eq!(app.step, StepId::Result);
    // Retry: Review waits for those rows too, and a start confirmed meanwhile waits with it.
    let port = match &press(&mut app, KeyCode::Char('r'))[..] {
        [Cmd::Acknowledge { .. }, rest @ ..] => disks_reread(&mut app, rest),
        other => panic!("{other:?}"),
    };
    update(
        &mut app,
        Msg::ReplicationPort {
            req: port,
            check: port_open(),
        },
    );
    assert!(app.review_checking());
    assert!(
        screen(&app).contains("Pre-flight again"),
        "{}",
        screen(&app)
    );
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let cmds = update(
        &mut app,
        Msg::Preflight {
            req: preflight,
            report: passing_preflight(),
        },
    );
    assert!(
        matches!(&cmds[..], [Cmd::StartReplication { .. }]),
        "{cmds:?}"
    );

    // On Credentials, after a connection failure: the same.
    let mut app = verified_with(Err(DrsError::new(DrsErrorKind::Unreachable, "dns error")));
    apply_a_network_change(&mut app);
    assert!(
        matches!(
            &press(&mut app, KeyCode::Esc)[..],
            [Cmd::RunPreflight { .. }]
        ),
        "the network rows run again"
    );
    assert_eq!(app.step, StepId::Credentials);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
}

#[test]
fn a_paste_on_the_network_screen_goes_to_its_focused_field_only() {
    let mut app = app();
    open_network(&mut app, key(KeyCode::Char('n')));
    for _ in 0..2 {
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(
        app.network.focus(),
        drs_failback::wizard::network::Field::Proxy
    );
    update(&mut app, Msg::Paste("http://proxy.corp:3128\n".into()));
    assert_eq!(app.network.proxy.0.value(), "http://proxy.corp:3128");
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
}

#[test]
fn ctrl_t_switches_between_basic_and_rich_and_repaints_everything() {
    use drs_failback::app::keys;
    let mut app = App::new(Mode::Real);
    // As a serial console starts: the footer offers the way to rich mode.
    app.rich = false;
    assert!(keys::hints(&app).contains(&("Ctrl-T", "rich mode")));
    let cmds = update(&mut app, ctrl('t'));
    assert!(app.rich);
    assert!(matches!(cmds.as_slice(), [Cmd::ClearScreen]), "{cmds:?}");
    // Rich: back to basic is in the help, not taking the footer's room.
    assert!(!keys::hints(&app).iter().any(|(k, _)| *k == "Ctrl-T"));
    assert!(
        keys::help(&app)
            .iter()
            .any(|(k, d)| k == "Ctrl-T" && d.contains("basic mode"))
    );
    // Also while typing into a field: Ctrl-T is not text.
    app.step = StepId::Credentials;
    update(&mut app, ctrl('t'));
    assert!(!app.rich);
    assert_eq!(app.credentials.access_key_id.value(), "");
}

#[test]
fn s_on_welcome_enables_ssh_in_a_task_and_shows_how_to_log_in_until_closed() {
    use drs_failback::domain::ssh::{SshAccess, SshError};
    let mut app = App::new(Mode::Real);
    // This boot's password: the one another console shows, if it enabled SSH first.
    let req = match press(&mut app, KeyCode::Char('s')).as_slice() {
        [
            Cmd::EnableSsh {
                req,
                new_password: false,
            },
        ] => *req,
        other => panic!("expected EnableSsh, got {other:?}"),
    };
    assert_eq!(app.modal, Some(Modal::Ssh));
    assert!(app.ssh.is_loading());
    // Keys that do nothing while it starts; a second s closes without starting it again.
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    let access = SshAccess {
        password: zeroize::Zeroizing::new("7hKq-m3Vx-Rt9c-WpZ4".into()),
        addresses: vec![("eth0".into(), "10.0.2.15".into())],
        fingerprints: vec![("ED25519".into(), "SHA256:abc".into())],
    };
    // An answer for another request changes nothing.
    update(
        &mut app,
        Msg::SshEnabled {
            req: req + 100,
            result: Err(SshError::Failed("old".into())),
        },
    );
    assert!(app.ssh.is_loading());
    update(
        &mut app,
        Msg::SshEnabled {
            req,
            result: Ok(access.clone()),
        },
    );
    assert_eq!(app.ssh.loaded(), Some(&access));
    // A garbled serial screen can be repainted without closing it.
    assert!(matches!(
        update(&mut app, ctrl('l')).as_slice(),
        [Cmd::ClearScreen]
    ));
    assert_eq!(app.modal, Some(Modal::Ssh));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.modal, None);
    // Shown again as it is: no new password.
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    assert_eq!(app.modal, Some(Modal::Ssh));
    assert_eq!(app.ssh.loaded(), Some(&access));
    // n: a new password (a new request).
    match press(&mut app, KeyCode::Char('n')).as_slice() {
        [
            Cmd::EnableSsh {
                req: again,
                new_password: true,
            },
        ] => assert_ne!(*again, req),
        other => panic!("expected EnableSsh, got {other:?}"),
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.modal, None);
    // Elsewhere s is typed text, not SSH.
    app.step = StepId::Credentials;
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    assert_eq!(app.modal, None);
}

#[test]
fn ssh_where_it_is_not_available_says_so_and_offers_no_retry() {
    use drs_failback::app::keys;
    use drs_failback::domain::ssh::SshError;
    let mut app = App::new(Mode::Real);
    let req = match press(&mut app, KeyCode::Char('s')).as_slice() {
        [Cmd::EnableSsh { req, .. }] => *req,
        other => panic!("{other:?}"),
    };
    update(
        &mut app,
        Msg::SshEnabled {
            req,
            result: Err(SshError::NotAvailable("no helper".into())),
        },
    );
    assert!(!keys::hints(&app).iter().any(|(k, _)| *k == "n"));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
}

/// Mapping's Enter: Review with its TCP 1500 check still running; the check's request.
fn review_checking() -> (App, u64) {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    let cmds = press(&mut app, KeyCode::Enter);
    // The demo's emulator runs no replication agent: nothing to connect to.
    assert!(
        matches!(&cmds[0], Cmd::CheckReplicationPort { instance_id, connect: false, .. } if instance_id == WEB),
        "{cmds:?}"
    );
    let req = disks_reread(&mut app, &cmds);
    (app, req)
}

fn port_refused() -> drs_failback::domain::preflight::Check {
    use drs_failback::domain::preflight as rules;
    let at = Ok(("10.0.1.15".to_owned(), "private IP, as usePrivateIP says"));
    rules::replication_port(at, 1500, Some(Err("Connection refused".into())), false)
}

#[test]
fn enter_while_the_checks_run_is_remembered_and_the_failback_starts_once_they_pass() {
    use drs_failback::app::keys;
    let (mut app, req) = review_checking();
    type_text(&mut app, "OVERWRITE");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "nothing starts before the checks answered"
    );
    assert!(app.review.waiting);
    assert_eq!(app.review.error, None);
    assert!(
        screen(&app).contains("Will start once the checks pass (Esc cancels it)."),
        "{}",
        screen(&app)
    );
    assert!(keys::hints(&app).contains(&("Esc", "cancel start")));
    // A late answer of another request changes nothing.
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req: req - 1,
            check: port_open(),
        },
    );
    assert!(cmds.is_empty() && app.review.waiting, "{cmds:?}");
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    assert!(
        matches!(&cmds[..], [Cmd::StartReplication { plan }] if plan.recovery_instance_id == WEB),
        "{cmds:?}"
    );
    assert_eq!(app.step, StepId::Replication);
}

#[test]
fn review_waits_for_tcp_1500_and_refuses_while_an_instance_check_fails() {
    let (mut app, req) = review_checking();
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.review.waiting);
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_refused(),
        },
    );
    assert!(cmds.is_empty(), "a failed check starts nothing: {cmds:?}");
    assert!(!app.review.waiting);
    assert_eq!(app.step, StepId::Review);
    let e = app.review.error.clone().unwrap();
    assert!(
        e.starts_with("TCP 1500 failed: Open TCP 1500 from this machine")
            && e.ends_with("Then press Ctrl-R to check again."),
        "{e}"
    );
    assert_eq!(
        app.review.confirm.value(),
        "OVERWRITE",
        "nothing typed is lost"
    );
    let titles: Vec<_> = app.instance_checks().iter().map(|c| c.title).collect();
    assert_eq!(titles, ["Source boot mode", "Local disks", "TCP 1500"]);
}

/// Review entered from the mapping, TCP 1500 answered open: the disks' re-read's request.
fn review_reading_disks() -> (App, u64) {
    let mut app = at_instances();
    press(&mut app, KeyCode::Enter);
    let cmds = press(&mut app, KeyCode::Enter);
    let (port, disks) = match &cmds[..] {
        [
            Cmd::CheckReplicationPort { req, .. },
            Cmd::ListDisks { req: disks },
        ] => (*req, *disks),
        other => panic!("Review reads the disks again: {other:?}"),
    };
    update(
        &mut app,
        Msg::ReplicationPort {
            req: port,
            check: port_open(),
        },
    );
    (app, disks)
}

/// The re-read's answer: /dev/sdb was mounted after the mapping.
fn sdb_mounted_since(req: u64) -> Msg {
    let mut mounted = disk("/dev/sdb", 40);
    mounted.mounts = vec!["/mnt/backup".into()];
    Msg::Disks {
        req,
        result: Ok(vec![mounted, disk("/dev/sdc", 100)]),
    }
}

#[test]
fn review_reads_the_disks_again_and_one_mounted_since_the_mapping_stops_the_start() {
    let (mut app, disks) = review_reading_disks();
    assert!(app.review_checking(), "until the disks are read");
    assert!(
        screen(&app).contains("Local disks: reading them again"),
        "{}",
        screen(&app)
    );
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.review.waiting);
    // /dev/sdb was mounted after the mapping: no udev event says so, the re-read does.
    let cmds = update(&mut app, sdb_mounted_since(disks));
    assert!(cmds.is_empty(), "nothing starts: {cmds:?}");
    assert!(!app.review.waiting);
    assert_eq!(app.step, StepId::Review);
    let e = app.review.error.clone().unwrap_or_default();
    assert!(
        e.contains("/mnt/backup") && e.contains("unmount it, then Ctrl-R checks again"),
        "{e}"
    );
    assert!(
        screen(&app).contains("mounted at /mnt/backup"),
        "{}",
        screen(&app)
    );
}

#[test]
fn a_disk_in_use_is_marked_on_review_before_the_word_and_ctrl_r_after_freeing_it_starts() {
    let (mut app, disks) = review_reading_disks();
    update(&mut app, sdb_mounted_since(disks));
    // Said under the disk before OVERWRITE is typed, with what frees it.
    let flat = |app: &App| screen(app).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat(&app).contains("mounted at /mnt/backup: unmount it, then Ctrl-R checks again"),
        "{}",
        screen(&app)
    );
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let e = app.review.error.clone().unwrap_or_default();
    assert!(e.starts_with("Not started, nothing written."), "{e}");
    // Unmounted in a shell, Ctrl-R reads the disks again and the word still starts it.
    let cmds = update(&mut app, ctrl('r'));
    let preflight = match &cmds[..] {
        [_, _, Cmd::RunPreflight { req, .. }] => *req,
        other => panic!("Ctrl-R runs the checks again: {other:?}"),
    };
    let [
        Cmd::CheckReplicationPort { req: port, .. },
        Cmd::ListDisks { req: disks },
        ..,
    ] = &cmds[..]
    else {
        panic!("Ctrl-R reads the disks again: {cmds:?}");
    };
    let freed = vec![disk("/dev/sdb", 40), disk("/dev/sdc", 100)];
    update(
        &mut app,
        Msg::Disks {
            req: *disks,
            result: Ok(freed),
        },
    );
    update(
        &mut app,
        Msg::ReplicationPort {
            req: *port,
            check: port_open(),
        },
    );
    update(
        &mut app,
        Msg::Preflight {
            req: preflight,
            report: passing_preflight(),
        },
    );
    assert!(!flat(&app).contains("unmount it"), "{}", screen(&app));
    assert!(matches!(
        &press(&mut app, KeyCode::Enter)[..],
        [Cmd::StartReplication { .. }]
    ));
}

#[test]
fn a_failed_tcp_1500_on_review_offers_the_network_screen_and_a_change_checks_again() {
    use drs_failback::app::keys;
    let (mut app, req) = review_checking();
    update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    assert!(!keys::hints(&app).iter().any(|(k, _)| *k == "Ctrl-N"));
    assert!(update(&mut app, ctrl('n')).is_empty());
    let cmds = update(&mut app, ctrl('r'));
    let req = disks_reread(&mut app, &cmds);
    update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_refused(),
        },
    );
    assert!(keys::hints(&app).contains(&("Ctrl-N", "network")));
    type_text(&mut app, "OVERWRITE");
    apply_a_network_change(&mut app);
    // Back on Review: TCP 1500, the disks and the pre-flight again; the word kept.
    let cmds = press(&mut app, KeyCode::Esc);
    assert!(
        matches!(
            &cmds[..],
            [
                Cmd::CheckReplicationPort { .. },
                Cmd::ListDisks { .. },
                Cmd::RunPreflight { .. }
            ]
        ),
        "{cmds:?}"
    );
    assert_eq!(app.step, StepId::Review);
    assert_eq!(app.review.confirm.value(), "OVERWRITE");
}

#[test]
fn esc_an_edit_or_a_changed_plan_drops_the_waiting_start() {
    // Esc cancels the start, not the Review: the word stays, and the check's answer starts
    // nothing. A second Esc goes back.
    let (mut app, req) = review_checking();
    type_text(&mut app, "OVERWRITE");
    press(&mut app, KeyCode::Enter);
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(!app.review.waiting);
    assert_eq!(app.step, StepId::Review);
    assert_eq!(app.review.confirm.value(), "OVERWRITE");
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.step, StepId::Review);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.step, StepId::Mapping);

    // An edit of the confirmation drops it.
    let (mut app, req) = review_checking();
    type_text(&mut app, "OVERWRITE");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Backspace);
    assert!(!app.review.waiting);
    type_text(&mut app, "E");
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    assert!(cmds.is_empty(), "retyped, not confirmed again: {cmds:?}");

    // A disk re-read under the plan (udev) drops it and the confirmation, saying why.
    let (mut app, req) = review_checking();
    type_text(&mut app, "OVERWRITE");
    press(&mut app, KeyCode::Enter);
    let cmds = update(&mut app, Msg::DisksChanged);
    let rescan = req_of(&cmds);
    let mut grown = disk("/dev/sdc", 100);
    grown.bytes = Bytes::gib(120);
    update(
        &mut app,
        Msg::Disks {
            req: rescan,
            result: Ok(vec![disk("/dev/sdb", 40), grown]),
        },
    );
    assert!(!app.review.waiting);
    assert_eq!(
        app.review.confirm.value(),
        "",
        "the confirmation is cleared"
    );
    assert!(
        app.review
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("What will be written changed after OVERWRITE was typed"),
        "{:?}",
        app.review.error
    );
    let cmds = update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_open(),
        },
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.step, StepId::Review);
}

#[test]
fn ctrl_r_on_review_runs_its_checks_again_and_a_waiting_start_waits_for_them() {
    use drs_failback::app::keys;
    let (mut app, req) = review_checking();
    assert!(
        !keys::hints(&app).iter().any(|(k, _)| *k == "Ctrl-R"),
        "not while they run"
    );
    update(
        &mut app,
        Msg::ReplicationPort {
            req,
            check: port_refused(),
        },
    );
    assert!(keys::hints(&app).contains(&("Ctrl-R", "re-run checks")));
    assert!(
        keys::help(&app)
            .iter()
            .any(|(k, does)| k == "Ctrl-R, F5" && does.contains("TCP 1500"))
    );
    type_text(&mut app, "OVERWRITE");
    let cmds = update(&mut app, ctrl('r'));
    let preflight = match &cmds[..] {
        [_, _, Cmd::RunPreflight { req, .. }] => *req,
        other => panic!("Ctrl-R runs the checks again: {other:?}"),
    };
    let port = disks_reread(&mut app, &cmds);
    assert_eq!(app.review.confirm.value(), "OVERWRITE", "the word stays");
    assert!(app.review_checking());
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.review.waiting);
    assert!(
        update(
            &mut app,
            Msg::ReplicationPort {
                req: port,
                check: port_open(),
            },
        )
        .is_empty(),
        "the pre-flight still runs"
    );
    let cmds = update(
        &mut app,
        Msg::Preflight {
            req: preflight,
            report: passing_preflight(),
        },
    );
    assert!(
        matches!(&cmds[..], [Cmd::StartReplication { .. }]),
        "{cmds:?}"
    );
}

#[test]
fn the_instances_boot_mode_fails_a_real_run_and_only_warns_in_the_demo() {
    use drs_failback::domain::preflight::Verdict;
    let mut app = at_review();
    let mut uefi = host();
    uefi.boot_mode = BootMode::Uefi;
    update(&mut app, Msg::HostFacts(uefi));
    let boot = app.instance_checks()[0].clone();
    assert_eq!(boot.verdict, Verdict::Warning, "{boot:?}");
    assert!(
        boot.measured
            .ends_with("(a real failback stops here; the demo goes on)")
    );
    app.mode = Mode::Real;
    let boot = app.instance_checks()[0].clone();
    assert_eq!(boot.verdict, Verdict::Fail, "{boot:?}");
    type_text(&mut app, "OVERWRITE");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.review
            .error
            .as_deref()
            .unwrap()
            .starts_with("Source boot mode failed")
    );
}

/// Pre-flight measured (r) for the wizard's region and endpoint, then Credentials and Endpoint
/// passed with `region`: the commands the endpoint's answer gives.
fn past_endpoint_in(region: &str) -> (App, Vec<Cmd>) {
    let mut app = preflight_with(passing_preflight());
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Credentials);
    app.credentials.region = region.into();
    let req = req_of(&press(&mut app, KeyCode::Enter));
    update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    let req = req_of(&press(&mut app, KeyCode::Enter));
    let cmds = update(
        &mut app,
        Msg::EndpointChecked {
            req,
            result: Ok(()),
        },
    );
    (app, cmds)
}

#[test]
fn the_preflight_runs_again_when_the_region_changed_after_it_and_review_waits_for_it() {
    let region = app().credentials.region.clone();
    let (_, cmds) = past_endpoint_in(&region);
    assert!(
        matches!(&cmds[..], [Cmd::ListInstances { .. }]),
        "same region and endpoint: nothing to re-run: {cmds:?}"
    );

    let (mut app, cmds) = past_endpoint_in("ap-southeast-2");
    let req = match &cmds[..] {
        [
            Cmd::ListInstances { .. },
            Cmd::RunPreflight {
                req,
                region,
                drs_endpoint: Some(e),
                ..
            },
        ] if region == "ap-southeast-2" && e == EMULATOR => *req,
        other => panic!("expected the pre-flight again: {other:?}"),
    };
    assert!(app.review_checking());
    // Its S3 row fails for the new region: Review shows it and refuses.
    let mut report = passing_preflight();
    report
        .checks
        .push(drs_failback::domain::preflight::not_checked(
            "s3",
            "S3",
            "aws-elastic-disaster-recovery-ap-southeast-2.s3.ap-southeast-2.amazonaws.com:443",
            "DNS failed",
        ));
    update(&mut app, Msg::Preflight { req, report });
    assert!(!app.review_checking());
    let titles: Vec<_> = app.instance_checks().iter().map(|c| c.title).collect();
    assert_eq!(titles.first(), Some(&"S3"), "{titles:?}");
}

#[test]
fn the_target_disks_are_checked_again_at_the_hand_over_and_a_changed_one_stops_it() {
    let start = || {
        let mut app = at_review();
        type_text(&mut app, "OVERWRITE");
        let plan = match &press(&mut app, KeyCode::Enter)[..] {
            [Cmd::StartReplication { plan }] => plan.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(app.step, StepId::Replication);
        (app, plan)
    };
    let disks = || vec![disk("/dev/sdb", 40), disk("/dev/sdc", 100)];

    // The same disks: the plan goes to the worker.
    let (mut app, plan) = start();
    let cmds = update(
        &mut app,
        Msg::TargetsRechecked {
            plan: plan.clone(),
            disks: Ok(disks()),
        },
    );
    assert!(
        matches!(&cmds[..], [Cmd::HandOff { plan: p }] if *p == plan),
        "{cmds:?}"
    );

    // /dev/sdb was mounted meanwhile: nothing is handed over, Review says which and why.
    let (mut app, plan) = start();
    let mut now = disks();
    now[0].mounts = vec!["/mnt/backup".into()];
    let cmds = update(
        &mut app,
        Msg::TargetsRechecked {
            plan,
            disks: Ok(now),
        },
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.step, StepId::Review);
    let e = app.review.error.clone().unwrap();
    assert!(
        e.starts_with("A target disk changed just before the start (/dev/xvda: ")
            && e.contains("/mnt/backup")
            && e.contains("Nothing was written."),
        "{e}"
    );
    assert_eq!(app.local_disks()[0].mounts, vec!["/mnt/backup".to_owned()]);
}

/// What the demo's worker answers once its emulator listens.
fn demo_info() -> drs_failback::app::demo::DemoInfo {
    drs_failback::app::demo::DemoInfo {
        endpoint: EMULATOR.into(),
        region: "eu-central-1".into(),
        disk_dir: "/tmp/demo-disks".into(),
        keys: vec![EmulatorCredential {
            label: "full access".into(),
            credentials: StaticCredentials {
                access_key_id: KEY_ID.into(),
                secret_access_key: SECRET.into(),
                session_token: None,
            },
            description: "every DRS action".into(),
        }],
        joined: None,
    }
}

/// The demo's first state: Welcome while its emulator starts.
fn demo_starting() -> App {
    let (app, _) = drs_failback::app::demo::starting(drs_failback::app::demo::DemoStart {
        program: "/nonexistent".into(),
        state_dir: "/nonexistent".into(),
        scenario: None,
        disk_dir: None,
        poll_every_ms: 1000,
        region: None,
    });
    app
}

#[test]
fn welcome_waits_for_the_demos_emulator_and_then_offers_its_keys() {
    let mut app = demo_starting();
    assert_eq!(app.step, StepId::Welcome);
    update(&mut app, Msg::HostFacts(host()));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.step,
        StepId::Welcome,
        "Next before the emulator listens"
    );
    assert!(app.notice.as_deref().unwrap().contains("still starting"));

    update(&mut app, Msg::DemoReady(Ok(demo_info())));
    assert_eq!(app.credentials.access_key_id.value(), KEY_ID);
    assert_eq!(app.credentials.secret.0.value(), SECRET);
    assert_eq!(app.credentials.region, "eu-central-1");
    assert_eq!(app.endpoint.custom_url().as_deref(), Some(EMULATOR));
    assert!(
        matches!(&app.mode, Mode::Demo { endpoint, keys, .. } if endpoint == EMULATOR && keys.len() == 1)
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Preflight);
}

#[test]
fn keys_given_on_the_command_line_outlive_the_demos_start() {
    let mut app = demo_starting();
    app.credentials.access_key_id = Input::new("AKIAGIVEN00000000001".into());
    app.credentials.secret.0 = Input::new("given".into());
    update(&mut app, Msg::DemoReady(Ok(demo_info())));
    assert_eq!(
        app.credentials.access_key_id.value(),
        "AKIAGIVEN00000000001"
    );
    assert_eq!(app.credentials.secret.0.value(), "given");
}

#[test]
fn a_demo_that_cannot_start_ends_the_wizard_with_the_reason() {
    let mut app = demo_starting();
    let why = "cannot create virtual disks in /x: permission denied".to_owned();
    update(&mut app, Msg::DemoReady(Err(why.clone())));
    assert!(app.quit);
    assert_eq!(app.cannot_start, Some(why));
}

#[test]
fn an_endpoint_and_region_given_on_the_command_line_outlive_the_demos_start() {
    let mut app = demo_starting();
    app.credentials.region = "ap-south-2".into();
    app.endpoint = EndpointForm::with_custom("http://127.0.0.1:9");
    update(&mut app, Msg::DemoReady(Ok(demo_info())));
    assert_eq!(app.credentials.region, "ap-south-2");
    assert_eq!(
        app.endpoint.custom_url().as_deref(),
        Some("http://127.0.0.1:9")
    );
}

#[test]
fn an_unattended_runs_prompt_shows_over_any_step_keeps_what_was_typed_and_closes_once_accepted() {
    let mut app = app();
    app.step = StepId::Welcome;
    let wanted = |app: &mut App, detail: &str| {
        update(
            app,
            Msg::CredentialsWanted {
                started_by: Some(
                    "Started from no terminal (pid 9) at 2026-12-02T00:00:00Z.".into(),
                ),
                detail: detail.into(),
            },
        )
    };
    wanted(&mut app, "The unattended failback waits for credentials.");
    let prompt = |app: &App| app.unattended_prompt().cloned();
    assert!(prompt(&app).is_some(), "over Welcome");
    assert!(app.typing(), "its fields take the keys");
    type_text(&mut app, KEY_ID);
    // Esc puts it aside; the step's keys work again; k on Welcome brings it back as typed.
    press(&mut app, KeyCode::Esc);
    assert!(prompt(&app).is_none());
    assert_eq!(app.step, StepId::Welcome);
    press(&mut app, KeyCode::Char('k'));
    let p = prompt(&app).unwrap();
    assert_eq!(p.form.access_key_id.value(), KEY_ID);
    // News of the run (the next try of the default chain) keeps what was typed.
    wanted(&mut app, "It tries again in 10 s.");
    let p = prompt(&app).unwrap();
    assert_eq!(
        (p.detail.as_str(), p.form.access_key_id.value()),
        ("It tries again in 10 s.", KEY_ID)
    );
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, SECRET);
    let cmds = press(&mut app, KeyCode::Enter);
    let given = cmds.iter().find_map(|c| match c {
        Cmd::GiveCredentials { credentials } => Some(credentials.clone()),
        _ => None,
    });
    assert_eq!(
        given.map(|c| c.access_key_id.clone()),
        Some(KEY_ID.to_owned())
    );
    // Refused: said in the prompt, which stays open with what was typed.
    update(
        &mut app,
        Msg::UnattendedNotice("These credentials were not accepted: no.".into()),
    );
    let p = prompt(&app).unwrap();
    assert!(!p.sending && p.error.as_deref().unwrap().contains("not accepted"));
    assert_eq!(p.form.access_key_id.value(), KEY_ID);
    // Accepted (from any terminal): every prompt closes and the wizard says so.
    update(&mut app, Msg::UnattendedAccepted);
    assert!(prompt(&app).is_none() && app.unattended.is_some());
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("Credentials accepted")
    );
    // The run ended without a failback: this wizard goes on with its own steps.
    update(&mut app, Msg::UnattendedGone);
    assert!(app.unattended.is_none());
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("nothing was written")
    );
}

#[test]
fn a_waiting_run_tries_the_default_chain_again_and_goes_on_with_credentials_given() {
    // The demo's keys typed in: a rehearsal of the unattended boot waits as a real one does.
    let mut app = app();
    app.wait_for_credentials();
    assert_eq!(app.credentials.access_key_id.value(), "");
    assert_eq!(app.credentials.secret.0.value(), "");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.step, StepId::Credentials);
    // The default chain, and every terminal told at once.
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&cmds[0], Cmd::VerifyCredentials { target, .. } if matches!(target.auth, Auth::DefaultChain))
    );
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::AwaitCredentials { .. }))
    );
    // Its own worker's socket answered: it asks for what a terminal gives.
    assert!(matches!(
        update(&mut app, Msg::UnattendedReached).as_slice(),
        [Cmd::RegisterForCredentials]
    ));
    // The chain finds nothing (asked by `cmds`): what the wait then says to every terminal.
    let nothing_found = |app: &mut App, cmds: &[Cmd]| {
        let result = Err(DrsError::new(
            DrsErrorKind::NoCredentials,
            "no instance metadata",
        ));
        let req = req_of(cmds);
        let cmds = update(app, Msg::CredentialsChecked { req, result });
        let Some(Cmd::AwaitCredentials { wait }) = cmds.first() else {
            panic!("{cmds:?}")
        };
        wait.detail.clone()
    };
    let detail = nothing_found(&mut app, &cmds);
    assert!(detail.contains("tries again in 5 s"), "{detail}");
    assert_eq!(app.step, StepId::Credentials, "it waits, it does not stop");
    // Tried again once it is time, then 10 s later.
    assert!(update(&mut app, Msg::Tick { now: 4.0, epoch: 0 }).is_empty());
    let cmds = update(&mut app, Msg::Tick { now: 5.0, epoch: 0 });
    let detail = nothing_found(&mut app, &cmds);
    assert!(detail.contains("tries again in 10 s"), "{detail}");
    // A terminal gave credentials: checked at once, and the journey goes on.
    let given = StaticCredentials {
        access_key_id: KEY_ID.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
    };
    let cmds = update(&mut app, Msg::CredentialsGiven(given));
    let Some(Cmd::VerifyCredentials { req, target }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert!(matches!(&target.auth, Auth::Static(c) if c.access_key_id == KEY_ID));
    let req = *req;
    let cmds = update(
        &mut app,
        Msg::CredentialsChecked {
            req,
            result: Ok(verified()),
        },
    );
    assert_eq!(app.step, StepId::Endpoint);
    assert!(
        matches!(cmds.as_slice(), [Cmd::CredentialsFound]),
        "{cmds:?}"
    );
    assert!(app.waiting.is_none());
}

/// The Network screen's S3 pin, applied while the region was eu-west-1, then the plan's region
/// became us-east-1: the endpoint's check moves the pin before the checks run again; a pin
/// left for another region stops Review.
#[test]
fn the_s3_pin_follows_the_plans_region_and_review_refuses_one_left_for_another() {
    let mut app = verified_with(Ok(verified()));
    assert_eq!(app.step, StepId::Endpoint);
    let region = app.region().to_owned();
    assert_eq!(region, "us-east-1");
    app.credentials.region = "eu-west-1".into();
    app.network_open = true;
    app.network.s3_endpoint = Input::new("10.0.0.9".into());
    let req = match &press(&mut app, KeyCode::Enter)[..] {
        [Cmd::ApplyNetwork { req, plan }] => {
            let s3 = plan.s3.as_ref().unwrap();
            assert_eq!(s3.region, "eu-west-1");
            assert_eq!(s3.hosts[0], "s3.eu-west-1.amazonaws.com");
            *req
        }
        other => panic!("Enter pins the S3 endpoint: {other:?}"),
    };
    update(&mut app, s3_pinned(req, Ok("pinned for eu-west-1")));
    press(&mut app, KeyCode::Esc);
    assert!(!app.network_open);

    // Back on Credentials the region became us-east-1; the endpoint's check passes.
    app.credentials.region = region.clone();
    let stale = app
        .instance_checks()
        .into_iter()
        .find(|c| c.id == "s3_pin")
        .expect("a pin for another region is a failing row");
    assert_eq!(
        stale.fix.as_deref(),
        Some(
            "Open the Network screen (Ctrl-N) and press Enter to pin the S3 endpoint for \
             us-east-1, or Ctrl-R there to take the pin away."
        )
    );
    let cmds = endpoint_passes(&mut app);
    let repin = match &cmds[..] {
        [Cmd::ListInstances { .. }, Cmd::ApplyNetwork { req, plan }] => {
            let s3 = plan.s3.as_ref().unwrap();
            assert_eq!(s3.region, "us-east-1");
            assert_eq!(
                s3.hosts[0], "s3.us-east-1.amazonaws.com",
                "the same endpoint, this region's names"
            );
            assert!(plan.interfaces.is_empty() && plan.proxy.is_none());
            *req
        }
        other => panic!("the pin moves before the checks run again: {other:?}"),
    };
    let cmds = update(&mut app, s3_pinned(repin, Ok("pinned for us-east-1")));
    assert!(
        matches!(&cmds[..], [Cmd::RunPreflight { region, .. }] if region == "us-east-1"),
        "{cmds:?}"
    );
    assert_eq!(
        app.notice.as_deref(),
        Some("The region changed: pinned for us-east-1.")
    );
    assert!(!app.instance_checks().iter().any(|c| c.id == "s3_pin"));

    // A pin that could not follow: said at once, and Review refuses with the fix.
    app.credentials.region = "eu-central-1".into();
    let req = app.network.repin("eu-central-1", 900).map(|_| 900).unwrap();
    update(
        &mut app,
        s3_pinned(
            req,
            Err("/etc/hosts cannot be written (Read-only file system)"),
        ),
    );
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .starts_with("The region changed, and the S3 pin could not follow it: /etc/hosts"),
        "{:?}",
        app.notice
    );
    let stale = app
        .instance_checks()
        .into_iter()
        .find(|c| c.id == "s3_pin")
        .unwrap();
    assert_eq!(
        stale.measured,
        "/etc/hosts pins the S3 endpoint for us-east-1's host names (s3.us-east-1.amazonaws.com, \
         aws-elastic-disaster-recovery-us-east-1.s3.us-east-1.amazonaws.com, \
         aws-elastic-disaster-recovery-hashes-us-east-1.s3.us-east-1.amazonaws.com), but the \
         plan's region is eu-central-1"
    );
}

/// The answer to an apply of the S3 pin: Ok, the hosts file written; Err, not.
fn s3_pinned(req: u64, result: Result<&str, &str>) -> Msg {
    use drs_failback::netconfig::{Applied, Line, Snapshot};
    let (ok, text) = match result {
        Ok(text) => (true, text),
        Err(text) => (false, text),
    };
    Msg::NetworkApplied {
        req,
        applied: Applied {
            snapshot: Snapshot {
                hosts_block: ok.then_some(None),
                ..Snapshot::default()
            },
            lines: vec![Line {
                what: "S3".into(),
                ok,
                text: text.into(),
            }],
        },
    }
}
