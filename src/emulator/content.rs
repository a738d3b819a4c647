//! What each recovery-instance volume holds in the emulator: a seeded, deterministic pattern,
//! sparse except for the scenario's `used` bytes. The stand-in failback client writes it (the
//! agent's stream over TCP 1500, in the emulator's world) and the emulator hashes it, so a test
//! can prove that nothing was lost between the volume and the target disk.

use sha2::{Digest, Sha256};

/// The block the pattern is laid out in; also the stand-in's write size.
pub const BLOCK: u64 = 1 << 20;

/// One volume's content. Blocks are either data (a header naming the block, then seeded
/// printable filler: never zero, so data is told apart from a hole) or a hole (all zeros).
#[derive(Debug, Clone)]
pub struct VolumeContent {
    pub instance_id: String,
    pub volume: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// Built once: per-block byte loops are too slow in debug builds to keep the demo's pace.
    filler: Vec<u8>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl VolumeContent {
    pub fn new(
        instance_id: &str,
        volume: &str,
        total_bytes: u64,
        used_bytes: u64,
        seed: u64,
    ) -> Self {
        let mut state = seed;
        for b in instance_id.bytes().chain(volume.bytes()) {
            state = splitmix(&mut state) ^ u64::from(b);
        }
        // Twice a block, so any rotation of it is one slice.
        let mut filler = Vec::with_capacity(2 * BLOCK as usize);
        while filler.len() < 2 * BLOCK as usize {
            let r = splitmix(&mut state);
            filler.extend(r.to_le_bytes().iter().map(|b| b' ' + b % 95));
        }
        VolumeContent {
            instance_id: instance_id.to_owned(),
            volume: volume.to_owned(),
            total_bytes,
            used_bytes: used_bytes.min(total_bytes),
            filler,
        }
    }

    pub fn blocks(&self) -> u64 {
        self.total_bytes.div_ceil(BLOCK).max(1)
    }

    /// Whether block `index` holds data: the used blocks are spread evenly over the volume
    /// (the first always used), so writes are paced through the sync, not bunched at its start.
    pub fn is_data(&self, index: u64) -> bool {
        let n = self.blocks() as u128;
        let u = self.used_bytes.div_ceil(BLOCK).min(self.blocks()) as u128;
        let i = index as u128;
        ((i + 1) * u).div_ceil(n) != (i * u).div_ceil(n)
    }

    /// The length of block `index` (the last one may be short).
    pub fn block_len(&self, index: u64) -> u64 {
        BLOCK.min(self.total_bytes.saturating_sub(index * BLOCK))
    }

    /// The bytes of data block `index`, cut to `len` (what fits on a smaller target).
    pub fn data(&self, index: u64, len: usize) -> Vec<u8> {
        let offset = index * BLOCK;
        let header = format!(
            "DRS-FAILBACK-DEMO {} {} offset {offset}\n",
            self.instance_id, self.volume
        );
        let head = header.len().min(len);
        let start = (index.wrapping_mul(7919) % BLOCK) as usize;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&header.as_bytes()[..head]);
        out.extend_from_slice(&self.filler[start + head..start + len]);
        out
    }

    /// SHA-256 (hex) of the first `len` bytes of the volume. For a target smaller than its
    /// volume (a fractional-GiB disk that came back rounded up), `len` is the target's size:
    /// the part that fits is what a failback can keep.
    pub fn sha256(&self, len: u64) -> String {
        let len = len.min(self.total_bytes);
        let zeros = vec![0u8; BLOCK as usize];
        let mut hash = Sha256::new();
        let mut index = 0;
        while index * BLOCK < len {
            let n = self.block_len(index).min(len - index * BLOCK) as usize;
            if self.is_data(index) {
                hash.update(self.data(index, n));
            } else {
                hash.update(&zeros[..n]);
            }
            index += 1;
        }
        format!("{:x}", hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_blocks_are_spread_counted_and_never_zero() {
        for (total, used) in [
            (8 * BLOCK, 3 * BLOCK),
            (10 * BLOCK, 10 * BLOCK),
            (7 * BLOCK, 1),
        ] {
            let c = VolumeContent::new("i-0123456789abcdef0", "/dev/xvda", total, used, 1);
            let data: Vec<u64> = (0..c.blocks()).filter(|&i| c.is_data(i)).collect();
            assert_eq!(data.len() as u64, used.div_ceil(BLOCK));
            assert_eq!(data.first(), Some(&0));
        }
        let c = VolumeContent::new("i-0123456789abcdef0", "/dev/xvda", 4 * BLOCK, BLOCK, 7);
        let block = c.data(1, 4096);
        assert_eq!(block.len(), 4096);
        assert!(
            block.starts_with(b"DRS-FAILBACK-DEMO i-0123456789abcdef0 /dev/xvda offset 1048576\n")
        );
        assert!(!block.contains(&0));
        assert_eq!(c.data(0, 5), b"DRS-F");
        assert_eq!(c.data(3, BLOCK as usize).len() as u64, BLOCK);
    }

    #[test]
    fn the_seed_and_the_volume_change_the_content() {
        let a = VolumeContent::new("i-01234567", "/dev/xvda", BLOCK, BLOCK, 1);
        let b = VolumeContent::new("i-01234567", "/dev/xvda", BLOCK, BLOCK, 2);
        let c = VolumeContent::new("i-01234567", "/dev/xvdb", BLOCK, BLOCK, 1);
        assert_ne!(a.sha256(BLOCK), b.sha256(BLOCK));
        assert_ne!(a.sha256(BLOCK), c.sha256(BLOCK));
        let again = VolumeContent::new("i-01234567", "/dev/xvda", BLOCK, BLOCK, 1);
        assert_eq!(a.sha256(BLOCK), again.sha256(BLOCK));
    }

    #[test]
    fn the_hash_covers_data_and_holes_up_to_the_length() {
        let c = VolumeContent::new("i-01234567", "/dev/xvda", 3 * BLOCK + 10, 2 * BLOCK, 3);
        let mut image = Vec::new();
        for i in 0..c.blocks() {
            let n = c.block_len(i) as usize;
            if c.is_data(i) {
                image.extend(c.data(i, n));
            } else {
                image.extend(vec![0u8; n]);
            }
        }
        assert_eq!(image.len() as u64, 3 * BLOCK + 10);
        let expected = |len: usize| format!("{:x}", Sha256::digest(&image[..len]));
        assert_eq!(c.sha256(u64::MAX), expected(image.len()));
        assert_eq!(c.sha256(2 * BLOCK + 5), expected(2 * BLOCK as usize + 5));
    }
}
