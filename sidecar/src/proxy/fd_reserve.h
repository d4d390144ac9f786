// FdReserve: one descriptor held back so that a listener at the open-file limit (accept fails
// with EMFILE or ENFILE) can still take a pending connection off its queue and close it. Without
// that, a level-triggered listener stays readable and the loop spins, while the clients wait in
// the backlog for nothing. (libuv does the same inside uv_listen, but silently: nothing to count
// or log, which is why fronts accept for themselves.) One per loop; loop thread only.
#pragma once

namespace twinhub {

class FdReserve {
 public:
  FdReserve();
  ~FdReserve();
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;

  // Frees the reserve, accepts and closes one pending connection of `listen_fd`, takes the
  // reserve back. False when no connection could be shed (no reserve, or none pending).
  bool shedOne(int listen_fd);
  // Whether one more descriptor can be opened now (tried, then closed). A client accepted with
  // the last free descriptor would only fail its connect to the agent; asking first lets the
  // front refuse it as what it is, a refusal at the fd limit.
  bool spareAvailable();

 private:
  void take();

  int fd_ = -1;
};

}  // namespace twinhub
