//! Helpers shared by the integration tests: `sandbox` (a TMPDIR of its own for what a test
//! starts), `pty` (a program on a pseudo-terminal), `command` (a helper program's output),
//! `emulator` (the DRS emulator on an edited scenario), `tls` (test CAs), and here deterministic
//! `App` values for every step: fixed clock, no real host, no I/O.
#![allow(dead_code)]

pub mod command;
pub mod emulator;
pub mod pty;
pub mod sandbox;
pub mod tls;

/// Waits (bounded by `within`) for what another process brings about: there is no event to
/// wait on across processes, so the condition is polled. Fails the test with `what`.
pub fn until(what: &str, within: std::time::Duration, ok: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

use drs_failback::app::{App, Modal, Mode, Msg, update};
use drs_failback::domain::bytes::{Bytes, GIB, MIB};
use drs_failback::domain::mapping::Choice;
use drs_failback::domain::model::{
    BootMode, FAILBACK_INITIATION_STEPS, FailbackInfo, FailbackReplicationConfiguration, HostFacts,
    HostIdentity, IdentificationHints, InitiationStep, Job, JobLogItem, LocalDisk,
    RecoveryInstance, RecoveryVolume, ReplicatedDisk, ReplicationInfo,
};
use drs_failback::drs::{DrsError, DrsErrorKind, StaticCredentials};
use drs_failback::emulator::EmulatorCredential;
use drs_failback::replicator::{RunId, VolumeTarget};
use drs_failback::wizard::credentials::{Field as CredField, Source, Verified};
use drs_failback::wizard::endpoint::{
    Choice as EndpointChoice, ConnectivityCheck, EndpointForm, Field as EndField, Stage,
    StageStatus,
};
use drs_failback::wizard::mapping::PasteBox;
use drs_failback::wizard::replication::{Dashboard, Launch};
use drs_failback::wizard::result::{Failure, Outcome, Summary};
use drs_failback::wizard::{Loadable, SecretInput, StepId};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

pub const NOW: f64 = 7265.0;
/// 2026-03-14T14:05:09Z
pub const EPOCH: i64 = 1_773_497_109;
/// The recovery instance that is this machine.
pub const WEB01: &str = "i-0a1b2c3d4e5f60013";

pub fn host() -> HostFacts {
    HostFacts {
        identity: HostIdentity {
            hostname: "web-01".into(),
            fqdn: Some("web-01.corp.example".into()),
            macs: vec!["52:54:00:12:34:56".into()],
            vmware_uuid: None,
            aws_instance_id: None,
        },
        ram: Bytes::gib(16),
        cpus: 8,
        cpu_model: "Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz".into(),
        boot_mode: BootMode::Bios,
        secure_boot: None,
        nics: vec![
            ("eth0".into(), "52:54:00:12:34:56".into()),
            ("eth1".into(), "52:54:00:ab:cd:ef".into()),
        ],
    }
}

fn disk(device: &str, bytes: u64, model: &str, serial: &str, n: usize) -> LocalDisk {
    LocalDisk {
        device: device.into(),
        path: format!(
            "/tmp/drs-failback-demo/{}.img",
            device.trim_start_matches("/dev/")
        )
        .into(),
        bytes: Bytes(bytes),
        model: Some(model.into()),
        serial: Some(serial.into()),
        by_path: Some(format!("pci-0000:00:10.0-scsi-0:0:{n}:0")),
        by_id: Some(format!("scsi-0QEMU_QEMU_HARDDISK_{serial}")),
        by_uuid: None,
        mounts: vec![],
        is_boot_medium: false,
        contents: "empty".into(),
        ..Default::default()
    }
}

/// sr0 (boot medium), sdb 10 GiB, sdc 50 GiB, sdd 9.75 GiB, sde 32 GiB, sdf 16 GiB mounted.
pub fn disks() -> Vec<LocalDisk> {
    let mut sr0 = disk("/dev/sr0", 700 * MIB, "QEMU DVD-ROM", "QM00001", 0);
    sr0.is_boot_medium = true;
    sr0.mounts = vec!["/run/live/medium".into()];
    sr0.contents = "the live image this wizard booted from".into();
    let mut sdc = disk("/dev/sdc", 50 * GIB, "QEMU HARDDISK", "QM00003", 2);
    sdc.contents = "2 partitions: ext4, swap".into();
    let mut sdf = disk("/dev/sdf", 16 * GIB, "QEMU HARDDISK", "QM00006", 5);
    sdf.mounts = vec!["/mnt/scratch".into()];
    sdf.contents = "1 partition: xfs".into();
    vec![
        sr0,
        disk("/dev/sdb", 10 * GIB, "QEMU HARDDISK", "QM00002", 1),
        sdc,
        disk(
            "/dev/sdd",
            9 * GIB + 3 * GIB / 4,
            "QEMU HARDDISK",
            "QM00004",
            3,
        ),
        disk("/dev/sde", 32 * GIB, "QEMU HARDDISK", "QM00005", 4),
        sdf,
    ]
}

fn vol(name: &str, gib: u64) -> RecoveryVolume {
    RecoveryVolume {
        device_name: name.into(),
        bytes: Bytes::gib(gib),
    }
}

/// The first `done` steps succeeded, the next one is in progress, the rest not started.
fn steps(done: usize) -> Vec<InitiationStep> {
    FAILBACK_INITIATION_STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| InitiationStep {
            name: (*name).into(),
            status: match i.cmp(&done) {
                std::cmp::Ordering::Less => "SUCCEEDED",
                std::cmp::Ordering::Equal => "IN_PROGRESS",
                std::cmp::Ordering::Greater => "NOT_STARTED",
            }
            .into(),
        })
        .collect()
}

