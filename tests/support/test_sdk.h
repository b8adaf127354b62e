// A real SDK wired to an in-memory exporter, installed as the process default
// for the duration of a test.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "convtrace/convtrace.h"

namespace convtrace::testing {

struct TestSdk {
  InMemoryExporter* exporter = nullptr;  // owned by the SDK's processor
  std::shared_ptr<Sdk> sdk;

  // Synchronous export unless `config.synchronous_export` is turned off by the
  // caller after construction of the config; the environment is ignored.
  explicit TestSdk(Config config = Config(), bool install_it = true) {
    auto memory = std::make_unique<InMemoryExporter>();
    exporter = memory.get();
    config.custom_exporter = std::move(memory);
    config.exporter = ExporterKind::custom;
    config.read_environment = false;
    if (!config.pricing) {
      Pricing pricing;
      pricing.set("gpt-4o", 2.50, 10.00, 1.25);
      pricing.set("claude-sonnet", 3.00, 15.00, 0.30, 3.75);
      config.pricing = std::move(pricing);
    }
    auto created = Sdk::create(std::move(config));
    if (!created) throw std::runtime_error(created.error().message);
    sdk = std::move(*created);
    if (install_it) install(sdk);
  }

  ~TestSdk() {
    if (installed() == sdk) install(nullptr);
    sdk->shutdown();
  }

  // Everything exported so far. The reference (and pointers into it) stay
  // valid until the next call.
  const std::vector<SpanData>& spans() {
    sdk->force_flush();
    last_spans = exporter->spans();
    return last_spans;
  }
  std::vector<SpanData> last_spans;
};

inline Config sync_config() {
  Config c;
  c.synchronous_export = true;
  return c;
}

// The one span named `name`; fails the test when there is not exactly one.
inline const SpanData* only(const std::vector<SpanData>& spans, const std::string& name) {
  const SpanData* found = nullptr;
  for (const SpanData& s : spans) {
    if (s.name == name) {
      if (found) return nullptr;
      found = &s;
    }
  }
  return found;
}

// Pointers into a temporary would dangle: callers must keep the vector.
const SpanData* only(std::vector<SpanData>&&, const std::string&) = delete;
std::vector<const SpanData*> named(std::vector<SpanData>&&, const std::string&) = delete;

inline std::vector<const SpanData*> named(const std::vector<SpanData>& spans,
                                          const std::string& name) {
  std::vector<const SpanData*> out;
  for (const SpanData& s : spans) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

inline int64_t int_attr(const SpanData& s, std::string_view key, int64_t missing = -1) {
  const int64_t* v = find_int(s.attributes, key);
  return v ? *v : missing;
}

inline std::string str_attr(const SpanData& s, std::string_view key) {
  const std::string* v = find_string(s.attributes, key);
  return v ? *v : std::string("<absent>");
}

}  // namespace convtrace::testing
