#include "store/packed.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/varint.h"
#include "convtrace/attributes.h"
#include "store/schema.h"

namespace convtrace::store {
namespace {

// Format 1 spells every key; format 2, written since, gives a key of the
// dictionary below as its code. Both are read.
constexpr uint8_t kFormatKeysSpelled = 0x01;
constexpr uint8_t kFormat = 0x02;

// The keys format 2 writes as a code: index + 1, a varint (one byte for the
// first 127); 0 means the key is spelled out after it. Two thirds of a GenAI
// span's packed attributes were key text, and a row's size is what an insert
// pays for in SQLite's pages and the WAL. The order is part of what files
// hold: append new keys at the end, never reorder, remove or rename an entry
// (packed_test.cc pins the table). Deprecated and dialect keys are here too,
// since spans from other SDKs are stored as they came.
constexpr std::string_view kKeyDictionary[] = {
    attr::kOperationName,
    attr::kProviderName,
    attr::kRequestModel,
    attr::kResponseModel,
    attr::kResponseId,
    attr::kResponseFinishReasons,
    attr::kInputTokens,
    attr::kOutputTokens,
    attr::kCacheReadInputTokens,
    attr::kCacheCreationInputTokens,
    attr::kReasoningOutputTokens,
    attr::kConversationId,
    attr::kInputMessages,
    attr::kOutputMessages,
    attr::kToolName,
    attr::kTimeToFirstChunk,
    attr::kErrorType,
    attr::kSystemInstructions,
    attr::kWorkflowName,
    attr::kAgentId,
    attr::kAgentName,
    attr::kAgentVersion,
    attr::kAgentDescription,
    attr::kToolCallId,
    attr::kToolType,
    attr::kToolCallArguments,
    attr::kToolCallResult,
    attr::kDataSourceId,
    attr::kRequestTemperature,
    attr::kRequestMaxTokens,
    attr::kRequestTopP,
    attr::kRequestTopK,
    attr::kRequestSeed,
    attr::kRequestStream,
    attr::kRequestStopSequences,
    attr::kRequestFrequencyPenalty,
    attr::kRequestPresencePenalty,
    attr::kRequestChoiceCount,
    attr::kServerAddress,
    attr::kServerPort,
    attr::kConversationTurn,
    attr::kCostUsd,
    attr::kUserId,
    attr::kWorkflowId,
    attr::kWorkflowType,
    attr::kWorkflowTotalCostUsd,
    attr::kWorkflowLlmCalls,
    attr::kWorkflowToolCalls,
    attr::kSpanKind,
    attr::kCostGeneric,
    attr::kConversationTotalCostUsd,
    attr::kInputCostUsd,
    attr::kOutputCostUsd,
    attr::kCostPicoUsd,
    attr::kPricedAs,
    attr::kUnpricedModel,
    attr::kWorkflowInputTokens,
    attr::kWorkflowOutputTokens,
    attr::kWorkflowTotalCostPico,
    attr::kStreamNoUsage,
    attr::kContentTruncated,
    attr::kServiceName,
    attr::kSdkName,
    attr::kSdkLanguage,
    attr::kSdkVersion,
    attr::kExceptionType,
    attr::kExceptionMessage,
    attr::kSystemDeprecated,
    attr::kPromptTokensDeprecated,
    attr::kCompletionTokensDeprecated,
    attr::kTraceloopCacheReadTokens,
    attr::kTraceloopCacheCreationTokens,
    attr::kTraceloopReasoningTokens,
    attr::kLlmUsagePromptTokens,
    attr::kLlmUsageCompletionTokens,
    attr::kLlmUsageTotalTokens,
    attr::kTotalTokens,
    attr::kLlmRequestType,
    attr::kTraceloopSpanKind,
    attr::kTraceloopSessionId,
    attr::kTraceloopConversationId,
    attr::kTraceloopUserId,
    attr::kOpenInferenceSpanKind,
    attr::kOiPromptTokens,
    attr::kOiCompletionTokens,
    attr::kOiTotalTokens,
    attr::kOiCacheReadTokens,
    attr::kOiCacheWriteTokens,
    attr::kOiReasoningTokens,
    attr::kOiModelName,
    attr::kOiEmbeddingModelName,
    attr::kOiProvider,
    attr::kOiSystem,
    attr::kOiCostTotal,
    attr::kSessionId,
    attr::kOiInputValue,
    attr::kOiOutputValue,
    attr::kLangfuseSessionId,
    attr::kLangfuseUserId,
    attr::kLangfuseUsageDetails,
    attr::kLangfuseCostDetails,
    attr::kLangfuseModel,
    attr::kLangfuseObservationType,
    attr::kAiPromptTokens,
    attr::kAiCompletionTokens,
    attr::kAiInputTokens,
    attr::kAiOutputTokens,
    attr::kAiReasoningTokens,
    attr::kAiCachedInputTokens,
    attr::kAiModelId,
    attr::kAiModelProvider,
    attr::kAiResponseModel,
    attr::kAiOperationId,
    attr::kAiSessionId,
    attr::kAiUserId,
};
constexpr size_t kDictionarySize = sizeof(kKeyDictionary) / sizeof(kKeyDictionary[0]);

// The dictionary's codes by key length, so that a key is compared only with
// the few entries of its own length, by its last eight bytes first (keys of
// one length often share a prefix, rarely an ending). Plain arrays: nothing
// to destroy at exit, when a store's writer may still be packing.
class KeyCodes {
 public:
  KeyCodes() {
    size_t count[kMaxLength + 1] = {};
    for (std::string_view k : kKeyDictionary) {
      if (k.size() < kMaxLength) ++count[k.size()];
    }
    for (size_t n = 0; n < kMaxLength; ++n) start_[n + 1] = start_[n] + count[n];
    size_t next[kMaxLength] = {};
    for (size_t i = 0; i < kDictionarySize; ++i) {
      std::string_view k = kKeyDictionary[i];
      if (k.size() >= kMaxLength) continue;
      entries_[start_[k.size()] + next[k.size()]++] = Entry{tail(k), static_cast<uint32_t>(i + 1)};
    }
  }
  // The key's code, or 0 when it is not in the dictionary.
  uint32_t find(std::string_view key) const {
    const size_t n = key.size();
    if (n >= kMaxLength) return 0;
    const uint64_t t = tail(key);
    const size_t head = n > 8 ? n - 8 : 0;
    for (size_t i = start_[n]; i < start_[n + 1]; ++i) {
      const Entry& e = entries_[i];
      if (e.tail == t && std::memcmp(kKeyDictionary[e.code - 1].data(), key.data(), head) == 0) {
        return e.code;
      }
    }
    return 0;
  }

