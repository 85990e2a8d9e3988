#!/bin/sh
# Builds libmicrohttpd.a without HTTPS from Debian's own source package, so the HTTP function
# can be linked fully static: Debian's libmicrohttpd.a needs GnuTLS, whose static archive
# needs p11-kit, of which Debian ships no static archive. The function serves plain HTTP
# behind the platform's TLS-terminating front end, so it loses nothing.
#
# Usage: scripts/build-static-microhttpd.sh [PREFIX]   (default ~/.cache/thaw-deps/microhttpd)
# Prints PREFIX; does nothing when PREFIX/lib/libmicrohttpd.a exists. The source comes through
# apt (signatures and checksums checked as for any package) with a private package index, so
# the host's apt configuration and lists are left as they are.
set -eu
prefix=${1:-$HOME/.cache/thaw-deps/microhttpd}
if [ -f "$prefix/lib/libmicrohttpd.a" ]; then
  echo "$prefix"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/source"
cat >"$work/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
SOURCES
apt_private="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/nonexistent
  -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o APT::Sandbox::User=root -q"
# shellcheck disable=SC2086
apt-get $apt_private update >/dev/null
# shellcheck disable=SC2086
(cd "$work/source" && apt-get $apt_private source --download-only libmicrohttpd >/dev/null 2>&1)
(cd "$work/source" && dpkg-source --no-check -x ./*.dsc tree >/dev/null)
cd "$work/source/tree"
./configure --quiet --prefix="$prefix" --enable-static --disable-shared --disable-https \
  --without-gnutls --disable-curl --disable-doc --disable-examples >/dev/null
make -j2 -s >/dev/null 2>&1
make -s install >/dev/null
echo "$prefix"
