// TEMPORARY until the OTLP module lands.
#include "convtrace/exporter.h"
namespace convtrace {
Expected<std::unique_ptr<SpanExporter>> make_jsonl_exporter(const std::string&) {
  return Error{Error::invalid_argument, "jsonl not yet"};
}
}  // namespace convtrace
