#include <cstring>
#include <new>
#include <utility>

#include "common/unix_time.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "trace/clock.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

// Makes the strings of a value just set valid UTF-8 and cuts them to the
// length limit (at character boundaries; a repair comes first because it
// lengthens the text).
void repair_and_truncate(AttributeValue& value, size_t limit, std::string_view key) {
  auto fit = [&](std::string& s) {
    if (!utf8::valid(s)) record_attr::assign_repaired(s, std::string(s), "attribute", key);
    if (limit != 0 && s.size() > limit) s.resize(utf8::cut_point(s, limit));
  };
  if (auto* s = std::get_if<std::string>(&value)) {
    fit(*s);
  } else if (auto* v = std::get_if<std::vector<std::string>>(&value)) {
    for (auto& item : *v) fit(item);
  }
}

bool is_recording(const SpanRecord* rec) { return rec && rec->data && !rec->ended; }

using record_attr::same_string;

// A hash of a key from its length and its first, middle and last eight
// bytes (fewer for short keys): keys that share a long prefix
// ("gen_ai.usage.") differ in their tails. Keys that collide only cost a
// string comparison.
uint32_t key_hash(std::string_view key) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  const size_t n = key.size();
  const char* p = key.data();
  uint64_t head = 0, mid = 0, tail = 0;
  if (n >= 8) {
    std::memcpy(&head, p, 8);
    std::memcpy(&mid, p + (n - 8) / 2, 8);
    std::memcpy(&tail, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t h4, t4;
    std::memcpy(&h4, p, 4);
    std::memcpy(&t4, p + n - 4, 4);
    head = h4;
    tail = t4;
  } else if (n > 0) {
    head = static_cast<unsigned char>(p[0]) |
           static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
           static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  uint64_t h = (head ^ n) * kMul;
  h = (h ^ mid ^ (tail << 1)) * kMul;
  return static_cast<uint32_t>(h >> 32);
}

uint64_t key_bit(uint32_t hash) { return uint64_t{1} << (hash >> 26); }

// The index of the live attribute `key` (whose hash is `hash`) of a span
// whose keys are indexed, or -1.
ptrdiff_t find_indexed(const SpanRecord& record, std::string_view key, uint32_t hash) {
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

// The index of the live attribute `key`, or -1.
ptrdiff_t find_slot(const SpanRecord& record, std::string_view key) {
  if (!record.keys_follow_recycled) return find_indexed(record, key, key_hash(key));
  // Not indexed yet (see SpanRecord::keys_follow_recycled).
  const std::vector<Attribute>& attrs = record.data->attributes;
  for (size_t i = 0; i < record.attribute_count; ++i) {
    if (same_string(attrs[i].key, key)) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}

// Records the hashes of the live keys, which the inline case skipped, before
// the first key that needs them.
void index_live_keys(SpanRecord& record) {
  const std::vector<Attribute>& attrs = record.data->attributes;
  for (size_t i = 0; i < record.attribute_count; ++i) {
    const uint32_t hash = key_hash(attrs[i].key);
    if (i < SpanRecord::kHashedKeys) record.key_hashes[i] = hash;
    record.key_bits |= key_bit(hash);
  }
  record.keys_follow_recycled = false;
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

}  // namespace

namespace record_attr {

void assign_repaired(std::string& s, std::string_view value, std::string_view what,
                     std::string_view key) {
  try {
    std::string fixed;
    fixed.reserve(value.size() + 8);
    const size_t replaced = utf8::append_repaired(value, fixed);
    s.swap(fixed);
    if (key.empty()) {
      utf8::warn(what, replaced);
    } else {
      utf8::warn(std::string(what) + " '" + utf8::repaired(key) + "'", replaced);
    }
  } catch (...) {
    s.clear();  // out of memory: an empty value rather than an invalid one
  }
}

void set_repaired_string(AttributeValue& into, std::string_view value, size_t limit,
                         std::string_view key) {
  std::string* s = std::get_if<std::string>(&into);
  if (!s) s = &into.emplace<std::string>();
  assign_repaired(*s, value, "attribute", key);
  if (limit != 0 && s->size() > limit) s->resize(utf8::cut_point(*s, limit));
}

Attribute* slot_for_new_key(SpanRecord& record, std::string_view key) {
  if (!utf8::valid(key)) {
    // Look up and store the key as it will read: two spellings of one
    // invalid key must not become two attributes.
    std::string fixed;
    record_attr::assign_repaired(fixed, key, "attribute key");
    return slot_for_new_key(record, fixed);
  }
  if (record.keys_follow_recycled) index_live_keys(record);
  std::vector<Attribute>& attrs = record.data->attributes;
  const uint32_t hash = key_hash(key);
  const ptrdiff_t found = find_indexed(record, key, hash);
  if (found >= 0) return &attrs[static_cast<size_t>(found)];
  const size_t live = record.attribute_count;
  if (live >= record.sdk->attribute_count_limit) {
    ++record.data->dropped_attributes_count;
    return nullptr;
  }
  if (live == attrs.size()) attrs.emplace_back();
  Attribute& slot = attrs[live];
  // A recycled slot often holds this key already, a little out of order.
  if (!same_string(slot.key, key)) slot.key.assign(key.data(), key.size());
  if (live < SpanRecord::kHashedKeys) record.key_hashes[live] = hash;
  record.attribute_count = live + 1;
  record.key_bits |= key_bit(hash);
  return &slot;
}

}  // namespace record_attr

void set_record_attribute(SpanRecord& record, std::string_view key,
                          const std::vector<std::string>& value) {
  Attribute* slot = record_attr::slot(record, key);
  if (!slot) return;
  // Copy-assigning into a held vector reuses its buffers (finish reasons are
  // set on every model call).
  if (auto* held = std::get_if<std::vector<std::string>>(&slot->value)) {
    *held = value;
  } else {
    slot->value.emplace<std::vector<std::string>>(value);
  }
  repair_and_truncate(slot->value, record.sdk->attribute_value_length_limit, slot->key);
}

void set_record_attribute(SpanRecord& record, std::string_view key, const AttributeValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    set_record_attribute(record, key, std::string_view(*s));
    return;
  }
  Attribute* slot = record_attr::slot(record, key);
  if (!slot) return;
  slot->value = value;  // same type as before: copies into the existing buffers
  repair_and_truncate(slot->value, record.sdk->attribute_value_length_limit, slot->key);
}

void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue&& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    set_record_attribute(record, key, std::string_view(*s));
    return;
  }
  Attribute* slot = record_attr::slot(record, key);
  if (!slot) return;
  slot->value = std::move(value);
  repair_and_truncate(slot->value, record.sdk->attribute_value_length_limit, slot->key);
}

