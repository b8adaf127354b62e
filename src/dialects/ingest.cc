#include "dialects/ingest.h"

#include "common/diagnostics.h"
#include "pricing/sent_cost.h"

namespace convtrace::dialects {
namespace {

// Enough for every model a deployment calls; a store fed by a hostile client
// naming endless models clears it rather than growing.
constexpr size_t kMaxCachedModels = 1024;

}  // namespace

IngestPricer::IngestPricer(std::shared_ptr<const Pricing> pricing) : pricing_(std::move(pricing)) {
  if (!pricing_)
    pricing_ = std::shared_ptr<const Pricing>(&Pricing::builtin(), [](const Pricing*) {});
}

const ModelPrice* IngestPricer::find(const std::string& model) {
  auto it = cache_.find(model);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedModels) cache_.clear();
  const ModelPrice* price = pricing_->find(model);
  cache_.emplace(model, price);
  return price;
}

IngestColumns read_for_store(const std::vector<Attribute>& attributes,
                             IngestPricer& pricer) noexcept {
  IngestColumns out;
  try {
    SpanReading r = read_span(attributes);
    out.dialects = r.dialects;
    out.conversation_id = std::move(r.conversation_id);
    out.user_id = std::move(r.user_id);
    out.model = r.usage.model;
    out.provider = r.usage.provider;
    out.kind = r.kind;
    for (const Problem& p : r.problems) report_warning("span_attribute", p.key + ": " + p.message);
    if (!r.unknown_usage_key.empty()) {
      report_warning("unknown_dialect", "attribute '" + r.unknown_usage_key +
                                            "' looks like usage but no known dialect has it; "
                                            "the span is stored as sent, without cost");
    }
    if (r.has_tokens) {
      out.input_tokens = r.usage.input_tokens;
      out.output_tokens = r.usage.output_tokens;
      out.cache_read_tokens = r.usage.cache_read_tokens;
      out.cache_write_tokens = r.usage.cache_write_tokens;
      out.reasoning_tokens = r.usage.reasoning_tokens;
    }
    out.cost_pico = r.sent_cost_pico;
    if (!r.has_tokens || r.priced_by_convtrace) return out;

    const ModelPrice* price = out.model.empty() ? nullptr : pricer.find(out.model);
    if (!price) {
      if (!r.sent_cost_pico) {
        report_warning("unknown_model", "no price for model '" +
                                            (out.model.empty() ? "(none)" : out.model) +
                                            "' of a received span; cost not recorded");
      }
      return out;
    }
    Expected<Cost> cost = compute_cost(r.usage, *price);
    if (!cost) {
      report_warning("cost_error", "cost of a received span not computed: " + cost.error().message);
      return out;
    }
    if (!r.sent_cost_pico) {
      out.cost_pico = cost->total_pico;
    } else if (check_sent_cost("a received span", out.model, *r.sent_cost_pico, cost->total_pico)) {
      out.catalog_cost_pico = cost->total_pico;
    }
  } catch (...) {
    // Out of memory: the columns read so far are stored.
  }
  return out;
}

}  // namespace convtrace::dialects
