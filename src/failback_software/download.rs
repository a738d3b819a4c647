//! The download as start.sh does it: the manifest pair (retried while out of step), then the
//! tarball of the version it names and its published hash.

use super::s3::S3;
use super::verify;
use super::{Progress, SoftwareError, SoftwareErrorKind as Kind, SoftwareSource};
use crate::net::Network;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// start.sh retries the manifest pair this often, this long: S3 does not update them together.
const MANIFEST_RETRY_EVERY: Duration = Duration::from_secs(5);
const MANIFEST_RETRY_FOR: Duration = Duration::from_secs(60);

/// manifest.json: only the field start.sh reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Replaces `latest` in the key prefix of the tarball.
    pub installer_version: String,
}

impl Manifest {
    pub fn parse(bytes: &[u8], from: &str) -> Result<Manifest, SoftwareError> {
        let bad = |why: String| {
            SoftwareError::new(
                Kind::BadManifest,
                format!(
                    "manifest.json from {from} is not usable: {why}. It is AWS's file: retry \
                     later, and if it persists, check that nothing between this machine and S3 \
                     (a proxy, S3_ENDPOINT) serves something else."
                ),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("it is not JSON ({e})")))?;
        let version = match value.get("installerVersion") {
            None => return Err(bad("the field installerVersion is missing".into())),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(bad("the field installerVersion is not a string".into())),
        };
        // It becomes part of an S3 key and a directory name.
        let safe = !version.is_empty()
            && version != "."
            && version != ".."
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !safe {
            return Err(bad(format!(
                "the field installerVersion is '{version}', not a version (letters, digits, . _ -)"
            )));
        }
        Ok(Manifest {
            installer_version: version,
        })
    }
}

/// What `fetch` leaves: the manifest and the verified tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    pub manifest: Manifest,
    /// `<dir>/failback_assets.tar.gz`, its SHA-512 checked.
    pub tarball: PathBuf,
    pub sha512: String,
}

/// Downloads the manifest pair (retried while out of step) and the tarball of the version it
/// names into `dir`, verifying both. A tarball with the wrong hash is deleted.
pub async fn fetch(
    source: &SoftwareSource,
    network: &Network,
    dir: &Path,
    progress: &mpsc::UnboundedSender<Progress>,
) -> Result<Software, SoftwareError> {
    let region = source.region_entry()?;
    let s3 = S3::new(region, source.s3_endpoint.clone(), network);
    let manifest = manifest(&s3).await?;
    let key = format!(
        "{}/failback_assets/failback_assets.tar.gz",
        manifest.installer_version
    );
    let expected = published_hash(&s3, &key).await?;
    let tarball = dir.join("failback_assets.tar.gz");
    let actual = s3
        .get_to_file(&region.assets_bucket, &key, &tarball, progress)
        .await?;
    verify::check_file(&tarball, &key, &expected, &actual).await?;
    Ok(Software {
        manifest,
        tarball,
        sha512: actual,
    })
}

async fn manifest(s3: &S3<'_>) -> Result<Manifest, SoftwareError> {
    let key = format!("{}/manifest.json", s3.region.key_prefix);
    let started = Instant::now();
    loop {
        let body = s3.get_small(&s3.region.assets_bucket, &key).await?;
        let expected = published_hash(s3, &key).await?;
        let actual = verify::sha512_hex(&body);
        if actual == expected {
            let from = format!("s3://{}/{key}", s3.region.assets_bucket);
            return Manifest::parse(&body, &from);
        }
        if started.elapsed() + MANIFEST_RETRY_EVERY > MANIFEST_RETRY_FOR {
            return Err(SoftwareError::new(
                Kind::ManifestOutOfStep,
                format!(
                    "manifest.json and manifest.json.sha512 still disagree after {} s of \
                     retries (published {expected}, downloaded {actual}). AWS updates the \
                     pair one after the other, so retry in a few minutes; if it persists, \
                     something between this machine and S3 (a caching proxy) serves an old \
                     copy of one of them.",
                    MANIFEST_RETRY_FOR.as_secs()
                ),
            ));
        }
        tracing::info!("manifest.json and its .sha512 disagree; retrying in 5 s");
        tokio::time::sleep(MANIFEST_RETRY_EVERY).await;
    }
}

/// `<key>.sha512` from the hashes bucket.
async fn published_hash(s3: &S3<'_>, key: &str) -> Result<String, SoftwareError> {
    let hash_key = format!("{key}.sha512");
    let body = s3.get_small(&s3.region.hashes_bucket, &hash_key).await?;
    verify::parse_sha512(&body).ok_or_else(|| {
        SoftwareError::new(
            Kind::BadManifest,
            format!(
                "s3://{}/{hash_key} does not hold a SHA-512 hash (128 hex digits). It is \
                 AWS's file: retry later, and check that nothing between this machine and \
                 S3 serves something else.",
                s3.region.hashes_bucket
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_manifest_names_the_field() {
        let ok = Manifest::parse(br#"{"installerVersion":"1.2.3-45"}"#, "x").unwrap();
        assert_eq!(ok.installer_version, "1.2.3-45");
        for (body, words) in [
            (&br#"{"version":"1"}"#[..], "installerVersion is missing"),
            (
                br#"{"installerVersion":7}"#,
                "installerVersion is not a string",
            ),
            (
                br#"{"installerVersion":"../etc"}"#,
                "installerVersion is '../etc'",
            ),
            (b"<html>", "not JSON"),
        ] {
            let err = Manifest::parse(body, "s3://b/latest/manifest.json").unwrap_err();
            assert_eq!(err.kind, Kind::BadManifest);
            assert!(err.message.contains(words), "{err}");
            assert!(err.message.contains("s3://b/latest/manifest.json"), "{err}");
        }
    }
}