 private:
  static constexpr size_t kMaxLength = 64;
  struct Entry {
    uint64_t tail = 0;
    uint32_t code = 0;
  };
  static uint64_t tail(std::string_view k) {
    uint64_t t = 0;
    size_t n = k.size() < 8 ? k.size() : 8;
    if (n) std::memcpy(&t, k.data() + k.size() - n, n);
    return t;
  }
  Entry entries_[kDictionarySize];
  size_t start_[kMaxLength + 1] = {};
};

const KeyCodes& key_codes() {
  static const KeyCodes codes;
  return codes;
}

// ---- writing ----

void put_str(std::string& out, std::string_view s) {
  append_varint(out, s.size());
  out.append(s.data(), s.size());
}

// The attribute list is written in two passes: an upper bound of its size
// (varints at their longest), then the bytes through a pointer into a string
// grown once. Appending piece by piece cost a capacity check and a call per
// piece: the list took two thirds more instructions (bench/RESULTS.md, B7).
constexpr size_t kMaxVarint = 10;

size_t value_bound(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> size_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return kMaxVarint + v.size();
        } else if constexpr (std::is_same_v<T, bool>) {
          return 1;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return kMaxVarint;
        } else if constexpr (std::is_same_v<T, double>) {
          return 8;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          size_t n = kMaxVarint;
          for (const std::string& e : v) n += kMaxVarint + e.size();
          return n;
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          return kMaxVarint + v.size();
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          return kMaxVarint + kMaxVarint * v.size();
        } else {
          static_assert(std::is_same_v<T, std::vector<double>>);
          return kMaxVarint + 8 * v.size();
        }
      },
      value);
}

