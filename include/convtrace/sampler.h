// Samplers: which traces are recorded and exported.
//
// Decisions are made once, when a span starts, from its trace id, its parent
// and (for the conversation sampler) the conversation in force. Unsampled
// spans still get valid ids and still carry conversation, turn and workflow
// state to their children and across process boundaries; they are just not
// exported. Samplers are immutable and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "convtrace/span_data.h"

namespace convtrace {

class Context;

struct SamplingInput {
  const Context& parent;
  const TraceId& trace_id;
  std::string_view name;
  SpanKind span_kind;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual bool should_sample(const SamplingInput& input) const noexcept = 0;
  // E.g. "ParentBased{TraceIdRatioBased{0.25}}", for logs.
  virtual std::string description() const = 0;
};

std::shared_ptr<const Sampler> always_on_sampler();
std::shared_ptr<const Sampler> always_off_sampler();
// Keeps a fraction `ratio` (clamped to [0, 1]) of traces, decided from the
// trace id as the OpenTelemetry TraceIdRatioBased sampler does, so every
// process agrees on the same trace.
std::shared_ptr<const Sampler> trace_id_ratio_sampler(double ratio);
// Follows a valid parent's sampled flag; uses `root` for spans without one.
std::shared_ptr<const Sampler> parent_based_sampler(std::shared_ptr<const Sampler> root);
// Keeps or drops whole conversations: a span in a conversation is kept when a
// hash of the conversation id falls under `ratio` — the same answer in every
// trace and every process. Spans outside any conversation fall back to the
// trace-id ratio. Follows a valid parent's decision first (parent-based), so a
// trace is never split.
std::shared_ptr<const Sampler> conversation_sampler(double ratio);

// The stable 64-bit hash the conversation sampler uses (FNV-1a 64 over the
// UTF-8 bytes, then the splitmix64 finalizer), exposed so other languages'
// samplers can agree with it. A conversation is kept when
// (hash & 0x7FFFFFFFFFFFFFFF) < ratio × 2^63.
uint64_t conversation_hash(std::string_view conversation_id);

}  // namespace convtrace
