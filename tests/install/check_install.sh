#!/usr/bin/env bash
# Installs the built library into a temporary prefix (with its licence), then
# builds a consumer three ways: find_package(convtrace), pkg-config (plain
# --libs, as a user types it), and add_subdirectory. With a third argument
# (the opentelemetry-cpp prefix the build used), it also builds and runs the
# README's opentelemetry-cpp program against the installed
# convtrace::opentelemetry component, after checking that the README shows
# that program exactly.
set -euo pipefail
build_dir="$1"
source_dir="$2"
otel_prefix="${3:-}"
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

if [ -n "$otel_prefix" ]; then
  # The README's code block under "Already using opentelemetry-cpp?" is the example program.
  awk '/^## Already using opentelemetry-cpp\?/{s=1} s&&/^```cpp$/{c=1;next} c&&/^```$/{exit} c' \
    "$source_dir/README.md" >"$work/readme_example.cc"
  if ! diff -u "$source_dir/examples/opentelemetry_cpp.cc" "$work/readme_example.cc"; then
    echo "install check: README's opentelemetry-cpp example differs from examples/opentelemetry_cpp.cc" >&2
    exit 1
  fi
  cmake -S "$source_dir/tests/install/otel_consumer" -B "$work/otel" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix;$otel_prefix" -DEXAMPLE_SOURCE="$work/readme_example.cc" >/dev/null
  cmake --build "$work/otel" >/dev/null
  "$work/otel/otel_consumer" | grep -q 'gen_ai.conversation.id: support_789'
  echo "install check: the README's opentelemetry-cpp program built and ran against the installed package"
fi
echo "install check: find_package, pkg-config and add_subdirectory consumers all ran"
