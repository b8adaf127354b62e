#include "otlp/otlp_json.h"

#include "otlp/array_builder.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "common/hex.h"
#include "common/utf8.h"

namespace convtrace::otlp {

// ---------------------------------------------------------------------------
// Encoding.

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_uint(uint64_t v, std::string& out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_int(int64_t v, std::string& out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_quoted_uint(uint64_t v, std::string& out) {
  out.push_back('"');
  append_uint(v, out);
  out.push_back('"');
}

void append_double(double v, std::string& out) {
  if (std::isnan(v)) {
    out.append("\"NaN\"");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[32];
    // Shortest form that reads back to the same double.
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
  }
}

void append_hex_id(const uint8_t* data, size_t n, std::string& out) {
  out.push_back('"');
  hex_append(data, n, out);
  out.push_back('"');
}

// Appends `,"key":` (or `"key":` for the first member). `first` tracks the object.
void key(const char* k, bool& first, std::string& out) {
  if (!first) out.push_back(',');
  first = false;
  out.push_back('"');
  out.append(k);
  out.append("\":");
}

void scalar_json(bool v, std::string& out) {
  out.append(v ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
}
void scalar_json(int64_t v, std::string& out) {
  out.append("{\"intValue\":\"");
  append_int(v, out);
  out.append("\"}");
}
void scalar_json(double v, std::string& out) {
  out.append("{\"doubleValue\":");
  append_double(v, out);
  out.push_back('}');
}
void scalar_json(const std::string& v, std::string& out) {
  out.append("{\"stringValue\":");
  append_json_string(v, out);
  out.push_back('}');
}

void any_value_json(const AttributeValue& value, std::string& out) {
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          scalar_json(x, out);
        } else {
          using E = typename T::value_type;
          out.append("{\"arrayValue\":{\"values\":[");
          bool first = true;
          for (const auto& e : x) {
            const E& v = e;  // vector<bool> yields proxies
            if (!first) out.push_back(',');
            first = false;
            scalar_json(v, out);
          }
          out.append("]}}");
        }
      },
      value);
}

void key_values_json(const std::vector<Attribute>& attrs, std::string& out) {
  out.push_back('[');
  for (size_t i = 0; i < attrs.size(); ++i) {
    if (i) out.push_back(',');
    out.append("{\"key\":");
    append_json_string(attrs[i].key, out);
    out.append(",\"value\":");
    any_value_json(attrs[i].value, out);
    out.push_back('}');
  }
  out.push_back(']');
}

void attributes_json(const std::vector<Attribute>& attrs, bool& first, std::string& out) {
  if (attrs.empty()) return;
  key("attributes", first, out);
  key_values_json(attrs, out);
}

void uint_member(const char* k, uint64_t v, bool& first, std::string& out) {
  if (v == 0) return;
  key(k, first, out);
  append_uint(v, out);
}

void string_member(const char* k, const std::string& v, bool& first, std::string& out) {
  if (v.empty()) return;
  key(k, first, out);
  append_json_string(v, out);
}

void event_json(const SpanEvent& e, std::string& out) {
  bool first = true;
  out.push_back('{');
  if (e.time_unix_nano != 0) {
    key("timeUnixNano", first, out);
    append_quoted_uint(e.time_unix_nano, out);
  }
  key("name", first, out);
  append_json_string(e.name, out);
  attributes_json(e.attributes, first, out);
  uint_member("droppedAttributesCount", e.dropped_attributes_count, first, out);
  out.push_back('}');
}

void link_json(const SpanLink& l, std::string& out) {
  bool first = true;
  out.push_back('{');
  key("traceId", first, out);
  append_hex_id(l.trace_id.bytes.data(), 16, out);
  key("spanId", first, out);
  append_hex_id(l.span_id.bytes.data(), 8, out);
  string_member("traceState", l.trace_state, first, out);
  attributes_json(l.attributes, first, out);
  uint_member("droppedAttributesCount", l.dropped_attributes_count, first, out);
  uint_member("flags", l.flags, first, out);
  out.push_back('}');
}

}  // namespace