fn instance(id: &str, host: &str, os: &str, volumes: Vec<RecoveryVolume>) -> RecoveryInstance {
    RecoveryInstance {
        id: id.into(),
        source_server_id: format!("s-{}", &id[2..].replace('-', "")),
        ec2_instance_id: Some(id.into()),
        ec2_state: Some("RUNNING".into()),
        is_drill: false,
        hints: IdentificationHints {
            hostname: Some(host.into()),
            fqdn: Some(format!("{host}.corp.example")),
            vmware_uuid: None,
            aws_instance_id: None,
        },
        os: Some(os.into()),
        macs: vec![],
        private_ips: vec![],
        volumes,
        replication: ReplicationInfo {
            state: "STOPPED".into(),
            ..Default::default()
        },
        failback: FailbackInfo {
            state: "FAILBACK_NOT_STARTED".into(),
            ..Default::default()
        },
    }
}

/// web-01: xvda 10 GiB, xvdb 40 GiB, xvdc 20 GiB.
pub fn web01() -> RecoveryInstance {
    let mut i = instance(
        WEB01,
        "web-01",
        "Ubuntu 22.04.4 LTS",
        vec![
            vol("/dev/xvda", 10),
            vol("/dev/xvdb", 40),
            vol("/dev/xvdc", 20),
        ],
    );
    i.macs = vec!["52:54:00:12:34:56".into()];
    i
}

/// 27 instances: this machine's at position 13, one too large for the local disks.
pub fn instances() -> Vec<RecoveryInstance> {
    let oses = [
        "Ubuntu 22.04.4 LTS",
        "RHEL 9.3",
        "Windows Server 2022",
        "Debian 12",
    ];
    (1..=27)
        .map(|n| match n {
            13 => web01(),
            5 => instance(
                "i-0a1b2c3d4e5f60005",
                "db-01",
                "RHEL 9.3",
                vec![vol("/dev/sda", 100), vol("/dev/sdb", 2048)],
            ),
            _ => instance(
                &format!("i-0a1b2c3d4e5f600{n:02}"),
                &format!("app-{n:02}"),
                oses[n % oses.len()],
                vec![vol("/dev/xvda", 8)],
            ),
        })
        .collect()
}

/// The demo's keys, as F2 offers them.
fn demo_keys() -> Vec<EmulatorCredential> {
    vec![EmulatorCredential {
        label: "full access".into(),
        credentials: StaticCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        },
        description: "every DRS action".into(),
    }]
}

fn app_at(step: StepId) -> App {
    let mut app = App::new(Mode::Demo {
        disk_dir: "/tmp/drs-failback-demo".into(),
        keys: demo_keys(),
        endpoint: "http://127.0.0.1:4000".into(),
    });
    app.step = step;
    app.now = NOW;
    app.epoch = EPOCH;
    app.host = Some(host());
    app.disks = Loadable::Loaded(disks());
    app.credentials.access_key_id = Input::new("AKIAIOSFODNN7EXAMPLE".into());
    app.credentials.secret = SecretInput(Input::new(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
    ));
    app.credentials.region = "eu-west-1".into();
    app
}

pub fn welcome() -> App {
    let mut app = app_at(StepId::Welcome);
    let mut h = host();
    h.ram = Bytes(3 * GIB);
    h.boot_mode = BootMode::Uefi;
    h.secure_boot = Some(true);
    app.host = Some(h);
    app
}

pub fn welcome_reading() -> App {
    let mut app = app_at(StepId::Welcome);
    app.host = None;
    app
}

/// Every kind of row: a failed RAM check, warnings, a clock 6 minutes off with NTP silent,
/// S3 whose name does not resolve.
pub fn preflight_checks() -> App {
    use drs_failback::domain::preflight::{self as rules, HostProbe};
    let mut app = app_at(StepId::Preflight);
    let probe = |host: &str, dns: Result<String, String>| HostProbe {
        host: host.into(),
        proxy: None,
        tcp: dns.as_ref().ok().map(|ip| Ok(format!("{ip}:443 in 12 ms"))),
        tls: dns.as_ref().ok().map(|_| Ok(())),
        answer: dns.as_ref().ok().map(|_| Ok("answered (HTTP 404)".into())),
        dns,
    };
    let checks = vec![
        rules::ram(Bytes(3_700_000 * 1024)),
        rules::boot_mode(BootMode::Uefi, None),
        rules::secure_boot(BootMode::Uefi, None),
        rules::clock("drs.eu-west-1.amazonaws.com:443", Ok(360)),
        rules::ntp(Err("pool.ntp.org".into())),
        rules::rtc(Some("0.0 0 0.0\n0\nLOCAL\n"), Some(360)),
        rules::host(
            "drs_endpoint",
            "DRS endpoint",
            &probe("drs.eu-west-1.amazonaws.com:443", Ok("3.248.0.10".into())),
        ),
        rules::host(
            "s3",
            "S3",
            &probe(
                "aws-elastic-disaster-recovery-eu-west-1.s3.eu-west-1.amazonaws.com:443",
                Err("failed to lookup address information: Name or service not known".into()),
            ),
        ),
    ];
    let offer_clock_set = rules::offer_clock_set(&checks);
    app.preflight.report = Loadable::Loaded(drs_failback::preflight::Report {
        checks,
        clock_skew_seconds: Some(360),
        offer_clock_set,
    });
    app
}

