// StreamAccumulator: splits raw bytes into lines, picks the JSON payload of
// each (SSE `data:` or a bare JSON line), and merges what each chunk reports.
#include <string>

#include "convtrace/usage.h"
#include "usage/usage_parse.h"

namespace convtrace {

namespace {

// A hostile or broken stream without newlines must not grow memory forever.
constexpr size_t kMaxLine = 16u << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct StreamAccumulator::Impl {
  std::string provider_hint;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<std::chrono::nanoseconds> first_chunk;
  uint64_t bad = 0;

  std::string line;         // bytes of the current, unfinished line
  bool discarding = false;  // inside an over-long line, until its newline

  usage_internal::Facts merged;
  usage_internal::Shape shape = usage_internal::Shape::unknown;
  bool finished = false;

  void on_line(std::string_view raw) {
    std::string_view text = trim(raw);
    if (text.empty() || text.front() == ':') return;  // blank (event end) or SSE comment
    std::string_view payload;
    if (text.substr(0, 5) == "data:") {
      payload = trim(text.substr(5));
    } else if (text.front() == '{') {
      payload = text;  // JSON lines / NDJSON
    } else {
      return;  // event:, id:, retry:, or something unknown such as "..."
    }
    if (payload.empty() || payload == "[DONE]") return;
    on_chunk(payload);
  }

  void on_chunk(std::string_view json) {
    usage_internal::Facts facts;
    if (Error err = usage_internal::parse_facts(json, facts)) {
      ++bad;
      return;
    }
    if (!first_chunk) first_chunk = std::chrono::steady_clock::now() - started;
    if (shape == usage_internal::Shape::unknown) shape = facts.shape();
    merged.counts.merge_from(facts.counts);
    if (!facts.model.empty()) merged.model = facts.model;
    if (!facts.response_id.empty()) merged.response_id = facts.response_id;
    for (auto& reason : facts.finish_reasons) merged.finish_reasons.push_back(std::move(reason));
    merged.gemini |= facts.gemini;
    merged.bedrock |= facts.bedrock;
    merged.cohere |= facts.cohere;
    merged.anthropic |= facts.anthropic;
    merged.responses |= facts.responses;
    merged.openai_chat |= facts.openai_chat;
    merged.ollama |= facts.ollama;
    merged.llamacpp_native |= facts.llamacpp_native;
    merged.llamacpp_timings |= facts.llamacpp_timings;
    merged.azure |= facts.azure;
  }

  void feed(std::string_view bytes) {
    while (!bytes.empty()) {
      const size_t nl = bytes.find('\n');
      const std::string_view piece = bytes.substr(0, nl);
      if (discarding) {
        if (nl == std::string_view::npos) return;
        discarding = false;
      } else if (line.size() + piece.size() > kMaxLine) {
        ++bad;
        line.clear();
        if (nl == std::string_view::npos) {
          discarding = true;
          return;
        }
      } else if (nl == std::string_view::npos) {
        line.append(piece);
        return;
      } else if (line.empty()) {
        on_line(piece);  // the common case: a whole line inside one read
      } else {
        line.append(piece);
        on_line(line);
        line.clear();
      }
      bytes.remove_prefix(nl + 1);
    }
  }
};

StreamAccumulator::StreamAccumulator(std::string_view provider_hint) : impl_(nullptr) {
  try {
    impl_ = new Impl;
    impl_->provider_hint.assign(provider_hint);
  } catch (...) {
    delete impl_;
    impl_ = nullptr;  // every method treats a null impl as an empty stream
  }
}

StreamAccumulator::~StreamAccumulator() { delete impl_; }

StreamAccumulator::StreamAccumulator(StreamAccumulator&& other) noexcept : impl_(other.impl_) {
  other.impl_ = nullptr;
}

StreamAccumulator& StreamAccumulator::operator=(StreamAccumulator&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}

void StreamAccumulator::feed(std::string_view bytes) {
  if (impl_ == nullptr || impl_->finished) return;
  try {
    impl_->feed(bytes);
  } catch (...) {
    ++impl_->bad;  // allocation failure: lose this piece, keep the stream
  }
}

Expected<Usage> StreamAccumulator::finish() {
  if (impl_ == nullptr) return Error{Error::internal, "stream accumulator has no state"};
  try {
    if (!impl_->finished) {
      impl_->finished = true;
      if (!impl_->discarding && !impl_->line.empty()) impl_->on_line(impl_->line);
      impl_->line.clear();
      impl_->line.shrink_to_fit();
    }
    auto usage = usage_internal::normalize(impl_->merged, impl_->shape, impl_->provider_hint);
    if (!usage && usage.error().code == Error::not_found) {
      return Error{Error::not_found, "the stream carried no token usage"};
    }
    return usage;
  } catch (const std::exception& e) {
    return Error{Error::internal, std::string("stream usage failed: ") + e.what()};
  }
}

std::optional<std::chrono::nanoseconds> StreamAccumulator::time_to_first_chunk() const {
  if (impl_ == nullptr) return std::nullopt;
  return impl_->first_chunk;
}

uint64_t StreamAccumulator::bad_chunks() const { return impl_ == nullptr ? 0 : impl_->bad; }

}  // namespace convtrace
