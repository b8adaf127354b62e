// W3C header parsing: extract() from arbitrary traceparent, tracestate and
// baggage values must never crash, must respect the limits, must give valid
// UTF-8 ids whatever bytes came in, inject() must write ASCII headers, and
// whatever it accepts must survive inject() → extract() unchanged.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "common/utf8.h"
#include "convtrace/propagation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  // Split the input into the three header values at the first two NUL bytes.
  std::string parts[3];
  size_t part = 0;
  for (char c : input) {
    if (c == '\0' && part < 2) {
      ++part;
    } else {
      parts[part].push_back(c);
    }
  }
  std::map<std::string, std::string> in = {
      {"traceparent", parts[0]}, {"tracestate", parts[1]}, {"baggage", parts[2]}};
  convtrace::Context ctx = convtrace::extract(in);

  if (!convtrace::utf8::valid(ctx.conversation_id()) ||
      !convtrace::utf8::valid(ctx.workflow_id())) {
    std::abort();
  }
  std::map<std::string, std::string> out;
  convtrace::inject(out, ctx);
  for (const auto& [name, value] : out) {
    for (char c : value) {
      if (static_cast<unsigned char>(c) >= 0x80) std::abort();
    }
  }
  auto baggage = out.find("baggage");
  if (baggage != out.end() && baggage->second.size() > 8192) std::abort();
  if (convtrace::parse_baggage(baggage == out.end() ? "" : baggage->second).size() > 180)
    std::abort();

  convtrace::Context again = convtrace::extract(out);
  if (again.conversation_id() != ctx.conversation_id()) std::abort();
  if (again.span_context().valid() != ctx.span_context().valid()) std::abort();
  if (ctx.span_context().valid() && again.span_context().trace_id != ctx.span_context().trace_id) {
    std::abort();
  }

  // The low-level parsers on the raw pieces too.
  convtrace::SpanContext sc;
  convtrace::parse_traceparent(parts[0], &sc);
  convtrace::normalize_tracestate(parts[1]);
  convtrace::format_baggage(convtrace::parse_baggage(parts[2]));
  return 0;
}
