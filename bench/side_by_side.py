#!/usr/bin/env python3
"""convtrace and opentelemetry-cpp side by side, from one run of convtrace_bench_otelcpp.

    bench/side_by_side.py PROGRAM [--rounds N]

Runs PROGRAM (the benchmark built when opentelemetry-cpp is found) with N
repetitions in random interleaving, so the two SDKs' variants alternate, and
prints a markdown table: the median of each figure for both SDKs, the ratio,
and for the two-thread workload the ratio of exported spans per second in the
worst round. Figures are thread CPU per operation for single-thread work and
rates of wall time for two threads.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

# (row label, opentelemetry-cpp benchmark, convtrace benchmark)
PAIRS = [
    ("span + 8 attributes, batch processor", "BM_OtelSpan8Attributes_Plain",
     "BM_SideBySide_Span8Batch_Convtrace"),
    ("span + 8 attributes, simple processor", "BM_SideBySide_Span8Simple_Otel",
     "BM_SideBySide_Span8Simple_Convtrace"),
    ("observed LLM call (convtrace) vs the same 21 attributes set by hand (opentelemetry-cpp)",
     "BM_OtelSpan21GenAiAttributesByHand_Plain", "BM_ObservedLlmCall_NativeSdk"),
]
TWO_THREADS = ("BM_SideBySide_TwoThreads_Otel", "BM_SideBySide_TwoThreads_Convtrace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(args.program):
        print(f"side_by_side: {args.program} not built (no opentelemetry-cpp: "
              "run tools/build-opentelemetry-cpp.sh); skipped")
        return 0
    names = [n for _, a, b in PAIRS for n in (a, b)] + list(TWO_THREADS)
    # The two-thread variants run with fixed iterations and manual time, so
    # their names go on with "/iterations:1/manual_time".
    cmd = [args.program, f"--benchmark_repetitions={args.rounds}",
           "--benchmark_enable_random_interleaving=true", "--benchmark_format=json",
           "--benchmark_filter=^(" + "|".join(names) + ")(/|$)"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        runs.setdefault(b["run_name"].split("/")[0], []).append(b)

    def cpu_ns(name):
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
        return [r["cpu_time"] * scale[r.get("time_unit", "ns")] for r in runs.get(name, [])]

    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{args.rounds} alternating rounds; load average {load}")
    print()
    print("| workload | opentelemetry-cpp 1.28.0 | convtrace | ratio |")
    print("|---|---|---|---|")
    for label, otel, ours in PAIRS:
        a, b = cpu_ns(otel), cpu_ns(ours)
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {label} | {ma:,.0f} ns | {mb:,.0f} ns | {ma / mb:.1f}× |")
    otel_runs, our_runs = runs.get(TWO_THREADS[0], []), runs.get(TWO_THREADS[1], [])
    if otel_runs and our_runs:
        def med(rs, key):
            return statistics.median(r[key] for r in rs)
        oe, ce = med(otel_runs, "exported_per_s"), med(our_runs, "exported_per_s")
        worst = min(c["exported_per_s"] for c in our_runs) / max(
            o["exported_per_s"] for o in otel_runs)
        per_round = [c["exported_per_s"] / o["exported_per_s"]
                     for o, c in zip(otel_runs, our_runs)]
        print(f"| 2 threads: spans ended per second | {med(otel_runs, 'ended_per_s'):,.0f} | "
              f"{med(our_runs, 'ended_per_s'):,.0f} | "
              f"{med(our_runs, 'ended_per_s') / med(otel_runs, 'ended_per_s'):.1f}× |")
        print(f"| 2 threads: dropped | {med(otel_runs, 'dropped_pct'):.1f}% | "
              f"{med(our_runs, 'dropped_pct'):.1f}% | |")
        print(f"| 2 threads: spans exported per second | {oe:,.0f} | {ce:,.0f} | {ce / oe:.1f}× "
              f"(rounds: {', '.join(f'{r:.1f}×' for r in per_round)}; "
              f"worst convtrace round vs best opentelemetry-cpp round {worst:.1f}×) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
