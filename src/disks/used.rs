//! Used space of the filesystems on a disk, where it can be read cheaply and safely: statvfs
//! of a mounted filesystem, else the counts in an ext2/3/4 superblock. Other filesystems, and
//! devices that cannot be read, stay unknown.

use crate::domain::block::{BlockSystem, DevNum, Filesystem, MountEntry};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The ext2/3/4 superblock: 1024 bytes at byte 1024 of the device.
const SUPERBLOCK_AT: u64 = 1024;
const SUPERBLOCK_LEN: usize = 1024;
const EXT_MAGIC: u16 = 0xEF53;
/// s_feature_compat's COMPAT_HAS_JOURNAL.
const COMPAT_HAS_JOURNAL: u32 = 0x4;
/// s_feature_incompat's INCOMPAT_64BIT: the counts have high halves.
const INCOMPAT_64BIT: u32 = 0x80;
/// s_feature_ro_compat's RO_COMPAT_BIGALLOC: the overhead is counted in clusters.
const RO_COMPAT_BIGALLOC: u32 = 0x200;
/// s_jnl_backup_type's EXT3_JNL_BACKUP_BLOCKS: s_jnl_blocks holds the journal inode's size.
const JNL_BACKUP_BLOCKS: u8 = 1;

fn le32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// Bytes in use by an ext2/3/4 filesystem, from its superblock, as `df` would show it mounted:
/// blocks minus free blocks minus the overhead (the journal, inode tables, bitmaps and
/// superblock copies) that mke2fs records. Without that record only the internal journal's
/// size is taken off, and the figure is an estimate (true). None when `sb` is not one.
pub fn ext_used(sb: &[u8]) -> Option<(u64, bool)> {
    if sb.len() < SUPERBLOCK_LEN || u16::from_le_bytes([sb[0x38], sb[0x39]]) != EXT_MAGIC {
        return None;
    }
    let feature = |at: usize, bit: u32| le32(sb, at) as u32 & bit != 0;
    let wide = feature(0x60, INCOMPAT_64BIT);
    let count = |lo: usize, hi: usize| le32(sb, lo) | if wide { le32(sb, hi) << 32 } else { 0 };
    let (blocks, free) = (count(0x04, 0x150), count(0x0C, 0x158));
    let log_block = le32(sb, 0x18) as u32;
    let block_size = 1024u64.checked_shl(log_block)?;
    let used = blocks.checked_sub(free)?;
    // s_overhead_clusters; a cluster is one block unless bigalloc.
    let per_cluster = if feature(0x64, RO_COMPAT_BIGALLOC) {
        1u64.checked_shl((le32(sb, 0x1C) as u32).checked_sub(log_block)?)?
    } else {
        1
    };
    let overhead = le32(sb, 0x248).checked_mul(per_cluster)?;
    if overhead > 0 && overhead <= used {
        return Some(((used - overhead).checked_mul(block_size)?, false));
    }
    let bytes = used.checked_mul(block_size)?;
    // s_jnl_blocks[15..17]: the journal inode's size, high and low halves.
    let internal_journal =
        feature(0x5C, COMPAT_HAS_JOURNAL) && le32(sb, 0xE0) != 0 && sb[0xFD] == JNL_BACKUP_BLOCKS;
    let journal = if internal_journal {
        le32(sb, 0x10C + 15 * 4) << 32 | le32(sb, 0x10C + 16 * 4)
    } else {
        0
    };
    Some((bytes.saturating_sub(journal), true))
}

fn superblock_used(devnode: &str) -> io::Result<Option<(u64, bool)>> {
    let mut sb = [0u8; SUPERBLOCK_LEN];
    File::open(devnode)?.read_exact_at(&mut sb, SUPERBLOCK_AT)?;
    Ok(ext_used(&sb))
}

fn statvfs_used(mount_point: &str) -> Option<u64> {
    let path = std::ffi::CString::new(mount_point).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs the call fills in.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    (st.f_blocks as u64)
        .checked_sub(st.f_bfree as u64)?
        .checked_mul(st.f_frsize as u64)
}

/// Bytes used and whether that is an estimate.
fn used(
    fs: &Filesystem,
    devnum: DevNum,
    devnode: &str,
    mounts: &[MountEntry],
) -> Option<(u64, bool)> {
    if let Some(m) = mounts.iter().find(|m| m.devnum == devnum) {
        return statvfs_used(&m.mount_point).map(|u| (u, false));
    }
    if !matches!(fs.kind.as_str(), "ext2" | "ext3" | "ext4") {
        return None;
    }
    superblock_used(devnode).ok().flatten()
}

