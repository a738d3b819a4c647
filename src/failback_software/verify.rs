//! SHA-512, as AWS publishes it beside each file (`<file>.sha512`, sha512sum's format).

use super::{SoftwareError, SoftwareErrorKind};
use sha2::{Digest, Sha512};
use std::path::Path;

/// The hash in a `.sha512` file: its first word, 128 hex digits (a file name may follow).
pub fn parse_sha512(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let word = text.split_whitespace().next()?;
    (word.len() == 128 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| word.to_ascii_lowercase())
}

pub fn sha512_hex(bytes: &[u8]) -> String {
    hex(&Sha512::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash computed while the bytes stream past.
#[derive(Default)]
pub(crate) struct Sha512Stream(Sha512);

impl Sha512Stream {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

/// Refuses a downloaded file whose hash is not the published one, and deletes it so that
/// nothing can unpack or run it by mistake.
pub(crate) async fn check_file(
    path: &Path,
    key: &str,
    expected: &str,
    actual: &str,
) -> Result<(), SoftwareError> {
    if expected == actual {
        return Ok(());
    }
    let removed = match tokio::fs::remove_file(path).await {
        Ok(()) => "it was deleted".to_owned(),
        Err(e) => format!("delete {} by hand ({e})", path.display()),
    };
    Err(SoftwareError::new(
        SoftwareErrorKind::HashMismatch,
        format!(
            "Wrong sha512 hash for {key}: AWS publishes {expected}, the download has {actual}; \
             {removed} and nothing was unpacked. Retry the download; if it fails again, \
             something between this machine and S3 (a proxy, S3_ENDPOINT) changes the file."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_hashes_are_read_in_sha512sums_format() {
        let h = sha512_hex(b"abc");
        assert!(h.starts_with("ddaf35a193617aba"), "{h}");
        assert_eq!(parse_sha512(h.as_bytes()), Some(h.clone()));
        let line = format!("{}  failback_assets.tar.gz\n", h.to_uppercase());
        assert_eq!(parse_sha512(line.as_bytes()), Some(h.clone()));
        assert_eq!(parse_sha512(b"deadbeef"), None);
        assert_eq!(parse_sha512(b""), None);
        let mut stream = Sha512Stream::default();
        stream.update(b"a");
        stream.update(b"bc");
        assert_eq!(stream.finish(), h);
    }
}
