#include "proxy/buffer_pool.h"

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
  if (free_.empty()) return new PooledBuffer;
  PooledBuffer* buffer = free_.back();
  free_.pop_back();
  return buffer;
}

void BufferPool::release(PooledBuffer* buffer) {
  --outstanding_;
  buffer->length = 0;
  if (free_.size() < max_free_) {
    free_.push_back(buffer);
  } else {
    delete buffer;
  }
}

}  // namespace twinhub