char* put_varint_at(char* p, uint64_t v) {
  return reinterpret_cast<char*>(put_varint(reinterpret_cast<uint8_t*>(p), v));
}

char* put_zigzag_at(char* p, int64_t v) {
  return put_varint_at(p, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

char* put_str_at(char* p, std::string_view s) {
  p = put_varint_at(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* put_double_at(char* p, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) *p++ = static_cast<char>(bits >> (8 * i));
  return p;
}

char* put_value_at(char* p, const AttributeValue& value) {
  return std::visit(
      [p](const auto& v) mutable -> char* {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p++ = static_cast<char>(ValueType::string);
          return put_str_at(p, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          *p++ = static_cast<char>(ValueType::boolean);
          *p++ = static_cast<char>(v ? 1 : 0);
          return p;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          *p++ = static_cast<char>(ValueType::integer);
          return put_zigzag_at(p, v);
        } else if constexpr (std::is_same_v<T, double>) {
          *p++ = static_cast<char>(ValueType::real);
          return put_double_at(p, v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          *p++ = static_cast<char>(ValueType::string_array);
          p = put_varint_at(p, v.size());
          for (const std::string& s : v) p = put_str_at(p, s);
          return p;
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          *p++ = static_cast<char>(ValueType::bool_array);
          p = put_varint_at(p, v.size());
          for (bool b : v) *p++ = static_cast<char>(b ? 1 : 0);
          return p;
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          *p++ = static_cast<char>(ValueType::int_array);
          p = put_varint_at(p, v.size());
          for (int64_t i : v) p = put_zigzag_at(p, i);
          return p;
        } else {
          static_assert(std::is_same_v<T, std::vector<double>>);
          *p++ = static_cast<char>(ValueType::real_array);
          p = put_varint_at(p, v.size());
          for (double d : v) p = put_double_at(p, d);
          return p;
        }
      },
      value);
}

void put_attribute_list(std::string& out, const std::vector<Attribute>& attrs) {
  const KeyCodes& codes = key_codes();
  size_t bound = kMaxVarint;
  for (const Attribute& a : attrs) {
    // The key: a code, or 0 and the key spelled; then the value's type byte.
    bound += kMaxVarint + kMaxVarint + a.key.size() + 1 + value_bound(a.value);
  }
  const size_t at = out.size();
  out.resize(at + bound);
  char* const begin = &out[0];
  char* p = put_varint_at(begin + at, attrs.size());
  for (const Attribute& a : attrs) {
    uint32_t code = codes.find(a.key);
    p = put_varint_at(p, code);
    if (code == 0) p = put_str_at(p, a.key);
    p = put_value_at(p, a.value);
  }
  out.resize(static_cast<size_t>(p - begin));
}

// ---- reading ----

// A bounds-checked cursor. The first failure sticks: later reads return
// zero values, and `error` says what went wrong and where.
class Reader {
 public:
  Reader(std::string_view data, const char* what) : data_(data), what_(what) {}

  bool ok() const { return error_.empty(); }
  size_t left() const { return data_.size() - pos_; }

  uint8_t byte() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      auto b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
    return 0;
  }
  int64_t zigzag() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  double real() {
    if (!need(8)) return 0;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 8;
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::string_view bytes(size_t n) {
    if (!need(n)) return {};
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str() {
    uint64_t n = varint();
    if (!ok()) return {};
    if (n > left()) {
      fail("string length " + std::to_string(n) + " exceeds the " + std::to_string(left()) +
           " bytes left");
      return {};
    }
    return std::string(bytes(static_cast<size_t>(n)));
  }
  // A count of items that each take at least `min_size` bytes: checked
  // against what is left before anything is allocated for them.
  size_t count(size_t min_size) {
    uint64_t n = varint();
    if (ok() && n > left() / min_size) {
      fail("count " + std::to_string(n) + " exceeds the " + std::to_string(left()) + " bytes left");
      return 0;
    }
    return static_cast<size_t>(n);
  }
  bool header() {
    if (data_.empty()) return false;  // NULL column: nothing stored
    format_ = byte();
    if (format_ != kFormat && format_ != kFormatKeysSpelled) {
      fail("unknown format " + std::to_string(format_));
    }
    return ok();
  }
  std::string key() {
    if (format_ == kFormatKeysSpelled) return str();
    uint64_t code = varint();
    if (code == 0) return str();
    std::string_view key = packed_key(code);
    if (key.empty()) fail("unknown key code " + std::to_string(code));
    return std::string(key);
  }
  void fail(std::string message) {
    if (ok()) error_ = std::move(message) + " at byte " + std::to_string(pos_);
  }
  Error finish() {
    if (ok() && left() != 0) fail(std::to_string(left()) + " trailing bytes");
    if (ok()) return Error{};
    return Error{Error::io_error, std::string("corrupt packed ") + what_ + ": " + error_};
  }

 private:
  bool need(size_t n) {
    if (!ok()) return false;
    if (n > left()) {
      fail("value truncated");
      return false;
    }
    return true;
  }

  std::string_view data_;
  const char* what_;
  uint8_t format_ = 0;
  size_t pos_ = 0;
  std::string error_;
};

AttributeValue read_value(Reader& r) {
  auto type = static_cast<ValueType>(r.byte());
  switch (type) {
    case ValueType::string:
      return r.str();
    case ValueType::boolean: {
      uint8_t b = r.byte();
      if (b > 1) r.fail("bool value " + std::to_string(b));
      return b != 0;
    }
    case ValueType::integer:
      return r.zigzag();
    case ValueType::real:
      return r.real();
    case ValueType::string_array: {
      std::vector<std::string> v(r.count(1));
      for (std::string& s : v) s = r.str();
      return v;
    }
    case ValueType::bool_array: {
      std::vector<bool> v(r.count(1));
      for (size_t i = 0; i < v.size(); ++i) {
        uint8_t b = r.byte();
        if (b > 1) r.fail("bool value " + std::to_string(b));
        v[i] = b != 0;
      }
      return v;
    }
    case ValueType::int_array: {
      std::vector<int64_t> v(r.count(1));
      for (int64_t& i : v) i = r.zigzag();
      return v;
    }
    case ValueType::real_array: {
      std::vector<double> v(r.count(8));
      for (double& d : v) d = r.real();
      return v;
    }
  }
  r.fail("unknown value type " + std::to_string(static_cast<int>(type)));
  return false;
}

void read_attribute_list(Reader& r, std::vector<Attribute>* out) {
  // A key's code or length and a value's type take at least two bytes.
  size_t n = r.count(2);
  out->reserve(out->size() + n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Attribute a;
    a.key = r.key();
    a.value = read_value(r);
    out->push_back(std::move(a));
  }
}

uint32_t read_u32(Reader& r, const char* what) {
  uint64_t v = r.varint();
  if (v > std::numeric_limits<uint32_t>::max()) {
    r.fail(std::string(what) + " out of range");
    return 0;
  }
  return static_cast<uint32_t>(v);
}

}  // namespace

size_t packed_key_count() { return kDictionarySize; }

std::string_view packed_key(size_t code) {
  return code >= 1 && code <= kDictionarySize ? kKeyDictionary[code - 1] : std::string_view();
}

void pack_attributes(const std::vector<Attribute>& attrs, std::string& out) {
  out.clear();
  out += static_cast<char>(kFormat);
  put_attribute_list(out, attrs);
}

void pack_events(const std::vector<SpanEvent>& events, std::string& out) {
  out.clear();
  out += static_cast<char>(kFormat);
  append_varint(out, events.size());
  for (const SpanEvent& ev : events) {
    put_str(out, ev.name);
    append_varint(out, ev.time_unix_nano);
    append_varint(out, ev.dropped_attributes_count);
    put_attribute_list(out, ev.attributes);
  }
}

void pack_links(const std::vector<SpanLink>& links, std::string& out) {
  out.clear();
  out += static_cast<char>(kFormat);
  append_varint(out, links.size());
  for (const SpanLink& link : links) {
    out.append(reinterpret_cast<const char*>(link.trace_id.bytes.data()),
               link.trace_id.bytes.size());
    out.append(reinterpret_cast<const char*>(link.span_id.bytes.data()), link.span_id.bytes.size());
    put_str(out, link.trace_state);
    append_varint(out, link.flags);
    append_varint(out, link.dropped_attributes_count);
    put_attribute_list(out, link.attributes);
  }
}

Error unpack_attributes(std::string_view data, std::vector<Attribute>* out) {
  Reader r(data, "attributes");
  if (r.header()) read_attribute_list(r, out);
  return r.finish();
}

Error unpack_events(std::string_view data, std::vector<SpanEvent>* out) {
  Reader r(data, "events");
  if (r.header()) {
    // Name length, time, dropped count and attribute count: four bytes at least.
    size_t n = r.count(4);
    out->reserve(out->size() + n);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      SpanEvent ev;
      ev.name = r.str();
      ev.time_unix_nano = r.varint();
      ev.dropped_attributes_count = read_u32(r, "dropped attribute count");
      read_attribute_list(r, &ev.attributes);
      out->push_back(std::move(ev));
    }
  }
  return r.finish();
}

Error unpack_links(std::string_view data, std::vector<SpanLink>* out) {
  Reader r(data, "links");
  if (r.header()) {
    constexpr size_t kIds = 16 + 8;
    size_t n = r.count(kIds + 4);
    out->reserve(out->size() + n);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      SpanLink link;
      std::string_view ids = r.bytes(kIds);
      if (!r.ok()) break;
      std::memcpy(link.trace_id.bytes.data(), ids.data(), 16);
      std::memcpy(link.span_id.bytes.data(), ids.data() + 16, 8);
      link.trace_state = r.str();
      link.flags = read_u32(r, "flags");
      link.dropped_attributes_count = read_u32(r, "dropped attribute count");
      read_attribute_list(r, &link.attributes);
      out->push_back(std::move(link));
    }
  }
  return r.finish();
}

std::string_view blob_view(const Stmt& stmt, int col) {
  const void* p = sqlite3_column_blob(stmt.raw(), col);
  if (!p) return {};
  return std::string_view(static_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_column_bytes(stmt.raw(), col)));
}

// ---- the typed-column form ----

namespace {

// Not otlp::append_json_string: this text is stored in `value` columns of
// existing files and is part of resource fingerprints, so a change would
// make an existing resource look new. It keeps its own escaping: bytes as
// they are, every control character as \u00XX.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

template <typename T>
std::string array_json_of(const std::vector<T>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if constexpr (std::is_same_v<T, std::string>) {
      append_json_string(out, values[i]);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += values[i] ? "true" : "false";
    } else if constexpr (std::is_same_v<T, double>) {
      append_json_double(out, values[i]);
    } else {
      out += std::to_string(values[i]);
    }
  }
  out += ']';
  return out;
}

}  // namespace

