#include <cstring>
#include <new>
#include <utility>

#include "convtrace/attributes.h"
#include "trace/clock.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

void truncate_to_limit(AttributeValue& value, size_t limit) {
  if (limit == 0) return;
  if (auto* s = std::get_if<std::string>(&value)) {
    if (s->size() > limit) s->resize(limit);
  } else if (auto* v = std::get_if<std::vector<std::string>>(&value)) {
    for (auto& item : *v) {
      if (item.size() > limit) item.resize(limit);
    }
  }
}

bool is_recording(const SpanRecord* rec) { return rec && rec->data && !rec->ended; }

// A hash of an attribute key from its length and four of its bytes: cheap,
// and keys that share long prefixes ("gen_ai.usage.") still differ in it.
// Keys that collide only cost a string comparison.
inline uint32_t key_hash(std::string_view key) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  const size_t n = key.size();
  if (n == 0) return 0;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(key[i]); };
  uint64_t h = n;
  h = h * kMul + byte(n - 1);
  h = h * kMul + byte(n / 2);
  h = h * kMul + byte(n - 1 - n / 4);
  h = h * kMul + byte(n / 4);
  return static_cast<uint32_t>(h >> 32);
}

inline uint64_t key_bit(uint32_t hash) { return uint64_t{1} << (hash >> 26); }

// Whether two byte ranges of equal length `n` hold the same bytes. Inline,
// a word at a time: attribute keys and values are short, and a call to
// memcmp cost more than the comparison.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
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
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

inline bool same_string(const std::string& a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), b.size());
}

// The index of the live attribute `key` (whose hash is `hash`), or -1.
inline ptrdiff_t find_slot(const SpanRecord& record, std::string_view key, uint32_t hash) {
  if (!(record.key_bits & key_bit(hash))) return -1;
  const std::vector<Attribute>& attrs = record.data->attributes;
  const size_t live = record.attribute_count;
  const size_t hashed = live < SpanRecord::kHashedKeys ? live : SpanRecord::kHashedKeys;
  for (size_t i = 0; i < hashed; ++i) {
    if (record.key_hashes[i] == hash && same_string(attrs[i].key, key)) {
      return static_cast<ptrdiff_t>(i);
    }
  }
  for (size_t i = hashed; i < live; ++i) {
    if (same_string(attrs[i].key, key)) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}

// The live slot holding `key`, or a new slot with `key` written into it — a
// spare slot of a recycled record when there is one. Null (and the drop
// counted) when the count limit is reached.
Attribute* attribute_slot(SpanRecord& record, std::string_view key) {
  std::vector<Attribute>& attrs = record.data->attributes;
  const uint32_t hash = key_hash(key);
  const ptrdiff_t found = find_slot(record, key, hash);
  if (found >= 0) return &attrs[static_cast<size_t>(found)];
  const size_t live = record.attribute_count;
  if (live >= record.sdk->attribute_count_limit) {
    ++record.data->dropped_attributes_count;
    return nullptr;
  }
  if (live == attrs.size()) attrs.emplace_back();
  Attribute& slot = attrs[live];
  // Spans of one kind set the same keys in the same order, so a recycled
  // slot usually holds this key already: comparing is cheaper than copying.
  if (!same_string(slot.key, key)) slot.key.assign(key.data(), key.size());
  if (live < SpanRecord::kHashedKeys) record.key_hashes[live] = hash;
  record.attribute_count = live + 1;
  record.key_bits |= key_bit(hash);
  return &slot;
}

// Released records kept per thread for reuse. The flag is trivially
// destructible, so it stays readable after the cache itself is destroyed at
// thread exit (a Span in a static object may end after that).
constexpr size_t kCachedRecords = 16;
thread_local bool record_cache_gone = false;
struct RecordCache {
  SpanRecord* records[kCachedRecords];
  size_t size = 0;
  ~RecordCache() {
    record_cache_gone = true;
    for (size_t i = 0; i < size; ++i) ::operator delete(records[i]);
  }
};
thread_local RecordCache record_cache;

void assign_string(AttributeValue& into, std::string_view value) {
  if (auto* s = std::get_if<std::string>(&into)) {
    if (!same_string(*s, value)) s->assign(value.data(), value.size());
  } else {
    into.emplace<std::string>(value);
  }
}

}  // namespace

