// Recycles SpanData records between the SDK and its own batch processor.
//
// Without it every span costs a dozen or more allocations on the application
// thread (the record, its attribute vector, every key and string value longer
// than the small-string buffer) that the export thread then frees. glibc
// malloc is slow at freeing memory another thread allocated, and the two
// threads contend on the arenas. With the pool, the export thread hands each
// exported record back instead of freeing it, and the next span on any thread
// takes it and overwrites it in place: strings and vectors keep their
// capacity, so a span shaped like an earlier one allocates nothing.
//
// Spans of one name usually set the same attributes in the same order, and a
// record is rewritten fastest by a span shaped like the one that wrote it
// (each slot keeps its key and its value's buffers). So a span asks for a
// record by name: a record the stripe hands out for another name is kept
// aside in a small per-thread stash for the next span of that name. A
// service that mixes shapes then rewrites records of the same shape, as one
// with a single shape does.
//
// Records in the pool keep their old contents; SpanRecord::attribute_count
// says how many attributes of a taken record are live (see span_record.h).
// Their attributes have distinct keys, as every span's do: span_record.h
// relies on that to skip the duplicate search for a span of the same shape.
// Thread-safe, lock-free; a full pool frees what it is given, an empty one
// allocates, so memory stays bounded by the capacity.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/bounded_queue.h"
#include "common/striped_counter.h"
#include "convtrace/span_data.h"
#include "trace/span_record.h"

namespace convtrace {

class SpanDataPool {
 public:
  // Records go back to the stripe of the thread that wrote them, so a thread
  // mostly rewrites records its own core wrote last. Taking whichever record
  // came back first made two application threads rewrite each other's
  // records and pull every line of them across cores (B4 spent 2.5 times
  // the CPU per call on two threads that it did on one).
  static constexpr size_t kStripes = 4;

  explicit SpanDataPool(size_t capacity)
      : free_(make_stripes(capacity / kStripes + 1, std::make_index_sequence<kStripes>())) {}
  ~SpanDataPool() { clear(); }
  SpanDataPool(const SpanDataPool&) = delete;
  SpanDataPool& operator=(const SpanDataPool&) = delete;

  // The calling thread's stripe, to hand to give() with its records.
  static size_t this_thread_stripe() { return convtrace::this_thread_stripe() % kStripes; }

  // A record to overwrite for a span named `name`: one the calling thread
  // wrote before, for a span of that name when at hand; else a new one.
  // `*named` tells whether it holds that name already.
  std::unique_ptr<SpanData> take(std::string_view name, bool* named) {
    *named = true;
    Stash& stash = this_thread_stash();
    if (stash.count != 0) {
      if (SpanData* kept = stash.take(name)) {
        stash.misses = 0;
        return std::unique_ptr<SpanData>(kept);
      }
      // Full, or of no use for a while: names that do not come back (another
      // phase of the program, spans renamed after they start, more names
      // than it holds). Its records are as good as the stripe's; it is
      // emptied and keeps nothing for a while, so a thread does not compare
      // names on every span for nothing.
      if (stash.count == kStashSize || ++stash.misses > kStashPatience) {
        stash.cooldown = kStashCooldown;
        SpanData* any = stash.take_any();
        if (stash.count == 0) stash.misses = 0;
        *named = false;
        return std::unique_ptr<SpanData>(any);
      }
    }
    BoundedQueue<SpanData>& free = free_[this_thread_stripe()];
    // Looking further would read records that the next spans will find anyway.
    for (int look = 0; look < 2; ++look) {
      SpanData* recycled = free.try_pop();
      if (!recycled) break;
      if (same_name(*recycled, name)) return std::unique_ptr<SpanData>(recycled);
      if (!stash.put(recycled)) {
        *named = false;
        return std::unique_ptr<SpanData>(recycled);
      }
    }
    *named = false;
    if (SpanData* other = stash.take_any()) return std::unique_ptr<SpanData>(other);
    // An empty pool (the export thread has not handed records back yet):
    // grown from empty, the attributes of a GenAI span (20 to 30) would be
    // moved to a larger buffer five times.
    auto fresh = std::make_unique<SpanData>();
    fresh->attributes.reserve(kFreshAttributes);
    return fresh;
  }

  // Whether a record is small enough to keep for reuse. Records that grew
  // large (long values, many events) are freed rather than kept, so the pool
  // never pins more than about capacity × kMaxKeptBytes. Ask on the thread
  // that wrote the record, while it is in that core's cache: asked on the
  // export thread, the same reads pulled every line of the record to that
  // core, and the application thread paid for pulling them back when it
  // rewrote the record (B1 took 2.4 times as long).
  static bool worth_keeping(const SpanData& span) { return approx_bytes(span) <= kMaxKeptBytes; }

  // Takes back a record nobody uses any more; `keep` is worth_keeping() of
  // it and `stripe` the writing thread's this_thread_stripe().
  void give(SpanData* span, bool keep, size_t stripe) noexcept {
    if (!keep || !free_[stripe % kStripes].try_push(span)) delete span;
  }

