#include "dialects/dialects.h"

#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "convtrace/attributes.h"
#include "convtrace/pricing.h"
#include "genai/operation.h"

namespace convtrace::dialects {
namespace {

// What an attribute key tells.
enum class Field : uint8_t {
  input,
  output,
  cache_read,
  cache_write,
  reasoning,
  model,
  provider,
  cost,
  conversation,
  user,
  kind,
  operation,         // gen_ai.operation.name: a kind, and whether usage is an aggregate
  vercel_operation,  // ai.operationId: the same for the Vercel AI SDK
  langfuse_usage,    // JSON object of usage types
  marker,            // written by convtrace only
  count,
};

// How a value is to be read.
enum class Vocab : uint8_t {
  none,
  provider_semconv,   // gen_ai.provider.name
  provider_system,    // gen_ai.system (older value spellings)
  provider_oi,        // llm.provider / llm.system
  provider_vercel,    // ai.model.provider ("openai.chat", "anthropic.messages", …)
  cost_pico,          // an integer in pico-USD
  cost_usd,           // USD
  cost_json,          // Langfuse cost_details
  kind_l9,            // llm, tool, chain, agent, retriever, embedding, workflow, reranker
  kind_oi,            // LLM, TOOL, CHAIN, …
  kind_traceloop,     // workflow, task, agent, tool
  kind_langfuse,      // generation, span, agent, tool, …
  kind_request_type,  // llm.request.type: chat, completion, embedding
};

struct KeyInfo {
  std::string_view key;
  Field field = Field::count;
  uint8_t priority = 0;  // lower wins among keys of one field
  uint32_t dialect = 0;
  Vocab vocab = Vocab::none;
};

namespace a = attr;

// Every key read, by field; within a field, in the order they win.
constexpr KeyInfo kKeys[] = {
    {a::kInputTokens, Field::input, 0, kOtelGenAi},
    {a::kPromptTokensDeprecated, Field::input, 1, kOtelGenAiDeprecated},
    {a::kOiPromptTokens, Field::input, 2, kOpenInference},
    {a::kAiInputTokens, Field::input, 3, kVercelAi},
    {a::kAiPromptTokens, Field::input, 4, kVercelAi},
    {a::kLlmUsagePromptTokens, Field::input, 5, kOpenLlmetry},

    {a::kOutputTokens, Field::output, 0, kOtelGenAi},
    {a::kCompletionTokensDeprecated, Field::output, 1, kOtelGenAiDeprecated},
    {a::kOiCompletionTokens, Field::output, 2, kOpenInference},
    {a::kAiOutputTokens, Field::output, 3, kVercelAi},
    {a::kAiCompletionTokens, Field::output, 4, kVercelAi},
    {a::kLlmUsageCompletionTokens, Field::output, 5, kOpenLlmetry},

    {a::kCacheReadInputTokens, Field::cache_read, 0, kOtelGenAi},
    {a::kTraceloopCacheReadTokens, Field::cache_read, 1, kOpenLlmetry},
    {a::kOiCacheReadTokens, Field::cache_read, 2, kOpenInference},
    {a::kAiCachedInputTokens, Field::cache_read, 3, kVercelAi},

    {a::kCacheCreationInputTokens, Field::cache_write, 0, kOtelGenAi},
    {a::kTraceloopCacheCreationTokens, Field::cache_write, 1, kOpenLlmetry},
    {a::kOiCacheWriteTokens, Field::cache_write, 2, kOpenInference},

    {a::kReasoningOutputTokens, Field::reasoning, 0, kOtelGenAi},
    {a::kTraceloopReasoningTokens, Field::reasoning, 1, kOpenLlmetry},
    {a::kOiReasoningTokens, Field::reasoning, 2, kOpenInference},
    {a::kAiReasoningTokens, Field::reasoning, 3, kVercelAi},

    {a::kResponseModel, Field::model, 0, kOtelGenAi},
    {a::kRequestModel, Field::model, 1, kOtelGenAi},
    {a::kOiModelName, Field::model, 2, kOpenInference},
    {a::kOiEmbeddingModelName, Field::model, 3, kOpenInference},
    {a::kAiResponseModel, Field::model, 4, kVercelAi},
    {a::kAiModelId, Field::model, 5, kVercelAi},
    {a::kLangfuseModel, Field::model, 6, kLangfuse},

    {a::kProviderName, Field::provider, 0, kOtelGenAi, Vocab::provider_semconv},
    {a::kSystemDeprecated, Field::provider, 1, kOtelGenAiDeprecated, Vocab::provider_system},
    {a::kOiProvider, Field::provider, 2, kOpenInference, Vocab::provider_oi},
    {a::kOiSystem, Field::provider, 3, kOpenInference, Vocab::provider_oi},
    {a::kAiModelProvider, Field::provider, 4, kVercelAi, Vocab::provider_vercel},

    {a::kCostPicoUsd, Field::cost, 0, kConvtrace, Vocab::cost_pico},
    {a::kCostUsd, Field::cost, 1, kConvtrace, Vocab::cost_usd},
    {a::kCostGeneric, Field::cost, 2, kOpenLit, Vocab::cost_usd},
    {a::kOiCostTotal, Field::cost, 3, kOpenInference, Vocab::cost_usd},
    {a::kLangfuseCostDetails, Field::cost, 4, kLangfuse, Vocab::cost_json},

    {a::kConversationId, Field::conversation, 0, kOtelGenAi},
    {a::kSessionId, Field::conversation, 1, kOpenInference},
    {a::kLangfuseSessionId, Field::conversation, 2, kLangfuse},
    {a::kTraceloopSessionId, Field::conversation, 3, kOpenLlmetry},
    {a::kTraceloopConversationId, Field::conversation, 4, kOpenLlmetry},
    {a::kAiSessionId, Field::conversation, 5, kVercelAi},

    // user.id is a general OpenTelemetry key; every dialect but these uses it.
    {a::kUserId, Field::user, 0, 0},
    {a::kLangfuseUserId, Field::user, 1, kLangfuse},
    {a::kTraceloopUserId, Field::user, 2, kOpenLlmetry},
    {a::kAiUserId, Field::user, 3, kVercelAi},

    {a::kSpanKind, Field::kind, 0, kConvtrace, Vocab::kind_l9},
    {a::kOpenInferenceSpanKind, Field::kind, 1, kOpenInference, Vocab::kind_oi},
    {a::kTraceloopSpanKind, Field::kind, 2, kOpenLlmetry, Vocab::kind_traceloop},
    {a::kLangfuseObservationType, Field::kind, 3, kLangfuse, Vocab::kind_langfuse},
    {a::kLlmRequestType, Field::kind, 4, kOpenLlmetry, Vocab::kind_request_type},

    {a::kOperationName, Field::operation, 0, kOtelGenAi},
    {a::kAiOperationId, Field::vercel_operation, 0, kVercelAi},
    {a::kLangfuseUsageDetails, Field::langfuse_usage, 0, kLangfuse},

    {a::kPricedAs, Field::marker, 0, kConvtrace},
    {a::kUnpricedModel, Field::marker, 1, kConvtrace},
    // Totals and cost parts: known, and deliberately not read as a call's
    // usage (they repeat it, or sum other spans').
    {a::kInputCostUsd, Field::marker, 2, kConvtrace},
    {a::kOutputCostUsd, Field::marker, 3, kConvtrace},
    {a::kWorkflowTotalCostUsd, Field::marker, 4, kConvtrace},
    {a::kWorkflowTotalCostPico, Field::marker, 5, kConvtrace},
    {a::kWorkflowInputTokens, Field::marker, 6, kConvtrace},
    {a::kWorkflowOutputTokens, Field::marker, 7, kConvtrace},
    {a::kConversationTotalCostUsd, Field::marker, 8, kConvtrace},
    {a::kOiTotalTokens, Field::marker, 9, kOpenInference},
    {a::kTotalTokens, Field::marker, 10, 0},  // OpenLIT and OpenLLMetry alike
    {a::kLlmUsageTotalTokens, Field::marker, 11, kOpenLlmetry},
};
constexpr size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

constexpr size_t max_key_length() {
  size_t n = 0;
  for (const KeyInfo& k : kKeys) n = k.key.size() > n ? k.key.size() : n;
  return n;
}
constexpr size_t kMaxKeyLength = max_key_length();

// The keys ordered by length, and where each length starts: a look-up
// compares only keys of its own length (one to four of them).
struct LengthIndex {
  std::array<KeyInfo, kKeyCount> keys{};
  std::array<uint16_t, kMaxKeyLength + 2> start{};
  // Per length, one bit of a small hash of each key of that length: most
  // keys of other SDKs are refused by it without a comparison.
  std::array<uint64_t, kMaxKeyLength + 1> hashes{};
};

// Mixes the first, middle and last bytes (the length is the bucket already).
constexpr uint64_t hash_bit(std::string_view key) {
  const size_t n = key.size();
  const unsigned h = static_cast<unsigned char>(key[0]) +
                     3u * static_cast<unsigned char>(key[n / 2]) +
                     7u * static_cast<unsigned char>(key[n - 1]);
  return uint64_t{1} << (h & 63u);
}

constexpr LengthIndex make_index() {
  LengthIndex index;
  size_t at = 0;
  for (size_t length = 0; length <= kMaxKeyLength; ++length) {
    index.start[length] = static_cast<uint16_t>(at);
    for (const KeyInfo& k : kKeys) {
      if (k.key.size() != length) continue;
      index.keys[at++] = k;
      index.hashes[length] |= hash_bit(k.key);
    }
  }
  index.start[kMaxKeyLength + 1] = static_cast<uint16_t>(at);
  return index;
}
constexpr LengthIndex kIndex = make_index();
static_assert(kIndex.start[kMaxKeyLength + 1] == kKeyCount, "every key is indexed");

constexpr bool keys_distinct() {
  for (size_t i = 0; i < kKeyCount; ++i) {
    for (size_t j = i + 1; j < kKeyCount; ++j) {
      if (kKeys[i].key == kKeys[j].key) return false;
    }
  }
  return true;
}
static_assert(keys_distinct(), "a key is listed once");

// The comparisons, for a key that passed the hash bit; kept out of line so
// that refusing a key (the common case) saves no registers.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
const KeyInfo*
compare_keys(std::string_view key) noexcept {
  const size_t n = key.size();
  for (size_t i = kIndex.start[n]; i < kIndex.start[n + 1]; ++i) {
    const KeyInfo& k = kIndex.keys[i];
    // The last bytes differ between most keys of one length ("…_tokens" vs "…_id").
    if (k.key[n - 1] == key[n - 1] && k.key[n - 2] == key[n - 2] &&
        std::memcmp(k.key.data(), key.data(), n) == 0) {
      return &k;
    }
  }
  return nullptr;
}

const KeyInfo* find_key(std::string_view key) noexcept {
  const size_t n = key.size();
  if (n < 2 || n > kMaxKeyLength || !(kIndex.hashes[n] & hash_bit(key))) return nullptr;
  return compare_keys(key);
}

// --- Values ---------------------------------------------------------------------

std::string describe(const AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          return buf;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return "'" + (x.size() > 40 ? x.substr(0, 40) + "…" : x) + "'";
        } else {
          return "an array";
        }
      },
      v);
}

