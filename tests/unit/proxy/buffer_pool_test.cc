#include "proxy/buffer_pool.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <vector>

namespace twinhub {
namespace {

TEST_CASE("BufferPool: buffers are 64 KiB, distinct while held, and counted", "[unit]") {
  BufferPool pool(4);
  STATIC_REQUIRE(PooledBuffer::kCapacity == 64 * 1024);
  std::vector<PooledBuffer*> held;
  std::set<PooledBuffer*> distinct;
  for (int i = 0; i < 10; ++i) {
    PooledBuffer* b = pool.acquire();
    REQUIRE(b != nullptr);
    CHECK(b->length == 0);
    // The whole capacity is usable (ASan checks the bounds in sanitizer builds).
    std::memset(b->data, i, PooledBuffer::kCapacity);
    held.push_back(b);
    distinct.insert(b);
  }
  CHECK(distinct.size() == 10);
  CHECK(pool.outstanding() == 10);
  CHECK(pool.freeCount() == 0);
  for (PooledBuffer* b : held) {
    // Writing one buffer never touched another.
    CHECK(b->data[0] == b->data[PooledBuffer::kCapacity - 1]);
  }
  for (PooledBuffer* b : held) pool.release(b);
  CHECK(pool.outstanding() == 0);
}

TEST_CASE("BufferPool: a released buffer is reused instead of allocating", "[unit]") {
  BufferPool pool;
  PooledBuffer* first = pool.acquire();
  first->length = 1234;
  pool.release(first);
  CHECK(pool.freeCount() == 1);
  PooledBuffer* again = pool.acquire();
  CHECK(again == first);
  CHECK(again->length == 0);  // release resets what was in use
  CHECK(pool.freeCount() == 0);
  pool.release(again);
}

TEST_CASE("BufferPool: keeps at most max_free released buffers", "[unit]") {
  BufferPool pool(3);
  std::vector<PooledBuffer*> held;
  for (int i = 0; i < 8; ++i) held.push_back(pool.acquire());
  for (PooledBuffer* b : held) pool.release(b);
  CHECK(pool.freeCount() == 3);
  CHECK(pool.outstanding() == 0);
  // The kept ones come back first; beyond them the pool allocates fresh buffers.
  std::set<PooledBuffer*> again;
  for (int i = 0; i < 5; ++i) again.insert(pool.acquire());
  CHECK(again.size() == 5);
  CHECK(pool.freeCount() == 0);
  CHECK(pool.outstanding() == 5);
  for (PooledBuffer* b : again) pool.release(b);
}

TEST_CASE("BufferPool: fromData finds the buffer that holds the data", "[unit]") {
  BufferPool pool;
  PooledBuffer* b = pool.acquire();
  CHECK(PooledBuffer::fromData(b->data) == b);
  PooledBuffer* other = pool.acquire();
  CHECK(PooledBuffer::fromData(other->data) == other);
  pool.release(other);
  pool.release(b);
}

TEST_CASE("BufferPool: gives its kept buffers back once quiet for a while, not before", "[unit]") {
  BufferPool pool(4);
  PooledBuffer* a = pool.acquire();
  PooledBuffer* b = pool.acquire();
  CHECK_FALSE(pool.trimIfIdle(0, 1000));  // nothing to give back while both are in use
  pool.release(a);
  pool.release(b);
  CHECK(pool.trimIfIdle(100, 1000));  // quiet since 100
  CHECK(pool.trimIfIdle(1099, 1000));
  CHECK(pool.freeCount() == 2);
  PooledBuffer* c = pool.acquire();  // activity starts the quiet period again
  pool.release(c);
  CHECK(pool.trimIfIdle(1100, 1000));
  CHECK(pool.trimIfIdle(2000, 1000));
  CHECK(pool.trims() == 0);
  CHECK_FALSE(pool.trimIfIdle(2100, 1000));
  CHECK(pool.trims() == 1);
  CHECK(pool.freeCount() == 0);
  CHECK_FALSE(pool.trimIfIdle(9000, 1000));  // nothing left: no second trim
  CHECK(pool.trims() == 1);
}

TEST_CASE("BufferPool: buffers freed beyond max_free also call for a trim", "[unit]") {
  BufferPool pool(0);
  pool.release(pool.acquire());
  CHECK(pool.freeCount() == 0);
  CHECK(pool.trimIfIdle(0, 10));
  CHECK_FALSE(pool.trimIfIdle(10, 10));
  CHECK(pool.trims() == 1);
}

}  // namespace
}  // namespace twinhub
