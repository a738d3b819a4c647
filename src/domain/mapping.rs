//! Volume mappings: the formats `failback_entry --device-mapping` takes, and the checks that keep
//! a recovery volume off the wrong local disk.
//!
//! CSV rules (one entry per recovery-instance device, entries separated by `,` or line breaks):
//! - an entry with `=` splits at it (`/dev/xvdb=/dev/sdb`, `C:=/dev/sdb`); a second `=` is an error;
//! - otherwise `:` separates. `X::rest` keeps a Windows drive letter `X:` whole on the left;
//!   anything else splits at the first `:`, so local persistent names that contain colons
//!   (by-path `pci-0000:00:10.0-scsi-0:0:0:0`) stay whole on the right.
//!
//! CSV cannot carry names containing `,` or `=`; the JSON forms can. `ALL` is reserved as in the
//! official client: a leading `ALL=` is the paste prefix, never a device name.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::bytes::Bytes;
use super::fit::{Fit, fit};
use super::local_disks::{Refusal, refusal};
use super::model::{DiskId, DiskMismatch, LocalDisk, RecoveryVolume};

const EXCLUDE: &str = "EXCLUDE";
const LIST_DEVICE_KEY: &str = "recoveryInstanceDeviceName";
const LIST_TARGET_KEY: &str = "failbackClientDeviceName";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The local side as written: a /dev name or a persistent id.
    Disk(String),
    Exclude,
}

impl Target {
    fn parse(text: &str) -> Target {
        if text.eq_ignore_ascii_case(EXCLUDE) {
            Target::Exclude
        } else {
            Target::Disk(text.to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Target::Disk(name) => name,
            Target::Exclude => EXCLUDE,
        }
    }
}

/// (recovery-instance device name, target), in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    pub entries: Vec<(String, Target)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingFormat {
    CsvEquals,
    CsvColon,
    JsonObject,
    JsonList,
}

impl MappingFormat {
    pub const ALL: [MappingFormat; 4] = [
        MappingFormat::CsvEquals,
        MappingFormat::CsvColon,
        MappingFormat::JsonObject,
        MappingFormat::JsonList,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MappingFormat::CsvEquals => "CSV with =",
            MappingFormat::CsvColon => "CSV with : (Windows drive letters)",
            MappingFormat::JsonObject => "JSON object",
            MappingFormat::JsonList => "JSON list (DRS API format)",
        }
    }
}

/// How the local side is named, as `--dm-value-format` takes it (serialized as its value,
/// e.g. `dev-name`, in the worker's protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmValueFormat {
    DevName,
    ByPath,
    ById,
    ByUuid,
    /// Any persistent name (by-id, by-path or by-uuid), never a /dev name.
    AllStrict,
}

impl DmValueFormat {
    /// Every value `--dm-value-format` takes (`ALL` are the single kinds of name).
    pub const ARGS: [DmValueFormat; 5] = [
        DmValueFormat::DevName,
        DmValueFormat::ByPath,
        DmValueFormat::ById,
        DmValueFormat::ByUuid,
        DmValueFormat::AllStrict,
    ];

    pub fn from_arg(text: &str) -> Option<DmValueFormat> {
        Self::ARGS.into_iter().find(|f| f.as_arg() == text.trim())
    }

    pub const ALL: [DmValueFormat; 4] = [
        DmValueFormat::DevName,
        DmValueFormat::ByPath,
        DmValueFormat::ById,
        DmValueFormat::ByUuid,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DmValueFormat::DevName => "device name (/dev/sdb)",
            DmValueFormat::ByPath => "by-path (bus position)",
            DmValueFormat::ById => "by-id (model and serial)",
            DmValueFormat::ByUuid => "by-uuid",
            DmValueFormat::AllStrict => "all-strict (any persistent name)",
        }
    }

    pub fn as_arg(self) -> &'static str {
        match self {
            DmValueFormat::DevName => "dev-name",
            DmValueFormat::ByPath => "by-path",
            DmValueFormat::ById => "by-id",
            DmValueFormat::ByUuid => "by-uuid",
            DmValueFormat::AllStrict => "all-strict",
        }
    }

    fn link_dir(self) -> Option<&'static str> {
        match self {
            DmValueFormat::DevName | DmValueFormat::AllStrict => None,
            DmValueFormat::ByPath => Some("/dev/disk/by-path/"),
            DmValueFormat::ById => Some("/dev/disk/by-id/"),
            DmValueFormat::ByUuid => Some("/dev/disk/by-uuid/"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingParseError {
    Empty,
    /// `position` is 1-based; `entry` is the entry as written; `problem` says what is wrong and
    /// what to write instead.
    BadEntry {
        position: usize,
        entry: String,
        problem: String,
    },
    BadJson {
        message: String,
    },
    DuplicateVolume(String),
    /// A `"` or `'` without its pair, as in `ALL="/dev/xvda=/dev/sda`.
    UnbalancedQuote(char),
}

impl fmt::Display for MappingParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingParseError::Empty => write!(
                f,
                "The mapping is empty: give each recovery-instance device a local disk or {EXCLUDE}, \
                 e.g. /dev/xvda=/dev/sda,/dev/xvdb={EXCLUDE}."
            ),
            MappingParseError::BadEntry {
                position,
                entry,
                problem,
            } => write!(f, "Entry {position} `{entry}` {problem}."),
            MappingParseError::BadJson { message } => write!(
                f,
                "The mapping is not valid JSON ({message}); check the quotes, commas and braces, \
                 or use the CSV form /dev/xvda=/dev/sda."
            ),
            MappingParseError::DuplicateVolume(device) => write!(
                f,
                "{device} appears more than once in the mapping; keep one entry for it."
            ),
            MappingParseError::UnbalancedQuote(q) => write!(
                f,
                "The mapping has a {q} without its pair (as in ALL={q}...{q}): close it at the end, or leave both out."
            ),
        }
    }
}

impl std::error::Error for MappingParseError {}

/// Parses any of the three `--device-mapping` formats, also as pasted into the official client's
/// prompt (`ALL="..."`, `ALL='...'`, surrounding quotes).
pub fn parse_mapping(text: &str) -> Result<Mapping, MappingParseError> {
    let body = unwrap_pasted(text);
    // JSON holds quotes in pairs of its own; elsewhere an odd count is a quote left open.
    if !body.starts_with(['{', '['])
        && let Some(q) = ['"', '\'']
            .into_iter()
            .find(|q| body.matches(*q).count() % 2 == 1)
    {
        return Err(MappingParseError::UnbalancedQuote(q));
    }
    let entries = if body.starts_with('{') {
        parse_json_object(body)?
    } else if body.starts_with('[') {
        parse_json_list(body)?
    } else {
        parse_csv(body)?
    };
    if entries.is_empty() {
        return Err(MappingParseError::Empty);
    }
    let mut seen = HashSet::new();
    for (device, _) in &entries {
        if !seen.insert(device.as_str()) {
            return Err(MappingParseError::DuplicateVolume(device.clone()));
        }
    }
    Ok(Mapping { entries })
}

/// A pasted mapping as one line of the paste box, read as the pasted lines would be: CSV's
/// line breaks separate entries (commas), JSON's are whitespace (left to the box).
pub fn one_line(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    if unwrap_pasted(text).starts_with(['{', '[']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace(['\n', '\r'], ",")
}

fn unwrap_pasted(text: &str) -> &str {
    let mut body = text.trim();
    if let Some(rest) = body
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("ALL"))
        .and_then(|_| body[3..].trim_start().strip_prefix('='))
    {
        body = rest.trim();
    }
    for quote in ['"', '\''] {
        if body.len() >= 2 && body.starts_with(quote) && body.ends_with(quote) {
            return body[1..body.len() - 1].trim();
        }
    }
    body
}

/// Characters of an entry quoted back at most: a long paste must not push the advice away.
const SHOWN_ENTRY: usize = 48;

fn bad_entry(position: usize, entry: &str, problem: String) -> MappingParseError {
    let chars: Vec<char> = entry.chars().collect();
    let entry = if chars.len() > SHOWN_ENTRY {
        let (head, tail) = (&chars[..SHOWN_ENTRY - 16], &chars[chars.len() - 12..]);
        format!(
            "{} ... {}",
            head.iter().collect::<String>(),
            tail.iter().collect::<String>()
        )
    } else {
        entry.to_string()
    };
    MappingParseError::BadEntry {
        position,
        entry,
        problem,
    }
}

