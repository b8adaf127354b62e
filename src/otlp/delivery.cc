#include "otlp/delivery.h"

#include <algorithm>
#include <new>

#include "common/diagnostics.h"

namespace convtrace::otlp {

using std::chrono::milliseconds;

namespace {

// Buffers kept for encoding the next requests: as many as a backlog of
// typical requests needs, no more.
constexpr size_t kMaxFreeBuffers = 16;
// Requests sent together at most (see max_merged_bytes).
constexpr size_t kMaxMerged = 16;

}  // namespace

Delivery::Delivery(ExportClient& client, size_t max_pending_bytes, std::unique_ptr<Spool> spool,
                   size_t max_merged_bytes)
    : client_(client),
      max_pending_bytes_(max_pending_bytes),
      max_merged_bytes_(max_merged_bytes),
      spool_(std::move(spool)) {
  if (spool_ && !spool_->empty()) {
    // An earlier process's requests go first; new ones queue behind them.
    spooling_ = true;
    recovered_spans_ = spool_->pending_spans();
  }
  start_sender();
}

Delivery::~Delivery() { shutdown(milliseconds(0)); }

void Delivery::start_sender() {
  sender_ = std::thread([this] { run(); });
}

std::string Delivery::take_buffer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_buffers_.empty()) return std::string();
  std::string buffer = std::move(free_buffers_.back());
  free_buffers_.pop_back();
  return buffer;
}

void Delivery::recycle_locked(std::string&& buffer) {
  if (free_buffers_.size() < kMaxFreeBuffers) free_buffers_.push_back(std::move(buffer));
}

bool Delivery::submit(std::string&& payload, uint32_t spans) noexcept {
  try {
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) {
      client_.fail(spans, "OTLP exporter is shut down");
      return false;
    }
    const bool fits = backlog_bytes_ + payload.size() <= max_pending_bytes_ || backlog_.empty();
    if (!spooling_) {
      if (fits) {
        push_backlog_locked(std::move(payload), spans);
        lock.unlock();
        work_cv_.notify_one();
        return true;
      }
      if (!spool_) {
        client_.fail(spans,
                     "OTLP export backlog is full (" + std::to_string(backlog_bytes_) +
                         " bytes of requests wait for the endpoint)",
                     "otlp_backlog_full");
        recycle_locked(std::move(payload));
        return false;
      }
      spill_locked();
      spooling_ = true;
    }
    // Requests left in memory by a full spool are older than this one: it
    // may only go to the spool once they did.
    if (!backlog_.empty()) spill_locked();
    if (backlog_.empty() && spool_->append(payload, spans)) {
      spooled_spans_ += spans;
      recycle_locked(std::move(payload));
      lock.unlock();
      work_cv_.notify_one();
      return true;
    }
    if (backlog_bytes_ + payload.size() <= max_pending_bytes_) {
      push_backlog_locked(std::move(payload), spans);
      lock.unlock();
      work_cv_.notify_one();
      return true;
    }
    spool_full_dropped_ += spans;
    client_.fail(spans,
                 "OTLP spool " + spool_->lane_directory() + " is full (" +
                     std::to_string(spool_->bytes() >> 20) + " MiB)",
                 "otlp_spool_full");
    recycle_locked(std::move(payload));
    return false;
  } catch (...) {
    return false;
  }
}

void Delivery::spill_locked() {
  while (!backlog_.empty()) {
    std::shared_ptr<Pending>& p = backlog_.front();
    if (!p->spooled) {
      if (!spool_->append(p->payload, p->spans, &p->where)) return;  // full: the rest stays
      p->spooled = true;
      spooled_spans_ += p->spans;
    }
    backlog_bytes_ -= p->payload.size();
    backlog_spans_ -= p->spans;
    // The request being sent keeps its payload until the attempt ends.
    if (p != in_flight_) recycle_locked(std::move(p->payload));
    backlog_.pop_front();
  }
}

void Delivery::push_backlog_locked(std::string&& payload, uint32_t spans) {
  auto item = std::make_shared<Pending>();
  item->payload = std::move(payload);
  item->spans = spans;
  backlog_bytes_ += item->payload.size();
  backlog_spans_ += spans;
  backlog_.push_back(std::move(item));
}

bool Delivery::idle_locked() const { return backlog_.empty(); }

