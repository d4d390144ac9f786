// BufferPool: fixed-size read buffers for one event loop, reused through a short free list.
// A buffer carries room for the uv_write_t that sends it on, so a read that cannot be written at
// once costs no further allocation. Idle connections hold no buffer: one is taken when a socket
// is readable and returned as soon as its bytes are written.
//
// Memory goes back to the OS once the pool has been quiet for a while (trimIfIdle, called from
// the proxy's sweep tick): 64 KiB buffers come from malloc's heap (below its mmap threshold), and
// after 100 stuck clients had left, 97 of the 236 MB their queues had held stayed in the process
// until malloc_trim(0) returned them (bench/stuck_memory.sh, 2026-11-30). Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
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

  // Called now and then (the proxy's sweep tick) with the loop time: once no buffer has been
  // taken or returned for `quiet_ms`, frees the kept buffers and calls malloc_trim(0). Returns
  // true while there is something it may give back later.
  bool trimIfIdle(uint64_t now_ms, uint64_t quiet_ms);

  size_t freeCount() const { return free_.size(); }
  size_t outstanding() const { return outstanding_; }
  uint64_t trims() const { return trims_; }

 private:
  void trim();

  size_t max_free_;
  size_t outstanding_ = 0;
  std::vector<PooledBuffer*> free_;
  uint64_t ops_ = 0;        // acquires and releases so far
  uint64_t ops_seen_ = 0;   // ops_ at the last trimIfIdle that saw it change
  uint64_t quiet_since_ms_ = 0;
  bool freed_since_trim_ = false;  // buffers went back to malloc since the last trim
  uint64_t trims_ = 0;
};

}  // namespace twinhub
