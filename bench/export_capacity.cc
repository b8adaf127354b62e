// B15 and B16: what reaches the endpoint, not just what is recorded.
//
//   convtrace_bench_export [--seconds=S] [--outage=S] [--rate=N] [--smoke] [--b16] [--fixed]
//
// Every span goes application thread(s) → batch processor (default
// settings: queue 2048, batch 512) → the real OTLP/HTTP exporter (protobuf,
// background delivery) → a sink on 127.0.0.1 in this process. Spans are
// shaped like B1's (8 attributes).
//
// B15: for 1 and 2 application threads, gzip off and on, the highest
// sustained rate at which no span is lost (delivered = ended), found by
// doubling the rate from 50k/s until a trial of S seconds (default 3) loses
// spans, then bisecting three times; and the loss at a fixed 1M spans/s
// aggregate on 2 threads (only these with --fixed). Each trial paces every
// thread in 1 ms ticks.
//
// B16: the disk spool through an outage: N spans/s (default 50k) on one
// thread for 5 s with the endpoint up, then --outage seconds (default 60)
// with its port refusing connections, then up again until the spool is sent.
// Prints the Span::end latency before and during the outage, the CPU the
// SDK's threads used during it, and spans lost and duplicated at the sink.
// --b16 runs B16 alone (with --outage=15, a quick look at the spool's cost).
//
// Output is one `key=value` line per measurement, read by bench/report.py.
#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_support.h"
#include "convtrace/otlp.h"
#include "loopback_sink.h"

namespace convtrace::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipeline {
  std::shared_ptr<Sdk> sdk;
  const SpanExporter* exporter = nullptr;
  OtlpExporterStats otlp() const { return *otlp_exporter_stats(*exporter); }
};

Pipeline make_pipeline(const std::string& url, bool gzip, const std::string& spool_dir = {}) {
  OtlpHttpOptions options;
  options.endpoint = url;
  options.gzip = gzip;
  options.spool.directory = spool_dir;
  auto exporter = make_otlp_http_exporter(options);
  if (!exporter) {
    std::fprintf(stderr, "bench: %s\n", exporter.error().message.c_str());
    std::exit(2);
  }
  Pipeline p;
  p.exporter = exporter->get();
  p.sdk = make_bench_sdk(nullptr, std::move(*exporter));
  return p;
}

inline void end_b1_span(const Tracer& tracer, int64_t i) {
  Span span = tracer.start_span("GET /v1/chat");
  set_b1_attributes(span, i);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// CPU seconds of one thread of this process, from /proc.
double task_cpu_seconds(pid_t tid) {
  std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  char line[1024];
  double s = 0;
  if (std::fgets(line, sizeof line, f)) {
    const char* p = std::strrchr(line, ')');
    unsigned long long utime = 0, stime = 0;
    if (p && std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                         &stime) == 2) {
      s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  std::fclose(f);
  return s;
}

// CPU seconds of every thread of this process, by thread id.
std::vector<std::pair<pid_t, double>> thread_cpu_seconds_all() {
  std::vector<std::pair<pid_t, double>> out;
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    out.emplace_back(tid, task_cpu_seconds(tid));
  }
  ::closedir(dir);
  return out;
}

// Ends `rate` spans per second on this thread for `seconds`, in 1 ms ticks.
// Returns the spans ended; `cpu` receives this thread's CPU seconds.
uint64_t paced(const Tracer& tracer, double rate, double seconds, double* cpu,
               std::vector<uint32_t>* end_ns = nullptr) {
  const double per_tick = rate / 1000.0;
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = Clock::now();
  auto next = t0;
  double owed = 0;
  uint64_t n = 0;
  while (Clock::now() - t0 < std::chrono::duration<double>(seconds)) {
    owed += per_tick;
    while (owed >= 1) {
      if (end_ns) {
        Span span = tracer.start_span("GET /v1/chat");
        set_b1_attributes(span, static_cast<int64_t>(n));
        auto a = Clock::now();
        span.end();
        auto b = Clock::now();
        end_ns->push_back(static_cast<uint32_t>(std::min<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count(), UINT32_MAX)));
      } else {
        end_b1_span(tracer, static_cast<int64_t>(n));
      }
      ++n;
      owed -= 1;
    }
    next += std::chrono::milliseconds(1);
    // A thread that cannot keep up does not try to catch up in a burst.
    auto now = Clock::now();
    if (next < now - std::chrono::milliseconds(5)) next = now;
    std::this_thread::sleep_until(next);
  }
  *cpu = thread_cpu_seconds() - cpu0;
  return n;
}

struct Trial {
  double target = 0;    // spans/s asked for, all threads together
  double achieved = 0;  // spans/s ended
  uint64_t ended = 0;
  uint64_t delivered = 0;
  uint64_t lost() const { return ended > delivered ? ended - delivered : 0; }
  double loss_pct() const { return ended ? 100.0 * static_cast<double>(lost()) / ended : 0.0; }
  double export_cpu_ns_per_span = 0;  // CPU of everything but the app threads and the sink
  double app_cpu_ns_per_span = 0;
  uint64_t requests = 0;
  double bytes_per_span = 0;
};

