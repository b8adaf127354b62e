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

}  // namespace

void set_record_attribute(SpanRecord& record, std::string_view key, AttributeValue value) {
  SpanData& data = *record.data;
  truncate_to_limit(value, record.sdk->attribute_value_length_limit);
  for (Attribute& a : data.attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  if (data.attributes.size() >= record.sdk->attribute_count_limit) {
    ++data.dropped_attributes_count;
    return;
  }
  data.attributes.push_back(Attribute{std::string(key), std::move(value)});
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
  set_record_attribute(*rec_, key, AttributeValue(std::string(value)));
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
