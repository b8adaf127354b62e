// The Store's internals, shared by the writer, the queries and retention. Private.
#pragma once

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
