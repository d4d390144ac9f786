#include "hub/hub_payload.h"

#include <nats/nats.h>

// cnats's own message free (exported by libnats, not in its headers). natsMsg_Destroy hands every
// message a server sent to cnats's garbage-collector thread and wakes it: a futex wake and two
// context switches per message, measured with perf as the largest cost of a hub round trip after
// the kernel's. Freed on the spot instead; weak, so that a libnats without it falls back.
extern "C" void natsMsg_free(void* object) __attribute__((weak));

namespace twinhub {

void HubPayload::MessageFree::operator()(natsMsg* message) const {
  if (natsMsg_free != nullptr) {
    natsMsg_free(message);
  } else {
    natsMsg_Destroy(message);
  }
}

HubPayload::HubPayload(std::string bytes) : owned_(std::move(bytes)) { pointAtStorage(); }

HubPayload HubPayload::adopt(natsMsg* message) {
  HubPayload payload;
  payload.message_.reset(message);
  payload.pointAtStorage();
  return payload;
}

HubPayload::HubPayload(HubPayload&& other) noexcept
    : message_(std::move(other.message_)), owned_(std::move(other.owned_)) {
  pointAtStorage();
  other.view_ = {};
}

HubPayload& HubPayload::operator=(HubPayload&& other) noexcept {
  if (this != &other) {
    message_ = std::move(other.message_);
    owned_ = std::move(other.owned_);
    pointAtStorage();
    other.view_ = {};
  }
  return *this;
}

// A moved std::string may live in its small-string buffer: re-point after every move.
void HubPayload::pointAtStorage() {
  if (message_) {
    view_ = std::string_view(natsMsg_GetData(message_.get()), static_cast<size_t>(natsMsg_GetDataLength(message_.get())));
  } else {
    view_ = owned_;
  }
}

}  // namespace twinhub
