#include "hub/direct_write_lane.h"

#include <sys/socket.h>

#include <cerrno>

namespace twinhub {

size_t DirectWriteLane::tryWrite(uint64_t seq, std::string_view payload) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_ || fd_ < 0 || seq != next_seq_ || payload.empty()) return 0;
  ssize_t n;
  do {
    n = ::send(fd_, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(payload.size())) {
    progress_.accepted = progress_.written = seq;
    ++next_seq_;
    return payload.size();
  }
  // Full socket or an error: the loop takes over (and meets the error itself).
  open_ = false;
  if (n <= 0) return 0;
  progress_.accepted = seq;
  progress_.partial = true;
  return static_cast<size_t>(n);
}

void DirectWriteLane::open(uint64_t next_seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0 || progress_.partial) return;
  open_ = true;
  next_seq_ = next_seq;
}

DirectWriteLane::Progress DirectWriteLane::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  return progress_;
}

DirectWriteLane::Progress DirectWriteLane::progress() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return progress_;
}

void DirectWriteLane::partialTaken() {
  std::lock_guard<std::mutex> lock(mutex_);
  progress_.partial = false;
}

void DirectWriteLane::detach() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  fd_ = -1;
}

}  // namespace twinhub
