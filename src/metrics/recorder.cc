#include "metrics/recorder.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "common/diagnostics.h"
#include "common/fork_safety.h"
#include "convtrace/attributes.h"
#include "trace/clock.h"
#include "trace/genai_state.h"
#include "trace/span_record.h"

// Keeps a loop a loop where code size costs more than the loop's instructions.
#if defined(__clang__)
#define CONVTRACE_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define CONVTRACE_NO_UNROLL _Pragma("GCC unroll 1")
#endif

namespace convtrace {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr int64_t kNanosPerSecond = 1000000000;
constexpr int64_t kPicoPerUsd = 1000000000000;

// Bucket boundaries the GenAI conventions advise, in the recorded integer unit.
std::vector<int64_t> seconds_bounds() {
  // 0.01 s doubling up to 81.92 s (operation duration, time to first chunk).
  std::vector<int64_t> b;
  for (int64_t ns = kNanosPerSecond / 100; b.size() < 14; ns *= 2) b.push_back(ns);
  return b;
}
std::vector<int64_t> token_bounds() {
  std::vector<int64_t> b;
  for (int64_t t = 1; b.size() < 14; t *= 4) b.push_back(t);  // 1, 4, 16, … 67108864
  return b;
}
std::vector<int64_t> workflow_cost_bounds() {
  // USD per run: 0.0001 … 10, in pico-USD.
  const int64_t micro = kPicoPerUsd / 1000000;
  return {100 * micro,   500 * micro,     1000 * micro,    5000 * micro,
          10000 * micro, 50000 * micro,   100000 * micro,  500000 * micro,
          kPicoPerUsd,   5 * kPicoPerUsd, 10 * kPicoPerUsd};
}

// Sums and counts wrap modulo 2^64 rather than overflow, which is undefined:
// absurd values (a corrupt token count) give a wrong sum, never a crash.
int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

void add_own(std::atomic<int64_t>& w, int64_t n) { w.store(wrap_add(w.load(relaxed), n), relaxed); }

// Cheap hash of a short string: its length and its first and last eight bytes.
uint64_t mix(uint64_t h, std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t head = 0, tail = 0;
  const size_t n = s.size();
  if (n >= 8) {
    std::memcpy(&head, s.data(), 8);
    std::memcpy(&tail, s.data() + n - 8, 8);
  } else if (n > 0) {
    std::memcpy(&head, s.data(), n);
  }
  h = (h ^ n ^ head) * kMul;
  h = (h ^ (tail >> 3) ^ (h >> 29)) * kMul;
  return h;
}

constexpr size_t kKeyFields = 8;
using KeyView = std::array<std::string_view, kKeyFields>;

[[gnu::noinline]] bool same_long_text(const char* a, const char* b, size_t n) {
  return std::memcmp(a, b, n) == 0;
}

// Whether two strings are equal; inline, as the key of every call is compared.
// Half the fields of a key are usually empty and most others are up to 16
// bytes long (a provider, a model, an address); longer ones are compared out
// of line, to keep this code small.
[[gnu::always_inline]] inline bool same_text(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (__builtin_expect(n > 16, 0)) return same_long_text(a.data(), b.data(), n);
  return n == 0 || record_attr::same_bytes(a.data(), b.data(), n);
}

// The call family's key of a measurement, in the order of its key_names.
KeyView call_key(const CallMeasurement& m, const MetricsSettings& settings) {
  return {m.operation,
          m.provider,
          m.request_model,
          m.response_model,
          m.error_type,
          m.server_address,
          settings.workflow_type_attribute ? m.workflow_type : std::string_view(),
          settings.user_id_attribute ? m.user_id : std::string_view()};
}

// A call's fields, read where they are. record_call() reads a
// CallMeasurement; record_span_call() reads the span record itself, so an
// observed call does not copy twenty fields into a measurement first.
struct MeasuredCall {
  const CallMeasurement& m;
  std::string_view operation() const { return m.operation; }
  std::string_view provider() const { return m.provider; }
  std::string_view request_model() const { return m.request_model; }
  std::string_view response_model() const { return m.response_model; }
  std::string_view error_type() const { return m.error_type; }
  std::string_view server_address() const { return m.server_address; }
  int64_t server_port() const { return m.server_port; }
  std::string_view workflow_type() const { return m.workflow_type; }
  std::string_view user_id() const { return m.user_id; }
  int64_t duration_ns() const { return m.duration_ns; }
  int64_t first_chunk_ns() const { return m.first_chunk_ns; }
  bool has_input() const { return m.has_input; }
  bool has_output() const { return m.has_output; }
  int64_t input_tokens() const { return m.input_tokens; }
  int64_t output_tokens() const { return m.output_tokens; }
  bool priced() const { return m.priced; }
  int64_t cost_pico() const { return m.cost_pico; }
  uint64_t end_unix_nano() const { return m.end_unix_nano; }
  const SpanContext* sampled() const { return m.sampled; }
  const CallMeasurement& measurement() const { return m; }
};

struct RecordedCall {
  const SpanRecord& r;
  std::string_view operation() const { return r.operation; }
  std::string_view provider() const { return r.provider; }
  std::string_view request_model() const { return r.request_model; }
  std::string_view response_model() const { return r.response_model.view(); }
  std::string_view error_type() const {
    if (!r.error_type.empty()) return r.error_type;
    return r.failed ? std::string_view("_OTHER") : std::string_view();
  }
  std::string_view server_address() const { return r.server_address; }
  int64_t server_port() const { return r.server_port; }
  std::string_view workflow_type() const {
    return r.genai ? std::string_view(r.genai->workflow_type) : std::string_view();
  }
  std::string_view user_id() const {
    return r.genai ? std::string_view(r.genai->user_id) : std::string_view();
  }
  int64_t duration_ns() const { return r.end_steady - r.start_steady; }
  int64_t first_chunk_ns() const { return r.first_chunk_ns; }
  bool has_input() const { return r.usage_recorded && r.has_input_tokens; }
  bool has_output() const { return r.usage_recorded && r.has_output_tokens; }
  int64_t input_tokens() const { return r.input_tokens; }
  int64_t output_tokens() const { return r.output_tokens; }
  bool priced() const { return r.usage_recorded && r.usage_priced; }
  int64_t cost_pico() const { return r.cost_pico; }
  uint64_t end_unix_nano() const { return unix_nano_at(r.end_steady); }
  // Only sampled spans have data: only they can be an exemplar's span.
  const SpanContext* sampled() const { return r.data ? &r.context : nullptr; }
  // For the first call of an attribute set on this thread only.
  CallMeasurement measurement() const {
    CallMeasurement m;
    m.operation = operation();
    m.provider = provider();
    m.request_model = request_model();
    m.response_model = response_model();
    m.error_type = error_type();
    m.server_address = server_address();
    m.server_port = server_port();
    m.workflow_type = workflow_type();
    m.user_id = user_id();
    m.duration_ns = duration_ns();
    m.first_chunk_ns = first_chunk_ns();
    m.has_input = has_input();
    m.has_output = has_output();
    m.input_tokens = input_tokens();
    m.output_tokens = output_tokens();
    m.priced = priced();
    m.cost_pico = cost_pico();
    m.end_unix_nano = end_unix_nano();
    m.sampled = sampled();
    return m;
  }
};

// Finds the bucket of a value with one table look-up and two comparisons
// instead of a pass over every bound. Bucket i covers (bounds[i-1], bounds[i]],
// so a value's bucket is the number of bounds below it. For a value of bit
// width w, that is every bound below 2^(w-1) (`below[w]`, counted once here)
// plus those in [2^(w-1), v): the advised bounds double or grow faster, so an
// octave [2^(w-1), 2^w) holds at most two of them, and two comparisons with
// the bounds after below[w] settle it (`padded` ends in two that nothing
// passes). Bound lists without that property are counted one by one.
struct BucketIndex {
  std::array<uint8_t, 64> below{};  // by bit width; [0] for values <= 0
  std::vector<int64_t> padded;
  bool linear = false;

