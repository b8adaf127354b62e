
#include <sys/stat.h>

#include "common/diagnostics.h"
#include "store/admit.h"
#include "store/packed.h"
#include "store/postgres.h"
#include "store/rollup.h"
#include "store/sqlite_backend.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

class StoreExporter : public SpanExporter {
 public:
  explicit StoreExporter(std::unique_ptr<Store> store)
      : store_(std::move(store)),
        warning_(std::string(store_->backend_name()) + "_export_failed") {}

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    if (!store_) return ExportResult::failure;
    try {
      Error e = store_->insert(batch);
      if (!e) return ExportResult::success;
      report_warning(warning_, "dropped " + std::to_string(batch.size()) + " spans: " + e.message);
    } catch (...) {
      report_warning(warning_, "dropped spans: out of memory");
    }
    return ExportResult::failure;
  }

  void shutdown(std::chrono::milliseconds) noexcept override { store_.reset(); }

 private:
  std::unique_ptr<Store> store_;
  std::string warning_;
};

template <typename T>
struct Named {
  T value;
  std::string_view name;
};

constexpr Named<ReportSort> kReportSorts[] = {
    {ReportSort::cost, "cost"},
    {ReportSort::group, "group"},
    {ReportSort::llm_calls, "llm-calls"},
    {ReportSort::input_tokens, "input-tokens"},
    {ReportSort::output_tokens, "output-tokens"},
    {ReportSort::conversations, "conversations"},
    {ReportSort::workflow_runs, "runs"},
    {ReportSort::errors, "errors"},
};
constexpr Named<ConversationSort> kConversationSorts[] = {
    {ConversationSort::last_seen, "last-seen"},
    {ConversationSort::first_seen, "first-seen"},
    {ConversationSort::cost, "cost"},
    {ConversationSort::turns, "turns"},
    {ConversationSort::llm_calls, "llm-calls"},
    {ConversationSort::errors, "errors"},
    {ConversationSort::id, "id"},
};
constexpr Named<WorkflowSort> kWorkflowSorts[] = {
    {WorkflowSort::cost, "cost"},
    {WorkflowSort::start, "start"},
    {WorkflowSort::llm_calls, "llm-calls"},
    {WorkflowSort::errors, "errors"},
    {WorkflowSort::id, "id"},
};

template <typename T, size_t N>
std::string_view name_of(const Named<T> (&table)[N], T value) {
  for (const auto& n : table) {
    if (n.value == value) return n.name;
  }
  return table[0].name;
}

template <typename T, size_t N>
Expected<T> parse_named(const Named<T> (&table)[N], std::string_view text) {
  std::string names;
  for (const auto& n : table) {
    if (n.name == text) return n.value;
    names += names.empty() ? "" : ", ";
    names += n.name;
  }
  return Error{Error::invalid_argument,
               "unknown sort '" + std::string(text) + "' (expected " + names + ")"};
}

}  // namespace

std::string_view to_string(ReportGroup group) {
  switch (group) {
    case ReportGroup::user:
      return "user";
    case ReportGroup::model:
      return "model";
    case ReportGroup::workflow_type:
      return "workflow-type";
    case ReportGroup::conversation:
      return "conversation";
    case ReportGroup::day:
      return "day";
  }
  return "user";
}

Expected<ReportGroup> parse_report_group(std::string_view text) {
  for (ReportGroup g : {ReportGroup::user, ReportGroup::model, ReportGroup::workflow_type,
                        ReportGroup::conversation, ReportGroup::day}) {
    if (text == to_string(g)) return g;
  }
  if (text == "workflow_type") return ReportGroup::workflow_type;
  return Error{Error::invalid_argument,
               "unknown grouping '" + std::string(text) +
                   "' (expected user, model, workflow-type, conversation or day)"};
}

std::string_view to_string(ReportSort sort) { return name_of(kReportSorts, sort); }
Expected<ReportSort> parse_report_sort(std::string_view text) {
  return parse_named(kReportSorts, text);
}
std::string_view to_string(ConversationSort sort) { return name_of(kConversationSorts, sort); }
Expected<ConversationSort> parse_conversation_sort(std::string_view text) {
  return parse_named(kConversationSorts, text);
}
std::string_view to_string(WorkflowSort sort) { return name_of(kWorkflowSorts, sort); }
Expected<WorkflowSort> parse_workflow_sort(std::string_view text) {
  return parse_named(kWorkflowSorts, text);
}

