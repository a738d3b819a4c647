//! The DRS regions that serve the failback replication software (assets/regions.json).

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub assets_bucket: String,
    pub hashes_bucket: String,
    pub key_prefix: String,
    /// Expected in `x-amz-expected-bucket-owner` on every download.
    pub bucket_owner: String,
}

#[derive(Deserialize)]
struct Table {
    regions: Vec<Region>,
}

pub fn all() -> &'static [Region] {
    static TABLE: OnceLock<Vec<Region>> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str::<Table>(include_str!("../../assets/regions.json"))
            .expect("assets/regions.json is valid (checked by a unit test)")
            .regions
    })
}

pub fn find(code: &str) -> Option<&'static Region> {
    all().iter().find(|r| r.code == code)
}

/// The region a mistyped code most likely meant: at most two letters off (a swap counts as
/// one), and the only one that close.
pub fn closest(code: &str) -> Option<&'static Region> {
    let code = code.trim().to_lowercase();
    let near: Vec<(usize, &Region)> = all()
        .iter()
        .map(|r| (strsim::osa_distance(&code, &r.code), r))
        .filter(|(d, _)| *d <= 2)
        .collect();
    let best = near.iter().map(|(d, _)| *d).min()?;
    match near.iter().filter(|(d, _)| *d == best).collect::<Vec<_>>()[..] {
        [(_, r)] => Some(r),
        _ => None,
    }
}

/// What to say of a region code that is not in the table.
pub fn unknown(code: &str) -> String {
    match closest(code) {
        Some(r) => format!(
            "Unknown region `{code}`: did you mean {} ({})?",
            r.code, r.name
        ),
        None => {
            format!("Unknown region `{code}`: give a region code such as us-east-1 or eu-west-1.")
        }
    }
}

/// Regions whose code or name contains every word of `filter` (case-insensitive).
pub fn filtered(filter: &str) -> Vec<&'static Region> {
    let words: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
    all()
        .iter()
        .filter(|r| {
            let hay = format!("{} {}", r.code, r.name).to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_code_names_the_region_it_likely_meant_and_only_then() {
        assert_eq!(
            closest("us-eats-1").map(|r| r.code.as_str()),
            Some("us-east-1")
        );
        assert_eq!(
            closest("eu-wset-2").map(|r| r.code.as_str()),
            Some("eu-west-2")
        );
        assert_eq!(
            closest("EU-WEST-1").map(|r| r.code.as_str()),
            Some("eu-west-1")
        );
        // As near to several: no guess.
        assert_eq!(closest("us-east-3"), None);
        assert_eq!(closest("mars-1"), None);
        assert!(unknown("us-eats-1").contains("did you mean us-east-1"));
        assert!(unknown("mars-1").contains("such as us-east-1"));
    }

    #[test]
    fn table_loads_with_known_regions() {
        assert!(all().len() >= 30);
        let r = find("eu-west-1").unwrap();
        assert_eq!(r.assets_bucket, "aws-elastic-disaster-recovery-eu-west-1");
        assert_eq!(
            r.hashes_bucket,
            "aws-elastic-disaster-recovery-hashes-eu-west-1"
        );
        assert!(find("xx-nowhere-1").is_none());
    }

    #[test]
    fn filter_matches_code_and_name_words() {
        let codes: Vec<_> = filtered("europe frank")
            .iter()
            .map(|r| r.code.as_str())
            .collect();
        assert_eq!(codes, ["eu-central-1"]);
        assert!(filtered("us-east").len() >= 2);
        assert!(filtered("atlantis").is_empty());
        assert_eq!(filtered("").len(), all().len());
    }
}
