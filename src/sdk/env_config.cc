#include "sdk/env_config.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "common/diagnostics.h"
#include "common/percent.h"
#include "convtrace/attributes.h"

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
      if (eq == std::string_view::npos) {
        problem = "has no '='";
      } else if (key.empty()) {
        problem = "has an empty key";
      } else if (!percent_decode(trim_ows(member.substr(eq + 1)), value)) {
        problem = "has a malformed percent-encoding";
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
  if (config.exporter || config.custom_exporter) return;
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
    warn("OTEL_TRACES_EXPORTER", v, "is not one of otlp, console, jsonl, sqlite, none", "console");
  }
}

void apply_batch(Config& config, const GetEnv& fn) {
  if (config.batch) return;
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

}  // namespace

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
  apply_batch(config, fn);
  apply_sampler(config, fn);
  apply_limits(config, fn);
  if (!config.content.enabled) {
    if (auto on = read_bool(fn, "CONVTRACE_CAPTURE_CONTENT")) config.content.enabled = *on;
  }
  apply_pricing(config, fn);
  return Error{};
}

OtlpEnvSettings otlp_settings_from_environment(const GetEnv& fn) {
  OtlpEnvSettings s;
  const char* endpoint_var = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
  const char* endpoint = get(fn, endpoint_var);
  if (endpoint) {
    s.endpoint = std::string(trim_ows(endpoint));  // signal-specific: used as is
  } else {
    endpoint_var = "OTEL_EXPORTER_OTLP_ENDPOINT";
    endpoint = get(fn, endpoint_var);
    if (endpoint) {
      std::string base(trim_ows(endpoint));
      if (!base.empty() && base.back() == '/') base.pop_back();
      s.endpoint = base + "/v1/traces";
    }
  }
  if (endpoint && s.endpoint.rfind("http://", 0) != 0 && s.endpoint.rfind("https://", 0) != 0) {
    s.endpoint = OtlpEnvSettings().endpoint;
    warn(endpoint_var, endpoint, "is not an http:// or https:// URL", s.endpoint);
  }

  const char* headers_var = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
  const char* headers = get(fn, headers_var);
  if (!headers) {
    headers_var = "OTEL_EXPORTER_OTLP_HEADERS";
    headers = get(fn, headers_var);
  }
  if (headers) parse_key_values(headers_var, headers, /*secret=*/true, s.headers);

  const char* protocol_var = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
  const char* protocol = get(fn, protocol_var);
  if (!protocol) {
    protocol_var = "OTEL_EXPORTER_OTLP_PROTOCOL";
    protocol = get(fn, protocol_var);
  }
  if (protocol) {
    std::string p = lower(trim_ows(protocol));
    if (p == "http/json") {
      s.json = true;
    } else if (p == "grpc") {
      warn(protocol_var, protocol, "is not available: this build has no gRPC exporter",
           "http/protobuf");
    } else if (p != "http/protobuf") {
      warn(protocol_var, protocol, "is not one of http/protobuf, http/json, grpc", "http/protobuf");
    }
  }

  const char* timeout_var = get(fn, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
                                ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
                                : "OTEL_EXPORTER_OTLP_TIMEOUT";
  if (auto t = read_millis(fn, timeout_var, "10000")) s.timeout = *t;

  const char* compression_var = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
  const char* compression = get(fn, compression_var);
  if (!compression) {
    compression_var = "OTEL_EXPORTER_OTLP_COMPRESSION";
    compression = get(fn, compression_var);
  }
  if (compression) {
    std::string c = lower(trim_ows(compression));
    if (c == "gzip") {
      s.gzip = true;
    } else if (c != "none") {
      warn(compression_var, compression, "is not gzip or none", "none");
    }
  }
  return s;
}

Expected<std::unique_ptr<SpanExporter>> build_extra_exporter(Config& config) {
  switch (config.exporter.value_or(ExporterKind::console)) {
    case ExporterKind::otlp:
      return Error{Error::invalid_argument,
                   "the OTLP/HTTP exporter is not available in this build"};
    case ExporterKind::sqlite:
      return Error{Error::invalid_argument, "the SQLite exporter is not available in this build"};
    default:
      return Error{Error::invalid_argument, "this exporter is not available in this build"};
  }
}

}  // namespace convtrace
