//! AWS's replication software (`failback_entry` and its `jre/`), fetched as the livecd's
//! start.sh fetches it: the manifest pair from the region's buckets, then the tarball of the
//! version it names, each SHA-512-checked before anything is unpacked.

mod download;
mod s3;
mod unpack;
mod verify;

pub use download::{Manifest, Software, fetch};
pub use s3::S3Endpoint;
pub use unpack::{Unpacked, unpack};
pub use verify::{parse_sha512, sha512_hex};

use crate::domain::regions::{self, Region};
use crate::net::Network;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where the software comes from: what the worker takes from the command line and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareSource {
    /// The DRS region, e.g. us-east-1: picks the buckets and their owner (assets/regions.json).
    pub region: String,
    /// `--s3-endpoint` / `S3_ENDPOINT`: every request goes there, path-style.
    pub s3_endpoint: Option<S3Endpoint>,
}

impl SoftwareSource {
    /// `s3_endpoint` as typed (`--s3-endpoint`, `S3_ENDPOINT`); blank means none.
    pub fn new(region: &str, s3_endpoint: Option<&str>) -> Result<SoftwareSource, SoftwareError> {
        Ok(SoftwareSource {
            region: region.trim().to_owned(),
            s3_endpoint: s3_endpoint
                .filter(|e| !e.trim().is_empty())
                .map(S3Endpoint::parse)
                .transpose()?,
        })
    }

    /// The region's buckets and owner; an unknown region is refused as start.sh refuses it.
    pub fn region_entry(&self) -> Result<&'static Region, SoftwareError> {
        regions::find(&self.region).ok_or_else(|| {
            SoftwareError::new(
                SoftwareErrorKind::UnknownRegion,
                format!(
                    "Bad or unsupported region '{}': AWS publishes the replication software in \
                     these regions only: {}.",
                    self.region,
                    regions::all()
                        .iter()
                        .map(|r| r.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// S3_ENDPOINT given as an IP: the regional name it stands for, pinned to it.
    pub fn pin(&self) -> Option<crate::net::Pin> {
        self.s3_endpoint.as_ref()?.pin(&self.region)
    }

    /// The first URL the manifest is fetched from (what the pre-flight checks reach).
    pub fn manifest_url(&self) -> Result<String, SoftwareError> {
        let region = self.region_entry()?;
        self.first_url(&region.assets_bucket, "manifest.json")
    }

    /// The first URL the manifest's published hash is fetched from: the hashes bucket, a host
    /// of its own unless an S3 endpoint serves both buckets.
    pub fn manifest_hash_url(&self) -> Result<String, SoftwareError> {
        let region = self.region_entry()?;
        self.first_url(&region.hashes_bucket, "manifest.json.sha512")
    }

    fn first_url(&self, bucket: &str, name: &str) -> Result<String, SoftwareError> {
        let region = self.region_entry()?;
        let key = format!("{}/{name}", region.key_prefix);
        let urls = s3::urls(region, self.s3_endpoint.as_ref(), bucket, &key);
        Ok(urls.into_iter().next().map(|t| t.url).unwrap_or_default())
    }
}

/// One progress report while a file downloads (also the worker's `download` event).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The object's file name, e.g. failback_assets.tar.gz
    pub file: String,
    pub bytes: u64,
    /// From Content-Length, when S3 sent one.
    pub total: Option<u64>,
    /// Over the last few seconds; None until there are two samples.
    pub bytes_per_second: Option<f64>,
    pub eta_seconds: Option<u64>,
}

/// What stopped the download or unpacking, for the worker's exit codes and screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoftwareErrorKind {
    /// The region is not in the table.
    UnknownRegion,
    /// The S3 endpoint is not a usable URL.
    BadEndpoint,
    /// DNS, refused, or no answer in time: nothing came back.
    Unreachable,
    /// The TLS handshake failed (an unknown CA: a TLS-inspecting proxy, a wrong clock).
    Tls,
    /// 403: the bucket-owner check or a policy refused.
    AccessDenied,
    /// 404: the key is not there.
    NotFound,
    /// Any other HTTP answer, or a body cut short.
    Http,
    /// manifest.json and its .sha512 still disagree after a minute of retries.
    ManifestOutOfStep,
    /// manifest.json (or a .sha512 file) is not what start.sh expects.
    BadManifest,
    /// The tarball's SHA-512 is not the published one (the file is deleted).
    HashMismatch,
    /// The tarball is damaged, would write outside its directory, or lacks failback_entry.
    BadArchive,
    /// A local file could not be written.
    Io,
}

/// A failure as one or two sentences that say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareError {
    pub kind: SoftwareErrorKind,
    pub message: String,
}

impl SoftwareError {
    pub(crate) fn new(kind: SoftwareErrorKind, message: impl Into<String>) -> SoftwareError {
        SoftwareError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn io(what: &str, path: &Path, e: std::io::Error) -> SoftwareError {
        SoftwareError::new(
            SoftwareErrorKind::Io,
            format!(
                "Cannot {what} {} ({e}). Check that the directory is writable and has room \
                 (the replication software takes about 300 MB unpacked).",
                path.display()
            ),
        )
    }
}

impl fmt::Display for SoftwareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SoftwareError {}

/// The software, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The manifest's installerVersion.
    pub version: String,
    pub unpacked: Unpacked,
}

/// Every request's time limit without an answer or a byte, as start.sh's downloads have.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Downloads the software into `dir` and unpacks it into `dir/failback_software`, replacing
/// what an earlier run left there. The tarball is removed once unpacked.
pub async fn install(
    source: &SoftwareSource,
    network: &Network,
    dir: &Path,
    progress: &mpsc::UnboundedSender<Progress>,
) -> Result<Installed, SoftwareError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| SoftwareError::io("create", dir, e))?;
    let software = fetch(source, network, dir, progress).await?;
    let tarball = software.tarball.clone();
    let dest: PathBuf = dir.join("failback_software");
    let unpacked = tokio::task::spawn_blocking(move || unpack(&tarball, &dest))
        .await
        .map_err(|e| {
            SoftwareError::new(SoftwareErrorKind::Io, format!("unpacking stopped: {e}"))
        })??;
    tokio::fs::remove_file(&software.tarball)
        .await
        .map_err(|e| SoftwareError::io("remove", &software.tarball, e))?;
    Ok(Installed {
        version: software.manifest.installer_version,
        unpacked,
    })
}