pub fn preflight_running() -> App {
    let mut app = app_at(StepId::Preflight);
    app.preflight.report = Loadable::Loading(7);
    app
}

/// The clock setting asks first, naming the time it would set.
pub fn preflight_set_clock() -> App {
    let mut app = preflight_checks();
    app.preflight.confirm = Some(drs_failback::wizard::preflight::Confirm::SetClock);
    app
}

pub fn preflight_ram_override() -> App {
    let mut app = preflight_checks();
    app.preflight.confirm = Some(drs_failback::wizard::preflight::Confirm::RamOverride);
    app
}

pub fn interfaces() -> Vec<drs_failback::netconfig::interfaces::Interface> {
    use drs_failback::netconfig::interfaces::{Address, Interface};
    vec![
        Interface {
            name: "eth0".into(),
            mac: "52:54:00:12:34:56".into(),
            driver: Some("virtio_net".into()),
            state: "UP".into(),
            carrier: true,
            speed_mbps: Some(1000),
            addresses: vec![Address {
                ip: "10.0.2.15".parse().unwrap(),
                prefix: 24,
                dynamic: true,
            }],
        },
        Interface {
            name: "eth1".into(),
            mac: "52:54:00:12:34:57".into(),
            driver: Some("e1000e".into()),
            state: "DOWN".into(),
            carrier: false,
            speed_mbps: None,
            addresses: vec![],
        },
    ]
}

/// Opened from Pre-flight, filled by CONFIG_NETWORK=1 and a PROXY with a password.
pub fn network_static() -> App {
    network_prefilled(&[
        ("CONFIG_NETWORK", "1"),
        ("IPADDR", "192.168.10.20"),
        ("NETMASK", "255.255.255.0"),
        ("GATEWAY", "192.168.10.1"),
        ("DNS", "192.168.10.1"),
        ("PROXY", "http://ops:Secret123@proxy.corp:3128"),
    ])
}

/// The Network screen open on Pre-flight, pre-filled from these livecd variables.
fn network_prefilled(vars: &[(&str, &str)]) -> App {
    let mut app = preflight_checks();
    app.network = drs_failback::wizard::network::NetworkForm::from_prefill(
        drs_failback::domain::network::prefill(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }),
    );
    app.network.on_interfaces(Ok(interfaces()));
    app.network_open = true;
    app
}

/// CONFIG_NETWORK=1 without DNS: the message names it; the field waits.
pub fn network_missing_dns() -> App {
    let mut app = network_prefilled(&[
        ("CONFIG_NETWORK", "1"),
        ("IPADDR", "192.168.10.20"),
        ("NETMASK", "24"),
        ("GATEWAY", "192.168.10.1"),
    ]);
    let _ = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    app
}

/// Applied and checked: what was found, and the revert offered.
pub fn network_applied() -> App {
    use drs_failback::netconfig::{Applied, Line, Snapshot};
    use drs_failback::wizard::network::Work;
    let mut app = network_static();
    app.network.work = Some((41, Work::Applying));
    let lines = vec![
        Line {
            what: "eth0".into(),
            ok: true,
            text: "192.168.10.20/24 (static), gateway 192.168.10.1".into(),
        },
        Line {
            what: "proxy".into(),
            ok: true,
            text: "HTTPS requests go through http://***@proxy.corp:3128".into(),
        },
    ];
    let snapshot = Snapshot {
        units: vec![(
            "/run/systemd/network/10-drs-failback-eth0.network".into(),
            None,
        )],
        proxy: Some(None),
        ..Snapshot::default()
    };
    app.network.on_applied(41, Applied { snapshot, lines });
    app
}

pub fn credentials_inline_error() -> App {
    let mut app = app_at(StepId::Credentials);
    let c = &mut app.credentials;
    c.access_key_id = Input::new("AKIAIOSFODNN7EXAMP".into());
    c.session_token = SecretInput(Input::default());
    c.region_filter = Input::new("eu".into());
    c.focus = CredField::AccessKeyId;
    c.show_errors = true;
    app
}

pub fn credentials_clock_skew() -> App {
    let mut app = app_at(StepId::Credentials);
    app.credentials.focus = CredField::Region;
    app.credentials.check = Loadable::Failed(DrsError {
        kind: DrsErrorKind::ClockSkew,
        detail: "InvalidSignatureException: Signature expired: 20260314T140509Z is now earlier than 20260314T141012Z (20260314T142512Z - 15 min.)".into(),
        server_date: Some("Sat, 14 Mar 2026 14:25:12 GMT".into()),
        port: None,
    });
    app
}

