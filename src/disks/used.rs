//! Used space of the filesystems on a disk, where it can be read cheaply and safely: statvfs
//! of a mounted filesystem, else the free-block count in an ext2/3/4 superblock (exact once
//! unmounted). Other filesystems, and devices that cannot be read, stay unknown.

use crate::domain::block::{BlockSystem, DevNum, Filesystem, MountEntry};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The ext2/3/4 superblock: 1024 bytes at byte 1024 of the device.
const SUPERBLOCK_AT: u64 = 1024;
const SUPERBLOCK_LEN: usize = 1024;
const EXT_MAGIC: u16 = 0xEF53;
/// s_feature_incompat's INCOMPAT_64BIT: the counts have high halves.
const INCOMPAT_64BIT: u32 = 0x80;

fn le32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// Bytes in use by an ext2/3/4 filesystem, from its superblock (blocks minus free blocks);
/// None when `sb` is not one.
pub fn ext_used(sb: &[u8]) -> Option<u64> {
    if sb.len() < SUPERBLOCK_LEN || u16::from_le_bytes([sb[0x38], sb[0x39]]) != EXT_MAGIC {
        return None;
    }
    let wide = le32(sb, 0x60) as u32 & INCOMPAT_64BIT != 0;
    let count = |lo: usize, hi: usize| le32(sb, lo) | if wide { le32(sb, hi) << 32 } else { 0 };
    let (blocks, free) = (count(0x04, 0x150), count(0x0C, 0x158));
    let block_size = 1024u64.checked_shl(le32(sb, 0x18) as u32)?;
    blocks.checked_sub(free)?.checked_mul(block_size)
}

fn superblock_used(devnode: &str) -> io::Result<Option<u64>> {
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

fn used(fs: &Filesystem, devnum: DevNum, devnode: &str, mounts: &[MountEntry]) -> Option<u64> {
    if let Some(m) = mounts.iter().find(|m| m.devnum == devnum) {
        return statvfs_used(&m.mount_point);
    }
    if !matches!(fs.kind.as_str(), "ext2" | "ext3" | "ext4") {
        return None;
    }
    superblock_used(devnode).ok().flatten()
}

/// Fills in `used_bytes` of every filesystem on the listed disks and their partitions.
pub fn fill(system: &mut BlockSystem) {
    let mounts = system.mounts.clone();
    for disk in &mut system.disks {
        if let Some(fs) = disk.filesystem.as_mut() {
            fs.used_bytes = used(fs, disk.devnum, &disk.devnode, &mounts);
        }
        for part in &mut disk.partitions {
            let devnode = format!("/dev/{}", part.name);
            if let Some(fs) = part.filesystem.as_mut() {
                fs.used_bytes = used(fs, part.devnum, &devnode, &mounts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superblock(blocks: u64, free: u64, log_block: u32, wide: bool) -> Vec<u8> {
        let mut sb = vec![0u8; SUPERBLOCK_LEN];
        let put =
            |sb: &mut Vec<u8>, at: usize, v: u32| sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
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

    #[test]
    fn used_is_blocks_minus_free_blocks_times_the_block_size() {
        assert_eq!(
            ext_used(&superblock(16384, 12288, 2, false)),
            Some(4096 * 4096)
        );
        // A 64-bit filesystem over 16 TiB: the high halves count.
        let blocks = (5u64 << 32) + 7;
        assert_eq!(
            ext_used(&superblock(blocks, blocks - 10, 2, true)),
            Some(10 * 4096)
        );
        // Without INCOMPAT_64BIT the high halves are other fields: ignored.
        let mut narrow = superblock(100, 40, 0, false);
        narrow[0x150] = 0xff;
        assert_eq!(ext_used(&narrow), Some(60 * 1024));
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
