#!/bin/sh
# Unpacks Debian 12's arm64 builds of what the aarch64 test programs link (cmocka, SLEEF, and
# protobuf-c for the converter the tests and the CLI contain) into SYSROOT, for the cross build
# of cmake/toolchains/aarch64-linux-gnu.cmake. Nothing is installed on the host and the host's
# dpkg never learns of arm64: the .deb files are fetched from the mirror and extracted with
# dpkg-deb -x.
#
# Trust chain: InRelease is checked with gpgv against Debian's archive keyring, the arm64
# Packages index against the SHA256 that InRelease lists for it, and every .deb against the
# SHA256 the index lists for it. A second run re-verifies the cached files and fetches nothing.
#
# Usage: scripts/fetch-arm64-deps.sh SYSROOT
# Environment: THAW_DEBIAN_MIRROR (default http://deb.debian.org/debian, the mirror apt uses here)
set -eu
if [ $# -ne 1 ]; then
  echo "usage: $0 SYSROOT" >&2
  exit 2
fi
sysroot=$1
mirror=${THAW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
packages="libcmocka0 libcmocka-dev libsleef3 libsleef-dev libprotobuf-c1 libprotobuf-c-dev"
cache=$sysroot/.debs
mkdir -p "$cache"

fetch() { # URL FILE
  curl --fail --silent --show-error --location --retry 3 -o "$2.part" "$1"
  mv "$2.part" "$2"
}

verify_sha256() { # FILE SHA256
  echo "$2  $1" | sha256sum --check --status || {
    echo "$1: SHA256 mismatch (expected $2)" >&2
    rm -f "$1"
    return 1
  }
}

fetch "$mirror/dists/$suite/InRelease" "$cache/InRelease"
gpgv --quiet --keyring "$keyring" "$cache/InRelease" 2>/dev/null || {
  echo "$cache/InRelease: bad signature (keyring $keyring)" >&2
  exit 1
}
index_sha256=$(awk '/^SHA256:/ { in_sha = 1; next } /^[^ ]/ { in_sha = 0 }
                    in_sha && $3 == "main/binary-arm64/Packages.xz" { print $1 }' "$cache/InRelease")
if [ -z "$index_sha256" ]; then
  echo "$cache/InRelease lists no main/binary-arm64/Packages.xz" >&2
  exit 1
fi
if [ ! -f "$cache/Packages.xz" ] || ! verify_sha256 "$cache/Packages.xz" "$index_sha256"; then
  fetch "$mirror/dists/$suite/main/binary-arm64/Packages.xz" "$cache/Packages.xz"
  verify_sha256 "$cache/Packages.xz" "$index_sha256"
fi
xz --decompress --stdout "$cache/Packages.xz" >"$cache/Packages"

for package in $packages; do
  # The index's stanza for the package: its pool path and checksum.
  set -- $(awk -v want="$package" '
    /^Package: / { name = $2; file = ""; sum = "" }
    /^Filename: / { file = $2 }
    /^SHA256: / { sum = $2 }
    /^$/ { if (name == want && file != "") { print file, sum; exit } }' "$cache/Packages")
  if [ $# -ne 2 ]; then
    echo "$package: not in the $suite arm64 index" >&2
    exit 1
  fi
  deb=$cache/$(basename "$1")
  if [ ! -f "$deb" ] || ! verify_sha256 "$deb" "$2"; then
    echo "fetching $1"
    fetch "$mirror/$1" "$deb"
    verify_sha256 "$deb" "$2"
  fi
  dpkg-deb -x "$deb" "$sysroot"
done
echo "arm64 sysroot ready: $sysroot ($packages)"
