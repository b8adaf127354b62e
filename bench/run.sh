#!/usr/bin/env bash
# Builds the `bench` preset and runs the benchmark suite.
#
#   bench/run.sh           full run: 3 repetitions, medians written to bench/RESULTS.md
#   bench/run.sh --smoke   every benchmark once, briefly; no timing judged (CI). Uses the
#                          programs of the `dev` build when it has them (CI builds it
#                          anyway), else builds the `bench` preset.
#
# Timings depend on the machine and on what else runs on it: RESULTS.md
# records the CPU, core count, load average and commit next to the figures.
#
# The store at scale is run by hand (in 65,536-span transactions about half an
# hour and 9 GB for SQLite; the smoke run does it small):
#   build/bench/bench/convtrace_bench_store_scale --spans=10000000 --batch=65536  # B13, SQLite
#   uri=$(bench/pg-server.sh start /tmp/pg)                                    # a PostgreSQL 15
#   build/bench/bench/convtrace_bench_store_scale --spans=10000000 --batch=65536 \
#     --db="$uri"                                                              # B13, PostgreSQL
#   build/bench/bench/convtrace_bench_collect --db="$uri" --collectors=2 --clients=4 \
#     --spans=600000 --seconds=60                                              # B14
#   bench/pg-server.sh stop /tmp/pg
set -euo pipefail

cd "$(dirname "$0")/.."
mode=full
if [[ "${1:-}" == "--smoke" ]]; then mode=smoke; fi

bin=build/bench/bench
targets=(convtrace_bench convtrace_bench_churn convtrace_bench_endpoint_down convtrace_bench_collect
         convtrace_bench_store_scale convtrace_cli convtrace_bench_export)

preset=bench
if [[ "$mode" == smoke && -d build/dev/bench ]]; then
  bin=build/dev/bench
  preset=dev
else
  cmake --preset bench >/dev/null
fi
# The opentelemetry-cpp side-by-side program exists when the build found opentelemetry-cpp.
otelcpp=no
if cmake --build --preset "$preset" --target help | grep -q '^convtrace_bench_otelcpp:'; then
  targets+=(convtrace_bench_otelcpp)
  otelcpp=yes
fi
cmake --build --preset "$preset" --target "${targets[@]}"

if [[ "$mode" == smoke ]]; then
  "$bin/convtrace_bench" --benchmark_min_time=0.01
  "$bin/convtrace_bench_churn" --ids=20000 --limit=2000
  "$bin/convtrace_bench_endpoint_down" --spans=20000 --seconds=1
  "$bin/convtrace_bench_collect" --spans=5120 --seconds=3
  "$bin/convtrace_bench_store_scale" --spans=20000 --repeat=1
  # Two collectors into one PostgreSQL database (a throwaway server).
  pgdir=$(mktemp -d /tmp/convtrace-bench-pg-XXXXXX)
  trap 'bench/pg-server.sh stop "$pgdir"' EXIT
  uri=$(bench/pg-server.sh start "$pgdir")
  "$bin/convtrace_bench_collect" --db="$uri" --collectors=2 --clients=4 --spans=10240 --seconds=10
  bench/pg-server.sh stop "$pgdir"
  trap - EXIT
  "$bin/convtrace_bench_export" --smoke
  if [[ "$otelcpp" == yes ]]; then
    "$bin/convtrace_bench_otelcpp" --benchmark_min_time=0.01
  else
    echo "convtrace_bench_otelcpp skipped: no opentelemetry-cpp (tools/build-opentelemetry-cpp.sh)"
  fi
  echo "bench smoke run: ok"
  exit 0
fi

out=build/bench/results
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$out"
rm -f "$out"/*.txt
"$bin/convtrace_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/gbench.json" --benchmark_out_format=json
if [[ "$otelcpp" == yes ]]; then
  # Side by side with opentelemetry-cpp; the variants alternate within the run.
  "$bin/convtrace_bench_otelcpp" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true | tee "$out/otelcpp.txt"
  # The same workloads on both SDKs: medians and ratios (a table for RESULTS.md).
  python3 bench/side_by_side.py "$bin/convtrace_bench_otelcpp" --rounds 7 | tee "$out/side_by_side.md"
else
  echo "side-by-side with opentelemetry-cpp skipped: no opentelemetry-cpp (tools/build-opentelemetry-cpp.sh)"
fi
"$bin/convtrace_bench_export" | tee "$out/export.txt"
for i in 1 2 3; do
  "$bin/convtrace_bench_churn" | tee -a "$out/churn.txt"
  "$bin/convtrace_bench_endpoint_down" | tee -a "$out/endpoint_down.txt"
  "$bin/convtrace_bench_collect" --spans=150000 --seconds=15 | tee -a "$out/collect.txt"
done

python3 bench/report.py --results "$out" --output bench/RESULTS.md \
  --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo '+local changes')" \
  --load "$load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote bench/RESULTS.md"
