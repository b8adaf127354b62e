// The GenAI methods of Span: usage, cost, model (content: span_content.cc).
#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <string>

#include "common/diagnostics.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/trace.h"
#include "genai/content.h"
#include "genai/hooks.h"
#include "genai/operation.h"
#include "genai/totals.h"
#include "pricing/sent_cost.h"
#include "trace/clock.h"
#include "trace/genai_state.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

// Price look-ups of the usage path, cached per thread. Resolving a model name
// normalizes it (case, provider prefixes, snapshot suffixes, several map
// look-ups: ~17k instructions for "gpt-4o-2024-08-06"), and fetching the
// catalog takes the SDK's pricing mutex and bumps a reference count that every
// thread shares. An app calls few distinct models, so each thread keeps the
// catalog it last used and its last few resolutions (unknown models included);
// Sdk::set_pricing bumps a generation that makes the next look-up refresh.
// The cached catalog stays alive while a thread holds it, so the ModelPrice
// pointers handed out stay valid.
class PriceCache {
 public:
  const ModelPrice* find(const SdkState& sdk, std::string_view model) {
    uint64_t generation = sdk.pricing_generation.load(std::memory_order_acquire);
    // SDK states are never freed (sdk_state.h), so the address names one SDK.
    if (&sdk != sdk_ || generation != generation_) refresh(sdk);
    for (const Slot& slot : slots_) {
      if (slot.used && slot.model == model) return slot.price;
    }
    const ModelPrice* price = pricing_ ? pricing_->find(model) : nullptr;
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    slot.model.assign(model.data(), model.size());
    slot.price = price;
    slot.used = true;
    return price;
  }

 private:
  struct Slot {
    std::string model;
    const ModelPrice* price = nullptr;
    bool used = false;
  };

  void refresh(const SdkState& sdk) {
    std::lock_guard<std::mutex> lock(sdk.pricing_mu);
    pricing_ = sdk.pricing;
    generation_ = sdk.pricing_generation.load(std::memory_order_relaxed);
    sdk_ = &sdk;
    for (Slot& slot : slots_) slot.used = false;
  }

  const SdkState* sdk_ = nullptr;
  uint64_t generation_ = 0;
  std::shared_ptr<const Pricing> pricing_;
  std::array<Slot, 4> slots_;
  size_t next_ = 0;
};

const ModelPrice* find_price(const SdkState& sdk, std::string_view model) {
  thread_local PriceCache cache;
  return cache.find(sdk, model);
}

// The usage itself as attributes: token counts and what the provider reported.
// The five token counts of a usage under one dialect's keys.
struct TokenKeys {
  std::string_view input, output, cache_read, cache_write, reasoning;
};
constexpr TokenKeys kGenAiTokenKeys = {attr::kInputTokens, attr::kOutputTokens,
                                       attr::kCacheReadInputTokens, attr::kCacheCreationInputTokens,
                                       attr::kReasoningOutputTokens};
constexpr TokenKeys kOpenInferenceTokenKeys = {attr::kOiPromptTokens, attr::kOiCompletionTokens,
                                               attr::kOiCacheReadTokens, attr::kOiCacheWriteTokens,
                                               attr::kOiReasoningTokens};

void set_token_counts(SpanRecord& rec, const Usage& usage, const TokenKeys& keys) {
  const std::pair<std::string_view, const std::optional<int64_t>*> counts[] = {
      {keys.input, &usage.input_tokens},
      {keys.output, &usage.output_tokens},
      {keys.cache_read, &usage.cache_read_tokens},
      {keys.cache_write, &usage.cache_write_tokens},
      {keys.reasoning, &usage.reasoning_tokens}};
  for (const auto& [key, count] : counts) {
    if (*count) set_record_attribute(rec, key, **count);
  }
}

