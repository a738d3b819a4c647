//! The S3 buckets AWS's replication software comes from, for the scenario's region:
//! path-style `GET` and `HEAD /<bucket>/<key>`, the `x-amz-expected-bucket-owner` check, and
//! the scenario's download faults (wrong hash, slow, manifest pair out of step). The tarball
//! holds a stand-in `failback_entry` that runs this program's `failback-client-standin`.

use std::collections::BTreeMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, SizeHint};
use hyper::{Method, Response, StatusCode};
use tokio::time::{Instant, Sleep};

use super::scenario::{S3Faults, Scenario};
use crate::domain::regions;
use crate::failback_software::sha512_hex;

pub(crate) type S3Body = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// The version the emulator's manifest names.
pub const EMULATOR_INSTALLER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-emulator");

/// Slow answers go out in this many pieces a second.
const SLOW_TICKS_PER_SECOND: u64 = 10;

pub(crate) struct Buckets {
    assets: String,
    hashes: String,
    owner: String,
    objects: BTreeMap<(String, String), Bytes>,
    manifest_hash_key: String,
    /// What manifest.json.sha512 says while the pair is out of step.
    stale_manifest_hash: Bytes,
    faults: S3Faults,
    time_scale: f64,
    /// When the manifest pair was first asked for (the out-of-step window starts there).
    first_manifest_request: Mutex<Option<Instant>>,
}

fn sha512_file(body: &[u8], name: &str) -> Bytes {
    Bytes::from(format!("{}  {name}\n", sha512_hex(body)))
}

/// `'...'` for sh, whatever the path holds.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// failback_assets.tar.gz: the stand-in failback_entry and a jre/ that only says what it is.
fn tarball(program: &Path) -> std::io::Result<Vec<u8>> {
    let script = format!(
        "#!/bin/sh\n# drs-failback emulator: a stand-in for AWS's failback_entry.\nexec {} \
         failback-client-standin \"$@\"\n",
        shell_quote(&program.display().to_string())
    );
    let readme = "Stand-in for the Java runtime AWS ships with failback_entry; the emulator's \
                  stand-in does not need it.\n";
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut add = |path: &str, mode: u32, body: &[u8], kind: tar::EntryType| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(body.len() as u64);
        header.set_mtime(1_764_547_200);
        builder.append_data(&mut header, path, body)
    };
    add(
        "failback_entry",
        0o755,
        script.as_bytes(),
        tar::EntryType::Regular,
    )?;
    add("jre/", 0o755, b"", tar::EntryType::Directory)?;
    add(
        "jre/README",
        0o644,
        readme.as_bytes(),
        tar::EntryType::Regular,
    )?;
    builder.into_inner()?.finish()
}

fn error(status: StatusCode, code: &str, message: &str, key: &str) -> Response<S3Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><Key>{key}</Key><RequestId>emulator</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(http_body_util::Full::new(Bytes::from(body)).boxed_unsync())
        .unwrap_or_else(|_| Response::new(S3Body::default()))
}

impl Buckets {
    /// The scenario region's buckets; None when the region is not in the table.
    pub fn new(scenario: &Scenario, program: &Path) -> std::io::Result<Option<Buckets>> {
        let Some(region) = regions::find(scenario.region()) else {
            return Ok(None);
        };
        let manifest = serde_json::json!({
            "installerVersion": EMULATOR_INSTALLER_VERSION,
            "about": "drs-failback emulator: a stand-in for AWS's replication software",
        })
        .to_string();
        let tarball = tarball(program)?;
        let prefix = &region.key_prefix;
        let manifest_key = format!("{prefix}/manifest.json");
        let tarball_key =
            format!("{EMULATOR_INSTALLER_VERSION}/failback_assets/failback_assets.tar.gz");
        let faults = scenario.faults.s3.clone();
        let tarball_hash = if faults.wrong_hash {
            sha512_file(b"not the tarball", "failback_assets.tar.gz")
        } else {
            sha512_file(&tarball, "failback_assets.tar.gz")
        };
        let (assets, hashes) = (region.assets_bucket.clone(), region.hashes_bucket.clone());
        let mut objects = BTreeMap::new();
        objects.insert(
            (hashes.clone(), format!("{manifest_key}.sha512")),
            sha512_file(manifest.as_bytes(), "manifest.json"),
        );
        objects.insert(
            (assets.clone(), manifest_key.clone()),
            Bytes::from(manifest),
        );
        objects.insert(
            (hashes.clone(), format!("{tarball_key}.sha512")),
            tarball_hash,
        );
        objects.insert((assets.clone(), tarball_key), Bytes::from(tarball));
        Ok(Some(Buckets {
            assets,
            hashes,
            owner: faults
                .bucket_owner
                .clone()
                .unwrap_or_else(|| region.bucket_owner.clone()),
            objects,
            manifest_hash_key: format!("{manifest_key}.sha512"),
            stale_manifest_hash: sha512_file(b"{\"installerVersion\":\"older\"}", "manifest.json"),
            faults,
            time_scale: scenario.time_scale,
            first_manifest_request: Mutex::new(None),
        }))
    }

