// ProxyContext: what every front and connection of one loop shares: the loop, the read buffer
// pool, the buffer budget, the timeout sweeper (whose tick also gives idle buffers back to the
// OS), the connection id counter and the descriptor fronts keep for the open-file limit. Owned by
// the app, which calls shutdown() before it closes the loop; no handle exists while no connection
// is watched. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>

#include "proxy/buffer_budget.h"
#include "proxy/buffer_pool.h"
#include "proxy/fd_reserve.h"
#include "proxy/timeout_sweeper.h"

namespace twinhub {

struct ProxyContext {
  // The pool keeps its buffers while it is busy, and gives them back after this long without an
  // acquire or release: a burst that follows a pause within seconds reuses its buffers.
  static constexpr uint64_t kTrimAfterQuietMs = 5000;

  explicit ProxyContext(uv_loop_t* l) : loop(l), sweeper(l) {
    sweeper.setHousekeeping([this](uint64_t now_ms) { return pool.trimIfIdle(now_ms, kTrimAfterQuietMs); });
  }
  ProxyContext(const ProxyContext&) = delete;
  ProxyContext& operator=(const ProxyContext&) = delete;

  // Closes the sweeper's timer for good (the app's ordered shutdown).
  void shutdown() { sweeper.shutdown(); }

  uv_loop_t* loop;
  BufferPool pool;
  BufferBudget budget;
  TimeoutSweeper sweeper;
  uint64_t next_connection_id = 1;
  FdReserve fd_reserve;
};

}  // namespace twinhub
