
#include "common/diagnostics.h"
#include "store/admit.h"
#include "store/packed.h"
#include "store/schema.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

using store::Stmt;

Expected<std::vector<Attribute>> read_attributes(store::Db& db, Stmt& stmt, int64_t owner) {
  std::vector<Attribute> out;
  stmt.bind(1, owner);
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.push_back(Attribute{stmt.text(0), store::read_typed_value(stmt, 1, 2)});
  }
  stmt.reset();
  if (rc != SQLITE_DONE) return store::sqlite_error(db.raw(), rc, "cannot read attributes");
  return out;
}

class SqliteExporter : public SpanExporter {
 public:
  explicit SqliteExporter(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    if (!store_) return ExportResult::failure;
    try {
      Error e = store_->insert(batch);
      if (!e) return ExportResult::success;
      report_warning("sqlite_export_failed",
                     "dropped " + std::to_string(batch.size()) + " spans: " + e.message);
    } catch (...) {
      report_warning("sqlite_export_failed", "dropped spans: out of memory");
    }
    return ExportResult::failure;
  }

  void shutdown(std::chrono::milliseconds) noexcept override { store_.reset(); }

 private:
  std::unique_ptr<Store> store_;
};

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

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Expected<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->options = options;
    impl->pricer = dialects::IngestPricer(options.pricing);
    auto db = store::Db::open(path, options.read_only, options.busy_timeout);
    if (!db) return db.error();
    impl->db = std::move(*db);
    if (options.read_only) {
      int version = store::read_schema_version(impl->db);
      if (version < 0) return Error{Error::io_error, path + " is not a convtrace database"};
      // Version 0 is a SQLite file convtrace never wrote: not ours to change.
      if (options.migrate_older && version >= 1 && version < kStoreSchemaVersion) {
        Error e;
        auto writable = store::Db::open(path, false, options.busy_timeout);
        if (!writable) {
          e = writable.error();
        } else {
          e = store::migrate(*writable, options.busy_timeout);
        }
        if (e) {
          return Error{e.code, path + " has schema version " + std::to_string(version) +
                                   " and cannot be migrated to version " +
                                   std::to_string(kStoreSchemaVersion) + ": " + e.message};
        }
        version = store::read_schema_version(impl->db);
      }
      if (version != kStoreSchemaVersion) {
        return Error{Error::io_error, path + " has schema version " + std::to_string(version) +
                                          ", this convtrace reads version " +
                                          std::to_string(kStoreSchemaVersion)};
      }
    } else if (Error e = store::migrate(impl->db, options.busy_timeout)) {
      return Error{e.code, path + ": " + e.message};
    }
    impl->version = store::read_schema_version(impl->db);
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Error Store::insert(const SpanBatch& batch) {
  try {
    store::AdmittedBatch admitted;
    if (Error e = admitted.admit(batch)) return e;
    SpanBatch spans = admitted.spans();
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->insert_locked(spans.begin(), spans.size());
  } catch (const std::exception& e) {
    impl_->db.rollback();
    return Error{Error::internal, e.what()};
  }
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

Expected<int64_t> Store::span_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto stmt = impl_->db.prepare("SELECT COUNT(*) FROM spans");
  if (!stmt) return stmt.error();
  int rc = stmt->step();
  if (rc != SQLITE_ROW) return store::sqlite_error(impl_->db.raw(), rc, "cannot count spans");
  return stmt->int64(0);
}

Expected<std::vector<SpanData>> Store::load_trace(std::string_view trace_id) const {
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    store::Db& db = impl_->db;
    auto spans = db.prepare(
        "SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, "
        "s.parent_is_remote, s.name, s.kind, s.start_ns, s.end_ns, s.status_code, "
        "s.status_message, s.dropped_attributes, s.dropped_events, s.dropped_links, "
        "s.resource_id, sc.name, sc.version, s.attributes, s.events, s.links FROM spans s "
        "LEFT JOIN scopes sc ON sc.id = s.scope_id WHERE s.trace_id = ?1 ORDER BY s.start_ns, "
        "s.id");
    auto resource_attrs = db.prepare(
        "SELECT key, type, value FROM resource_attributes WHERE resource_id = ?1 ORDER BY seq");
    for (auto* s : {&spans, &resource_attrs}) {
      if (!*s) return s->error();
    }

    std::map<int64_t, std::shared_ptr<const Resource>> resources;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const InstrumentationScope>>
        scopes;
    std::vector<SpanData> out;
    std::string trace(trace_id);
    spans->bind(1, std::string_view(trace));
    int rc;
    while ((rc = spans->step()) == SQLITE_ROW) {
      SpanData d;
      TraceId::from_hex(spans->text(1), &d.trace_id);
      SpanId::from_hex(spans->text(2), &d.span_id);
      if (!spans->is_null(3)) SpanId::from_hex(spans->text(3), &d.parent_span_id);
      d.trace_state = spans->text(4);
      d.flags = static_cast<uint32_t>(spans->int64(5));
      d.parent_is_remote = spans->int64(6) != 0;
      d.name = spans->text(7);
      d.kind = static_cast<SpanKind>(spans->int64(8));
      d.start_unix_nano = static_cast<uint64_t>(spans->int64(9));
      d.end_unix_nano = static_cast<uint64_t>(spans->int64(10));
      d.status.code = static_cast<StatusCode>(spans->int64(11));
      d.status.description = spans->text(12);
      d.dropped_attributes_count = static_cast<uint32_t>(spans->int64(13));
      d.dropped_events_count = static_cast<uint32_t>(spans->int64(14));
      d.dropped_links_count = static_cast<uint32_t>(spans->int64(15));
      if (!spans->is_null(16)) {
        int64_t rid = spans->int64(16);
        auto& res = resources[rid];
        if (!res) {
          auto ra = read_attributes(db, *resource_attrs, rid);
          if (!ra) return ra.error();
          auto r = std::make_shared<Resource>();
          r->attributes = std::move(*ra);
          res = std::move(r);
        }
        d.resource = res;
      }
      if (!spans->is_null(17)) {
        auto key = std::make_pair(spans->text(17), spans->text(18));
        auto& sc = scopes[key];
        if (!sc)
          sc = std::make_shared<InstrumentationScope>(InstrumentationScope{key.first, key.second});
        d.scope = sc;
      }
      // A damaged packed value fails the whole read: a partial span would
      // look complete.
      auto corrupt = [&](const Error& e) {
        return Error{e.code, "span " + d.span_id.hex() + " of trace " + trace + ": " + e.message};
      };
      if (Error e = store::unpack_attributes(store::blob_view(*spans, 19), &d.attributes)) {
        return corrupt(e);
      }
      if (Error e = store::unpack_events(store::blob_view(*spans, 20), &d.events)) {
        return corrupt(e);
      }
      if (Error e = store::unpack_links(store::blob_view(*spans, 21), &d.links)) {
        return corrupt(e);
      }
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) return store::sqlite_error(db.raw(), rc, "cannot read spans");
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::unique_ptr<SpanExporter>> make_sqlite_exporter(const std::string& path,
                                                             StoreOptions options) {
  auto store = Store::open(path, options);
  if (!store) return store.error();
  try {
    return std::unique_ptr<SpanExporter>(new SqliteExporter(std::move(*store)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

}  // namespace convtrace
