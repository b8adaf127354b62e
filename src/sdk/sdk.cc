#include "convtrace/sdk.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "common/diagnostics.h"
#include "common/fork_safety.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "genai/hooks.h"
#include "genai/registry.h"
#include "metrics/reader.h"
#include "metrics/recorder.h"
#include "processors/batch_processor.h"
#include "processors/simple_processor.h"
#include "sdk/env_config.h"
#include "trace/clock.h"
#include "trace/context_internal.h"
#include "trace/sdk_state.h"

namespace convtrace {
namespace {

// Records kept for the simple processor, across every thread's stripe.
constexpr size_t kSimpleProcessorPool = 256;

std::string executable_name() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "unknown";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void upsert(std::vector<Attribute>& attrs, std::string key, AttributeValue value) {
  for (Attribute& a : attrs) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  attrs.push_back(Attribute{std::move(key), std::move(value)});
}

std::shared_ptr<const Resource> build_resource(const Config& config) {
  auto resource = std::make_shared<Resource>();
  auto& attrs = resource->attributes;
  for (const Attribute& a : config.resource_attributes) upsert(attrs, a.key, a.value);
  if (config.service_name) {
    upsert(attrs, std::string(attr::kServiceName), *config.service_name);
  } else if (!find_attribute(attrs, attr::kServiceName)) {
    upsert(attrs, std::string(attr::kServiceName), "unknown_service:" + executable_name());
  }
  upsert(attrs, std::string(attr::kSdkName), std::string("convtrace"));
  upsert(attrs, std::string(attr::kSdkLanguage), std::string("cpp"));
  upsert(attrs, std::string(attr::kSdkVersion), std::string(CONVTRACE_VERSION));
  utf8::repair(attrs, "resource");
  return resource;
}

// Exporter that discards everything: OTEL_TRACES_EXPORTER=none.
class NullExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch&) noexcept override { return ExportResult::success; }
};

// The exporter nobody chose: an application linked with convtrace and no
// configuration writes ./convtrace.db in whatever directory it runs. Said once,
// at the first write, with how to choose otherwise.
class DefaultStoreNotice : public SpanExporter {
 public:
  DefaultStoreNotice(std::unique_ptr<SpanExporter> store, std::string path)
      : store_(std::move(store)), path_(std::move(path)) {}

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    if (!said_.exchange(true, std::memory_order_relaxed)) {
      report_warning("default_store",
                     "writing spans to " + path_ +
                         ", the default store (no exporter or path was configured); to choose "
                         "another, set OTEL_TRACES_EXPORTER=otlp|console|jsonl|none or "
                         "CONVTRACE_DB=PATH (in code: Config::exporter, Config::sqlite_path)");
    }
    return store_->export_batch(batch);
  }
  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    return store_->force_flush(timeout);
  }
  void shutdown(std::chrono::milliseconds timeout) noexcept override { store_->shutdown(timeout); }

 private:
  std::unique_ptr<SpanExporter> store_;
  std::string path_;
  std::atomic<bool> said_{false};
};

std::string absolute_path(const std::string& relative) {
  char cwd[4096];
  if (!relative.empty() && relative.front() == '/') return relative;
  if (!getcwd(cwd, sizeof cwd)) return relative;
  std::string dir(cwd);
  return dir + "/" + (relative.rfind("./", 0) == 0 ? relative.substr(2) : relative);
}

Expected<std::unique_ptr<SpanExporter>> build_exporter(Config& config) {
  if (config.custom_exporter) return std::move(config.custom_exporter);
  if (!config.exporter && !config.sqlite_path) {
    auto store = build_extra_exporter(config);
    if (!store) return store;
    return std::unique_ptr<SpanExporter>(
        new DefaultStoreNotice(std::move(*store), absolute_path(kDefaultDbPath)));
  }
  // The embedded store is the default: a local run needs no server.
  ExporterKind kind = config.exporter.value_or(ExporterKind::sqlite);
  switch (kind) {
    case ExporterKind::none:
      return std::unique_ptr<SpanExporter>(new NullExporter());
    case ExporterKind::console:
      return make_console_exporter();
    case ExporterKind::jsonl:
      return make_jsonl_exporter(config.jsonl_path.value_or("convtrace-spans.jsonl"));
    case ExporterKind::custom:
      return Error{Error::invalid_argument, "exporter is 'custom' but custom_exporter is null"};
    default:
      return build_extra_exporter(config);
  }
}

