// DirectWriteLane over a real socket pair: it writes only the frame it expects, only while open,
// never blocks, collects what it wrote whole as news, and hands a partly written frame back to
// the loop.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "hub/direct_write_lane.h"

using twinhub::DirectWriteLane;
using twinhub::wire::FrameHeader;

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

FrameHeader data(uint64_t seq, uint64_t recv_seq = 0, uint64_t written_seq = 0) {
  FrameHeader h;
  h.type = twinhub::wire::FrameType::kData;
  h.seq = seq;
  h.recv_seq = recv_seq;
  h.written_seq = written_seq;
  return h;
}

}  // namespace

TEST_CASE("DirectWriteLane: writes the expected frame only while open", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  CHECK(lane.tryWrite(data(1), "closed").written == 0);  // not opened yet
  lane.open(1);
  CHECK(lane.tryWrite(data(2), "early").written == 0);  // not the next frame
  CHECK(lane.tryWrite(data(1), "one").written == 3);
  CHECK(lane.tryWrite(data(1), "again").written == 0);  // a duplicate
  CHECK(lane.tryWrite(data(2), "two").written == 3);
  auto p = lane.close();
  CHECK(p.accepted == 2);
  CHECK(p.written == 2);
  CHECK_FALSE(p.partial);
  CHECK(lane.tryWrite(data(3), "after close").written == 0);
  CHECK(pair.drain() == "onetwo");
  lane.open(3);
  CHECK(lane.tryWrite(data(3), "three").written == 5);
  lane.detach();
  lane.open(4);  // a detached lane stays shut
  CHECK(lane.tryWrite(data(4), "four").written == 0);
  CHECK(pair.drain() == "three");
}

TEST_CASE("DirectWriteLane: whole writes become news for the loop, taken once", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  lane.open(1);
  auto first = lane.tryWrite(data(1, 7, 5), "ab");
  CHECK(first.first_news);
  auto second = lane.tryWrite(data(2, 9, 4), "cde");
  CHECK_FALSE(second.first_news);  // the loop has not taken the news yet
  auto news = lane.takeNews();
  CHECK(news.frames == 2);
  CHECK(news.bytes == 5);
  CHECK(news.peer_recv_seq == 9);     // the highest acknowledgements carried
  CHECK(news.peer_written_seq == 5);
  CHECK(news.first_write_ns > 0);
  CHECK(lane.takeNews().frames == 0);
  CHECK(lane.tryWrite(data(3), "f").first_news);
  pair.drain();
}

TEST_CASE("DirectWriteLane: a full socket closes the lane and leaves the rest to the loop", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  lane.open(1);
  const std::string big(4 * 1024 * 1024, 'x');
  const size_t n = lane.tryWrite(data(1), big).written;
  REQUIRE(n > 0);
  REQUIRE(n < big.size());  // did not block: took what fitted
  auto p = lane.progress();
  CHECK(p.partial);
  CHECK(p.accepted == 1);
  CHECK(p.written == 0);
  CHECK(lane.takeNews().frames == 0);           // a partial write is the loop's business, not news
  CHECK(lane.tryWrite(data(2), "next").written == 0);  // closed itself
  lane.open(2);                                  // refused until the loop took the rest
  CHECK(lane.tryWrite(data(2), "next").written == 0);
  lane.partialTaken();
  pair.drain();
  lane.open(2);
  CHECK(lane.tryWrite(data(2), "next").written == 4);
}

TEST_CASE("DirectWriteLane: a broken socket writes nothing and closes the lane", "[unit]") {
  SocketPair pair;
  DirectWriteLane lane(pair.writer);
  lane.open(1);
  ::shutdown(pair.writer, SHUT_WR);
  CHECK(lane.tryWrite(data(1), "lost").written == 0);  // EPIPE, no SIGPIPE
  CHECK_FALSE(lane.progress().partial);
  CHECK(lane.progress().accepted == 0);
  CHECK(lane.takeNews().frames == 0);
}
