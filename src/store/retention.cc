// Retention: removing whole days of spans with their share of every roll-up.
#include <string>
#include <utility>
#include <vector>

#include "common/unix_time.h"
#include "store/rollup.h"
#include "store/store_impl.h"

namespace convtrace {

Expected<PruneResult> Store::prune(uint64_t before_unix_nano) {
  if (impl_->options.read_only) return Error{Error::io_error, "the store was opened read-only"};
  if (Error e = unix_time::check("before_unix_nano", before_unix_nano)) return e;
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
      const int64_t month = store::month_of(day);
      for (auto& [sql, bound] : std::vector<std::pair<const char*, int64_t>>{
               {"DELETE FROM rollup_daily WHERE day < ?1", day},
               {"DELETE FROM rollup_by WHERE dimension <> 'user_month' AND period < ?1", day},
               {"DELETE FROM rollup_by WHERE dimension = 'user_month' AND period < ?1", month}}) {
        auto n = db.exec(sql, {store::Value::of(bound)});
        if (!n) return n.error();
      }
      if (Error e = store::rebuild_summaries(db, conversations, runs)) return e;
      if (store::month_start(month) == day) return Error{};
      // The month the cut falls in: the sum of its days left.
      std::string sums;
      for (const char* c : store::kSumColumns) sums += std::string(", ") + c;
      for (const char* c : store::kCounterColumns) sums += std::string(", ") + c;
      std::string summed;
      for (size_t at = 2; at < sums.size();) {
        size_t end = sums.find(", ", at);
        std::string col = sums.substr(at, end == std::string::npos ? std::string::npos : end - at);
        summed += ", SUM(" + col + ")";
        at = end == std::string::npos ? sums.size() : end + 2;
      }
      auto cleared = db.exec("DELETE FROM rollup_by WHERE dimension = 'user_month' AND period = ?1",
                             {store::Value::of(month)});
      if (!cleared) return cleared.error();
      auto rebuilt = db.exec("INSERT INTO rollup_by(dimension, period, value" + sums +
                                 ") SELECT 'user_month', ?1, value" + summed +
                                 " FROM rollup_by WHERE dimension = 'user_day' AND period >= ?2 "
                                 "AND period < ?3 GROUP BY value",
                             {store::Value::of(month), store::Value::of(day),
                              store::Value::of(store::month_start(month + 1))});
      return rebuilt ? Error{} : rebuilt.error();
    });
    if (e) return e;
    return result;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

}  // namespace convtrace