// The installed SDK. Leaked on purpose so it outlives static destructors that
// may still end spans; flushed by an atexit handler instead.
struct Installed {
  std::mutex mu;
  std::shared_ptr<Sdk> sdk;  // guarded by mu
  std::atomic<uint64_t> generation{0};
};
Installed& installed_slot() {
  static Installed* slot = new Installed();
  static MutexForkGuard* guard = new MutexForkGuard(slot->mu, ForkOrder::state);
  (void)guard;
  return *slot;
}

// States of destroyed SDKs. Kept reachable (not leaked) so that spans still
// open when their SDK went away find a shut-down state, never freed memory.
void retire(SdkState* state) {
  static std::mutex* mu = new std::mutex();
  static std::vector<SdkState*>* retired = new std::vector<SdkState*>();
  std::lock_guard<std::mutex> lock(*mu);
  retired->push_back(state);
}

// The metric exporter `config` asks for, or null when metrics are off.
Expected<std::unique_ptr<MetricExporter>> build_metric_exporter(Config& config) {
  switch (resolved_metrics_exporter(config)) {
    case MetricsExporterKind::none:
      return std::unique_ptr<MetricExporter>();
    case MetricsExporterKind::custom:
      if (!config.custom_metric_exporter) {
        return Error{Error::invalid_argument,
                     "metrics exporter is 'custom' but custom_metric_exporter is null"};
      }
      return std::move(config.custom_metric_exporter);
    case MetricsExporterKind::otlp: {
      OtlpHttpOptions options;
      options.endpoint = "http://localhost:4318/v1/metrics";
      if (config.otlp_metrics) options = *config.otlp_metrics;
      // One export may take no longer than the reader allows.
      if (config.metrics.export_timeout && *config.metrics.export_timeout < options.timeout) {
        options.timeout = *config.metrics.export_timeout;
      }
      return make_otlp_metric_exporter(std::move(options));
    }
  }
  return std::unique_ptr<MetricExporter>();
}

Error validate_metrics(const MetricsOptions& m) {
  if (m.export_interval && m.export_interval->count() <= 0) {
    return Error{Error::invalid_argument, "metrics.export_interval must be positive"};
  }
  if (m.export_timeout && m.export_timeout->count() <= 0) {
    return Error{Error::invalid_argument, "metrics.export_timeout must be positive"};
  }
  if (m.cardinality_limit && *m.cardinality_limit == 0) {
    return Error{Error::invalid_argument, "metrics.cardinality_limit must be > 0"};
  }
  return {};
}

void flush_installed_at_exit() {
  std::shared_ptr<Sdk> sdk = installed();
  if (sdk) sdk->shutdown(std::chrono::milliseconds(5000));
}

}  // namespace