const AttributeValue* find_record_attribute(const SpanRecord& record, std::string_view key) {
  if (!record.data) return nullptr;
  const ptrdiff_t found = find_slot(record, key);
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
  // Events are bounded like attributes so a loop cannot grow a span without end.
  if (rec_->data->events.size() >= rec_->sdk->attribute_count_limit) {
    ++rec_->data->dropped_events_count;
    return;
  }
  try {
    SpanEvent event;
    utf8::assign(event.name, name, "span event name");
    // On the same time line as the span's start and end.
    event.time_unix_nano = unix_nano_at(steady_nanos());
    event.attributes = std::move(attributes);
    utf8::repair(event.attributes, "span event");
    rec_->data->events.push_back(std::move(event));
  } catch (...) {
    ++rec_->data->dropped_events_count;  // out of memory
  }
}

void Span::record_exception(std::string_view type, std::string_view message) {
  if (!is_recording(rec_)) return;
  add_event(attr::kExceptionEventName,
            {Attribute{std::string(attr::kExceptionType), std::string(type)},
             Attribute{std::string(attr::kExceptionMessage), std::string(message)}});
}

void Span::set_status(StatusCode code, std::string_view description) {
  // Unsampled calls fail too: their metrics carry error.type.
  if (rec_ && !rec_->ended && code == StatusCode::error) rec_->failed = true;
  if (!is_recording(rec_)) return;
  SpanStatus& status = rec_->data->status;
  // OTel: Ok is final; Unset never overrides a set status.
  if (status.code == StatusCode::ok || code == StatusCode::unset) return;
  status.code = code;
  if (code == StatusCode::error) {
    record_attr::rewrite(status.description, description, "span status description");
  } else {
    status.description.clear();
  }
}

void Span::update_name(std::string_view name) {
  if (!is_recording(rec_)) return;
  record_attr::rewrite(rec_->data->name, name, "span name");
  rec_->name_is_given = true;
}

void Span::end() {
  if (!rec_ || rec_->ended) return;
  rec_->ended = true;
  rec_->end_steady = steady_nanos();
  SdkState* sdk = rec_->sdk;
  if (sdk->on_end) sdk->on_end(*rec_);
  if (!rec_->data) return;  // unsampled
  SpanData& data = *rec_->data;
  // Spare slots of a recycled record are not part of this span.
  if (data.attributes.size() > rec_->attribute_count) data.attributes.resize(rec_->attribute_count);
  int64_t elapsed = rec_->end_steady - rec_->start_steady;
  data.end_unix_nano = data.start_unix_nano + static_cast<uint64_t>(elapsed > 0 ? elapsed : 0);
  // A given start time near the end of the range must not carry the end past it.
  if (data.end_unix_nano > unix_time::kMax) data.end_unix_nano = unix_time::kMax;
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
