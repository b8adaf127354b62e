#include "common/fork_safety.h"

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace convtrace {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<ForkAware*> objects;  // guarded by mu
};

// Leaked: fork() may happen during static destruction.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

void prepare() {
  Registry& r = registry();
  r.mu.lock();  // held across fork(); released in parent() and child()
  for (ForkAware* o : r.objects) o->prepare_fork();
}

void parent() {
  Registry& r = registry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) (*it)->after_fork_parent();
  r.mu.unlock();
}

void child() {
  Registry& r = registry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) (*it)->after_fork_child();
  r.mu.unlock();
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(&prepare, &parent, &child); });
}

}  // namespace

void register_fork_aware(ForkAware* object) {
  install_handlers_once();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.objects.push_back(object);
}

void unregister_fork_aware(ForkAware* object) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.objects.erase(std::remove(r.objects.begin(), r.objects.end(), object), r.objects.end());
}

}  // namespace convtrace
