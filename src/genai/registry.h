// Remembers each conversation's last turn and running cost across scopes, so
// that the next request of a conversation continues its count.
//
// Bounded by size (least recently used evicted first) and by idle time, so
// memory stays flat with millions of conversations. Sharded: threads working
// on different conversations rarely share a lock. An evicted conversation that
// comes back starts again from turn 1 unless the app passes its turn.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/fork_safety.h"
#include "trace/genai_state.h"

namespace convtrace {

class ConversationRegistry : private ForkAware {
 public:
  ConversationRegistry(size_t max_conversations, std::chrono::seconds idle_ttl);
  ~ConversationRegistry() override;

  // The entry for `id`, created when unknown. Never null.
  std::shared_ptr<ConversationEntry> get(std::string_view id);
  size_t size() const;
  uint64_t evictions() const;

 private:
  void prepare_fork() noexcept override;
  void after_fork_parent() noexcept override;
  void after_fork_child() noexcept override;

  struct Node {
    std::string id;
    std::shared_ptr<ConversationEntry> entry;
    std::chrono::steady_clock::time_point last_used;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Node> lru;  // most recent first; guarded by mu
    std::unordered_map<std::string_view, std::list<Node>::iterator> index;  // guarded by mu
  };
  static constexpr size_t kShards = 16;

  void evict_locked(Shard& shard, std::chrono::steady_clock::time_point now);

  size_t max_per_shard_;
  std::chrono::seconds idle_ttl_;
  Shard shards_[kShards];
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace convtrace
