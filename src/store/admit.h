// What every store backend accepts, checked before anything is written: span
// times inside the range the store holds (common/unix_time.h) and valid
// UTF-8 text (common/utf8.h). Private.
#pragma once

#include <deque>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"
#include "convtrace/store.h"

namespace convtrace::store {

// A batch as the store writes it.
class AdmittedBatch {
 public:
  // Checks `batch`, which must outlive this object. A start, end or event time
  // past the range is an invalid_argument error naming the span and the field
  // (and then nothing of the batch is stored: the caller asked for a time the
  // store cannot hold). Spans holding ill-formed UTF-8 are replaced by
  // repaired copies, with a counted invalid_utf8 warning.
  Error admit(const SpanBatch& batch);
  // The spans to write: `batch` itself when nothing needed repair.
  SpanBatch spans() const;

 private:
  SpanBatch original_{nullptr, 0};
  std::vector<const SpanData*> repaired_view_;  // empty when nothing was repaired
  std::deque<SpanData> repaired_;
};

// invalid_argument when a time bound of `filter` lies past the range: no
// stored span could match it, and binding it would wrap around.
Error check_filter(const StoreFilter& filter);

}  // namespace convtrace::store
