// Writing spans: every field and attribute, plus the extracted query columns.
#include <cmath>
#include <map>

#include "convtrace/attributes.h"
#include "convtrace/pricing.h"
#include "dialects/ingest.h"
#include "store/packed.h"
#include "store/schema.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

using store::Stmt;

// A canonical text of a resource's attributes, identifying it across batches.
std::string fingerprint(const Resource& resource) {
  std::string out;
  for (const Attribute& a : resource.attributes) {
    out += a.key;
    out += '\x1f';
    out += std::to_string(a.value.index());
    out += '\x1f';
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out += v;
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out += std::to_string(v);
          } else if constexpr (std::is_same_v<T, double>) {
            store::append_json_double(out, v);
          } else {
            out += store::array_json(a.value);
          }
        },
        a.value);
    out += '\x1e';
  }
  return out;
}

// The attributes of convtrace's own keys that query columns are extracted
// from. The GenAI columns (conversation, user, model, tokens, cost…) come from
// the dialect reading (dialects/ingest.h), which reads every SDK's keys.
enum Slot : size_t {
  kTurn,
  kWorkflowId,
  kWorkflowType,
  kKind,
  kWorkflowCostPico,
  kWorkflowCostUsd,
  kErrorType,
  kSlotCount,
};

constexpr std::string_view kSlotKeys[kSlotCount] = {
    attr::kConversationTurn,      attr::kWorkflowId,           attr::kWorkflowType, attr::kSpanKind,
    attr::kWorkflowTotalCostPico, attr::kWorkflowTotalCostUsd, attr::kErrorType,
};

const std::string* non_empty(const std::string& s) { return s.empty() ? nullptr : &s; }

// The values of the slot keys, found in one pass over a span's attributes
// (a look-up per key made up a tenth of the insert time). As with
// find_attribute, the first of a repeated key wins.
class Extracted {
 public:
  explicit Extracted(const std::vector<Attribute>& attrs) {
    for (const Attribute& a : attrs) {
      for (size_t i = 0; i < kSlotCount; ++i) {
        // Lengths first: most keys differ in length from most slot keys.
        if (a.key.size() == kSlotKeys[i].size() && !values_[i] && a.key == kSlotKeys[i]) {
          values_[i] = &a.value;
          break;
        }
      }
    }
  }

  const std::string* str(Slot s) const {
    return values_[s] ? std::get_if<std::string>(values_[s]) : nullptr;
  }

  std::optional<int64_t> integer(Slot s) const {
    const AttributeValue* v = values_[s];
    if (!v) return std::nullopt;
    if (const int64_t* i = std::get_if<int64_t>(v)) return *i;
    // Numbers from JSON-speaking SDKs may arrive as doubles.
    if (const double* d = std::get_if<double>(v)) {
      if (std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
        return static_cast<int64_t>(std::llround(*d));
      }
    }
    return std::nullopt;
  }

  std::optional<int64_t> pico(Slot pico_slot, Slot usd_slot) const {
    if (auto pico = integer(pico_slot)) return pico;
    const AttributeValue* v = values_[usd_slot];
    if (!v) return std::nullopt;
    if (const double* d = std::get_if<double>(v)) return store::usd_to_pico(*d);
    if (const int64_t* i = std::get_if<int64_t>(v)) {
      return store::usd_to_pico(static_cast<double>(*i));
    }
    return std::nullopt;
  }

 private:
  const AttributeValue* values_[kSlotCount] = {};
};

// Binds the packed form of `items` (built in `buf`, which must live until the
// statement has run), or NULL when there are none.
template <typename T>
void bind_packed(Stmt& stmt, int col, const std::vector<T>& items,
                 void (*pack)(const std::vector<T>&, std::string&), std::string& buf) {
  if (items.empty()) {
    stmt.bind_null(col);
    return;
  }
  pack(items, buf);
  stmt.bind_blob(col, buf);
}

Error step_done(store::Db& db, Stmt& stmt, std::string_view what) {
  int rc = stmt.step();
  stmt.reset();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store::sqlite_error(db.raw(), rc, what);
  return Error{};
}

}  // namespace

namespace store {
std::optional<int64_t> usd_to_pico(double usd) { return convtrace::usd_to_pico(usd); }
}  // namespace store

