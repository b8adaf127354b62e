#!/usr/bin/env bash
# Builds opentelemetry-cpp (API + SDK, no exporters that need downloads) from a
# source tarball into a prefix under build/, for the opentelemetry-cpp bridge
# and the side-by-side benchmarks. A prefix that is already complete is reused.
#
#   tools/build-opentelemetry-cpp.sh [--variant release|tsan] [--tarball PATH]
#
# Prints the prefix on the last line of standard output. The tarball defaults
# to ../shared/vendor/opentelemetry-cpp-1.28.0.tar.gz beside the checkout, or
# $CONVTRACE_OTELCPP_TARBALL. Variants: `release` (optimized, for tests and
# benchmarks) and `tsan` (built with -fsanitize=thread, so ThreadSanitizer sees
# the SDK's own synchronization). Configure with
#   -DCMAKE_PREFIX_PATH=<prefix>
# or let the presets find build/opentelemetry-cpp/<variant> by themselves.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
variant=release
tarball="${CONVTRACE_OTELCPP_TARBALL:-$here/../shared/vendor/opentelemetry-cpp-1.28.0.tar.gz}"
while [ $# -gt 0 ]; do
  case "$1" in
    --variant) variant="$2"; shift 2 ;;
    --tarball) tarball="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-opentelemetry-cpp: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$variant" in
  release) flags="" ;;
  tsan) flags="-fsanitize=thread" ;;
  *) echo "build-opentelemetry-cpp: unknown variant '$variant' (release or tsan)" >&2; exit 2 ;;
esac

root="$here/build/opentelemetry-cpp"
prefix="$root/$variant"
stamp="$prefix/.convtrace-built"
if [ -f "$stamp" ] && [ -f "$prefix/lib/cmake/opentelemetry-cpp/opentelemetry-cpp-config.cmake" ]; then
  echo "build-opentelemetry-cpp: reusing $prefix" >&2
  echo "$prefix"
  exit 0
fi
if [ ! -f "$tarball" ]; then
  echo "build-opentelemetry-cpp: no source tarball at $tarball (give --tarball PATH)" >&2
  exit 1
fi

src="$root/src-$variant"
work="$root/build-$variant"
rm -rf "$src" "$work" "$prefix"
mkdir -p "$src" "$work"
tar xzf "$tarball" -C "$src" --strip-components=1
jobs="$(nproc 2>/dev/null || echo 2)"
echo "build-opentelemetry-cpp: building the $variant variant into $prefix" >&2
cmake -S "$src" -B "$work" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_CXX_STANDARD=17 -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DBUILD_TESTING=OFF -DWITH_BENCHMARK=OFF -DWITH_EXAMPLES=OFF -DWITH_FUNC_TESTS=OFF \
  -DWITH_OTLP_HTTP=OFF -DWITH_OTLP_GRPC=OFF -DWITH_PROMETHEUS=OFF -DWITH_ZIPKIN=OFF \
  -DOPENTELEMETRY_INSTALL=ON >"$root/configure-$variant.log" 2>&1 ||
  { tail -40 "$root/configure-$variant.log" >&2; exit 1; }
cmake --build "$work" -j "$jobs" >"$root/build-$variant.log" 2>&1 ||
  { tail -40 "$root/build-$variant.log" >&2; exit 1; }
cmake --install "$work" >"$root/install-$variant.log" 2>&1 ||
  { tail -40 "$root/install-$variant.log" >&2; exit 1; }
rm -rf "$src" "$work"
touch "$stamp"
echo "$prefix"