// A whole number from the text of a JSON-speaking SDK ("123"); nullopt otherwise.
std::optional<int64_t> parse_decimal(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

// A token count: an integer, or a double or decimal text holding one (JSON
// exporters may send either). Anything else, and negative counts, are problems.
std::optional<int64_t> token_count(std::string_view key, const AttributeValue& v, Counts counts,
                                   std::vector<Problem>& problems) {
  std::optional<int64_t> n;
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    n = *i;
  } else if (const double* d = std::get_if<double>(&v)) {
    if (std::isfinite(*d) && std::fabs(*d) < 9.0e15 && std::floor(*d) == *d) {
      n = static_cast<int64_t>(*d);
    } else {
      problems.push_back({std::string(key), "token count is not an integer: " + describe(v), true});
      return std::nullopt;
    }
  } else if (const std::string* s = std::get_if<std::string>(&v)) {
    if (counts == Counts::numbers_only) {
      problems.push_back({std::string(key), "token count is text: " + describe(v), true});
      return std::nullopt;
    }
    n = parse_decimal(*s);
  }
  if (!n) {
    problems.push_back({std::string(key), "token count is not a number: " + describe(v), true});
    return std::nullopt;
  }
  if (*n < 0) {
    problems.push_back({std::string(key), "negative token count " + std::to_string(*n), true});
    return std::nullopt;
  }
  return n;
}