  explicit BucketIndex(const std::vector<int64_t>& bounds) : padded(bounds) {
    padded.push_back(std::numeric_limits<int64_t>::max());
    padded.push_back(std::numeric_limits<int64_t>::max());
    linear = bounds.empty() || bounds.size() > 255 || bounds.front() <= 0 ||
             !std::is_sorted(bounds.begin(), bounds.end());
    for (unsigned w = 1; w < 64 && !linear; ++w) {
      const int64_t low = int64_t{1} << (w - 1);
      const int64_t high = w < 63 ? int64_t{1} << w : std::numeric_limits<int64_t>::max();
      size_t under = 0, inside = 0;
      for (int64_t b : bounds) {
        under += static_cast<size_t>(b < low);
        inside += static_cast<size_t>(b >= low && b < high);
      }
      below[w] = static_cast<uint8_t>(under);
      linear = inside > 2 || (w == 63 && bounds.back() == std::numeric_limits<int64_t>::max());
    }
  }

  size_t operator()(int64_t v) const {
    if (__builtin_expect(linear, 0)) return count_below(v);
    const int64_t* b = padded.data();
    const unsigned w =
        v > 0 ? 64 - static_cast<unsigned>(__builtin_clzll(static_cast<uint64_t>(v))) : 0;
    const size_t c = below[w];
    return c + static_cast<size_t>(b[c] < v) + static_cast<size_t>(b[c + 1] < v);
  }

  [[gnu::noinline, gnu::cold]] size_t count_below(int64_t v) const {
    size_t under = 0;
    for (size_t i = 0; i + 2 < padded.size(); ++i) under += static_cast<size_t>(padded[i] < v);
    return under;
  }
};

}  // namespace

// One instrument of a family and where its words sit in a cell.
struct Instrument {
  std::string_view name, description, unit;
  bool histogram = true;
  std::string_view token_type;  // token usage: "input" / "output"
  std::vector<int64_t> bounds;  // recorded unit
  double divisor = 1;           // recorded unit per exported unit
  size_t offset = 0;            // first word in a cell
  size_t slot = 0;              // first exemplar slot in a series
  BucketIndex bucket_of{bounds};
  // Histogram words: sum, min, max, then one per bucket (the count is the
  // buckets' total, so recording keeps no count of its own). Sum: count, sum.
  size_t words() const { return histogram ? 3 + bounds.size() + 1 : 2; }
  size_t slots() const { return histogram ? bounds.size() + 1 : 1; }
};

