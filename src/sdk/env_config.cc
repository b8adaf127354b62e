#include "sdk/env_config.h"

#include <cstdlib>
#include <string>

#include "common/diagnostics.h"
#include "convtrace/store.h"

namespace convtrace {
namespace {

const char* get(const GetEnv& fn, const char* name) {
  const char* v = fn ? fn(name) : std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Error apply_environment(Config& config, const GetEnv& getenv_fn) {
  if (!config.service_name) {
    if (const char* v = get(getenv_fn, "OTEL_SERVICE_NAME")) config.service_name = v;
  }
  if (!config.exporter && !config.custom_exporter) {
    if (const char* v = get(getenv_fn, "OTEL_TRACES_EXPORTER")) {
      std::string name = lower(v);
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
        report_warning("bad_environment", "OTEL_TRACES_EXPORTER='" + std::string(v) +
                                              "' is not one of otlp, console, jsonl, sqlite, none; "
                                              "using console");
      }
    }
  }
  if (!config.jsonl_path) {
    if (const char* v = get(getenv_fn, "CONVTRACE_JSONL_PATH")) config.jsonl_path = v;
  }
  return Error{};
}

Expected<std::unique_ptr<SpanExporter>> build_extra_exporter(Config& config) {
  if (config.exporter == ExporterKind::sqlite) {
    return make_sqlite_exporter(config.sqlite_path.value_or("convtrace.db"));
  }
  return Error{Error::invalid_argument, "this exporter is not available in this build"};
}

}  // namespace convtrace