Trial run_trial(double rate, int threads, bool gzip, double seconds) {
  LoopbackSink sink;
  Pipeline p = make_pipeline(sink.url(), gzip);
  Tracer tracer = p.sdk->tracer("bench");
  std::vector<std::thread> workers;
  std::vector<uint64_t> ended(static_cast<size_t>(threads));
  std::vector<double> cpu(static_cast<size_t>(threads));
  const double sink_cpu0 = task_cpu_seconds(sink.tid());
  const double process_cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ended[static_cast<size_t>(t)] =
          paced(tracer, rate / threads, seconds, &cpu[static_cast<size_t>(t)]);
    });
  }
  for (auto& w : workers) w.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  p.sdk->force_flush(std::chrono::milliseconds(10000));
  Trial r;
  r.target = rate;
  for (int t = 0; t < threads; ++t) r.ended += ended[static_cast<size_t>(t)];
  r.achieved = static_cast<double>(r.ended) / wall;
  r.delivered = p.otlp().exported_spans;
  double app_cpu = 0;
  for (double c : cpu) app_cpu += c;
  const double sink_cpu = task_cpu_seconds(sink.tid()) - sink_cpu0;
  const double export_cpu = process_cpu_seconds() - process_cpu0 - app_cpu - sink_cpu;
  const double n = static_cast<double>(std::max<uint64_t>(r.ended, 1));
  r.export_cpu_ns_per_span = 1e9 * std::max(export_cpu, 0.0) / n;
  r.app_cpu_ns_per_span = 1e9 * app_cpu / n;
  r.requests = sink.requests();
  r.bytes_per_span = static_cast<double>(sink.body_bytes()) / n;
  p.sdk->shutdown(std::chrono::milliseconds(2000));
  return r;
}

void print_trial(const char* what, int threads, bool gzip, const Trial& t) {
  std::printf(
      "B15 %s threads=%d gzip=%d target_per_s=%.0f achieved_per_s=%.0f ended=%llu "
      "delivered=%llu lost=%llu loss_pct=%.3f export_cpu_ns_per_span=%.0f "
      "app_cpu_ns_per_span=%.0f requests=%llu bytes_per_span=%.1f\n",
      what, threads, gzip ? 1 : 0, t.target, t.achieved, static_cast<unsigned long long>(t.ended),
      static_cast<unsigned long long>(t.delivered), static_cast<unsigned long long>(t.lost()),
      t.loss_pct(), t.export_cpu_ns_per_span, t.app_cpu_ns_per_span,
      static_cast<unsigned long long>(t.requests), t.bytes_per_span);
  std::fflush(stdout);
}

// The highest rate with no loss: doubling, then three bisection steps.
void search(int threads, bool gzip, double seconds, double cap) {
  double good = 0, bad = 0;
  for (double rate = 50000; rate <= cap; rate *= 2) {
    Trial t = run_trial(rate, threads, gzip, seconds);
    print_trial("trial", threads, gzip, t);
    // A rate the threads could not even produce counts as the limit too.
    if (t.lost() == 0 && t.achieved >= 0.95 * rate) {
      good = std::max(good, t.achieved);
    } else {
      bad = rate;
      break;
    }
  }
  if (bad > 0 && good > 0) {
    double lo = good, hi = bad;
    for (int i = 0; i < 3; ++i) {
      double mid = (lo + hi) / 2;
      Trial t = run_trial(mid, threads, gzip, seconds);
      print_trial("trial", threads, gzip, t);
      if (t.lost() == 0 && t.achieved >= 0.95 * mid) {
        lo = mid;
        good = std::max(good, t.achieved);
      } else {
        hi = mid;
      }
    }
  }
  std::printf("B15 zero_loss threads=%d gzip=%d max_zero_loss_per_s=%.0f first_loss_per_s=%.0f\n",
              threads, gzip ? 1 : 0, good, bad);
  std::fflush(stdout);
}

