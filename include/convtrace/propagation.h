// Carrying a trace and a conversation across processes: W3C Trace Context
// (`traceparent`, `tracestate`) and W3C Baggage (`baggage`) headers.
//
//   // Client: before sending a request.
//   std::map<std::string, std::string> headers;
//   convtrace::inject(headers);                      // from the current context
//
//   // Server: while handling it.
//   auto attached = convtrace::attach(convtrace::extract(request_headers));
//   convtrace::observe({"answer", convtrace::Kind::llm}, [&] { ... });
//
// `inject` writes the current span as `traceparent` (version 00), its
// `tracestate`, and the conversation state as `baggage`. `extract` reads them
// back into a Context whose span context is the remote parent (remote = true).
// Spans started under that context on the server belong to the same trace
// (their parent is the client's span) and carry the client's conversation id,
// user id, turn and workflow id/type — the server continues the client's turn,
// it does not claim a new one.
//
// Baggage keys (constants in attributes.h, namespace `convtrace::baggage`):
//   gen_ai.conversation.id     conversation id
//   user.id                    user id
//   gen_ai.conversation.turn   turn number (decimal, > 0); sent when a turn is in force
//   workflow.id, workflow.type the innermost workflow
//   <key>;convtrace.attr[=int|double|bool]
//                              a custom attribute listed in ConversationOptions::propagate
//                              (scalar values only; the property names the type, a
//                              string when absent). Other systems see an ordinary entry.
// Every other baggage entry (from other systems) is kept in the extracted
// context and injected again unchanged, so a service in the middle passes it on.
//
// When a server extracts a conversation with a turn and an SDK is installed,
// the SDK's conversation registry is advanced to at least that turn, so a
// later unit of work of the same conversation in this process counts on from
// the client's turn instead of starting again at 1. A conversation id without
// a turn leaves the turn to the server: its first unit of work claims the next
// turn from its own registry.
//
// Parsing follows the W3C rules: an invalid `traceparent` (wrong length,
// non-hex or uppercase digits, all-zero ids, version ff, version 00 with extra
// data) is ignored and the next span starts a new trace; later versions are
// read by their version-00 prefix. `tracestate` keeps its first 32 valid
// list-members. `baggage` accepts optional whitespace, percent-encoded UTF-8
// values and properties (an invalid property is dropped, its entry kept); at
// most 180 entries and 8192 bytes are read or written, and an entry that would
// pass either limit — or is malformed — is left out whole, never cut.
//
// Nothing here throws: on any failure inject writes less and extract returns
// less. Carriers are used by one thread at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "convtrace/trace.h"

namespace convtrace {

// Header names (lowercase, as written by inject).
inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
inline constexpr std::string_view kBaggageHeader = "baggage";

// W3C Baggage limits applied when reading and when writing.
inline constexpr size_t kBaggageMaxEntries = 180;
inline constexpr size_t kBaggageMaxBytes = 8192;
// W3C Trace Context: list-members of tracestate kept.
inline constexpr size_t kTracestateMaxMembers = 32;

// Where headers are read from and written to: adapts any HTTP library.
class TextMapCarrier {
 public:
  virtual ~TextMapCarrier() = default;
  // The value of `key`, matched without regard to case; empty when absent. The
  // view stays valid until the carrier is next modified.
  virtual std::string_view get(std::string_view key) const = 0;
  // Sets `key` to `value`, replacing every value stored under the same key in
  // any case.
  virtual void set(std::string_view key, std::string_view value) = 0;
};

namespace detail {
bool iequals(std::string_view a, std::string_view b) noexcept;

template <typename T, typename = void>
struct is_associative : std::false_type {};
template <typename T>
struct is_associative<T, std::void_t<typename T::key_type, typename T::mapped_type>>
    : std::true_type {};
}  // namespace detail

// Adapts a header container with std::string keys and values: std::map,
// std::unordered_map, std::multimap (e.g. httplib::Headers), or
// std::vector<std::pair<std::string, std::string>>. Built from a const
// container it is read-only (set does nothing). Does not own the container.
template <typename Headers>
class HeaderCarrier : public TextMapCarrier {
 public:
  explicit HeaderCarrier(Headers& headers) : read_(&headers), write_(&headers) {}
  explicit HeaderCarrier(const Headers& headers) : read_(&headers) {}

