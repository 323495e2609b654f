#!/usr/bin/env bash
# Fetches Debian bookworm's NVRTC 11.8 (non-free: libnvrtc11.2 + libnvrtc-builtins11.8) into
# .cache/nvrtc for the kernel compile checks, without changing the machine's apt configuration:
# apt-get runs with a private sources list (the machine's own bookworm mirror, non-free
# component), state and cache folders under .cache/nvrtc/apt.
# Idempotent: returns at once when the libraries are already unpacked.
# Prints the library folder on its last line (for SPIKEENGINE_CUDA_LIB_DIRS).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/nvrtc"
libdir="$dest/root/usr/lib/x86_64-linux-gnu"

# The Debian archive this machine's apt already uses for bookworm (its sources.list or deb822
# .sources), so the script follows the machine's mirror; SPIKEENGINE_DEBIAN_MIRROR overrides it.
debian_mirror() {
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
        awk '$2 == "bookworm" { print $1; exit }'
}
mirror="${SPIKEENGINE_DEBIAN_MIRROR:-$(debian_mirror)}"
mirror="${mirror%/}"

if [[ -e "$libdir/libnvrtc.so.11.2" && -n "$(ls "$libdir"/libnvrtc-builtins.so.11.8* 2>/dev/null)" ]]; then
    echo "$libdir"
    exit 0
fi

if [[ -z "$mirror" ]]; then
    echo "fetch-nvrtc: no Debian bookworm archive in this machine's apt sources" \
        "(apt-get indextargets); set SPIKEENGINE_DEBIAN_MIRROR to a Debian mirror URL" >&2
    exit 1
fi

apt_dir="$dest/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$dest/root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm non-free" \
    >"$apt_dir/sources.list"
: >"$apt_dir/status"
opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State=$apt_dir"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures=amd64"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)
apt-get "${opts[@]}" -qq update >&2
(cd "$apt_dir/debs" && apt-get "${opts[@]}" -qq download libnvrtc11.2 libnvrtc-builtins11.8 >&2)
for deb in "$apt_dir/debs"/*.deb; do
    dpkg -x "$deb" "$dest/root"
done
if [[ ! -e "$libdir/libnvrtc.so.11.2" ]]; then
    echo "fetch-nvrtc: libnvrtc.so.11.2 not found under $libdir after unpacking" >&2
    exit 1
fi
echo "$libdir"
