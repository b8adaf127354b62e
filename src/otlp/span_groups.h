// Groups a batch of spans the way OTLP nests them: by resource, then by
// instrumentation scope.
//
// Both OTLP encoders (protobuf and JSON) need the same nesting. Spans of one
// SDK share one Resource and usually one scope, so the common case is a single
// group; lookups compare the shared_ptr first and fall back to comparing
// contents, so equal resources held in different objects still merge. A
// SpanGroups object keeps its buffers between batches: once warmed up,
// grouping a batch with one scope per resource allocates nothing. Not
// thread-safe; use one per encoder.
#pragma once

#include <cstdint>
#include <vector>

#include "convtrace/span_data.h"

namespace convtrace::otlp {

// True when `a` and `b` hold the same attributes in the same order.
bool same_attributes(const std::vector<Attribute>& a, const std::vector<Attribute>& b);

class SpanGroups {
 public:
  struct ScopeGroup {
    const InstrumentationScope* scope;  // null when the spans carry none
    uint32_t resource;                  // index into resources()
    uint32_t begin, end;                // range of order() holding this group's spans
  };
  struct ResourceGroup {
    const Resource* resource;         // null when the spans carry none
    uint32_t scope_begin, scope_end;  // range of scopes() belonging to this resource
  };

  // Regroups `batch`; previous results are discarded. Spans keep their batch
  // order within a group.
  void build(const SpanBatch& batch);

  const std::vector<ResourceGroup>& resources() const { return resources_; }
  const std::vector<ScopeGroup>& scopes() const { return scopes_; }
  // Batch indices of the spans, group after group.
  const std::vector<uint32_t>& order() const { return order_; }

 private:
  uint32_t find_resource(const Resource* r);
  uint32_t find_scope(uint32_t resource, const InstrumentationScope* s);

  std::vector<ResourceGroup> resources_;
  std::vector<ScopeGroup> scopes_;
  std::vector<uint32_t> scope_of_span_;
  std::vector<uint32_t> scope_rank_;
  std::vector<uint32_t> order_;
};

}  // namespace convtrace::otlp