pub fn credentials_default_chain_verifying() -> App {
    let mut app = app_at(StepId::Credentials);
    app.credentials.source = Source::DefaultChain;
    app.credentials.check = Loadable::Loading(7);
    app
}

pub fn endpoint_checking() -> App {
    let mut app = app_at(StepId::Endpoint);
    let url = "https://vpce-0123456789abcdef0-abcdefgh.drs.eu-west-1.vpce.amazonaws.com";
    app.endpoint = EndpointForm::with_custom(url);
    app.endpoint.focus = EndField::Url;
    let mut check = ConnectivityCheck::new(9, url.into());
    check.set(Stage::Dns, StageStatus::resolved([10, 0, 12, 34].into()));
    check.set(Stage::Tcp, StageStatus::Running);
    app.endpoint.check = Some(check);
    app
}

pub fn endpoint_failed() -> App {
    let mut app = app_at(StepId::Endpoint);
    assert_eq!(app.endpoint.choice, EndpointChoice::Default);
    let mut check = ConnectivityCheck::new(9, "https://drs.eu-west-1.amazonaws.com".into());
    check.set(Stage::Dns, StageStatus::resolved([3, 248, 12, 7].into()));
    check.set(
        Stage::Tcp,
        StageStatus::no_answer(([3, 248, 12, 7], 443).into()),
    );
    check.set(Stage::Tls, StageStatus::not_reached());
    check.set(Stage::Api, StageStatus::not_reached());
    check.outcome = Some(Err(DrsError::new(DrsErrorKind::Unreachable, "").advice()));
    app.endpoint.check = Some(check);
    app
}

fn with_instances(step: StepId) -> App {
    let mut app = app_at(step);
    let host = app.host.as_ref().unwrap().identity.clone();
    app.instance.load(instances(), &host, &disks());
    app
}

pub fn instance_list() -> App {
    let app = with_instances(StepId::Instance);
    assert_eq!(app.instance.selected.as_deref(), Some(WEB01));
    app
}

/// The cursor on the instance that cannot fit, after a refused Next.
pub fn instance_too_large() -> App {
    let mut app = with_instances(StepId::Instance);
    app.instance.selected = Some("i-0a1b2c3d4e5f60005".into());
    app.instance.error = app.instance.validate().err();
    app
}

pub fn instance_failed() -> App {
    let mut app = app_at(StepId::Instance);
    app.instance.list = Loadable::Failed(DrsError::new(
        DrsErrorKind::AccessDenied {
            action: Some("drs:DescribeRecoveryInstances".into()),
        },
        "AccessDeniedException: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: drs:DescribeRecoveryInstances",
    ));
    app
}

fn mapping_app() -> App {
    let mut app = with_instances(StepId::Mapping);
    let volumes = web01().volumes;
    app.mapping.prepare(WEB01, &volumes, &disks());
    app
}

/// xvda → sdd (fractional fit), xvdb → sdb (too small), xvdc excluded; cursor on xvdb.
pub fn mapping_too_small() -> App {
    let mut app = mapping_app();
    app.mapping.choices = vec![
        Choice::of(&disks()[3]),
        Choice::of(&disks()[1]),
        Choice::Exclude,
    ];
    app.mapping.row = 1;
    app.mapping.error = app.mapping.validate(&web01().volumes, &disks()).err();
    assert!(app.mapping.error.is_some());
    app
}

/// A by-id JSON mapping shown for copying.
pub fn mapping_copy_view() -> App {
    use drs_failback::domain::mapping::{DmValueFormat, MappingFormat};
    let mut app = mapping_too_small();
    app.mapping.error = None;
    app.mapping.choices = vec![
        Choice::of(&disks()[3]),
        Choice::of(&disks()[2]),
        Choice::Exclude,
    ];
    app.mapping.format = MappingFormat::JsonObject;
    app.mapping.value_format = DmValueFormat::ById;
    app.mapping.copy_view = true;
    app
}

/// by-uuid chosen, and the chosen disks carry no UUID.
pub fn mapping_by_uuid_missing() -> App {
    use drs_failback::domain::mapping::DmValueFormat;
    let mut app = mapping_too_small();
    app.mapping.error = None;
    app.mapping.value_format = DmValueFormat::ByUuid;
    app
}

/// xvda's disk /dev/sdg was unplugged after it was chosen.
pub fn mapping_disk_gone() -> App {
    let mut app = mapping_too_small();
    let mut sdg = disks()[4].clone();
    sdg.device = "/dev/sdg".into();
    sdg.path = "/tmp/drs-failback-demo/sdg.img".into();
    app.mapping.choices[0] = Choice::of(&sdg);
    app.mapping.choices[1] = Choice::of(&disks()[2]);
    app.mapping.row = 0;
    app.mapping.error = None;
    app
}

pub fn mapping_picker() -> App {
    let mut app = mapping_too_small();
    app.mapping.error = None;
    app.mapping.picker = Some(2);
    app
}

