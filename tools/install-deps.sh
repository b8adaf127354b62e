#!/usr/bin/env bash
# Installs everything convtrace needs to build and test, from Debian packages
# (bookworm) and the npm registry. Safe to run again.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  build-essential cmake ninja-build pkg-config clang clang-format lld
  libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libsimdjson-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libcpp-httplib-dev
  libpq-dev postgresql-15
  gcovr
  # OTLP/gRPC (-DCONVTRACE_WITH_GRPC=ON, the dev preset). No code is generated, but
  # gRPC's CMake package refuses to load without its code generator's binary.
  libgrpc++-dev libprotobuf-dev protobuf-compiler-grpc
  # The web UI's tests drive Debian's Chromium headless (playwright-core from tests/node)
  chromium
)
# Node.js runs the interoperability tests against the official OpenTelemetry JS packages.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs npm); fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# tests/node: the test peers; cli/ui: the charting library the build compiles into the UI.
for dir in "$here/tests/node" "$here/cli/ui"; do
  if [ -f "$dir/package.json" ]; then
    if [ -f "$dir/package-lock.json" ]; then
      npm ci --silent --no-audit --no-fund --prefix "$dir"
    else
      npm install --silent --no-audit --no-fund --prefix "$dir"
    fi
  fi
done
echo "convtrace: dependencies installed"