void append_json_string(std::string_view s, std::string& out) {
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t run = 0;  // start of the pending run of bytes copied as they are
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t bad = 0;
      size_t len = utf8::sequence_length(p + i, n - i, &bad);
      if (len != 0) {
        i += len;
        continue;
      }
      out.append(s.data() + run, i - run);
      out.append("\xEF\xBF\xBD");
      i += bad;
      run = i;
      continue;
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHexDigits[c >> 4]);
        out.push_back(kHexDigits[c & 0xF]);
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, n - run);
  out.push_back('"');
}

void append_span_json(const SpanData& s, std::string& out) {
  bool first = true;
  out.push_back('{');
  key("traceId", first, out);
  append_hex_id(s.trace_id.bytes.data(), 16, out);
  key("spanId", first, out);
  append_hex_id(s.span_id.bytes.data(), 8, out);
  string_member("traceState", s.trace_state, first, out);
  if (s.parent_span_id.valid()) {
    key("parentSpanId", first, out);
    append_hex_id(s.parent_span_id.bytes.data(), 8, out);
  }
  // Same bit layout as the protobuf encoding (see otlp_proto.h).
  key("flags", first, out);
  append_uint((s.flags & 0xFFu) | 0x100u | (s.parent_is_remote ? 0x200u : 0u), out);
  key("name", first, out);
  append_json_string(s.name, out);
  key("kind", first, out);
  append_int(static_cast<int>(s.kind), out);
  if (s.start_unix_nano != 0) {
    key("startTimeUnixNano", first, out);
    append_quoted_uint(s.start_unix_nano, out);
  }
  if (s.end_unix_nano != 0) {
    key("endTimeUnixNano", first, out);
    append_quoted_uint(s.end_unix_nano, out);
  }
  attributes_json(s.attributes, first, out);
  uint_member("droppedAttributesCount", s.dropped_attributes_count, first, out);
  if (!s.events.empty()) {
    key("events", first, out);
    out.push_back('[');
    for (size_t i = 0; i < s.events.size(); ++i) {
      if (i) out.push_back(',');
      event_json(s.events[i], out);
    }
    out.push_back(']');
  }
  uint_member("droppedEventsCount", s.dropped_events_count, first, out);
  if (!s.links.empty()) {
    key("links", first, out);
    out.push_back('[');
    for (size_t i = 0; i < s.links.size(); ++i) {
      if (i) out.push_back(',');
      link_json(s.links[i], out);
    }
    out.push_back(']');
  }
  uint_member("droppedLinksCount", s.dropped_links_count, first, out);
  if (s.status.code != StatusCode::unset || !s.status.description.empty()) {
    key("status", first, out);
    bool sfirst = true;
    out.push_back('{');
    string_member("message", s.status.description, sfirst, out);
    uint_member("code", static_cast<uint64_t>(s.status.code), sfirst, out);
    out.push_back('}');
  }
  out.push_back('}');
}

void append_key_values_json(const std::vector<Attribute>& attrs, std::string& out) {
  key_values_json(attrs, out);
}

void append_json_double(double v, std::string& out) { append_double(v, out); }

void append_resource_json(const Resource& resource, std::string& out) {
  bool first = true;
  out.push_back('{');
  attributes_json(resource.attributes, first, out);
  out.push_back('}');
}

void append_scope_json(const InstrumentationScope& scope, std::string& out) {
  bool first = true;
  out.push_back('{');
  string_member("name", scope.name, first, out);
  string_member("version", scope.version, first, out);
  out.push_back('}');
}

