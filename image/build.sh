#!/usr/bin/env bash
# Builds the live image in every format from the live-profile binary, into target/image/out/:
#   drs-failback-live.iso          hybrid ISO (BIOS + UEFI, CD or USB stick)
#   drs-failback-live.raw          GPT disk (BIOS + UEFI) and from it .qcow2, .vmdk
#                                  (streamOptimized), .vhd (fixed, whole MiB), -gcp.tar.gz
#   netboot/                       vmlinuz, initrd.img, filesystem.squashfs, iPXE/PXELINUX/GRUB
#   SHA512SUMS
# The Debian base is cached as target/image/base-<hash>.tar (hash of packages.txt and
# base-hook.sh); a rebuild redoes only the binary layer, the squashfs and the images.
# Needs root and image/install-deps.sh's packages.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
image=$repo/target/image
work=$image/work
out=$image/out
name=drs-failback-live
# zstd 9: 4 s for a 110 MiB squashfs here; 15 gives 6% less in 70 s.
SQUASHFS_LEVEL=${SQUASHFS_LEVEL:-9}

# Each stage's seconds, printed at the end: what a rebuild spends where.
timings=()
stage=
stage_at=0
step() {
    [ -z "$stage" ] || timings+=("$(printf '%4ds  %s' $((SECONDS - stage_at)) "$stage")")
    stage=$*
    stage_at=$SECONDS
    [ -z "$stage" ] || echo "build.sh: $* (at ${SECONDS}s)" >&2
}
die() {
    echo "build.sh: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap and the image's file ownership need it)"
for tool in mmdebstrap mksquashfs grub-mkrescue grub-mkimage xorriso mkfs.vfat mcopy mke2fs \
    sfdisk qemu-img; do
    command -v "$tool" >/dev/null || die "$tool is missing: run image/install-deps.sh"
done

# Cargo.toml's `live` profile: incremental, so a rebuild after a code change takes seconds, not
# the release profile's minutes of fat LTO. The build overlaps the base's making.
step "binary (live profile)"
cargo build --profile live --quiet --manifest-path "$repo/Cargo.toml" &
cargo_pid=$!
trap '[ -z "$cargo_pid" ] || kill "$cargo_pid" 2>/dev/null' EXIT
binary=$repo/target/live/drs-failback

# --- The cached Debian base -------------------------------------------------------------
debian_mirror() {
    # The machine's own mirror (deb822 or one-line sources), never a hard-coded host.
    local suffix=$1
    awk -v s="$suffix" '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ s "/?$") { print $i; exit } }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    awk -v s="$suffix" '$1 == "deb" && $2 ~ s "/?$" { print $2; exit }' \
        /etc/apt/sources.list 2>/dev/null || true
}
hash=$(cat "$here/packages.txt" "$here/base-hook.sh" | sha256sum | cut -c1-16)
base=$image/base-$hash.tar
mkdir -p "$image"
if [ ! -s "$base" ]; then
    step "Debian 12 base (cached as $(basename "$base"))"
    mirror=$(debian_mirror /debian | head -n1)
    security=$(debian_mirror /debian-security | head -n1)
    [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list*"
    sources=$image/sources.list
    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        [ -z "$security" ] || echo "deb $security bookworm-security main"
    } >"$sources"
    rm -rf "$base.tmp"
    packages=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd,)
    mmdebstrap --mode=root --variant=apt --format=tar --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --customize-hook="sh '$here/base-hook.sh' \"\$1\"" \
        bookworm "$base.tmp" "$sources"
    mv "$base.tmp" "$base"
    built_base=1
    # Older bases are of no use any more.
    find "$image" -maxdepth 1 -name 'base-*.tar' ! -name "$(basename "$base")" -delete
    rm -rf "${base%.tar}"
fi

