// The GenAI methods of Span: usage, cost, content, model.
#include <algorithm>
#include <array>
#include <mutex>
#include <string>

#include "common/diagnostics.h"
#include "convtrace/attributes.h"
#include "convtrace/trace.h"
#include "genai/content.h"
#include "genai/hooks.h"
#include "genai/totals.h"
#include "trace/clock.h"
#include "trace/genai_state.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

void record_content(SpanRecord* rec, std::string_view key, std::string_view content) {
  if (!rec || rec->ended || !rec->data) return;
  const ContentCapture& capture = rec->sdk->content;
  if (!capture.enabled) return;
  try {
    std::string value = capture.redact ? capture.redact(key, content) : std::string(content);
    set_record_attribute(*rec, key, truncate_content(value, capture.max_length));
  } catch (...) {
    // A throwing redaction callback must not leak the unredacted value.
    report_warning("redaction_failed", "content redaction callback threw; content not recorded");
  }
}

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
  const ModelPrice* find(const Sdk::State& sdk, std::string_view model) {
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

  void refresh(const Sdk::State& sdk) {
    std::lock_guard<std::mutex> lock(sdk.pricing_mu);
    pricing_ = sdk.pricing;
    generation_ = sdk.pricing_generation.load(std::memory_order_relaxed);
    sdk_ = &sdk;
    for (Slot& slot : slots_) slot.used = false;
  }

  const Sdk::State* sdk_ = nullptr;
  uint64_t generation_ = 0;
  std::shared_ptr<const Pricing> pricing_;
  std::array<Slot, 4> slots_;
  size_t next_ = 0;
};

const ModelPrice* find_price(const Sdk::State& sdk, std::string_view model) {
  thread_local PriceCache cache;
  return cache.find(sdk, model);
}

// The usage itself as attributes: token counts and what the provider reported.
void set_usage_attributes(SpanRecord& rec, const Usage& usage) {
  if (usage.input_tokens) set_record_attribute(rec, attr::kInputTokens, *usage.input_tokens);
  if (usage.output_tokens) set_record_attribute(rec, attr::kOutputTokens, *usage.output_tokens);
  if (usage.cache_read_tokens) {
    set_record_attribute(rec, attr::kCacheReadInputTokens, *usage.cache_read_tokens);
  }
  if (usage.cache_write_tokens) {
    set_record_attribute(rec, attr::kCacheCreationInputTokens, *usage.cache_write_tokens);
  }
  if (usage.reasoning_tokens) {
    set_record_attribute(rec, attr::kReasoningOutputTokens, *usage.reasoning_tokens);
  }
  if (!usage.model.empty()) set_record_attribute(rec, attr::kResponseModel, usage.model);
  if (!usage.response_id.empty()) set_record_attribute(rec, attr::kResponseId, usage.response_id);
  if (!usage.finish_reasons.empty()) {
    set_record_attribute(rec, attr::kResponseFinishReasons, usage.finish_reasons);
  }
  if (!usage.provider.empty() && !find_record_attribute(rec, attr::kProviderName)) {
    set_record_attribute(rec, attr::kProviderName, usage.provider);
  }
}

}  // namespace

bool Span::record_usage(const Usage& usage) {
  if (!rec_ || rec_->ended) return false;
  return record_usage_on(*rec_, usage, true);
}

bool record_usage_on(SpanRecord& rec, const Usage& usage, bool usage_attributes) {
  if (Error e = validate(usage)) {
    report_warning("invalid_usage", "usage rejected: " + e.message);
    return false;
  }
  try {
    const std::string& model = usage.model.empty() ? rec.request_model : usage.model;
    const ModelPrice* price = rec.price_override.get();
    if (!price && !model.empty()) price = find_price(*rec.sdk, model);
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
    } else {
      report_warning("unknown_model", "no price for model '" + (model.empty() ? "(none)" : model) +
                                          "'; cost not recorded");
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

    if (!rec.data) return true;  // unsampled: totals only
    if (usage_attributes) set_usage_attributes(rec, usage);
    if (priced) {
      const CostKeys& keys = rec.sdk->cost_keys;
      if (keys.cost_usd) {
        set_record_attribute(rec, attr::kCostUsd, pico_to_usd(cost.total_pico));
        set_record_attribute(rec, attr::kInputCostUsd, pico_to_usd(cost.input_pico));
        set_record_attribute(rec, attr::kOutputCostUsd, pico_to_usd(cost.output_pico));
      }
      if (keys.cost_generic)
        set_record_attribute(rec, attr::kCostGeneric, pico_to_usd(cost.total_pico));
      set_record_attribute(rec, attr::kCostPicoUsd, cost.total_pico);
      set_record_attribute(rec, attr::kPricedAs, price->model);
    } else {
      set_record_attribute(rec, attr::kUnpricedModel,
                           model.empty() ? std::string("(none)") : model);
    }
    return true;
  } catch (...) {
    return false;
  }
}

bool Span::record_response(std::string_view body, std::string_view provider) {
  if (!rec_ || rec_->ended) return false;
  Expected<Usage> usage = extract_usage(body, provider);
  if (!usage) {
    report_warning("usage_extraction", "no usage recorded: " + usage.error().message);
    return false;
  }
  return record_usage(*usage);
}

void Span::record_input(std::string_view content) {
  record_content(rec_, attr::kInputMessages, content);
}

void Span::record_output(std::string_view content) {
  record_content(rec_, attr::kOutputMessages, content);
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
  rec_->server_address.assign(address.data(), address.size());
  rec_->server_port = port > 0 ? port : 0;
  if (!rec_->data) return;
  set_record_attribute(*rec_, attr::kServerAddress, address);
  if (port > 0) set_record_attribute(*rec_, attr::kServerPort, static_cast<int64_t>(port));
}

void Span::set_model(std::string_view model) {
  if (!rec_ || rec_->ended || model.empty()) return;
  rec_->request_model = std::string(model);
  if (!rec_->data) return;
  set_record_attribute(*rec_, attr::kRequestModel, model);
  if (!rec_->name_is_given && !rec_->operation.empty()) {
    std::string& name = rec_->data->name;
    name.assign(rec_->operation.data(), rec_->operation.size());
    name += ' ';
    name.append(model.data(), model.size());
  }
}

}  // namespace convtrace
