#!/bin/sh
# Installs the build tree into a scratch prefix, then builds a separate project against it twice:
# through find_package(thaw) and through pkg-config. Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
work=$build/tests/install-check
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/thaw.h"
test -f "$work/prefix/lib/libthaw.a"
ls "$work"/prefix/lib/libthaw.so* >/dev/null

cmake -S "$source/tests/install/consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" "$work/no-such-model.thaw"

PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --exists thaw
# Fully static, as a function binary would be: libthaw.a needs nothing at run time.
cc -static -o "$work/consumer-pc" "$source/tests/install/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs --static thaw)
"$work/consumer-pc" "$work/no-such-model.thaw"
echo "install check passed: find_package(thaw) and pkg-config both link"
