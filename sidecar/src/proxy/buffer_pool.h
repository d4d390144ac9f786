// BufferPool: fixed-size read buffers for one event loop, reused through a short free list.
// A buffer carries room for the uv_write_t that sends it on, so a read that cannot be written at
// once costs no further allocation. Idle connections hold no buffer: one is taken when a socket
// is readable and returned as soon as its bytes are written. Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <vector>

namespace twinhub {

struct PooledBuffer {
  static constexpr size_t kCapacity = 64 * 1024;
  uv_write_t write_req;  // used when the bytes have to wait for the socket
  size_t length = 0;     // bytes of data[] in use
  char data[kCapacity];

  static PooledBuffer* fromData(char* data);
};

class BufferPool {
 public:
  // Keeps at most `max_free` released buffers for reuse; the rest go back to the allocator.
  explicit BufferPool(size_t max_free = 8) : max_free_(max_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  PooledBuffer* acquire();
  void release(PooledBuffer* buffer);

  size_t freeCount() const { return free_.size(); }
  size_t outstanding() const { return outstanding_; }

 private:
  size_t max_free_;
  size_t outstanding_ = 0;
  std::vector<PooledBuffer*> free_;
};

}  // namespace twinhub