// B16: the spool through an outage.
void run_b16(double rate, double outage_seconds) {
  TEST_reset_warnings();
  set_log_handler([](std::string_view) {});
  std::string dir = std::filesystem::temp_directory_path().string() + "/convtrace-bench-spool-" +
                    std::to_string(getpid());
  std::filesystem::remove_all(dir);
  LoopbackSink sink(/*decode=*/true);
  Pipeline p = make_pipeline(sink.url(), false, dir);
  Tracer tracer = p.sdk->tracer("bench");
  std::vector<uint32_t> up_ns, down_ns;
  up_ns.reserve(static_cast<size_t>(rate * 6));
  down_ns.reserve(static_cast<size_t>(rate * (outage_seconds + 1)));
  double cpu = 0;
  uint64_t ended = paced(tracer, rate, 5, &cpu, &up_ns);
  sink.down();
  // The sink's thread is not the SDK's: its CPU is left out, as in B15.
  const double sink_cpu0 = task_cpu_seconds(sink.tid());
  const double process_cpu0 = process_cpu_seconds();
  const std::vector<std::pair<pid_t, double>> threads0 = thread_cpu_seconds_all();
  const auto t0 = Clock::now();
  ended += paced(tracer, rate, outage_seconds, &cpu, &down_ns);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::vector<std::pair<pid_t, double>> threads1 = thread_cpu_seconds_all();
  const double sink_cpu = task_cpu_seconds(sink.tid()) - sink_cpu0;
  const double sdk_cpu = process_cpu_seconds() - process_cpu0 - cpu - sink_cpu;
  const OtlpExporterStats during = p.otlp();
  sink.up();
  const auto t1 = Clock::now();
  auto deadline = t1 + std::chrono::seconds(600);
  p.sdk->force_flush(std::chrono::milliseconds(10000));
  while (p.otlp().pending_spans > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double drain = std::chrono::duration<double>(Clock::now() - t1).count();
  const OtlpExporterStats after = p.otlp();
  auto pct = [](std::vector<uint32_t>& v, double q) {
    if (v.empty()) return 0u;
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  const uint64_t distinct = sink.distinct_spans();
  std::printf(
      "B16 rate_per_s=%.0f outage_s=%.1f ended=%llu delivered_distinct=%llu lost=%llu "
      "duplicates=%llu end_p50_ns_up=%u end_p99_ns_up=%u end_p50_ns_down=%u end_p99_ns_down=%u "
      "sdk_cpu_pct_during_outage=%.2f spooled_spans=%llu spool_full_dropped=%llu "
      "queue_dropped=%llu failed_spans=%llu drain_s=%.1f bytes_per_span=%.0f "
      "sink_cpu_pct_during_outage=%.2f\n",
      rate, outage_seconds, static_cast<unsigned long long>(ended),
      static_cast<unsigned long long>(distinct),
      static_cast<unsigned long long>(ended > distinct ? ended - distinct : 0),
      static_cast<unsigned long long>(sink.duplicate_spans()), pct(up_ns, 0.5), pct(up_ns, 0.99),
      pct(down_ns, 0.5), pct(down_ns, 0.99), 100.0 * sdk_cpu / wall,
      static_cast<unsigned long long>(during.spooled_spans),
      static_cast<unsigned long long>(after.spool_full_dropped_spans),
      static_cast<unsigned long long>(p.sdk->stats().processor.dropped),
      static_cast<unsigned long long>(after.failed_spans), drain,
      static_cast<double>(sink.body_bytes()) / std::max<double>(1.0, static_cast<double>(distinct)),
      100.0 * sink_cpu / wall);
  // Each SDK thread's share (the worker encodes and appends to the spool,
  // the sender retries the endpoint), to see which one costs what.
  const pid_t app_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  for (const auto& [tid, after_s] : threads1) {
    if (tid == app_tid || tid == sink.tid()) continue;
    double before_s = 0;
    for (const auto& [tid0, s0] : threads0) before_s = tid0 == tid ? s0 : before_s;
    std::printf("B16_thread tid=%d cpu_pct_during_outage=%.2f\n", static_cast<int>(tid),
                100.0 * (after_s - before_s) / wall);
  }
  std::fflush(stdout);
  p.sdk->shutdown(std::chrono::milliseconds(2000));
  std::filesystem::remove_all(dir);
  set_log_handler(nullptr);
}

}  // namespace
}  // namespace convtrace::bench

int main(int argc, char** argv) {
  using namespace convtrace::bench;
  const bool smoke = flag_set(argc, argv, "--smoke");
  const bool only_b16 = flag_set(argc, argv, "--b16");
  const double seconds = static_cast<double>(flag_value(argc, argv, "--seconds", smoke ? 1 : 3));
  const double outage = static_cast<double>(flag_value(argc, argv, "--outage", smoke ? 2 : 60));
  const double rate = static_cast<double>(flag_value(argc, argv, "--rate", 50000));
  if (only_b16) {
    run_b16(rate, outage);
    return 0;
  }
  if (flag_set(argc, argv, "--fixed")) {  // only the 1M spans/s rounds on 2 threads
    for (bool gzip : {false, true}) {
      for (int round = 0; round < 3; ++round) {
        print_trial("fixed", 2, gzip, run_trial(1e6, 2, gzip, seconds));
      }
    }
    return 0;
  }
  if (smoke) {
    print_trial("fixed", 2, false, run_trial(200000, 2, false, seconds));
    run_b16(rate / 5, outage);
    return 0;
  }
  for (int threads : {1, 2}) {
    for (bool gzip : {false, true}) search(threads, gzip, seconds, 16e6);
  }
  for (bool gzip : {false, true}) {
    for (int round = 0; round < 3; ++round) {
      print_trial("fixed", 2, gzip, run_trial(1e6, 2, gzip, seconds));
    }
  }
  run_b16(rate, outage);
  return 0;
}
