#include "otlp/span_groups.h"

#include <algorithm>

namespace convtrace::otlp {
namespace {

bool same_resource(const Resource* a, const Resource* b) {
  if (a == b) return true;
  // A missing resource is the empty resource.
  static const Resource kEmpty;
  return same_attributes((a ? a : &kEmpty)->attributes, (b ? b : &kEmpty)->attributes);
}

bool same_scope(const InstrumentationScope* a, const InstrumentationScope* b) {
  if (a == b) return true;
  static const InstrumentationScope kEmpty;
  if (!a) a = &kEmpty;
  if (!b) b = &kEmpty;
  return a->name == b->name && a->version == b->version;
}

}  // namespace

bool same_attributes(const std::vector<Attribute>& a, const std::vector<Attribute>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value) return false;
  }
  return true;
}

uint32_t SpanGroups::find_resource(const Resource* r) {
  // Pointer comparison first: the SDK shares one Resource among all its spans.
  for (size_t i = 0; i < resources_.size(); ++i) {
    if (resources_[i].resource == r) return static_cast<uint32_t>(i);
  }
  for (size_t i = 0; i < resources_.size(); ++i) {
    if (same_resource(resources_[i].resource, r)) return static_cast<uint32_t>(i);
  }
  resources_.push_back(ResourceGroup{r, 0, 0});
  return static_cast<uint32_t>(resources_.size() - 1);
}

uint32_t SpanGroups::find_scope(uint32_t resource, const InstrumentationScope* s) {
  for (size_t i = 0; i < scopes_.size(); ++i) {
    if (scopes_[i].resource == resource && scopes_[i].scope == s) return static_cast<uint32_t>(i);
  }
  for (size_t i = 0; i < scopes_.size(); ++i) {
    if (scopes_[i].resource == resource && same_scope(scopes_[i].scope, s)) {
      return static_cast<uint32_t>(i);
    }
  }
  scopes_.push_back(ScopeGroup{s, resource, 0, 0});
  return static_cast<uint32_t>(scopes_.size() - 1);
}

void SpanGroups::build(const SpanBatch& batch) {
  resources_.clear();
  scopes_.clear();
  scope_of_span_.resize(batch.size());
  order_.resize(batch.size());

  // Consecutive spans almost always share resource and scope: remember the last match.
  const Resource* last_resource = nullptr;
  const InstrumentationScope* last_scope = nullptr;
  uint32_t last_group = UINT32_MAX;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SpanData& span = batch[i];
    const Resource* r = span.resource.get();
    const InstrumentationScope* s = span.scope.get();
    if (last_group == UINT32_MAX || r != last_resource || s != last_scope) {
      last_group = find_scope(find_resource(r), s);
      last_resource = r;
      last_scope = s;
    }
    scope_of_span_[i] = last_group;
    ++scopes_[last_group].end;  // a count until the offsets are computed below
  }

  // Lay scope groups out resource by resource (stable, so first-seen order is kept),
  // then turn the counts into offsets into order_.
  std::vector<ScopeGroup> sorted;
  if (scopes_.size() > 1) {
    scope_rank_.resize(scopes_.size());
    for (size_t i = 0; i < scopes_.size(); ++i) scope_rank_[i] = static_cast<uint32_t>(i);
    std::stable_sort(scope_rank_.begin(), scope_rank_.end(), [&](uint32_t a, uint32_t b) {
      return scopes_[a].resource < scopes_[b].resource;
    });
    sorted.reserve(scopes_.size());
    for (uint32_t idx : scope_rank_) sorted.push_back(scopes_[idx]);
    // scope_rank_ now maps old index -> new index.
    std::vector<uint32_t> new_index(scopes_.size());
    for (size_t pos = 0; pos < scope_rank_.size(); ++pos) new_index[scope_rank_[pos]] = pos;
    for (uint32_t& g : scope_of_span_) g = new_index[g];
    scopes_.swap(sorted);
  }
  uint32_t offset = 0;
  for (ScopeGroup& g : scopes_) {
    uint32_t count = g.end;
    g.begin = offset;
    g.end = offset;  // advanced as spans are placed
    offset += count;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    order_[scopes_[scope_of_span_[i]].end++] = static_cast<uint32_t>(i);
  }
  for (ResourceGroup& r : resources_) r.scope_begin = r.scope_end = 0;
  for (size_t i = scopes_.size(); i-- > 0;) {
    ResourceGroup& r = resources_[scopes_[i].resource];
    r.scope_begin = static_cast<uint32_t>(i);
    if (r.scope_end == 0) r.scope_end = static_cast<uint32_t>(i + 1);
  }
}

}  // namespace convtrace::otlp