Error Store::Impl::prepare_writer() {
  if (writer_ready) return Error{};
  struct Item {
    Stmt* stmt;
    const char* sql;
  };
  const Item items[] = {
      {&ins_resource,
       "INSERT INTO resources(fingerprint, service_name) VALUES(?1, ?2) "
       "ON CONFLICT(fingerprint) DO NOTHING"},
      {&sel_resource, "SELECT id FROM resources WHERE fingerprint = ?1"},
      {&ins_resource_attr,
       "INSERT OR REPLACE INTO resource_attributes(resource_id, seq, key, type, value) "
       "VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&ins_scope,
       "INSERT INTO scopes(name, version) VALUES(?1, ?2) ON CONFLICT(name, version) DO NOTHING"},
      {&sel_scope, "SELECT id FROM scopes WHERE name = ?1 AND version = ?2"},
      {&ins_span,
       "INSERT OR IGNORE INTO spans(trace_id, span_id, parent_span_id, trace_state, flags, "
       "parent_is_remote, name, kind, start_ns, end_ns, status_code, status_message, "
       "dropped_attributes, dropped_events, dropped_links, resource_id, scope_id, "
       "conversation_id, turn, user_id, workflow_id, workflow_type, genai_kind, model, provider, "
       "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, "
       "cost_pico, workflow_cost_pico, error, attributes, events, links, catalog_cost_pico) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
       "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, "
       "?37)"},
  };
  for (const Item& item : items) {
    auto stmt = db.prepare(item.sql);
    if (!stmt) return stmt.error();
    *item.stmt = std::move(*stmt);
  }
  writer_ready = true;
  return Error{};
}

