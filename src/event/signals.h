// SignalHandler: process signals (SIGHUP reload, SIGTERM/SIGINT stop, SIGUSR1/SIGUSR2 dumps)
// delivered as callbacks on the loop thread, where they may do anything a handler may.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"

namespace vigil::event {

class EventLoop;

class SignalHandler {
 public:
  explicit SignalHandler(EventLoop& loop);
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;
  // Restores the default dispositions of its signals; pending callbacks never run.
  ~SignalHandler();

  // Replaces the callback of `signal_number`. Fails for signals that cannot be caught.
  Status on(int signal_number, std::function<void(int signal_number)> callback);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::event
