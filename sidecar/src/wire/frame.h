// Session frames: what two sidecars send each other through a hub to carry one TCP connection.
// Shared by the sidecar and the controller; no dependencies. Any thread.
//
// Wire format, version 1 (all integers big-endian):
//
//   offset size  field
//   0      2     magic 't' 'H'
//   2      1     version (1)
//   3      1     type (FrameType)
//   4      4     payload length; must equal the bytes that follow the header
//   8      8     session id (never 0)
//   16     8     seq: this frame's number in the sender's stream (DATA, FIN, from 1); 0 otherwise
//   24     8     recv_seq: the highest frame number received in order from the peer
//   32     8     written_seq: every frame up to this number has been written to the socket
//   40     n     payload (DATA: bytes; OPEN: the opener's inbox; OPEN_OK: the server's inbox;
//                OPEN_FAIL and RST: a reason for logs)
//
// Every frame carries recv_seq and written_seq, so acknowledgements ride on data when data flows.
// A receiver drops frames it has seen (seq <= its recv_seq) and frames that skip ahead; the sender
// re-sends every frame above the peer's recv_seq after a hub change or a retransmit timeout, and
// forgets frames up to the peer's written_seq. A malformed frame is reported, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace twinhub::wire {

constexpr uint8_t kFrameVersion = 1;
constexpr size_t kFrameHeaderSize = 40;
constexpr size_t kMaxFramePayload = 1024 * 1024;
// Senders cut socket reads into DATA frames of at most this many bytes. nats-server (2.9) reads a
// client into a buffer of at most 64 KiB and routes a message that fits in one read without a
// copy; bigger ones are reassembled. Measured on the shipped hub config: one-way 64 KiB messages
// cost the hub ~1.7x the CPU per byte of 8-32 KiB ones, and 16 KiB frames lifted the echo bulk
// through the sidecars by a quarter (bench/run.sh, twinhub-hub row).
constexpr size_t kDataFramePayload = 16 * 1024;

enum class FrameType : uint8_t {
  kOpen = 1,
  kOpenOk = 2,
  kOpenFail = 3,
  kData = 4,
  kFin = 5,
  kAck = 6,
  kRst = 7,
  kPing = 8,
};
const char* frameTypeName(FrameType type);

struct FrameHeader {
  FrameType type = FrameType::kAck;
  uint64_t session = 0;
  uint64_t seq = 0;
  uint64_t recv_seq = 0;
  uint64_t written_seq = 0;
};

struct Frame {
  FrameHeader header;
  std::string_view payload;  // points into the decoded buffer
};

// Encodes a frame: header followed by payload.
std::string encodeFrame(const FrameHeader& header, std::string_view payload);
// Writes the header for a payload of `payload_length` bytes into out[0..kFrameHeaderSize).
void encodeFrameHeader(const FrameHeader& header, size_t payload_length, char* out);
// Overwrites the acknowledgement fields of an encoded frame (before a re-send).
void patchFrameAcks(std::string& encoded, uint64_t recv_seq, uint64_t written_seq);

// Decodes and validates; on failure returns nullopt and says why in *error.
std::optional<Frame> decodeFrame(std::string_view bytes, std::string* error);

}  // namespace twinhub::wire
