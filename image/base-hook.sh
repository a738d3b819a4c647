#!/bin/sh
# mmdebstrap --customize-hook for the cached base: "$1" is the new root.
# Shrinks the system to what a console wizard needs and removes per-machine state.
set -eu
root=$1

# Module trees a console, disks and wired network never need (about half the modules).
for kdir in "$root"/lib/modules/*; do
    ver=$(basename "$kdir")
    for sub in sound drivers/gpu drivers/media drivers/net/wireless net/wireless net/mac80211 \
        drivers/bluetooth net/bluetooth drivers/staging drivers/infiniband drivers/isdn \
        drivers/iio drivers/input/joystick drivers/input/touchscreen drivers/net/can net/can \
        drivers/nfc net/nfc drivers/net/wwan drivers/atm net/atm drivers/net/ieee802154 \
        net/ieee802154 drivers/net/hamradio net/6lowpan drivers/comedi; do
        rm -rf "$kdir/kernel/$sub"
    done
    chroot "$root" depmod "$ver"
done
chroot "$root" update-initramfs -u -k all

# Host keys are made at boot (drs-ssh-hostkeys.service), never shipped.
rm -f "$root"/etc/ssh/ssh_host_*
# Each boot is its own machine.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
rm -rf "$root"/var/log/*.log "$root"/tmp/*
