// DirectWriteLane: lets cnats's delivery thread write a session's next DATA frame straight into
// the session's socket, so a frame from the hub reaches the agent (or the caller) without waiting
// for the loop thread to wake up: one thread hand-off less per hop, on the round trip's critical
// path.
//
// The loop stays the owner of the socket and of the session. It opens the lane only while it has
// nothing of its own queued on the socket (no pending write, no FIN), and closes it before it
// writes, shuts down or closes the socket itself. The lane writes only the frame numbered
// next_seq, in order, without blocking; whatever it cannot write at once (the socket is full, an
// error) closes it and is left to the loop.
//
// A frame written whole is finished on the delivery thread: the lane adds it to its News (the
// acknowledgements it carried, bytes, time), which the loop takes in batches (takeNews) when it
// next touches the session or sweeps, so the loop is not woken once per frame. A partly written
// frame goes on to the loop, which writes the rest before anything else.
//
// Thread-safe; shared (shared_ptr) between the session and the registry the delivery thread uses.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

#include "wire/frame.h"

namespace twinhub {

class DirectWriteLane {
 public:
  // Sequence numbers: every frame up to `accepted` was taken (written, or partly written when
  // `partial`), every frame up to `written` is fully written.
  struct Progress {
    uint64_t accepted = 0;
    uint64_t written = 0;
    bool partial = false;
  };
  // What whole writes did since the loop last took the news.
  struct News {
    size_t frames = 0;
    size_t bytes = 0;
    uint64_t peer_recv_seq = 0;     // the highest acknowledgements those frames carried
    uint64_t peer_written_seq = 0;
    uint64_t first_write_ns = 0;    // uv_hrtime() of the first of them
  };
  struct WriteResult {
    size_t written = 0;       // payload bytes written: all, a prefix, or none
    bool first_news = false;  // a whole write made news where there was none
  };

  explicit DirectWriteLane(int fd) : fd_(fd) {}

  // Delivery thread: writes the DATA frame's payload if the lane is open and `header.seq` is the
  // frame it expects.
  WriteResult tryWrite(const wire::FrameHeader& header, std::string_view payload);

  // Loop thread.
  // Frames from `next_seq` on may go direct (refused while a partial write waits for the loop).
  void open(uint64_t next_seq);
  // Stops direct writes before the loop touches the socket; reports what was done.
  Progress close();
  Progress progress() const;
  News takeNews();
  // The loop has queued the rest of a partial frame: the lane may open again later.
  void partialTaken();
  // The socket is closing: no write from now on, whatever happens.
  void detach();

 private:
  mutable std::mutex mutex_;
  int fd_;
  bool open_ = false;
  uint64_t next_seq_ = 0;
  Progress progress_;
  News news_;
};

}  // namespace twinhub