void TraceRequestJsonEncoder::encode(const SpanBatch& batch, std::string& out) {
  groups_.build(batch);
  out.clear();
  out.append("{\"resourceSpans\":[");
  const auto& scopes = groups_.scopes();
  const auto& order = groups_.order();
  bool first_resource = true;
  for (const auto& r : groups_.resources()) {
    if (!first_resource) out.push_back(',');
    first_resource = false;
    out.push_back('{');
    if (r.resource) {
      out.append("\"resource\":");
      append_resource_json(*r.resource, out);
      out.push_back(',');
    }
    out.append("\"scopeSpans\":[");
    for (uint32_t s = r.scope_begin; s < r.scope_end; ++s) {
      if (s != r.scope_begin) out.push_back(',');
      out.push_back('{');
      if (scopes[s].scope) {
        out.append("\"scope\":");
        append_scope_json(*scopes[s].scope, out);
        out.push_back(',');
      }
      out.append("\"spans\":[");
      for (uint32_t k = scopes[s].begin; k < scopes[s].end; ++k) {
        if (k != scopes[s].begin) out.push_back(',');
        append_span_json(batch[order[k]], out);
      }
      out.append("]}");
    }
    out.append("]}");
  }
  out.append("]}");
}

std::string encode_trace_request_json(const SpanBatch& batch) {
  TraceRequestJsonEncoder encoder;
  std::string out;
  encoder.encode(batch, out);
  return out;
}

std::string encode_trace_response_json(const PartialSuccess& partial) {
  if (partial.rejected_spans == 0 && partial.error_message.empty()) return "{}";
  std::string out = "{\"partialSuccess\":{";
  bool first = true;
  if (partial.rejected_spans != 0) {
    key("rejectedSpans", first, out);
    out.push_back('"');
    append_int(partial.rejected_spans, out);
    out.push_back('"');
  }
  string_member("errorMessage", partial.error_message, first, out);
  out.append("}}");
  return out;
}

// ---------------------------------------------------------------------------
// Decoding.

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Where in the document the decoder is, for error messages.
class Path {
 public:
  struct Segment {
    const char* name;
    int64_t index;  // -1 for an object member
  };
  void push(const char* name, int64_t index = -1) { segments_.push_back({name, index}); }
  void pop() { segments_.pop_back(); }
  std::string str() const {
    std::string s;
    for (const Segment& seg : segments_) {
      if (seg.index >= 0) {
        s.append("[").append(std::to_string(seg.index)).append("]");
      } else {
        if (!s.empty()) s.push_back('.');
        s.append(seg.name);
      }
    }
    return s.empty() ? "request" : s;
  }

 private:
  std::vector<Segment> segments_;
};

// Pushes a path segment for the lifetime of the guard.
class Enter {
 public:
  Enter(Path& path, const char* name, int64_t index = -1) : path_(path) { path_.push(name, index); }
  ~Enter() { path_.pop(); }
  Enter(const Enter&) = delete;
  Enter& operator=(const Enter&) = delete;

 private:
  Path& path_;
};

