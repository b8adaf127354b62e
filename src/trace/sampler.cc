#include "convtrace/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "convtrace/trace.h"

namespace convtrace {
namespace {

// OTel TraceIdRatioBased: compare the trace id's lower 8 bytes (as an unsigned
// big-endian number, top bit cleared) with ratio × 2^63, so every SDK that
// follows the specification keeps the same traces.
uint64_t ratio_bound(double ratio) {
  if (!(ratio > 0.0)) return 0;
  if (ratio >= 1.0) return UINT64_MAX;
  return static_cast<uint64_t>(ratio * 9223372036854775808.0);  // 2^63
}

uint64_t trace_id_value(const TraceId& id) {
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | id.bytes[i];
  return v & 0x7FFFFFFFFFFFFFFFULL;
}

std::string ratio_text(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", ratio);
  return buf;
}

double clamp_ratio(double ratio) {
  if (std::isnan(ratio)) return 0.0;
  return std::clamp(ratio, 0.0, 1.0);
}

class ConstantSampler : public Sampler {
 public:
  explicit ConstantSampler(bool on) : on_(on) {}
  bool should_sample(const SamplingInput&) const noexcept override { return on_; }
  std::string description() const override { return on_ ? "AlwaysOnSampler" : "AlwaysOffSampler"; }

 private:
  bool on_;
};

class RatioSampler : public Sampler {
 public:
  explicit RatioSampler(double ratio) : ratio_(clamp_ratio(ratio)), bound_(ratio_bound(ratio_)) {}
  bool should_sample(const SamplingInput& in) const noexcept override {
    if (bound_ == UINT64_MAX) return true;
    return trace_id_value(in.trace_id) < bound_;
  }
  std::string description() const override {
    return "TraceIdRatioBased{" + ratio_text(ratio_) + "}";
  }

 private:
  double ratio_;
  uint64_t bound_;
};

class ParentBasedSampler : public Sampler {
 public:
  explicit ParentBasedSampler(std::shared_ptr<const Sampler> root) : root_(std::move(root)) {}
  bool should_sample(const SamplingInput& in) const noexcept override {
    const SpanContext& parent = in.parent.span_context();
    if (parent.valid()) return parent.sampled();
    return root_->should_sample(in);
  }
  std::string description() const override {
    return "ParentBased{root=" + root_->description() + "}";
  }

 private:
  std::shared_ptr<const Sampler> root_;
};

class ConversationSampler : public Sampler {
 public:
  explicit ConversationSampler(double ratio)
      : ratio_(clamp_ratio(ratio)), bound_(ratio_bound(ratio_)), fallback_(ratio_) {}
  bool should_sample(const SamplingInput& in) const noexcept override {
    const SpanContext& parent = in.parent.span_context();
    if (parent.valid()) return parent.sampled();
    std::string_view conversation = in.parent.conversation_id();
    if (conversation.empty()) return fallback_.should_sample(in);
    if (bound_ == UINT64_MAX) return true;
    return (conversation_hash(conversation) & 0x7FFFFFFFFFFFFFFFULL) < bound_;
  }
  std::string description() const override {
    return "ConversationConsistent{" + ratio_text(ratio_) + "}";
  }

 private:
  double ratio_;
  uint64_t bound_;
  RatioSampler fallback_;
};

}  // namespace

uint64_t conversation_hash(std::string_view conversation_id) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : conversation_id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // splitmix64 finalizer: FNV-1a alone leaves short ids poorly spread in the
  // high bits that the ratio comparison reads.
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  return h ^ (h >> 31);
}

std::shared_ptr<const Sampler> always_on_sampler() {
  static const auto s = std::make_shared<ConstantSampler>(true);
  return s;
}

std::shared_ptr<const Sampler> always_off_sampler() {
  static const auto s = std::make_shared<ConstantSampler>(false);
  return s;
}

std::shared_ptr<const Sampler> trace_id_ratio_sampler(double ratio) {
  return std::make_shared<RatioSampler>(ratio);
}

std::shared_ptr<const Sampler> parent_based_sampler(std::shared_ptr<const Sampler> root) {
  return std::make_shared<ParentBasedSampler>(root ? std::move(root) : always_on_sampler());
}

std::shared_ptr<const Sampler> conversation_sampler(double ratio) {
  return std::make_shared<ConversationSampler>(ratio);
}

}  // namespace convtrace
