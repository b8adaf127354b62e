// The one module that reads environment variables (OTEL_* and CONVTRACE_*).
//
// `apply_environment` fills every setting the application left unset in
// `Config` from the environment, following the OpenTelemetry specification:
// a malformed value is reported as a warning ("bad_environment") naming the
// variable and the value, and the default is used. Explicit settings in code
// always win. Values of OTLP headers are secrets (API keys): they never appear
// in a warning, only the variable and the header name do.
#pragma once

#include <functional>
#include <string_view>

#include "convtrace/expected.h"
#include "convtrace/sdk.h"

namespace convtrace {

// The sqlite exporter's file when neither Config::sqlite_path nor CONVTRACE_DB names one.
inline constexpr const char* kDefaultDbPath = "convtrace.db";

// Reads a variable; returns nullptr when unset. Tests substitute their own.
using GetEnv = std::function<const char*(const char*)>;

// Fills unset fields of `config` from the environment. Returns an error only
// for what cannot be defaulted (none today); bad values are warnings.
Error apply_environment(Config& config, const GetEnv& getenv_fn = nullptr);

// OTLP/HTTP exporter settings from the OTEL_EXPORTER_OTLP_* variables (each
// OTEL_EXPORTER_OTLP_TRACES_* variable wins over its generic one, whole);
// defaults for the rest. apply_environment uses it to fill Config::otlp when
// the exporter is OTLP and the code left Config::otlp unset.
// `signal` is "TRACES" or "METRICS": it names the specific variables and,
// for HTTP, the path appended to the generic endpoint (/v1/traces, /v1/metrics).
OtlpHttpOptions otlp_settings_from_environment(const GetEnv& getenv_fn = nullptr,
                                               std::string_view signal = "TRACES");

// The metrics exporter `config` asks for: explicit, else custom when one is
// given, else otlp when spans go to OTLP, else none.
MetricsExporterKind resolved_metrics_exporter(const Config& config);

// Builds the exporters that live in optional modules (OTLP/HTTP, SQLite).
Expected<std::unique_ptr<SpanExporter>> build_extra_exporter(Config& config);

}  // namespace convtrace
