// ProxyContext: what every front and connection of one loop shares: the loop, the read buffer
// pool, the connection id counter and the descriptor fronts keep for the open-file limit.
// Owned by the app; loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>

#include "proxy/buffer_pool.h"
#include "proxy/fd_reserve.h"

namespace twinhub {

struct ProxyContext {
  explicit ProxyContext(uv_loop_t* l) : loop(l) {}
  uv_loop_t* loop;
  BufferPool pool;
  uint64_t next_connection_id = 1;
  FdReserve fd_reserve;
};

}  // namespace twinhub