bool is_postgresql_location(std::string_view location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string redact_location(std::string_view location) {
  std::string out(location);
  if (is_postgresql_location(out)) {
    // postgresql://user:PASSWORD@host/…
    size_t scheme = out.find("://") + 3;
    size_t at = out.find('@', scheme);
    size_t slash = out.find('/', scheme);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = out.find(':', scheme);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=… as a URI parameter or a key=value setting.
  for (size_t at = out.find("password="); at != std::string::npos;
       at = out.find("password=", at + 1)) {
    size_t value = at + 9;
    size_t end = out.find_first_of("& ", value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Expected<std::unique_ptr<Store>> Store::open(const std::string& location, StoreOptions options) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->location = redact_location(location);
    impl->options = options;
    impl->pricer = dialects::IngestPricer(options.pricing);
    auto db = is_postgresql_location(location)
                  ? store::open_postgresql(location, options, &impl->version)
                  : store::open_sqlite(location, options, &impl->version);
    if (!db) return db.error();
    impl->db = std::move(*db);
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Error Store::insert(const SpanBatch& batch) {
  store::AdmittedBatch admitted;
  try {
    if (Error e = admitted.admit(batch)) return e;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
  SpanBatch spans = admitted.spans();
  return impl_->insert_grouped(spans.begin(), spans.size());
}

Error Store::Impl::insert_grouped(const SpanData* const* spans, size_t n) {
  Writer self{spans, n, Error{}};
  std::unique_lock<std::mutex> lock(writers_mu);
  try {
    writers.push_back(&self);
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
  writers_cv.wait(lock, [&] { return self.done || writers.front() == &self; });
  if (self.done) return self.result;
  // This insert leads a group: itself and those queued behind it. Only the
  // leader removes entries, so the group stays at the front meanwhile.
  Writer* alone[1] = {&self};
  std::vector<Writer*> group;
  size_t total = 0;
  try {
    for (Writer* w : writers) {
      if (!group.empty() && total + w->n > kMaxGroupSpans) break;
      group.push_back(w);
      total += w->n;
    }
  } catch (const std::exception&) {
    group.clear();  // out of memory: this insert alone
  }
  Writer* const* members = group.empty() ? alone : group.data();
  const size_t count = group.empty() ? 1 : group.size();
  if (group.empty()) total = n;
  lock.unlock();
  {
    std::lock_guard<std::mutex> db_lock(mu);
    write_group(members, count, total);
  }
  lock.lock();
  for (size_t i = 0; i < count; ++i) {
    members[i]->done = true;
    writers.pop_front();
  }
  writers_cv.notify_all();
  return self.result;
}

void Store::Impl::write_group(Writer* const* group, size_t count, size_t total_spans) {
  auto store = [&](const SpanData* const* spans, size_t n) -> Error {
    try {
      ++transactions;
      return insert_locked(spans, n);
    } catch (const std::exception& e) {
      db->rollback();
      return Error{Error::internal, e.what()};
    }
  };
  if (count > 1) {
    Error together;
    try {
      std::vector<const SpanData*> all;
      all.reserve(total_spans);
      for (size_t i = 0; i < count; ++i)
        all.insert(all.end(), group[i]->spans, group[i]->spans + group[i]->n);
      together = store(all.data(), all.size());
    } catch (const std::exception& e) {
      together = Error{Error::internal, e.what()};
    }
    if (!together) return;  // every result stays success
    // Busy or down: the same for each alone, and retrying each would wait
    // for the busy timeout once per request.
    if (together.code == Error::unavailable) {
      for (size_t i = 0; i < count; ++i) group[i]->result = together;
      return;
    }
  }
  for (size_t i = 0; i < count; ++i) group[i]->result = store(group[i]->spans, group[i]->n);
}

uint64_t Store::write_transactions() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->transactions;
}

Error Store::insert(const std::vector<SpanData>& spans) {
  try {
    std::vector<const SpanData*> ptrs;
    ptrs.reserve(spans.size());
    for (const SpanData& s : spans) ptrs.push_back(&s);
    return insert(SpanBatch(ptrs.data(), ptrs.size()));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

int Store::schema_version() const { return impl_->version; }

std::string_view Store::backend_name() const { return impl_->db->name(); }

const std::string& Store::location() const { return impl_->location; }

Expected<int64_t> Store::span_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t n = 0;
  Error e = impl_->db->query("SELECT COUNT(*) FROM spans", {}, [&](const store::Row& r) {
    n = r.int64(0);
    return false;
  });
  if (e) return e;
  return n;
}

Expected<std::vector<SpanData>> Store::load_trace(std::string_view trace_id) const {
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    store::Backend& db = *impl_->db;
    std::vector<SpanData> out;
    std::vector<std::optional<int64_t>> resource_of;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const InstrumentationScope>>
        scopes;
    std::string trace(trace_id);
    Error damaged;
    Error e = store::in_transaction(db, false, [&]() -> Error {
      Error read = db.query(
          "SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, "
          "s.parent_is_remote, s.name, s.kind, s.start_ns, s.end_ns, s.status_code, "
          "s.status_message, s.dropped_attributes, s.dropped_events, s.dropped_links, "
          "s.resource_id, sc.name, sc.version, s.attributes, s.events, s.links FROM spans s "
          "LEFT JOIN scopes sc ON sc.id = s.scope_id WHERE s.trace_id = ?1 "
          "ORDER BY s.start_ns, s.id",
          {store::Value::text(trace)}, [&](const store::Row& row) {
            SpanData d;
            TraceId::from_hex(row.text(1), &d.trace_id);
            SpanId::from_hex(row.text(2), &d.span_id);
            if (!row.is_null(3)) SpanId::from_hex(row.text(3), &d.parent_span_id);
            d.trace_state = row.text(4);
            d.flags = static_cast<uint32_t>(row.int64(5));
            d.parent_is_remote = row.int64(6) != 0;
            d.name = row.text(7);
            d.kind = static_cast<SpanKind>(row.int64(8));
            d.start_unix_nano = static_cast<uint64_t>(row.int64(9));
            d.end_unix_nano = static_cast<uint64_t>(row.int64(10));
            d.status.code = static_cast<StatusCode>(row.int64(11));
            d.status.description = row.text(12);
            d.dropped_attributes_count = static_cast<uint32_t>(row.int64(13));
            d.dropped_events_count = static_cast<uint32_t>(row.int64(14));
            d.dropped_links_count = static_cast<uint32_t>(row.int64(15));
            resource_of.push_back(row.opt_int64(16));
            if (!row.is_null(17)) {
              auto key = std::make_pair(row.text(17), row.text(18));
              auto& sc = scopes[key];
              if (!sc) {
                sc = std::make_shared<InstrumentationScope>(
                    InstrumentationScope{key.first, key.second});
              }
              d.scope = sc;
            }
            // A damaged packed value fails the whole read: a partial span
            // would look complete.
            auto corrupt = [&](const Error& e) {
              damaged = Error{e.code,
                              "span " + d.span_id.hex() + " of trace " + trace + ": " + e.message};
              return false;
            };
            if (Error e = store::unpack_attributes(row.blob(19), &d.attributes)) return corrupt(e);
            if (Error e = store::unpack_events(row.blob(20), &d.events)) return corrupt(e);
            if (Error e = store::unpack_links(row.blob(21), &d.links)) return corrupt(e);
            out.push_back(std::move(d));
            return true;
          });
      if (read || damaged) return read ? read : damaged;
      // The resources, each read once.
      std::map<int64_t, std::shared_ptr<const Resource>> resources;
      for (size_t i = 0; i < out.size(); ++i) {
        if (!resource_of[i]) continue;
        auto& res = resources[*resource_of[i]];
        if (!res) {
          auto r = std::make_shared<Resource>();
          Error bad;
          Error q = db.query("SELECT attributes FROM resources WHERE id = ?1",
                             {store::Value::of(*resource_of[i])}, [&](const store::Row& row) {
                               bad = store::unpack_attributes(row.blob(0), &r->attributes);
                               return false;
                             });
          if (q || bad) return q ? q : bad;
          res = std::move(r);
        }
        out[i].resource = res;
      }
      return Error{};
    });
    if (e) return e;
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::unique_ptr<SpanExporter>> make_store_exporter(const std::string& location,
                                                            StoreOptions options) {
  auto store = Store::open(location, options);
  if (!store) return store.error();
  try {
    return std::unique_ptr<SpanExporter>(new StoreExporter(std::move(*store)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::unique_ptr<SpanExporter>> make_sqlite_exporter(const std::string& location,
                                                             StoreOptions options) {
  return make_store_exporter(location, options);
}

}  // namespace convtrace
