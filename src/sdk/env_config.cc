#include "sdk/env_config.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "common/diagnostics.h"
#include "common/percent.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/store.h"

namespace convtrace {
namespace {

// The OpenTelemetry specification treats an empty variable as unset.
const char* get(const GetEnv& fn, const char* name) {
  const char* v = fn ? fn(name) : std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void warn(std::string_view variable, std::string_view value, std::string_view problem,
          std::string_view fallback) {
  std::string message(variable);
  message += "='";
  message += value;
  message += "' ";
  message += problem;
  message += "; using ";
  message += fallback;
  report_warning("bad_environment", message);
}

// OTel booleans: "true"/"false", any case. Anything else is false, with a warning.
std::optional<bool> read_bool(const GetEnv& fn, const char* name) {
  const char* v = get(fn, name);
  if (!v) return std::nullopt;
  std::string s = lower(trim_ows(v));
  if (s == "true") return true;
  if (s != "false") warn(name, v, "is not true or false", "false");
  return false;
}

// A non-negative decimal integer. Bad values give a warning and nullopt.
std::optional<uint64_t> read_uint(const GetEnv& fn, const char* name, std::string_view fallback,
                                  bool allow_zero = true) {
  const char* v = get(fn, name);
  if (!v) return std::nullopt;
  std::string_view s = trim_ows(v);
  uint64_t value = 0;
  bool ok = !s.empty() && s.size() <= 18;
  for (char c : s) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (ok && !allow_zero && value == 0) {
    warn(name, v, "must be greater than 0", fallback);
    return std::nullopt;
  }
  if (!ok) {
    warn(name, v, "is not a non-negative integer", fallback);
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> read_millis(const GetEnv& fn, const char* name,
                                                     std::string_view fallback) {
  auto v = read_uint(fn, name, fallback);
  if (!v) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*v));
}

// Splits "k=v,k2=v2" (W3C-baggage-like, no properties) into pairs, trimming
// optional whitespace and percent-decoding values. Empty members are skipped.
// On a malformed member returns false and warns; with `secret` the warning
// names only the variable and the key, never a value.
bool parse_key_values(const char* name, std::string_view text, bool secret,
                      std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  const std::string_view whole = text;
  size_t index = 0;
  while (true) {
    size_t comma = text.find(',');
    std::string_view member = trim_ows(text.substr(0, comma));
    ++index;
    if (!member.empty()) {
      size_t eq = member.find('=');
      std::string_view key = eq == std::string_view::npos ? member : trim_ows(member.substr(0, eq));
      std::string problem;
      std::string value;
      size_t replaced = 0;
      if (eq == std::string_view::npos) {
        problem = "has no '='";
      } else if (key.empty()) {
        problem = "has an empty key";
      } else if (!percent_decode(trim_ows(member.substr(eq + 1)), value, &replaced)) {
        problem = "has a malformed percent-encoding";
      } else if (replaced > 0) {
        utf8::warn(std::string(name) + " entry '" + utf8::repaired(key) + "'", replaced);
      }
      if (!problem.empty()) {
        std::string message(name);
        if (secret) {
          message += ": entry " + std::to_string(index);
          if (eq != std::string_view::npos && !key.empty()) {
            message += " ('" + std::string(key) + "')";
          }
        } else {
          message += "='" + std::string(whole) + "': entry '" + std::string(member) + "'";
        }
        message += " " + problem + "; the whole variable is ignored";
        report_warning("bad_environment", message);
        out.clear();
        return false;
      }
      out.emplace_back(std::string(key), std::move(value));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

// An OTLP setting: OTEL_EXPORTER_OTLP_<SIGNAL>_<X> when set, else OTEL_EXPORTER_OTLP_<X>.
struct Signal {
  std::string name;  // the variable the value came from
  const char* value = nullptr;
  bool specific = false;  // from the signal's own variable
};

Signal signal_variable(const GetEnv& fn, std::string_view signal, const std::string& setting) {
  Signal s;
  s.name = "OTEL_EXPORTER_OTLP_" + std::string(signal) + "_" + setting;
  s.value = get(fn, s.name.c_str());
  s.specific = s.value != nullptr;
  if (!s.value) {
    s.name = "OTEL_EXPORTER_OTLP_" + setting;
    s.value = get(fn, s.name.c_str());
  }
  return s;
}

bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// OTLP headers: "k=v,…" with percent-decoded values. A name that is not an
// HTTP token or a value with CR, LF or NUL makes the whole variable ignored
// (the exporter would refuse it). Warnings never include a value.
void parse_headers(const char* name, std::string_view text,
                   std::vector<std::pair<std::string, std::string>>& out) {
  if (!parse_key_values(name, text, /*secret=*/true, out)) return;
  for (const auto& [key, value] : out) {
    std::string problem;
    if (!is_header_name(key)) {
      problem = "is not a valid header name";
    } else if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      problem = "has a value with CR, LF or NUL";
    }
    if (!problem.empty()) {
      report_warning("bad_environment", std::string(name) + ": header '" + key + "' " + problem +
                                            "; the whole variable is ignored");
      out.clear();
      return;
    }
  }
}

void apply_resource(Config& config, const GetEnv& fn) {
  const char* v = get(fn, "OTEL_RESOURCE_ATTRIBUTES");
  if (!v) return;
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!parse_key_values("OTEL_RESOURCE_ATTRIBUTES", v, false, pairs)) return;
  // Settings in code are merged over the environment: keep theirs, put ours first.
  std::vector<Attribute> merged;
  for (auto& [key, value] : pairs) {
    if (find_attribute(config.resource_attributes, key) || find_attribute(merged, key)) continue;
    merged.push_back(Attribute{key, std::move(value)});
  }
  for (Attribute& a : config.resource_attributes) merged.push_back(std::move(a));
  config.resource_attributes = std::move(merged);
}

void apply_exporter(Config& config, const GetEnv& fn) {
  if (config.exporter || config.custom_exporter || config.processor) return;
  const char* v = get(fn, "OTEL_TRACES_EXPORTER");
  if (!v) return;
  std::string_view list = v;
  size_t comma = list.find(',');
  std::string name = lower(trim_ows(list.substr(0, comma)));
  if (comma != std::string_view::npos) {
    warn("OTEL_TRACES_EXPORTER", v, "names more than one exporter, which is not supported",
         "the first, '" + name + "'");
  }
  if (name == "console") {
    config.exporter = ExporterKind::console;
  } else if (name == "none") {
    config.exporter = ExporterKind::none;
  } else if (name == "jsonl") {
    config.exporter = ExporterKind::jsonl;
  } else if (name == "otlp") {
    config.exporter = ExporterKind::otlp;
  } else if (name == "sqlite") {
    config.exporter = ExporterKind::sqlite;
  } else {
    warn("OTEL_TRACES_EXPORTER", v, "is not one of otlp, console, jsonl, sqlite, none", "sqlite");
  }
}

void apply_batch(Config& config, const GetEnv& fn) {
  if (config.batch || config.processor) return;
  BatchOptions options;
  bool any = false;
  if (auto d = read_millis(fn, "OTEL_BSP_SCHEDULE_DELAY", "5000")) {
    options.schedule_delay = *d;
    any = true;
  }
  if (auto d = read_millis(fn, "OTEL_BSP_EXPORT_TIMEOUT", "30000")) {
    options.export_timeout = *d;
    any = true;
  }
  if (auto n = read_uint(fn, "OTEL_BSP_MAX_QUEUE_SIZE", "2048", false)) {
    options.max_queue_size = static_cast<size_t>(*n);
    any = true;
  }
  if (auto n = read_uint(fn, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", false)) {
    options.max_export_batch_size = static_cast<size_t>(*n);
    any = true;
  }
  if (options.max_export_batch_size > options.max_queue_size) {
    report_warning(
        "bad_environment",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=" + std::to_string(options.max_export_batch_size) +
            " is larger than OTEL_BSP_MAX_QUEUE_SIZE=" + std::to_string(options.max_queue_size) +
            "; using the queue size");
    options.max_export_batch_size = options.max_queue_size;
  }
  if (any) config.batch = options;
}

double read_ratio(const GetEnv& fn) {
  const char* v = get(fn, "OTEL_TRACES_SAMPLER_ARG");
  if (!v) return 1.0;
  std::string s(trim_ows(v));
  char* end = nullptr;
  errno = 0;
  double ratio = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !(ratio >= 0.0 && ratio <= 1.0)) {
    warn("OTEL_TRACES_SAMPLER_ARG", v, "is not a ratio between 0 and 1", "1.0");
    return 1.0;
  }
  return ratio;
}

void apply_sampler(Config& config, const GetEnv& fn) {
  if (config.sampler) return;
  const char* v = get(fn, "OTEL_TRACES_SAMPLER");
  if (!v) return;
  std::string name = lower(trim_ows(v));
  if (name == "always_on") {
    config.sampler = always_on_sampler();
  } else if (name == "always_off") {
    config.sampler = always_off_sampler();
  } else if (name == "traceidratio") {
    config.sampler = trace_id_ratio_sampler(read_ratio(fn));
  } else if (name == "parentbased_always_on") {
    config.sampler = parent_based_sampler(always_on_sampler());
  } else if (name == "parentbased_always_off") {
    config.sampler = parent_based_sampler(always_off_sampler());
  } else if (name == "parentbased_traceidratio") {
    config.sampler = parent_based_sampler(trace_id_ratio_sampler(read_ratio(fn)));
  } else if (name == "conversation" || name == "parentbased_conversation") {
    // The conversation sampler is parent-based by construction (sampler.h).
    config.sampler = conversation_sampler(read_ratio(fn));
  } else {
    warn("OTEL_TRACES_SAMPLER", v,
         "is not one of always_on, always_off, traceidratio, parentbased_always_on, "
         "parentbased_always_off, parentbased_traceidratio, conversation, "
         "parentbased_conversation",
         "parentbased_always_on");
  }
}

void apply_limits(Config& config, const GetEnv& fn) {
  if (!config.attribute_value_length_limit) {
    if (auto n = read_uint(fn, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "no limit")) {
      config.attribute_value_length_limit = static_cast<size_t>(*n);
    }
  }
  if (!config.attribute_count_limit) {
    if (auto n = read_uint(fn, "OTEL_ATTRIBUTE_COUNT_LIMIT", "128", false)) {
      config.attribute_count_limit = static_cast<size_t>(*n);
    }
  }
}

void apply_pricing(Config& config, const GetEnv& fn) {
  if (config.pricing) return;
  const char* path = get(fn, std::string(kPricingFileEnv).c_str());
  if (!path) return;
  Error problem;
  Pricing pricing = Pricing::with_file(path, &problem);
  if (problem) {
    report_warning("bad_environment", std::string(kPricingFileEnv) + "='" + path +
                                          "' cannot be used (" + problem.message +
                                          "); using the built-in price catalog");
    return;
  }
  config.pricing = std::move(pricing);
}

void apply_profile(Config& config, const GetEnv& fn) {
  if (!config.attribute_profile) {
    if (const char* v = get(fn, "CONVTRACE_ATTRIBUTE_PROFILE")) {
      std::string name = lower(trim_ows(v));
      if (name == "standard") {
        config.attribute_profile = AttributeProfile::standard;
      } else if (name == "openinference") {
        config.attribute_profile = AttributeProfile::openinference;
      } else if (name == "langfuse") {
        config.attribute_profile = AttributeProfile::langfuse;
      } else {
        warn("CONVTRACE_ATTRIBUTE_PROFILE", v, "is not one of standard, openinference, langfuse",
             "standard");
      }
    }
  }
  const char* v = get(fn, "CONVTRACE_COST_KEYS");
  if (!v) return;
  // Read whole before anything is applied: a typo must not half-apply.
  bool cost_usd = false, cost_generic = false, cost_parts = false, llm_cost = false;
  std::string_view list = v;
  while (true) {
    size_t comma = list.find(',');
    std::string name = lower(trim_ows(list.substr(0, comma)));
    if (name == "cost_usd") {
      cost_usd = true;
    } else if (name == "cost") {
      cost_generic = true;
    } else if (name == "parts") {
      cost_parts = true;
    } else if (name == "llm_cost") {
      llm_cost = true;
    } else if (name != "none" && !name.empty()) {
      warn("CONVTRACE_COST_KEYS", v,
           "names '" + name + "', not one of cost_usd, cost, parts, llm_cost, none",
           "the profile's cost keys");
      return;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  CostKeys& keys = config.cost_keys;
  if (!keys.cost_usd) keys.cost_usd = cost_usd;
  if (!keys.cost_generic) keys.cost_generic = cost_generic;
  if (!keys.cost_parts) keys.cost_parts = cost_parts;
  if (!keys.llm_cost) keys.llm_cost = llm_cost;
}

void apply_metrics(Config& config, const GetEnv& fn) {
  if (!config.metrics_exporter && !config.custom_metric_exporter) {
    if (const char* v = get(fn, "OTEL_METRICS_EXPORTER")) {
      std::string_view list = v;
      std::string name = lower(trim_ows(list.substr(0, list.find(','))));
      if (list.find(',') != std::string_view::npos) {
        warn("OTEL_METRICS_EXPORTER", v, "names more than one exporter, which is not supported",
             "the first, '" + name + "'");
      }
      if (name == "otlp") {
        config.metrics_exporter = MetricsExporterKind::otlp;
      } else if (name == "none") {
        config.metrics_exporter = MetricsExporterKind::none;
      } else {
        warn("OTEL_METRICS_EXPORTER", v, "is not otlp or none", "the default");
      }
    }
  }
  MetricsOptions& m = config.metrics;
  if (!m.export_interval) {
    if (auto d = read_uint(fn, "OTEL_METRIC_EXPORT_INTERVAL", "60000", false)) {
      m.export_interval = std::chrono::milliseconds(static_cast<int64_t>(*d));
    }
  }
  if (!m.export_timeout) {
    if (auto d = read_uint(fn, "OTEL_METRIC_EXPORT_TIMEOUT", "30000", false)) {
      m.export_timeout = std::chrono::milliseconds(static_cast<int64_t>(*d));
    }
  }
  if (!m.temporality) {
    const char* name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    if (const char* v = get(fn, name)) {
      std::string t = lower(trim_ows(v));
      if (t == "cumulative") {
        m.temporality = Temporality::cumulative;
      } else if (t == "delta" || t == "lowmemory") {
        // lowmemory asks for delta counters and histograms: all our instruments.
        m.temporality = Temporality::delta;
      } else {
        warn(name, v, "is not cumulative, delta or lowmemory", "cumulative");
      }
    }
  }
  if (!m.workflow_type_attribute && !m.user_id_attribute) {
    if (const char* v = get(fn, "CONVTRACE_METRICS_ATTRIBUTES")) {
      bool workflow = false, user = false, ok = true;
      std::string_view list = v;
      while (true) {
        size_t comma = list.find(',');
        std::string_view item = trim_ows(list.substr(0, comma));
        if (item == attr::kWorkflowType) {
          workflow = true;
        } else if (item == attr::kUserId) {
          user = true;
        } else if (!item.empty()) {
          ok = false;
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      if (ok) {
        m.workflow_type_attribute = workflow;
        m.user_id_attribute = user;
      } else {
        warn("CONVTRACE_METRICS_ATTRIBUTES", v, "may only list workflow.type and user.id",
             "neither");
      }
    }
  }
  if (!m.cardinality_limit) {
    if (auto n = read_uint(fn, "CONVTRACE_METRICS_CARDINALITY_LIMIT", "2000", false)) {
      m.cardinality_limit = static_cast<size_t>(*n);
    }
  }
  if (!m.exemplars) {
    if (const char* v = get(fn, "OTEL_METRICS_EXEMPLAR_FILTER")) {
      std::string f = lower(trim_ows(v));
      if (f == "always_off") {
        m.exemplars = false;
      } else if (f == "trace_based" || f == "always_on") {
        m.exemplars = true;
      } else {
        warn("OTEL_METRICS_EXEMPLAR_FILTER", v, "is not trace_based, always_on or always_off",
             "trace_based");
      }
    }
  }
  if (!config.otlp_metrics && resolved_metrics_exporter(config) == MetricsExporterKind::otlp) {
    config.otlp_metrics = otlp_settings_from_environment(fn, "METRICS");
  }
}

}  // namespace

MetricsExporterKind resolved_metrics_exporter(const Config& config) {
  if (config.metrics_exporter) return *config.metrics_exporter;
  if (config.custom_metric_exporter) return MetricsExporterKind::custom;
  return config.exporter == ExporterKind::otlp ? MetricsExporterKind::otlp
                                               : MetricsExporterKind::none;
}

Error apply_environment(Config& config, const GetEnv& getenv_fn) {
  const GetEnv& fn = getenv_fn;
  if (!config.disabled) {
    if (auto disabled = read_bool(fn, "OTEL_SDK_DISABLED")) config.disabled = *disabled;
  }
  // An explicit service.name among the resource attributes in code also beats the variable.
  if (!config.service_name && !find_attribute(config.resource_attributes, attr::kServiceName)) {
    if (const char* v = get(fn, "OTEL_SERVICE_NAME")) config.service_name = v;
  }
  apply_resource(config, fn);
  apply_exporter(config, fn);
  if (!config.jsonl_path) {
    if (const char* v = get(fn, "CONVTRACE_JSONL_PATH")) config.jsonl_path = v;
  }
  if (!config.sqlite_path) {
    if (const char* v = get(fn, "CONVTRACE_DB")) config.sqlite_path = v;
  }
  if (!config.otlp && config.exporter == ExporterKind::otlp) {
    config.otlp = otlp_settings_from_environment(fn);
  }
  apply_batch(config, fn);
  apply_sampler(config, fn);
  apply_limits(config, fn);
  if (!config.content.enabled) {
    if (auto on = read_bool(fn, "CONVTRACE_CAPTURE_CONTENT")) config.content.enabled = *on;
  }
  apply_pricing(config, fn);
  apply_profile(config, fn);
  apply_metrics(config, fn);
  return Error{};
}

OtlpHttpOptions otlp_settings_from_environment(const GetEnv& fn, std::string_view signal) {
  OtlpHttpOptions s;
  const std::string path = signal == "METRICS" ? "/v1/metrics" : "/v1/traces";
  auto variable = [&](const std::string& setting) { return signal_variable(fn, signal, setting); };

  Signal protocol = variable("PROTOCOL");
  if (protocol.value) {
    std::string p = lower(trim_ows(protocol.value));
    if (p == "http/json") {
      s.protocol = OtlpHttpOptions::Protocol::http_json;
    } else if (p == "grpc") {
#ifdef CONVTRACE_WITH_GRPC
      s.protocol = OtlpHttpOptions::Protocol::grpc;
#else
      warn(protocol.name, protocol.value, "is not available: this build has no gRPC exporter",
           "http/protobuf");
#endif
    } else if (p != "http/protobuf") {
      warn(protocol.name, protocol.value, "is not one of http/protobuf, http/json, grpc",
           "http/protobuf");
    }
  }
  const bool grpc = s.protocol == OtlpHttpOptions::Protocol::grpc;

  // OTLP/HTTP posts to a path per signal; OTLP/gRPC names the service in the
  // request, so its endpoint is host and port only, and used as given.
  s.endpoint = grpc ? "http://localhost:4317" : "http://localhost:4318" + path;
  const std::string default_endpoint = s.endpoint;
  Signal endpoint = variable("ENDPOINT");
  if (endpoint.value) {
    std::string url(trim_ows(endpoint.value));
    const bool has_scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    if (grpc && !has_scheme && !url.empty()) {
      // The specification: without a scheme, OTEL_EXPORTER_OTLP_INSECURE says
      // whether the gRPC connection is plaintext (default: TLS).
      Signal insecure_variable = variable("INSECURE");
      bool insecure = false;
      if (insecure_variable.value) {
        insecure = read_bool(fn, insecure_variable.name.c_str()).value_or(false);
      }
      url = (insecure ? "http://" : "https://") + url;
    } else if (!grpc && !endpoint.specific) {
      // The generic variable is a base URL: the signal's path is appended.
      if (!url.empty() && url.back() == '/') url.pop_back();
      url += path;
    }
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
      s.endpoint = url;
    } else {
      warn(endpoint.name, endpoint.value, "is not an http:// or https:// URL", default_endpoint);
    }
  }

  Signal headers = variable("HEADERS");
  if (headers.value) parse_headers(headers.name.c_str(), headers.value, s.headers);

  Signal timeout = variable("TIMEOUT");
  if (timeout.value) {
    if (auto t = read_uint(fn, timeout.name.c_str(), "10000", /*allow_zero=*/false)) {
      s.timeout = std::chrono::milliseconds(static_cast<int64_t>(*t));
    }
  }

  Signal compression = variable("COMPRESSION");
  if (compression.value) {
    std::string c = lower(trim_ows(compression.value));
    if (c == "gzip") {
      s.gzip = true;
    } else if (c != "none") {
      warn(compression.name, compression.value, "is not gzip or none", "none");
    }
  }

  if (Signal v = variable("CERTIFICATE"); v.value) s.certificate_file = v.value;
  Signal cert = variable("CLIENT_CERTIFICATE");
  Signal key = variable("CLIENT_KEY");
  if ((cert.value != nullptr) != (key.value != nullptr)) {
    const Signal& set = cert.value ? cert : key;
    warn(set.name, set.value,
         "is set without its pair (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and "
         "OTEL_EXPORTER_OTLP_CLIENT_KEY go together)",
         "no client certificate");
  } else if (cert.value) {
    s.client_certificate_file = cert.value;
    s.client_key_file = key.value;
  }
  return s;
}

Expected<std::unique_ptr<SpanExporter>> build_extra_exporter(Config& config) {
  switch (config.exporter.value_or(ExporterKind::sqlite)) {
    case ExporterKind::otlp:
      return make_otlp_http_exporter(config.otlp.value_or(OtlpHttpOptions{}));
    case ExporterKind::sqlite: {
      // The store prices spans that recorded tokens without a cost with the
      // SDK's own catalog, as the SDK would have.
      StoreOptions options;
      if (config.pricing) options.pricing = std::make_shared<const Pricing>(*config.pricing);
      return make_sqlite_exporter(config.sqlite_path.value_or(kDefaultDbPath), options);
    }
    default:
      return Error{Error::invalid_argument, "this exporter is not available in this build"};
  }
}

}  // namespace convtrace
