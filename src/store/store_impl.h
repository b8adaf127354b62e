// The Store's internals, shared by the writer and the queries. Private.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "convtrace/store.h"
#include "dialects/ingest.h"
#include "store/sqlite.h"

namespace convtrace {

struct Store::Impl {
  std::string path;
  StoreOptions options;
  int version = 0;

  mutable std::mutex mu;
  store::Db db;  // guarded by mu

  // Insert statements, prepared on the first insert. Guarded by mu.
  bool writer_ready = false;
  store::Stmt ins_resource, sel_resource, ins_resource_attr, ins_scope, sel_scope, ins_span;
  // Buffers of the packed columns, reused from span to span. Guarded by mu.
  std::string packed_attrs, packed_events, packed_links;
  // Reads and prices the GenAI attributes of spans being inserted. Guarded by mu.
  dialects::IngestPricer pricer;
  // Ids of rows committed earlier (rows are never deleted, so they stay valid).
  std::unordered_map<std::string, int64_t> resource_ids;             // fingerprint → id
  std::map<std::pair<std::string, std::string>, int64_t> scope_ids;  // (name, version) → id

  // REQUIRES: mu held.
  Error prepare_writer();
  Error insert_locked(const SpanData* const* spans, size_t n);
};

namespace store {
// Converts round(usd × 1e12) to pico-USD; nullopt when not finite or out of range.
std::optional<int64_t> usd_to_pico(double usd);
}  // namespace store

}  // namespace convtrace
