#!/usr/bin/env bash
# Runs every libFuzzer target built by the asan preset (build/asan/fuzz) for
# SECONDS each (default 10), seeded from the test fixtures. Exits non-zero on
# the first finding; crash inputs are left in build/asan/fuzz-findings/.
#   tools/fuzz.sh            # short run, as CI does
#   tools/fuzz.sh 600        # ten minutes per target
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-10}"
dir=build/asan/fuzz
findings=build/asan/fuzz-findings
mkdir -p "$findings"
shopt -s nullglob
targets=("$dir"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $dir: run 'cmake --workflow --preset asan' first" >&2
  exit 1
fi
for target in "${targets[@]}"; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="build/asan/fuzz-corpus/$name"
  mkdir -p "$corpus"
  seeds=(tests/fixtures/provider-responses)
  case "$name" in
    fuzz_pricing_json) seeds=(data) ;;
    fuzz_propagation) seeds=(fuzz/seeds/propagation) ;;
    fuzz_env_config) seeds=(fuzz/seeds/env_config) ;;
    fuzz_http_request) seeds=(fuzz/seeds/http_request) ;;
    fuzz_unix_time) seeds=(fuzz/seeds/unix_time) ;;
    fuzz_store_packed) seeds=(fuzz/seeds/store_packed) ;;
  esac
  echo "--- $name (${seconds}s)"
  "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/$name-" -print_final_stats=1 "$corpus" "${seeds[@]}" 2>&1 |
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY|Done" || true
  found=("$findings/$name-"*)
  if [ ${#found[@]} -gt 0 ]; then
    echo "$name: finding saved in $findings" >&2
    exit 1
  fi
done