struct ExemplarSlot {
  // 2e+1: holds a complete exemplar of epoch e; 2e: being written for epoch e.
  std::atomic<uint64_t> tag{0};
  std::atomic<uint64_t> trace_hi{0}, trace_lo{0}, span{0}, time{0};
  std::atomic<int64_t> value{0};
};

struct Series {
  uint32_t id = 0;
  uint64_t hash = 0;
  std::array<std::string, kKeyFields> key;
  int64_t port = 0;
  std::vector<Attribute> attributes;
  std::unique_ptr<ExemplarSlot[]> exemplars;  // 2 × family slots, by epoch parity

  bool matches(const KeyView& k, int64_t p) const {
    if (p != port) return false;
    for (size_t i = 0; i < kKeyFields; ++i) {
      if (!record_attr::same_string(key[i], k[i])) return false;
    }
    return true;
  }
};

// One thread's words for one series.
struct Cell {
  Series* series = nullptr;
  Cell* next = nullptr;  // the shard's published list
  std::unique_ptr<std::atomic<int64_t>[]> words;
  // Owner-only: the exemplar slots (bit i: slot i) this thread found taken
  // in collection epoch `exemplar_epoch`. A slot taken stays taken for its
  // epoch, so later measurements skip it without reading the shared slot.
  uint64_t exemplar_epoch = 0;
  uint64_t exemplars_taken = 0;
};

struct MetricsRecorder::Family {
  static constexpr size_t kMaxSlots = 64;
  std::vector<Instrument> instruments;
  std::array<std::string_view, kKeyFields> key_names{};  // empty: unused field
  size_t cell_words = 0;
  size_t slots = 0;
  size_t limit = 2000;

  std::mutex mu;
  std::unordered_multimap<uint64_t, Series*> index;  // guarded by mu
  std::vector<std::unique_ptr<Series>> series;       // guarded by mu; [0] is the overflow set
  // Totals of retired shards and, for delta, what the last commit covered.
  std::vector<int64_t> retired;  // guarded by the recorder's collect_mu_
  std::vector<int64_t> last;     // guarded by collect_mu_
  std::vector<int64_t> pending;  // guarded by collect_mu_: the last collection's totals

  Family(std::vector<Instrument> list, size_t cardinality_limit) : instruments(std::move(list)) {
    for (Instrument& in : instruments) {
      in.offset = cell_words;
      in.slot = slots;
      cell_words += in.words();
      slots += in.slots();
    }
    // A measurement names the exemplar slots it offers as bits of one word.
    assert(slots <= kMaxSlots && "a family's bounds fit 64 exemplar slots");
    limit = cardinality_limit;
  }

  std::unique_ptr<Series> make_series(uint32_t id, const KeyView& k, int64_t port, uint64_t hash,
                                      bool overflow) {
    auto s = std::make_unique<Series>();
    s->id = id;
    s->hash = hash;
    s->port = port;
    s->exemplars.reset(new ExemplarSlot[2 * slots]);
    if (overflow) {
      s->attributes.push_back(Attribute{std::string(attr::kMetricOverflow), true});
      return s;
    }
    for (size_t i = 0; i < kKeyFields; ++i) {
      s->key[i].assign(k[i].data(), k[i].size());
      if (!k[i].empty() && !key_names[i].empty()) {
        s->attributes.push_back(Attribute{std::string(key_names[i]), s->key[i]});
      }
    }
    if (port > 0) s->attributes.push_back(Attribute{std::string(attr::kServerPort), port});
    return s;
  }

  void init_words(std::atomic<int64_t>* w) const {
    for (size_t i = 0; i < cell_words; ++i) w[i].store(0, relaxed);
    for (const Instrument& in : instruments) {
      if (!in.histogram) continue;
      w[in.offset + 1].store(std::numeric_limits<int64_t>::max(), relaxed);
      w[in.offset + 2].store(std::numeric_limits<int64_t>::min(), relaxed);
    }
  }

  // Adds the words `src` to the totals `dst` (both laid out like a cell).
  template <typename Load>
  void fold(Load src, int64_t* dst) const {
    for (const Instrument& in : instruments) {
      const size_t o = in.offset;
      if (in.histogram) {
        dst[o] = wrap_add(dst[o], src(o));
        dst[o + 1] = std::min(dst[o + 1], src(o + 1));
        dst[o + 2] = std::max(dst[o + 2], src(o + 2));
        for (size_t b = 0; b <= in.bounds.size(); ++b) {
          dst[o + 3 + b] = wrap_add(dst[o + 3 + b], src(o + 3 + b));
        }
      } else {
        dst[o] = wrap_add(dst[o], src(o));
        dst[o + 1] = wrap_add(dst[o + 1], src(o + 1));
      }
    }
  }

  void grow_totals(std::vector<int64_t>& v, size_t series_count) const {
    const size_t old = v.size() / std::max<size_t>(cell_words, 1);
    if (old >= series_count) return;
    v.resize(series_count * cell_words, 0);
    for (size_t s = old; s < series_count; ++s) {
      for (const Instrument& in : instruments) {
        if (!in.histogram) continue;
        v[s * cell_words + in.offset + 1] = std::numeric_limits<int64_t>::max();
        v[s * cell_words + in.offset + 2] = std::numeric_limits<int64_t>::min();
      }
    }
  }