void append_json_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";  // JSON has no NaN or infinity; read back as NaN
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

std::string array_json(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<bool>> ||
                      std::is_same_v<T, std::vector<int64_t>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          return array_json_of(v);
        } else {
          return std::string();
        }
      },
      value);
}

void bind_typed_value(Stmt& stmt, int type_col, int value_col, const AttributeValue& value,
                      std::string& scratch) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          stmt.bind(type_col, int64_t{static_cast<int>(ValueType::boolean)});
          stmt.bind(value_col, int64_t{v ? 1 : 0});
        } else if constexpr (std::is_same_v<T, int64_t>) {
          stmt.bind(type_col, int64_t{static_cast<int>(ValueType::integer)});
          stmt.bind(value_col, v);
        } else if constexpr (std::is_same_v<T, double>) {
          stmt.bind(type_col, int64_t{static_cast<int>(ValueType::real)});
          stmt.bind(value_col, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          stmt.bind(type_col, int64_t{static_cast<int>(ValueType::string)});
          stmt.bind(value_col, std::string_view(v));
        } else {
          ValueType type = std::is_same_v<T, std::vector<bool>>      ? ValueType::bool_array
                           : std::is_same_v<T, std::vector<int64_t>> ? ValueType::int_array
                           : std::is_same_v<T, std::vector<double>>  ? ValueType::real_array
                                                                     : ValueType::string_array;
          stmt.bind(type_col, int64_t{static_cast<int>(type)});
          scratch = array_json_of(v);
          stmt.bind(value_col, std::string_view(scratch));
        }
      },
      value);
}