void set_usage_attributes(SpanRecord& rec, const Usage& usage) {
  set_token_counts(rec, usage, kGenAiTokenKeys);
  if (!usage.model.empty()) set_record_attribute(rec, attr::kResponseModel, usage.model);
  if (!usage.response_id.empty()) set_record_attribute(rec, attr::kResponseId, usage.response_id);
  if (!usage.finish_reasons.empty()) {
    set_record_attribute(rec, attr::kResponseFinishReasons, usage.finish_reasons);
  }
  if (!usage.provider.empty() && !find_record_attribute(rec, attr::kProviderName)) {
    set_record_attribute(rec, attr::kProviderName, usage.provider);
  }
}

// Whether the text of `usage` (provider, model, response id, finish reasons)
// is valid UTF-8.
bool usage_text_valid(const Usage& usage) {
  if (!utf8::valid(usage.provider) || !utf8::valid(usage.model) ||
      !utf8::valid(usage.response_id)) {
    return false;
  }
  for (const std::string& reason : usage.finish_reasons) {
    if (!utf8::valid(reason)) return false;
  }
  return true;
}

// The openinference profile: the same usage under OpenInference's keys.
void record_openinference_usage(SpanRecord& rec, const Usage& usage) {
  set_token_counts(rec, usage, kOpenInferenceTokenKeys);
  if (usage.input_tokens && usage.output_tokens) {
    set_record_attribute(rec, attr::kOiTotalTokens, *usage.input_tokens + *usage.output_tokens);
  }
  const std::string& model = usage.model.empty() ? rec.request_model : usage.model;
  if (!model.empty()) set_record_attribute(rec, attr::kOiModelName, model);
  if (!usage.provider.empty()) set_record_attribute(rec, attr::kOiProvider, usage.provider);
}

}  // namespace

bool Span::record_usage(const Usage& usage) {
  if (!rec_ || rec_->ended) return false;
  return record_usage_on(*rec_, usage, true);
}

bool record_usage_on(SpanRecord& rec, const Usage& given, bool usage_attributes,
                     std::optional<int64_t> sent_cost_pico) {
  if (Error e = validate(given)) {
    report_warning("invalid_usage", "usage rejected: " + e.message);
    return false;
  }
  try {
    // The app's own Usage enters here: its text is repaired once, so the
    // span's attributes and the metrics carry the same valid text.
    std::optional<Usage> repaired;
    if (!usage_text_valid(given)) {
      repaired = given;
      utf8::repair(repaired->provider, "usage provider");
      utf8::repair(repaired->model, "usage model");
      utf8::repair(repaired->response_id, "usage response id");
      for (std::string& reason : repaired->finish_reasons) {
        utf8::repair(reason, "usage finish reason");
      }
    }
    const Usage& usage = repaired ? *repaired : given;
    const std::string& model = usage.model.empty() ? rec.request_model : usage.model;
    // A sent cost without token counts leaves the catalog nothing to check.
    const bool check_catalog = !sent_cost_pico || usage.has_tokens();
    const ModelPrice* price = check_catalog ? rec.price_override.get() : nullptr;
    if (check_catalog && !price && !model.empty()) price = find_price(*rec.sdk, model);
    Cost cost;
    bool priced = false;
    if (price) {
      Expected<Cost> computed = compute_cost(usage, *price);
      if (computed) {
        cost = *computed;
        priced = true;
      } else {
        report_warning("cost_error", "cost not computed: " + computed.error().message);
      }
    } else if (!sent_cost_pico) {
      report_warning("unknown_model", "no price for model '" + (model.empty() ? "(none)" : model) +
                                          "'; cost not recorded");
    }
    if (sent_cost_pico) {
      if (priced) check_sent_cost("a span", model, *sent_cost_pico, cost.total_pico);
      // The split into input and output is the catalog's; a sent total has none.
      cost = Cost{};
      cost.total_pico = *sent_cost_pico;
      priced = true;
    }

    int64_t input = usage.input_tokens.value_or(0);
    int64_t output = usage.output_tokens.value_or(0);
    // Replacing earlier usage on this span: totals receive only the difference.
    TotalsDelta delta{cost.total_pico - rec.cost_pico,
                      input - rec.input_tokens,
                      output - rec.output_tokens,
                      0,
                      0,
                      (priced ? 0 : 1) - (rec.usage_recorded && !rec.usage_priced ? 1 : 0)};
    if (rec.genai) add_to_totals(*rec.genai, delta);
    rec.cost_pico = cost.total_pico;
    rec.input_tokens = input;
    rec.output_tokens = output;
    rec.usage_recorded = true;
    rec.usage_priced = priced;
    rec.has_input_tokens = usage.input_tokens.has_value();
    rec.has_output_tokens = usage.output_tokens.has_value();
    if (!usage.model.empty()) rec.response_model.assign(usage.model);
    if (!usage.provider.empty() && rec.provider.empty()) rec.provider = usage.provider;

    // An agent span that recorded usage is itself a model call. Backends read
    // usage on invoke_agent spans as the sum of the agent's calls below it and
    // skip it (Langfuse; collect reads other SDKs' so too), so it goes as chat.
    const bool agent_call = rec.kind == Kind::agent && rec.operation == operation_for(Kind::agent);
    if (agent_call) rec.operation = operation_for(Kind::llm);

    if (!rec.data) return true;  // unsampled: totals only
    if (usage_attributes) set_usage_attributes(rec, usage);
    if (agent_call) set_record_attribute(rec, attr::kOperationName, rec.operation);
    if (usage_attributes && rec.sdk->profile == AttributeProfile::openinference) {
      record_openinference_usage(rec, usage);
    }
    if (priced) {
      const auto& keys = rec.sdk->cost_keys;
      const double usd = pico_to_usd(cost.total_pico);
      if (keys.cost_usd) set_record_attribute(rec, attr::kCostUsd, usd);
      if (keys.cost_parts && !sent_cost_pico) {
        set_record_attribute(rec, attr::kInputCostUsd, pico_to_usd(cost.input_pico));
        set_record_attribute(rec, attr::kOutputCostUsd, pico_to_usd(cost.output_pico));
      }
      if (keys.cost_generic) set_record_attribute(rec, attr::kCostGeneric, usd);
      if (keys.llm_cost) set_record_attribute(rec, attr::kOiCostTotal, usd);
      set_record_attribute(rec, attr::kCostPicoUsd, cost.total_pico);
      // Named only for a cost the catalog made.
      if (!sent_cost_pico) set_record_attribute(rec, attr::kPricedAs, price->model);
    } else {
      set_record_attribute(rec, attr::kUnpricedModel,
                           model.empty() ? std::string("(none)") : model);
    }
    return true;
  } catch (...) {
    return false;
  }
}