bool parse_decimal_int(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

bool parse_decimal_uint(std::string_view s, uint64_t* out) {
  if (s.empty() || s[0] == '-') return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

class JsonDecoder {
 public:
  JsonDecoder(const DecodeLimits& limits, DecodeStats* stats)
      : budget_(limits.max_decoded_bytes), stats_(stats) {}

  const std::string& error() const { return error_; }

  bool request(element root, std::vector<SpanData>* out) {
    out_ = out;
    object obj;
    if (root.get_object().get(obj)) return fail("expected an object");
    for (auto member : obj) {
      if (member.key == "resourceSpans") {
        Enter e(path_, "resourceSpans");
        if (!each(member.value, [this](element rs) { return resource_spans(rs); })) return false;
      }
    }
    return true;
  }

  bool response(element root, PartialSuccess* out) {
    object obj;
    if (root.get_object().get(obj)) return fail("expected an object");
    for (auto member : obj) {
      if (member.key != "partialSuccess" || member.value.is_null()) continue;
      Enter e(path_, "partialSuccess");
      object ps;
      if (member.value.get_object().get(ps)) return fail("expected an object");
      for (auto m : ps) {
        Enter f(path_, m.key == "errorMessage" ? "errorMessage" : "rejectedSpans");
        if (m.key == "rejectedSpans" || m.key == "rejectedDataPoints") {
          if (!int64_value(m.value, &out->rejected_spans)) return false;
        } else if (m.key == "errorMessage") {
          if (!string_value(m.value, &out->error_message)) return false;
        }
      }
    }
    return true;
  }

 private:
  bool fail(const std::string& problem) {
    if (error_.empty()) error_ = path_.str() + ": " + problem;
    return false;
  }

  bool charge(size_t n) {
    if (n > budget_) return fail("decoded size exceeds the limit");
    budget_ -= n;
    return true;
  }

  // Calls fn(element) for each element of the array `v` (null = empty).
  template <typename Fn>
  bool each(element v, Fn fn) {
    if (v.is_null()) return true;
    array arr;
    if (v.get_array().get(arr)) return fail("expected an array");
    int64_t i = 0;
    for (element item : arr) {
      Enter e(path_, "", i++);
      if (!fn(item)) return false;
    }
    return true;
  }

  template <typename Fn>
  bool members(element v, Fn fn) {
    if (v.is_null()) return true;
    object obj;
    if (v.get_object().get(obj)) return fail("expected an object");
    for (auto member : obj) {
      if (member.value.is_null()) continue;  // null means "default value" in the JSON mapping
      if (!fn(member.key, member.value)) return false;
    }
    return true;
  }

  bool string_value(element v, std::string* out) {
    std::string_view s;
    if (v.is_null()) return true;
    if (v.get_string().get(s)) return fail("expected a string");
    if (!charge(s.size())) return false;
    out->assign(s.data(), s.size());
    return true;
  }

  bool int64_value(element v, int64_t* out) {
    switch (v.type()) {
      case element_type::INT64:
        *out = v.get_int64().value_unsafe();
        return true;
      case element_type::UINT64:
        return fail("integer out of range");
      case element_type::DOUBLE: {
        double d = v.get_double().value_unsafe();
        if (d != std::trunc(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) {
          return fail("expected an integer");
        }
        *out = static_cast<int64_t>(d);
        return true;
      }
      case element_type::STRING: {
        std::string_view s = v.get_string().value_unsafe();
        return parse_decimal_int(s, out) || fail("expected a decimal integer string");
      }
      case element_type::NULL_VALUE:
        return true;
      default:
        return fail("expected an integer");
    }
  }

  bool uint64_value(element v, uint64_t* out) {
    switch (v.type()) {
      case element_type::INT64: {
        int64_t i = v.get_int64().value_unsafe();
        if (i < 0) return fail("expected a non-negative integer");
        *out = static_cast<uint64_t>(i);
        return true;
      }
      case element_type::UINT64:
        *out = v.get_uint64().value_unsafe();
        return true;
      case element_type::DOUBLE: {
        double d = v.get_double().value_unsafe();
        if (d != std::trunc(d) || d < 0 || d >= 1.8446744073709552e19) {
          return fail("expected a non-negative integer");
        }
        *out = static_cast<uint64_t>(d);
        return true;
      }
      case element_type::STRING: {
        std::string_view s = v.get_string().value_unsafe();
        return parse_decimal_uint(s, out) || fail("expected a decimal integer string");
      }
      case element_type::NULL_VALUE:
        return true;
      default:
        return fail("expected an integer");
    }
  }

  bool uint32_value(element v, uint32_t* out) {
    uint64_t u = *out;
    if (!uint64_value(v, &u)) return false;
    if (u > std::numeric_limits<uint32_t>::max()) return fail("integer out of range");
    *out = static_cast<uint32_t>(u);
    return true;
  }

  bool double_value(element v, double* out) {
    switch (v.type()) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        *out = v.get_double().value_unsafe();
        return true;
      case element_type::STRING: {
        std::string_view s = v.get_string().value_unsafe();
        if (s == "NaN") {
          *out = std::numeric_limits<double>::quiet_NaN();
        } else if (s == "Infinity") {
          *out = std::numeric_limits<double>::infinity();
        } else if (s == "-Infinity") {
          *out = -std::numeric_limits<double>::infinity();
        } else {
          auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
          if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
            return fail("expected a number");
          }
        }
        return true;
      }
      default:
        return fail("expected a number");
    }
  }

  // An enum as an integer or its proto name; unknown values read as 0.
  bool enum_value(element v, const char* const* names, size_t count, int* out) {
    if (v.type() == element_type::STRING) {
      std::string_view s = v.get_string().value_unsafe();
      for (size_t i = 0; i < count; ++i) {
        if (s == names[i]) {
          *out = static_cast<int>(i);
          return true;
        }
      }
      return fail("unknown enum name");
    }
    int64_t i = 0;
    if (!int64_value(v, &i)) return false;
    *out = (i >= 0 && static_cast<uint64_t>(i) < count) ? static_cast<int>(i) : 0;
    return true;
  }

  template <size_t N>
  bool id_value(element v, std::array<uint8_t, N>* out) {
    std::string_view s;
    if (v.get_string().get(s)) return fail("expected a hex string");
    if (s.empty()) {
      out->fill(0);
      return true;
    }
    if (s.size() != 2 * N || !hex_decode(s, out->data())) {
      return fail("expected " + std::to_string(2 * N) + " hex digits");
    }
    return true;
  }

  // Decodes one AnyValue object; *supported is false when the data model cannot hold it.
  bool any_value(element v, bool allow_array, AttributeValue* out, bool* supported) {
    *supported = false;
    return members(v, [&](std::string_view k, element value) {
      if (k == "stringValue") {
        Enter e(path_, "stringValue");
        std::string s;
        if (!string_value(value, &s)) return false;
        *out = std::move(s);
        *supported = true;
      } else if (k == "boolValue") {
        Enter e(path_, "boolValue");
        bool b;
        if (value.get_bool().get(b)) return fail("expected true or false");
        *out = b;
        *supported = true;
      } else if (k == "intValue") {
        Enter e(path_, "intValue");
        int64_t i = 0;
        if (!int64_value(value, &i)) return false;
        *out = i;
        *supported = true;
      } else if (k == "doubleValue") {
        Enter e(path_, "doubleValue");
        double d = 0;
        if (!double_value(value, &d)) return false;
        *out = d;
        *supported = true;
      } else if (k == "arrayValue") {
        Enter e(path_, "arrayValue");
        *supported = false;
        if (allow_array && !array_value(value, out, supported)) return false;
      } else if (k == "kvlistValue" || k == "bytesValue") {
        *supported = false;
      }
      return true;
    });
  }

  bool array_value(element v, AttributeValue* out, bool* supported) {
    ArrayBuilder array(out);
    bool ok = members(v, [&](std::string_view k, element values) {
      if (k != "values") return true;
      Enter e(path_, "values");
      return each(values, [&](element item) {
        AttributeValue element_value;
        bool element_ok;
        if (!any_value(item, /*allow_array=*/false, &element_value, &element_ok)) return false;
        if (!charge(sizeof(std::string))) return false;
        array.add(std::move(element_value), element_ok);
        return true;
      });
    });
    if (!ok) return false;
    *supported = array.homogeneous();
    return true;
  }

  bool attributes(element v, std::vector<Attribute>* attrs, uint32_t* dropped) {
    return each(v, [&](element kv) {
      if (!charge(sizeof(Attribute))) return false;
      Attribute a;
      bool has_value = false;
      bool supported = false;
      bool ok = members(kv, [&](std::string_view k, element value) {
        if (k == "key") {
          Enter e(path_, "key");
          return string_value(value, &a.key);
        }
        if (k == "value") {
          Enter e(path_, "value");
          has_value = true;
          return any_value(value, /*allow_array=*/true, &a.value, &supported);
        }
        return true;
      });
      if (!ok) return false;
      if (has_value && supported) {
        attrs->push_back(std::move(a));
      } else {
        if (stats_) ++stats_->dropped_values;
        if (dropped) ++*dropped;
      }
      return true;
    });
  }

  bool event(element v, SpanEvent* ev) {
    if (!charge(sizeof(SpanEvent))) return false;
    return members(v, [&](std::string_view k, element value) {
      if (k == "timeUnixNano") {
        Enter e(path_, "timeUnixNano");
        return uint64_value(value, &ev->time_unix_nano);
      }
      if (k == "name") {
        Enter e(path_, "name");
        return string_value(value, &ev->name);
      }
      if (k == "attributes") {
        Enter e(path_, "attributes");
        return attributes(value, &ev->attributes, &ev->dropped_attributes_count);
      }
      if (k == "droppedAttributesCount") {
        Enter e(path_, "droppedAttributesCount");
        uint32_t n = 0;
        if (!uint32_value(value, &n)) return false;
        ev->dropped_attributes_count += n;
      }
      return true;
    });
  }

  bool link(element v, SpanLink* l) {
    if (!charge(sizeof(SpanLink))) return false;
    return members(v, [&](std::string_view k, element value) {
      if (k == "traceId") {
        Enter e(path_, "traceId");
        return id_value(value, &l->trace_id.bytes);
      }
      if (k == "spanId") {
        Enter e(path_, "spanId");
        return id_value(value, &l->span_id.bytes);
      }
      if (k == "traceState") {
        Enter e(path_, "traceState");
        return string_value(value, &l->trace_state);
      }
      if (k == "attributes") {
        Enter e(path_, "attributes");
        return attributes(value, &l->attributes, &l->dropped_attributes_count);
      }
      if (k == "droppedAttributesCount") {
        Enter e(path_, "droppedAttributesCount");
        uint32_t n = 0;
        if (!uint32_value(value, &n)) return false;
        l->dropped_attributes_count += n;
        return true;
      }
      if (k == "flags") {
        Enter e(path_, "flags");
        return uint32_value(value, &l->flags);
      }
      return true;
    });
  }

  bool span(element v, SpanData* s) {
    static const char* const kKinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                         "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                         "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    static const char* const kCodes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                         "STATUS_CODE_ERROR"};
    return members(v, [&](std::string_view k, element value) {
      if (k == "traceId") {
        Enter e(path_, "traceId");
        return id_value(value, &s->trace_id.bytes);
      }
      if (k == "spanId") {
        Enter e(path_, "spanId");
        return id_value(value, &s->span_id.bytes);
      }
      if (k == "parentSpanId") {
        Enter e(path_, "parentSpanId");
        return id_value(value, &s->parent_span_id.bytes);
      }
      if (k == "traceState") {
        Enter e(path_, "traceState");
        return string_value(value, &s->trace_state);
      }
      if (k == "flags") {
        Enter e(path_, "flags");
        uint32_t flags = 0;
        if (!uint32_value(value, &flags)) return false;
        s->flags = flags & 0xFFu;
        s->parent_is_remote = (flags & 0x200u) != 0;
        return true;
      }
      if (k == "name") {
        Enter e(path_, "name");
        return string_value(value, &s->name);
      }
      if (k == "kind") {
        Enter e(path_, "kind");
        int kind = 0;
        if (!enum_value(value, kKinds, 6, &kind)) return false;
        s->kind = static_cast<SpanKind>(kind);
        return true;
      }
      if (k == "startTimeUnixNano") {
        Enter e(path_, "startTimeUnixNano");
        return uint64_value(value, &s->start_unix_nano);
      }
      if (k == "endTimeUnixNano") {
        Enter e(path_, "endTimeUnixNano");
        return uint64_value(value, &s->end_unix_nano);
      }
      if (k == "attributes") {
        Enter e(path_, "attributes");
        return attributes(value, &s->attributes, &s->dropped_attributes_count);
      }
      if (k == "droppedAttributesCount") {
        Enter e(path_, "droppedAttributesCount");
        uint32_t n = 0;
        if (!uint32_value(value, &n)) return false;
        s->dropped_attributes_count += n;
        return true;
      }
      if (k == "events") {
        Enter e(path_, "events");
        return each(value, [&](element ev) {
          s->events.emplace_back();
          return event(ev, &s->events.back());
        });
      }
      if (k == "droppedEventsCount") {
        Enter e(path_, "droppedEventsCount");
        return uint32_value(value, &s->dropped_events_count);
      }
      if (k == "links") {
        Enter e(path_, "links");
        return each(value, [&](element l) {
          s->links.emplace_back();
          return link(l, &s->links.back());
        });
      }
      if (k == "droppedLinksCount") {
        Enter e(path_, "droppedLinksCount");
        return uint32_value(value, &s->dropped_links_count);
      }
      if (k == "status") {
        Enter e(path_, "status");
        return members(value, [&](std::string_view sk, element sv) {
          if (sk == "message") {
            Enter f(path_, "message");
            return string_value(sv, &s->status.description);
          }
          if (sk == "code") {
            Enter f(path_, "code");
            int code = 0;
            if (!enum_value(sv, kCodes, 3, &code)) return false;
            s->status.code = static_cast<StatusCode>(code);
          }
          return true;
        });
      }
      return true;
    });
  }

  bool scope_spans(element v) {
    size_t first = out_->size();
    auto scope = std::make_shared<InstrumentationScope>();
    bool ok = members(v, [&](std::string_view k, element value) {
      if (k == "scope") {
        Enter e(path_, "scope");
        return members(value, [&](std::string_view sk, element sv) {
          if (sk == "name") {
            Enter f(path_, "name");
            return string_value(sv, &scope->name);
          }
          if (sk == "version") {
            Enter f(path_, "version");
            return string_value(sv, &scope->version);
          }
          return true;
        });
      }
      if (k == "spans") {
        Enter e(path_, "spans");
        return each(value, [&](element sp) {
          if (!charge(sizeof(SpanData))) return false;
          out_->emplace_back();
          // An absent kind means 0, while SpanData defaults to internal.
          out_->back().kind = SpanKind::unspecified;
          return span(sp, &out_->back());
        });
      }
      return true;
    });
    if (!ok) return false;
    std::shared_ptr<const InstrumentationScope> shared = std::move(scope);
    for (size_t i = first; i < out_->size(); ++i) (*out_)[i].scope = shared;
    return true;
  }

  bool resource_spans(element v) {
    size_t first = out_->size();
    auto resource = std::make_shared<Resource>();
    bool ok = members(v, [&](std::string_view k, element value) {
      if (k == "resource") {
        Enter e(path_, "resource");
        return members(value, [&](std::string_view rk, element rv) {
          if (rk != "attributes") return true;
          Enter f(path_, "attributes");
          return attributes(rv, &resource->attributes, nullptr);
        });
      }
      if (k == "scopeSpans") {
        Enter e(path_, "scopeSpans");
        return each(value, [&](element ss) { return scope_spans(ss); });
      }
      return true;
    });
    if (!ok) return false;
    std::shared_ptr<const Resource> shared = std::move(resource);
    for (size_t i = first; i < out_->size(); ++i) (*out_)[i].resource = shared;
    return true;
  }

  Path path_;
  size_t budget_;
  DecodeStats* stats_;
  std::vector<SpanData>* out_ = nullptr;
  std::string error_;
};