  // The series for `k`, created when new; the overflow set beyond the limit.
  Series* find_or_create(const KeyView& k, int64_t port, uint64_t hash) {
    std::lock_guard<std::mutex> lock(mu);
    auto range = index.equal_range(hash);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second->matches(k, port)) return it->second;
    }
    // series[0] is the overflow set, so series.size() - 1 sets are regular.
    if (series.size() - 1 >= limit) {
      report_warning("metrics_cardinality",
                     "more than " + std::to_string(limit) +
                         " attribute sets for one family of GenAI metrics; further ones are "
                         "aggregated under otel.metric.overflow=true");
      return series[0].get();
    }
    auto s = make_series(static_cast<uint32_t>(series.size()), k, port, hash, false);
    Series* raw = s.get();
    series.push_back(std::move(s));
    index.emplace(hash, raw);
    return raw;
  }
};

// One thread's cells for one recorder. Written by its thread; read by the collector.
struct MetricsRecorder::ThreadShard {
  std::atomic<bool> retired{false};
  std::atomic<Cell*> heads[2] = {nullptr, nullptr};  // calls, workflows

  // Owner-only lookup: open addressing over (hash → cell).
  struct Slot {
    uint64_t hash = 0;
    Cell* cell = nullptr;
    bool by_hash = false;  // a key that overflowed: matched by its hash alone
  };
  // This thread's cell of each family's overflow set.
  Cell* overflow[2] = {nullptr, nullptr};
  std::vector<Slot> tables[2];
  size_t used[2] = {0, 0};

  // The cell of this thread's previous call, with its key as views of the
  // series' strings. A thread's calls nearly always repeat the previous
  // call's attribute set, and comparing the key with it is cheaper than
  // hashing the key and probing the table. Never an overflow cell: its series
  // holds no key to compare with.
  struct LastCall {
    Cell* cell = nullptr;
    int64_t port = 0;
    KeyView key{};

    // Whether call `c` has this key (call_key would equal `key`), without building it.
    template <typename Call>
    [[gnu::always_inline]] bool matches(const Call& c, const MetricsSettings& settings) const {
      return port == c.server_port() && same_text(key[0], c.operation()) &&
             same_text(key[1], c.provider()) && same_text(key[2], c.request_model()) &&
             same_text(key[3], c.response_model()) && same_text(key[4], c.error_type()) &&
             same_text(key[5], c.server_address()) &&
             // Fields the settings leave out are empty in every key.
             (!settings.workflow_type_attribute || same_text(key[6], c.workflow_type())) &&
             (!settings.user_id_attribute || same_text(key[7], c.user_id()));
    }
  };
  LastCall last_call;

  void remember_call(Cell* cell) {
    const Series& s = *cell->series;
    if (s.id == 0) {
      last_call.cell = nullptr;
      return;
    }
    last_call.cell = cell;
    last_call.port = s.port;
    for (size_t i = 0; i < kKeyFields; ++i) last_call.key[i] = s.key[i];
  }

  ~ThreadShard() {
    for (auto& head : heads) {
      for (Cell* c = head.load(relaxed); c;) {
        Cell* next = c->next;
        delete c;
        c = next;
      }
    }
  }

  Cell* find(int f, uint64_t hash, const KeyView& k, int64_t port) const {
    const std::vector<Slot>& t = tables[f];
    if (t.empty()) return nullptr;
    const size_t mask = t.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = t[i];
      if (!s.cell) return nullptr;
      if (s.hash == hash && (s.by_hash || s.cell->series->matches(k, port))) return s.cell;
    }
  }

  void insert(int f, uint64_t hash, Cell* cell, bool by_hash) {
    std::vector<Slot>& t = tables[f];
    if ((used[f] + 1) * 2 > t.size()) {
      std::vector<Slot> bigger(std::max<size_t>(16, t.size() * 2));
      const size_t mask = bigger.size() - 1;
      for (const Slot& s : t) {
        if (!s.cell) continue;
        size_t i = s.hash & mask;
        while (bigger[i].cell) i = (i + 1) & mask;
        bigger[i] = s;
      }
      t.swap(bigger);
    }
    const size_t mask = t.size() - 1;
    size_t i = hash & mask;
    while (t[i].cell) i = (i + 1) & mask;
    t[i] = Slot{hash, cell, by_hash};
    ++used[f];
  }
};

