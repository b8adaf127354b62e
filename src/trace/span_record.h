// The SDK's storage of one live span, owned by its Span handle.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

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
  // One bit per live key (by a cheap hash): a key whose bit is clear is new,
  // so setting it skips the scan for an existing slot. GenAI spans carry
  // twenty-odd attributes; scanning for each made setting them quadratic.
  uint64_t key_bits = 0;
  std::chrono::steady_clock::time_point start_steady;
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

// Sets or replaces one attribute on a recording span, applying the SDK's count
// and length limits. Defined in span.cc; shared with the genai layer. The
// string forms copy into the slot's existing buffer when it has one.
void set_record_attribute(SpanRecord& record, std::string_view key, std::string_view value);
void set_record_attribute(SpanRecord& record, std::string_view key, const std::string& value);
void set_record_attribute(SpanRecord& record, std::string_view key, const AttributeValue& value);
void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue&& value);
// The live attribute `key` of a recording span, or nullptr.
const AttributeValue* find_record_attribute(const SpanRecord& record, std::string_view key);

}  // namespace convtrace
