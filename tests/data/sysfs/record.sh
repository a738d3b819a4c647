#!/bin/bash
# Records what drs-failback reads about some block devices as a sample tree under OUT (sysfs
# attributes, holders, /dev/disk links, mounts, swaps, and udev's properties per device), for
# the unit tests in src/disks/sysfs.rs. image/boot-test runs it inside the live image's guest.
#   record.sh OUT DISK...      DISK: a kernel name (sdb, vda); their partitions and holders
#                              (LVM, MD, dm-crypt) are recorded with them.
set -euo pipefail
out=${1:?usage: record.sh OUT DISK...}
shift
mkdir -p "$out/sys/block" "$out/proc/self" "$out/udev"

# Only the files the reader opens (src/disks/sysfs.rs).
attrs="dev size hidden ro removable partition serial wwid queue/logical_block_size
    queue/physical_block_size queue/rotational device/model device/vendor device/serial
    device/wwid dm/name dm/uuid md/level loop/backing_file"

copy_dir() { # copy_dir /sys/devices/... : its attributes and holders, not its subdevices
    local dir=$1 rel=${1#/sys/}
    mkdir -p "$out/sys/$rel"
    for a in $attrs; do
        if [ -f "$dir/$a" ]; then
            mkdir -p "$(dirname "$out/sys/$rel/$a")"
            cat "$dir/$a" >"$out/sys/$rel/$a" 2>/dev/null || true
        fi
    done
    local links
    for links in holders slaves; do
        [ -d "$dir/$links" ] || continue
        mkdir -p "$out/sys/$rel/$links"
        for h in "$dir/$links"/*; do
            if [ -e "$h" ]; then
                ln -sfn "$(readlink "$h")" "$out/sys/$rel/$links/$(basename "$h")"
            fi
        done
    done
}

declare -A seen=()
record() { # record NAME: a whole block device, its partitions, then its holders
    local name=$1
    if [ -n "${seen[$name]:-}" ]; then
        return
    fi
    seen[$name]=1
    local real
    real=$(readlink -f "/sys/block/$name")
    ln -sfn "../${real#/sys/}" "$out/sys/block/$name"
    copy_dir "$real"
    udevadm info --query=property --name="/dev/$name" >"$out/udev/$name" 2>/dev/null || true
    local part holder
    for part in "$real"/*/partition; do
        [ -f "$part" ] || continue
        part=$(dirname "$part")
        copy_dir "$part"
        udevadm info --query=property --name="/dev/$(basename "$part")" \
            >"$out/udev/$(basename "$part")" 2>/dev/null || true
        for holder in "$part"/holders/*; do
            if [ -e "$holder" ]; then record "$(basename "$holder")"; fi
        done
    done
    for holder in "$real"/holders/*; do
        if [ -e "$holder" ]; then record "$(basename "$holder")"; fi
    done
}

for disk in "$@"; do
    record "$disk"
done

# The persistent links that name a recorded device.
for dir in by-path by-id by-uuid; do
    mkdir -p "$out/dev/disk/$dir"
    for link in /dev/disk/"$dir"/*; do
        [ -L "$link" ] || continue
        target=$(basename "$(readlink "$link")")
        # A partition's link goes with its disk.
        disk=$(basename "$(dirname "$(readlink -f "/sys/class/block/$target")")")
        if [ -z "${seen[$target]:-}" ] && [ -z "${seen[$disk]:-}" ]; then
            continue
        fi
        ln -sfn "../../$target" "$out/dev/disk/$dir/$(basename "$link")"
    done
done
cat /proc/self/mountinfo >"$out/proc/self/mountinfo"
cat /proc/swaps >"$out/proc/swaps"