/// The picker over real disks' rules: a removable one, one held, one swap, one read-only.
pub fn mapping_picker_refused() -> App {
    let mut app = mapping_picker();
    let mut disks = disks();
    disks[1].removable = true;
    disks[4].holders = vec!["md0 (MD RAID raid1) on sde1".into()];
    let mut swap = disk("/dev/sdg", 64 * GIB, "QEMU HARDDISK", "QM00007", 6);
    swap.swaps = vec!["/dev/sdg2".into()];
    let mut read_only = disk("/dev/sdh", 64 * GIB, "QEMU HARDDISK", "QM00008", 7);
    read_only.read_only = true;
    disks.extend([swap, read_only]);
    app.disks = Loadable::Loaded(disks);
    app
}

/// The paste box after Enter on `text`: the error is the wizard's own.
fn pasted(text: &str) -> App {
    let mut app = mapping_too_small();
    app.mapping.error = None;
    app.mapping.paste = Some(PasteBox {
        input: Input::new(text.into()),
        error: None,
    });
    let volumes = web01().volumes;
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    app.mapping.on_key(enter, &volumes, &disks());
    assert!(
        app.mapping.paste.as_ref().unwrap().error.is_some(),
        "{text}"
    );
    app
}

pub fn mapping_paste_error() -> App {
    pasted("/dev/xvda=/dev/sdd,/dev/xvdb=/dev/sdc=x")
}

/// A paste naming volumes this instance does not have, and a long bad entry: the advice at
/// the end must stay in the box.
pub fn mapping_paste_long_error() -> App {
    let volumes: Vec<String> = (1..=40)
        .map(|k| format!("/dev/nvme{k}n1=/dev/sdq"))
        .collect();
    pasted(&volumes.join(","))
}

/// xvda → sdd, xvdb → sdc, xvdc excluded: a valid mapping.
pub fn review() -> App {
    let mut app = mapping_app();
    app.step = StepId::Review;
    app.mapping.choices = vec![
        Choice::of(&disks()[3]),
        Choice::of(&disks()[2]),
        Choice::Exclude,
    ];
    app.credentials.check = Loadable::Loaded(Verified {
        source: "typed access key".into(),
        clock_skew: None,
    });
    app.review.confirm = Input::new("overwr".into());
    app.review.error = app.review.validate(None).err();
    assert!(app.review.error.is_some());
    app.preflight.replication_port = Loadable::Loaded(port(Some(Ok("in 23 ms".into()))));
    app
}

fn port(tcp: Option<Result<String, String>>) -> drs_failback::domain::preflight::Check {
    use drs_failback::domain::preflight as rules;
    let at = Ok(("10.0.1.15".to_owned(), "private IP, as usePrivateIP says"));
    rules::replication_port(at, rules::REPLICATION_PORT, tcp, false)
}

/// The demo's host booted in UEFI (a Linux source: only a warning in the demo), and TCP 1500
/// refused.
pub fn review_checks_failing() -> App {
    let mut app = review();
    if let Some(h) = app.host.as_mut() {
        h.boot_mode = BootMode::Uefi;
    }
    app.preflight.replication_port =
        Loadable::Loaded(port(Some(Err("Connection refused (os error 111)".into()))));
    app.review.confirm = Input::default();
    app.review.error = None;
    app
}

/// OVERWRITE typed and Enter pressed while TCP 1500 is still being checked.
pub fn review_waiting() -> App {
    let mut app = review();
    app.preflight.replication_port = Loadable::Loading(1);
    app.review.confirm = Input::new("OVERWRITE".into());
    app.review.error = None;
    app.review.waiting = true;
    app
}

/// The review with the boot volume /dev/xvda excluded.
pub fn review_boot_excluded() -> App {
    let mut app = review();
    app.mapping.choices = vec![Choice::Exclude, Choice::of(&disks()[2]), Choice::Exclude];
    app.review.confirm = Input::default();
    app.review.error = None;
    app
}

fn targets() -> Vec<VolumeTarget> {
    vec![
        VolumeTarget {
            volume: "/dev/xvda".into(),
            volume_bytes: 10 * GIB,
            device: "/dev/sdd".into(),
            write_path: "/tmp/drs-failback-demo/sdd.img".into(),
        },
        VolumeTarget {
            volume: "/dev/xvdb".into(),
            volume_bytes: 40 * GIB,
            device: "/dev/sdc".into(),
            write_path: "/tmp/drs-failback-demo/sdc.img".into(),
        },
    ]
}