  // For a forked child only (see BoundedQueue::reset_after_fork).
  void reset_after_fork() noexcept {
    for (BoundedQueue<SpanData>& stripe : free_) stripe.reset_after_fork();
  }

  // Frees every pooled record (at SDK shutdown). Records waiting in a
  // thread's stash are freed when that thread exits.
  void clear() noexcept {
    for (BoundedQueue<SpanData>& stripe : free_) {
      while (SpanData* span = stripe.try_pop()) delete span;
    }
  }

 private:
  static constexpr size_t kMaxKeptBytes = 16 * 1024;
  static constexpr size_t kFreshAttributes = 32;

  static size_t string_bytes(const std::string& s) { return s.capacity(); }
  template <size_t I, typename T>
  static constexpr bool holds_at = std::is_same_v<std::variant_alternative_t<I, AttributeValue>, T>;
  static_assert(holds_at<3, std::string> && holds_at<4, std::vector<bool>> &&
                    holds_at<5, std::vector<int64_t>> && holds_at<6, std::vector<double>> &&
                    holds_at<7, std::vector<std::string>>,
                "value_bytes() switches on AttributeValue's alternatives by index");
  static size_t value_bytes(const AttributeValue& value) {
    // By index, not a chain of get_if: this runs for every attribute of
    // every span.
    switch (value.index()) {
      case 3:
        return string_bytes(*std::get_if<std::string>(&value));
      case 4:
        return std::get_if<std::vector<bool>>(&value)->capacity() / 8;
      case 5:
        return std::get_if<std::vector<int64_t>>(&value)->capacity() * 8;
      case 6:
        return std::get_if<std::vector<double>>(&value)->capacity() * 8;
      case 7: {
        const auto& v = *std::get_if<std::vector<std::string>>(&value);
        size_t n = v.capacity() * sizeof(std::string);
        for (const std::string& s : v) n += string_bytes(s);
        return n;
      }
      default:  // bool, int64_t, double: held in place
        return 0;
    }
  }
  static size_t approx_bytes(const SpanData& span) {
    size_t n = string_bytes(span.name) + string_bytes(span.trace_state) +
               string_bytes(span.status.description) +
               span.attributes.capacity() * sizeof(Attribute);
    for (const Attribute& a : span.attributes) n += string_bytes(a.key) + value_bytes(a.value);
    // Events and links are rare; a record that had any is not worth keeping.
    if (!span.events.empty() || !span.links.empty()) n += kMaxKeptBytes + 1;
    return n;
  }

  // The records a thread took for another name, kept for a span of theirs
  // (a few, so a thread pins at most kStashSize × kMaxKeptBytes). Plain
  // data, so that a span started while the thread exits, after the records
  // were freed, finds it closed rather than destroyed.
  static constexpr uint32_t kStashSize = 8;
  // Spans in a row that found nothing of their name in the stash before it
  // is emptied, and records of other names refused after that.
  static constexpr uint32_t kStashPatience = 32;
  static constexpr uint32_t kStashCooldown = 256;
  struct Stash {
    SpanData* slots[kStashSize];
    uint32_t count;
    uint32_t misses;
    uint32_t cooldown;
    bool closed;
    SpanData* take(std::string_view name) noexcept {
      for (uint32_t i = 0; i < count; ++i) {
        SpanData* r = slots[i];
        if (same_name(*r, name)) {
          slots[i] = slots[--count];
          return r;
        }
      }
      return nullptr;
    }
    SpanData* take_any() noexcept { return count != 0 ? slots[--count] : nullptr; }
    bool put(SpanData* r) noexcept;
  };
  // Frees a thread's stashed records when the thread exits.
  struct StashOwner {
    ~StashOwner() {
      Stash& stash = this_thread_stash();
      while (SpanData* r = stash.take_any()) delete r;
      stash.closed = true;
    }
  };
  static bool same_name(const SpanData& span, std::string_view name) noexcept {
    return record_attr::same_string(span.name, name);
  }
  static Stash& this_thread_stash() noexcept {
    thread_local Stash stash{};
    return stash;
  }

  using Stripes = std::array<BoundedQueue<SpanData>, kStripes>;
  // The queues can be neither copied nor moved; each is built in place.
  template <size_t... I>
  static Stripes make_stripes(size_t stripe_capacity, std::index_sequence<I...>) {
    return {{(static_cast<void>(I), BoundedQueue<SpanData>(stripe_capacity))...}};
  }

  Stripes free_;
};

inline bool SpanDataPool::Stash::put(SpanData* r) noexcept {
  if (count == kStashSize || closed) return false;
  if (cooldown != 0) {
    --cooldown;
    return false;
  }
  // Made on the first record a thread stashes; it frees them at thread exit.
  thread_local StashOwner owner;
  (void)owner;
  slots[count++] = r;
  return true;
}

}  // namespace convtrace
