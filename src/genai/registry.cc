#include "genai/registry.h"

#include <time.h>

#include <algorithm>
#include <functional>

namespace convtrace {
namespace {

// The monotonic clock at tick resolution (a few milliseconds): enough for an
// idle time-to-live of minutes, and a fraction of the cost of a precise read
// on the path of every turn.
std::chrono::steady_clock::time_point coarse_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) +
                                               std::chrono::nanoseconds(ts.tv_nsec));
}

}  // namespace

ConversationRegistry::ConversationRegistry(size_t max_conversations, std::chrono::seconds idle_ttl)
    : max_per_shard_(std::max<size_t>(1, (max_conversations + kShards - 1) / kShards)),
      idle_ttl_(idle_ttl) {
  register_fork_aware(this, ForkOrder::state);
}

ConversationRegistry::~ConversationRegistry() { unregister_fork_aware(this); }

void ConversationRegistry::prepare_fork() noexcept {
  for (Shard& shard : shards_) shard.mu.lock();
}

void ConversationRegistry::after_fork_parent() noexcept {
  for (Shard& shard : shards_) shard.mu.unlock();
}

void ConversationRegistry::after_fork_child() noexcept {
  for (Shard& shard : shards_) shard.mu.unlock();
}

std::shared_ptr<ConversationEntry> ConversationRegistry::get(std::string_view id) {
  Shard& shard = shards_[std::hash<std::string_view>()(id) % kShards];
  auto now = coarse_now();
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(id);
  if (it != shard.index.end()) {
    auto node = it->second;
    if (now - node->last_used <= idle_ttl_) {
      node->last_used = now;
      shard.lru.splice(shard.lru.begin(), shard.lru, node);
      return node->entry;
    }
    // Idle past its time-to-live: forget it and start afresh.
    shard.index.erase(it);
    shard.lru.erase(node);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Node{std::string(id), std::make_shared<ConversationEntry>(), now});
  shard.index.emplace(shard.lru.front().id, shard.lru.begin());
  evict_locked(shard, now);
  return shard.lru.front().entry;
}

void ConversationRegistry::evict_locked(Shard& shard, std::chrono::steady_clock::time_point now) {
  while (!shard.lru.empty()) {
    const Node& oldest = shard.lru.back();
    bool over = shard.lru.size() > max_per_shard_;
    bool idle = now - oldest.last_used > idle_ttl_;
    if (!over && !idle) break;
    shard.index.erase(oldest.id);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

size_t ConversationRegistry::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.lru.size();
  }
  return n;
}

uint64_t ConversationRegistry::evictions() const {
  return evictions_.load(std::memory_order_relaxed);
}

}  // namespace convtrace