Expected<std::shared_ptr<Sdk>> Sdk::create(Config config) {
  if (config.processor) {
    // Checked before the environment fills anything in: these are the
    // settings made in code that a given processor would silently ignore.
    if (config.exporter || config.custom_exporter || config.jsonl_path || config.sqlite_path ||
        config.otlp || config.otlp_spool_dir || config.synchronous_export || config.batch) {
      return Error{Error::invalid_argument,
                   "Config::processor is set, so the exporter settings (exporter, "
                   "custom_exporter, jsonl_path, sqlite_path, otlp, otlp_spool_dir, "
                   "synchronous_export, batch) "
                   "do not apply; leave them unset"};
    }
  }
  if (config.read_environment) {
    if (Error e = apply_environment(config)) return e;
  }
  if (config.attribute_count_limit && *config.attribute_count_limit == 0) {
    return Error{Error::invalid_argument, "attribute_count_limit must be > 0"};
  }
  if (config.content.enabled && config.content.max_length == 0) {
    return Error{Error::invalid_argument, "content.max_length must be > 0 when capture is on"};
  }
  if (config.conversations.max_conversations == 0) {
    return Error{Error::invalid_argument, "conversations.max_conversations must be > 0"};
  }
  if (Error e = validate_metrics(config.metrics)) return e;

  auto state = std::make_unique<State>();
  state->resource = build_resource(config);
  state->default_scope =
      std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", CONVTRACE_VERSION});
  state->sampler = config.sampler ? config.sampler : parent_based_sampler(always_on_sampler());
  state->attribute_count_limit = config.attribute_count_limit.value_or(128);
  state->attribute_value_length_limit = config.attribute_value_length_limit.value_or(0);

  state->disabled = config.disabled.value_or(false);
  if (config.processor) {
    state->processor = std::move(config.processor);
  } else if (state->disabled) {
    // Nothing is recorded, so nothing is built that could open a file or a
    // connection; spans are no-ops (tracer.cc).
    state->processor = make_simple_processor(std::make_unique<NullExporter>());
  } else {
    auto built = build_exporter(config);
    if (!built) return built.error();
    std::unique_ptr<SpanExporter> exporter = std::move(*built);
    if (config.synchronous_export) {
      // Each record comes back on the thread that ended it, at once: a few
      // per thread are enough for spans open at the same time.
      auto pool = std::make_shared<SpanDataPool>(kSimpleProcessorPool);
      state->processor = make_pooled_simple_processor(std::move(exporter), pool);
      state->span_pool = std::move(pool);
    } else {
      BatchOptions batch = config.batch.value_or(BatchOptions{});
      // Enough records for a full queue and the batch being exported: in steady
      // state every span reuses one.
      auto pool =
          std::make_shared<SpanDataPool>(batch.max_queue_size + batch.max_export_batch_size);
      auto processor = make_pooled_batch_processor(std::move(exporter), batch, pool);
      if (!processor) return processor.error();
      state->span_pool = std::move(pool);
      state->processor = std::move(*processor);
    }
  }

  state->on_start = &genai_on_start;
  state->on_end = &genai_on_end;
  state->pricing = std::make_shared<const Pricing>(config.pricing ? std::move(*config.pricing)
                                                                  : Pricing::builtin());
  state->profile = config.attribute_profile.value_or(AttributeProfile::standard);
  const bool langfuse = state->profile == AttributeProfile::langfuse;
  const bool openinference = state->profile == AttributeProfile::openinference;
  state->cost_keys.cost_usd = config.cost_keys.cost_usd.value_or(!langfuse);
  state->cost_keys.cost_generic = config.cost_keys.cost_generic.value_or(true);
  state->cost_keys.cost_parts = config.cost_keys.cost_parts.value_or(true);
  state->cost_keys.llm_cost = config.cost_keys.llm_cost.value_or(openinference);
  state->content = std::move(config.content);
  state->registry = std::make_unique<ConversationRegistry>(config.conversations.max_conversations,
                                                           config.conversations.idle_ttl);
  state->shutdown_timeout = config.shutdown_timeout;
  if (!state->disabled) {
    auto metric_exporter = build_metric_exporter(config);
    if (!metric_exporter) return metric_exporter.error();
    if (*metric_exporter) {
      const MetricsOptions& m = config.metrics;
      MetricsSettings settings;
      settings.temporality = m.temporality.value_or(Temporality::cumulative);
      settings.workflow_type_attribute = m.workflow_type_attribute.value_or(false);
      settings.user_id_attribute = m.user_id_attribute.value_or(false);
      settings.cardinality_limit = m.cardinality_limit.value_or(2000);
      settings.exemplars = m.exemplars.value_or(true);
      // Never freed, like the state (spans point at both).
      state->metrics = new MetricsRecorder(settings, state->resource, now_unix_nano());
      state->metrics_reader =
          new MetricsReader(state->metrics, std::move(*metric_exporter),
                            m.export_interval.value_or(std::chrono::milliseconds(60000)));
    }
  }
  return std::shared_ptr<Sdk>(new Sdk(state.release()));
}

