#include "hub/nats_loop_adapter.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace twinhub {

NatsLoopAdapter::NatsLoopAdapter() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

NatsLoopAdapter::~NatsLoopAdapter() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

natsStatus NatsLoopAdapter::install(natsOptions* options) {
  if (epoll_fd_ < 0) return NATS_SYS_ERROR;
  return natsOptions_SetEventLoop(options, this, onAttach, onRead, onWrite, onDetach);
}

natsStatus NatsLoopAdapter::updateRegistration() {
  if (socket_ < 0) return NATS_OK;
  const uint32_t events = (want_read_ ? EPOLLIN : 0u) | (watch_write_ ? EPOLLOUT : 0u);
  if (events == 0) {
    if (registered_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, socket_, nullptr);
    registered_ = false;
    return NATS_OK;
  }
  epoll_event event{};
  event.events = events;
  if (epoll_ctl(epoll_fd_, registered_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket_, &event) != 0) return NATS_SYS_ERROR;
  registered_ = true;
  return NATS_OK;
}

natsStatus NatsLoopAdapter::onAttach(void** user_data, void* loop, natsConnection* connection, natsSock socket) {
  auto* self = static_cast<NatsLoopAdapter*>(loop);
  *user_data = self;
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (!self->attached_self_) self->attached_self_ = self->shared_from_this();
  if (self->registered_) epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, self->socket_, nullptr);
  self->registered_ = false;
  self->connection_ = connection;
  self->socket_ = static_cast<int>(socket);
  self->want_read_ = true;  // cnats expects reading to start with the attach
  self->want_write_ = self->watch_write_ = false;
  const natsStatus s = self->updateRegistration();
  self->attached_.store(s == NATS_OK, std::memory_order_release);
  return s;
}

natsStatus NatsLoopAdapter::onRead(void* user_data, bool add) {
  auto* self = static_cast<NatsLoopAdapter*>(user_data);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (!add) {
    // cnats stops reading only to close the socket: forget it before it is closed (and its
    // number possibly reused), and stop publishing onto this connection.
    self->attached_.store(false, std::memory_order_release);
    self->want_read_ = self->want_write_ = self->watch_write_ = false;
    self->updateRegistration();
    self->socket_ = -1;
    return NATS_OK;
  }
  self->want_read_ = true;
  return self->updateRegistration();
}

natsStatus NatsLoopAdapter::onWrite(void* user_data, bool add) {
  auto* self = static_cast<NatsLoopAdapter*>(user_data);
  std::lock_guard<std::mutex> lock(self->mutex_);
  self->want_write_ = add;
  if (add && std::this_thread::get_id() == self->loop_thread_.load(std::memory_order_relaxed)) {
    self->flush_due_.store(true, std::memory_order_relaxed);  // written at the loop's next prepare
    return NATS_OK;
  }
  // Another thread (a PING, a subscription): the loop may be asleep, writability wakes it.
  const bool watch = add;
  if (watch == self->watch_write_) return NATS_OK;
  self->watch_write_ = watch;
  return self->updateRegistration();
}

natsStatus NatsLoopAdapter::onDetach(void* user_data) {
  auto* self = static_cast<NatsLoopAdapter*>(user_data);
  std::shared_ptr<NatsLoopAdapter> last;  // released after the lock: it may be the last reference
  std::lock_guard<std::mutex> lock(self->mutex_);
  self->attached_.store(false, std::memory_order_release);
  self->want_read_ = self->want_write_ = self->watch_write_ = false;
  self->updateRegistration();
  self->socket_ = -1;
  last = std::move(self->attached_self_);
  return NATS_OK;
}

void NatsLoopAdapter::startPolling(uv_loop_t* loop, std::function<void()> after_read) {
  if (poll_ || epoll_fd_ < 0) return;
  after_read_ = std::move(after_read);
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, epoll_fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, onReady);
  prepare_ = new uv_prepare_t;
  uv_prepare_init(loop, prepare_);
  prepare_->data = this;
  uv_prepare_start(prepare_, onPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_));
  loop_thread_.store(std::this_thread::get_id());
}

void NatsLoopAdapter::stopPolling() {
  if (!poll_) return;
  // uv_close stops the watching at once; the handle's memory goes in its close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  poll_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(prepare_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_prepare_t*>(handle); });
  prepare_ = nullptr;
  loop_thread_.store(std::thread::id());  // from now on, writes go through the epoll set
}

void NatsLoopAdapter::onPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<NatsLoopAdapter*>(handle->data);
  if (!self->flush_due_.exchange(false, std::memory_order_relaxed)) return;
  natsConnection* connection = nullptr;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->want_write_ || self->watch_write_) return;  // written meanwhile, or waiting for room
    connection = self->connection_;
  }
  if (!connection) return;
  natsConnection_ProcessWriteEvent(connection);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (self->want_write_ && !self->watch_write_ && self->socket_ >= 0) {
    // The socket took only part of it: the rest goes when it has room.
    self->watch_write_ = true;
    self->updateRegistration();
  }
}

void NatsLoopAdapter::onReady(uv_poll_t* handle, int status, int events) {
  static_cast<NatsLoopAdapter*>(handle->data)->process();
}

void NatsLoopAdapter::process() {
  epoll_event event{};
  if (epoll_wait(epoll_fd_, &event, 1, 0) != 1) return;
  natsConnection* connection = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connection = connection_;
  }
  if (!connection) return;
  // The hook may stop the polling and hand the connection over to be destroyed elsewhere.
  const std::shared_ptr<NatsLoopAdapter> keep = shared_from_this();
  if (event.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    // cnats ignores the call once it no longer reads this socket (closed, or another attached).
    natsConnection_ProcessReadEvent(connection);
    if (after_read_) after_read_();
    if (!poll_) return;  // the owner stopped polling from its hook
  }
  if (event.events & EPOLLOUT) {
    bool want_write = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      want_write = want_write_;
    }
    // Never with nothing to write: cnats takes a 0-byte send for a closed connection.
    if (want_write) natsConnection_ProcessWriteEvent(connection);
  }
}

}  // namespace twinhub
