#include "hub/direct_write_lane.h"

#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>

namespace twinhub {

DirectWriteLane::WriteResult DirectWriteLane::tryWrite(const wire::FrameHeader& header, std::string_view payload) {
  std::lock_guard<std::mutex> lock(mutex_);
  WriteResult result;
  if (!open_ || fd_ < 0 || header.seq != next_seq_ || payload.empty()) return result;
  ssize_t n;
  do {
    n = ::send(fd_, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(payload.size())) {
    progress_.accepted = progress_.written = header.seq;
    ++next_seq_;
    result.written = payload.size();
    result.first_news = news_.frames == 0;
    if (result.first_news) news_.first_write_ns = uv_hrtime();
    ++news_.frames;
    news_.bytes += payload.size();
    news_.peer_recv_seq = std::max(news_.peer_recv_seq, header.recv_seq);
    news_.peer_written_seq = std::max(news_.peer_written_seq, header.written_seq);
    return result;
  }
  // Full socket or an error: the loop takes over (and meets the error itself).
  open_ = false;
  if (n <= 0) return result;
  progress_.accepted = header.seq;
  progress_.partial = true;
  result.written = static_cast<size_t>(n);
  return result;
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

DirectWriteLane::News DirectWriteLane::takeNews() {
  std::lock_guard<std::mutex> lock(mutex_);
  News news = news_;
  news_ = News{};
  return news;
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
