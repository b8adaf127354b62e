// The SDK object: configuration, tracer provider, pricing, and the one
// process-wide default.
//
//   convtrace::Config cfg;
//   cfg.service_name = "support-bot";
//   auto sdk = convtrace::Sdk::create(cfg);      // Expected<std::shared_ptr<Sdk>>
//   if (!sdk) { std::cerr << sdk.error().message << '\n'; return 1; }
//   convtrace::install(*sdk);                    // used by conversation/workflow/observe
//
// `Sdk::create` validates the whole configuration once (explicit settings in
// `Config` win over OTEL_* variables; a bad explicit setting is an error value,
// a bad variable a warning that names it). The SDK is thread-safe. Destroying
// the last reference shuts it down (flushing, bounded by the shutdown timeout);
// spans still open then are dropped, never crash. `install()` keeps a reference
// until another SDK is installed or the process exits (then it flushes).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/exporter.h"
#include "convtrace/metrics.h"
#include "convtrace/otlp.h"
#include "convtrace/pricing.h"
#include "convtrace/processor.h"
#include "convtrace/sampler.h"
#include "convtrace/span_content.h"
#include "convtrace/trace.h"

namespace convtrace {

struct SdkState;

// Which exporter the SDK builds (OTEL_TRACES_EXPORTER).
enum class ExporterKind { none, console, jsonl, otlp, sqlite, custom };

// Bounds of the registry that continues turn counts across requests.
struct ConversationRegistryOptions {
  size_t max_conversations = 100000;        // least recently used evicted beyond this
  std::chrono::seconds idle_ttl{6 * 3600};  // forgotten after this long unused
};

// Every field left unset is filled from the environment when `read_environment`
// is true (the default); the variable is named on each field. Settings made in
// code always win over the environment. A malformed variable is reported as a
// warning ("bad_environment") naming the variable and its value — never the
// value of an OTLP header, which may hold an API key — and the default is used.
struct Config {
  // OTEL_SDK_DISABLED=true: the SDK is created and installable, but every span
  // is a cheap no-op and no exporter is built (nothing is written or sent).
  // Conversation scopes and propagation keep working, so a disabled service
  // still passes trace and conversation context on to the services it calls.
  std::optional<bool> disabled;

  // Resource. service.name: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES,
  // else "unknown_service:<executable>".
  std::optional<std::string> service_name;
  // Merged over OTEL_RESOURCE_ATTRIBUTES (key=value,… with percent-encoded
  // values; a malformed list is discarded whole with a warning).
  std::vector<Attribute> resource_attributes;

  // Export. Default: OTEL_TRACES_EXPORTER, else sqlite (the embedded store at
  // sqlite_path), so a local run needs no server.
  std::optional<ExporterKind> exporter;
  // With ExporterKind::custom (or set alone): the exporter to use.
  std::unique_ptr<SpanExporter> custom_exporter;
  std::optional<std::string> jsonl_path;   // CONVTRACE_JSONL_PATH, default "convtrace-spans.jsonl"
  std::optional<std::string> sqlite_path;  // CONVTRACE_DB, default "./convtrace.db"
  // Settings of the OTLP/HTTP exporter (ExporterKind::otlp). Set here, they are
  // used as they are; left unset, they come from the OTEL_EXPORTER_OTLP_*
  // variables named on each OtlpHttpOptions field (otlp.h), else its defaults.
  std::optional<OtlpHttpOptions> otlp;
  // The OTLP exporter's disk spool for outages (OtlpSpoolOptions in otlp.h):
  // its directory (CONVTRACE_OTLP_SPOOL_DIR; default none) and its bound in
  // MiB (CONVTRACE_OTLP_SPOOL_MAX_MB; default 1024). Set, they replace
  // `otlp`'s spool settings.
  std::optional<std::string> otlp_spool_dir;
  std::optional<uint64_t> otlp_spool_max_mb;
  // Batch (default) or simple (synchronous) processing.
  bool synchronous_export = false;
  // When set, every finished span goes to this processor, and no exporter or
  // batch processor is built: `exporter`, `custom_exporter`, the file paths,
  // `otlp`, `synchronous_export` and `batch` must then be left unset (an
  // invalid_argument error otherwise). For pipelines convtrace does not
  // build itself, such as the opentelemetry-cpp bridge (opentelemetry.h).
  std::unique_ptr<SpanProcessor> processor;
  std::optional<BatchOptions> batch;  // default: OTEL_BSP_* variables, else OTel defaults

