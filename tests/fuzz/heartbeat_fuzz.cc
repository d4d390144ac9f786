// Heartbeats as read from health.status.* (health_wire/heartbeat.h): decodeHeartbeat() on any
// bytes, never throwing. What decodes must respect the caps and encode to a beat that decodes
// to the same value; what is rejected must say how.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "health_wire/heartbeat.h"

using namespace twinhub::health;

namespace {

// A fixed reader clock, so that a run reproduces: 2026-11-30, well after the seeds' timestamps.
constexpr int64_t kNowMs = 1796000000000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Decoded<Heartbeat> decoded = decodeHeartbeat(bytes, kNowMs);
  if (!decoded.value) {
    FUZZ_CHECK(decoded.reject != Reject::kNone);
    return 0;
  }
  const Heartbeat& beat = *decoded.value;
  FUZZ_CHECK(size <= kMaxHeartbeatBytes);
  FUZZ_CHECK(beat.served.size() <= kMaxServices && beat.fronted.size() <= kMaxServices && beat.hubs.size() <= kMaxHubs);
  FUZZ_CHECK(beat.agent.error.size() <= kMaxErrorText);
  FUZZ_CHECK(beat.ts_ms <= kNowMs + HeartbeatLimits{}.max_future_ms);

  const std::string encoded = encodeHeartbeat(beat);
  const Decoded<Heartbeat> again = decodeHeartbeat(encoded, kNowMs);
  FUZZ_CHECK(again.value.has_value());
  FUZZ_CHECK(*again.value == beat);
  return 0;
}