void set_record_attribute(SpanRecord& record, std::string_view key, std::string_view value) {
  size_t limit = record.sdk->attribute_value_length_limit;
  if (limit != 0 && value.size() > limit) value = value.substr(0, limit);
  if (Attribute* slot = attribute_slot(record, key)) assign_string(slot->value, value);
}

// Numbers and booleans: written into the slot's variant directly when it
// already holds that type (a recycled slot of a same-shaped span does).
template <typename T>
void set_record_scalar(SpanRecord& record, std::string_view key, T value) {
  Attribute* slot = attribute_slot(record, key);
  if (!slot) return;
  if (T* held = std::get_if<T>(&slot->value)) {
    *held = value;
  } else {
    slot->value.emplace<T>(value);
  }
}

void set_record_attribute(SpanRecord& record, std::string_view key, int64_t value) {
  set_record_scalar(record, key, value);
}

void set_record_attribute(SpanRecord& record, std::string_view key, double value) {
  set_record_scalar(record, key, value);
}

void set_record_attribute(SpanRecord& record, std::string_view key, bool value) {
  set_record_scalar(record, key, value);
}

void set_record_attribute(SpanRecord& record, std::string_view key,
                          const std::vector<std::string>& value) {
  Attribute* slot = attribute_slot(record, key);
  if (!slot) return;
  // Copy-assigning into a held vector reuses its buffers (finish reasons are
  // set on every model call).
  if (auto* held = std::get_if<std::vector<std::string>>(&slot->value)) {
    *held = value;
  } else {
    slot->value.emplace<std::vector<std::string>>(value);
  }
  truncate_to_limit(slot->value, record.sdk->attribute_value_length_limit);
}

void set_record_attribute(SpanRecord& record, std::string_view key, const char* value) {
  set_record_attribute(record, key, std::string_view(value ? value : ""));
}

void set_record_attribute(SpanRecord& record, std::string_view key, const std::string& value) {
  set_record_attribute(record, key, std::string_view(value));
}

void set_record_attribute(SpanRecord& record, std::string_view key, const AttributeValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    set_record_attribute(record, key, std::string_view(*s));
    return;
  }
  Attribute* slot = attribute_slot(record, key);
  if (!slot) return;
  slot->value = value;  // same type as before: copies into the existing buffers
  truncate_to_limit(slot->value, record.sdk->attribute_value_length_limit);
}

void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue&& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    set_record_attribute(record, key, std::string_view(*s));
    return;
  }
  Attribute* slot = attribute_slot(record, key);
  if (!slot) return;
  slot->value = std::move(value);
  truncate_to_limit(slot->value, record.sdk->attribute_value_length_limit);
}

const AttributeValue* find_record_attribute(const SpanRecord& record, std::string_view key) {
  if (!record.data) return nullptr;
  const ptrdiff_t found = find_slot(record, key, key_hash(key));
  return found < 0 ? nullptr : &record.data->attributes[static_cast<size_t>(found)].value;
}

SpanRecord* new_span_record() {
  if (!record_cache_gone && record_cache.size > 0) {
    return new (record_cache.records[--record_cache.size]) SpanRecord;
  }
  return new SpanRecord;
}

void free_span_record(SpanRecord* record) noexcept {
  if (!record) return;
  record->~SpanRecord();
  if (!record_cache_gone && record_cache.size < kCachedRecords) {
    record_cache.records[record_cache.size++] = record;
  } else {
    ::operator delete(record);
  }
}

