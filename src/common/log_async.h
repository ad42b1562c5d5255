// Asynchronous logging for vigil::log (common/log.h): the loggers stay the same, their lines go
// through a writer thread.
#pragma once

#include <spdlog/sinks/sink.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vigil::log {

// From here on every logger hands its lines to a writer thread instead of writing them itself:
// a realtime thread (VRRP) must never wait for a sink's lock held by a lower-priority thread, nor
// for a write to stderr or syslog. Lines keep their order; when `capacity` lines are waiting the
// newest are dropped and counted. Call after fork()/daemonize (a thread does not survive fork).
void start_async(size_t capacity = 8192);
// Writes every waiting line, stops the writer thread and returns to synchronous sinks.
void stop_async();
// Lines dropped because the writer fell behind, since start_async().
uint64_t dropped_lines();

// A sink that queues lines for a writer thread which passes them to `targets` (exposed for tests).
// log() never blocks for I/O: it copies the line and takes a priority-inheritance mutex held only
// to append to or swap a vector.
class AsyncSink final : public spdlog::sinks::sink {
 public:
  AsyncSink(std::vector<spdlog::sink_ptr> targets, size_t capacity);
  AsyncSink(const AsyncSink&) = delete;
  AsyncSink& operator=(const AsyncSink&) = delete;
  ~AsyncSink() override;  // writes what is waiting, then joins the writer

  void log(const spdlog::details::log_msg& message) override;
  // Wakes the writer; does not wait (callers may be realtime).
  void flush() override;
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  // Blocks until every line queued before the call has been written (tests, shutdown).
  void drain();
  [[nodiscard]] uint64_t dropped() const;
  [[nodiscard]] const std::vector<spdlog::sink_ptr>& targets() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::log
