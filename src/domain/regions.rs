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