# --- Our layer: the binary, units, config -----------------------------------------------
[ -z "${built_base:-}" ] || step "binary (what is left of its build)"
wait "$cargo_pid" || { cargo_pid=; die "cargo build --profile live failed"; }
cargo_pid=
step "root file system"
# The base is unpacked once next to its tarball; each build hard-links it (seconds, no copy)
# and our layer only adds or replaces files, never writes into a linked one.
unpacked=${base%.tar}
if [ ! -d "$unpacked" ]; then
    rm -rf "$unpacked.tmp"
    mkdir -p "$unpacked.tmp"
    tar -xf "$base" -C "$unpacked.tmp"
    mv "$unpacked.tmp" "$unpacked"
fi
find "$image" -maxdepth 1 -name 'base-*' -type d ! -name "$(basename "$unpacked")" \
    -exec rm -rf {} +
rootfs=$work/rootfs
rm -rf "$work"
mkdir -p "$work"
cp -al "$unpacked" "$rootfs"
cp -rT --remove-destination "$here/rootfs" "$rootfs"
install -m 0755 "$binary" "$rootfs/usr/local/bin/drs-failback"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
sysctl_root() { systemctl --root="$rootfs" --quiet "$@"; }
sysctl_root enable drs-failback@tty1.service drs-failback@ttyS0.service \
    drs-failback-unattended.service drs-proc-hidepid.service 'run-drs\x2dfailback.mount' \
    drs-ssh-hostkeys.service drs-ssh-authorized-key.service drs-static-network.service \
    systemd-networkd.service systemd-resolved.service systemd-timesyncd.service
# SSH stays off until asked for; nothing waits for the network; the wizard owns these consoles.
sysctl_root disable ssh.service ssh.socket 2>/dev/null || true
sysctl_root mask systemd-networkd-wait-online.service getty@tty1.service autovt@tty1.service \
    serial-getty@ttyS0.service serial-getty@hvc0.service
