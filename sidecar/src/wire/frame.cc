#include "wire/frame.h"

#include <cstring>

namespace twinhub::wire {

namespace {

void put64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
}
void put32(char* out, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
}
uint64_t get64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
uint32_t get32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

bool isSequenced(FrameType type) {
  return type == FrameType::kData || type == FrameType::kFin;
}

}  // namespace

const char* frameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kOpen: return "OPEN";
    case FrameType::kOpenOk: return "OPEN_OK";
    case FrameType::kOpenFail: return "OPEN_FAIL";
    case FrameType::kData: return "DATA";
    case FrameType::kFin: return "FIN";
    case FrameType::kAck: return "ACK";
    case FrameType::kRst: return "RST";
    case FrameType::kPing: return "PING";
  }
  return "?";
}

void encodeFrameHeader(const FrameHeader& header, size_t payload_length, char* out) {
  out[0] = 't';
  out[1] = 'H';
  out[2] = static_cast<char>(kFrameVersion);
  out[3] = static_cast<char>(header.type);
  put32(out + 4, static_cast<uint32_t>(payload_length));
  put64(out + 8, header.session);
  put64(out + 16, header.seq);
  put64(out + 24, header.recv_seq);
  put64(out + 32, header.written_seq);
}

std::string encodeFrame(const FrameHeader& header, std::string_view payload) {
  std::string out(kFrameHeaderSize + payload.size(), '\0');
  encodeFrameHeader(header, payload.size(), out.data());
  if (!payload.empty()) std::memcpy(out.data() + kFrameHeaderSize, payload.data(), payload.size());
  return out;
}

void patchFrameAcks(std::string& encoded, uint64_t recv_seq, uint64_t written_seq) {
  if (encoded.size() < kFrameHeaderSize) return;
  put64(encoded.data() + 24, recv_seq);
  put64(encoded.data() + 32, written_seq);
}

std::optional<Frame> decodeFrame(std::string_view bytes, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Frame> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (bytes.size() < kFrameHeaderSize) return fail("short frame: " + std::to_string(bytes.size()) + " bytes");
  const char* p = bytes.data();
  if (p[0] != 't' || p[1] != 'H') return fail("bad magic");
  if (static_cast<uint8_t>(p[2]) != kFrameVersion) {
    return fail("unsupported frame version " + std::to_string(static_cast<uint8_t>(p[2])));
  }
  const uint8_t type = static_cast<uint8_t>(p[3]);
  if (type < static_cast<uint8_t>(FrameType::kOpen) || type > static_cast<uint8_t>(FrameType::kPing)) {
    return fail("unknown frame type " + std::to_string(type));
  }
  const uint32_t length = get32(p + 4);
  if (length != bytes.size() - kFrameHeaderSize) {
    return fail("payload length " + std::to_string(length) + " but " + std::to_string(bytes.size() - kFrameHeaderSize) +
                " bytes follow");
  }
  if (length > kMaxFramePayload) return fail("payload too large: " + std::to_string(length));
  Frame frame;
  frame.header.type = static_cast<FrameType>(type);
  frame.header.session = get64(p + 8);
  frame.header.seq = get64(p + 16);
  frame.header.recv_seq = get64(p + 24);
  frame.header.written_seq = get64(p + 32);
  frame.payload = bytes.substr(kFrameHeaderSize);
  if (frame.header.session == 0) return fail("session id 0");
  if (isSequenced(frame.header.type) != (frame.header.seq != 0)) {
    return fail(std::string(frameTypeName(frame.header.type)) + " with seq " + std::to_string(frame.header.seq));
  }
  if (frame.header.type == FrameType::kData && frame.payload.empty()) return fail("empty DATA frame");
  if (frame.header.written_seq > frame.header.recv_seq) return fail("written_seq above recv_seq");
  return frame;
}

}  // namespace twinhub::wire
