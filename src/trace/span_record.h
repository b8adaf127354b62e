// The SDK's storage of one live span, owned by its Span handle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/utf8.h"
#include "convtrace/pricing.h"
#include "convtrace/span_data.h"
#include "convtrace/trace.h"
#include "trace/sdk_state.h"

namespace convtrace {

struct GenAiState;

// A string kept inline when short: a span record is constructed afresh for
// every span, and a std::string of a dated model name ("gpt-4o-2024-08-06",
// longer than its 15-byte small buffer) would cost an allocation per call.
class InlineString {
 public:
  void assign(std::string_view s) {
    if (s.size() <= sizeof buf_) {
      std::memcpy(buf_, s.data(), s.size());
      size_ = static_cast<uint8_t>(s.size());
    } else {
      long_.assign(s.data(), s.size());
      size_ = kLong;
    }
  }
  std::string_view view() const {
    return size_ == kLong ? std::string_view(long_) : std::string_view(buf_, size_);
  }

 private:
  static constexpr uint8_t kLong = 0xFF;
  char buf_[47];
  uint8_t size_ = 0;
  std::string long_;
};

struct SpanRecord {
  SdkState* sdk = nullptr;
  SpanContext context;
  // Null for unsampled spans and after end(): only recording spans own data.
  std::unique_ptr<SpanData> data;
  // The first `attribute_count` entries of data->attributes are the span's
  // attributes. A record reused from the SDK's pool keeps the entries of its
  // previous span beyond that as spare slots, so setting an attribute writes
  // into existing strings instead of allocating; end() drops the spares. Read
  // attributes of a live span only through the functions below.
  size_t attribute_count = 0;
  // Setting an attribute must replace a live one of the same key. A record
  // from the pool holds its previous span's keys, all distinct, and spans of
  // one kind set the same keys in the same order: while each key set so far
  // was the one already in its slot (`keys_follow_recycled`), a key equal to
  // the next slot's is new to this span and needs no search. From the first
  // key that differs, each live key's hash is kept here: one bit per key in
  // `key_bits` (a clear bit means the key is new, no scan at all) and the
  // full hash of the first kHashedKeys keys (a scan compares strings only
  // when the hashes match).
  bool keys_follow_recycled = true;
  static constexpr size_t kHashedKeys = 32;
  uint64_t key_bits = 0;
  uint32_t key_hashes[kHashedKeys];
  int64_t start_steady = 0;  // steady_nanos() at start
  bool ended = false;

  // GenAI: what children of this span see, and what this span contributed.
  Kind kind = Kind::none;
  std::shared_ptr<const GenAiState> genai;
  bool turn_root = false;      // this span claimed its conversation's turn
  bool name_is_given = true;   // false while the name is the conventional default
  std::string_view operation;  // gen_ai.operation.name (a constant of operation_for), when known
  std::string request_model;   // gen_ai.request.model, when known
  std::shared_ptr<const ModelPrice> price_override;  // ObserveOptions::price
  int64_t cost_pico = 0;                             // last recorded usage, to replace it exactly
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  bool usage_recorded = false;
  bool output_from_body = false;  // gen_ai.output.messages came from record_response
  bool usage_priced = false;
  bool has_input_tokens = false;   // the last usage reported input tokens
  bool has_output_tokens = false;  // … and output tokens

  // What a call's metrics are keyed by (metrics.h), kept whether or not the
  // span is sampled: metrics count every call.
  std::string provider;         // gen_ai.provider.name
  InlineString response_model;  // gen_ai.response.model
  std::string error_type;       // error.type of a failed observed call
  bool failed = false;          // set_status(error): error.type "_OTHER" when none is known
  std::string server_address;   // server.address
  int64_t server_port = 0;      // server.port; 0 when unknown
  int64_t first_chunk_ns = -1;  // streamed calls: first chunk, nanoseconds after start
  int64_t end_steady = 0;       // steady_nanos() at end, read once for the span and its metrics
};

// A fresh record, from a small per-thread cache of released ones (a span
// record is allocated and freed once per span, usually on the same thread).
SpanRecord* new_span_record();
// Destroys `record`'s contents and keeps its memory for the next span.
void free_span_record(SpanRecord* record) noexcept;

// --- Attributes of a live span -------------------------------------------------
//
// Setting attributes is a large part of what a span costs (an observed LLM
// call sets twenty-odd), so the common case is inline here: the span so far has set the
// keys of its recycled record in order, and this key is the next one (see
// SpanRecord::keys_follow_recycled). Everything else — a replaced key, a new
// slot, another order, the count limit — goes through slot_for_new_key().
namespace record_attr {

// Whether the first and last sizeof(Word) bytes of two ranges of length `n`
// agree (sizeof(Word) <= n <= 2 sizeof(Word): the two words cover the range,
// overlapping when it is shorter).
template <typename Word>
[[gnu::always_inline]] inline bool same_ends(const char* a, const char* b, size_t n) {
  Word x0, y0, x1, y1;
  std::memcpy(&x0, a, sizeof(Word));
  std::memcpy(&y0, b, sizeof(Word));
  std::memcpy(&x1, a + n - sizeof(Word), sizeof(Word));
  std::memcpy(&y1, b + n - sizeof(Word), sizeof(Word));
  return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

// Whether two byte ranges of equal length `n` hold the same bytes. Inline,
// a word at a time: keys and values are short, and a call to memcmp cost
// more than the comparison.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    if (n <= 16) return same_ends<uint64_t>(a, b, n);
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    // The tail, as the last 8 bytes (overlapping what was compared).
    uint64_t x, y;
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) return same_ends<uint32_t>(a, b, n);
  if (n >= 2) return same_ends<uint16_t>(a, b, n);
  return n == 0 || a[0] == b[0];
}

inline bool same_string(const std::string& a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), b.size());
}