/// Trims both sides and refuses empty ones; shared by all formats.
fn checked_entry(device: &str, target: &str) -> Result<(String, Target), String> {
    let (device, target) = (device.trim(), target.trim());
    if device.is_empty() {
        return Err(
            "has no recovery-instance device; name it first, e.g. /dev/xvdb=/dev/sdb".into(),
        );
    }
    if target.is_empty() {
        return Err(format!(
            "has no local disk for {device}; name one such as /dev/sdb, or {EXCLUDE} to skip the volume"
        ));
    }
    Ok((device.to_string(), Target::parse(target)))
}

fn parse_csv(body: &str) -> Result<Vec<(String, Target)>, MappingParseError> {
    let mut entries = Vec::new();
    for (index, piece) in body.split([',', '\n']).enumerate() {
        let piece = piece.trim();
        // Trailing commas and blank lines carry nothing.
        if piece.is_empty() {
            continue;
        }
        let parsed =
            split_csv_entry(piece).and_then(|(device, target)| checked_entry(device, target));
        entries.push(parsed.map_err(|problem| bad_entry(index + 1, piece, problem))?);
    }
    Ok(entries)
}

fn split_csv_entry(entry: &str) -> Result<(&str, &str), String> {
    if let Some((device, target)) = entry.split_once('=') {
        if target.contains('=') {
            return Err(
                "has more than one `=`; write one recovery_device=local_device per entry, \
                        separated by commas"
                    .into(),
            );
        }
        return Ok((device, target));
    }
    split_colon(entry).ok_or_else(|| {
        "has no `=` or `:`; write it as recovery_device=local_device, e.g. /dev/xvdb=/dev/sdb"
            .into()
    })
}

fn split_colon(entry: &str) -> Option<(&str, &str)> {
    let b = entry.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b':' {
        return Some((&entry[..2], &entry[3..]));
    }
    entry.split_once(':')
}

/// A JSON object read in the order written, keeping repeated keys so they can be reported.
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn bad_json(error: serde_json::Error) -> MappingParseError {
    MappingParseError::BadJson {
        message: error.to_string(),
    }
}

fn parse_json_object(body: &str) -> Result<Vec<(String, Target)>, MappingParseError> {
    let OrderedObject(pairs) = serde_json::from_str(body).map_err(bad_json)?;
    let mut entries = Vec::new();
    for (index, (device, value)) in pairs.iter().enumerate() {
        let parsed = match value {
            Value::String(target) => checked_entry(device, target),
            other => Err(format!(
                "has {} where a local disk name or \"{EXCLUDE}\" in quotes belongs",
                json_kind(other)
            )),
        };
        let shown = format!("{}:{value}", Value::String(device.clone()));
        entries.push(parsed.map_err(|problem| bad_entry(index + 1, &shown, problem))?);
    }
    Ok(entries)
}

fn parse_json_list(body: &str) -> Result<Vec<(String, Target)>, MappingParseError> {
    let items: Vec<Value> = serde_json::from_str(body).map_err(bad_json)?;
    let mut entries = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let parsed = match item.as_object() {
            Some(fields) => list_field(fields, LIST_DEVICE_KEY).and_then(|device| {
                list_field(fields, LIST_TARGET_KEY).and_then(|target| checked_entry(device, target))
            }),
            None => Err(format!(
                "is {}, not an object; each entry looks like \
                 {{\"{LIST_DEVICE_KEY}\":\"/dev/xvdb\",\"{LIST_TARGET_KEY}\":\"/dev/sdb\"}}",
                json_kind(item)
            )),
        };
        entries.push(parsed.map_err(|problem| bad_entry(index + 1, &item.to_string(), problem))?);
    }
    Ok(entries)
}

fn list_field<'a>(
    fields: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, String> {
    match fields.get(key) {
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(format!(
            "has {} as \"{key}\"; it must be a string in quotes",
            json_kind(other)
        )),
        None => Err(format!(
            "has no \"{key}\"; each entry needs \"{LIST_DEVICE_KEY}\" and \"{LIST_TARGET_KEY}\""
        )),
    }
}

/// Prints a mapping that `parse_mapping` reads back unchanged. In `CsvColon`, an entry whose
/// device name would split wrongly at `:` is written with `=` instead (the parser takes both).
pub fn format_mapping(mapping: &Mapping, format: MappingFormat) -> String {
    let pairs = mapping
        .entries
        .iter()
        .map(|(device, target)| (device.as_str(), target.as_str()));
    let json = |text: &str| Value::String(text.to_string()).to_string();
    let joined: Vec<String> = match format {
        MappingFormat::CsvEquals => pairs.map(|(d, t)| format!("{d}={t}")).collect(),
        MappingFormat::CsvColon => pairs
            .map(|(d, t)| {
                let entry = format!("{d}:{t}");
                if split_colon(&entry) == Some((d, t)) {
                    entry
                } else {
                    format!("{d}={t}")
                }
            })
            .collect(),
        MappingFormat::JsonObject => pairs
            .map(|(d, t)| format!("{}:{}", json(d), json(t)))
            .collect(),
        MappingFormat::JsonList => pairs
            .map(|(d, t)| {
                format!(
                    "{{\"{LIST_DEVICE_KEY}\":{},\"{LIST_TARGET_KEY}\":{}}}",
                    json(d),
                    json(t)
                )
            })
            .collect(),
    };
    let joined = joined.join(",");
    match format {
        MappingFormat::CsvEquals | MappingFormat::CsvColon => joined,
        MappingFormat::JsonObject => format!("{{{joined}}}"),
        MappingFormat::JsonList => format!("[{joined}]"),
    }
}

/// The disk's name in the given format, without the `/dev/disk/by-*/` prefix.
pub fn local_name(disk: &LocalDisk, format: DmValueFormat) -> Option<String> {
    match format {
        DmValueFormat::DevName => Some(disk.device.clone()),
        DmValueFormat::ByPath => disk.by_path.clone(),
        DmValueFormat::ById => disk.by_id.clone(),
        DmValueFormat::ByUuid => disk.by_uuid.clone(),
        DmValueFormat::AllStrict => disk
            .by_id
            .clone()
            .or_else(|| disk.by_path.clone())
            .or_else(|| disk.by_uuid.clone()),
    }
}

/// Why a written local name is not one target disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetProblem {
    NoDisk,
    /// It names a partition of this disk.
    Partition {
        disk: String,
    },
    /// Several disks carry it (cloned disks share UUIDs): these.
    Several(Vec<String>),
}

impl TargetProblem {
    /// The sentence for `name`, saying what to write instead.
    pub fn describe(&self, name: &str) -> String {
        match self {
            TargetProblem::NoDisk => format!(
                "No local disk is named {name}; use a /dev name or a by-path, by-id or by-uuid \
                 name from the disk list (drs-failback disks)."
            ),
            TargetProblem::Partition { disk } => format!(
                "{name} is a partition of {disk}; a volume goes onto a whole disk: name {disk}."
            ),
            TargetProblem::Several(disks) => format!(
                "{name} names {} disks ({}); use a /dev name or a by-id name, which only one \
                 disk has.",
                disks.len(),
                disks.join(", ")
            ),
        }
    }
}

/// Whether `name` as written (`/dev/disk/by-id/x`, `by-id/x` or plain `x`) is `link`
/// (`by-id/x`): any kind when plain, only its own kind with a prefix.
fn names_link(name: &str, link: &str) -> bool {
    let plain = link.split_once('/').map_or(link, |(_, rest)| rest);
    name == plain || name == link || name.strip_prefix("/dev/disk/") == Some(link)
}

/// `/dev/sdb` and `sdb` both name `/dev/sdb`.
fn names_node(name: &str, node: &str) -> bool {
    name == node || node.strip_prefix("/dev/") == Some(name)
}

/// Every persistent link of the disk, `by-id/x` style: all it has, and the preferred names
/// (virtual disks have only those).
fn disk_links(disk: &LocalDisk) -> impl Iterator<Item = String> + '_ {
    let preferred = [
        DmValueFormat::ByPath,
        DmValueFormat::ById,
        DmValueFormat::ByUuid,
    ]
    .into_iter()
    .filter_map(|f| {
        let dir = f.link_dir()?.strip_prefix("/dev/disk/")?;
        Some(format!("{dir}{}", local_name(disk, f)?))
    });
    disk.links.iter().cloned().chain(preferred)
}

