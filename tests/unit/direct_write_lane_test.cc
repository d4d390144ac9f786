// DirectWriteLane over a real socket pair: it writes only the frame it expects, only while open,
// never blocks, and hands a partly written frame back to the loop.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "hub/direct_write_lane.h"

using twinhub::DirectWriteLane;

namespace {

struct SocketPair {
  int writer = -1, reader = -1;
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    writer = fds[0];
    reader = fds[1];
    int small = 4096;  // the kernel rounds it up; small enough to fill at once
    ::setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(reader, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  ~SocketPair() {
    ::close(writer);
    ::close(reader);
  }
  std::string drain() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(reader, buf, sizeof buf, MSG_DONTWAIT)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

}  // namespace

TEST_CASE("DirectWriteLane: writes the expected frame only while open", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  CHECK(lane.tryWrite(1, "closed") == 0);  // not opened yet
  lane.open(1);
  CHECK(lane.tryWrite(2, "early") == 0);  // not the next frame
  CHECK(lane.tryWrite(1, "one") == 3);
  CHECK(lane.tryWrite(1, "again") == 0);  // a duplicate
  CHECK(lane.tryWrite(2, "two") == 3);
  auto p = lane.close();
  CHECK(p.accepted == 2);
  CHECK(p.written == 2);
  CHECK_FALSE(p.partial);
  CHECK(lane.tryWrite(3, "after close") == 0);
  CHECK(pair.drain() == "onetwo");
  lane.open(3);
  CHECK(lane.tryWrite(3, "three") == 5);
  lane.detach();
  lane.open(4);  // a detached lane stays shut
  CHECK(lane.tryWrite(4, "four") == 0);
  CHECK(pair.drain() == "three");
}

TEST_CASE("DirectWriteLane: a full socket closes the lane and leaves the rest to the loop", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  lane.open(1);
  const std::string big(4 * 1024 * 1024, 'x');
  const size_t n = lane.tryWrite(1, big);
  REQUIRE(n > 0);
  REQUIRE(n < big.size());  // did not block: took what fitted
  auto p = lane.progress();
  CHECK(p.partial);
  CHECK(p.accepted == 1);
  CHECK(p.written == 0);
  CHECK(lane.tryWrite(2, "next") == 0);  // closed itself
  lane.open(2);                          // refused until the loop took the rest
  CHECK(lane.tryWrite(2, "next") == 0);
  lane.partialTaken();
  pair.drain();
  lane.open(2);
  CHECK(lane.tryWrite(2, "next") == 4);
}

TEST_CASE("DirectWriteLane: a broken socket writes nothing and closes the lane", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  lane.open(1);
  ::close(pair.reader);
  pair.reader = ::dup(pair.writer);  // keep the destructor's close harmless
  ::shutdown(pair.writer, SHUT_WR);
  CHECK(lane.tryWrite(1, "lost") == 0);  // EPIPE, no SIGPIPE
  CHECK_FALSE(lane.progress().partial);
  CHECK(lane.progress().accepted == 0);
}
