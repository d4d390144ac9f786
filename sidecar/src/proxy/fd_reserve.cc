#include "proxy/fd_reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace twinhub {

FdReserve::FdReserve() { take(); }

FdReserve::~FdReserve() {
  if (fd_ >= 0) ::close(fd_);
}

void FdReserve::take() {
  if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool FdReserve::shedOne(int listen_fd) {
  take();  // another thread may have taken the slot the last time round
  if (fd_ < 0) return false;
  ::close(fd_);
  fd_ = -1;
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  take();
  return fd >= 0;
}

bool FdReserve::spareAvailable() {
  take();
  if (fd_ < 0) return false;
  int spare = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (spare < 0) return errno != EMFILE && errno != ENFILE;
  ::close(spare);
  return true;
}

}  // namespace twinhub