/// The disk a written local name means: its /dev name (`sdb` alone works too), or any of its
/// by-path, by-id or by-uuid links with or without its `/dev/disk/by-*/` prefix.
pub fn resolve_target(name: &str, disks: &[LocalDisk]) -> Result<usize, TargetProblem> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TargetProblem::NoDisk);
    }
    if let Some(index) = disks.iter().position(|d| names_node(name, &d.device)) {
        return Ok(index);
    }
    let hits: Vec<usize> = (0..disks.len())
        .filter(|&i| disk_links(&disks[i]).any(|link| names_link(name, &link)))
        .collect();
    match hits[..] {
        [index] => return Ok(index),
        [] => {}
        _ => {
            return Err(TargetProblem::Several(
                hits.iter().map(|&i| disks[i].device.clone()).collect(),
            ));
        }
    }
    match disks.iter().find(|d| {
        d.partition_names
            .iter()
            .any(|p| names_node(name, p) || names_link(name, p))
    }) {
        Some(disk) => Err(TargetProblem::Partition {
            disk: disk.device.clone(),
        }),
        None => Err(TargetProblem::NoDisk),
    }
}

/// A disk that may receive a volume: none of the safety rules refuses it (see `Refusal`).
pub fn is_free_disk(disk: &LocalDisk) -> bool {
    refusal(disk).is_none()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    Fits,
    FitsFractional,
    Excluded,
    Unmapped,
    TooSmall {
        short_by: Bytes,
    },
    UsedTwice {
        other_volume: String,
    },
    /// The chosen disk is no longer listed.
    DiskGone {
        device: String,
    },
    /// The chosen disk's place holds something else now (size, identity), in words.
    DiskChanged {
        device: String,
        what: String,
    },
    /// The disk is the boot medium, mounted, swap, held or read-only.
    Refused(Refusal),
}

impl RowStatus {
    /// Every recovery-instance device needs a local disk that takes it, or EXCLUDE.
    pub fn blocks_start(&self) -> bool {
        !matches!(
            self,
            RowStatus::Fits | RowStatus::FitsFractional | RowStatus::Excluded
        )
    }

