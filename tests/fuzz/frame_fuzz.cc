// Session frames as they arrive from a hub (wire/frame.h): decodeFrame() on any bytes. What
// decodes must be a frame that encodes back to exactly the input, with its payload inside the
// input; what does not must say why. An OPEN or OPEN_OK payload names a subject, which goes
// through isPeerFramesSubject() as the sidecar does before it publishes there.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "wire/frame.h"
#include "wire/subjects.h"

using namespace twinhub::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  const std::optional<Frame> frame = decodeFrame(bytes, &error);
  if (!frame) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  const Frame& f = *frame;
  FUZZ_CHECK(f.payload.data() >= bytes.data() && f.payload.data() + f.payload.size() == bytes.data() + bytes.size());
  FUZZ_CHECK(f.payload.size() == size - kFrameHeaderSize && f.payload.size() <= kMaxFramePayload);
  FUZZ_CHECK(f.header.session != 0 && f.header.written_seq <= f.header.recv_seq);
  FUZZ_CHECK(frameTypeName(f.header.type) != nullptr);

  std::string encoded = encodeFrame(f.header, f.payload);
  FUZZ_CHECK(encoded == bytes);
  // A re-send patches the acknowledgements in place; the frame must still decode to the rest.
  if (f.header.recv_seq < UINT64_MAX) {
    const uint64_t acked = f.header.recv_seq + 1;
    patchFrameAcks(encoded, acked, acked);
    const std::optional<Frame> patched = decodeFrame(encoded, &error);
    FUZZ_CHECK(patched && patched->header.recv_seq == acked && patched->header.written_seq == acked);
    FUZZ_CHECK(patched->header.seq == f.header.seq && patched->payload == f.payload);
  }

  if (f.header.type == FrameType::kOpen || f.header.type == FrameType::kOpenOk) {
    if (isPeerFramesSubject(kDefaultPrefix, f.payload)) {
      FUZZ_CHECK(isValidPublishSubject(f.payload) && f.payload.substr(0, kDefaultPrefix.size()) == kDefaultPrefix);
    }
  }
  return 0;
}
