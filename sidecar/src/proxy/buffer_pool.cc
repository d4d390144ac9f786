#include "proxy/buffer_pool.h"

#include <malloc.h>

#include <cstddef>

namespace twinhub {

PooledBuffer* PooledBuffer::fromData(char* data) {
  return reinterpret_cast<PooledBuffer*>(data - offsetof(PooledBuffer, data));
}

BufferPool::~BufferPool() {
  for (PooledBuffer* buffer : free_) delete buffer;
}

PooledBuffer* BufferPool::acquire() {
  ++outstanding_;
  ++ops_;
  if (free_.empty()) return new PooledBuffer;
  PooledBuffer* buffer = free_.back();
  free_.pop_back();
  return buffer;
}

void BufferPool::release(PooledBuffer* buffer) {
  --outstanding_;
  ++ops_;
  buffer->length = 0;
  if (free_.size() < max_free_) {
    free_.push_back(buffer);
  } else {
    delete buffer;
    freed_since_trim_ = true;
  }
}

bool BufferPool::trimIfIdle(uint64_t now_ms, uint64_t quiet_ms) {
  if (ops_ != ops_seen_) {
    ops_seen_ = ops_;
    quiet_since_ms_ = now_ms;
  }
  if (free_.empty() && !freed_since_trim_) return false;
  if (now_ms - quiet_since_ms_ < quiet_ms) return true;
  trim();
  return false;
}

void BufferPool::trim() {
  for (PooledBuffer* buffer : free_) delete buffer;
  free_.clear();
  freed_since_trim_ = false;
  ++trims_;
  // Returns the heap's free pages, not only its top: the buffers of many closed connections are
  // scattered between live allocations.
  malloc_trim(0);
}

}  // namespace twinhub
