//! `drs-failback disks --json --include-loop` on real loop devices over sparse files: exact
//! sizes, a GPT with ext4, one mounted, one used as swap, one read-only; the mapping's reasons
//! for the same disks; the write counters; and the boot-medium rule on this machine's own root.
//! They need root and loop devices: where either is missing they say so and pass.

mod common;

use common::command::run;
use common::sandbox::BIN;
use drs_failback::disks::DiskSource;
use drs_failback::disks::udev_disks::UdevDisks;
use drs_failback::domain::bytes::{Bytes, GIB, MIB};
use drs_failback::domain::mapping::{check_rows, choices_from_mapping, parse_mapping};
use drs_failback::domain::model::{LocalDisk, RecoveryVolume};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Undoes what a test set up, last first, even when an assertion failed on the way.
#[derive(Default)]
struct Cleanup {
    undo: Vec<Vec<String>>,
}

impl Cleanup {
    fn then_undo(&mut self, command: &[&str]) {
        self.undo
            .push(command.iter().map(|s| s.to_string()).collect());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for command in self.undo.iter().rev() {
            if let Err(e) = run(
                &command[0],
                &command[1..].iter().map(String::as_str).collect::<Vec<_>>(),
            ) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Why these tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control (no loop driver)".into());
    }
    if let Err(e) = run("losetup", &["--find"]) {
        return Some(format!("no free loop device: {e}"));
    }
    None
}

fn sparse(dir: &Path, name: &str, bytes: u64) -> String {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .set_len(bytes)
        .unwrap();
    path.display().to_string()
}

fn attach(cleanup: &mut Cleanup, file: &str, extra: &[&str]) -> String {
    let mut args = vec!["--find", "--show"];
    args.extend_from_slice(extra);
    args.push(file);
    let device = run("losetup", &args).unwrap();
    cleanup.then_undo(&["losetup", "--detach", &device]);
    device
}

fn disks_json(include_loop: bool) -> Value {
    let mut args = vec!["disks", "--json"];
    if include_loop {
        args.push("--include-loop");
    }
    serde_json::from_str(&run(BIN, &args).unwrap()).unwrap()
}

/// Our loop device in the report, by the file it reads: other loop devices may exist.
fn backed_by<'a>(report: &'a Value, file: &str) -> Option<&'a Value> {
    let file = std::fs::canonicalize(file).unwrap();
    report["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["backing_file"] == file.to_str().unwrap())
}

fn ours<'a>(report: &'a Value, file: &str) -> &'a Value {
    backed_by(report, file).unwrap_or_else(|| panic!("no disk reads {file}: {report:#}"))
}

