//! Sizes are whole bytes, never floats.

use std::fmt;

pub const GIB: u64 = 1 << 30;
pub const MIB: u64 = 1 << 20;

/// A size in bytes. Displays in binary units (GiB, MiB) as operators read disk sizes, with
/// two decimals at most so that a 9.75 GiB disk never reads as 9.8 GiB.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    pub const fn gib(n: u64) -> Self {
        Bytes(n * GIB)
    }
    pub const fn mib(n: u64) -> Self {
        Bytes(n * MIB)
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opts = humansize::BINARY.decimal_places(2).decimal_zeroes(0);
        let text = humansize::format_size(self.0, opts);
        match text.split_once(' ') {
            // "1.50 GiB" reads better as "1.5 GiB", "60.00 GiB" as "60 GiB".
            Some((number, unit)) if number.contains('.') => {
                let number = number.trim_end_matches('0').trim_end_matches('.');
                write!(f, "{number} {unit}")
            }
            _ => f.write_str(&text),
        }
    }
}

impl std::ops::Add for Bytes {
    type Output = Bytes;
    fn add(self, o: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(o.0))
    }
}

impl std::iter::Sum for Bytes {
    fn sum<I: Iterator<Item = Bytes>>(iter: I) -> Bytes {
        iter.fold(Bytes(0), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_binary_units() {
        assert_eq!(Bytes::gib(10).to_string(), "10 GiB");
        assert_eq!(Bytes(9 * GIB + 3 * GIB / 4).to_string(), "9.75 GiB");
        assert_eq!(Bytes(3 * GIB / 2).to_string(), "1.5 GiB");
        assert_eq!(Bytes(512).to_string(), "512 B");
        // Within 0.005 of a whole number: no dangling point.
        assert_eq!(Bytes(60 * GIB + 1).to_string(), "60 GiB");
        assert_eq!(Bytes(3 * GIB - 1).to_string(), "3 GiB");
    }
}
