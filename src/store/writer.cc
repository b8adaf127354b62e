// Writing spans: every field and attribute, plus the extracted query columns.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "convtrace/attributes.h"
#include "convtrace/pricing.h"
#include "dialects/ingest.h"
#include "store/packed.h"
#include "store/rollup.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

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

// Empty text counts as none: the extracted columns hold NULL for it.
const std::string* nonempty(const std::string* s) { return s && !s->empty() ? s : nullptr; }
const std::string* nonempty(const std::string& s) { return s.empty() ? nullptr : &s; }

// The columns a span is inserted with, in order.
constexpr const char* kSpanColumns =
    "trace_id, span_id, parent_span_id, trace_state, flags, parent_is_remote, name, kind, "
    "start_ns, end_ns, status_code, status_message, dropped_attributes, dropped_events, "
    "dropped_links, resource_id, scope_id, conversation_id, turn, user_id, workflow_id, "
    "workflow_type, genai_kind, model, provider, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_pico, workflow_cost_pico, "
    "error, attributes, events, links, firsts, catalog_cost_pico";
constexpr size_t kSpanColumnCount = 38;

// One span of a batch, ready to insert: its extracted columns and what it
// adds to the roll-ups (conversation, user, model, tokens and cost are in
// `facts`, as the dialect reading gave them).
struct PreparedSpan {
  const SpanData* span = nullptr;
  std::string parent_hex;
  std::string kind, provider;  // empty: NULL
  std::optional<std::string> error;
  std::optional<int64_t> resource_id, scope_id;
  store::Facts facts;
  bool skip = false;  // stored already
};

PreparedSpan prepare_span(const SpanData& span, dialects::IngestPricer& pricer) {
  PreparedSpan p;
  p.span = &span;
  if (span.parent_span_id.valid()) p.parent_hex = span.parent_span_id.hex();
  Extracted x(span.attributes);
  // Every SDK's GenAI keys, normalized and priced: the one call into src/dialects.
  dialects::IngestColumns g = dialects::read_for_store(span.attributes, pricer);
  // convtrace's own kind names are kept as written; other SDKs' are normalized.
  if (const std::string* kind = x.str(kKind)) {
    p.kind = *kind;
  } else {
    p.kind = std::string(to_string(g.kind));
  }
  p.provider = std::move(g.provider);
  if (const std::string* type = x.str(kErrorType)) {
    p.error = *type;
  } else if (span.status.code == StatusCode::error) {
    p.error = span.status.description.empty() ? std::string("error") : span.status.description;
  }
  store::Facts& f = p.facts;
  f.trace_id = span.trace_id.hex();
  f.span_id = span.span_id.hex();
  f.start_unix_nano = span.start_unix_nano;
  f.end_unix_nano = span.end_unix_nano;
  f.error = span.status.code == StatusCode::error;
  f.root = !span.parent_span_id.valid() || span.parent_is_remote;
  f.conversation_id = std::move(g.conversation_id);
  f.user_id = std::move(g.user_id);
  if (const std::string* id = nonempty(x.str(kWorkflowId))) f.workflow_id = *id;
  if (const std::string* type = nonempty(x.str(kWorkflowType))) f.workflow_type = *type;
  f.model = std::move(g.model);
  f.turn = x.integer(kTurn);
  f.input = g.input_tokens;
  f.output = g.output_tokens;
  f.cache_read = g.cache_read_tokens;
  f.cache_write = g.cache_write_tokens;
  f.reasoning = g.reasoning_tokens;
  f.cost = g.cost_pico;
  f.catalog_cost = g.catalog_cost_pico;
  f.wf_cost = x.pico(kWorkflowCostPico, kWorkflowCostUsd);
  return p;
}

using store::Value;

// Binds the packed form of `items` (built in `buf`, which must live until the
// statement has run), or NULL when there are none.
template <typename T>
Value packed_value(const std::vector<T>& items, void (*pack)(const std::vector<T>&, std::string&),
                   std::string& buf) {
  if (items.empty()) return Value::null();
  pack(items, buf);
  return Value::blob(buf);
}

Value text_or_null(const std::string* s) { return s ? Value::text(*s) : Value::null(); }

}  // namespace

namespace store {
std::optional<int64_t> usd_to_pico(double usd) { return convtrace::usd_to_pico(usd); }
}  // namespace store

