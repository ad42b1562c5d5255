#include "event/signals.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <map>
#include <string>
#include <utility>

#include "event/event_loop.h"

namespace vigil::event {

namespace asio = boost::asio;

struct SignalHandler::State {
  explicit State(asio::io_context& io) : signals(io) {}

  asio::signal_set signals;
  std::map<int, std::function<void(int)>> callbacks;
  bool waiting = false;
  bool closed = false;

  static void arm(const std::shared_ptr<State>& state) {
    if (state->waiting || state->closed) return;
    state->waiting = true;
    state->signals.async_wait([state](const boost::system::error_code& ec, int signal_number) {
      state->waiting = false;
      if (ec || state->closed) return;
      auto it = state->callbacks.find(signal_number);
      if (it != state->callbacks.end()) {
        auto callback = it->second;  // survives being replaced
        callback(signal_number);
      }
      arm(state);
    });
  }
};

SignalHandler::SignalHandler(EventLoop& loop)
    : state_(std::make_shared<State>(loop.io_context())) {}

SignalHandler::~SignalHandler() {
  state_->closed = true;
  state_->callbacks.clear();
  boost::system::error_code ignored;
  state_->signals.clear(ignored);
  state_->signals.cancel(ignored);
}

Status SignalHandler::on(int signal_number, std::function<void(int)> callback) {
  if (!state_->callbacks.contains(signal_number)) {
    boost::system::error_code ec;
    state_->signals.add(signal_number, ec);
    if (ec)
      return Error{"cannot handle signal " + std::to_string(signal_number) + ": " + ec.message()};
  }
  state_->callbacks[signal_number] = std::move(callback);
  State::arm(state_);
  return {};
}

}  // namespace vigil::event