std::optional<double> number(const AttributeValue& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const std::string* s = std::get_if<std::string>(&v)) {
    if (s->empty()) return std::nullopt;
    char* end = nullptr;
    double d = std::strtod(s->c_str(), &end);
    if (end == s->c_str() + s->size()) return d;
  }
  return std::nullopt;
}

const std::string* text(const AttributeValue* v) {
  const std::string* s = v ? std::get_if<std::string>(v) : nullptr;
  return s && !s->empty() ? s : nullptr;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Provider names as the GenAI conventions spell them (usage.h provider::).
std::string provider_name(std::string_view value, Vocab vocab) {
  if (vocab == Vocab::provider_semconv) return std::string(value);  // already the convention's
  std::string v = lower(value);
  if (vocab == Vocab::provider_vercel) {
    // "openai.chat", "anthropic.messages", "google.generative-ai", "amazon-bedrock", …
    v = v.substr(0, v.find('.'));
  }
  struct Alias {
    std::string_view from, to;
  };
  static constexpr Alias kAliases[] = {
      {"az.ai.openai", provider::kAzureOpenAi},
      {"azure", provider::kAzureOpenAi},
      {"azure-openai", provider::kAzureOpenAi},
      {"google", provider::kGemini},
      {"gemini", provider::kGemini},
      {"google.ai.studio", provider::kGemini},
      {"vertex_ai", provider::kVertexAi},
      {"vertexai", provider::kVertexAi},
      {"google-vertex", provider::kVertexAi},
      {"aws", provider::kBedrock},
      {"bedrock", provider::kBedrock},
      {"amazon-bedrock", provider::kBedrock},
      {"mistralai", provider::kMistral},
      {"mistral", provider::kMistral},
      {"xai", "x_ai"},
  };
  for (const Alias& alias : kAliases) {
    if (v == alias.from) return std::string(alias.to);
  }
  return v;
}

Kind kind_from(std::string_view value, Vocab vocab) {
  struct Name {
    std::string_view name;
    Kind kind;
  };
  static constexpr Name kL9[] = {
      {"llm", Kind::llm},           {"tool", Kind::tool},           {"chain", Kind::chain},
      {"agent", Kind::agent},       {"retriever", Kind::retriever}, {"embedding", Kind::embedding},
      {"workflow", Kind::workflow}, {"reranker", Kind::reranker}};
  static constexpr Name kTraceloop[] = {{"workflow", Kind::workflow},
                                        {"task", Kind::chain},
                                        {"agent", Kind::agent},
                                        {"tool", Kind::tool}};
  static constexpr Name kLangfuse[] = {{"generation", Kind::llm}, {"embedding", Kind::embedding},
                                       {"agent", Kind::agent},    {"tool", Kind::tool},
                                       {"chain", Kind::chain},    {"retriever", Kind::retriever}};
  static constexpr Name kRequestType[] = {
      {"chat", Kind::llm}, {"completion", Kind::llm}, {"embedding", Kind::embedding}};
  std::string v = lower(value);
  auto match = [&](const auto& table) {
    for (const Name& n : table) {
      if (v == n.name) return n.kind;
    }
    return Kind::none;
  };
  switch (vocab) {
    case Vocab::kind_l9:
    case Vocab::kind_oi:  // the same words in capitals
      return match(kL9);
    case Vocab::kind_traceloop:
      return match(kTraceloop);
    case Vocab::kind_langfuse:
      return match(kLangfuse);
    case Vocab::kind_request_type:
      return match(kRequestType);
    default:
      return Kind::none;
  }
}

// A Vercel AI SDK operation id: the calls, and the spans around them.
bool vercel_call(std::string_view op) {
  return ends_with(op, ".doGenerate") || ends_with(op, ".doStream") || ends_with(op, ".doEmbed");
}

// Langfuse usage_details: {"input": 10, "output": 5, "input_cached_tokens": 3, …}
// where input and output leave their parts out, or the OpenAI shape
// {"prompt_tokens": …, "completion_tokens": …, "prompt_tokens_details": {…}}.
struct JsonUsage {
  std::optional<int64_t> input, output, cache_read, cache_write, reasoning;
};

std::optional<int64_t> json_count(simdjson::dom::element e) {
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) && std::floor(d) == d &&
      std::fabs(d) < 9.0e15) {
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool read_langfuse_usage(std::string_view json, JsonUsage* out, std::string* problem) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get_object().get(obj) != simdjson::SUCCESS) {
    *problem = "usage details are not a JSON object";
    return false;
  }
  auto add = [](std::optional<int64_t>& into, int64_t v) { into = into.value_or(0) + v; };
  bool openai_shape = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "prompt_tokens_details" || key == "completion_tokens_details") {
      simdjson::dom::object details;
      if (field.value.get_object().get(details) != simdjson::SUCCESS) continue;
      for (auto d : details) {
        std::optional<int64_t> n = json_count(d.value);
        if (!n) continue;
        if (d.key == "cached_tokens") out->cache_read = *n;
        if (d.key == "reasoning_tokens") out->reasoning = *n;
      }
      continue;
    }
    std::optional<int64_t> n = json_count(field.value);
    if (!n) continue;
    if (*n < 0) {
      *problem = "negative count for '" + std::string(key) + "'";
      return false;
    }
    if (key == "prompt_tokens") {
      openai_shape = true;
      out->input = *n;
    } else if (key == "completion_tokens") {
      openai_shape = true;
      out->output = *n;
    } else if (key == "input" || key == "output") {
      add(key == "input" ? out->input : out->output, *n);
    } else if (starts_with(key, "input_") || key == "cache_read_input_tokens" ||
               key == "cache_creation_input_tokens") {
      // Every input_* type is a part of the input that `input` leaves out.
      if (!openai_shape) add(out->input, *n);
      if (key == "input_cached_tokens" || key == "input_cache_read" ||
          key == "cache_read_input_tokens") {
        add(out->cache_read, *n);
      } else if (starts_with(key, "input_cache_creation") || key == "input_cache_write" ||
                 key == "cache_creation_input_tokens") {
        add(out->cache_write, *n);
      }
    } else if (starts_with(key, "output_")) {
      if (!openai_shape) add(out->output, *n);
      if (key == "output_reasoning_tokens" || key == "output_reasoning") add(out->reasoning, *n);
    }
  }
  return true;
}

