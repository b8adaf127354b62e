// Background delivery of encoded OTLP requests: a sender thread, a bounded
// in-memory backlog, and optionally the disk spool (spool.h).
//
// The span exporter encodes on the processor's worker and submits here; the
// sender thread sends through the ExportClient (retries, backoff window).
// Order is kept: requests leave oldest first. While the endpoint fails, the
// request at the head stays there and is tried again when the backoff
// window ends. With a spool, the first failure (or a full backlog) moves the
// backlog to the spool and later requests are appended to it, until the
// sender has read it to its end; then requests go through memory again.
// Without a spool, a submit that finds the backlog full fails and its spans
// are counted as failed.
//
// Thread-safety: submit() from one thread at a time (the exporter's
// export_batch); flush(), shutdown() and stats() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convtrace/otlp.h"
#include "otlp/export_client.h"
#include "otlp/spool.h"

namespace convtrace::otlp {

class Delivery {
 public:
  // `client` outlives this object. `spool` may be null. With
  // `max_merged_bytes` above 0, requests are protobuf bodies that may be
  // sent together: when several wait in memory, the sender sends them as one
  // request of at most that many bytes (the bodies concatenated, which is one
  // valid ExportTraceServiceRequest: its only field is repeated), so a
  // backlog drains in fewer round trips. OTLP/JSON bodies pass 0.
  Delivery(ExportClient& client, size_t max_pending_bytes, std::unique_ptr<Spool> spool,
           size_t max_merged_bytes = 0);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // A buffer to encode the next request into (reused from delivered ones).
  std::string take_buffer();
  // Hands over one request of `spans` spans. False when it could be kept
  // neither in memory nor in the spool (then it is counted as failed).
  bool submit(std::string&& payload, uint32_t spans) noexcept;
  // Waits until nothing submitted is held only in memory; false on timeout.
  bool flush(std::chrono::milliseconds timeout) noexcept;
  // Flushes within `timeout`, then stops the sender. What is still in memory
  // goes to the spool when there is one, else it is counted as failed.
  void shutdown(std::chrono::milliseconds timeout) noexcept;

  // fork(): called around fork() by the exporter.
  void prepare_fork() noexcept;
  void after_fork_parent() noexcept;
  void after_fork_child() noexcept;

  // Adds the backlog's and the spool's figures to `stats`.
  void add_stats(OtlpExporterStats* stats) const noexcept;

 private:
  struct Pending {
    std::string payload;
    uint32_t spans = 0;
    bool spooled = false;  // also written to the spool, at `where`
    SpoolLocation where;
  };

  void run();
  void start_sender();
  // Appends every backlog request not yet in the spool to it, oldest first,
  // and drops the spooled ones from memory. Under mu_.
  void spill_locked();
  // Queues a request at the tail of the in-memory backlog.
  void push_backlog_locked(std::string&& payload, uint32_t spans);
  void recycle_locked(std::string&& buffer);
  bool idle_locked() const;

  ExportClient& client_;
  const size_t max_pending_bytes_;
  const size_t max_merged_bytes_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;               // wakes the sender
  std::condition_variable idle_cv_;               // flush waiters
  std::deque<std::shared_ptr<Pending>> backlog_;  // guarded by mu_
  size_t backlog_bytes_ = 0;                      // guarded by mu_
  uint64_t backlog_spans_ = 0;                    // guarded by mu_
  std::shared_ptr<Pending> in_flight_;            // guarded by mu_: sent from memory now
  // New requests go to the spool (it holds older ones not yet sent).
  bool spooling_ = false;                  // guarded by mu_
  std::unique_ptr<Spool> spool_;           // guarded by mu_
  std::vector<std::string> free_buffers_;  // guarded by mu_
  bool stop_ = false;                      // guarded by mu_
  uint64_t spooled_spans_ = 0;             // guarded by mu_
  uint64_t spool_full_dropped_ = 0;        // guarded by mu_
  uint64_t recovered_spans_ = 0;           // guarded by mu_
  SpoolStats final_spool_stats_;           // guarded by mu_: the spool's, once closed
  uint64_t final_spool_pending_ = 0;       // guarded by mu_
  std::thread sender_;
};

}  // namespace convtrace::otlp