/// Polled once a second from `NOW - secs` to `NOW` at `rate` bytes/s (with a 5 s pause in
/// polling in the middle), the instance in `state` / `failback`.
fn dashboard(secs: u64, rate: u64, state: &str, failback: &str, steps_done: usize) -> Dashboard {
    let start = NOW - secs as f64 - 3.0;
    let mut d = Dashboard::new(RunId(1), WEB01.into(), targets(), start);
    d.client_id = Some("fc-7d2e9a40".into());
    let total = 50 * GIB;
    let mut done = 0;
    for k in 0..=secs {
        // The rate wanders between 2/3 and 4/3 of `rate`, in plateaus of 10 s.
        done = (done + rate * (4 + (k / 10 * 3) % 5) / 6).min(total);
        if (secs / 2..secs / 2 + 5).contains(&k) {
            continue;
        }
        let t = start + 3.0 + k as f64;
        let a = done / 5;
        let mut i = web01();
        i.replication = ReplicationInfo {
            state: state.into(),
            error: None,
            raw_error: None,
            steps: steps(steps_done),
            eta: None,
            lag: None,
            disks: vec![
                ReplicatedDisk {
                    device_name: "/dev/xvda".into(),
                    total: 10 * GIB,
                    replicated: a,
                    backlogged: 0,
                    rescanned: 0,
                },
                ReplicatedDisk {
                    device_name: "/dev/xvdb".into(),
                    total: 40 * GIB,
                    replicated: done - a,
                    backlogged: if done < total { 96 * MIB } else { 0 },
                    rescanned: 0,
                },
                ReplicatedDisk {
                    device_name: "/dev/xvdc".into(),
                    total: 20 * GIB,
                    replicated: 0,
                    backlogged: 0,
                    rescanned: 0,
                },
            ],
        };
        i.failback.state = failback.into();
        i.failback.client_id = d.client_id.clone();
        // DRS heard from the failback client 2 s and from the agent 5 s before the fixture's now.
        i.failback.client_last_seen = Some("2026-03-14T14:05:07Z".into());
        i.failback.agent_last_seen = Some("2026-03-14T14:05:04Z".into());
        d.on_poll(t, i);
        d.on_writes(t, 5 * GIB + done + done / 50);
    }
    for line in [
        "Starting the demo replicator for i-0a1b2c3d4e5f60013",
        "Downloading replication software…",
        "Configuring replication software…",
        "Pairing with the agent on the recovery instance…",
        "Paired: agent 10.0.3.17:1500",
        "Replicating /dev/xvda -> /dev/sdd (10 GiB)",
        "Replicating /dev/xvdb -> /dev/sdc (40 GiB)",
    ] {
        d.push_log(line.into());
    }
    for k in 1..=12 {
        d.push_log(format!(
            "/dev/xvdb: block range {k}/512 written ({} MiB)",
            k * 80
        ));
    }
    d
}

pub fn dashboard_initial_sync() -> App {
    let mut app = mapping_app();
    app.step = StepId::Replication;
    let mut d = dashboard(300, 40 * MIB, "INITIAL_SYNC", "FAILBACK_IN_PROGRESS", 6);
    d.on_poll_error(DrsError::new(
        DrsErrorKind::Throttled,
        "ThrottlingException: Rate exceeded",
    ));
    app.dashboard = Some(d);
    app
}

/// Copying at 40 MiB/s, then one poll says STALLED on an unstable network (DRS still gives
/// an ETA): every figure measured before would be stale.
pub fn dashboard_stalled() -> App {
    let mut app = dashboard_initial_sync();
    let d = app.dashboard.as_mut().unwrap();
    let mut i = d.instance.clone().unwrap();
    i.replication.state = "STALLED".into();
    i.replication.error = Some("UNSTABLE_NETWORK".into());
    i.replication.raw_error = Some("Network instability is preventing data replication".into());
    i.replication.eta = Some("2026-03-14T15:00:00Z".into());
    d.on_poll(NOW + 1.0, i);
    d.on_writes(NOW + 1.0, d.written_base.unwrap() + d.written);
    app.now = NOW + 1.0;
    app
}

pub fn dashboard_ready() -> App {
    let mut app = mapping_app();
    app.step = StepId::Replication;
    let mut d = dashboard(1200, 48 * MIB, "CONTINUOUS", "FAILBACK_READY_FOR_LAUNCH", 7);
    assert_eq!(d.launch, Launch::Ready);
    d.push_log("Initial sync complete; replication is continuous".into());
    app.dashboard = Some(d);
    app
}

pub fn dashboard_confirming() -> App {
    let mut app = dashboard_ready();
    app.dashboard.as_mut().unwrap().launch = Launch::Confirming;
    app
}

pub fn dashboard_denied() -> App {
    let mut app = dashboard_ready();
    let denied = DrsError::new(
        DrsErrorKind::AccessDenied {
            action: Some("drs:StartFailbackLaunch".into()),
        },
        "AccessDeniedException: not authorized to perform: drs:StartFailbackLaunch",
    );
    let run = app.dashboard.as_ref().unwrap().run;
    update(
        &mut app,
        Msg::LaunchStarted {
            run,
            result: Err(denied),
        },
    );
    assert!(matches!(
        app.dashboard.as_ref().unwrap().launch,
        Launch::Denied(_)
    ));
    app
}

/// The worker's message for the dashboard's run.
fn from_worker(app: &mut App, msg: impl FnOnce(RunId) -> Msg) {
    let run = app.dashboard.as_ref().expect("a dashboard").run;
    update(app, msg(run));
}

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Throttled to 100 Mbps over the private IP; the throttle's editor open.
pub fn dashboard_throttle() -> App {
    let mut app = dashboard_initial_sync();
    from_worker(&mut app, |run| Msg::Configuration {
        run,
        result: Ok(FailbackReplicationConfiguration {
            bandwidth_mbps: 100,
            use_private_ip: true,
        }),
    });
    key(&mut app, KeyCode::Char('b'));
    app
}

