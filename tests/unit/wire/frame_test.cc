#include <catch2/catch.hpp>

#include <random>

#include "wire/frame.h"
#include "wire/subjects.h"

using namespace twinhub::wire;

namespace {

FrameHeader dataHeader(uint64_t seq) {
  FrameHeader h;
  h.type = FrameType::kData;
  h.session = 0x1122334455667788ull;
  h.seq = seq;
  h.recv_seq = 9;
  h.written_seq = 7;
  return h;
}

}  // namespace

TEST_CASE("Frame: encodes and decodes every field", "[unit]") {
  const std::string encoded = encodeFrame(dataHeader(42), "hello");
  REQUIRE(encoded.size() == kFrameHeaderSize + 5);
  std::string error;
  auto frame = decodeFrame(encoded, &error);
  REQUIRE(frame);
  CHECK(frame->header.type == FrameType::kData);
  CHECK(frame->header.session == 0x1122334455667788ull);
  CHECK(frame->header.seq == 42);
  CHECK(frame->header.recv_seq == 9);
  CHECK(frame->header.written_seq == 7);
  CHECK(frame->payload == "hello");
}

TEST_CASE("Frame: patching acks changes only the ack fields", "[unit]") {
  std::string encoded = encodeFrame(dataHeader(3), "abc");
  patchFrameAcks(encoded, 100, 90);
  auto frame = decodeFrame(encoded, nullptr);
  REQUIRE(frame);
  CHECK(frame->header.seq == 3);
  CHECK(frame->header.recv_seq == 100);
  CHECK(frame->header.written_seq == 90);
  CHECK(frame->payload == "abc");
}

TEST_CASE("Frame: rejects malformed input with a reason", "[unit]") {
  std::string error;
  const std::string good = encodeFrame(dataHeader(1), "x");

  CHECK_FALSE(decodeFrame("", &error));
  CHECK(error.find("short") != std::string::npos);

  std::string bad_magic = good;
  bad_magic[0] = 'X';
  CHECK_FALSE(decodeFrame(bad_magic, &error));
  CHECK(error == "bad magic");

  std::string newer = good;
  newer[2] = 2;
  CHECK_FALSE(decodeFrame(newer, &error));
  CHECK(error.find("version 2") != std::string::npos);

  std::string unknown_type = good;
  unknown_type[3] = 99;
  CHECK_FALSE(decodeFrame(unknown_type, &error));

  std::string long_length = good;
  long_length[4] = '\x7f';  // claims far more payload than follows
  CHECK_FALSE(decodeFrame(long_length, &error));
  CHECK(error.find("payload length") != std::string::npos);

  CHECK_FALSE(decodeFrame(good.substr(0, good.size() - 1), &error));  // truncated payload

  FrameHeader zero_session = dataHeader(1);
  zero_session.session = 0;
  CHECK_FALSE(decodeFrame(encodeFrame(zero_session, "x"), &error));

  CHECK_FALSE(decodeFrame(encodeFrame(dataHeader(0), "x"), &error));  // DATA needs a seq
  CHECK_FALSE(decodeFrame(encodeFrame(dataHeader(1), ""), &error));   // and bytes

  FrameHeader ack_with_seq = dataHeader(5);
  ack_with_seq.type = FrameType::kAck;
  CHECK_FALSE(decodeFrame(encodeFrame(ack_with_seq, ""), &error));

  FrameHeader written_above_received = dataHeader(1);
  written_above_received.written_seq = 10;
  written_above_received.recv_seq = 5;
  CHECK_FALSE(decodeFrame(encodeFrame(written_above_received, "x"), &error));
}

TEST_CASE("Frame: random bytes and mutated frames never crash the decoder", "[unit]") {
  std::mt19937_64 random(1234);
  const std::string good = encodeFrame(dataHeader(1), std::string(100, 'p'));
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(random() % 200);
      for (char& c : input) c = static_cast<char>(random());
    } else {
      input = good;
      for (int flips = 0; flips < 3; ++flips) input[random() % input.size()] = static_cast<char>(random());
      if (random() % 4 == 0) input.resize(random() % input.size());
    }
    std::string error;
    if (auto frame = decodeFrame(input, &error)) {
      ++accepted;
      // Whatever is accepted is self-consistent.
      CHECK(frame->payload.size() == input.size() - kFrameHeaderSize);
      CHECK(frame->header.session != 0);
    } else {
      CHECK_FALSE(error.empty());
    }
  }
  CHECK(accepted < 20000);
}