Error Store::Impl::insert_locked(const SpanData* const* spans, size_t n) {
  if (options.read_only) return Error{Error::io_error, "the store was opened read-only"};
  if (Error e = prepare_writer()) return e;
  if (Error e = db.begin_write(options.busy_timeout)) return e;

  // Rows inserted by this transaction become reusable only once it commits.
  std::unordered_map<std::string, int64_t> new_resources;
  std::map<std::pair<std::string, std::string>, int64_t> new_scopes;
  std::unordered_map<const Resource*, int64_t> batch_resources;
  std::string scratch;

  auto fail = [&](Error e) {
    db.rollback();
    return e;
  };
  auto attrs_into = [&](Stmt& stmt, int64_t owner, const std::vector<Attribute>& attrs,
                        std::string_view what) -> Error {
    for (size_t i = 0; i < attrs.size(); ++i) {
      stmt.bind(1, owner);
      stmt.bind(2, static_cast<int64_t>(i));
      stmt.bind(3, std::string_view(attrs[i].key));
      store::bind_typed_value(stmt, 4, 5, attrs[i].value, scratch);
      if (Error e = step_done(db, stmt, what)) return e;
    }
    return Error{};
  };
  auto select_id = [&](Stmt& stmt, int64_t* id) -> Error {
    int rc = stmt.step();
    if (rc == SQLITE_ROW) *id = stmt.int64(0);
    stmt.reset();
    if (rc != SQLITE_ROW) return store::sqlite_error(db.raw(), rc, "cannot look up a row id");
    return Error{};
  };

  for (size_t s = 0; s < n; ++s) {
    const SpanData& span = *spans[s];

    std::optional<int64_t> resource_id;
    if (span.resource) {
      auto cached = batch_resources.find(span.resource.get());
      if (cached != batch_resources.end()) {
        resource_id = cached->second;
      } else {
        std::string fp = fingerprint(*span.resource);
        auto known = resource_ids.find(fp);
        auto fresh = new_resources.find(fp);
        if (known != resource_ids.end()) {
          resource_id = known->second;
        } else if (fresh != new_resources.end()) {
          resource_id = fresh->second;
        } else {
          ins_resource.bind(1, std::string_view(fp));
          ins_resource.bind_opt(2, find_string(span.resource->attributes, attr::kServiceName));
          if (Error e = step_done(db, ins_resource, "cannot store a resource")) return fail(e);
          bool inserted = sqlite3_changes(db.raw()) > 0;
          int64_t id = 0;
          sel_resource.bind(1, std::string_view(fp));
          if (Error e = select_id(sel_resource, &id)) return fail(e);
          if (inserted) {
            if (Error e = attrs_into(ins_resource_attr, id, span.resource->attributes,
                                     "cannot store a resource attribute")) {
              return fail(e);
            }
          }
          new_resources.emplace(std::move(fp), id);
          resource_id = id;
        }
        batch_resources.emplace(span.resource.get(), *resource_id);
      }
    }

    std::optional<int64_t> scope_id;
    if (span.scope) {
      auto key = std::make_pair(span.scope->name, span.scope->version);
      auto known = scope_ids.find(key);
      auto fresh = new_scopes.find(key);
      if (known != scope_ids.end()) {
        scope_id = known->second;
      } else if (fresh != new_scopes.end()) {
        scope_id = fresh->second;
      } else {
        ins_scope.bind(1, std::string_view(span.scope->name));
        ins_scope.bind(2, std::string_view(span.scope->version));
        if (Error e = step_done(db, ins_scope, "cannot store a scope")) return fail(e);
        int64_t id = 0;
        sel_scope.bind(1, std::string_view(span.scope->name));
        sel_scope.bind(2, std::string_view(span.scope->version));
        if (Error e = select_id(sel_scope, &id)) return fail(e);
        new_scopes.emplace(std::move(key), id);
        scope_id = id;
      }
    }

    const std::vector<Attribute>& a = span.attributes;
    std::string trace_hex = span.trace_id.hex();
    std::string span_hex = span.span_id.hex();
    std::string parent_hex = span.parent_span_id.valid() ? span.parent_span_id.hex() : "";
    Extracted x(a);
    // Every SDK's GenAI keys, normalized and priced: the one call into src/dialects.
    const dialects::IngestColumns g = dialects::read_for_store(a, pricer);
    // convtrace's own kind names are kept as written; other SDKs' are normalized.
    const std::string* kind = x.str(kKind);
    const std::string normalized_kind(to_string(g.kind));
    if (!kind) kind = non_empty(normalized_kind);
    std::optional<std::string> error;
    if (const std::string* type = x.str(kErrorType)) {
      error = *type;
    } else if (span.status.code == StatusCode::error) {
      error = span.status.description.empty() ? std::string("error") : span.status.description;
    }

    Stmt& st = ins_span;
    st.bind(1, std::string_view(trace_hex));
    st.bind(2, std::string_view(span_hex));
    if (parent_hex.empty()) {
      st.bind_null(3);
    } else {
      st.bind(3, std::string_view(parent_hex));
    }
    st.bind(4, std::string_view(span.trace_state));
    st.bind(5, static_cast<int64_t>(span.flags));
    st.bind(6, int64_t{span.parent_is_remote ? 1 : 0});
    st.bind(7, std::string_view(span.name));
    st.bind(8, static_cast<int64_t>(span.kind));
    st.bind(9, static_cast<int64_t>(span.start_unix_nano));
    st.bind(10, static_cast<int64_t>(span.end_unix_nano));
    st.bind(11, static_cast<int64_t>(span.status.code));
    st.bind(12, std::string_view(span.status.description));
    st.bind(13, static_cast<int64_t>(span.dropped_attributes_count));
    st.bind(14, static_cast<int64_t>(span.dropped_events_count));
    st.bind(15, static_cast<int64_t>(span.dropped_links_count));
    st.bind_opt(16, resource_id);
    st.bind_opt(17, scope_id);
    st.bind_opt(18, non_empty(g.conversation_id));
    st.bind_opt(19, x.integer(kTurn));
    st.bind_opt(20, non_empty(g.user_id));
    st.bind_opt(21, x.str(kWorkflowId));
    st.bind_opt(22, x.str(kWorkflowType));
    st.bind_opt(23, kind);
    st.bind_opt(24, non_empty(g.model));
    st.bind_opt(25, non_empty(g.provider));
    st.bind_opt(26, g.input_tokens);
    st.bind_opt(27, g.output_tokens);
    st.bind_opt(28, g.cache_read_tokens);
    st.bind_opt(29, g.cache_write_tokens);
    st.bind_opt(30, g.reasoning_tokens);
    st.bind_opt(31, g.cost_pico);
    st.bind_opt(32, x.pico(kWorkflowCostPico, kWorkflowCostUsd));
    st.bind_opt(33, error ? &*error : nullptr);
    bind_packed(st, 34, a, store::pack_attributes, packed_attrs);
    bind_packed(st, 35, span.events, store::pack_events, packed_events);
    bind_packed(st, 36, span.links, store::pack_links, packed_links);
    st.bind_opt(37, g.catalog_cost_pico);
    if (Error e = step_done(db, st, "cannot store a span")) return fail(e);
  }

  if (Error e = db.exec("COMMIT", "cannot commit spans")) return fail(e);
  for (auto& [fp, id] : new_resources) resource_ids.emplace(fp, id);
  for (auto& [key, id] : new_scopes) scope_ids.emplace(key, id);
  return Error{};
}

}  // namespace convtrace
