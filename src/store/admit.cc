#include "store/admit.h"

#include "common/unix_time.h"
#include "common/utf8.h"

namespace convtrace::store {
namespace {

Error check_times(const SpanData& span) {
  auto named = [&](const char* field, uint64_t value) {
    return unix_time::out_of_range(
        "span " + span.trace_id.hex() + "/" + span.span_id.hex() + " " + field, value);
  };
  if (!unix_time::in_range(span.start_unix_nano)) {
    return named("start_time_unix_nano", span.start_unix_nano);
  }
  if (!unix_time::in_range(span.end_unix_nano)) {
    return named("end_time_unix_nano", span.end_unix_nano);
  }
  for (const SpanEvent& e : span.events) {
    if (!unix_time::in_range(e.time_unix_nano))
      return named("event time_unix_nano", e.time_unix_nano);
  }
  return Error{};
}

}  // namespace

Error AdmittedBatch::admit(const SpanBatch& batch) {
  original_ = batch;
  repaired_view_.clear();
  repaired_.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    const SpanData& span = batch[i];
    if (Error e = check_times(span)) return e;
    if (utf8::valid(span)) continue;
    if (repaired_view_.empty()) repaired_view_.assign(batch.begin(), batch.end());
    repaired_.push_back(span);
    utf8::repair(repaired_.back());
    repaired_view_[i] = &repaired_.back();
  }
  return Error{};
}

SpanBatch AdmittedBatch::spans() const {
  if (repaired_view_.empty()) return original_;
  return SpanBatch(repaired_view_.data(), repaired_view_.size());
}

Error check_filter(const StoreFilter& filter) {
  if (filter.since_unix_nano) {
    if (Error e = unix_time::check("since_unix_nano", *filter.since_unix_nano)) return e;
  }
  if (filter.until_unix_nano) {
    if (Error e = unix_time::check("until_unix_nano", *filter.until_unix_nano)) return e;
  }
  return Error{};
}

}  // namespace convtrace::store
