// DirectWriteLane: lets cnats's delivery thread write a session's next DATA frame straight into
// the session's socket, so a frame from the hub reaches the agent (or the caller) without waiting
// for the loop thread to wake up: one thread hand-off less per hop, on the round trip's critical
// path.
//
// The loop stays the owner of the socket and of the session. It opens the lane only while it has
// nothing of its own queued on the socket (no pending write, no FIN), and closes it before it
// writes, shuts down or closes the socket itself. The lane writes only the frame numbered
// next_seq, in order, without blocking; whatever it cannot write at once (the socket is full, an
// error) closes it and is left to the loop. Every frame still goes to the loop afterwards, marked
// with what the lane wrote, for acknowledgements, statistics and finishing.
//
// Thread-safe; shared (shared_ptr) between the session and the registry the delivery thread uses.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

namespace twinhub {

class DirectWriteLane {
 public:
  // What the lane has done, for the loop to take over: every frame up to `accepted` was taken
  // (written, or partly written when `partial`), every frame up to `written` is fully written.
  struct Progress {
    uint64_t accepted = 0;
    uint64_t written = 0;
    bool partial = false;
  };

  explicit DirectWriteLane(int fd) : fd_(fd) {}

  // Delivery thread: writes `payload` if the lane is open and `seq` is the frame it expects.
  // Returns the number of payload bytes written (all of them, a prefix, or nothing).
  size_t tryWrite(uint64_t seq, std::string_view payload);

  // Loop thread.
  // Frames from `next_seq` on may go direct (refused while a partial write waits for the loop).
  void open(uint64_t next_seq);
  // Stops direct writes before the loop touches the socket; reports what was done.
  Progress close();
  Progress progress() const;
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
};

}  // namespace twinhub
