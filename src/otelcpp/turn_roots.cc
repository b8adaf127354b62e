// The turn roots among opentelemetry-cpp spans, and the forwarding flag.
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "otelcpp/bridge_internal.h"
#include "trace/genai_state.h"

namespace convtrace::otel {
namespace {

class TurnRoots {
 public:
  void insert(const SpanId& span, std::shared_ptr<const GenAiState> state) {
    Shard& shard = shard_for(span);
    std::lock_guard<std::mutex> lock(shard.mu);
    Root root;
    root.claimed = std::move(state);
    if (shard.roots.emplace(key(span), std::move(root)).second) {
      size_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void erase(const SpanId& span) {
    Shard& shard = shard_for(span);
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.roots.erase(key(span))) size_.fetch_sub(1, std::memory_order_relaxed);
  }

  // `waiting` with the turn that `span` claimed, when it is a turn root of
  // `waiting`'s conversation; null otherwise.
  std::shared_ptr<const GenAiState> adopt(const std::shared_ptr<const GenAiState>& waiting,
                                          const SpanId& span) {
    // Most spans run outside any turn root: no lock then.
    if (size_.load(std::memory_order_relaxed) == 0) return nullptr;
    Shard& shard = shard_for(span);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.roots.find(key(span));
    if (it == shard.roots.end()) return nullptr;
    Root& root = it->second;
    if (root.claimed->conversation_id != waiting->conversation_id) return nullptr;
    // The children of one root usually start from the same scope: the state
    // made for the last of them serves the next.
    if (root.waiting != waiting) {
      auto adopted = std::make_shared<GenAiState>(*waiting);
      adopted->turn = root.claimed->turn;
      adopted->conversation = root.claimed->conversation;
      adopted->turn_totals = root.claimed->turn_totals;
      root.waiting = waiting;
      root.adopted = std::move(adopted);
    }
    return root.adopted;
  }

 private:
  struct Root {
    std::shared_ptr<const GenAiState> claimed;
    // The last state adopted, and the one it was made from (held, so that a
    // match means the same object).
    std::shared_ptr<const GenAiState> waiting;
    std::shared_ptr<const GenAiState> adopted;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Root> roots;  // guarded by mu
  };

  static uint64_t key(const SpanId& span) {
    uint64_t k;
    std::memcpy(&k, span.bytes.data(), sizeof k);
    return k;
  }
  // Span ids are random: any of their bits pick a shard evenly.
  Shard& shard_for(const SpanId& span) { return shards_[span.bytes[7] % shards_.size()]; }

  std::array<Shard, 16> shards_;
  std::atomic<size_t> size_{0};
};

// Never destroyed: spans may end during static destruction.
TurnRoots& turn_roots() {
  static TurnRoots* roots = new TurnRoots();
  return *roots;
}

thread_local bool forwarding_now = false;

}  // namespace

void remember_turn_root(const SpanId& span, std::shared_ptr<const GenAiState> state) {
  turn_roots().insert(span, std::move(state));
}

void forget_turn_root(const SpanId& span) { turn_roots().erase(span); }

std::shared_ptr<const GenAiState> adopt_turn(const std::shared_ptr<const GenAiState>& waiting,
                                             const SpanId& parent) {
  if (!waiting || waiting->conversation_id.empty() || waiting->turn != 0) return nullptr;
  return turn_roots().adopt(waiting, parent);
}

bool forwarding() noexcept { return forwarding_now; }

ForwardingScope::ForwardingScope() noexcept : previous_(forwarding_now) { forwarding_now = true; }
ForwardingScope::~ForwardingScope() { forwarding_now = previous_; }

}  // namespace convtrace::otel