/// Fills in the used space of every filesystem on the listed disks and their partitions.
pub fn fill(system: &mut BlockSystem) {
    let mounts = system.mounts.clone();
    let set = |fs: &mut Filesystem, used: Option<(u64, bool)>| {
        fs.used_bytes = used.map(|(bytes, _)| bytes);
        fs.used_estimated = used.is_some_and(|(_, estimated)| estimated);
    };
    for disk in &mut system.disks {
        if let Some(fs) = disk.filesystem.as_mut() {
            let u = used(fs, disk.devnum, &disk.devnode, &mounts);
            set(fs, u);
        }
        for part in &mut disk.partitions {
            let devnode = format!("/dev/{}", part.name);
            if let Some(fs) = part.filesystem.as_mut() {
                let u = used(fs, part.devnum, &devnode, &mounts);
                set(fs, u);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superblock(blocks: u64, free: u64, log_block: u32, wide: bool) -> Vec<u8> {
        let mut sb = vec![0u8; SUPERBLOCK_LEN];
        put(&mut sb, 0x04, blocks as u32);
        put(&mut sb, 0x0C, free as u32);
        put(&mut sb, 0x18, log_block);
        sb[0x38..0x3A].copy_from_slice(&EXT_MAGIC.to_le_bytes());
        if wide {
            put(&mut sb, 0x60, INCOMPAT_64BIT);
            put(&mut sb, 0x150, (blocks >> 32) as u32);
            put(&mut sb, 0x158, (free >> 32) as u32);
        }
        sb
    }

    fn put(sb: &mut [u8], at: usize, v: u32) {
        sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// An internal journal of `bytes`, as mke2fs backs its inode up in the superblock.
    fn with_journal(mut sb: Vec<u8>, bytes: u64) -> Vec<u8> {
        put(&mut sb, 0x5C, COMPAT_HAS_JOURNAL);
        put(&mut sb, 0xE0, 8);
        sb[0xFD] = JNL_BACKUP_BLOCKS;
        put(&mut sb, 0x10C + 15 * 4, (bytes >> 32) as u32);
        put(&mut sb, 0x10C + 16 * 4, bytes as u32);
        sb
    }

    #[test]
    fn without_a_recorded_overhead_used_is_blocks_minus_free_an_estimate() {
        assert_eq!(
            ext_used(&superblock(16384, 12288, 2, false)),
            Some((4096 * 4096, true))
        );
        // A 64-bit filesystem over 16 TiB: the high halves count.
        let blocks = (5u64 << 32) + 7;
        assert_eq!(
            ext_used(&superblock(blocks, blocks - 10, 2, true)),
            Some((10 * 4096, true))
        );
        // Without INCOMPAT_64BIT the high halves are other fields: ignored.
        let mut narrow = superblock(100, 40, 0, false);
        narrow[0x150] = 0xff;
        assert_eq!(ext_used(&narrow), Some((60 * 1024, true)));
    }

    #[test]
    fn the_recorded_overhead_is_not_used_space() {
        // mke2fs 1.47's 64 MiB ext4: 9,513 blocks in use, 9,499 of them its own overhead.
        let mut sb = with_journal(superblock(65536, 56023, 0, false), 4 << 20);
        put(&mut sb, 0x248, 9499);
        assert_eq!(ext_used(&sb), Some((14 * 1024, false)));
        // bigalloc: the overhead is in clusters (16 blocks each here).
        let mut big = superblock(65536, 56000, 2, false);
        put(&mut big, 0x64, RO_COMPAT_BIGALLOC);
        put(&mut big, 0x1C, 6);
        put(&mut big, 0x248, 590);
        assert_eq!(ext_used(&big), Some(((9536 - 590 * 16) * 4096, false)));
        // An overhead larger than what is in use is not believed.
        put(&mut sb, 0x248, 10_000);
        assert_eq!(ext_used(&sb), Some((9513 * 1024 - (4 << 20), true)));
    }

    #[test]
    fn without_the_overhead_the_internal_journal_is_taken_off() {
        let sb = with_journal(superblock(65536, 56023, 0, false), 4 << 20);
        assert_eq!(ext_used(&sb), Some((9513 * 1024 - (4 << 20), true)));
        // An external journal (no journal inode) is not on this device.
        let mut external = sb.clone();
        put(&mut external, 0xE0, 0);
        assert_eq!(ext_used(&external), Some((9513 * 1024, true)));
    }

    #[test]
    fn anything_but_an_ext_superblock_is_unknown() {
        assert_eq!(ext_used(&[0u8; SUPERBLOCK_LEN]), None);
        assert_eq!(ext_used(&superblock(10, 10, 2, false)[..100]), None);
        assert_eq!(
            ext_used(&superblock(10, 20, 2, false)),
            None,
            "free > blocks"
        );
    }
}
