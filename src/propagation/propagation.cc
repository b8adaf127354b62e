// inject/extract: the current context to and from W3C headers.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>

#include "common/diagnostics.h"
#include "convtrace/attributes.h"
#include "convtrace/propagation.h"
#include "genai/registry.h"
#include "trace/context_internal.h"
#include "trace/genai_state.h"
#include "trace/sdk_state.h"

namespace convtrace {

namespace detail {
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace detail

std::string_view CallbackCarrier::get(std::string_view key) const {
  if (!getter_) return {};
  std::string value = getter_(key);
  auto it = fetched_.find(key);
  if (it == fetched_.end()) it = fetched_.emplace(std::string(key), std::string()).first;
  it->second = std::move(value);
  return it->second;
}

void CallbackCarrier::set(std::string_view key, std::string_view value) {
  if (setter_) setter_(key, value);
}

namespace {

constexpr std::string_view kTypeInt = "int";
constexpr std::string_view kTypeDouble = "double";
constexpr std::string_view kTypeBool = "bool";

// A custom attribute as a baggage entry; false for arrays (not propagated).
bool attribute_entry(const Attribute& a, BaggageEntry* out) {
  std::string type;
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    out->value = *s;
  } else if (const auto* i = std::get_if<int64_t>(&a.value)) {
    out->value = std::to_string(*i);
    type = kTypeInt;
  } else if (const auto* d = std::get_if<double>(&a.value)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    out->value = buf;
    type = kTypeDouble;
  } else if (const auto* b = std::get_if<bool>(&a.value)) {
    out->value = *b ? "true" : "false";
    type = kTypeBool;
  } else {
    return false;
  }
  out->key = a.key;
  out->properties = std::string(baggage::kAttributeProperty);
  if (!type.empty()) out->properties += "=" + type;
  return true;
}

// The attribute type named by an entry's properties: "" when the entry is not
// a custom attribute, else "string", "int", "double" or "bool".
std::string attribute_type(std::string_view properties) {
  while (!properties.empty()) {
    size_t semi = properties.find(';');
    std::string_view prop = properties.substr(0, semi);
    size_t eq = prop.find('=');
    if (prop.substr(0, eq) == baggage::kAttributeProperty) {
      return eq == std::string_view::npos ? std::string("string")
                                          : std::string(prop.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    properties.remove_prefix(semi + 1);
  }
  return {};
}

AttributeValue typed_value(const std::string& type, const std::string& text) {
  if (type == kTypeInt) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end == text.c_str() + text.size() && errno == 0) {
      return static_cast<int64_t>(v);
    }
  } else if (type == kTypeDouble) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) return v;
  } else if (type == kTypeBool) {
    if (text == "true") return true;
    if (text == "false") return false;
  }
  return text;  // strings, and anything that does not read as its type
}

// A turn number: decimal, 1 … 2^53 (what every language's JSON number holds).
int64_t parse_turn(const std::string& text) {
  if (text.empty() || text.size() > 16) return 0;
  int64_t turn = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    turn = turn * 10 + (c - '0');
  }
  return turn <= (int64_t{1} << 53) ? turn : 0;
}

void upsert_attribute(std::vector<Attribute>& attrs, const std::string& key, AttributeValue value) {
  for (Attribute& a : attrs) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  attrs.push_back(Attribute{key, std::move(value)});
}

bool is_conversation_key(std::string_view key) {
  return key == baggage::kConversationId || key == baggage::kUserId ||
         key == baggage::kConversationTurn || key == baggage::kWorkflowId ||
         key == baggage::kWorkflowType;
}

std::vector<BaggageEntry> baggage_of(const GenAiState& g) {
  std::vector<BaggageEntry> entries;
  if (!g.conversation_id.empty()) {
    entries.push_back({std::string(baggage::kConversationId), g.conversation_id, {}});
    int64_t turn = g.turn > 0 ? g.turn : g.explicit_turn;
    if (turn > 0) {
      entries.push_back({std::string(baggage::kConversationTurn), std::to_string(turn), {}});
    }
  }
  if (!g.user_id.empty()) entries.push_back({std::string(baggage::kUserId), g.user_id, {}});
  if (!g.workflow_id.empty()) {
    entries.push_back({std::string(baggage::kWorkflowId), g.workflow_id, {}});
  }
  if (!g.workflow_type.empty()) {
    entries.push_back({std::string(baggage::kWorkflowType), g.workflow_type, {}});
  }
  for (const std::string& key : g.propagate) {
    if (is_conversation_key(key)) continue;
    for (const Attribute& a : g.attributes) {
      BaggageEntry e;
      if (a.key == key && attribute_entry(a, &e)) entries.push_back(std::move(e));
    }
  }
  for (const BaggageEntry& e : g.baggage) {
    bool shadowed = false;
    for (const BaggageEntry& ours : entries) shadowed = shadowed || ours.key == e.key;
    if (!shadowed) entries.push_back(e);
  }
  return entries;
}

