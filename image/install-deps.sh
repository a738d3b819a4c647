#!/usr/bin/env bash
# Installs what image/build.sh and image/boot-test need on a fresh Debian 12 (root).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh must run as root (it installs Debian packages)" >&2
    exit 1
fi

APT=(apt-get -y -qq -o DPkg::Lock::Timeout=600)
export DEBIAN_FRONTEND=noninteractive

# qemu-system-x86 comes from bookworm-backports: Debian 12's own (7.2) refuses to install
# beside the backported qemu-utils these machines carry. The suite uses the mirror the
# machine already has, never a hard-coded host.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$mirror" ]; then
        mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' \
            /etc/apt/sources.list 2>/dev/null || true)
    fi
    if [ -z "$mirror" ]; then
        echo "no Debian mirror found in /etc/apt/sources.list*: add bookworm-backports by hand" >&2
        exit 1
    fi
    cat >/etc/apt/sources.list.d/bookworm-backports.sources <<EOF
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

apt-get update -qq -o DPkg::Lock::Timeout=600
"${APT[@]}" install \
    mmdebstrap squashfs-tools xorriso mtools dosfstools e2fsprogs fdisk zstd \
    grub-common grub-pc-bin grub-efi-amd64-bin ovmf \
    pkg-config libudev-dev python3 openssh-client sshpass pxelinux syslinux-common
"${APT[@]}" install -t bookworm-backports qemu-system-x86 qemu-utils