namespace {

// This thread's shards, one per recorder it recorded into; marked retired
// when the thread exits. Recorders are never freed (they belong to SDK states,
// which are kept for the life of the process), so the pointers stay valid.
thread_local bool shards_gone = false;
// The shard of the recorder this thread used last: a thread nearly always
// records into one recorder, and a trivially destructible thread_local is read
// without the guard that ThreadShards' destructor puts on every access.
struct LastShard {
  const MetricsRecorder* recorder = nullptr;
  MetricsRecorder::ThreadShard* shard = nullptr;
};
thread_local LastShard last_shard;
struct ThreadShards {
  struct Entry {
    const MetricsRecorder* recorder;
    MetricsRecorder::ThreadShard* shard;
  };
  std::vector<Entry> entries;
  ~ThreadShards() {
    shards_gone = true;
    last_shard = LastShard{};  // the collector frees retired shards
    for (Entry& e : entries) e.shard->retired.store(true, std::memory_order_release);
  }
};
thread_local ThreadShards thread_shards;

// Adds `v`; returns the bit of its bucket's exemplar slot.
// Inline in record_call: the call overhead was a quarter of the work.
[[gnu::always_inline]] inline uint64_t record_histogram(const Instrument& in,
                                                        std::atomic<int64_t>* w, int64_t v) {
  std::atomic<int64_t>* h = w + in.offset;
  add_own(h[0], v);
  if (v < h[1].load(relaxed)) h[1].store(v, relaxed);
  if (v > h[2].load(relaxed)) h[2].store(v, relaxed);
  const size_t bucket = in.bucket_of(v);
  add_own(h[3 + bucket], 1);
  return uint64_t{1} << (in.slot + bucket);
}

void record_sum(const Instrument& in, std::atomic<int64_t>* w, int64_t v) {
  add_own(w[in.offset], 1);
  add_own(w[in.offset + 1], v);
}

uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Writes the exemplar into `e` unless another measurement took it first.
void claim_exemplar(ExemplarSlot& e, uint64_t tag, uint64_t epoch, int64_t value, uint64_t time,
                    const SpanContext& ctx) {
  if (!e.tag.compare_exchange_strong(tag, 2 * epoch, std::memory_order_acquire, relaxed)) return;
  // Release stores: a collector that reads any of these also sees the claim
  // above, so its second look at the tag notices the rewrite (plain stores on x86).
  constexpr auto release = std::memory_order_release;
  e.trace_hi.store(load_u64(ctx.trace_id.bytes.data()), release);
  e.trace_lo.store(load_u64(ctx.trace_id.bytes.data() + 8), release);
  e.span.store(load_u64(ctx.span_id.bytes.data()), release);
  e.time.store(time, release);
  e.value.store(value, release);
  e.tag.store(2 * epoch + 1, std::memory_order_release);
}

// Offers the measurements of one call or run for the exemplar slots
// `wanted` (bit i: slot i) of `cell`'s series, in this epoch's half of its
// slots: the first measurement of the epoch takes a slot. `values` holds one
// value per instrument of `f`. `cell` is the recording thread's own and
// remembers the slots it found taken this epoch, so that the common case, a
// call whose slots are all taken, is one test in the caller (exemplars_due);
// the time, `end_time()`, is read only when a slot is taken.
template <typename EndTime>
[[gnu::noinline, gnu::cold]] void offer_exemplars(Cell& cell, const MetricsRecorder::Family& f,
                                                  uint64_t wanted, const int64_t* values,
                                                  uint64_t epoch, const EndTime& end_time,
                                                  const SpanContext& ctx) {
  if (cell.exemplar_epoch != epoch) {
    cell.exemplar_epoch = epoch;
    cell.exemplars_taken = 0;
  }
  uint64_t fresh = wanted & ~cell.exemplars_taken;
  cell.exemplars_taken |= fresh;  // taken when this returns, by this or another thread
  uint64_t time = 0;
  bool timed = false;
  for (size_t i = 0; fresh != 0 && i < f.instruments.size(); ++i) {
    const Instrument& in = f.instruments[i];
    const uint64_t own = in.slots() >= 64 ? ~uint64_t{0} : ((uint64_t{1} << in.slots()) - 1);
    const uint64_t bits = fresh & (own << in.slot);
    if (bits == 0) continue;
    fresh &= ~bits;
    const size_t slot = static_cast<size_t>(__builtin_ctzll(bits));
    ExemplarSlot& e = cell.series->exemplars[(epoch & 1) * f.slots + slot];
    const uint64_t tag = e.tag.load(relaxed);
    if ((tag >> 1) == epoch) continue;  // 2 epoch or 2 epoch + 1: taken this epoch
    if (!timed) {
      time = end_time();
      timed = true;
    }
    claim_exemplar(e, tag, epoch, values[i], time, ctx);
  }
}

// Whether a measurement for the slots `wanted` has an exemplar to offer:
// some slot this thread has not yet found taken in `epoch`.
[[gnu::always_inline]] inline bool exemplars_due(const Cell& cell, uint64_t wanted,
                                                 uint64_t epoch) {
  return cell.exemplar_epoch != epoch || (wanted & ~cell.exemplars_taken) != 0;
}

// Reads the exemplar of `epoch` from `e`, if one was completed and is still intact.
bool read_exemplar(const ExemplarSlot& e, uint64_t epoch, double divisor, Exemplar* out) {
  if (e.tag.load(std::memory_order_acquire) != 2 * epoch + 1) return false;
  // Acquire loads keep the check of the tag below after every read of the
  // fields (a fence would do the same, but ThreadSanitizer does not model fences).
  constexpr auto acquire = std::memory_order_acquire;
  uint64_t hi = e.trace_hi.load(acquire), lo = e.trace_lo.load(acquire);
  uint64_t span = e.span.load(acquire), time = e.time.load(acquire);
  int64_t value = e.value.load(acquire);
  if (e.tag.load(relaxed) != 2 * epoch + 1) return false;  // rewritten meanwhile
  std::memcpy(out->trace_id.bytes.data(), &hi, 8);
  std::memcpy(out->trace_id.bytes.data() + 8, &lo, 8);
  std::memcpy(out->span_id.bytes.data(), &span, 8);
  out->time_unix_nano = time;
  out->value = static_cast<double>(value) / divisor;
  return true;
}

// This thread's cell for key `k` of family `fi`, made on its first measurement.
Cell* new_cell(MetricsRecorder::ThreadShard& shard, int fi, MetricsRecorder::Family& f,
               const KeyView& k, int64_t port, uint64_t hash);

}  // namespace