/// The operator typed a fraction.
pub fn dashboard_throttle_error() -> App {
    let mut app = dashboard_throttle();
    key(&mut app, KeyCode::Char('.'));
    key(&mut app, KeyCode::Char('5'));
    key(&mut app, KeyCode::Enter);
    assert!(
        app.dashboard
            .as_ref()
            .unwrap()
            .throttle
            .as_ref()
            .unwrap()
            .error
            .is_some()
    );
    app
}

/// Credentials with only the failback installation policy: the configuration is not theirs
/// to read.
pub fn dashboard_policy_only() -> App {
    let mut app = dashboard_initial_sync();
    from_worker(&mut app, |run| Msg::Configuration {
        run,
        result: Err(DrsError::new(
            DrsErrorKind::AccessDenied {
                action: Some("drs:GetFailbackReplicationConfiguration".into()),
            },
            "AccessDeniedException: not authorized to perform: drs:GetFailbackReplicationConfiguration",
        )),
    });
    app
}

/// DRS said ExpiredToken; the operator typed a key id and a secret, the worker refused them.
pub fn dashboard_credentials_expired() -> App {
    let mut app = dashboard_initial_sync();
    let detail = DrsError::new(DrsErrorKind::ExpiredToken, "ExpiredTokenException").advice();
    from_worker(&mut app, |run| Msg::CredentialsExpired { run, detail });
    update(
        &mut app,
        Msg::Paste(
            "export AWS_ACCESS_KEY_ID=ASIAFRESHEXAMPLE0004\n\
             export AWS_SECRET_ACCESS_KEY=FreshSecretKey/NotReal/00000000000000004\n\
             export AWS_SESSION_TOKEN=FreshSessionToken/NotReal/0004\n"
                .into(),
        ),
    );
    key(&mut app, KeyCode::Enter);
    assert!(
        app.dashboard
            .as_ref()
            .unwrap()
            .fresh_credentials
            .as_ref()
            .unwrap()
            .sending
    );
    from_worker(&mut app, |run| Msg::WorkerNotice {
        run,
        message: "These credentials were not accepted: AWS does not know this access key id. \
                  Check it for typos (it is 20 characters, AKIA... or ASIA...), or that the \
                  session token belongs to it."
            .into(),
    });
    app
}

pub fn dashboard_launch_started() -> App {
    let mut app = dashboard_ready();
    app.dashboard.as_mut().unwrap().launch = Launch::Started(Job {
        id: "drsjob-3a4b5c6d7e8f90123".into(),
        kind: "LAUNCH".into(),
        initiated_by: "FAILBACK".into(),
        status: "STARTED".into(),
        created: Some("2026-03-14T13:58:02Z".into()),
        ended: None,
    });
    app
}

pub fn result_completed() -> App {
    let mut app = app_at(StepId::Result);
    let event = |time: &str, event: &str, detail: Option<&str>| JobLogItem {
        time: time.into(),
        event: event.into(),
        detail: detail.map(Into::into),
    };
    app.outcome = Some(Outcome::Completed(Summary {
        instance_id: WEB01.into(),
        duration_secs: 7_203,
        replicated_bytes: 50 * GIB,
        written_bytes: 51 * GIB,
        job: Some(Job {
            id: "drsjob-3a4b5c6d7e8f90123".into(),
            kind: "LAUNCH".into(),
            initiated_by: "FAILBACK".into(),
            status: "COMPLETED".into(),
            created: Some("2026-03-14T13:58:02Z".into()),
            ended: Some("2026-03-14T14:04:51Z".into()),
        }),
        timeline: Loadable::Loaded(vec![
            event("2026-03-14T13:58:02Z", "JOB_START", None),
            event("2026-03-14T13:58:10Z", "SNAPSHOT_START", None),
            event("2026-03-14T13:59:40Z", "SNAPSHOT_END", None),
            event(
                "2026-03-14T13:59:41Z",
                "CONVERSION_START",
                Some("conversion server i-0fedcba9876543210"),
            ),
            event("2026-03-14T14:03:12Z", "CONVERSION_END", None),
            event("2026-03-14T14:03:13Z", "LAUNCH_START", None),
            event("2026-03-14T14:04:50Z", "LAUNCH_END", None),
            event("2026-03-14T14:04:51Z", "JOB_END", None),
        ]),
        copied: targets(),
        boot_volume: Some("/dev/xvda".into()),
    }));
    app
}

pub fn result_failed() -> App {
    let mut app = app_at(StepId::Result);
    app.log_path = Some("/var/log/drs-failback/drs-failback.log".into());
    app.outcome = Some(Outcome::Failed(Failure {
        what: "The replication software stopped: connection to the recovery instance on TCP 1500 was reset (10.0.3.17:1500)".into(),
        last_log: vec![
            "Replicating /dev/xvdb -> /dev/sdc (40 GiB)".into(),
            "/dev/xvdb: block range 211/512 written (16880 MiB)".into(),
            "connection reset by peer; retrying in 5 s".into(),
            "connection reset by peer; retrying in 10 s".into(),
            "giving up after 3 attempts".into(),
        ],
    }));
    app
}

