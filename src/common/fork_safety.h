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

void register_fork_aware(ForkAware* object);
void unregister_fork_aware(ForkAware* object);

}  // namespace convtrace

namespace convtrace {

// The usual case: one mutex, held only briefly, that the child must find free.
class MutexForkGuard final : public ForkAware {
 public:
  explicit MutexForkGuard(std::mutex& mu) : mu_(mu) { register_fork_aware(this); }
  ~MutexForkGuard() override { unregister_fork_aware(this); }
  void prepare_fork() noexcept override { mu_.lock(); }
  void after_fork_parent() noexcept override { mu_.unlock(); }
  void after_fork_child() noexcept override { mu_.unlock(); }

 private:
  std::mutex& mu_;
};

}  // namespace convtrace
