// Keeping the SDK usable in a child after fork().
//
// fork() copies only the calling thread. Any lock another thread held at that
// moment stays locked in the child forever, and background threads are gone.
// Objects that own a lock the telemetry path takes, or a thread, register
// here; around every fork() the registered objects lock themselves (prepare),
// then unlock in the parent, and unlock and restart their work in the child.
// Registration is cheap and rare (one per SDK, processor, registry).
#pragma once

#include <mutex>

namespace convtrace {

class ForkAware {
 public:
  virtual ~ForkAware() = default;
  // Called in the forking thread before fork(): take every lock of the object.
  virtual void prepare_fork() noexcept = 0;
  // Called in the parent after fork(): release what prepare_fork took.
  virtual void after_fork_parent() noexcept = 0;
  // Called in the child after fork(): release, and restart background work.
  virtual void after_fork_child() noexcept = 0;
};

// Where an object's locks come in the order threads take them. An object
// that calls into others while holding its own lock comes before them: a
// processor holds its lock while it calls its exporter, which takes the
// exporter's lock. prepare_fork() runs in this order (objects of one order
// in the order they registered), so the forking thread takes every lock in
// the order the threads it waits for take them; taking the exporter's lock
// first, it waited forever for a processor whose export thread waited for
// that lock.
enum class ForkOrder {
  processor,    // span processors, the metrics reader: they call exporters
  exporter,     // exporters: they report warnings
  state,        // SDK state touched by application threads (registry, metrics)
  diagnostics,  // the warning counters, which any of the others may report to
};

void register_fork_aware(ForkAware* object, ForkOrder order);
void unregister_fork_aware(ForkAware* object);

}  // namespace convtrace

namespace convtrace {

// The usual case: one mutex, held only briefly, that the child must find free.
class MutexForkGuard final : public ForkAware {
 public:
  MutexForkGuard(std::mutex& mu, ForkOrder order) : mu_(mu) { register_fork_aware(this, order); }
  ~MutexForkGuard() override { unregister_fork_aware(this); }
  void prepare_fork() noexcept override { mu_.lock(); }
  void after_fork_parent() noexcept override { mu_.unlock(); }
  void after_fork_child() noexcept override { mu_.unlock(); }

 private:
  std::mutex& mu_;
};

}  // namespace convtrace