Span::~Span() {
  end();
  free_span_record(rec_);
}

Span::Span(Span&& other) noexcept : rec_(other.rec_) { other.rec_ = nullptr; }

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    free_span_record(rec_);
    rec_ = other.rec_;
    other.rec_ = nullptr;
  }
  return *this;
}

bool Span::recording() const { return is_recording(rec_); }

SpanContext Span::context() const { return rec_ ? rec_->context : SpanContext{}; }

void Span::set_attribute(std::string_view key, std::string_view value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, value);
}

void Span::set_attribute(std::string_view key, bool value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, value);
}

void Span::set_attribute(std::string_view key, double value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, value);
}

void Span::set_int_attribute(std::string_view key, int64_t value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, value);
}

void Span::set_attribute_value(std::string_view key, AttributeValue value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, std::move(value));
}

void Span::add_event(std::string_view name, std::vector<Attribute> attributes) {
  if (!is_recording(rec_)) return;
  SpanEvent event;
  event.name = std::string(name);
  // On the same time line as the span's start and end.
  event.time_unix_nano = unix_nano_at(steady_nanos());
  event.attributes = std::move(attributes);
  // Events are bounded like attributes so a loop cannot grow a span without end.
  if (rec_->data->events.size() >= rec_->sdk->attribute_count_limit) {
    ++rec_->data->dropped_events_count;
    return;
  }
  rec_->data->events.push_back(std::move(event));
}

void Span::record_exception(std::string_view type, std::string_view message) {
  if (!is_recording(rec_)) return;
  add_event(attr::kExceptionEventName,
            {Attribute{std::string(attr::kExceptionType), std::string(type)},
             Attribute{std::string(attr::kExceptionMessage), std::string(message)}});
}

void Span::set_status(StatusCode code, std::string_view description) {
  if (!is_recording(rec_)) return;
  SpanStatus& status = rec_->data->status;
  // OTel: Ok is final; Unset never overrides a set status.
  if (status.code == StatusCode::ok || code == StatusCode::unset) return;
  status.code = code;
  status.description = code == StatusCode::error ? std::string(description) : std::string();
}

void Span::update_name(std::string_view name) {
  if (!is_recording(rec_)) return;
  rec_->data->name = std::string(name);
  rec_->name_is_given = true;
}

void Span::end() {
  if (!rec_ || rec_->ended) return;
  rec_->ended = true;
  Sdk::State* sdk = rec_->sdk;
  if (sdk->on_end) sdk->on_end(*rec_);
  if (!rec_->data) return;  // unsampled
  SpanData& data = *rec_->data;
  // Spare slots of a recycled record are not part of this span.
  if (data.attributes.size() > rec_->attribute_count) data.attributes.resize(rec_->attribute_count);
  int64_t elapsed = steady_nanos() - rec_->start_steady;
  data.end_unix_nano = data.start_unix_nano + static_cast<uint64_t>(elapsed > 0 ? elapsed : 0);
  if (sdk->shut_down.load(std::memory_order_acquire)) {
    sdk->dropped_after_shutdown.fetch_add(1, std::memory_order_relaxed);
    rec_->data.reset();
    return;
  }
  sdk->processor->on_end(std::move(rec_->data));
}

ContextScope Span::activate() const { return ContextScope(child_context()); }

Context Span::child_context() const {
  if (!rec_) return Context::current();
  return Context().with_span_context(rec_->context).with_genai(rec_->genai);
}

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::none:
      return {};
    case Kind::llm:
      return "llm";
    case Kind::tool:
      return "tool";
    case Kind::chain:
      return "chain";
    case Kind::agent:
      return "agent";
    case Kind::retriever:
      return "retriever";
    case Kind::embedding:
      return "embedding";
    case Kind::workflow:
      return "workflow";
    case Kind::reranker:
      return "reranker";
  }
  return {};
}

}  // namespace convtrace