MetricsRecorder::MetricsRecorder(MetricsSettings settings, std::shared_ptr<const Resource> resource,
                                 uint64_t start_unix_nano)
    : settings_(settings),
      resource_(std::move(resource)),
      scope_(std::make_shared<InstrumentationScope>(
          InstrumentationScope{"convtrace", CONVTRACE_VERSION})),
      start_unix_nano_(start_unix_nano),
      last_commit_unix_nano_(start_unix_nano) {
  const double s = static_cast<double>(kNanosPerSecond);
  const double usd = static_cast<double>(kPicoPerUsd);
  std::vector<Instrument> calls = {
      {metric::kOperationDuration, "GenAI operation duration.", "s", true, {}, seconds_bounds(), s},
      {metric::kTokenUsage, "Number of input and output tokens used.", "{token}", true, "input",
       token_bounds(), 1},
      {metric::kTokenUsage, "Number of input and output tokens used.", "{token}", true, "output",
       token_bounds(), 1},
      {metric::kTimeToFirstChunk,
       "Time to receive the first chunk of a streamed response, from the start of the call.",
       "s",
       true,
       {},
       seconds_bounds(),
       s},
      {metric::kCost,
       "Cost of GenAI calls, from token usage and the price catalog.",
       "USD",
       false,
       {},
       {},
       usd},
  };
  calls_ = std::make_unique<Family>(std::move(calls), settings_.cardinality_limit);
  calls_->key_names = {attr::kOperationName, attr::kProviderName, attr::kRequestModel,
                       attr::kResponseModel, attr::kErrorType,    attr::kServerAddress,
                       attr::kWorkflowType,  attr::kUserId};
  std::vector<Instrument> workflows = {
      {metric::kWorkflowDuration, "Duration of workflow runs.", "s", true, {}, seconds_bounds(), s},
      {metric::kWorkflowCost,
       "Cost of workflow runs: every priced call inside.",
       "USD",
       true,
       {},
       workflow_cost_bounds(),
       usd},
  };
  workflows_ = std::make_unique<Family>(std::move(workflows), settings_.cardinality_limit);
  workflows_->key_names = {attr::kWorkflowType};
  for (Family* f : {calls_.get(), workflows_.get()}) {
    f->series.push_back(f->make_series(0, KeyView{}, 0, 0, /*overflow=*/true));
  }
  // In the order collect() takes them.
  for (std::mutex* mu : {&collect_mu_, &calls_->mu, &workflows_->mu, &shards_mu_}) {
    fork_guards_.push_back(std::make_unique<MutexForkGuard>(*mu, ForkOrder::state));
  }
}

MetricsRecorder::~MetricsRecorder() = default;

namespace {

Cell* new_cell(MetricsRecorder::ThreadShard& shard, int fi, MetricsRecorder::Family& f,
               const KeyView& k, int64_t port, uint64_t hash) {
  Series* series = f.find_or_create(k, port, hash);
  const bool overflow = series->id == 0;
  Cell* cell = overflow ? shard.overflow[fi] : nullptr;
  if (!cell) {
    auto fresh = std::make_unique<Cell>();
    fresh->series = series;
    fresh->words.reset(new std::atomic<int64_t>[f.cell_words]);
    f.init_words(fresh->words.get());
    cell = fresh.release();
    cell->next = shard.heads[fi].load(relaxed);
    // Published for the collector with everything written before it.
    shard.heads[fi].store(cell, std::memory_order_release);
    if (overflow) shard.overflow[fi] = cell;
  }
  // Keys beyond the limit are remembered too (by hash, so a thread does not
  // take the mutex for each), up to a bound that keeps the table's memory in
  // proportion to the limit.
  if (!overflow || shard.used[fi] < 4 * f.limit) shard.insert(fi, hash, cell, overflow);
  return cell;
}

}  // namespace

MetricsRecorder::ThreadShard* MetricsRecorder::shard_for_this_thread() noexcept {
  if (last_shard.recorder == this) return last_shard.shard;
  if (shards_gone) return nullptr;  // thread exit: its thread_locals are gone
  try {
    ThreadShards& mine = thread_shards;
    ThreadShard* shard = nullptr;
    for (ThreadShards::Entry& e : mine.entries) {
      if (e.recorder == this) shard = e.shard;
    }
    if (!shard) {
      auto fresh = std::make_unique<ThreadShard>();
      mine.entries.reserve(mine.entries.size() + 1);
      {
        std::lock_guard<std::mutex> lock(shards_mu_);
        shards_.push_back(fresh.get());
      }
      shard = fresh.release();
      mine.entries.push_back({this, shard});
    }
    last_shard = LastShard{this, shard};
    return shard;
  } catch (...) {
    return nullptr;  // out of memory: this measurement is lost
  }
}

