// The one module that reads environment variables (OTEL_* and CONVTRACE_*).
//
// `apply_environment` fills every setting the application left unset in
// `Config` from the environment, following the OpenTelemetry specification:
// a malformed value is reported as a warning naming the variable and the
// value, and the default is used. Explicit settings in code always win.
#pragma once

#include <functional>

#include "convtrace/expected.h"
#include "convtrace/sdk.h"

namespace convtrace {

// Reads a variable; returns nullptr when unset. Tests substitute their own.
using GetEnv = std::function<const char*(const char*)>;

// Fills unset fields of `config` from the environment. Returns an error only
// for what cannot be defaulted (none today); bad values are warnings.
Error apply_environment(Config& config, const GetEnv& getenv_fn = nullptr);

// Builds the exporters that live in optional modules (OTLP/HTTP, SQLite).
Expected<std::unique_ptr<SpanExporter>> build_extra_exporter(Config& config);

}  // namespace convtrace