  std::string_view get(std::string_view key) const override {
    for (const auto& [k, v] : *read_) {
      if (detail::iequals(k, key)) return v;
    }
    return {};
  }

  void set(std::string_view key, std::string_view value) override {
    if (!write_) return;
    for (auto it = write_->begin(); it != write_->end();) {
      if (detail::iequals(it->first, key)) {
        it = write_->erase(it);
      } else {
        ++it;
      }
    }
    if constexpr (detail::is_associative<Headers>::value) {
      write_->emplace(std::string(key), std::string(value));
    } else {
      write_->emplace_back(std::string(key), std::string(value));
    }
  }

 private:
  const Headers* read_;
  Headers* write_ = nullptr;
};

// Adapts get/set callbacks (any HTTP library's request and response objects).
// `getter` returns the header's value or an empty string when absent; either
// callback may be empty. Exceptions thrown by a callback are caught by
// inject/extract.
class CallbackCarrier : public TextMapCarrier {
 public:
  using Getter = std::function<std::string(std::string_view key)>;
  using Setter = std::function<void(std::string_view key, std::string_view value)>;
  CallbackCarrier(Getter getter, Setter setter)
      : getter_(std::move(getter)), setter_(std::move(setter)) {}

  std::string_view get(std::string_view key) const override;
  void set(std::string_view key, std::string_view value) override;

 private:
  Getter getter_;
  Setter setter_;
  mutable std::map<std::string, std::string, std::less<>> fetched_;  // keeps views alive
};

// Writes `traceparent` (when `context` has a valid span context), `tracestate`
// (when not empty) and `baggage` (when there is conversation state or carried
// baggage) into `carrier`, replacing headers of the same names.
void inject(TextMapCarrier& carrier, const Context& context = Context::current()) noexcept;

// Reads `traceparent`, `tracestate` and `baggage` from `carrier` into a copy of
// `base`: a valid traceparent replaces its span context (remote = true); the
// baggage's conversation state and other entries replace its GenAI state
// fields. Missing or invalid headers leave the corresponding parts of `base`.
Context extract(const TextMapCarrier& carrier, const Context& base = Context()) noexcept;

// inject/extract straight on a header container (see HeaderCarrier).
template <typename Headers,
          typename = std::enable_if_t<!std::is_base_of_v<TextMapCarrier, Headers>>>
void inject(Headers& headers, const Context& context = Context::current()) noexcept {
  HeaderCarrier<Headers> carrier(headers);
  inject(static_cast<TextMapCarrier&>(carrier), context);
}
template <typename Headers,
          typename = std::enable_if_t<!std::is_base_of_v<TextMapCarrier, Headers>>>
Context extract(const Headers& headers, const Context& base = Context()) noexcept {
  const HeaderCarrier<Headers> carrier(headers);
  return extract(static_cast<const TextMapCarrier&>(carrier), base);
}

// --- The header formats, for tools and tests ----------------------------------

// Parses a traceparent value into `out` (trace id, span id, flags; remote is
// set, trace_state left empty). False when invalid; `out` is then unchanged.
bool parse_traceparent(std::string_view traceparent, SpanContext* out) noexcept;
// "00-<trace id>-<span id>-<flags>"; empty for an invalid span context. Only
// the sampled flag is written, as version 00 defines.
std::string format_traceparent(const SpanContext& span);
// The first kTracestateMaxMembers valid list-members of `tracestate`, joined
// with ","; invalid members and repeated keys are dropped.
std::string normalize_tracestate(std::string_view tracestate);

// One baggage list-member.
struct BaggageEntry {
  std::string key;
  std::string value;       // decoded (UTF-8)
  std::string properties;  // as received after the first ';' ("a=1;b"), normalized; may be empty
};

// Parses a baggage header value. Malformed entries (no '=', a key that is not
// an HTTP token, a broken percent-encoding) are left out, as are entries past
// kBaggageMaxEntries or kBaggageMaxBytes; the rest are returned in order.
std::vector<BaggageEntry> parse_baggage(std::string_view baggage);
// Formats entries as a baggage header value, percent-encoding values. Entries
// with an invalid key or properties, or that would pass the limits, are left
// out whole (counted as warning "baggage_dropped").
std::string format_baggage(const std::vector<BaggageEntry>& entries);

}  // namespace convtrace
