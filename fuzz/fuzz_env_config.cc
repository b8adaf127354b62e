// Environment configuration: any value of any variable is parsed or reported
// as a warning — never a crash — and what it sets is within range.
#include <cstdint>
#include <map>
#include <string>

#include "convtrace/sdk.h"
#include "sdk/env_config.h"

namespace {

const char* const kVariables[] = {"OTEL_SDK_DISABLED",
                                  "OTEL_SERVICE_NAME",
                                  "OTEL_RESOURCE_ATTRIBUTES",
                                  "OTEL_TRACES_EXPORTER",
                                  "OTEL_EXPORTER_OTLP_ENDPOINT",
                                  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                  "OTEL_EXPORTER_OTLP_HEADERS",
                                  "OTEL_EXPORTER_OTLP_PROTOCOL",
                                  "OTEL_EXPORTER_OTLP_TIMEOUT",
                                  "OTEL_EXPORTER_OTLP_COMPRESSION",
                                  "OTEL_BSP_SCHEDULE_DELAY",
                                  "OTEL_BSP_EXPORT_TIMEOUT",
                                  "OTEL_BSP_MAX_QUEUE_SIZE",
                                  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                  "OTEL_TRACES_SAMPLER",
                                  "OTEL_TRACES_SAMPLER_ARG",
                                  "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                                  "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                  "CONVTRACE_CAPTURE_CONTENT"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Each NUL-separated piece is the value of the next variable in the list.
  std::map<std::string, std::string> env;
  size_t var = 0;
  std::string value;
  for (size_t i = 0; i <= size && var < sizeof kVariables / sizeof kVariables[0]; ++i) {
    if (i == size || data[i] == 0) {
      if (!value.empty()) env[kVariables[var]] = value;
      value.clear();
      ++var;
    } else {
      value.push_back(static_cast<char>(data[i]));
    }
  }
  convtrace::Config config;
  config.read_environment = false;
  convtrace::apply_environment(config, [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  // What the environment may set must be within the documented ranges.
  if (config.attribute_count_limit && *config.attribute_count_limit == 0) __builtin_trap();
  if (config.batch && config.batch->max_export_batch_size > config.batch->max_queue_size) {
    __builtin_trap();
  }
  return 0;
}