AttributeValue read_typed_value(const Stmt& stmt, int type_col, int value_col) {
  auto type = static_cast<ValueType>(stmt.int64(type_col));
  switch (type) {
    case ValueType::boolean:
      return AttributeValue(stmt.int64(value_col) != 0);
    case ValueType::integer:
      return AttributeValue(stmt.int64(value_col));
    case ValueType::real:
      // SQLite stores NaN as NULL.
      return AttributeValue(stmt.is_null(value_col) ? std::numeric_limits<double>::quiet_NaN()
                                                    : stmt.real(value_col));
    case ValueType::string:
      return AttributeValue(stmt.text(value_col));
    default:
      break;
  }
  std::string text = stmt.text(value_col);
  simdjson::dom::parser parser;
  simdjson::dom::array array;
  if (parser.parse(text).get_array().get(array) != simdjson::SUCCESS) {
    return AttributeValue(text);  // not written by us: keep the text
  }
  switch (type) {
    case ValueType::bool_array: {
      std::vector<bool> out;
      for (auto item : array) {
        bool v = false;
        if (item.get_bool().get(v) != simdjson::SUCCESS) v = false;
        out.push_back(v);
      }
      return AttributeValue(std::move(out));
    }
    case ValueType::int_array: {
      std::vector<int64_t> out;
      for (auto item : array) {
        int64_t v = 0;
        if (item.get_int64().get(v) != simdjson::SUCCESS) v = 0;
        out.push_back(v);
      }
      return AttributeValue(std::move(out));
    }
    case ValueType::real_array: {
      std::vector<double> out;
      for (auto item : array) {
        double v = std::numeric_limits<double>::quiet_NaN();
        if (!item.is_null() && item.get_double().get(v) != simdjson::SUCCESS) {
          v = std::numeric_limits<double>::quiet_NaN();
        }
        out.push_back(v);
      }
      return AttributeValue(std::move(out));
    }
    default: {
      std::vector<std::string> out;
      for (auto item : array) {
        std::string_view v;
        if (item.get_string().get(v) != simdjson::SUCCESS) v = {};
        out.emplace_back(v);
      }
      return AttributeValue(std::move(out));
    }
  }
}

std::string typed_value_text(const AttributeValue& value) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "1" : "0";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isnan(v)) return std::string();  // stored as NULL
          // SQLite's own rendering of a REAL as text.
          char* text = sqlite3_mprintf("%!.15g", v);
          std::string out = text ? text : "";
          sqlite3_free(text);
          return out;
        } else {
          return array_json_of(v);
        }
      },
      value);
}

}  // namespace convtrace::store