fn messages(disk: &Value) -> Vec<String> {
    disk["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn loop_devices_show_exactly_the_right_reasons() {
    if let Some(why) = unavailable() {
        println!("SKIPPED loop-device disk tests: {why}");
        return;
    }
    // Declared before the cleanup so that the files outlive the devices over them.
    let dir = tempfile::tempdir().unwrap();
    let mut cleanup = Cleanup::default();

    let fractional = 9 * GIB + 3 * GIB / 4;
    let empty_file = sparse(dir.path(), "fractional.img", fractional);
    let empty = attach(&mut cleanup, &empty_file, &[]);

    // A GPT with one partition holding ext4, made in the file before it is attached.
    let gpt_file = sparse(dir.path(), "gpt.img", GIB);
    let mut sfdisk = Command::new("sfdisk")
        .args(["--quiet", &gpt_file])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk (package fdisk; .ci/run installs it)");
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: gpt\n,,L\n")
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-L",
            "fbtest",
            "-E",
            "offset=1048576",
            &gpt_file,
            "900M",
        ],
    )
    .unwrap();
    let gpt = attach(&mut cleanup, &gpt_file, &["--partscan"]);

    let mounted_file = sparse(dir.path(), "mounted.img", 64 * MIB);
    run("mkfs.ext4", &["-q", "-F", &mounted_file]).unwrap();
    let mounted = attach(&mut cleanup, &mounted_file, &[]);
    let mount_point = dir.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    let mount_point = mount_point.display().to_string();
    run("mount", &[&mounted, &mount_point]).unwrap();
    cleanup.then_undo(&["umount", &mount_point]);

    let swap_file = sparse(dir.path(), "swap.img", 64 * MIB);
    run("mkswap", &["-q", &swap_file]).unwrap();
    let swap = attach(&mut cleanup, &swap_file, &[]);
    let swap_on = run("swapon", &[&swap]);
    if swap_on.is_ok() {
        cleanup.then_undo(&["swapoff", &swap]);
    }

    let read_only_file = sparse(dir.path(), "read-only.img", 32 * MIB);
    let read_only = attach(&mut cleanup, &read_only_file, &["--read-only"]);

    let report = disks_json(true);

    let d = ours(&report, &empty_file);
    assert_eq!(d["device"], empty.as_str());
    assert_eq!(d["bytes"], fractional);
    assert_eq!(d["size"], "9.75 GiB");
    assert_eq!(d["kind"], "virtual");
    assert_eq!(d["selectable"], true);
    assert_eq!(messages(d), Vec::<String>::new());
    assert_eq!(d["contents"], "empty");

    let d = ours(&report, &gpt_file);
    assert_eq!(d["device"], gpt.as_str());
    assert_eq!(d["bytes"], GIB);
    assert_eq!(d["partition_table"], "gpt");
    assert_eq!(d["selectable"], true);
    let partitions = d["partitions"].as_array().unwrap();
    if partitions.is_empty() {
        // Some kernels (sandboxes) do not scan loop devices for partitions.
        assert_eq!(d["contents"], "gpt partition table, no partitions");
    } else {
        assert_eq!(partitions[0]["filesystem"]["type"], "ext4");
        assert_eq!(partitions[0]["filesystem"]["label"], "fbtest");
        assert!(d["contents"].as_str().unwrap().contains("ext4 \"fbtest\""));
    }

    let d = ours(&report, &mounted_file);
    assert_eq!(messages(d), [format!("mounted at {mount_point}")]);
    assert_eq!(d["filesystem"]["type"], "ext4");
    assert_eq!(d["boot_medium"], false);

    let d = ours(&report, &swap_file);
    match &swap_on {
        Ok(_) => assert_eq!(messages(d), [format!("used as swap ({swap})")]),
        Err(e) => println!("swap not checked: swapon refused here: {e}"),
    }

    let d = ours(&report, &read_only_file);
    assert_eq!(d["read_only"], true);
    assert_eq!(messages(d), ["read-only"]);

    // Without --include-loop none of them is offered.
    let plain = disks_json(false);
    for file in [
        &empty_file,
        &gpt_file,
        &mounted_file,
        &swap_file,
        &read_only_file,
    ] {
        assert!(
            backed_by(&plain, file).is_none(),
            "{file} listed without --include-loop"
        );
    }

    // The mapping step, given these disks in a pasted mapping, refuses them for the same reasons.
    let source = UdevDisks::new(true);
    let listed: Vec<LocalDisk> = source.list().unwrap();
    let volume = |name: &str| RecoveryVolume {
        device_name: name.into(),
        bytes: Bytes(10 * GIB),
    };
    let volumes = [
        volume("/dev/xvda"),
        volume("/dev/xvdb"),
        volume("/dev/xvdc"),
    ];
    let pasted = format!("/dev/xvda={empty},/dev/xvdb={mounted},/dev/xvdc={read_only}");
    let choices =
        choices_from_mapping(&parse_mapping(&pasted).unwrap(), &volumes, &listed).unwrap();
    let rows = check_rows(&volumes, &listed, &choices);
    let described: Vec<String> = rows.iter().map(|r| r.describe()).collect();
    assert_eq!(
        described,
        [
            "fits (volume is this disk rounded up to whole GiB)".to_string(),
            format!("mounted at {mount_point}"),
            "read-only".to_string()
        ]
    );

    // Its write counters see what reaches the device.
    let target = listed.iter().find(|d| d.device == empty).unwrap();
    let before = source.written_bytes(target).unwrap();
    let mut device = std::fs::OpenOptions::new()
        .write(true)
        .open(&empty)
        .unwrap();
    device.write_all(&vec![0x5a; MIB as usize]).unwrap();
    device.sync_all().unwrap();
    let after = source.written_bytes(target).unwrap();
    assert!(after - before >= MIB, "{before} then {after}");
}

fn used_bytes(report: &Value, file: &str) -> u64 {
    let d = ours(report, file);
    d["filesystem"]["used_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no used space for {file}: {d:#}"))
}

