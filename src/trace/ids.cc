#include "trace/ids.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace convtrace {
namespace {

// Bumped in a forked child, so per-thread generators re-seed there instead of
// repeating the parent's ids (cheaper than calling getpid() per id).
std::atomic<uint64_t> g_fork_generation{0};
void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }
const bool g_atfork_registered = [] {
  pthread_atfork(nullptr, nullptr, &on_fork_child);
  return true;
}();

// xoshiro256** : fast, good statistical quality; ids need uniqueness, not secrecy.
struct Generator {
  uint64_t s[4];
  uint64_t generation = 0;

  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  void seed() {
    std::random_device rd;
    uint64_t mix =
        static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
    mix ^= std::hash<std::thread::id>()(std::this_thread::get_id());
    for (auto& word : s) {
      uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
      // splitmix64 step so even a weak random_device gives distinct states.
      mix += 0x9E3779B97F4A7C15ULL;
      uint64_t z = mix ^ r;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      word = z ^ (z >> 31);
    }
    generation = g_fork_generation.load(std::memory_order_relaxed);
  }

  uint64_t next() {
    if (generation != g_fork_generation.load(std::memory_order_relaxed)) seed();
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

Generator& generator() {
  thread_local Generator g = [] {
    Generator fresh{};
    fresh.seed();
    return fresh;
  }();
  return g;
}

}  // namespace

TraceId random_trace_id() {
  TraceId id;
  Generator& g = generator();
  do {
    uint64_t a = g.next(), b = g.next();
    std::memcpy(id.bytes.data(), &a, 8);
    std::memcpy(id.bytes.data() + 8, &b, 8);
  } while (!id.valid());
  return id;
}

SpanId random_span_id() {
  SpanId id;
  Generator& g = generator();
  do {
    uint64_t a = g.next();
    std::memcpy(id.bytes.data(), &a, 8);
  } while (!id.valid());
  return id;
}

}  // namespace convtrace
