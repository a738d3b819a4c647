#!/usr/bin/env bash
# Times a rebuild of the live image after a real small code change: the cargo step alone, then
# the whole image/build.sh (base cached). Prints wall and CPU seconds, the load average, and
# the binary's and the ISO's sizes. The change (a letter added to the first capitalised string
# of src/wizard/mod.rs, a step's title) is undone at the end. PROFILE=release times the release profile's cargo step instead. Needs root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
profile=${PROFILE:-live}
file=src/wizard/mod.rs
cp "$file" "$file.bench-orig"
# touch: the restored file is older than the changed build, and cargo would keep that build.
trap 'mv "$file.bench-orig" "$file" && touch "$file"' EXIT
change() { # a new letter inside the file's first string literal
    python3 - "$file" "$1" <<'PY'
import re, sys
path, mark = sys.argv[1], sys.argv[2]
src = open(path + ".bench-orig").read()
m = re.search(r'"([A-Z][a-z ]{3,})"', src)
open(path, "w").write(src[:m.end(1)] + mark + src[m.end(1):])
PY
}
timed() { # label, command...: wall and CPU seconds of the command and its children
    local label=$1; shift
    local t=$(mktemp)
    /usr/bin/time -f '%e %U %S' -o "$t" "$@" >/dev/null 2>&1 || { rm -f "$t"; echo "$label failed" >&2; exit 1; }
    read -r wall user sys <"$t"; rm -f "$t"
    printf '%-34s wall %6.1f s  cpu %6.1f s  load %s\n' "$label" "$wall" "$(awk "BEGIN { print $user + $sys }")" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}
cargo build --profile "$profile" --quiet # start from a fresh build of the unchanged code
change "x"
timed "cargo --profile $profile (1 string)" cargo build --profile "$profile" --quiet
bin=target/$profile/drs-failback
printf 'binary %s: %d bytes\n' "$bin" "$(stat -c %s "$bin")"
if [ "$profile" = live ] && [ -z "${NO_IMAGE:-}" ]; then
    change "y"
    timed "image/build.sh (1 string)" image/build.sh
    iso=target/image/out/drs-failback-live.iso
    printf 'ISO: %d bytes (%d MiB)\n' "$(stat -c %s "$iso")" $(( $(stat -c %s "$iso") / 1048576 ))
fi
