#include "exporters/format_value.h"

#include <cstdio>

namespace convtrace {
namespace {

void append_scalar(bool v, std::string& out) { out += v ? "true" : "false"; }
void append_scalar(int64_t v, std::string& out) { out += std::to_string(v); }
void append_scalar(double v, std::string& out) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  out += buf;
}
void append_scalar(const std::string& v, std::string& out) { out += v; }

template <typename T>
void append_array(const std::vector<T>& values, std::string& out) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    append_scalar(static_cast<T>(values[i]), out);
  }
  out += ']';
}

}  // namespace

void append_value_text(const AttributeValue& value, std::string& out) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool> || std::is_same_v<V, int64_t> ||
                      std::is_same_v<V, double> || std::is_same_v<V, std::string>) {
          append_scalar(v, out);
        } else {
          append_array(v, out);
        }
      },
      value);
}

}  // namespace convtrace