cp "$rootfs"/boot/vmlinuz-* "$work/vmlinuz"
cp "$rootfs"/boot/initrd.img-* "$work/initrd.img"
rm -rf "${rootfs:?}"/boot/*

step "squashfs (zstd level $SQUASHFS_LEVEL)"
mksquashfs "$rootfs" "$work/filesystem.squashfs" -noappend -quiet -no-progress \
    -comp zstd -Xcompression-level "$SQUASHFS_LEVEL" >/dev/null

# The live medium's tree, shared by the ISO and the disk image.
medium=$work/medium
mkdir -p "$medium/live" "$medium/boot/grub"
ln "$work/vmlinuz" "$work/initrd.img" "$work/filesystem.squashfs" "$medium/live/"
cp "$here/boot/grub.cfg" "$medium/boot/grub/grub.cfg"

rm -rf "$out"
mkdir -p "$out"

# --- ISO ------------------------------------------------------------------------------------
step "hybrid ISO"
. "$repo/assets/live-labels" # LIVE_ISO_VOLID, LIVE_DISK_LABEL: the wizard refuses disks with them
grub-mkrescue --output="$out/$name.iso" "$medium" -- -volid "$LIVE_ISO_VOLID" 2>"$work/mkrescue.log" ||
    { cat "$work/mkrescue.log" >&2; die "grub-mkrescue failed"; }

# --- GPT disk: BIOS boot partition, ESP, ext4 with the live medium --------------------------
step "raw GPT disk"
uuid=$(cat /proc/sys/kernel/random/uuid)
cat >"$work/early.cfg" <<EOF
search --no-floppy --fs-uuid --set=root $uuid
set prefix=(\$root)/boot/grub
configfile (\$root)/boot/grub/grub.cfg
EOF
modules="part_gpt ext2 search search_fs_uuid normal configfile linux echo test serial terminal"
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p /boot/grub \
    biosdisk $modules
grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -c "$work/early.cfg" -p /boot/grub \
    fat efi_gop efi_uga $modules

mib=$((1024 * 1024))
esp_mib=16
medium_mib=$(($(du -sm --apparent-size "$medium" | cut -f1) + 24))
disk_mib=$((1 + 1 + esp_mib + medium_mib + 1)) # + primary GPT/gap, BIOS boot, ..., backup GPT
raw=$out/$name.raw
truncate -s $((disk_mib * mib)) "$raw"
sfdisk --quiet "$raw" <<EOF
label: gpt
start=2048, size=2048, type=21686148-6453-6F6E-6E61-6C6E65656564, name="bios-boot"
start=4096, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI"
start=$((4096 + esp_mib * 2048)), size=$((medium_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="drs-failback-live"
EOF

# BIOS: boot.img in the MBR points at core.img in the BIOS boot partition (LBA 2048), and
# core.img's first sector at the rest of itself (LBA 2049) -- what grub-bios-setup would do.
le64() { printf "$(printf '%016x' "$1" | sed -E 's/(..)(..)(..)(..)(..)(..)(..)(..)/\\x\8\\x\7\\x\6\\x\5\\x\4\\x\3\\x\2\\x\1/')"; }
cp /usr/lib/grub/i386-pc/boot.img "$work/boot.img"
le64 2048 | dd of="$work/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
le64 2049 | dd of="$work/core.img" bs=1 seek=$((0x1f4)) conv=notrunc status=none
[ "$(stat -c %s "$work/core.img")" -le $mib ] || die "core.img does not fit the BIOS boot partition"
dd if="$work/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=2048 conv=notrunc status=none

# The ESP is made as its own file (mtools cannot write a FAT at an offset), then copied in.
rm -f "$work/esp.img"
mkfs.vfat -C -n EFI "$work/esp.img" $((esp_mib * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
dd if="$work/esp.img" of="$raw" bs=1M seek=2 conv=notrunc status=none

mke2fs -q -t ext4 -L "$LIVE_DISK_LABEL" -U "$uuid" -m 0 -d "$medium" -E root_owner=0:0 \
    "$work/medium.ext4" "${medium_mib}M"
dd if="$work/medium.ext4" of="$raw" bs=1M seek=$((2 + esp_mib)) conv=notrunc,sparse status=none
rm -f "$work/medium.ext4" "$work/esp.img"

step "disk conversions (at once)"
# Each reads the raw disk only: they run side by side (the compressing ones take longest).
conversions=()
qemu-img convert -f raw -O qcow2 "$raw" "$out/$name.qcow2" &
conversions+=($!)
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$raw" "$out/$name.vmdk" &
conversions+=($!)
# Azure: a fixed VHD whose size is a whole number of MiB (the raw image already is).
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$raw" "$out/$name.vhd" &
conversions+=($!)
# GCP: a gzip'd tar holding exactly one file, disk.raw.
mkdir -p "$work/gcp"
ln "$raw" "$work/gcp/disk.raw"
tar --format=oldgnu -C "$work/gcp" -Sczf "$out/$name-gcp.tar.gz" disk.raw &
conversions+=($!)
for pid in "${conversions[@]}"; do
    wait "$pid" || die "a disk conversion failed (see above)"
done
rm -rf "$work/gcp"

# --- Netboot ---------------------------------------------------------------------------------
step "netboot files"
net=$out/netboot
mkdir -p "$net/pxelinux.cfg"
cp "$work/vmlinuz" "$work/initrd.img" "$work/filesystem.squashfs" "$net/"
cp "$here/netboot/boot.ipxe" "$here/netboot/grub.cfg" "$net/"
cp "$here/netboot/pxelinux.cfg" "$net/pxelinux.cfg/default"

step "SHA512SUMS"
# One file per process, on every core; sorted after.
(cd "$out" && find . -type f ! -name SHA512SUMS -printf '%P\n' |
    xargs -P "$(nproc)" -n 1 sha512sum | sort -k 2 >SHA512SUMS)
rm -rf "$work/medium"
step
echo "build.sh: done in ${SECONDS}s: $out" >&2
printf 'build.sh: %s\n' "${timings[@]}" >&2
ls -l "$out" >&2
