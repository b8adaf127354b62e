// B13: the store at scale. Generates a store of N spans of GenAI traffic as a
// team's would look — about five spans a conversation (one to three turns,
// each a workflow span and one or two model calls with the SDK's 21
// attributes), 20k users, 8 models, 6 workflow types, over 30 days — storing
// it in 512-span batches (the ingest rate, and on stderr the rate over each
// twentieth of the store), then times the questions the CLI asks, in this
// process on a warm store (median of --repeat runs), and runs each `convtrace`
// command once as a child process for its wall time and peak memory (max RSS).
//
//   convtrace_bench_store_scale [--spans=N] [--db=PATH|URI] [--reuse] [--keep]
//                               [--repeat=R] [--batch=N] [--cli=PATH]
//
// --db: an SQLite path (default: a temporary file, removed afterwards unless
// --keep) or a PostgreSQL URI (an empty database). --reuse: query a store
// generated before (same --spans) without generating it again. --batch: spans
// per insert (one transaction each; default 512), for what a larger export
// batch would give.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_support.h"
#include "convtrace/attributes.h"
#include "convtrace/store.h"

namespace convtrace::bench {
namespace {

// Spans per insert: the default OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
constexpr size_t kBatch = 512;
constexpr uint64_t kSecond = 1'000'000'000ULL;
constexpr uint64_t kDays = 30;
constexpr uint64_t kStart = 1772323200ULL * kSecond;  // 2026-03-01T00:00:00Z
constexpr int kUsers = 20000;
const char* const kModels[] = {"gpt-4o",           "gpt-4o-mini",         "claude-sonnet-4-5",
                               "claude-haiku-4-5", "gemini-2.5-pro",      "gemini-2.5-flash",
                               "o3-mini",          "mistral-large-latest"};
const char* const kTypes[] = {"rag_v1",         "rag_v2",    "agent_v1",
                              "support_triage", "summarize", "extract"};

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// The conversation that holds about span `n` of the store; its id.
std::string conversation_id(uint64_t c) { return "conv_" + std::to_string(c); }

// Writes conversations [0, conversations) into `store`; returns the spans stored.
uint64_t generate(Store& store, uint64_t spans_wanted, size_t batch_size) {
  const uint64_t conversations = std::max<uint64_t>(1, spans_wanted / 5);
  const uint64_t spacing = kDays * 86400 * kSecond / conversations;
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("support-bot")},
                          {std::string(attr::kSdkName), std::string("convtrace")}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", "0.1.0"});
  std::vector<SpanData> batch;
  batch.reserve(batch_size + 8);
  uint64_t stored = 0, trace = 0, span = 0;
  const auto began = std::chrono::steady_clock::now();
  auto step_start = began;
  uint64_t step_stored = 0;
  auto ids = [&](SpanData& s) {
    ++span;
    for (int b = 0; b < 8; ++b) s.trace_id.bytes[15 - b] = static_cast<uint8_t>(trace >> (8 * b));
    s.trace_id.bytes[0] = 0xc7;
    for (int b = 0; b < 8; ++b) s.span_id.bytes[7 - b] = static_cast<uint8_t>(span >> (8 * b));
    s.span_id.bytes[0] |= 0x80;
    s.resource = resource;
    s.scope = scope;
    s.flags = 1;
  };
  auto flush = [&] {
    if (batch.empty()) return;
    if (Error e = store.insert(batch)) {
      std::fprintf(stderr, "bench: %s\n", e.message.c_str());
      std::exit(2);
    }
    stored += batch.size();
    batch.clear();
  };
  for (uint64_t c = 0; c < conversations && stored + batch.size() < spans_wanted; ++c) {
    uint64_t h = mix(c + 1);
    std::string conv = conversation_id(c);
    std::string user = "user_" + std::to_string(h % kUsers);
    uint64_t t0 = kStart + c * spacing;
    int turns = 1 + static_cast<int>(h % 3);
    for (int t = 1; t <= turns; ++t) {
      ++trace;
      uint64_t start = t0 + static_cast<uint64_t>(t - 1) * 90 * kSecond;
      std::string wf = conv + "_" + std::to_string(t);
      const char* type = kTypes[(h >> 8) % 6];
      int calls = 1 + static_cast<int>((h >> (12 + t)) % 2);
      int64_t total = 0, in_total = 0, out_total = 0;
      SpanData root;
      ids(root);
      SpanId root_id = root.span_id;
      for (int k = 0; k < calls; ++k) {
        SpanData s;
        ids(s);
        s.parent_span_id = root_id;
        s.name = "chat";
        s.kind = SpanKind::client;
        s.start_unix_nano = start + 1000 + static_cast<uint64_t>(k) * 2 * kSecond;
        s.end_unix_nano = s.start_unix_nano + kSecond + (h % 1000) * 1000000;
        const char* model = kModels[(h >> (20 + 3 * k + t)) % 8];
        int64_t in = 200 + static_cast<int64_t>((h >> 24) % 3000);
        int64_t out = 20 + static_cast<int64_t>((h >> 36) % 800);
        int64_t cached = in / 4;
        int64_t cost = (in - cached) * 2'500'000 + cached * 1'250'000 + out * 10'000'000;
        total += cost;
        in_total += in;
        out_total += out;
        auto& a = s.attributes;
        a.push_back({std::string(attr::kConversationId), conv});
        a.push_back({std::string(attr::kConversationTurn), int64_t{t}});
        a.push_back({std::string(attr::kUserId), user});
        a.push_back({std::string(attr::kWorkflowId), wf});
        a.push_back({std::string(attr::kWorkflowType), std::string(type)});
        a.push_back({std::string(attr::kSpanKind), std::string("llm")});
        a.push_back({std::string(attr::kOperationName), std::string("chat")});
        a.push_back({std::string(attr::kRequestModel), std::string(model)});
        a.push_back({std::string(attr::kProviderName), std::string("openai")});
        a.push_back({std::string(attr::kInputTokens), in});
        a.push_back({std::string(attr::kOutputTokens), out});
        a.push_back({std::string(attr::kCacheReadInputTokens), cached});
        a.push_back({std::string(attr::kResponseModel), std::string(model) + "-2026-01-01"});
        a.push_back({std::string(attr::kResponseId), "chatcmpl-" + std::to_string(span)});
        a.push_back({std::string(attr::kResponseFinishReasons), std::vector<std::string>{"stop"}});
        a.push_back({std::string(attr::kCostUsd), static_cast<double>(cost) / 1e12});
        a.push_back({std::string(attr::kInputCostUsd), 0.0});
        a.push_back({std::string(attr::kOutputCostUsd), 0.0});
        a.push_back({std::string(attr::kCostGeneric), static_cast<double>(cost) / 1e12});
        a.push_back({std::string(attr::kCostPicoUsd), cost});
        a.push_back({std::string(attr::kPricedAs), std::string(model)});
        if ((h >> 50) % 97 == 0) s.status = {StatusCode::error, "rate limited"};
        batch.push_back(std::move(s));
      }
      root.name = "workflow " + std::string(type);
      root.start_unix_nano = start;
      root.end_unix_nano = start + 2 * kSecond * static_cast<uint64_t>(calls) + kSecond;
      root.attributes = {
          {std::string(attr::kConversationId), conv},
          {std::string(attr::kConversationTurn), int64_t{t}},
          {std::string(attr::kUserId), user},
          {std::string(attr::kWorkflowId), wf},
          {std::string(attr::kWorkflowType), std::string(type)},
          {std::string(attr::kSpanKind), std::string("workflow")},
          {std::string(attr::kWorkflowTotalCostPico), total},
          {std::string(attr::kWorkflowTotalCostUsd), static_cast<double>(total) / 1e12},
          {std::string(attr::kWorkflowInputTokens), in_total},
          {std::string(attr::kWorkflowOutputTokens), out_total},
          {std::string(attr::kWorkflowLlmCalls), int64_t{calls}}};
      batch.push_back(std::move(root));
    }
    if (batch.size() >= batch_size) flush();
    if ((c + 1) % (conversations / 20 + 1) == 0) {
      // The rate over the last step: a store that slows as it grows shows here.
      auto now = std::chrono::steady_clock::now();
      double step_s = std::chrono::duration<double>(now - step_start).count();
      std::fprintf(stderr, "bench: %llu spans stored, %.0f s, %.0f spans/s over the last %llu\n",
                   static_cast<unsigned long long>(stored),
                   std::chrono::duration<double>(now - began).count(),
                   static_cast<double>(stored - step_stored) / step_s,
                   static_cast<unsigned long long>(stored - step_stored));
      step_start = now;
      step_stored = stored;
    }
  }
  flush();
  return stored;
}

// This process's resident set now (VmRSS), in KiB; 0 when unknown.
long current_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

double median_ms(int repeat, const std::function<void()>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Runs `convtrace <args>` with its output discarded; wall ms and max RSS (KiB).
std::pair<double, long> run_cli(const std::string& cli, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {cli};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::fflush(stdout);  // else the child's stdout would write it again
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen("/dev/null", "w", stdout)) _exit(126);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {-1, ru.ru_maxrss};
  return {ms, ru.ru_maxrss};
}

int run(int argc, char** argv) {
  uint64_t spans = flag_value(argc, argv, "--spans", 10'000'000);
  int repeat = static_cast<int>(flag_value(argc, argv, "--repeat", 5));
  size_t batch = std::max<size_t>(1, flag_value(argc, argv, "--batch", kBatch));
  std::string db = flag_text(argc, argv, "--db", "");
  std::string cli = flag_text(argc, argv, "--cli", CONVTRACE_CLI);
  bool keep = flag_set(argc, argv, "--keep"), reuse = flag_set(argc, argv, "--reuse");
  std::string dir;
  if (db.empty()) {
    char pattern[] = "/tmp/convtrace-bench-XXXXXX";
    if (char* d = mkdtemp(pattern)) dir = d;
    db = dir + "/scale.db";
  }
  auto store = Store::open(db);
  if (!store) {
    std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
    return 2;
  }
  Store& s = **store;
  uint64_t stored = 0;
  double ingest_s = 0;
  if (!reuse) {
    auto t0 = std::chrono::steady_clock::now();
    stored = generate(s, spans, batch);
    ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    stored = static_cast<uint64_t>(*s.span_count());
  }
  const uint64_t conversations = std::max<uint64_t>(1, spans / 5);
  std::string some_conversation = conversation_id(conversations / 2);

  std::printf("B13 store=%s spans=%llu", std::string(s.backend_name()).c_str(),
              static_cast<unsigned long long>(stored));
  if (!reuse) {
    std::printf(" batch=%zu ingest_s=%.1f ingest_spans_per_s=%.0f", batch, ingest_s,
                static_cast<double>(stored) / ingest_s);
  }
  std::printf("\n");

  struct Query {
    const char* name;
    std::function<void()> fn;
    double target_ms;
  };
  auto check = [](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "bench: %s failed\n", what);
      std::exit(2);
    }
  };
  auto report = [&](ReportGroup by) {
    return [&s, by, check] { check(s.report(ReportQuery{by}).has_value(), "report"); };
  };
  StoreFilter week;  // a range with partial days at both ends
  week.since_unix_nano = kStart + 10 * 86400 * kSecond + 3600 * kSecond;
  week.until_unix_nano = kStart + 17 * 86400 * kSecond + 7200 * kSecond;
  std::vector<Query> queries = {
      {"report --by user", report(ReportGroup::user), 300},
      {"report --by model", report(ReportGroup::model), 300},
      {"report --by day", report(ReportGroup::day), 300},
      {"report --by workflow-type", report(ReportGroup::workflow_type), 300},
      {"report --by user, 7 days with partial first and last days",
       [&] {
         check(s.report(ReportQuery{ReportGroup::user, week}).has_value(), "report");
       },
       300},
      {"conversation ID",
       [&] { check(s.conversation(some_conversation).has_value(), "conversation"); }, 20},
      {"conversations (a page of 50, most recent first)",
       [&] {
         ConversationQuery q;
         q.page = {51, 0};
         check(s.conversations(q).has_value(), "conversations");
       },
       100},
      {"conversations --sort cost (a page of 50)",
       [&] {
         ConversationQuery q;
         q.sort = ConversationSort::cost;
         q.page = {51, 0};
         check(s.conversations(q).has_value(), "conversations");
       },
       100},
      {"workflows (summary by type)", report(ReportGroup::workflow_type), 300},
      {"workflows --runs (a page of 50, costliest first)",
       [&] {
         WorkflowQuery q;
         q.page = {51, 0};
         check(s.workflows(q).has_value(), "workflows");
       },
       100},
  };
  std::printf("| query (in process, warm, median of %d) | ms | target |\n|---|---|---|\n", repeat);
  for (const Query& q : queries) {
    double ms = median_ms(repeat, q.fn);
    std::printf("| %s | %.1f | %s%.0f ms |\n", q.name, ms,
                ms <= q.target_ms ? "met, ≤ " : "**missed**, ≤ ", q.target_ms);
  }
  store->reset();
  // A child's peak RSS starts from its parent's RSS at the fork: give back
  // what generating the store took (large batches hold hundreds of MiB), so
  // that the figures below are the commands' own.
  malloc_trim(0);
  std::fprintf(stderr, "bench: this process's RSS before running the commands: %.1f MiB\n",
               static_cast<double>(current_rss_kib()) / 1024.0);

  std::vector<std::vector<std::string>> commands = {
      {"report", "--by", "user"},
      {"report", "--by", "model"},
      {"report", "--by", "day"},
      {"report", "--by", "workflow-type"},
      {"conversation", some_conversation},
      {"conversations"},
      {"workflows"},
      {"workflows", "--runs"},
      {"report", "--by", "user", "--json"},
      {"conversations", "--json"},        // every conversation, streamed
      {"workflows", "--runs", "--json"},  // every run, streamed
  };
  std::printf(
      "\n| command (child process, output discarded) | wall ms | max RSS MiB | memory target |\n"
      "|---|---|---|---|\n");
  for (auto& args : commands) {
    args.push_back("--db");
    args.push_back(db);
    auto [ms, rss_kib] = run_cli(cli, args);
    std::string line;
    for (size_t i = 0; i + 2 < args.size(); ++i) line += (i ? " " : "") + args[i];
    double mib = static_cast<double>(rss_kib) / 1024.0;
    std::printf("| convtrace %s | %s | %.1f | %s |\n", line.c_str(),
                ms < 0 ? "failed" : std::to_string(static_cast<long>(ms)).c_str(), mib,
                mib <= 64 ? "met, ≤ 64 MiB" : "**missed**, ≤ 64 MiB");
  }
  if (!dir.empty() && !keep) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
    rmdir(dir.c_str());
  } else if (keep) {
    std::fprintf(stderr, "bench: kept %s\n", db.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace convtrace::bench

int main(int argc, char** argv) { return convtrace::bench::run(argc, argv); }
