#include <cinttypes>
#include <cstdio>
#include <string>

#include "convtrace/exporter.h"
#include "exporters/format_value.h"

namespace convtrace {
namespace {

// GenAI keys first: they are what a reader of this output is looking for.
bool is_genai_key(const std::string& key) {
  return key.rfind("gen_ai.", 0) == 0 || key.rfind("workflow.", 0) == 0 || key == "user.id" ||
         key == "error.type";
}

const char* kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::internal:
      return "INTERNAL";
    case SpanKind::server:
      return "SERVER";
    case SpanKind::client:
      return "CLIENT";
    case SpanKind::producer:
      return "PRODUCER";
    case SpanKind::consumer:
      return "CONSUMER";
    default:
      return "UNSPECIFIED";
  }
}

const char* status_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "OK";
    case StatusCode::error:
      return "ERROR";
    default:
      return "UNSET";
  }
}

class ConsoleExporter : public SpanExporter {
 public:
  explicit ConsoleExporter(std::FILE* out) : out_(out ? out : stdout) {}

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    try {
      std::string text;
      for (const SpanData* span : batch) append_span(*span, text);
      std::fwrite(text.data(), 1, text.size(), out_);
      std::fflush(out_);
      return ExportResult::success;
    } catch (...) {
      return ExportResult::failure;
    }
  }

 private:
  static void append_span(const SpanData& s, std::string& out) {
    double ms = static_cast<double>(s.end_unix_nano - s.start_unix_nano) / 1e6;
    char head[160];
    std::snprintf(head, sizeof head, "  kind=%s status=%s duration=%.3fms\n", kind_name(s.kind),
                  status_name(s.status.code), ms);
    out += "span ";
    out += s.name;
    out += '\n';
    out += "  trace=" + s.trace_id.hex() + " span=" + s.span_id.hex();
    if (s.parent_span_id.valid()) out += " parent=" + s.parent_span_id.hex();
    out += '\n';
    out += head;
    if (s.status.code == StatusCode::error && !s.status.description.empty()) {
      out += "  status.description=" + s.status.description + '\n';
    }
    for (int pass = 0; pass < 2; ++pass) {
      for (const Attribute& a : s.attributes) {
        if (is_genai_key(a.key) != (pass == 0)) continue;
        out += "  " + a.key + '=';
        append_value_text(a.value, out);
        out += '\n';
      }
    }
    for (const SpanEvent& e : s.events) {
      out += "  event " + e.name;
      for (const Attribute& a : e.attributes) {
        out += ' ' + a.key + '=';
        append_value_text(a.value, out);
      }
      out += '\n';
    }
  }

  std::FILE* out_;
};

}  // namespace

std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out) {
  return std::make_unique<ConsoleExporter>(out);
}

}  // namespace convtrace
