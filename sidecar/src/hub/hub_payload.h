// HubPayload: the bytes of one message received from a hub, kept without a copy. It owns either
// cnats's message (freed when the payload dies) or a string (tests, messages made locally), and
// is handed from the subscription it was drained from into socket writes as is.
#pragma once

#include <memory>
#include <string>
#include <string_view>

typedef struct __natsMsg natsMsg;

namespace twinhub {

class HubPayload {
 public:
  HubPayload() = default;
  explicit HubPayload(std::string bytes);
  // Takes ownership of `message` (its data are the payload).
  static HubPayload adopt(natsMsg* message);

  HubPayload(HubPayload&& other) noexcept;
  HubPayload& operator=(HubPayload&& other) noexcept;
  HubPayload(const HubPayload&) = delete;
  HubPayload& operator=(const HubPayload&) = delete;
  ~HubPayload() = default;

  std::string_view view() const { return view_; }
  // For uv_buf_t, which takes char*; nothing writes through it.
  char* data() { return const_cast<char*>(view_.data()); }

 private:
  struct MessageFree {
    void operator()(natsMsg* message) const;
  };
  void pointAtStorage();

  std::unique_ptr<natsMsg, MessageFree> message_;
  std::string owned_;
  std::string_view view_;
};

}  // namespace twinhub
