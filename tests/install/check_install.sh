#!/usr/bin/env bash
# Installs the built library into a temporary prefix (with its licence), then
# builds a consumer three ways: find_package(convtrace), pkg-config (plain
# --libs, as a user types it), and add_subdirectory.
set -euo pipefail
build_dir="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
grep -q "Apache License" "$work/prefix/share/doc/convtrace/LICENSE"

cmake -S "$source_dir/tests/install/consumer" -B "$work/cmake" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
c++ -std=c++17 "$source_dir/tests/install/consumer/main.cc" -o "$work/pc-consumer" \
  $(pkg-config --cflags convtrace) $(pkg-config --libs convtrace)
"$work/pc-consumer"

cmake -S "$source_dir/tests/install/consumer" -B "$work/sub" -G Ninja -DUSE_SUBDIRECTORY=ON \
  -DCONVTRACE_SOURCE="$source_dir" >/dev/null
cmake --build "$work/sub" >/dev/null
"$work/sub/consumer"
echo "install check: find_package, pkg-config and add_subdirectory consumers all ran"
