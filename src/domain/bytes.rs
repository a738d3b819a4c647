//! Sizes are whole bytes, never floats.

use std::fmt;

pub const GIB: u64 = 1 << 30;
pub const MIB: u64 = 1 << 20;

/// A size in bytes. Displays in binary units (GiB, MiB) as operators read disk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
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
        let opts = humansize::BINARY.decimal_places(1).decimal_zeroes(0);
        f.write_str(&humansize::format_size(self.0, opts))
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
        assert_eq!(Bytes(9 * GIB + 3 * GIB / 4).to_string(), "9.8 GiB");
        assert_eq!(Bytes(512).to_string(), "512 B");
    }
}
