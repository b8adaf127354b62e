// Retention: removing whole days of spans with their share of every roll-up.
#include "store/rollup.h"
#include "store/store_impl.h"

namespace convtrace {

Expected<PruneResult> Store::prune(uint64_t before_unix_nano) {
  if (impl_->options.read_only) return Error{Error::io_error, "the store was opened read-only"};
  try {
    const int64_t day = store::day_of(before_unix_nano);
    const int64_t cut = day * store::kNanosPerDay;
    PruneResult result;
    result.before_unix_nano = static_cast<uint64_t>(cut);
    std::lock_guard<std::mutex> lock(impl_->mu);
    store::Backend& db = *impl_->db;
    Error e = store::in_transaction(db, true, [&]() -> Error {
      // Every summary with a span before the cut, locked (in key order, as
      // writers lock them) so that no writer changes one meanwhile; those
      // with spans after it too are rebuilt from the spans left.
      std::vector<std::string> conversations, runs;
      auto straddling = [&](const char* table, const char* key, std::vector<std::string>* out) {
        std::string sql = std::string("SELECT ") + key + ", last_start_ns FROM " + table +
                          " WHERE first_start_ns < ?1 ORDER BY " + key +
                          std::string(db.lock_clause());
        return db.query(sql, {store::Value::of(cut)}, [&](const store::Row& r) {
          if (r.int64(1) >= cut) out->push_back(r.text(0));
          return true;
        });
      };
      if (Error e = straddling("conversations", "conversation_id", &conversations)) return e;
      if (Error e = straddling("workflow_runs", "workflow_id", &runs)) return e;

      auto spans = db.delete_spans_before(day);
      if (!spans) return spans.error();
      result.spans = *spans;
      auto gone = [&](const char* table, const std::vector<std::string>& kept,
                      int64_t* count) -> Error {
        auto n = db.exec(std::string("DELETE FROM ") + table + " WHERE first_start_ns < ?1",
                         {store::Value::of(cut)});
        if (!n) return n.error();
        *count = *n - static_cast<int64_t>(kept.size());
        return Error{};
      };
      if (Error e = gone("conversations", conversations, &result.conversations)) return e;
      if (Error e = gone("workflow_runs", runs, &result.workflow_runs)) return e;
      auto rollups = db.exec("DELETE FROM rollup_daily WHERE day < ?1", {store::Value::of(day)});
      if (!rollups) return rollups.error();
      return store::rebuild_summaries(db, conversations, runs);
    });
    if (e) return e;
    return result;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

}  // namespace convtrace