void Delivery::run() {
  std::unique_lock<std::mutex> lock(mu_);
  SpoolRecord record;
  const char* kept_where = spool_ ? "spool" : "backlog";
  // The backlog requests sent together, oldest first, and their bodies.
  std::vector<std::shared_ptr<Pending>> sent;
  std::string merged;
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !backlog_.empty() || (spool_ && !spool_->empty()); });
    if (stop_) return;
    // With requests in the spool, those are the older ones.
    std::shared_ptr<Pending> item;
    bool from_spool = false;
    if (spool_ && !spool_->empty()) from_spool = spool_->next(&record);
    if (!from_spool) {
      if (spool_ && spool_->empty()) spooling_ = false;  // read to its end
      if (backlog_.empty()) {
        idle_cv_.notify_all();
        continue;
      }
      item = backlog_.front();
      in_flight_ = item;
    }
    sent.clear();
    uint32_t spans = from_spool ? record.spans : item->spans;
    if (!from_spool) {
      sent.push_back(item);
      size_t bytes = item->payload.size();
      while (max_merged_bytes_ > 0 && sent.size() < backlog_.size() && sent.size() < kMaxMerged &&
             bytes + backlog_[sent.size()]->payload.size() <= max_merged_bytes_) {
        bytes += backlog_[sent.size()]->payload.size();
        spans += backlog_[sent.size()]->spans;
        sent.push_back(backlog_[sent.size()]);
      }
      if (sent.size() > 1) {
        // Copied under the lock: a spill may recycle the bodies meanwhile.
        merged.clear();
        merged.reserve(bytes);
        for (const auto& p : sent) merged += p->payload;
      }
    }
    const std::string& payload =
        from_spool ? record.payload : (sent.size() > 1 ? merged : item->payload);
    lock.unlock();
    const DeliverResult result = client_.deliver(payload, spans, kept_where);
    lock.lock();
    if (result == DeliverResult::deferred) {
      if (stop_ || client_.shut_down()) {
        in_flight_.reset();
        return;  // shutdown() decides what becomes of the backlog
      }
      // The endpoint failed: with a spool, everything waiting moves there
      // (this request first) and new requests follow it there.
      if (spool_ && !from_spool) {
        spill_locked();
        spooling_ = true;
      }
      in_flight_.reset();
      idle_cv_.notify_all();
      // The same request is tried again when the backoff window ends.
      Clock::time_point until = std::max(client_.retry_at(), Clock::now() + milliseconds(10));
      work_cv_.wait_until(lock, until, [&] { return stop_; });
      continue;
    }
    // Delivered, or given up for good (counted by the client).
    if (from_spool) {
      spool_->mark_delivered(record.where);
    } else {
      // A spill during the attempt may have moved some of them to the
      // spool, from the front; those still in memory lead the backlog.
      for (const auto& p : sent) {
        if (p->spooled) spool_->mark_delivered(p->where);
        if (!backlog_.empty() && backlog_.front() == p) {
          backlog_bytes_ -= p->payload.size();
          backlog_spans_ -= p->spans;
          backlog_.pop_front();
          recycle_locked(std::move(p->payload));
        } else if (p == item) {
          recycle_locked(std::move(p->payload));
        }
      }
      sent.clear();
    }
    in_flight_.reset();
    if (spool_ && spooling_ && spool_->empty() && backlog_.empty()) spooling_ = false;
    idle_cv_.notify_all();
  }
}

bool Delivery::flush(milliseconds timeout) noexcept {
  try {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_cv_.wait_for(lock, timeout, [&] { return idle_locked() || stop_; }) &&
           idle_locked();
  } catch (...) {
    return false;
  }
}

void Delivery::shutdown(milliseconds timeout) noexcept {
  const auto deadline = Clock::now() + timeout;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !sender_.joinable()) return;
  }
  flush(timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  // Cuts a request in flight short so the sender returns.
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  client_.shutdown(std::max(left, milliseconds(100)));
  if (sender_.joinable()) sender_.join();
  std::lock_guard<std::mutex> lock(mu_);
  // What never left memory goes to the spool, for the next process.
  if (spool_) spill_locked();
  if (spool_) {
    // Closing it releases the lane: an exporter made later in this process
    // (or another process) takes it over and sends what is left.
    final_spool_stats_ = spool_->stats();
    final_spool_pending_ = spool_->pending_spans();
    spool_.reset();
  }
  if (!backlog_.empty()) {
    client_.fail(backlog_spans_, "OTLP exporter shut down with requests not yet delivered");
    backlog_.clear();
    backlog_bytes_ = 0;
    backlog_spans_ = 0;
  }
  idle_cv_.notify_all();
}

void Delivery::prepare_fork() noexcept { mu_.lock(); }

void Delivery::after_fork_parent() noexcept { mu_.unlock(); }

void Delivery::after_fork_child() noexcept {
  // The backlog is the parent's to deliver; the sender thread does not
  // exist here. The child starts empty, with a spool lane of its own.
  new (&mu_) std::mutex();
  new (&work_cv_) std::condition_variable();
  new (&idle_cv_) std::condition_variable();
  new (&sender_) std::thread();
  try {
    backlog_.clear();
    backlog_bytes_ = 0;
    backlog_spans_ = 0;
    in_flight_.reset();
    spooling_ = false;
    spooled_spans_ = spool_full_dropped_ = recovered_spans_ = 0;
    if (spool_ && !spool_->reopen_after_fork()) {
      report_warning("otlp_spool_io",
                     "OTLP spool: the forked process could not claim a lane; it exports "
                     "without a spool");
      spool_.reset();
    }
    if (spool_ && !spool_->empty()) {
      spooling_ = true;
      recovered_spans_ = spool_->pending_spans();
    }
    if (!stop_) start_sender();
  } catch (...) {
    stop_ = true;  // no sender: submits fail and are counted
  }
}

void Delivery::add_stats(OtlpExporterStats* stats) const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  stats->pending_spans = backlog_spans_ + (spool_ ? spool_->pending_spans() : final_spool_pending_);
  stats->spooled_spans = spooled_spans_;
  stats->recovered_spans = recovered_spans_;
  stats->spool_full_dropped_spans = spool_full_dropped_;
  const SpoolStats& s = spool_ ? spool_->stats() : final_spool_stats_;
  stats->spool_skipped_records = s.corrupt_records + s.truncated_segments + s.foreign_records;
}

}  // namespace convtrace::otlp
