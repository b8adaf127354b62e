// B3 (memory): many distinct conversations churning through the registry.
//
//   convtrace_bench_churn [--ids=N] [--limit=L]
//
// Each of N distinct conversation ids (default 1M) is entered once and does
// one unit of work (a span that claims its first turn), as a server sees new
// sessions arrive. The registry keeps at most L conversations (default the
// SDK's 100k); the memory it takes must level off once it is full, whatever N.
// Prints one `key=value` line for bench/run.sh.
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_support.h"
#include "genai/registry.h"
#include "trace/sdk_state.h"

int main(int argc, char** argv) {
  using namespace convtrace;
  using namespace convtrace::bench;
  uint64_t ids = flag_value(argc, argv, "--ids", 1000000);
  uint64_t limit =
      flag_value(argc, argv, "--limit", ConversationRegistryOptions{}.max_conversations);

  Config config;
  config.read_environment = false;
  config.exporter = ExporterKind::none;
  config.pricing = bench_pricing();
  config.conversations.max_conversations = limit;
  auto created = Sdk::create(std::move(config));
  if (!created) return 2;
  std::shared_ptr<Sdk> sdk = *created;
  install(sdk);
  ConversationRegistry& registry = *sdk->TEST_state()->registry;

  uint64_t rss_base = proc_status_kib("VmRSS");
  uint64_t rss_full = 0;  // when the registry first reached its limit
  std::string id;
  for (uint64_t i = 0; i < ids; ++i) {
    id = "session_" + std::to_string(i * 2654435761u % 1000000007u);
    auto conv = conversation(id, {"user_42"});
    Span span = start_span("turn");
    span.end();
    if (i + 1 == limit) rss_full = proc_status_kib("VmRSS");
  }
  uint64_t rss_end = proc_status_kib("VmRSS");
  std::printf(
      "B3churn ids=%llu limit=%llu registry_size=%zu evictions=%llu rss_growth_kib=%llu "
      "rss_growth_at_limit_kib=%llu rss_growth_after_limit_kib=%lld\n",
      static_cast<unsigned long long>(ids), static_cast<unsigned long long>(limit), registry.size(),
      static_cast<unsigned long long>(registry.evictions()),
      static_cast<unsigned long long>(rss_end - rss_base),
      static_cast<unsigned long long>(rss_full ? rss_full - rss_base : 0),
      rss_full ? static_cast<long long>(rss_end) - static_cast<long long>(rss_full) : 0LL);
  install(nullptr);
  return 0;
}