template <typename Call>
Cell* MetricsRecorder::call_cell_slow(ThreadShard& shard, const Call& c) noexcept {
  try {
    const CallMeasurement& m = c.measurement();
    const KeyView k = call_key(m, settings_);
    uint64_t h = static_cast<uint64_t>(m.server_port);
    for (std::string_view s : k) h = mix(h, s);
    Cell* cell = shard.find(0, h, k, m.server_port);
    if (!cell) cell = new_cell(shard, 0, *calls_, k, m.server_port, h);
    shard.remember_call(cell);
    return cell;
  } catch (...) {
    return nullptr;  // out of memory creating a series: the measurement is lost, the call is not
  }
}

template <typename Call>
void MetricsRecorder::record_call_from(const Call& c) noexcept {
  ThreadShard* shard = last_shard.recorder == this ? last_shard.shard : shard_for_this_thread();
  if (!shard) return;
  // The common case: the attribute set of this thread's previous call.
  const ThreadShard::LastCall& last = shard->last_call;
  Cell* cell = last.cell;
  if (__builtin_expect(!cell || !last.matches(c, settings_), 0)) {
    cell = call_cell_slow(*shard, c);
    if (!cell) return;
  }
  std::atomic<int64_t>* w = cell->words.get();
  const Family& f = *calls_;
  const Instrument* in = f.instruments.data();
  // By instrument: duration, input and output tokens, time to first chunk, cost.
  const int64_t values[5] = {c.duration_ns(), c.input_tokens(), c.output_tokens(),
                             c.first_chunk_ns(), c.cost_pico()};
  unsigned histograms = 1u | unsigned{c.has_input()} << 1 | unsigned{c.has_output()} << 2 |
                        unsigned{values[3] >= 0} << 3;
  uint64_t wanted = 0;  // exemplar slots
  // A loop, not four inlined copies: the code of an observed call outgrows
  // the instruction cache, and every line of it read again from the next
  // cache costs more than the loop's few instructions (B2m in
  // bench/RESULTS.md: with this and offer_exemplars out of line, the share of
  // the call that metrics add fell from a median 8.0% to 5.8%).
  CONVTRACE_NO_UNROLL
  while (histograms != 0) {
    const unsigned i = static_cast<unsigned>(__builtin_ctz(histograms));
    histograms &= histograms - 1;
    wanted |= record_histogram(in[i], w, values[i]);
  }
  if (c.priced()) {
    record_sum(in[4], w, values[4]);
    wanted |= uint64_t{1} << in[4].slot;
  }
  const SpanContext* sampled = c.sampled();
  if (sampled && settings_.exemplars) {
    const uint64_t epoch = epoch_.load(relaxed);
    if (exemplars_due(*cell, wanted, epoch)) {
      offer_exemplars(
          *cell, f, wanted, values, epoch, [&c] { return c.end_unix_nano(); }, *sampled);
    }
  }
}

void MetricsRecorder::record_call(const CallMeasurement& m) noexcept {
  record_call_from(MeasuredCall{m});
}

void MetricsRecorder::record_span_call(const SpanRecord& rec) noexcept {
  record_call_from(RecordedCall{rec});
}

void MetricsRecorder::record_workflow(const WorkflowMeasurement& m) noexcept {
  ThreadShard* shard = shard_for_this_thread();
  if (!shard) return;
  try {
    KeyView k{};
    k[0] = m.workflow_type;
    uint64_t h = mix(0, m.workflow_type);
    Family& f = *workflows_;
    Cell* cell = shard->find(1, h, k, 0);
    if (!cell) cell = new_cell(*shard, 1, f, k, 0, h);
    std::atomic<int64_t>* w = cell->words.get();
    const int64_t values[2] = {m.duration_ns, m.cost_pico};
    const uint64_t wanted = record_histogram(f.instruments[0], w, values[0]) |
                            record_histogram(f.instruments[1], w, values[1]);
    if (m.sampled && settings_.exemplars) {
      const uint64_t epoch = epoch_.load(relaxed);
      if (exemplars_due(*cell, wanted, epoch)) {
        offer_exemplars(
            *cell, f, wanted, values, epoch, [&m] { return m.end_unix_nano; }, *m.sampled);
      }
    }
  } catch (...) {
  }
}

