// LoopThreadCheck: catches loop-only code called from another thread. An object that may be used
// on its loop's thread only holds one (made on that thread) and calls TWINHUB_ON_LOOP(check) where
// it is entered; in debug and sanitizer builds (TWINHUB_LOOP_CHECKS) a call from any other thread
// aborts with the place, in other builds the macro compiles to nothing.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace twinhub {

class LoopThreadCheck {
 public:
  bool onLoopThread() const { return std::this_thread::get_id() == owner_; }

 private:
  std::thread::id owner_ = std::this_thread::get_id();
};

[[noreturn]] inline void loopThreadViolation(const char* where) {
  std::fprintf(stderr, "twinhub: loop-only code called from another thread: %s\n", where);
  std::abort();
}

}  // namespace twinhub

#ifdef TWINHUB_LOOP_CHECKS
#define TWINHUB_ON_LOOP(check) \
  ((check).onLoopThread() ? (void)0 : ::twinhub::loopThreadViolation(__func__))
#else
#define TWINHUB_ON_LOOP(check) ((void)0)
#endif
