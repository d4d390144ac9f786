// Small helpers for libuv TCP handles shared by direct connections and hub sessions.
// Loop thread only.
#pragma once

#include <sys/socket.h>
#include <uv.h>

namespace twinhub {

// Closes a TCP handle so that the peer sees a reset (SO_LINGER 0) rather than a FIN. Unlike
// uv_tcp_close_reset this also works after a shutdown was requested.
inline void closeWithReset(uv_tcp_t* tcp, uv_close_cb cb) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) == 0) {
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tcp), cb);
}

}  // namespace twinhub
