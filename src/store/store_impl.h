// The Store's internals, shared by the writer, the queries and retention. Private.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "convtrace/store.h"
#include "dialects/ingest.h"
#include "store/backend.h"

namespace convtrace {

struct Store::Impl {
  std::string location;  // redacted
  StoreOptions options;
  int version = 0;

  mutable std::mutex mu;
  std::unique_ptr<store::Backend> db;  // guarded by mu

  // Buffers of the packed columns, one per span of a batch, reused. Guarded by mu.
  std::vector<std::string> packed;
  // Reads and prices the GenAI attributes of spans being inserted. Guarded by mu.
  dialects::IngestPricer pricer;
  // Ids of resource and scope rows committed earlier (they are never deleted).
  std::unordered_map<std::string, int64_t> resource_ids;             // fingerprint → id
  std::map<std::pair<std::string, std::string>, int64_t> scope_ids;  // (name, version) → id

  // REQUIRES: mu held.
  Error insert_locked(const SpanData* const* spans, size_t n);

  // Group commit. An insert that arrives while another is being written
  // waits in `writers`; the first one waiting then stores itself and those
  // behind it (up to kMaxGroupSpans) in one transaction, and each learns its
  // own result. A commit, and above all the summaries' index pages it
  // rewrites, cost about the same for one request's spans as for eight
  // requests', so concurrent senders (the workers of `collect`) share them.
  struct Writer {
    const SpanData* const* spans;
    size_t n;
    Error result;
    bool done = false;
  };
  static constexpr size_t kMaxGroupSpans = 8192;
  std::mutex writers_mu;
  std::condition_variable writers_cv;
  std::deque<Writer*> writers;  // guarded by writers_mu; the front one is writing
  uint64_t transactions = 0;    // guarded by mu: insert transactions tried

  Error insert_grouped(const SpanData* const* spans, size_t n);
  // REQUIRES: mu held. Stores the group together; when that fails, each on its
  // own, so that one request's error is not another's.
  void write_group(Writer* const* group, size_t count, size_t total_spans);
};

namespace store {
// Converts round(usd × 1e12) to pico-USD; nullopt when not finite or out of range.
std::optional<int64_t> usd_to_pico(double usd);

// Runs `body` in a read transaction (one snapshot), or a write transaction.
template <typename Body>
Error in_transaction(Backend& db, bool write, Body body) {
  if (Error e = db.begin(write)) return e;
  Error e = body();
  if (e) {
    db.rollback();
    return e;
  }
  if (write) return db.commit();
  // A read transaction changed nothing: ending it cannot lose anything.
  db.rollback();
  return Error{};
}
}  // namespace store

}  // namespace convtrace
