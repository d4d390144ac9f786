#include "support/zmq_client.h"

#include <cstdio>

namespace twinhub::test {

std::string uuid4(std::mt19937_64& rng) {
  const uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  const uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return out;
}

zmq::socket_t reqSocket(zmq::context_t& context, const std::string& address, int timeout_ms) {
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
  socket.connect("tcp://" + address);
  return socket;
}

std::optional<nlohmann::json> call(zmq::socket_t& socket, const nlohmann::json& request) {
  (void)socket.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket.recv(reply, zmq::recv_flags::none)) return std::nullopt;
  nlohmann::json parsed = nlohmann::json::parse(reply.to_string(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

}  // namespace twinhub::test