std::optional<double> read_langfuse_cost(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get_object().get(obj) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  double total = 0, sum = 0;
  bool has_total = false, any = false;
  for (auto field : obj) {
    double d = 0;
    if (field.value.get_double().get(d) != simdjson::SUCCESS) {
      int64_t i = 0;
      if (field.value.get_int64().get(i) != simdjson::SUCCESS) continue;
      d = static_cast<double>(i);
    }
    if (field.key == "total") {
      total = d;
      has_total = true;
    } else {
      sum += d;
      any = true;
    }
  }
  if (has_total) return total;
  if (any) return sum;
  return std::nullopt;
}

// Keys like "myframework.prompt_tokens" or "x.cost": usage in a dialect convtrace does not know.
bool looks_like_usage(const Attribute& attr) {
  if (!std::holds_alternative<int64_t>(attr.value) && !std::holds_alternative<double>(attr.value)) {
    return false;
  }
  std::string key = lower(attr.key);
  return key.find("token") != std::string::npos || ends_with(key, "cost") ||
         ends_with(key, "cost_usd");
}

struct Slot {
  const AttributeValue* value = nullptr;
  const KeyInfo* info = nullptr;
};

void read(const std::vector<Attribute>& attrs, Counts counts, SpanReading& r) {
  Slot slots[static_cast<size_t>(Field::count)];
  const Attribute* unknown_usage = nullptr;
  for (const Attribute& attr : attrs) {
    const KeyInfo* k = find_key(attr.key);
    if (!k) {
      if (!unknown_usage && looks_like_usage(attr)) unknown_usage = &attr;
      continue;
    }
    r.dialects |= k->dialect;
    Slot& s = slots[static_cast<size_t>(k->field)];
    if (!s.info || k->priority < s.info->priority) s = Slot{&attr.value, k};
  }
  auto slot = [&](Field f) -> const Slot& { return slots[static_cast<size_t>(f)]; };
  const bool by_convtrace = (r.dialects & kConvtrace) != 0;
  // gen_ai.usage.cost is OpenLIT's key, and convtrace writes it too.
  if (by_convtrace) r.dialects &= ~static_cast<uint32_t>(kOpenLit);

  auto count = [&](Field f) -> std::optional<int64_t> {
    const Slot& s = slot(f);
    return s.value ? token_count(s.info->key, *s.value, counts, r.problems) : std::nullopt;
  };
  Usage& u = r.usage;
  u.input_tokens = count(Field::input);
  u.output_tokens = count(Field::output);
  u.cache_read_tokens = count(Field::cache_read);
  u.cache_write_tokens = count(Field::cache_write);
  u.reasoning_tokens = count(Field::reasoning);

  if (!u.has_tokens()) {
    if (const std::string* json = text(slot(Field::langfuse_usage).value)) {
      JsonUsage j;
      std::string problem;
      if (read_langfuse_usage(*json, &j, &problem)) {
        u.input_tokens = j.input;
        u.output_tokens = j.output;
        u.cache_read_tokens = j.cache_read;
        u.cache_write_tokens = j.cache_write;
        u.reasoning_tokens = j.reasoning;
      } else {
        r.problems.push_back({std::string(attr::kLangfuseUsageDetails), problem});
      }
    }
  }

  // Parts larger than their total were counted beside it, not in it.
  int64_t cache_parts = u.cache_read_tokens.value_or(0) + u.cache_write_tokens.value_or(0);
  if (u.input_tokens && cache_parts > *u.input_tokens) {
    r.problems.push_back(
        {std::string(slot(Field::input).info ? slot(Field::input).info->key : attr::kInputTokens),
         "cache reads and writes (" + std::to_string(cache_parts) + ") exceed the input (" +
             std::to_string(*u.input_tokens) + "); counted as not included in it"});
    *u.input_tokens += cache_parts;
  }
  if (u.output_tokens && u.reasoning_tokens && *u.reasoning_tokens > *u.output_tokens) {
    r.problems.push_back({std::string(slot(Field::output).info ? slot(Field::output).info->key
                                                               : attr::kOutputTokens),
                          "reasoning tokens (" + std::to_string(*u.reasoning_tokens) +
                              ") exceed the output (" + std::to_string(*u.output_tokens) +
                              "); counted as not included in it"});
    *u.output_tokens += *u.reasoning_tokens;
  }

  if (const std::string* model = text(slot(Field::model).value)) u.model = *model;
  if (const Slot& p = slot(Field::provider); const std::string* name = text(p.value)) {
    u.provider = provider_name(*name, p.info->vocab);
  }

  if (const Slot& c = slot(Field::cost); c.value) {
    std::optional<double> usd;
    if (c.info->vocab == Vocab::cost_pico) {
      if (const int64_t* pico = std::get_if<int64_t>(c.value)) {
        r.sent_cost_pico = *pico;
        r.priced_by_convtrace = true;
      } else {
        r.problems.push_back(
            {std::string(c.info->key), "cost is not an integer: " + describe(*c.value)});
      }
    } else if (c.info->vocab == Vocab::cost_json) {
      if (const std::string* json = text(c.value)) usd = read_langfuse_cost(*json);
      if (!usd) r.problems.push_back({std::string(c.info->key), "cost details unreadable"});
    } else {
      usd = number(*c.value);
      if (!usd)
        r.problems.push_back(
            {std::string(c.info->key), "cost is not a number: " + describe(*c.value)});
    }
    if (usd) {
      r.sent_cost_pico = usd_to_pico(*usd);
      if (!r.sent_cost_pico) {
        r.problems.push_back(
            {std::string(c.info->key), "cost out of range: " + describe(*c.value)});
      }
    }
    if (r.sent_cost_pico && *r.sent_cost_pico < 0) {
      r.problems.push_back({std::string(c.info->key), "negative cost " + describe(*c.value)});
      r.sent_cost_pico.reset();
      r.priced_by_convtrace = false;
    }
  }

  if (const std::string* id = text(slot(Field::conversation).value)) r.conversation_id = *id;
  if (const std::string* id = text(slot(Field::user).value)) r.user_id = *id;

  const std::string* operation = text(slot(Field::operation).value);
  const std::string* vercel = text(slot(Field::vercel_operation).value);
  if (const Slot& k = slot(Field::kind); const std::string* name = text(k.value)) {
    r.kind = kind_from(*name, k.info->vocab);
  }
  if (r.kind == Kind::none && operation) r.kind = kind_for_operation(*operation);
  if (r.kind == Kind::none && vercel) {
    if (ends_with(*vercel, ".doEmbed")) {
      r.kind = Kind::embedding;
    } else if (vercel_call(*vercel)) {
      r.kind = Kind::llm;
    } else if (*vercel == "ai.toolCall") {
      r.kind = Kind::tool;
    }
  }

  bool aggregate = false;
  if (!by_convtrace) {
    if (operation && (*operation == "invoke_agent" || *operation == "agent_step" ||
                      *operation == "invoke_workflow")) {
      aggregate = true;
    }
    if (vercel && starts_with(*vercel, "ai.") && !vercel_call(*vercel)) aggregate = true;
  }
  if (aggregate && (u.has_tokens() || r.sent_cost_pico)) {
    r.aggregate_usage = true;
    u.input_tokens.reset();
    u.output_tokens.reset();
    u.cache_read_tokens.reset();
    u.cache_write_tokens.reset();
    u.reasoning_tokens.reset();
    r.sent_cost_pico.reset();
    r.priced_by_convtrace = false;
  }
  r.has_tokens = u.has_tokens();
  if (!r.has_tokens && !r.sent_cost_pico && unknown_usage) r.unknown_usage_key = unknown_usage->key;
}

}  // namespace

std::string_view dialect_name(Dialect dialect) {
  switch (dialect) {
    case kOtelGenAi:
      return "otel_genai";
    case kOtelGenAiDeprecated:
      return "otel_genai_deprecated";
    case kOpenLlmetry:
      return "openllmetry";
    case kOpenInference:
      return "openinference";
    case kOpenLit:
      return "openlit";
    case kLangfuse:
      return "langfuse";
    case kVercelAi:
      return "vercel_ai";
    case kConvtrace:
      return "convtrace";
  }
  return {};
}

std::string dialect_names(uint32_t mask) {
  std::string out;
  for (uint32_t bit = 1; bit != 0 && bit <= kConvtrace; bit <<= 1) {
    if (!(mask & bit)) continue;
    if (!out.empty()) out += ',';
    out += dialect_name(static_cast<Dialect>(bit));
  }
  return out;
}

bool is_known_key(std::string_view key) noexcept { return find_key(key) != nullptr; }

SpanReading read_span(const std::vector<Attribute>& attributes, Counts counts) noexcept {
  SpanReading reading;
  try {
    read(attributes, counts, reading);
  } catch (...) {
    // Out of memory: what was read so far is returned.
  }
  return reading;
}

}  // namespace convtrace::dialects