// Writes `value`, ill-formed UTF-8, into `s` repaired, counting a warning
// that names `what` (and the attribute `key`, when given). Out of line: rare.
[[gnu::cold]] void assign_repaired(std::string& s, std::string_view value, std::string_view what,
                                   std::string_view key = {});

// Makes `s` hold `value`, writing only when it holds other bytes: a recycled
// record's strings usually hold the same text already, and comparing reads
// less than assigning writes. Text enters a record as valid UTF-8
// (common/utf8.h), so bytes equal to what `s` holds need no check; a new value
// is checked, and an ill-formed one is written repaired (see assign_repaired).
inline void rewrite(std::string& s, std::string_view value, std::string_view what,
                    std::string_view key = {}) {
  if (same_string(s, value)) return;
  if (utf8::valid(value)) {
    s.assign(value.data(), value.size());
  } else {
    assign_repaired(s, value, what, key);
  }
}

// The slot for `key` when the inline case does not apply: the live slot
// holding it, else a new one. Null (and the drop counted) at the count limit.
Attribute* slot_for_new_key(SpanRecord& record, std::string_view key);

// The live slot holding `key`, or a new slot with `key` written into it — a
// spare slot of a recycled record when there is one. Null at the limit.
inline Attribute* slot(SpanRecord& record, std::string_view key) {
  const size_t live = record.attribute_count;
  std::vector<Attribute>& attrs = record.data->attributes;
  if (record.keys_follow_recycled && live < attrs.size() &&
      live < record.sdk->attribute_count_limit && same_string(attrs[live].key, key)) {
    record.attribute_count = live + 1;
    return &attrs[live];
  }
  return slot_for_new_key(record, key);
}

// Writes `value` into a slot's value, reusing the string it holds when there
// is one (and not writing at all when it already holds these bytes). `key`
// names the attribute in the warning for ill-formed text.
inline void assign_string(AttributeValue& into, std::string_view value, std::string_view key) {
  if (auto* s = std::get_if<std::string>(&into)) {
    rewrite(*s, value, "attribute", key);
  } else if (utf8::valid(value)) {
    into.emplace<std::string>(value);
  } else {
    assign_repaired(into.emplace<std::string>(), value, "attribute", key);
  }
}

// Writes `value`, ill-formed UTF-8 longer than `limit` (0: no limit),
// repaired and then cut to the limit. Out of line: rare.
void set_repaired_string(AttributeValue& into, std::string_view value, size_t limit,
                         std::string_view key);

template <typename T>
inline void assign_scalar(AttributeValue& into, T value) {
  if (T* held = std::get_if<T>(&into)) {
    *held = value;
  } else {
    into.emplace<T>(value);
  }
}

}  // namespace record_attr

// Sets or replaces one attribute on a recording span, applying the SDK's count
// and length limits; shared by the trace core and the genai layer. The string
// forms copy into the slot's existing buffer when it has one.
inline void set_record_attribute(SpanRecord& record, std::string_view key, std::string_view value) {
  const size_t limit = record.sdk->attribute_value_length_limit;
  Attribute* slot = record_attr::slot(record, key);
  if (!slot) return;
  if (limit != 0 && value.size() > limit) {
    // Cut at a character boundary, so a valid value stays valid; an invalid
    // one is repaired before it is cut (a repair lengthens it).
    std::string_view cut = value.substr(0, utf8::cut_point(value, limit));
    if (!utf8::valid(cut)) {
      record_attr::set_repaired_string(slot->value, value, limit, slot->key);
      return;
    }
    value = cut;
  }
  record_attr::assign_string(slot->value, value, slot->key);
}
inline void set_record_attribute(SpanRecord& record, std::string_view key,
                                 const std::string& value) {
  set_record_attribute(record, key, std::string_view(value));
}
inline void set_record_attribute(SpanRecord& record, std::string_view key, const char* value) {
  set_record_attribute(record, key, std::string_view(value ? value : ""));
}
inline void set_record_attribute(SpanRecord& record, std::string_view key, int64_t value) {
  if (Attribute* slot = record_attr::slot(record, key))
    record_attr::assign_scalar(slot->value, value);
}
inline void set_record_attribute(SpanRecord& record, std::string_view key, double value) {
  if (Attribute* slot = record_attr::slot(record, key))
    record_attr::assign_scalar(slot->value, value);
}
inline void set_record_attribute(SpanRecord& record, std::string_view key, bool value) {
  if (Attribute* slot = record_attr::slot(record, key))
    record_attr::assign_scalar(slot->value, value);
}
void set_record_attribute(SpanRecord& record, std::string_view key,
                          const std::vector<std::string>& value);
void set_record_attribute(SpanRecord& record, std::string_view key, const AttributeValue& value);
void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue&& value);
// The live attribute `key` of a recording span, or nullptr.
const AttributeValue* find_record_attribute(const SpanRecord& record, std::string_view key);

}  // namespace convtrace
