#include "event/fd_watcher.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <utility>

#include "event/event_loop.h"

namespace vigil::event {

namespace asio = boost::asio;

// Shared with the pending Asio handlers, so that a watcher destroyed inside its own callback (or
// with a wait outstanding) leaves them nothing dangling.
struct FdWatcher::State {
  explicit State(asio::io_context& io) : descriptor(io) {}

  struct Direction {
    asio::posix::descriptor_base::wait_type wait;
    std::shared_ptr<const std::function<void()>> callback;
    bool waiting = false;
  };

  asio::posix::stream_descriptor descriptor;
  Direction read{asio::posix::descriptor_base::wait_read};
  Direction write{asio::posix::descriptor_base::wait_write};
  bool closed = false;

  static void arm(const std::shared_ptr<State>& state, Direction State::*which) {
    Direction& direction = (*state).*which;
    if (state->closed || !direction.callback || direction.waiting) return;
    direction.waiting = true;
    state->descriptor.async_wait(direction.wait,
                                 [state, which](const boost::system::error_code& ec) {
                                   Direction& d = (*state).*which;
                                   d.waiting = false;
                                   if (ec || state->closed || !d.callback) return;
                                   auto callback = d.callback;  // survives being replaced
                                   (*callback)();
                                   arm(state, which);
                                 });
  }
};

Result<std::unique_ptr<FdWatcher>> FdWatcher::create(EventLoop& loop, int fd) {
  auto state = std::make_shared<State>(loop.io_context());
  boost::system::error_code ec;
  state->descriptor.assign(fd, ec);
  if (ec) return Error{"cannot watch fd " + std::to_string(fd) + ": " + ec.message()};
  return std::unique_ptr<FdWatcher>(new FdWatcher(fd, std::move(state)));
}

FdWatcher::FdWatcher(int fd, std::shared_ptr<State> state) : fd_(fd), state_(std::move(state)) {}

FdWatcher::~FdWatcher() {
  state_->closed = true;
  state_->read.callback.reset();
  state_->write.callback.reset();
  boost::system::error_code ignored;
  state_->descriptor.cancel(ignored);
  // Deregisters from the reactor without closing: the owner closes the fd.
  (void)state_->descriptor.release();
}

void FdWatcher::on_readable(std::function<void()> callback) {
  state_->read.callback =
      callback ? std::make_shared<const std::function<void()>>(std::move(callback)) : nullptr;
  State::arm(state_, &State::read);
}

void FdWatcher::on_writable(std::function<void()> callback) {
  state_->write.callback =
      callback ? std::make_shared<const std::function<void()>>(std::move(callback)) : nullptr;
  State::arm(state_, &State::write);
}

}  // namespace vigil::event
