#include "common/fork_safety.h"

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

namespace convtrace {
namespace {

struct Registry {
  std::mutex mu;
  // Sorted by order, then by registration; guarded by mu.
  std::vector<std::pair<ForkOrder, ForkAware*>> objects;
};

// Leaked: fork() may happen during static destruction.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

void prepare() {
  Registry& r = registry();
  r.mu.lock();  // held across fork(); released in parent() and child()
  for (const auto& [order, o] : r.objects) o->prepare_fork();
}

void parent() {
  Registry& r = registry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) it->second->after_fork_parent();
  r.mu.unlock();
}

void child() {
  Registry& r = registry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) it->second->after_fork_child();
  r.mu.unlock();
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(&prepare, &parent, &child); });
}

}  // namespace

void register_fork_aware(ForkAware* object, ForkOrder order) {
  install_handlers_once();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  // After every object of the same or an earlier order.
  auto at = std::upper_bound(r.objects.begin(), r.objects.end(), order,
                             [](ForkOrder o, const auto& entry) { return o < entry.first; });
  r.objects.insert(at, {order, object});
}

void unregister_fork_aware(ForkAware* object) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.objects.erase(std::remove_if(r.objects.begin(), r.objects.end(),
                                 [&](const auto& entry) { return entry.second == object; }),
                  r.objects.end());
}

}  // namespace convtrace