// Rewrites each JSON escape of a lone UTF-16 surrogate ("\ud800" without a
// low surrogate escape after it, or a "\udc00" on its own) as "\ufffd", in
// place (same length). Such an escape names no character; JavaScript's
// JSON.stringify writes one for a string cut inside a surrogate pair. Returns
// the number rewritten.
size_t replace_lone_surrogate_escapes(std::string& json) {
  auto code_unit = [&](size_t at, uint32_t* out) {  // "\uXXXX" at json[at]
    if (at + 6 > json.size() || json[at] != '\\' || json[at + 1] != 'u') return false;
    uint32_t v = 0;
    for (size_t k = at + 2; k < at + 6; ++k) {
      char c = json[k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    *out = v;
    return true;
  };
  size_t replaced = 0;
  size_t i = 0;
  while ((i = json.find('\\', i)) != std::string::npos) {
    uint32_t unit = 0;
    if (!code_unit(i, &unit)) {
      i += 2;  // another escape ("\\", "\n", …) or a malformed one, left to the parser
      continue;
    }
    uint32_t low = 0;
    if (unit >= 0xD800 && unit <= 0xDBFF && code_unit(i + 6, &low) && low >= 0xDC00 &&
        low <= 0xDFFF) {
      i += 12;  // a well-formed pair
      continue;
    }
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      json.replace(i + 2, 4, "fffd");
      ++replaced;
    }
    i += 6;
  }
  return replaced;
}

// Parses `body` into a DOM bounded by `limits`; *error receives the problem.
// JSON text must be UTF-8: a body with ill-formed sequences, or with escapes
// of lone surrogates, is parsed again with those repaired (common/utf8.h) —
// the copy is kept in `repaired` for the DOM's lifetime — and *replaced
// counts the repairs.
bool parse_json(simdjson::dom::parser& parser, std::string_view body, const DecodeLimits& limits,
                element* root, std::string* error, std::string* repaired = nullptr,
                size_t* replaced = nullptr) {
  if (body.size() > limits.max_input_bytes) {
    *error = "request of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
             std::to_string(limits.max_input_bytes);
    return false;
  }
  std::string_view text = body;
  for (int attempt = 0;; ++attempt) {
    // A repair lengthens the text: each replaced byte may become three.
    if (auto err = parser.allocate(text.size() + 1, limits.max_json_depth)) {
      *error = simdjson::error_message(err);
      return false;
    }
    // simdjson reads a little past the end of its input: copy into a padded buffer.
    simdjson::padded_string padded(text.data(), text.size());
    auto err = parser.parse(padded).get(*root);
    if (!err) return true;
    *error = simdjson::error_message(err);
    if (!repaired || attempt >= 2) return false;
    size_t n = 0;
    if (err == simdjson::UTF8_ERROR) {
      std::string fixed;
      n = utf8::append_repaired(text, fixed);
      *repaired = std::move(fixed);
    } else if (err == simdjson::STRING_ERROR) {
      if (text.data() != repaired->data()) repaired->assign(text.data(), text.size());
      n = replace_lone_surrogate_escapes(*repaired);
    }
    if (n == 0) return false;
    if (replaced) *replaced += n;
    text = *repaired;
  }
}

}  // namespace

