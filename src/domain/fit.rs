//! The size rule: a local disk takes a recovery volume when it is at least as large, with one
//! exception AWS documents (the source disk had a fractional GiB size and the recovery volume is
//! that size rounded up to a whole GiB).

use super::bytes::{Bytes, GIB};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Fits,
    /// The volume is the target's size rounded up to a whole GiB (documented exception, e.g. a
    /// 9.75 GiB disk for a 10 GiB volume): EBS volumes are whole GiB, so the original disk was
    /// rounded up on the way to AWS and the data still fits.
    FitsFractional,
    TooSmall {
        short_by: Bytes,
    },
}

impl Fit {
    pub fn ok(&self) -> bool {
        !matches!(self, Fit::TooSmall { .. })
    }
}

/// The size rounded up to the next whole GiB (unchanged when already whole).
pub fn ceil_to_gib(size: Bytes) -> Bytes {
    Bytes(size.0.div_ceil(GIB).saturating_mul(GIB))
}

pub fn fit(volume: Bytes, target: Bytes) -> Fit {
    if target >= volume {
        Fit::Fits
    } else if !target.0.is_multiple_of(GIB) && volume == ceil_to_gib(target) {
        Fit::FitsFractional
    } else {
        Fit::TooSmall {
            short_by: Bytes(volume.0 - target.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bytes::MIB;

    const GIB_9_75: Bytes = Bytes(9 * GIB + 3 * GIB / 4);

    #[test]
    fn equal_sizes_fit() {
        assert_eq!(fit(Bytes::gib(10), Bytes::gib(10)), Fit::Fits);
    }

    #[test]
    fn larger_target_fits() {
        assert_eq!(fit(Bytes::gib(10), Bytes::gib(11)), Fit::Fits);
        assert_eq!(fit(Bytes::gib(10), Bytes(10 * GIB + 1)), Fit::Fits);
    }

    #[test]
    fn fractional_disk_takes_volume_rounded_up_to_whole_gib() {
        let f = fit(Bytes::gib(10), GIB_9_75);
        assert_eq!(f, Fit::FitsFractional);
        assert!(f.ok());
    }

    #[test]
    fn fractional_disk_refuses_volume_more_than_one_rounding_larger() {
        assert_eq!(
            fit(Bytes::gib(11), GIB_9_75),
            Fit::TooSmall {
                short_by: Bytes(GIB + GIB / 4)
            }
        );
    }

    #[test]
    fn whole_gib_disk_gets_no_rounding_exception() {
        let f = fit(Bytes::gib(10), Bytes::gib(9));
        assert_eq!(
            f,
            Fit::TooSmall {
                short_by: Bytes::gib(1)
            }
        );
        assert!(!f.ok());
    }

    #[test]
    fn fractional_exception_needs_the_volume_to_be_exactly_whole_gib() {
        // 9.9 GiB volume is not "the disk rounded up to a whole GiB".
        let volume = Bytes(9 * GIB + 900 * MIB);
        assert!(matches!(fit(volume, GIB_9_75), Fit::TooSmall { .. }));
    }

    #[test]
    fn sizes_one_byte_apart_follow_the_rule() {
        assert_eq!(
            fit(Bytes::gib(1), Bytes(GIB - 1)),
            Fit::FitsFractional,
            "1 GiB - 1 byte rounds up to 1 GiB"
        );
        assert_eq!(
            fit(Bytes(GIB + 1), Bytes(GIB)),
            Fit::TooSmall { short_by: Bytes(1) }
        );
    }

    #[test]
    fn ceil_to_gib_rounds_up_only_fractions() {
        assert_eq!(ceil_to_gib(GIB_9_75), Bytes::gib(10));
        assert_eq!(ceil_to_gib(Bytes::gib(9)), Bytes::gib(9));
        assert_eq!(ceil_to_gib(Bytes(0)), Bytes(0));
        assert_eq!(ceil_to_gib(Bytes(1)), Bytes::gib(1));
    }
}