    /// `(bucket, key)` when the request is for one of these buckets.
    pub fn route<'p>(&self, method: &Method, path: &'p str) -> Option<(&'p str, &'p str)> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (bucket, key) = path.strip_prefix('/')?.split_once('/')?;
        (bucket == self.assets || bucket == self.hashes).then_some((bucket, key))
    }

    fn out_of_step(&self, bucket: &str, key: &str) -> bool {
        let pair = (bucket == self.assets && key.ends_with("/manifest.json"))
            || (bucket == self.hashes && key == self.manifest_hash_key);
        if !pair || self.faults.manifest_out_of_step_seconds <= 0.0 {
            return false;
        }
        let now = Instant::now();
        let first = *self
            .first_manifest_request
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(now);
        let window = self.faults.manifest_out_of_step_seconds / self.time_scale;
        bucket == self.hashes && (now - first).as_secs_f64() < window
    }

    pub fn respond(
        &self,
        method: &Method,
        bucket: &str,
        key: &str,
        owner: Option<&str>,
    ) -> Response<S3Body> {
        match owner {
            None => {
                return error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "Access Denied (the emulator requires x-amz-expected-bucket-owner, which drs-failback always sends)",
                    key,
                );
            }
            Some(o) if o != self.owner => {
                return error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", key);
            }
            Some(_) => {}
        }
        let stale = self.out_of_step(bucket, key);
        let Some(body) = self.objects.get(&(bucket.to_owned(), key.to_owned())) else {
            return error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                key,
            );
        };
        let body = if stale {
            self.stale_manifest_hash.clone()
        } else {
            body.clone()
        };
        let builder = Response::builder()
            .status(StatusCode::OK)
            .header("content-length", body.len())
            .header("x-amz-server-side-encryption", "AES256");
        let body = if method == Method::HEAD {
            S3Body::default()
        } else {
            match self.faults.bytes_per_second {
                Some(rate) if key.ends_with(".tar.gz") => {
                    let scaled = (rate as f64 * self.time_scale).max(1.0) as u64;
                    Slow::new(body, scaled).boxed_unsync()
                }
                _ => http_body_util::Full::new(body).boxed_unsync(),
            }
        };
        builder
            .body(body)
            .unwrap_or_else(|_| Response::new(S3Body::default()))
    }
}

/// A body that trickles out at a given rate (tokio time, so paused-time tests run at once).
struct Slow {
    rest: Bytes,
    piece: usize,
    /// Until the next piece may go; None for the first.
    pause: Option<Pin<Box<Sleep>>>,
}

impl Slow {
    fn new(body: Bytes, bytes_per_second: u64) -> Slow {
        Slow {
            rest: body,
            piece: (bytes_per_second / SLOW_TICKS_PER_SECOND).max(1) as usize,
            pause: None,
        }
    }
}

impl Body for Slow {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(pause) = self.pause.as_mut()
            && pause.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        let n = self.piece.min(self.rest.len());
        let piece = self.rest.split_to(n);
        let tick = Duration::from_millis(1000 / SLOW_TICKS_PER_SECOND);
        self.pause = Some(Box::pin(tokio::time::sleep(tick)));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failback_software::{Manifest, parse_sha512};

    fn scenario(s3: serde_json::Value) -> Scenario {
        let mut raw: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/demo-scenario.json")).unwrap();
        raw["faults"]["s3"] = s3;
        Scenario::from_json(&raw.to_string()).unwrap()
    }

