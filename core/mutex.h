// A mutex, its scoped lock and a condition variable that the thread-safety analysis
// understands (core/thread_annotations.h): std::mutex is not annotated in libstdc++.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/thread_annotations.h"

namespace wangge {

// Thread-safe.
class WANGGE_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() WANGGE_ACQUIRE() { mu_.lock(); }
  void Unlock() WANGGE_RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction, except while a CondVar waits with it, or
// between Unlock and Lock. Not thread-safe; confined to the thread that made it.
class WANGGE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) WANGGE_ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() WANGGE_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Lets go of the mutex for a while (work that must not hold it), then takes it again.
  void Unlock() WANGGE_RELEASE() { lock_.unlock(); }
  void Lock() WANGGE_ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

// A condition variable waited on with a MutexLock held. Waiters loop on their condition
// in the function that holds the lock, so the analysis sees every guarded read:
//   while (!ready_) cv_.Wait(lock);
// Thread-safe.
class CondVar {
 public:
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

  // Lets go of the lock until notified (or woken spuriously), then takes it again.
  void Wait(MutexLock& lock) { cv_.wait(lock.lock_); }
  // The same, giving up at `deadline`: false when it was reached.
  template <typename Clock, typename Duration>
  bool WaitUntil(MutexLock& lock, std::chrono::time_point<Clock, Duration> deadline) {
    return cv_.wait_until(lock.lock_, deadline) == std::cv_status::no_timeout;
  }
  // The same, giving up after `timeout`: false when it passed.
  template <typename Rep, typename Period>
  bool WaitFor(MutexLock& lock, std::chrono::duration<Rep, Period> timeout) {
    return cv_.wait_for(lock.lock_, timeout) == std::cv_status::no_timeout;
  }

 private:
  std::condition_variable cv_;
};

}  // namespace wangge