Expected<std::vector<SpanData>> decode_trace_request_json(std::string_view body,
                                                          const DecodeLimits& limits,
                                                          DecodeStats* stats) {
  try {
    simdjson::dom::parser parser;
    element root;
    std::string error;
    std::string repaired;
    size_t replaced = 0;
    if (!parse_json(parser, body, limits, &root, &error, &repaired, &replaced)) {
      return Error{Error::parse_error, "otlp json: " + error};
    }
    JsonDecoder d(limits, stats);
    std::vector<SpanData> spans;
    if (!d.request(root, &spans)) return Error{Error::parse_error, "otlp json: " + d.error()};
    if (replaced > 0) {
      if (stats) stats->repaired_strings += replaced;
      utf8::warn("OTLP/JSON request", replaced);
    }
    return spans;
  } catch (const std::bad_alloc&) {
    return Error{Error::parse_error, "otlp json: out of memory while decoding"};
  }
}

Expected<PartialSuccess> decode_trace_response_json(std::string_view body) {
  PartialSuccess out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  try {
    simdjson::dom::parser parser;
    element root;
    std::string error;
    DecodeLimits limits;
    if (!parse_json(parser, body, limits, &root, &error)) {
      return Error{Error::parse_error, "otlp json response: " + error};
    }
    JsonDecoder d(limits, nullptr);
    if (!d.response(root, &out))
      return Error{Error::parse_error, "otlp json response: " + d.error()};
    return out;
  } catch (const std::bad_alloc&) {
    return Error{Error::parse_error, "otlp json response: out of memory while decoding"};
  }
}

std::string decode_status_message_json(std::string_view body) {
  try {
    simdjson::dom::parser parser;
    element root;
    std::string error;
    DecodeLimits limits;
    limits.max_json_depth = 16;
    if (!parse_json(parser, body, limits, &root, &error)) return {};
    object obj;
    if (root.get_object().get(obj)) return {};
    std::string_view message;
    if (obj["message"].get_string().get(message)) return {};
    return std::string(message);
  } catch (const std::bad_alloc&) {
    return {};
  }
}

}  // namespace convtrace::otlp