  // Sampling. Default: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else
  // parentbased_always_on. Besides the OpenTelemetry names (always_on,
  // always_off, traceidratio, parentbased_always_on, parentbased_always_off,
  // parentbased_traceidratio) the variable accepts `conversation` and
  // `parentbased_conversation`: both give conversation_sampler(ARG), which keeps
  // or drops whole conversations and always follows a valid parent's decision.
  // ARG is a ratio in [0, 1], default 1.
  std::shared_ptr<const Sampler> sampler;

  // Attribute limits (OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT).
  std::optional<size_t> attribute_count_limit;         // default 128
  std::optional<size_t> attribute_value_length_limit;  // default unlimited

  // GenAI.
  // Default: Pricing::builtin(), with CONVTRACE_PRICING_FILE merged over it
  // (a file that cannot be read or is invalid → warning, built-in catalog kept).
  std::optional<Pricing> pricing;
  // CONVTRACE_ATTRIBUTE_PROFILE (standard, openinference, langfuse); default standard.
  std::optional<AttributeProfile> attribute_profile;
  CostKeys cost_keys;
  // CONVTRACE_CAPTURE_CONTENT=true turns capture on when the code left it off.
  ContentCapture content;
  ConversationRegistryOptions conversations;

  // Metrics (metrics.h). OTEL_METRICS_EXPORTER: "otlp" or "none". Default: otlp
  // when the span exporter is otlp, else none (then no metric is recorded).
  std::optional<MetricsExporterKind> metrics_exporter;
  // With MetricsExporterKind::custom (or set alone): the exporter to use.
  std::unique_ptr<MetricExporter> custom_metric_exporter;
  // Settings of the OTLP metrics exporter. Set here, used as they are; unset,
  // each comes from its OTEL_EXPORTER_OTLP_METRICS_* variable, else the generic
  // OTEL_EXPORTER_OTLP_* one (whose endpoint gets "/v1/metrics" appended for
  // HTTP), else the OtlpHttpOptions default with the /v1/metrics path.
  std::optional<OtlpHttpOptions> otlp_metrics;
  // Export interval and timeout, temporality, opt-in attributes, cardinality
  // limit, exemplars: each field names its variable.
  MetricsOptions metrics;

  // Read OTEL_* / CONVTRACE_* variables for settings left unset (default true).
  bool read_environment = true;
  std::chrono::milliseconds shutdown_timeout{5000};
};

// Counters of one SDK. Monotonic.
struct SdkStats {
  uint64_t spans_started = 0;
  uint64_t spans_unsampled = 0;
  ProcessorStats processor;
};

class Sdk : public std::enable_shared_from_this<Sdk> {
 public:
  // Validates `config` and builds the SDK. Errors: invalid_argument (a bad
  // setting, named in the message), io_error (an exporter file that cannot be
  // opened).
  static Expected<std::shared_ptr<Sdk>> create(Config config);
  ~Sdk();
  Sdk(const Sdk&) = delete;
  Sdk& operator=(const Sdk&) = delete;

  // A tracer for one instrumentation scope (library name and version).
  Tracer tracer(std::string_view scope_name = "convtrace", std::string_view scope_version = {});

  // Replaces the price catalog used for spans started from now on. Thread-safe.
  void set_pricing(Pricing pricing);
  std::shared_ptr<const Pricing> pricing() const;

  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Flushes and stops; idempotent. Spans ended later are dropped and counted.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  SdkStats stats() const;
  const Resource& resource() const;

  using State = SdkState;  // internal: src/trace/sdk_state.h
  State* TEST_state() const { return state_; }

 private:
  friend class Tracer;
  friend struct SdkAccess;  // the library's own parts, e.g. the opentelemetry-cpp bridge
  friend State* installed_state();
  explicit Sdk(State* state) : state_(state) {}
  State* state_;  // kept valid for the life of the process (see sdk.cc)
};

// Makes `sdk` the process-wide default used by start_span, observe,
// conversation and workflow. Pass nullptr to uninstall. The previous default is
// flushed (not shut down: others may hold it).
void install(std::shared_ptr<Sdk> sdk);
// The installed SDK, or nullptr.
std::shared_ptr<Sdk> installed();

}  // namespace convtrace