#[test]
fn used_space_of_ext4_is_read_unmounted_and_mounted() {
    if let Some(why) = unavailable() {
        println!("SKIPPED used-space test: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cleanup = Cleanup::default();
    let file = sparse(dir.path(), "used.img", 64 * MIB);
    run("mkfs.ext4", &["-q", "-F", "-L", "fbused", &file]).unwrap();
    let device = attach(&mut cleanup, &file, &[]);

    // Unmounted: from the superblock, without the journal and metadata mke2fs recorded.
    let report = disks_json(true);
    let fresh = used_bytes(&report, &file);
    let fs = &ours(&report, &file)["filesystem"];
    assert_eq!(fs["used_estimated"], false, "{fs:#}");
    let contents = ours(&report, &file)["contents"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(contents, format!("ext4 \"fbused\" ({} used)", Bytes(fresh)));

    // Mounted: statvfs (what df shows) says the same of the same filesystem.
    let mount_point = dir.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    let mount_point = mount_point.display().to_string();
    run("mount", &[&device, &mount_point]).unwrap();
    cleanup.then_undo(&["umount", &mount_point]);
    assert_eq!(
        used_bytes(&disks_json(true), &file),
        fresh,
        "unmounted and mounted figures differ"
    );
    // With 16 MiB written.
    let mut data = std::fs::File::create(Path::new(&mount_point).join("data")).unwrap();
    data.write_all(&vec![0xa5; 16 * MIB as usize]).unwrap();
    data.sync_all().unwrap();
    drop(data);
    let mounted = used_bytes(&disks_json(true), &file);
    assert!(mounted >= fresh + 16 * MIB, "{fresh} then {mounted}");

    // Unmounted again: the superblock counts the new data.
    run("umount", &[&mount_point]).unwrap();
    cleanup.undo.pop();
    let after = used_bytes(&disks_json(true), &file);
    assert!(after >= fresh + 16 * MIB, "{fresh} then {after}");
    assert!(after <= mounted + MIB, "{mounted} then {after}");
}

#[test]
fn used_space_of_an_ext4_without_its_recorded_overhead_is_about_less_the_journal() {
    use std::os::unix::fs::FileExt;
    if let Some(why) = unavailable() {
        println!("SKIPPED used-space estimate test: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cleanup = Cleanup::default();
    let file = sparse(dir.path(), "old.img", 64 * MIB);
    // An 8 MiB journal, and no s_overhead_clusters, as older mke2fs made them (without
    // superblock checksums, so clearing it leaves the superblock valid).
    run(
        "mkfs.ext4",
        &["-q", "-F", "-O", "^metadata_csum", "-J", "size=8", &file],
    )
    .unwrap();
    let image = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&file)
        .unwrap();
    let mut sb = [0u8; 1024];
    image.read_exact_at(&mut sb, 1024).unwrap();
    image.write_all_at(&[0; 4], 1024 + 0x248).unwrap();
    image.sync_all().unwrap();
    let le32 = |at: usize| u64::from(u32::from_le_bytes(sb[at..at + 4].try_into().unwrap()));
    let in_use = (le32(0x04) - le32(0x0C)) << (10 + le32(0x18));
    attach(&mut cleanup, &file, &[]);

    let report = disks_json(true);
    let estimate = used_bytes(&report, &file);
    assert_eq!(estimate, in_use - 8 * MIB, "the journal is taken off");
    let d = ours(&report, &file);
    assert_eq!(d["filesystem"]["used_estimated"], true, "{d:#}");
    assert_eq!(
        d["contents"].as_str().unwrap(),
        format!("ext4 (about {} used)", Bytes(estimate))
    );
}

/// The device number `/` is mounted from, when it is a block device.
fn root_devnum() -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))?;
    let devnum = line.split(' ').nth(2)?.to_owned();
    (!devnum.starts_with("0:")).then_some(devnum)
}

#[test]
fn the_disk_holding_root_is_the_boot_medium() {
    let Some(root) = root_devnum() else {
        println!("SKIPPED boot-medium check: / is not on a block device here (overlay, tmpfs)");
        return;
    };
    let report = disks_json(false);
    let disks = report["disks"].as_array().unwrap();
    let holding_root: Vec<&Value> = disks
        .iter()
        .filter(|d| d["mounts"].as_array().unwrap().iter().any(|m| m == "/"))
        .collect();
    if holding_root.is_empty() {
        // Root on something not listed (an NFS root, a loop device of a file): nothing is
        // offered that holds it, which is what matters.
        println!("SKIPPED boot-medium check: no listed disk holds / ({root})");
        return;
    }
    for d in holding_root {
        assert_eq!(d["boot_medium"], true, "{d:#}");
        assert_eq!(d["selectable"], false);
        assert_eq!(d["reasons"][0]["code"], "boot-medium");
        assert_eq!(d["reasons"][1]["code"], "mounted");
    }
    let direct = disks.iter().find(|d| {
        d["devnum"] == root.as_str()
            || d["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["devnum"] == root.as_str())
    });
    if let Some(d) = direct {
        assert_eq!(d["boot_medium"], true);
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    use std::process::Stdio;
    // `drs-failback disks | head -1`: the reader has gone before the listing is written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["disks", "--include-loop"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
