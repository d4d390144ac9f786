// Keeping a sidecar's memory flat through failovers (glibc malloc).
//
// cnats starts new threads for every hub connection it makes, and every failover makes new
// connections; each thread that allocates gets a malloc arena of its own (up to 8 per core), and a
// failover's burst of re-sent frames leaves freed pages in those arenas that glibc keeps. The soak
// (bench/soak.sh, a hub fault every 30 s, bulk traffic) measured +0.5-1 MB of RSS per fault, for
// minutes, levelling off ~10 MB higher (24 MB after 5 minutes; 1.9 MB of it in use). Either cure
// alone was not enough: the trimmer alone still grew 1.7-2.8 MB over 90 s, two arenas alone 1.6 MB;
// both together stayed flat at 15-16 MB (growth 0.06-0.28 MB over the last 2 minutes).
//
// limitMallocArenas(): at most 2 arenas (the loop's and one for every cnats thread), unless the
// operator set MALLOC_ARENA_MAX. Call first thing in main(), before any thread starts.
// MemoryTrimmer: every `interval_ms`, malloc_trim(0) on libuv's thread pool (it walks every arena
// under its lock: never on the loop), handing freed pages back. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>

namespace twinhub {

void limitMallocArenas();

class MemoryTrimmer {
 public:
  MemoryTrimmer(uv_loop_t* loop, uint64_t interval_ms);
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  void start();
  // Closes the timer; a trim already queued still runs (it touches nothing of ours). The object
  // must outlive the loop's closing of the timer (uv_run after close()).
  void close();

 private:
  static void onTimer(uv_timer_t* timer);
  static void work(uv_work_t* req);
  static void done(uv_work_t* req, int status);

  uv_loop_t* loop_;
  uint64_t interval_ms_;
  uv_timer_t timer_;
  uv_work_t work_;
  bool queued_ = false;
  bool closed_ = false;
};

}  // namespace twinhub
