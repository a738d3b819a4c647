//! SSH for this boot: the one-time root password and what the live system's helper reports
//! (addresses, host-key fingerprints).

use zeroize::Zeroizing;

/// No look-alikes (`l o L O I 0 1`): the password is read off a console, often a serial one.
pub const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ";
/// Four groups of four: 16 characters of 55, about 92 bits.
const GROUPS: usize = 4;
const GROUP: usize = 4;

/// A password from random bytes, `xxxx-xxxx-xxxx-xxxx` (the dashes are part of it). Bytes
/// that would favour some characters are skipped; None when `random` runs out first.
pub fn password(random: impl IntoIterator<Item = u8>) -> Option<Zeroizing<String>> {
    // The largest multiple of the alphabet's size that fits a byte: no modulo bias below it.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u16;
    let mut chars = random
        .into_iter()
        .filter(|b| u16::from(*b) < limit)
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char);
    let mut out = Zeroizing::new(String::with_capacity(GROUPS * (GROUP + 1)));
    for g in 0..GROUPS {
        if g > 0 {
            out.push('-');
        }
        for _ in 0..GROUP {
            out.push(chars.next()?);
        }
    }
    Some(out)
}

/// SSH as the helper enabled it.
#[derive(Clone, PartialEq, Eq)]
pub struct SshAccess {
    pub password: Zeroizing<String>,
    /// (interface, address) of every global address.
    pub addresses: Vec<(String, String)>,
    /// (key type, fingerprint) of every host key, e.g. ("ED25519", "SHA256:...").
    pub fingerprints: Vec<(String, String)>,
}

impl std::fmt::Debug for SshAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshAccess")
            .field("password", &"<redacted>")
            .field("addresses", &self.addresses)
            .field("fingerprints", &self.fingerprints)
            .finish()
    }
}

/// Why SSH could not be enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshError {
    /// Not the live system: no helper, no sshd to start.
    NotAvailable(String),
    Failed(String),
}

impl SshError {
    pub fn message(&self) -> String {
        match self {
            SshError::NotAvailable(why) => format!(
                "SSH is not available here: {why}. It can be enabled from the drs-failback \
                 live system only; elsewhere, log in with this machine's own SSH server and \
                 run drs-failback there."
            ),
            SshError::Failed(why) => {
                format!("SSH could not be enabled: {why}. Press n to try again.")
            }
        }
    }
}

/// The helper's report: `address IFACE ADDR` lines, and `fingerprint LINE` lines with an
/// `ssh-keygen -l` line (`256 SHA256:... root@host (ED25519)`); others are ignored.
pub fn parse_report(text: &str) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let mut addresses = Vec::new();
    let mut fingerprints = Vec::new();
    for line in text.lines() {
        match line.trim().split_once(' ') {
            Some(("address", rest)) => {
                if let Some((iface, addr)) = rest.trim().split_once(' ') {
                    addresses.push((iface.to_owned(), addr.trim().to_owned()));
                }
            }
            Some(("fingerprint", rest)) => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let [_, fingerprint, .., kind] = words.as_slice() {
                    let kind = kind.trim_start_matches('(').trim_end_matches(')');
                    fingerprints.push((kind.to_owned(), (*fingerprint).to_owned()));
                }
            }
            _ => {}
        }
    }
    (addresses, fingerprints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_look_alikes_and_no_repeats() {
        for c in b"loLOI01" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len());
        assert_eq!(ALPHABET.len(), 55);
    }

    #[test]
    fn a_password_is_four_groups_of_four_from_the_alphabet() {
        let p = password(0u8..=255).unwrap();
        assert_eq!(p.len(), 19);
        let groups: Vec<&str> = p.split('-').collect();
        assert_eq!(groups.len(), 4);
        for g in groups {
            assert_eq!(g.len(), 4);
            assert!(g.bytes().all(|b| ALPHABET.contains(&b)), "{g}");
        }
        // In order from the bytes: 0 -> '2', 1 -> '3', ...
        assert!(p.starts_with("2345-"), "{}", p.as_str());
    }

    #[test]
    fn bytes_that_would_bias_the_choice_are_skipped() {
        // 220..=255 would map onto the first 36 characters a fifth time.
        let bytes = [220, 255, 230]
            .into_iter()
            .chain(std::iter::repeat_n(5, 16));
        assert_eq!(password(bytes).unwrap().as_str(), "7777-7777-7777-7777");
        // Every character is equally likely from the bytes that are kept.
        let mut counts = [0; 55];
        for b in (0u8..=255).filter(|b| *b < 220) {
            counts[b as usize % 55] += 1;
        }
        assert!(counts.iter().all(|c| *c == 4), "{counts:?}");
        assert!(password(std::iter::repeat_n(220, 16)).is_none());
    }

    #[test]
    fn too_few_random_bytes_give_no_password() {
        assert!(password([1, 2, 3]).is_none());
        assert!(password(std::iter::repeat_n(250u8, 100)).is_none());
    }

    #[test]
    fn the_report_gives_addresses_and_fingerprints_and_ignores_the_rest() {
        let (addresses, fingerprints) = parse_report(
            "address eth0 10.0.2.15\naddress eth0 fec0::5054:ff:fe12:3456\nnoise\n\
             fingerprint 256 SHA256:abc root@drs-failback (ED25519)\nfingerprint \n\
             fingerprint 3072 SHA256:def no comment (RSA)\n",
        );
        assert_eq!(
            addresses,
            vec![
                ("eth0".to_owned(), "10.0.2.15".to_owned()),
                ("eth0".to_owned(), "fec0::5054:ff:fe12:3456".to_owned())
            ]
        );
        assert_eq!(
            fingerprints,
            vec![
                ("ED25519".to_owned(), "SHA256:abc".to_owned()),
                ("RSA".to_owned(), "SHA256:def".to_owned())
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let access = SshAccess {
            password: Zeroizing::new("abcd-efgh-jkmn-pqrs".into()),
            addresses: vec![],
            fingerprints: vec![],
        };
        let shown = format!("{access:?}");
        assert!(
            !shown.contains("abcd") && shown.contains("redacted"),
            "{shown}"
        );
    }
}