MetricsBatch MetricsRecorder::collect(uint64_t now) {
  std::lock_guard<std::mutex> collect_lock(collect_mu_);
  // Measurements from here on leave exemplars in the other half of the slots.
  const uint64_t epoch = epoch_.fetch_add(1, std::memory_order_acq_rel);
  const bool delta = settings_.temporality == Temporality::delta;
  const uint64_t start = delta ? last_commit_unix_nano_ : start_unix_nano_;

  Family* families[2] = {calls_.get(), workflows_.get()};
  std::vector<std::vector<Series*>> series(2);
  for (int fi = 0; fi < 2; ++fi) {
    std::lock_guard<std::mutex> lock(families[fi]->mu);
    for (auto& s : families[fi]->series) series[fi].push_back(s.get());
  }

  std::vector<std::vector<int64_t>> totals(2);
  for (int fi = 0; fi < 2; ++fi) {
    Family& f = *families[fi];
    f.grow_totals(f.retired, series[fi].size());
    totals[fi] = f.retired;
  }
  {
    std::lock_guard<std::mutex> lock(shards_mu_);
    for (size_t i = 0; i < shards_.size();) {
      ThreadShard* shard = shards_[i];
      const bool retired = shard->retired.load(std::memory_order_acquire);
      for (int fi = 0; fi < 2; ++fi) {
        Family& f = *families[fi];
        for (Cell* c = shard->heads[fi].load(std::memory_order_acquire); c; c = c->next) {
          const size_t id = c->series->id;
          const size_t base = id * f.cell_words;
          const std::atomic<int64_t>* w = c->words.get();
          auto load = [w](size_t o) { return w[o].load(relaxed); };
          // A thread may have made a new series since the list above was
          // taken: its cell is counted by the next collection, which lists it.
          if (id < series[fi].size()) f.fold(load, totals[fi].data() + base);
          // A retired thread writes no more: its cells join the kept totals.
          if (retired) {
            f.grow_totals(f.retired, id + 1);
            f.fold(load, f.retired.data() + base);
          }
        }
      }
      if (retired) {
        delete shard;
        shards_[i] = shards_.back();
        shards_.pop_back();
      } else {
        ++i;
      }
    }
  }

  MetricsBatch batch;
  batch.resource = resource_;
  batch.scope = scope_;
  for (int fi = 0; fi < 2; ++fi) {
    Family& f = *families[fi];
    f.grow_totals(f.last, series[fi].size());
    f.pending = totals[fi];
    for (size_t ii = 0; ii < f.instruments.size(); ++ii) {
      const Instrument& in = f.instruments[ii];
      // Token usage input and output are one metric with two points per set.
      MetricData* md = nullptr;
      for (MetricData& existing : batch.metrics) {
        if (existing.name == in.name) md = &existing;
      }
      if (!md) {
        batch.metrics.emplace_back();
        md = &batch.metrics.back();
        md->name = in.name;
        md->description = in.description;
        md->unit = in.unit;
        md->type = in.histogram ? MetricData::Type::histogram : MetricData::Type::sum;
        md->temporality = settings_.temporality;
        md->monotonic = true;
        for (int64_t b : in.bounds)
          md->explicit_bounds.push_back(static_cast<double>(b) / in.divisor);
      }
      for (Series* s : series[fi]) {
        const int64_t* t = totals[fi].data() + s->id * f.cell_words + in.offset;
        const int64_t* l = f.last.data() + s->id * f.cell_words + in.offset;
        auto word = [&](size_t o) { return delta ? wrap_sub(t[o], l[o]) : t[o]; };
        int64_t count = 0;
        if (in.histogram) {
          for (size_t b = 0; b <= in.bounds.size(); ++b) count = wrap_add(count, word(3 + b));
        } else {
          count = word(0);
        }
        if (count <= 0) continue;
        std::vector<Attribute> attributes = s->attributes;
        if (!in.token_type.empty()) {
          attributes.push_back(
              Attribute{std::string(attr::kTokenType), std::string(in.token_type)});
        }
        std::vector<Exemplar> exemplars;
        if (settings_.exemplars) {
          for (size_t k = 0; k < in.slots(); ++k) {
            Exemplar e;
            if (read_exemplar(s->exemplars[(epoch & 1) * f.slots + in.slot + k], epoch, in.divisor,
                              &e)) {
              exemplars.push_back(e);
            }
          }
        }
        const int64_t sum = word(in.histogram ? 0 : 1);
        if (in.histogram) {
          HistogramPoint p;
          p.attributes = std::move(attributes);
          p.start_time_unix_nano = start;
          p.time_unix_nano = now;
          p.count = static_cast<uint64_t>(count);
          p.sum = static_cast<double>(sum) / in.divisor;
          for (size_t b = 0; b <= in.bounds.size(); ++b) {
            p.bucket_counts.push_back(static_cast<uint64_t>(word(3 + b)));
          }
          if (!delta) {
            p.min = static_cast<double>(t[1]) / in.divisor;
            p.max = static_cast<double>(t[2]) / in.divisor;
          }
          p.exemplars = std::move(exemplars);
          md->histogram_points.push_back(std::move(p));
        } else {
          SumPoint p;
          p.attributes = std::move(attributes);
          p.start_time_unix_nano = start;
          p.time_unix_nano = now;
          p.value = static_cast<double>(sum) / in.divisor;
          p.exemplars = std::move(exemplars);
          md->sum_points.push_back(std::move(p));
        }
      }
    }
  }
  batch.metrics.erase(std::remove_if(batch.metrics.begin(), batch.metrics.end(),
                                     [](const MetricData& m) {
                                       return m.histogram_points.empty() && m.sum_points.empty();
                                     }),
                      batch.metrics.end());
  pending_time_ = now;
  return batch;
}

void MetricsRecorder::commit() {
  std::lock_guard<std::mutex> lock(collect_mu_);
  for (Family* f : {calls_.get(), workflows_.get()}) {
    if (f->pending.size() > f->last.size())
      f->grow_totals(f->last, f->pending.size() / f->cell_words);
    f->last = f->pending;
  }
  last_commit_unix_nano_ = pending_time_;
}

}  // namespace convtrace