Error Store::Impl::insert_locked(const SpanData* const* spans, size_t n) {
  if (options.read_only) return Error{Error::io_error, "the store was opened read-only"};
  store::Backend& b = *db;

  // A span twice in one batch is stored once: the first is kept.
  std::vector<PreparedSpan> rows;
  rows.reserve(n);
  {
    std::set<std::pair<std::array<uint8_t, 16>, std::array<uint8_t, 8>>> ids;
    for (size_t i = 0; i < n; ++i) {
      if (ids.emplace(spans[i]->trace_id.bytes, spans[i]->span_id.bytes).second) {
        rows.push_back(prepare_span(*spans[i], pricer));
      }
    }
  }
  if (rows.empty()) return Error{};
  std::vector<int64_t> days;
  for (const PreparedSpan& r : rows) days.push_back(store::day_of(r.span->start_unix_nano));
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  if (Error e = b.prepare_days(days)) return e;
  if (packed.size() < 3 * rows.size()) packed.resize(3 * rows.size());

  // Rows inserted by a transaction become reusable only once it commits.
  std::unordered_map<std::string, int64_t> new_resources;
  std::map<std::pair<std::string, std::string>, int64_t> new_scopes;

  auto resolve_ids = [&]() -> Error {
    new_resources.clear();
    new_scopes.clear();
    std::unordered_map<const Resource*, int64_t> batch_resources;
    std::string scratch;
    auto select_id = [&](const char* sql, const store::Params& params, int64_t* id) -> Error {
      bool found = false;
      Error e = b.query(sql, params, [&](const store::Row& r) {
        *id = r.int64(0);
        found = true;
        return false;
      });
      if (e) return e;
      if (!found) return Error{Error::internal, "a row just stored is missing"};
      return Error{};
    };
    for (PreparedSpan& r : rows) {
      const SpanData& span = *r.span;
      r.resource_id.reset();
      r.scope_id.reset();
      if (span.resource) {
        auto cached = batch_resources.find(span.resource.get());
        if (cached != batch_resources.end()) {
          r.resource_id = cached->second;
        } else {
          std::string fp = fingerprint(*span.resource);
          auto known = resource_ids.find(fp);
          auto fresh = new_resources.find(fp);
          if (known != resource_ids.end()) {
            r.resource_id = known->second;
          } else if (fresh != new_resources.end()) {
            r.resource_id = fresh->second;
          } else {
            store::pack_attributes(span.resource->attributes, scratch);
            auto ins = b.exec(
                "INSERT INTO resources(fingerprint, service_name, attributes) VALUES(?1, ?2, ?3) "
                "ON CONFLICT(fingerprint) DO NOTHING",
                {Value::text(fp),
                 text_or_null(find_string(span.resource->attributes, attr::kServiceName)),
                 Value::blob(scratch)});
            if (!ins) return ins.error();
            int64_t id = 0;
            if (Error e = select_id("SELECT id FROM resources WHERE fingerprint = ?1",
                                    {Value::text(fp)}, &id)) {
              return e;
            }
            new_resources.emplace(std::move(fp), id);
            r.resource_id = id;
          }
          batch_resources.emplace(span.resource.get(), *r.resource_id);
        }
      }
      if (span.scope) {
        auto key = std::make_pair(span.scope->name, span.scope->version);
        auto known = scope_ids.find(key);
        auto fresh = new_scopes.find(key);
        if (known != scope_ids.end()) {
          r.scope_id = known->second;
        } else if (fresh != new_scopes.end()) {
          r.scope_id = fresh->second;
        } else {
          store::Params params = {Value::text(span.scope->name), Value::text(span.scope->version)};
          auto ins = b.exec(
              "INSERT INTO scopes(name, version) VALUES(?1, ?2) "
              "ON CONFLICT(name, version) DO NOTHING",
              params);
          if (!ins) return ins.error();
          int64_t id = 0;
          if (Error e = select_id("SELECT id FROM scopes WHERE name = ?1 AND version = ?2", params,
                                  &id)) {
            return e;
          }
          new_scopes.emplace(std::move(key), id);
          r.scope_id = id;
        }
      }
    }
    return Error{};
  };

  // Marks which spans are stored already (a retried request).
  auto find_stored = [&]() -> Error {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const PreparedSpan& r : rows) {
      lo = std::min(lo, r.span->start_unix_nano);
      hi = std::max(hi, r.span->start_unix_nano);
    }
    std::set<std::pair<std::string, std::string>> stored;
    size_t max = std::min<size_t>(256, (b.max_params() - 2) / 2);
    Error e = store::for_chunks(rows.size(), max, [&](size_t at, size_t count) -> Error {
      store::Params p = {Value::of(static_cast<int64_t>(lo)), Value::of(static_cast<int64_t>(hi))};
      for (size_t i = at; i < at + count; ++i) {
        p.push_back(Value::text(rows[i].facts.trace_id));
        p.push_back(Value::text(rows[i].facts.span_id));
      }
      std::string sql =
          "SELECT trace_id, span_id FROM spans WHERE start_ns >= ?1 AND start_ns <= ?2 AND "
          "(trace_id, span_id) IN (VALUES " +
          store::placeholders(count, 2) + ")";
      return b.query(sql, p, [&](const store::Row& row) {
        stored.emplace(row.text(0), row.text(1));
        return true;
      });
    });
    if (e) return e;
    for (PreparedSpan& r : rows) {
      r.skip = stored.count({r.facts.trace_id, r.facts.span_id}) > 0;
    }
    return Error{};
  };

  auto insert_rows = [&](const std::vector<PreparedSpan*>& todo, int64_t* inserted) -> Error {
    store::Params p;
    p.reserve(todo.size() * kSpanColumnCount);
    for (size_t i = 0; i < todo.size(); ++i) {
      const PreparedSpan& r = *todo[i];
      const SpanData& span = *r.span;
      const store::Facts& f = r.facts;
      std::string* buf = &packed[3 * i];
      p.push_back(Value::text(f.trace_id));
      p.push_back(Value::text(f.span_id));
      p.push_back(r.parent_hex.empty() ? Value::null() : Value::text(r.parent_hex));
      p.push_back(Value::text(span.trace_state));
      p.push_back(Value::of(static_cast<int64_t>(span.flags)));
      p.push_back(Value::of(int64_t{span.parent_is_remote ? 1 : 0}));
      p.push_back(Value::text(span.name));
      p.push_back(Value::of(static_cast<int64_t>(span.kind)));
      p.push_back(Value::of(static_cast<int64_t>(span.start_unix_nano)));
      p.push_back(Value::of(static_cast<int64_t>(span.end_unix_nano)));
      p.push_back(Value::of(static_cast<int64_t>(span.status.code)));
      p.push_back(Value::text(span.status.description));
      p.push_back(Value::of(static_cast<int64_t>(span.dropped_attributes_count)));
      p.push_back(Value::of(static_cast<int64_t>(span.dropped_events_count)));
      p.push_back(Value::of(static_cast<int64_t>(span.dropped_links_count)));
      p.push_back(Value::of(r.resource_id));
      p.push_back(Value::of(r.scope_id));
      p.push_back(text_or_null(nonempty(f.conversation_id)));
      p.push_back(Value::of(f.turn));
      p.push_back(text_or_null(nonempty(f.user_id)));
      p.push_back(text_or_null(nonempty(f.workflow_id)));
      p.push_back(text_or_null(nonempty(f.workflow_type)));
      p.push_back(text_or_null(nonempty(r.kind)));
      p.push_back(text_or_null(nonempty(f.model)));
      p.push_back(text_or_null(nonempty(r.provider)));
      p.push_back(Value::of(f.input));
      p.push_back(Value::of(f.output));
      p.push_back(Value::of(f.cache_read));
      p.push_back(Value::of(f.cache_write));
      p.push_back(Value::of(f.reasoning));
      p.push_back(Value::of(f.cost));
      p.push_back(Value::of(f.wf_cost));
      p.push_back(r.error ? Value::text(*r.error) : Value::null());
      p.push_back(packed_value(span.attributes, store::pack_attributes, buf[0]));
      p.push_back(packed_value(span.events, store::pack_events, buf[1]));
      p.push_back(packed_value(span.links, store::pack_links, buf[2]));
      p.push_back(Value::of(f.firsts));
      p.push_back(Value::of(f.catalog_cost));
    }
    auto n = b.insert_rows("spans", kSpanColumns, kSpanColumnCount, p);
    if (!n) return n.error();
    *inserted = *n;
    return Error{};
  };

  // Optimistic: the spans are taken to be new. When some were stored already
  // (a retried request, or another collector got there first), the
  // transaction is rolled back and done again without them; likewise when
  // another collector stored the first spans of a conversation or run this
  // batch starts (store/rollup.h).
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    bool raced = false;
    Error e = store::in_transaction(b, true, [&]() -> Error {
      if (Error e = resolve_ids()) return e;
      if (attempt > 0) {
        if (Error e = find_stored()) return e;
      }
      std::vector<PreparedSpan*> todo;
      std::vector<store::Facts> facts;
      for (PreparedSpan& r : rows) {
        if (r.skip) continue;
        todo.push_back(&r);
        r.facts.firsts = r.facts.stored_firsts = 0;
        facts.push_back(r.facts);
      }
      if (todo.empty()) return Error{};
      store::Aggregator agg(b, {});
      if (Error e = agg.load(facts)) return e;
      for (PreparedSpan* r : todo) agg.add(r->facts);
      int64_t inserted = 0;
      if (Error e = insert_rows(todo, &inserted)) return e;
      if (inserted != static_cast<int64_t>(todo.size())) {
        raced = true;
        return Error{Error::unavailable, "spans were stored by another writer meanwhile"};
      }
      Error written = agg.write();
      raced = agg.raced();
      return written;
    });
    if (raced) continue;
    if (e) return e;
    for (auto& [fp, id] : new_resources) resource_ids.emplace(fp, id);
    for (auto& [key, id] : new_scopes) scope_ids.emplace(key, id);
    return Error{};
  }
  return Error{Error::unavailable,
               "other writers kept storing the same spans or conversations meanwhile; retry"};
}

}  // namespace convtrace