Sdk::~Sdk() {
  shutdown(state_->shutdown_timeout);
  // state_ is deliberately not freed: spans still open elsewhere point at it
  // and must find `shut_down` set rather than freed memory (see sdk_state.h).
  retire(state_);
}

Tracer Sdk::tracer(std::string_view scope_name, std::string_view scope_version) {
  auto scope = std::make_shared<InstrumentationScope>();
  utf8::assign(scope->name, scope_name, "instrumentation scope name");
  utf8::assign(scope->version, scope_version, "instrumentation scope version");
  return Tracer(shared_from_this(), std::move(scope));
}

void Sdk::set_pricing(Pricing pricing) {
  auto p = std::make_shared<const Pricing>(std::move(pricing));
  std::lock_guard<std::mutex> lock(state_->pricing_mu);
  state_->pricing = std::move(p);
  state_->pricing_generation.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const Pricing> Sdk::pricing() const { return state_->current_pricing(); }

bool Sdk::force_flush(std::chrono::milliseconds timeout) {
  if (state_->shut_down.load(std::memory_order_acquire)) return true;
  bool done = state_->processor->force_flush(timeout);
  if (state_->metrics_reader) done = state_->metrics_reader->force_flush(timeout) && done;
  return done;
}

bool Sdk::shutdown(std::chrono::milliseconds timeout) {
  if (state_->shut_down.exchange(true, std::memory_order_acq_rel)) return true;
  bool done = state_->processor->shutdown(timeout);
  // No span is recorded from here on: give the recycled records' memory back.
  if (state_->span_pool) state_->span_pool->clear();
  // The last metrics export, with every span that ended before shutdown.
  if (state_->metrics_reader) done = state_->metrics_reader->shutdown(timeout) && done;
  return done;
}

SdkStats Sdk::stats() const {
  SdkStats s;
  s.spans_started = state_->spans_started.load();
  s.spans_unsampled = state_->spans_unsampled.load(std::memory_order_relaxed);
  s.processor = state_->processor->stats();
  s.processor.dropped += state_->dropped_after_shutdown.load(std::memory_order_relaxed);
  return s;
}

const Resource& Sdk::resource() const { return *state_->resource; }

void install(std::shared_ptr<Sdk> sdk) {
  static std::once_flag atexit_once;
  std::call_once(atexit_once, [] { std::atexit(&flush_installed_at_exit); });
  std::shared_ptr<Sdk> previous;
  {
    Installed& slot = installed_slot();
    std::lock_guard<std::mutex> lock(slot.mu);
    previous = std::move(slot.sdk);
    slot.sdk = std::move(sdk);
    slot.generation.fetch_add(1, std::memory_order_release);
  }
  if (previous) previous->force_flush();
}

std::shared_ptr<Sdk> installed() {
  Installed& slot = installed_slot();
  std::lock_guard<std::mutex> lock(slot.mu);
  return slot.sdk;
}

SdkState* installed_state() {
  // A per-thread cache keeps span start free of the global lock and of
  // reference-count traffic; install() bumps the generation to refresh it.
  thread_local std::shared_ptr<Sdk> cached;
  thread_local uint64_t cached_generation = ~uint64_t{0};
  uint64_t generation = installed_slot().generation.load(std::memory_order_acquire);
  if (generation != cached_generation) {
    cached = installed();
    cached_generation = generation;
  }
  return cached ? cached->state_ : nullptr;
}

}  // namespace convtrace