/// The worker downloads AWS's replication software; DRS has not answered yet.
pub fn dashboard_downloading() -> App {
    let mut app = mapping_app();
    app.step = StepId::Replication;
    let mut d = Dashboard::new(RunId(1), WEB01.into(), targets(), NOW - 12.0);
    d.download = Some(drs_failback::failback_software::Progress {
        file: "failback_assets.tar.gz".into(),
        bytes: 12 * MIB,
        total: Some(113 * MIB),
        bytes_per_second: Some(4.3 * MIB as f64),
        eta_seconds: Some(24),
    });
    app.dashboard = Some(d);
    app
}

pub fn help_modal() -> App {
    let mut app = credentials_inline_error();
    app.modal = Some(Modal::Help);
    app
}

pub fn quit_modal() -> App {
    let mut app = dashboard_initial_sync();
    app.modal = Some(Modal::ConfirmQuit);
    app
}

pub fn ssh_starting() -> App {
    let mut app = welcome();
    app.modal = Some(Modal::Ssh);
    app.ssh = Loadable::Loading(7);
    app
}

pub fn ssh_enabled() -> App {
    let mut app = welcome();
    app.modal = Some(Modal::Ssh);
    app.ssh = Loadable::Loaded(drs_failback::domain::ssh::SshAccess {
        password: zeroize::Zeroizing::new("7hKq-m3Vx-Rt9c-WpZ4".into()),
        addresses: vec![
            ("eth0".into(), "10.0.2.15".into()),
            ("eth0".into(), "fec0::5054:ff:fe12:3456".into()),
        ],
        fingerprints: vec![
            (
                "ED25519".into(),
                "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".into(),
            ),
            (
                "ECDSA".into(),
                "SHA256:Xq5Bkqm0qNQb2lWJ5U0sR8tE3JvqGZyKcJ4v2b3xYqA".into(),
            ),
            (
                "RSA".into(),
                "SHA256:3GTUdF7d6pU0e0yZp6zX9w2qGQmRrV8mX1yq9bK3u2o".into(),
            ),
        ],
    });
    app
}

pub fn ssh_not_available() -> App {
    let mut app = welcome();
    app.modal = Some(Modal::Ssh);
    app.ssh = Loadable::Failed(drs_failback::domain::ssh::SshError::NotAvailable(
        "this is not the drs-failback live system (/usr/local/sbin/drs-ssh-enable is missing)"
            .into(),
    ));
    app
}

/// A fixture's snapshot name and builder.
pub type Builder = (&'static str, fn() -> App);

/// Every fixture's builder, by snapshot name.
pub fn builders() -> Vec<Builder> {
    vec![
        ("welcome", welcome),
        ("welcome_reading", welcome_reading),
        ("preflight_checks", preflight_checks),
        ("preflight_running", preflight_running),
        ("preflight_set_clock", preflight_set_clock),
        ("preflight_ram_override", preflight_ram_override),
        ("network_static", network_static),
        ("network_missing_dns", network_missing_dns),
        ("network_applied", network_applied),
        ("credentials_inline_error", credentials_inline_error),
        ("credentials_clock_skew", credentials_clock_skew),
        (
            "credentials_default_chain_verifying",
            credentials_default_chain_verifying,
        ),
        ("endpoint_checking", endpoint_checking),
        ("endpoint_failed", endpoint_failed),
        ("instance_list", instance_list),
        ("instance_too_large", instance_too_large),
        ("instance_failed", instance_failed),
        ("mapping_too_small", mapping_too_small),
        ("mapping_disk_gone", mapping_disk_gone),
        ("mapping_picker", mapping_picker),
        ("mapping_picker_refused", mapping_picker_refused),
        ("mapping_copy_view", mapping_copy_view),
        ("mapping_by_uuid_missing", mapping_by_uuid_missing),
        ("mapping_paste_error", mapping_paste_error),
        ("mapping_paste_long_error", mapping_paste_long_error),
        ("review", review),
        ("review_boot_excluded", review_boot_excluded),
        ("review_checks_failing", review_checks_failing),
        ("review_waiting", review_waiting),
        ("dashboard_downloading", dashboard_downloading),
        ("dashboard_initial_sync", dashboard_initial_sync),
        ("dashboard_stalled", dashboard_stalled),
        ("dashboard_ready", dashboard_ready),
        ("dashboard_confirming", dashboard_confirming),
        ("dashboard_denied", dashboard_denied),
        ("dashboard_launch_started", dashboard_launch_started),
        ("dashboard_throttle", dashboard_throttle),
        ("dashboard_throttle_error", dashboard_throttle_error),
        ("dashboard_policy_only", dashboard_policy_only),
        (
            "dashboard_credentials_expired",
            dashboard_credentials_expired,
        ),
        ("result_completed", result_completed),
        ("result_failed", result_failed),
        ("help_modal", help_modal),
        ("quit_modal", quit_modal),
        ("ssh_starting", ssh_starting),
        ("ssh_enabled", ssh_enabled),
        ("ssh_not_available", ssh_not_available),
    ]
}

/// Every fixture, by snapshot name.
pub fn all() -> Vec<(&'static str, App)> {
    builders().into_iter().map(|(n, f)| (n, f())).collect()
}