void Span::record_first_chunk() {
  if (!rec_ || rec_->ended) return;
  record_time_to_first_chunk(std::chrono::nanoseconds(steady_nanos() - rec_->start_steady));
}

void Span::record_time_to_first_chunk(std::chrono::nanoseconds since_start) {
  if (!rec_ || rec_->ended || rec_->first_chunk_ns >= 0) return;
  rec_->first_chunk_ns = std::max<int64_t>(since_start.count(), 0);
  if (rec_->data) {
    set_record_attribute(*rec_, attr::kTimeToFirstChunk,
                         static_cast<double>(rec_->first_chunk_ns) / 1e9);
  }
}

void Span::set_server(std::string_view address, int port) {
  if (!rec_ || rec_->ended || address.empty()) return;
  try {
    utf8::assign(rec_->server_address, address, "server address");
  } catch (...) {
    return;
  }
  rec_->server_port = port > 0 ? port : 0;
  if (!rec_->data) return;
  set_record_attribute(*rec_, attr::kServerAddress, rec_->server_address);
  if (port > 0) set_record_attribute(*rec_, attr::kServerPort, static_cast<int64_t>(port));
}

void Span::set_model(std::string_view model) {
  if (!rec_ || rec_->ended || model.empty()) return;
  try {
    utf8::assign(rec_->request_model, model, "model name");
    if (!rec_->data) return;
    set_record_attribute(*rec_, attr::kRequestModel, rec_->request_model);
    if (!rec_->name_is_given && !rec_->operation.empty()) {
      std::string& name = rec_->data->name;
      name.assign(rec_->operation.data(), rec_->operation.size());
      name += ' ';
      name += rec_->request_model;
    }
  } catch (...) {
  }
}

}  // namespace convtrace
