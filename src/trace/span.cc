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

// Which of 64 bits stands for `key` in SpanRecord::key_bits. Mixes the length
// and a few bytes (keys often share long prefixes like "gen_ai.usage.").
uint64_t key_bit(std::string_view key) {
  const size_t n = key.size();
  if (n == 0) return 1;
  uint64_t h = n;
  h = h * 0x9E3779B97F4A7C15ULL + static_cast<unsigned char>(key[n - 1]);
  h = h * 0x9E3779B97F4A7C15ULL + static_cast<unsigned char>(key[n / 2]);
  h = h * 0x9E3779B97F4A7C15ULL + static_cast<unsigned char>(key[n - 1 - n / 4]);
  h = h * 0x9E3779B97F4A7C15ULL + static_cast<unsigned char>(key[n / 4]);
  return uint64_t{1} << (h >> 58);
}

// The live slot holding `key`, or a new slot with `key` written into it — a
// spare slot of a recycled record when there is one. Null (and the drop
// counted) when the count limit is reached.
Attribute* attribute_slot(SpanRecord& record, std::string_view key) {
  std::vector<Attribute>& attrs = record.data->attributes;
  const size_t live = record.attribute_count;
  const uint64_t bit = key_bit(key);
  if (record.key_bits & bit) {
    for (size_t i = 0; i < live; ++i) {
      if (attrs[i].key == key) return &attrs[i];
    }
  }
  if (live >= record.sdk->attribute_count_limit) {
    ++record.data->dropped_attributes_count;
    return nullptr;
  }
  if (live == attrs.size()) attrs.emplace_back();
  Attribute& slot = attrs[live];
  // Spans of one kind set the same keys in the same order, so a recycled
  // slot usually holds this key already: comparing is cheaper than copying.
  if (slot.key != key) slot.key.assign(key.data(), key.size());
  record.attribute_count = live + 1;
  record.key_bits |= bit;
  return &slot;
}

void assign_string(AttributeValue& into, std::string_view value) {
  if (auto* s = std::get_if<std::string>(&into)) {
    if (*s != value) s->assign(value.data(), value.size());
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
  const std::vector<Attribute>& attrs = record.data->attributes;
  for (size_t i = 0; i < record.attribute_count; ++i) {
    if (attrs[i].key == key) return &attrs[i].value;
  }
  return nullptr;
}

Span::~Span() {
  end();
  delete rec_;
}

Span::Span(Span&& other) noexcept : rec_(other.rec_) { other.rec_ = nullptr; }

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    delete rec_;
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
  set_record_attribute(*rec_, key, AttributeValue(value));
}

void Span::set_attribute(std::string_view key, double value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, AttributeValue(value));
}

void Span::set_attribute_value(std::string_view key, AttributeValue value) {
  if (!is_recording(rec_)) return;
  set_record_attribute(*rec_, key, std::move(value));
}

void Span::add_event(std::string_view name, std::vector<Attribute> attributes) {
  if (!is_recording(rec_)) return;
  SpanEvent event;
  event.name = std::string(name);
  event.time_unix_nano = now_unix_nano();
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
  auto elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now_steady() - rec_->start_steady);
  data.end_unix_nano = data.start_unix_nano + static_cast<uint64_t>(elapsed.count());
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