    pub fn describe(&self) -> String {
        match self {
            RowStatus::Fits => "fits".into(),
            RowStatus::FitsFractional => {
                "fits (volume is this disk rounded up to whole GiB)".into()
            }
            RowStatus::Excluded => "excluded: not copied".into(),
            RowStatus::Unmapped => "not mapped: choose a disk or EXCLUDE".into(),
            RowStatus::TooSmall { short_by } => format!("too small by {short_by}"),
            RowStatus::UsedTwice { other_volume } => format!("also chosen for {other_volume}"),
            RowStatus::DiskGone { device } => {
                format!("{device} is no longer listed (unplugged or renamed): choose a disk again")
            }
            RowStatus::DiskChanged { device, what } => {
                format!("{device} changed since it was chosen ({what}): choose a disk again")
            }
            RowStatus::Refused(why) => why.describe(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Unmapped,
    /// Held by identity, not by list position: see `DiskId`.
    Disk(DiskId),
    Exclude,
}

impl Choice {
    pub fn of(disk: &LocalDisk) -> Choice {
        Choice::Disk(disk.id())
    }

    /// The listed disk this choice names, when it still names one exactly.
    pub fn disk<'a>(&self, disks: &'a [LocalDisk]) -> Option<(usize, &'a LocalDisk)> {
        match self {
            Choice::Disk(id) => id.find(disks).ok(),
            _ => None,
        }
    }
}

/// One status per recovery volume, in the order of `volumes`; a missing choice counts as unmapped.
pub fn check_rows(
    volumes: &[RecoveryVolume],
    disks: &[LocalDisk],
    choices: &[Choice],
) -> Vec<RowStatus> {
    let unmapped = Choice::Unmapped;
    let choice = |i: usize| choices.get(i).unwrap_or(&unmapped);
    volumes
        .iter()
        .enumerate()
        .map(|(i, volume)| {
            let id = match choice(i) {
                Choice::Unmapped => return RowStatus::Unmapped,
                Choice::Exclude => return RowStatus::Excluded,
                Choice::Disk(id) => id,
            };
            let disk = match id.find(disks) {
                Ok((_, disk)) => disk,
                Err(DiskMismatch::Gone) => {
                    return RowStatus::DiskGone {
                        device: id.device.clone(),
                    };
                }
                Err(DiskMismatch::Changed(what)) => {
                    return RowStatus::DiskChanged {
                        device: id.device.clone(),
                        what,
                    };
                }
            };
            if let Some(why) = refusal(disk) {
                return RowStatus::Refused(why);
            }
            if let Some(other) = (0..volumes.len()).find(|&k| k != i && choice(k) == choice(i)) {
                return RowStatus::UsedTwice {
                    other_volume: volumes[other].device_name.clone(),
                };
            }
            match fit(volume.bytes, disk.bytes) {
                Fit::Fits => RowStatus::Fits,
                Fit::FitsFractional => RowStatus::FitsFractional,
                Fit::TooSmall { short_by } => RowStatus::TooSmall { short_by },
            }
        })
        .collect()
}

/// A complete proposal. Free disks only (see `is_free_disk`). Same names first (xvdb, sdb, vdb,
/// nvme1n1 and PHYSICALDRIVE1 all name the second disk), then best fit: largest volumes first,
/// each onto the smallest free disk that takes it. If preferring names would leave more volumes
/// unmapped than plain best fit, plain best fit wins. Volumes no disk takes stay unmapped.
pub fn auto_map(volumes: &[RecoveryVolume], disks: &[LocalDisk]) -> Vec<Choice> {
    let by_name = assign(volumes, disks, true);
    let plain = assign(volumes, disks, false);
    let mapped = |choices: &[Choice]| choices.iter().filter(|c| **c != Choice::Unmapped).count();
    if mapped(&by_name) >= mapped(&plain) {
        by_name
    } else {
        plain
    }
}

fn assign(volumes: &[RecoveryVolume], disks: &[LocalDisk], names_first: bool) -> Vec<Choice> {
    let mut choices = vec![Choice::Unmapped; volumes.len()];
    let mut taken: Vec<bool> = disks.iter().map(|d| !is_free_disk(d)).collect();
    let mut order: Vec<usize> = (0..volumes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(volumes[i].bytes));
    let passes: &[bool] = if names_first {
        &[true, false]
    } else {
        &[false]
    };
    for &by_name in passes {
        for &i in &order {
            let wanted = device_index(&volumes[i].device_name);
            if choices[i] != Choice::Unmapped || (by_name && wanted.is_none()) {
                continue;
            }
            let best = disks
                .iter()
                .enumerate()
                .filter(|&(j, d)| {
                    !taken[j]
                        && (!by_name || device_index(&d.device) == wanted)
                        && fit(volumes[i].bytes, d.bytes).ok()
                })
                .min_by_key(|&(j, d)| (d.bytes, j))
                .map(|(j, _)| j);
            if let Some(j) = best {
                taken[j] = true;
                choices[i] = Choice::of(&disks[j]);
            }
        }
    }
    choices
}

/// The disk's position in its naming order: `sda`/`xvda`/`vda`/`hda` 0, `sdaa` 26,
/// `nvme{k}n1` k, `PHYSICALDRIVE{k}` k. Partitions and other names have none.
fn device_index(name: &str) -> Option<u32> {
    let base = name.rsplit(['/', '\\']).next()?.to_ascii_lowercase();
    if let Some(rest) = base.strip_prefix("nvme") {
        let (controller, namespace) = rest.split_once('n')?;
        return if namespace == "1" {
            controller.parse().ok()
        } else {
            None
        };
    }
    if let Some(number) = base.strip_prefix("physicaldrive") {
        return number.parse().ok();
    }
    let letters = ["xvd", "sd", "vd", "hd"]
        .iter()
        .find_map(|prefix| base.strip_prefix(prefix))?;
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    // Bijective base 26, as the kernel names them: z is 25, aa is 26.
    letters
        .bytes()
        .try_fold(0u32, |acc, b| {
            acc.checked_mul(26)?.checked_add(u32::from(b - b'a') + 1)
        })
        .map(|n| n - 1)
}

/// Turns a pasted mapping into choices for these volumes and disks. The error names every
/// unknown recovery device, unknown local disk and volume left out, in operator sentences.
pub fn choices_from_mapping(
    mapping: &Mapping,
    volumes: &[RecoveryVolume],
    disks: &[LocalDisk],
) -> Result<Vec<Choice>, String> {
    let mut choices = vec![Choice::Unmapped; volumes.len()];
    let mut seen = vec![false; volumes.len()];
    let (mut unknown_volumes, mut bad_targets, mut repeated) = (Vec::new(), Vec::new(), Vec::new());
    for (device, target) in &mapping.entries {
        let Some(i) = find_volume(device, volumes) else {
            unknown_volumes.push(device.as_str());
            continue;
        };
        if seen[i] {
            repeated.push(volumes[i].device_name.as_str());
        }
        seen[i] = true;
        choices[i] = match target {
            Target::Exclude => Choice::Exclude,
            Target::Disk(name) => match resolve_target(name, disks) {
                Ok(j) => Choice::of(&disks[j]),
                Err(problem) => {
                    bad_targets.push(problem.describe(name.trim()));
                    continue;
                }
            },
        };
    }
    let missing: Vec<&str> = volumes
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(v, _)| v.device_name.as_str())
        .collect();

    let mut problems = Vec::new();
    if !unknown_volumes.is_empty() {
        let all: Vec<&str> = volumes.iter().map(|v| v.device_name.as_str()).collect();
        problems.push(format!(
            "This recovery instance has no {}; its volumes are {}.",
            unknown_volumes.join(", "),
            all.join(", ")
        ));
    }
    if !repeated.is_empty() {
        problems.push(format!(
            "{} is mapped more than once; keep one entry each.",
            repeated.join(", ")
        ));
    }
    problems.extend(bad_targets);
    if !missing.is_empty() {
        problems.push(format!(
            "The mapping leaves out {}; give each a local disk or {EXCLUDE}.",
            missing.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(choices)
    } else {
        Err(problems.join(" "))
    }
}

/// Exact name first; else the same name ignoring `/dev/`, a trailing drive-letter `:` and case,
/// when that is unambiguous.
fn find_volume(name: &str, volumes: &[RecoveryVolume]) -> Option<usize> {
    if let Some(i) = volumes.iter().position(|v| v.device_name == name) {
        return Some(i);
    }
    let loose = |s: &str| {
        let s = s.trim();
        s.strip_prefix("/dev/")
            .unwrap_or(s)
            .trim_end_matches(':')
            .to_ascii_lowercase()
    };
    let wanted = loose(name);
    let mut hits = volumes
        .iter()
        .enumerate()
        .filter(|(_, v)| loose(&v.device_name) == wanted);
    match (hits.next(), hits.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The mapping to hand to `failback_entry`; unmapped rows are left out. A disk without a name in
/// `format` is written by its /dev name.
pub fn mapping_from_choices(
    volumes: &[RecoveryVolume],
    disks: &[LocalDisk],
    choices: &[Choice],
    format: DmValueFormat,
) -> Mapping {
    let entries = volumes
        .iter()
        .zip(choices)
        .filter_map(|(volume, choice)| {
            let target = match choice {
                Choice::Unmapped => return None,
                Choice::Exclude => Target::Exclude,
                Choice::Disk(_) => {
                    let (_, disk) = choice.disk(disks)?;
                    Target::Disk(local_name(disk, format).unwrap_or_else(|| disk.device.clone()))
                }
            };
            Some((volume.device_name.clone(), target))
        })
        .collect();
    Mapping { entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bytes::GIB;
    use crate::domain::fixtures::{disk, disk_gib, vol};

    fn disk_ids(device: &str, path: &str, id: &str, uuid: &str) -> LocalDisk {
        LocalDisk {
            by_path: Some(path.into()),
            by_id: Some(id.into()),
            by_uuid: Some(uuid.into()),
            ..disk_gib(device, 100)
        }
    }

    fn on(disks: &[LocalDisk], i: usize) -> Choice {
        Choice::of(&disks[i])
    }

    fn to(name: &str) -> Target {
        Target::Disk(name.into())
    }

    fn entries(text: &str) -> Vec<(String, Target)> {
        parse_mapping(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .entries
    }

    fn pair(device: &str, target: Target) -> (String, Target) {
        (device.into(), target)
    }

    fn bad(text: &str) -> (usize, String, String) {
        match parse_mapping(text) {
            Err(MappingParseError::BadEntry {
                position,
                entry,
                problem,
            }) => (position, entry, problem),
            other => panic!("{text}: expected BadEntry, got {other:?}"),
        }
    }

    // --- parsing ---

    #[test]
    fn parses_csv_with_equals_in_order() {
        assert_eq!(
            entries("/dev/xvdb=/dev/sdb,/dev/xvda=/dev/sda"),
            vec![
                pair("/dev/xvdb", to("/dev/sdb")),
                pair("/dev/xvda", to("/dev/sda"))
            ]
        );
    }

    #[test]
    fn parses_csv_with_colons() {
        assert_eq!(
            entries("/dev/xvda:/dev/sda,/dev/xvdb:EXCLUDE"),
            vec![
                pair("/dev/xvda", to("/dev/sda")),
                pair("/dev/xvdb", Target::Exclude)
            ]
        );
    }

    #[test]
    fn a_pasted_mapping_in_lines_reads_the_same_on_one_line() {
        for pasted in [
            "/dev/xvda=/dev/sdb\n/dev/xvdb=EXCLUDE\n",
            "/dev/xvda=/dev/sdb\r\n/dev/xvdb=EXCLUDE\r\n",
            "ALL=\"/dev/xvda=/dev/sdb\n/dev/xvdb=EXCLUDE\"",
            "{\n  \"/dev/xvda\": \"/dev/sdb\",\n  \"/dev/xvdb\": \"EXCLUDE\"\n}\n",
        ] {
            let line = one_line(pasted);
            assert!(
                !line.contains(['\n', '\r']) || pasted.starts_with('{'),
                "{line:?}"
            );
            // As the paste box keeps it: its own line breaks made spaces.
            let boxed = line.replace(['\n', '\r'], " ");
            assert_eq!(
                parse_mapping(&boxed),
                parse_mapping(pasted),
                "{pasted:?} became {boxed:?}"
            );
            assert!(parse_mapping(&boxed).is_ok(), "{boxed:?}");
        }
    }

    #[test]
    fn csv_tolerates_whitespace_line_breaks_and_trailing_comma() {
        assert_eq!(
            entries("  /dev/xvda = /dev/sda ,\r\n /dev/xvdb=\t/dev/sdb , "),
            vec![
                pair("/dev/xvda", to("/dev/sda")),
                pair("/dev/xvdb", to("/dev/sdb"))
            ]
        );
    }

    #[test]
    fn exclude_is_case_insensitive() {
        assert_eq!(
            entries("a=exclude,b=Exclude,c:EXCLUDE"),
            vec![
                pair("a", Target::Exclude),
                pair("b", Target::Exclude),
                pair("c", Target::Exclude)
            ]
        );
    }

    #[test]
    fn all_prefix_with_double_quotes_is_unwrapped() {
        assert_eq!(
            entries(r#"ALL="/dev/xvda=/dev/sda,/dev/xvdb=EXCLUDE""#),
            vec![
                pair("/dev/xvda", to("/dev/sda")),
                pair("/dev/xvdb", Target::Exclude)
            ]
        );
    }

    #[test]
    fn all_prefix_with_single_quotes_around_json_is_unwrapped() {
        assert_eq!(
            entries(r#"ALL='{"/dev/xvda":"/dev/sda"}'"#),
            vec![pair("/dev/xvda", to("/dev/sda"))]
        );
    }

    #[test]
    fn all_prefix_works_unquoted_lower_case_and_spaced() {
        let expected = vec![pair("/dev/xvda", to("/dev/sda"))];
        assert_eq!(entries("ALL=/dev/xvda=/dev/sda"), expected);
        assert_eq!(entries(" all = \"/dev/xvda=/dev/sda\" "), expected);
        assert_eq!(entries(r#"ALL="{"/dev/xvda":"/dev/sda"}""#), expected);
    }

    #[test]
    fn quotes_without_all_prefix_are_unwrapped() {
        assert_eq!(
            entries("'/dev/xvda=/dev/sda'"),
            vec![pair("/dev/xvda", to("/dev/sda"))]
        );
    }

    #[test]
    fn device_names_starting_with_all_are_not_a_prefix() {
        assert_eq!(
            entries("ALLOC=/dev/sda"),
            vec![pair("ALLOC", to("/dev/sda"))]
        );
    }

    #[test]
    fn colon_form_keeps_windows_drive_letter_on_the_left() {
        assert_eq!(
            entries("C::/dev/sda, d::EXCLUDE"),
            vec![pair("C:", to("/dev/sda")), pair("d:", Target::Exclude)]
        );
    }

    #[test]
    fn colon_form_keeps_by_path_colons_on_the_right() {
        assert_eq!(
            entries("/dev/xvdb:pci-0000:00:10.0-scsi-0:0:0:0"),
            vec![pair("/dev/xvdb", to("pci-0000:00:10.0-scsi-0:0:0:0"))]
        );
        assert_eq!(
            entries("C::pci-0000:00:10.0-scsi-0:0:0:0"),
            vec![pair("C:", to("pci-0000:00:10.0-scsi-0:0:0:0"))]
        );
    }

    #[test]
    fn equals_form_takes_drive_letters_and_colons_on_either_side() {
        assert_eq!(
            entries("C:=pci-0000:00:10.0-scsi-0:0:0:0"),
            vec![pair("C:", to("pci-0000:00:10.0-scsi-0:0:0:0"))]
        );
    }

    #[test]
    fn parses_json_object_in_written_order() {
        assert_eq!(
            entries(r#" { "/dev/xvdc" : "/dev/sdc", "/dev/xvdb": "exclude" } "#),
            vec![
                pair("/dev/xvdc", to("/dev/sdc")),
                pair("/dev/xvdb", Target::Exclude)
            ]
        );
    }

    #[test]
    fn parses_json_list_in_drs_api_format() {
        let text = r#"[{"recoveryInstanceDeviceName":"/dev/xvdb","failbackClientDeviceName":"/dev/sdb"},
                       {"failbackClientDeviceName":"EXCLUDE","recoveryInstanceDeviceName":"/dev/xvdc"}]"#;
        assert_eq!(
            entries(text),
            vec![
                pair("/dev/xvdb", to("/dev/sdb")),
                pair("/dev/xvdc", Target::Exclude)
            ]
        );
    }

    #[test]
    fn a_long_bad_entry_is_quoted_short_and_the_advice_kept() {
        let long = format!("/dev/xvda/{}", "x".repeat(3000));
        let err = parse_mapping(&long).unwrap_err().to_string();
        assert!(err.chars().count() < 200, "{err}");
        assert!(
            err.contains("/dev/xvda/xxx") && err.contains(" ... "),
            "{err}"
        );
        assert!(err.contains("e.g. /dev/xvdb=/dev/sdb"), "{err}");
    }

    #[test]
    fn an_unclosed_quote_is_named() {
        for (text, q) in [
            (r#"ALL="/dev/xvda=/dev/sda"#, '"'),
            (r#"ALL="{"/dev/xvda":"/dev/sda"}"#, '"'),
            ("ALL='/dev/xvda=/dev/sda", '\''),
            (r#"/dev/xvda=/dev/sda""#, '"'),
        ] {
            assert_eq!(
                parse_mapping(text),
                Err(MappingParseError::UnbalancedQuote(q)),
                "{text}"
            );
        }
        assert!(
            MappingParseError::UnbalancedQuote('"')
                .to_string()
                .contains("without its pair")
        );
    }

    #[test]
    fn empty_inputs_are_empty() {
        for text in [
            "",
            "   ",
            "ALL=",
            "ALL=\"\"",
            "''",
            ",",
            " , \n",
            "{}",
            "[]",
            "ALL='[ ]'",
        ] {
            assert_eq!(
                parse_mapping(text),
                Err(MappingParseError::Empty),
                "{text:?}"
            );
        }
        assert!(MappingParseError::Empty.to_string().contains("EXCLUDE"));
    }

    #[test]
    fn entry_without_separator_is_reported_with_its_position() {
        let (position, entry, problem) = bad("/dev/xvda=/dev/sda, xvdb ,/dev/xvdc=/dev/sdc");
        assert_eq!((position, entry.as_str()), (2, "xvdb"));
        assert!(problem.contains("has no `=` or `:`"), "{problem}");
        let message = parse_mapping("a=b,xvdb").unwrap_err().to_string();
        assert!(
            message.starts_with("Entry 2 `xvdb` has no `=` or `:`"),
            "{message}"
        );
    }

    #[test]
    fn entry_with_empty_device_side_is_refused() {
        let (position, _, problem) = bad("=/dev/sdb");
        assert_eq!(position, 1);
        assert!(problem.contains("no recovery-instance device"), "{problem}");
        assert!(bad(" :/dev/sdb").2.contains("no recovery-instance device"));
    }

    #[test]
    fn entry_with_empty_local_side_is_refused() {
        let (position, entry, problem) = bad("/dev/xvda=/dev/sda,/dev/xvdb= ");
        assert_eq!((position, entry.as_str()), (2, "/dev/xvdb="));
        assert!(problem.contains("no local disk for /dev/xvdb"), "{problem}");
        assert!(bad("C::").2.contains("no local disk for C:"));
    }

    #[test]
    fn entry_with_two_equals_signs_is_refused() {
        assert!(bad("a=b=c").2.contains("more than one `=`"));
    }

    #[test]
    fn duplicate_volume_is_refused_in_csv_and_json() {
        let dup = Err(MappingParseError::DuplicateVolume("/dev/xvdb".into()));
        assert_eq!(parse_mapping("/dev/xvdb=/dev/sdb,/dev/xvdb=EXCLUDE"), dup);
        assert_eq!(
            parse_mapping(r#"{"/dev/xvdb":"/dev/sdb","/dev/xvdb":"/dev/sdc"}"#),
            dup
        );
        let list = r#"[{"recoveryInstanceDeviceName":"/dev/xvdb","failbackClientDeviceName":"/dev/sdb"},
                       {"recoveryInstanceDeviceName":"/dev/xvdb","failbackClientDeviceName":"/dev/sdc"}]"#;
        assert_eq!(parse_mapping(list), dup);
        assert!(
            MappingParseError::DuplicateVolume("/dev/xvdb".into())
                .to_string()
                .contains("more than once")
        );
    }

    #[test]
    fn broken_json_is_bad_json() {
        for text in [
            r#"{"/dev/xvdb":"/dev/sdb""#,
            r#"[{"a"}]"#,
            r#"{"/dev/xvdb" "/dev/sdb"}"#,
            "[1,]",
        ] {
            match parse_mapping(text) {
                Err(e @ MappingParseError::BadJson { .. }) => {
                    assert!(
                        e.to_string().starts_with("The mapping is not valid JSON ("),
                        "{e}"
                    )
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn json_list_entry_missing_a_key_is_named() {
        let text = r#"[{"recoveryInstanceDeviceName":"/dev/xvda","failbackClientDeviceName":"/dev/sda"},
                       {"recoveryInstanceDeviceName":"/dev/xvdb"}]"#;
        let (position, entry, problem) = bad(text);
        assert_eq!(position, 2);
        assert!(entry.contains("/dev/xvdb"), "{entry}");
        assert!(
            problem.starts_with("has no \"failbackClientDeviceName\""),
            "{problem}"
        );
    }

    #[test]
    fn json_list_entry_with_non_string_value_is_refused() {
        let (_, _, problem) =
            bad(r#"[{"recoveryInstanceDeviceName":7,"failbackClientDeviceName":"/dev/sda"}]"#);
        assert!(
            problem.contains("a number as \"recoveryInstanceDeviceName\""),
            "{problem}"
        );
    }

    #[test]
    fn json_list_item_that_is_not_an_object_is_refused() {
        let (position, entry, problem) = bad(r#"["/dev/xvda=/dev/sda"]"#);
        assert_eq!((position, entry.as_str()), (1, "\"/dev/xvda=/dev/sda\""));
        assert!(
            problem.starts_with("is a string, not an object"),
            "{problem}"
        );
    }

    #[test]
    fn json_object_with_non_string_value_is_refused() {
        let (position, entry, problem) = bad(r#"{"/dev/xvda":"/dev/sda","/dev/xvdb":null}"#);
        assert_eq!((position, entry.as_str()), (2, "\"/dev/xvdb\":null"));
        assert!(
            problem.contains("has null where a local disk name"),
            "{problem}"
        );
        assert!(bad(r#"{"/dev/xvdb":["/dev/sdb"]}"#).2.contains("a list"));
    }

    // --- printing ---

    fn sample() -> Mapping {
        Mapping {
            entries: vec![
                pair("/dev/xvda", to("/dev/sda")),
                pair("/dev/xvdb", to("pci-0000:00:10.0-scsi-0:0:0:0")),
                pair("C:", to("/dev/sdc")),
                pair("/dev/xvdd", Target::Exclude),
            ],
        }
    }

    #[test]
    fn every_format_round_trips() {
        for format in MappingFormat::ALL {
            let text = format_mapping(&sample(), format);
            assert_eq!(parse_mapping(&text), Ok(sample()), "{format:?}: {text}");
        }
    }

    #[test]
    fn every_format_round_trips_when_pasted_with_all_prefix() {
        for format in MappingFormat::ALL {
            let text = format!("ALL='{}'", format_mapping(&sample(), format));
            assert_eq!(parse_mapping(&text), Ok(sample()), "{format:?}: {text}");
        }
    }

    #[test]
    fn formats_print_what_failback_entry_documents() {
        let m = Mapping {
            entries: vec![
                pair("/dev/xvdb", to("/dev/sdb")),
                pair("/dev/xvdc", Target::Exclude),
            ],
        };
        assert_eq!(
            format_mapping(&m, MappingFormat::CsvEquals),
            "/dev/xvdb=/dev/sdb,/dev/xvdc=EXCLUDE"
        );
        assert_eq!(
            format_mapping(&m, MappingFormat::CsvColon),
            "/dev/xvdb:/dev/sdb,/dev/xvdc:EXCLUDE"
        );
        assert_eq!(
            format_mapping(&m, MappingFormat::JsonObject),
            r#"{"/dev/xvdb":"/dev/sdb","/dev/xvdc":"EXCLUDE"}"#
        );
        assert_eq!(
            format_mapping(&m, MappingFormat::JsonList),
            r#"[{"recoveryInstanceDeviceName":"/dev/xvdb","failbackClientDeviceName":"/dev/sdb"},{"recoveryInstanceDeviceName":"/dev/xvdc","failbackClientDeviceName":"EXCLUDE"}]"#
        );
    }

    #[test]
    fn colon_format_writes_drive_letters_with_double_colon() {
        let m = Mapping {
            entries: vec![pair("C:", to("/dev/sdb"))],
        };
        assert_eq!(format_mapping(&m, MappingFormat::CsvColon), "C::/dev/sdb");
    }

    #[test]
    fn colon_format_falls_back_to_equals_when_a_colon_would_split_wrongly() {
        let m = Mapping {
            entries: vec![pair("disk:1", to("/dev/sdb"))],
        };
        let text = format_mapping(&m, MappingFormat::CsvColon);
        assert_eq!(text, "disk:1=/dev/sdb");
        assert_eq!(parse_mapping(&text), Ok(m));
    }

    #[test]
    fn json_formats_escape_quotes_and_backslashes() {
        let m = Mapping {
            entries: vec![
                pair(r"\\.\PHYSICALDRIVE1", to("/dev/sdb")),
                pair("a\"b", to("c,d")),
            ],
        };
        for format in [MappingFormat::JsonObject, MappingFormat::JsonList] {
            assert_eq!(
                parse_mapping(&format_mapping(&m, format)),
                Ok(m.clone()),
                "{format:?}"
            );
        }
    }

    #[test]
    fn dm_value_formats_have_failback_entry_arguments() {
        let args: Vec<&str> = DmValueFormat::ALL.iter().map(|f| f.as_arg()).collect();
        assert_eq!(args, ["dev-name", "by-path", "by-id", "by-uuid"]);
        assert!(MappingFormat::ALL.iter().all(|f| !f.label().is_empty()));
        assert!(DmValueFormat::ALL.iter().all(|f| !f.label().is_empty()));
    }

    // --- local names ---

    #[test]
    fn local_name_gives_each_format_or_none() {
        let d = disk_ids(
            "/dev/sdb",
            "pci-0000:00:10.0-scsi-0:0:1:0",
            "ata-DISK_SN1",
            "1234-ABCD",
        );
        assert_eq!(
            local_name(&d, DmValueFormat::DevName).as_deref(),
            Some("/dev/sdb")
        );
        assert_eq!(
            local_name(&d, DmValueFormat::ByPath).as_deref(),
            Some("pci-0000:00:10.0-scsi-0:0:1:0")
        );
        assert_eq!(
            local_name(&d, DmValueFormat::ById).as_deref(),
            Some("ata-DISK_SN1")
        );
        assert_eq!(
            local_name(&d, DmValueFormat::ByUuid).as_deref(),
            Some("1234-ABCD")
        );
        assert_eq!(
            local_name(&disk_gib("/dev/sdc", 1), DmValueFormat::ById),
            None
        );
    }

    fn id_disks() -> Vec<LocalDisk> {
        vec![
            disk_ids("/dev/sda", "pci-a", "ata-A", "uuid-a"),
            disk_ids("/dev/sdb", "pci-b", "ata-B", "uuid-b"),
        ]
    }

    #[test]
    fn resolve_target_accepts_dev_names_and_bare_kernel_names() {
        let disks = id_disks();
        assert_eq!(resolve_target("/dev/sdb", &disks), Ok(1));
        assert_eq!(resolve_target(" sdb ", &disks), Ok(1));
    }

    #[test]
    fn resolve_target_accepts_persistent_names_with_or_without_prefix() {
        let disks = id_disks();
        assert_eq!(resolve_target("pci-b", &disks), Ok(1));
        assert_eq!(resolve_target("/dev/disk/by-path/pci-b", &disks), Ok(1));
        assert_eq!(resolve_target("ata-A", &disks), Ok(0));
        assert_eq!(resolve_target("/dev/disk/by-id/ata-A", &disks), Ok(0));
        assert_eq!(resolve_target("uuid-b", &disks), Ok(1));
        assert_eq!(resolve_target("/dev/disk/by-uuid/uuid-b", &disks), Ok(1));
    }

    #[test]
    fn resolve_target_checks_the_prefix_kind() {
        assert_eq!(
            resolve_target("/dev/disk/by-path/ata-A", &id_disks()),
            Err(TargetProblem::NoDisk)
        );
    }

    #[test]
    fn resolve_target_refuses_unknown_empty_and_shared_names() {
        let mut disks = id_disks();
        assert_eq!(
            resolve_target("/dev/sdz", &disks),
            Err(TargetProblem::NoDisk)
        );
        assert_eq!(resolve_target("", &disks), Err(TargetProblem::NoDisk));
        disks[1].by_uuid = Some("uuid-a".into());
        let shared = resolve_target("uuid-a", &disks);
        assert_eq!(
            shared,
            Err(TargetProblem::Several(vec![
                "/dev/sda".into(),
                "/dev/sdb".into()
            ])),
            "cloned disks share a UUID"
        );
        assert_eq!(
            shared.unwrap_err().describe("uuid-a"),
            "uuid-a names 2 disks (/dev/sda, /dev/sdb); use a /dev name or a by-id name, \
             which only one disk has."
        );
    }

    #[test]
    fn resolve_target_accepts_every_link_not_only_the_preferred_one() {
        let mut disks = id_disks();
        disks[1].links = vec![
            "by-id/ata-B".into(),
            "by-id/wwn-0x5000c500a1b2c3d4".into(),
            "by-path/pci-b.0".into(),
        ];
        for name in [
            "wwn-0x5000c500a1b2c3d4",
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            "by-id/wwn-0x5000c500a1b2c3d4",
            "/dev/disk/by-path/pci-b.0",
        ] {
            assert_eq!(resolve_target(name, &disks), Ok(1), "{name}");
        }
        assert_eq!(
            resolve_target("/dev/disk/by-uuid/wwn-0x5000c500a1b2c3d4", &disks),
            Err(TargetProblem::NoDisk)
        );
    }

    #[test]
    fn resolve_target_names_the_disk_of_a_partition() {
        let mut disks = id_disks();
        disks[0].partition_names = vec!["/dev/sda1".into(), "by-uuid/1234-ABCD".into()];
        for name in [
            "/dev/sda1",
            "sda1",
            "1234-ABCD",
            "/dev/disk/by-uuid/1234-ABCD",
        ] {
            let problem = resolve_target(name, &disks).unwrap_err();
            assert_eq!(
                problem,
                TargetProblem::Partition {
                    disk: "/dev/sda".into()
                },
                "{name}"
            );
        }
        assert_eq!(
            TargetProblem::Partition {
                disk: "/dev/sda".into()
            }
            .describe("sda1"),
            "sda1 is a partition of /dev/sda; a volume goes onto a whole disk: name /dev/sda."
        );
    }

    // --- row checks ---

    #[test]
    fn rows_sharing_a_disk_both_name_the_other_volume() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
        ];
        let disks = [disk_gib("/dev/sda", 10), disk_gib("/dev/sdb", 10)];
        let rows = check_rows(
            &volumes,
            &disks,
            &[on(&disks, 0), on(&disks, 0), on(&disks, 1)],
        );
        assert_eq!(
            rows,
            vec![
                RowStatus::UsedTwice {
                    other_volume: "/dev/xvdb".into()
                },
                RowStatus::UsedTwice {
                    other_volume: "/dev/xvda".into()
                },
                RowStatus::Fits,
            ]
        );
        assert_eq!(rows[0].describe(), "also chosen for /dev/xvdb");
    }

    #[test]
    fn row_on_a_smaller_disk_says_by_how_much() {
        let disks = [disk("/dev/sda", Bytes(8 * GIB + GIB / 2))];
        let rows = check_rows(&[vol("/dev/xvda", 10)], &disks, &[on(&disks, 0)]);
        assert_eq!(
            rows,
            vec![RowStatus::TooSmall {
                short_by: Bytes(GIB + GIB / 2)
            }]
        );
        assert_eq!(rows[0].describe(), "too small by 1.5 GiB");
    }

    #[test]
    fn row_on_a_fractional_disk_fits_by_the_exception() {
        let disks = [disk("/dev/sda", Bytes(9 * GIB + 3 * GIB / 4))];
        let rows = check_rows(&[vol("/dev/xvda", 10)], &disks, &[on(&disks, 0)]);
        assert_eq!(rows, vec![RowStatus::FitsFractional]);
        assert!(!rows[0].blocks_start());
    }

    #[test]
    fn row_on_the_boot_medium_is_refused_even_if_it_fits() {
        let mut boot = disk_gib("/dev/sda", 100);
        boot.is_boot_medium = true;
        boot.mounts = vec!["/run/live".into()];
        let disks = [boot];
        let rows = check_rows(&[vol("/dev/xvda", 8)], &disks, &[on(&disks, 0)]);
        assert_eq!(rows, vec![RowStatus::Refused(Refusal::BootMedium)]);
        assert_eq!(rows[0].describe(), "is the boot medium");
    }

    #[test]
    fn row_on_a_mounted_disk_lists_the_mount_points() {
        let mut mounted = disk_gib("/dev/sdb", 100);
        mounted.mounts = vec!["/boot".into()];
        let disks = [mounted];
        let rows = check_rows(&[vol("/dev/xvda", 8)], &disks, &[on(&disks, 0)]);
        assert_eq!(
            rows,
            vec![RowStatus::Refused(Refusal::Mounted(vec!["/boot".into()]))]
        );
        assert_eq!(rows[0].describe(), "mounted at /boot");
    }

    /// Swap, holders and read-only refuse a row as the boot medium and mounts do.
    fn unusable_disks() -> Vec<LocalDisk> {
        let mut swap = disk_gib("/dev/sdb", 100);
        swap.swaps = vec!["/dev/sdb2".into()];
        let mut held = disk_gib("/dev/sdc", 100);
        held.holders = vec!["md0 (MD RAID raid1) on sdc1".into()];
        let mut read_only = disk_gib("/dev/sdd", 100);
        read_only.read_only = true;
        vec![swap, held, read_only]
    }

    #[test]
    fn rows_on_swap_held_or_read_only_disks_are_refused_with_the_reason() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
        ];
        let disks = unusable_disks();
        let choices = [on(&disks, 0), on(&disks, 1), on(&disks, 2)];
        let described: Vec<String> = check_rows(&volumes, &disks, &choices)
            .iter()
            .map(RowStatus::describe)
            .collect();
        assert_eq!(
            described,
            [
                "used as swap (/dev/sdb2)",
                "held by md0 (MD RAID raid1) on sdc1",
                "read-only"
            ]
        );
    }

    #[test]
    fn auto_map_never_chooses_swap_held_or_read_only_disks() {
        let mut disks = unusable_disks();
        disks.push(disk_gib("/dev/sde", 20));
        let volumes = [vol("/dev/xvda", 10), vol("/dev/xvdb", 10)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 3), Choice::Unmapped]
        );
    }

    #[test]
    fn unmapped_excluded_and_missing_choices() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
        ];
        let rows = check_rows(
            &volumes,
            &[disk_gib("/dev/sda", 10)],
            &[Choice::Unmapped, Choice::Exclude],
        );
        assert_eq!(
            rows,
            vec![
                RowStatus::Unmapped,
                RowStatus::Excluded,
                RowStatus::Unmapped
            ]
        );
        // Exclusions share no disk, so two excluded rows are not "used twice".
        let rows = check_rows(&volumes[..2], &[], &[Choice::Exclude, Choice::Exclude]);
        assert_eq!(rows, vec![RowStatus::Excluded, RowStatus::Excluded]);
    }

    #[test]
    fn a_chosen_disk_is_followed_when_the_list_is_reordered() {
        let before = [disk_gib("/dev/sda", 10), disk_gib("/dev/sdb", 20)];
        let choice = on(&before, 1);
        // A rescan lists a hot-plugged disk first: position 1 is now another disk.
        let after = [
            disk_gib("/dev/sdz", 30),
            disk_gib("/dev/sda", 10),
            disk_gib("/dev/sdb", 20),
        ];
        assert_eq!(
            choice.disk(&after).map(|(i, d)| (i, d.device.as_str())),
            Some((2, "/dev/sdb"))
        );
        let rows = check_rows(&[vol("/dev/xvda", 8)], &after, &[choice]);
        assert_eq!(rows, vec![RowStatus::Fits]);
    }

    #[test]
    fn a_chosen_disk_that_disappears_or_changes_invalidates_its_row() {
        let mut sdb = disk_gib("/dev/sdb", 20);
        sdb.serial = Some("SN-1".into());
        let choice = Choice::of(&sdb);
        let volumes = [vol("/dev/xvda", 8)];

        let rows = check_rows(
            &volumes,
            &[disk_gib("/dev/sda", 20)],
            std::slice::from_ref(&choice),
        );
        assert_eq!(
            rows,
            vec![RowStatus::DiskGone {
                device: "/dev/sdb".into()
            }]
        );
        assert!(rows[0].blocks_start());
        assert_eq!(
            rows[0].describe(),
            "/dev/sdb is no longer listed (unplugged or renamed): choose a disk again"
        );

        let swapped = LocalDisk {
            serial: Some("SN-2".into()),
            ..sdb.clone()
        };
        let rows = check_rows(&volumes, &[swapped], std::slice::from_ref(&choice));
        assert_eq!(
            rows[0].describe(),
            "/dev/sdb changed since it was chosen (another disk is there now (serial SN-2)): \
             choose a disk again"
        );
        assert!(rows[0].blocks_start());

        let resized = LocalDisk {
            bytes: Bytes::gib(40),
            ..sdb
        };
        let rows = check_rows(&volumes, &[resized], &[choice]);
        assert_eq!(
            rows,
            vec![RowStatus::DiskChanged {
                device: "/dev/sdb".into(),
                what: "its size went from 20 GiB to 40 GiB".into()
            }]
        );
    }

    #[test]
    fn only_fitting_and_excluded_rows_let_failback_start() {
        let blocking = [
            RowStatus::Unmapped,
            RowStatus::TooSmall { short_by: Bytes(1) },
            RowStatus::UsedTwice {
                other_volume: "x".into(),
            },
            RowStatus::DiskGone { device: "x".into() },
            RowStatus::DiskChanged {
                device: "x".into(),
                what: "x".into(),
            },
            RowStatus::Refused(Refusal::BootMedium),
            RowStatus::Refused(Refusal::Mounted(vec!["/".into()])),
        ];
        assert!(blocking.iter().all(RowStatus::blocks_start));
        for ok in [
            RowStatus::Fits,
            RowStatus::FitsFractional,
            RowStatus::Excluded,
        ] {
            assert!(!ok.blocks_start(), "{ok:?}");
        }
    }

    // --- auto mapping ---

    #[test]
    fn device_index_reads_every_naming_scheme() {
        for (name, index) in [
            ("/dev/xvda", 0),
            ("/dev/sdb", 1),
            ("vdc", 2),
            ("/dev/hdd", 3),
            ("/dev/sdz", 25),
            ("/dev/sdaa", 26),
            ("/dev/nvme0n1", 0),
            ("/dev/nvme3n1", 3),
            (r"\\.\PHYSICALDRIVE1", 1),
        ] {
            assert_eq!(device_index(name), Some(index), "{name}");
        }
        for name in [
            "/dev/sdb1",
            "/dev/nvme0n1p1",
            "/dev/nvme0n2",
            "/dev/md0",
            "/dev/sd",
            "C:",
        ] {
            assert_eq!(device_index(name), None, "{name}");
        }
    }

    #[test]
    fn auto_map_prefers_same_names_over_tighter_fit() {
        let volumes = [vol("/dev/xvda", 8), vol("/dev/xvdb", 8)];
        let disks = [disk_gib("/dev/sda", 100), disk_gib("/dev/sdb", 50)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 0), on(&disks, 1)]
        );
    }

    #[test]
    fn auto_map_matches_names_across_controllers() {
        let volumes = [vol("/dev/nvme1n1", 8), vol("/dev/nvme0n1", 8)];
        let disks = [disk_gib("/dev/sda", 10), disk_gib("/dev/sdb", 20)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 1), on(&disks, 0)]
        );
    }

    #[test]
    fn auto_map_puts_largest_volume_on_smallest_disk_that_takes_it() {
        let volumes = [vol("/dev/xvdf", 10), vol("/dev/xvdg", 50)];
        let disks = [
            disk_gib("/dev/sda", 60),
            disk_gib("/dev/sdb", 12),
            disk_gib("/dev/sdc", 100),
        ];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 1), on(&disks, 0)]
        );
    }

    #[test]
    fn auto_map_uses_the_fractional_disk_the_volume_came_from() {
        let volumes = [vol("/dev/xvdf", 10)];
        let disks = [
            disk_gib("/dev/sda", 20),
            disk("/dev/sdb", Bytes(9 * GIB + 3 * GIB / 4)),
        ];
        assert_eq!(auto_map(&volumes, &disks), vec![on(&disks, 1)]);
    }

    #[test]
    fn auto_map_never_chooses_boot_medium_or_mounted_disks() {
        let mut boot = disk_gib("/dev/sda", 100);
        boot.is_boot_medium = true;
        let mut mounted = disk_gib("/dev/sdb", 100);
        mounted.mounts = vec!["/mnt".into()];
        let volumes = [vol("/dev/xvda", 10), vol("/dev/xvdb", 10)];
        let disks = [boot, mounted, disk_gib("/dev/sdc", 20)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 2), Choice::Unmapped]
        );
    }

    #[test]
    fn auto_map_leaves_a_volume_no_disk_takes_unmapped() {
        let volumes = [vol("/dev/xvda", 500), vol("/dev/xvdb", 10)];
        let disks = [disk_gib("/dev/sda", 100), disk_gib("/dev/sdb", 100)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![Choice::Unmapped, on(&disks, 1)]
        );
    }

    #[test]
    fn auto_map_gives_up_a_name_match_that_would_strand_a_volume() {
        let volumes = [vol("/dev/xvdb", 5), vol("/dev/xvdc", 50)];
        let disks = [disk_gib("/dev/sdb", 100), disk_gib("/dev/sdc", 10)];
        assert_eq!(
            auto_map(&volumes, &disks),
            vec![on(&disks, 1), on(&disks, 0)]
        );
    }

    #[test]
    fn auto_map_proposal_passes_the_row_checks() {
        let volumes = [
            vol("/dev/xvda", 30),
            vol("/dev/xvdb", 10),
            vol("/dev/xvdc", 10),
            vol("/dev/xvdd", 1),
        ];
        let disks = [
            disk_gib("/dev/sdc", 10),
            disk_gib("/dev/sda", 40),
            disk_gib("/dev/sde", 10),
            disk_gib("/dev/sdd", 2),
        ];
        let choices = auto_map(&volumes, &disks);
        let rows = check_rows(&volumes, &disks, &choices);
        assert!(rows.iter().all(|r| !r.blocks_start()), "{rows:?}");
        assert_eq!(
            choices,
            vec![on(&disks, 1), on(&disks, 2), on(&disks, 0), on(&disks, 3)]
        );
    }

    // --- pasted mappings against this machine ---

    #[test]
    fn pasted_mapping_becomes_choices() {
        let volumes = [vol("/dev/xvda", 8), vol("/dev/xvdb", 8)];
        let disks = id_disks();
        let mapping = parse_mapping("/dev/xvdb=/dev/disk/by-id/ata-A,/dev/xvda=EXCLUDE").unwrap();
        assert_eq!(
            choices_from_mapping(&mapping, &volumes, &disks),
            Ok(vec![Choice::Exclude, on(&disks, 0)])
        );
    }

    #[test]
    fn pasted_mapping_may_drop_dev_prefix_and_drive_letter_colon() {
        let volumes = [vol("/dev/xvda", 8), vol("C:", 8)];
        let disks = id_disks();
        let mapping = parse_mapping("xvda=sda,c:/dev/sdb").unwrap();
        assert_eq!(
            choices_from_mapping(&mapping, &volumes, &disks),
            Ok(vec![on(&disks, 0), on(&disks, 1)])
        );
    }

    #[test]
    fn pasted_mapping_errors_name_every_problem() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
        ];
        let mapping =
            parse_mapping("/dev/xvda=/dev/sdq,/dev/xvdz=/dev/sda,/dev/xvdb=EXCLUDE").unwrap();
        let error = choices_from_mapping(&mapping, &volumes, &id_disks()).unwrap_err();
        assert!(
            error.contains("This recovery instance has no /dev/xvdz; its volumes are /dev/xvda, /dev/xvdb, /dev/xvdc."),
            "{error}"
        );
        assert!(
            error.contains(
                "No local disk is named /dev/sdq; use a /dev name or a by-path, by-id or by-uuid \
                 name from the disk list (drs-failback disks)."
            ),
            "{error}"
        );
        assert!(
            error.contains("The mapping leaves out /dev/xvdc; give each a local disk or EXCLUDE."),
            "{error}"
        );
        assert!(
            !error.contains("leaves out /dev/xvda"),
            "a mapped volume with a bad disk is not missing: {error}"
        );
    }

    #[test]
    fn pasted_mapping_naming_a_volume_twice_by_different_spellings_is_refused() {
        let volumes = [vol("/dev/xvda", 8)];
        let mapping = parse_mapping("/dev/xvda=/dev/sda,xvda=/dev/sdb").unwrap();
        let error = choices_from_mapping(&mapping, &volumes, &id_disks()).unwrap_err();
        assert_eq!(
            error,
            "/dev/xvda is mapped more than once; keep one entry each."
        );
    }

    #[test]
    fn mapping_from_choices_uses_the_chosen_name_format() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
            vol("/dev/xvdd", 8),
        ];
        let disks = vec![
            disk_ids("/dev/sda", "pci-a", "ata-A", "uuid-a"),
            disk_gib("/dev/sdb", 100),
        ];
        let choices = [
            on(&disks, 0),
            Choice::Exclude,
            Choice::Unmapped,
            on(&disks, 1),
        ];
        let mapping = mapping_from_choices(&volumes, &disks, &choices, DmValueFormat::ByPath);
        assert_eq!(
            mapping.entries,
            vec![
                pair("/dev/xvda", to("pci-a")),
                pair("/dev/xvdb", Target::Exclude),
                pair("/dev/xvdd", to("/dev/sdb")),
            ]
        );
    }

    #[test]
    fn choices_survive_printing_and_pasting_back() {
        let volumes = [
            vol("/dev/xvda", 8),
            vol("/dev/xvdb", 8),
            vol("/dev/xvdc", 8),
        ];
        let disks = id_disks();
        let choices = vec![on(&disks, 1), Choice::Exclude, on(&disks, 0)];
        for dm in DmValueFormat::ALL {
            let mapping = mapping_from_choices(&volumes, &disks, &choices, dm);
            for format in MappingFormat::ALL {
                let text = format_mapping(&mapping, format);
                let parsed = parse_mapping(&text).unwrap();
                assert_eq!(
                    choices_from_mapping(&parsed, &volumes, &disks),
                    Ok(choices.clone()),
                    "{dm:?} {format:?}: {text}"
                );
            }
        }
    }
}

/// The parser against any text, and every printed format read back unchanged.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            Just(Target::Exclude),
            "/dev/sd[a-z]".prop_map(Target::Disk),
            "/dev/nvme[0-9]n[1-9]".prop_map(Target::Disk),
            // by-path names hold colons, the CSV-colon format's separator.
            "pci-0000:00:[0-9]{2}\\.0-scsi-0:0:[0-9]:0".prop_map(Target::Disk),
            "wwn-0x[0-9a-f]{16}".prop_map(Target::Disk),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Target::Disk),
        ]
    }

    fn mapping() -> impl Strategy<Value = Mapping> {
        let device = prop_oneof!["/dev/xvd[a-z]{1,2}", "/dev/nvme[0-9]{1,2}n1", "[C-Z]:"];
        prop::collection::vec((device, target()), 1..12).prop_map(|entries| {
            let mut seen = std::collections::HashSet::new();
            Mapping {
                entries: entries
                    .into_iter()
                    .filter(|(d, _)| seen.insert(d.clone()))
                    .collect(),
            }
        })
    }

    proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_without_panicking(text in any::<String>()) {
            let _ = parse_mapping(&text);
        }

        #[test]
        fn near_mappings_are_parsed_or_refused_without_panicking(
            text in "(ALL=)?[\"']?[\\[{]?(\"?/dev/[a-z]{1,4}\"?[=:,]?){0,6}[\\]}]?[\"']?"
        ) {
            let _ = parse_mapping(&text);
        }

        #[test]
        fn every_format_reads_back_unchanged(m in mapping()) {
            for format in MappingFormat::ALL {
                let printed = format_mapping(&m, format);
                prop_assert_eq!(parse_mapping(&printed), Ok(m.clone()), "{}", printed);
                let pasted = format!("ALL=\"{printed}\"");
                if !printed.contains('"') {
                    prop_assert_eq!(parse_mapping(&pasted), Ok(m.clone()), "{}", pasted);
                }
            }
        }
    }
}