// Makes the local registry count on from a turn received from another process.
void advance_registry(const std::string& conversation_id, int64_t turn, GenAiState& state) {
  SdkState* sdk = installed_state();
  if (!sdk || !sdk->registry) return;
  std::shared_ptr<ConversationEntry> entry = sdk->registry->get(conversation_id);
  int64_t seen = entry->last_turn.load(std::memory_order_relaxed);
  while (seen < turn && !entry->last_turn.compare_exchange_weak(seen, turn)) {
  }
  state.conversation = std::move(entry);
}

}  // namespace

void inject(TextMapCarrier& carrier, const Context& context) noexcept {
  try {
    const SpanContext& span = context.span_context();
    if (span.valid()) {
      carrier.set(kTraceparentHeader, format_traceparent(span));
      if (!span.trace_state.empty()) carrier.set(kTracestateHeader, span.trace_state);
    }
    if (const GenAiState* g = context.genai().get()) {
      std::string header = format_baggage(baggage_of(*g));
      if (!header.empty()) carrier.set(kBaggageHeader, header);
    }
  } catch (...) {
    report_warning("propagation_failed", "inject: headers could not be written");
  }
}

Context extract(const TextMapCarrier& carrier, const Context& base) noexcept {
  try {
    Context result = base;
    SpanContext span;
    if (parse_traceparent(carrier.get(kTraceparentHeader), &span)) {
      span.trace_state = normalize_tracestate(carrier.get(kTracestateHeader));
      result = std::move(result).with_span_context(std::move(span));
    }

    std::vector<BaggageEntry> entries = parse_baggage(carrier.get(kBaggageHeader));
    if (entries.empty()) return result;
    const GenAiState* outer = base.genai().get();
    auto state = outer ? std::make_shared<GenAiState>(*outer) : std::make_shared<GenAiState>();
    state->baggage.clear();
    int64_t turn = 0;
    bool has_conversation = false;
    for (BaggageEntry& e : entries) {
      if (e.key == baggage::kConversationId) {
        has_conversation = !e.value.empty();
        if (state->conversation_id != e.value) {
          state->conversation_id = std::move(e.value);
          state->turn = 0;
          state->explicit_turn = 0;
          state->conversation.reset();
          state->turn_totals.reset();
        }
      } else if (e.key == baggage::kConversationTurn) {
        turn = parse_turn(e.value);
        if (turn == 0) {
          report_warning("bad_baggage", std::string(baggage::kConversationTurn) + "='" + e.value +
                                            "' is not a positive integer; ignored");
        }
      } else if (e.key == baggage::kUserId) {
        state->user_id = std::move(e.value);
      } else if (e.key == baggage::kWorkflowId) {
        state->workflow_id = std::move(e.value);
      } else if (e.key == baggage::kWorkflowType) {
        state->workflow_type = std::move(e.value);
      } else if (std::string type = attribute_type(e.properties); !type.empty()) {
        upsert_attribute(state->attributes, e.key, typed_value(type, e.value));
        bool known = false;
        for (const std::string& k : state->propagate) known = known || k == e.key;
        if (!known) state->propagate.push_back(e.key);
      } else {
        state->baggage.push_back(std::move(e));
      }
    }
    if (has_conversation && turn > 0) {
      // Spans here continue the caller's turn rather than claiming a new one.
      state->turn = turn;
      state->explicit_turn = 0;
      state->turn_totals.reset();
      advance_registry(state->conversation_id, turn, *state);
    }
    return std::move(result).with_genai(std::move(state));
  } catch (...) {
    report_warning("propagation_failed", "extract: headers could not be read");
    return base;
  }
}

}  // namespace convtrace
