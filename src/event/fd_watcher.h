// FdWatcher: level-triggered readiness callbacks for a file descriptor someone else owns (raw
// VRRP sockets, netlink sockets, pipes, pidfds). It never reads, writes or closes the fd.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"

namespace vigil::event {

class EventLoop;

class FdWatcher {
 public:
  // Registers `fd` with the loop's reactor (epoll). Fails for a closed fd or one that another
  // FdWatcher already watches.
  static Result<std::unique_ptr<FdWatcher>> create(EventLoop& loop, int fd);

  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;
  // Stops watching; pending callbacks never run. The fd stays open. Safe inside a callback.
  ~FdWatcher();

  // `callback` runs on the loop thread whenever the fd is readable (again after each call while
  // data is left). An empty callback stops watching for that direction.
  void on_readable(std::function<void()> callback);
  void on_writable(std::function<void()> callback);

  [[nodiscard]] int fd() const { return fd_; }

 private:
  struct State;
  FdWatcher(int fd, std::shared_ptr<State> state);
  int fd_;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::event