    fn body(response: Response<S3Body>) -> Bytes {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async { response.into_body().collect().await.unwrap().to_bytes() })
    }

    const OWNER: Option<&str> = Some("111122223333");

    fn buckets(s3: serde_json::Value) -> Buckets {
        Buckets::new(&scenario(s3), Path::new("/opt/it's/drs-failback"))
            .unwrap()
            .expect("us-east-1 is in the region table")
    }

    #[test]
    fn the_published_files_agree_and_the_tarball_holds_the_stand_in() {
        let b = buckets(serde_json::json!({}));
        let owner = Some(b.owner.as_str());
        let (assets, hashes) = (b.assets.clone(), b.hashes.clone());
        let manifest = body(b.respond(&Method::GET, &assets, "latest/manifest.json", owner));
        let hash = body(b.respond(&Method::GET, &hashes, "latest/manifest.json.sha512", owner));
        assert_eq!(parse_sha512(&hash), Some(sha512_hex(&manifest)));
        let version = Manifest::parse(&manifest, "emulator")
            .unwrap()
            .installer_version;
        assert_eq!(version, EMULATOR_INSTALLER_VERSION);
        let key = format!("{version}/failback_assets/failback_assets.tar.gz");
        let tarball = body(b.respond(&Method::GET, &assets, &key, owner));
        let hash = body(b.respond(&Method::GET, &hashes, &format!("{key}.sha512"), owner));
        assert_eq!(parse_sha512(&hash), Some(sha512_hex(&tarball)));

        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&tarball[..]));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            if name == "failback_entry" {
                assert_eq!(entry.header().mode().unwrap() & 0o111, 0o111);
                let mut script = String::new();
                std::io::Read::read_to_string(&mut entry, &mut script).unwrap();
                assert!(
                    script.contains(r"exec '/opt/it'\''s/drs-failback' failback-client-standin"),
                    "{script}"
                );
            }
            names.push(name);
        }
        assert_eq!(names, ["failback_entry", "jre/", "jre/README"]);
    }

    #[test]
    fn the_owner_header_is_required_and_checked() {
        let b = buckets(serde_json::json!({}));
        let assets = b.assets.clone();
        for owner in [None, OWNER] {
            let r = b.respond(&Method::GET, &assets, "latest/manifest.json", owner);
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            let text = String::from_utf8(body(r).to_vec()).unwrap();
            assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
        }
        let owner = Some(b.owner.as_str());
        let r = b.respond(&Method::GET, &assets, "latest/nothing", owner);
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(String::from_utf8_lossy(&body(r)).contains("NoSuchKey"));
    }

    #[test]
    fn only_the_regions_buckets_are_routed() {
        let b = buckets(serde_json::json!({}));
        let path = format!("/{}/latest/manifest.json", b.assets);
        assert_eq!(
            b.route(&Method::GET, &path),
            Some((b.assets.as_str(), "latest/manifest.json"))
        );
        assert!(b.route(&Method::HEAD, &path).is_some());
        assert_eq!(b.route(&Method::POST, &path), None);
        assert_eq!(b.route(&Method::POST, "/DescribeRecoveryInstances"), None);
        assert_eq!(b.route(&Method::GET, "/some-other-bucket/key"), None);
    }

    #[test]
    fn a_wrong_hash_is_published_when_the_scenario_says() {
        let b = buckets(serde_json::json!({"wrong_hash": true}));
        let owner = Some(b.owner.as_str());
        let key = format!("{EMULATOR_INSTALLER_VERSION}/failback_assets/failback_assets.tar.gz");
        let tarball = body(b.respond(&Method::GET, &b.assets, &key, owner));
        let hash = body(b.respond(&Method::GET, &b.hashes, &format!("{key}.sha512"), owner));
        assert_ne!(parse_sha512(&hash), Some(sha512_hex(&tarball)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_manifest_pair_is_out_of_step_for_the_window_only() {
        let b = buckets(serde_json::json!({"manifest_out_of_step_seconds": 12}));
        let owner = Some(b.owner.as_str());
        let get = |bucket: &str, key: &str| {
            let r = b.respond(&Method::GET, bucket, key, owner);
            async move { r.into_body().collect().await.unwrap().to_bytes() }
        };
        let manifest = get(&b.assets, "latest/manifest.json").await;
        let stale = get(&b.hashes, "latest/manifest.json.sha512").await;
        assert_ne!(parse_sha512(&stale), Some(sha512_hex(&manifest)));
        tokio::time::advance(Duration::from_secs(12)).await;
        let fresh = get(&b.hashes, "latest/manifest.json.sha512").await;
        assert_eq!(parse_sha512(&fresh), Some(sha512_hex(&manifest)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_bucket_trickles() {
        let b = buckets(serde_json::json!({"bytes_per_second": 100}));
        let owner = Some(b.owner.as_str());
        // Small files come at once.
        let manifest = b.respond(&Method::GET, &b.assets, "latest/manifest.json", owner);
        let length: usize = manifest.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let first = manifest.into_body().frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap().len(), length);
        let started = Instant::now();
        let key = format!("{EMULATOR_INSTALLER_VERSION}/failback_assets/failback_assets.tar.gz");
        let mut body = b.respond(&Method::GET, &b.assets, &key, owner).into_body();
        let mut pieces = 0;
        let mut bytes = 0;
        while let Some(frame) = body.frame().await {
            bytes += frame.unwrap().into_data().unwrap().len();
            pieces += 1;
        }
        assert!(pieces > 1, "{pieces}");
        // 100 bytes a second, ten pieces a second: each piece is 10 bytes, 100 ms apart.
        assert_eq!(pieces, bytes.div_ceil(10));
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(100) * (pieces as u32 - 1)
        );
    }
}
