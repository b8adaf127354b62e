// The SDK's storage of one live span, owned by its Span handle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convtrace/pricing.h"
#include "convtrace/sdk.h"
#include "convtrace/span_data.h"
#include "convtrace/trace.h"

namespace convtrace {

struct GenAiState;

struct SpanRecord {
  Sdk::State* sdk = nullptr;
  SpanContext context;
  // Null for unsampled spans and after end(): only recording spans own data.
  std::unique_ptr<SpanData> data;
  // The first `attribute_count` entries of data->attributes are the span's
  // attributes. A record reused from the SDK's pool keeps the entries of its
  // previous span beyond that as spare slots, so setting an attribute writes
  // into existing strings instead of allocating; end() drops the spares. Read
  // attributes of a live span only through the functions below.
  size_t attribute_count = 0;
  // Setting an attribute must replace a live one of the same key. GenAI spans
  // carry twenty-odd attributes, and comparing key strings for each made
  // setting them quadratic, with most compares reading records that another
  // thread last wrote. So each live key's hash is kept here: one bit per key
  // in `key_bits` (a clear bit means the key is new, no scan at all) and the
  // full hash of the first kHashedKeys keys (a scan compares strings only
  // when the hashes match).
  static constexpr size_t kHashedKeys = 32;
  uint64_t key_bits = 0;
  uint32_t key_hashes[kHashedKeys];
  int64_t start_steady = 0;  // steady_nanos() at start
  bool ended = false;

  // GenAI: what children of this span see, and what this span contributed.
  Kind kind = Kind::none;
  std::shared_ptr<const GenAiState> genai;
  bool turn_root = false;     // this span claimed its conversation's turn
  bool name_is_given = true;  // false while the name is the conventional default
  std::string operation;      // gen_ai.operation.name, when known
  std::string request_model;  // gen_ai.request.model, when known
  std::shared_ptr<const ModelPrice> price_override;  // ObserveOptions::price
  int64_t cost_pico = 0;                             // last recorded usage, to replace it exactly
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  bool usage_recorded = false;
  bool usage_priced = false;
};

// A fresh record, from a small per-thread cache of released ones (a span
// record is allocated and freed once per span, usually on the same thread).
SpanRecord* new_span_record();
// Destroys `record`'s contents and keeps its memory for the next span.
void free_span_record(SpanRecord* record) noexcept;

// Sets or replaces one attribute on a recording span, applying the SDK's count
// and length limits. Defined in span.cc; shared with the genai layer. The
// string forms copy into the slot's existing buffer when it has one.
void set_record_attribute(SpanRecord& record, std::string_view key, std::string_view value);
void set_record_attribute(SpanRecord& record, std::string_view key, const std::string& value);
void set_record_attribute(SpanRecord& record, std::string_view key, const char* value);
void set_record_attribute(SpanRecord& record, std::string_view key,
                          const std::vector<std::string>& value);
void set_record_attribute(SpanRecord& record, std::string_view key, int64_t value);
void set_record_attribute(SpanRecord& record, std::string_view key, double value);
void set_record_attribute(SpanRecord& record, std::string_view key, bool value);
void set_record_attribute(SpanRecord& record, std::string_view key, const AttributeValue& value);
void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue&& value);
// The live attribute `key` of a recording span, or nullptr.
const AttributeValue* find_record_attribute(const SpanRecord& record, std::string_view key);

}  // namespace convtrace
